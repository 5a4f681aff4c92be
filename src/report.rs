//! The whole-run report: a recorded [`History`] replayed through a bus with the standard preset, so
//! that offline diagnoses come from the same code as live ones, plus a prediction of the loss curve.

use std::fmt;

use serde::Serialize;

use crate::analysis::prediction::{self, PredictOptions, Prediction};
use crate::bus::{Bus, BusError};
use crate::callbacks::lr_diagnosis::LrVerdict;
use crate::callbacks::{Direction, Preset, PresetSummary};
use crate::diagnosis::{Diagnosis, DiagnosisKind, Severity};
use crate::event::Split;
use crate::history::{History, Series};
use crate::replay::{replay, ReplayOptions};

/// Curves longer than this are averaged into this many buckets before a prediction is fitted.
pub const PREDICTION_POINTS: usize = 2000;

/// One recorded series, in brief.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SeriesInfo {
    /// `train` or `valid`.
    pub split: String,
    /// The metric name.
    pub metric: String,
    /// Number of points (non-finite ones included).
    pub points: usize,
    /// Number of NaN or infinite points.
    pub non_finite: usize,
    /// First step, if any point.
    pub first_step: Option<u64>,
    /// Last step, if any point.
    pub last_step: Option<u64>,
}

/// The best point of the monitored metric.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BestInfo {
    /// `split/name`.
    pub metric: String,
    /// Its step.
    pub step: u64,
    /// Its epoch position.
    pub epoch: f64,
    /// Its value.
    pub value: f64,
}

/// When early stopping (the preset's, with default settings) would have stopped the run, and why.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EarlyStoppingReplay {
    /// `split/name` watched.
    pub monitor: String,
    /// Whether it would have stopped.
    pub stopped: bool,
    /// Zero-based position of the stopping value among the monitored metric's values (NaN included).
    pub stop_index: Option<u64>,
    /// Step of the stop.
    pub stop_step: Option<u64>,
    /// Zero-based position of the best value.
    pub best_index: Option<u64>,
    /// The best value.
    pub best_value: Option<f64>,
    /// The rule and values behind the stop.
    pub reason: Option<String>,
    /// Why early stopping was not replayed, where it was not (a run without validation: a stop on
    /// the training loss would say nothing about generalisation).
    pub not_replayed: Option<String>,
}

/// The extrapolated loss curve.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PredictionInfo {
    /// `split/name` predicted.
    pub metric: String,
    /// The fitted prediction (x is step + 1).
    pub prediction: Prediction,
}

/// What a whole run says: verdicts, diagnoses, the early-stopping replay, a prediction.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunReport {
    /// The series found.
    pub series: Vec<SeriesInfo>,
    /// The best point of the monitored metric.
    pub best: Option<BestInfo>,
    /// The learning-rate verdict.
    pub lr_verdict: LrVerdict,
    /// Every diagnosis of the replay, in order.
    pub diagnoses: Vec<Diagnosis>,
    /// The early-stopping replay.
    pub early_stopping: EarlyStoppingReplay,
    /// The prediction, if a loss curve could be fitted.
    pub prediction: Option<PredictionInfo>,
    /// Why there is no prediction, if there is none.
    pub prediction_error: Option<String>,
    /// The preset's callbacks' own summary.
    pub summary: PresetSummary,
}

/// Analyses a whole run: replays `history` through a bus with [`Preset::for_history`] (whole run, the
/// first stop still reported), reads the preset's findings, and predicts the loss curve.
///
/// ```
/// use curvewatch::{History, Split};
/// let mut h = History::new();
/// let (loss, val) = (h.key(Split::Train, "loss"), h.key(Split::Valid, "loss"));
/// for e in 0..30u64 {
///     h.record(loss, e, e as f64, 1.0 / (1.0 + e as f64));
///     h.record(val, e, e as f64, 0.5 + 0.001 * (e as f64 - 12.0).powi(2));
/// }
/// let report = curvewatch::report::analyze(&h).unwrap();
/// assert_eq!(report.best.as_ref().unwrap().step, 12);
/// assert!(report.early_stopping.stopped);
/// ```
pub fn analyze(history: &History) -> Result<RunReport, BusError> {
    analyze_with(history, &AnalyzeOptions::default())
}

/// How [`analyze_with`] reads a history.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AnalyzeOptions {
    /// The x axis is the training-set size, not training steps (learning-curve datasets such as
    /// LCDB): training-dynamics diagnoses (spikes, learning rate, plateaus, early stopping) do not
    /// apply, and the report says so instead of judging.
    pub sample_size_axis: bool,
}

impl AnalyzeOptions {
    /// Marks the x axis as training-set size.
    pub fn with_sample_size_axis(mut self, yes: bool) -> Self {
        self.sample_size_axis = yes;
        self
    }
}

/// [`analyze`] with options. The replay announces the recorded length (last step, last epoch) as
/// the planned one, so that progress-scaled rules judge the run as a live loop that announced its
/// length would. A history without validation is not replayed through early stopping (there is
/// nothing to stop on that says anything about generalisation); the report says so.
pub fn analyze_with(history: &History, options: &AnalyzeOptions) -> Result<RunReport, BusError> {
    let has_validation = validation_present(history);
    let mut preset = Preset::for_history(history);
    if !has_validation || options.sample_size_axis {
        preset = preset.without_early_stopping();
    }
    let monitor = preset.monitor().clone();
    let (diagnoses, summary) = if options.sample_size_axis {
        let bus = Bus::new().with_recording(false);
        let mut d = Diagnosis::new(
            DiagnosisKind::NotJudged,
            Severity::Info,
            "the x axis is the training-set size, not training steps: spikes, the learning rate, \
             plateaus and early stopping are training-dynamics diagnoses and do not apply",
        )
        .with_recommendation("use `curvewatch predict` or `cluster` on learning curves");
        d.step = history
            .iter()
            .filter_map(|(_, s)| s.steps().last().copied())
            .max()
            .unwrap_or(0);
        (vec![d], PresetSummary::from_bus(&bus))
    } else {
        // The history is already in memory: the replay bus need not keep a second copy.
        let mut bus = Bus::new().with_recording(false);
        preset.install(&mut bus);
        replay(history, &mut bus, planned(history))?;
        let mut summary = PresetSummary::from_bus(&bus);
        if let Some(es) = summary.early_stopping.as_mut() {
            // The whole run was replayed, but a live loop ends at the first stop: its best point
            // is the one that stop would restore, not a later one found past it.
            if let Some(stop) = &es.stopped {
                es.best = stop.restore;
            }
        }
        (first_stop_only(bus.diagnoses()), summary)
    };
    let mut early_stopping = early_stopping_replay(&summary, monitor.label());
    if summary.early_stopping.is_none() {
        early_stopping.not_replayed = Some(if options.sample_size_axis {
            "the x axis is the training-set size: there is no training to stop".to_owned()
        } else {
            "no validation metric: a stop on the training loss says nothing about \
             generalisation, so early stopping was not replayed"
                .to_owned()
        });
    }
    let best = history
        .get(monitor.split(), monitor.metric())
        .and_then(|s| best_of(s, monitor.direction()));
    let (prediction, prediction_error) = match predict_loss(history, &diagnoses) {
        Some(Ok(p)) => (Some(p), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, Some("no loss curve to predict".to_owned())),
    };
    Ok(RunReport {
        series: history.iter().map(|(_, s)| series_info(s)).collect(),
        best,
        lr_verdict: summary.lr_verdict(),
        diagnoses,
        early_stopping,
        prediction,
        prediction_error,
        summary,
    })
}

/// Whether the history holds a validation series with a finite value.
fn validation_present(history: &History) -> bool {
    history.iter().any(|(_, s)| {
        s.split() == Split::Valid
            && s.origin() != Some(crate::history::Origin::Record)
            && s.values().iter().any(|v| v.is_finite())
    })
}

/// The replay options that announce the recorded length as the planned one.
fn planned(history: &History) -> ReplayOptions {
    let mut options = ReplayOptions::whole_run();
    let last_step = history
        .iter()
        .filter_map(|(_, s)| s.steps().iter().max().copied())
        .max();
    if let Some(step) = last_step.filter(|&s| s > 0) {
        options = options.with_max_steps(step);
    }
    let last_epoch = history
        .iter()
        .filter_map(|(_, s)| s.epochs().iter().copied().reduce(f32::max))
        .reduce(f32::max);
    if let Some(e) = last_epoch.filter(|&e| e >= 1.0) {
        options = options.with_max_epochs(e.ceil() as u32);
    }
    options
}

fn series_info(s: &Series) -> SeriesInfo {
    SeriesInfo {
        split: s.split().as_str().to_owned(),
        metric: s.name().to_owned(),
        points: s.len(),
        non_finite: s.non_finite_count(),
        first_step: s.steps().first().copied(),
        last_step: s.steps().last().copied(),
    }
}

fn best_of(s: &Series, direction: Direction) -> Option<BestInfo> {
    let (i, step, value) = match direction {
        Direction::Minimize => s.min()?,
        Direction::Maximize => s.max()?,
    };
    Some(BestInfo {
        metric: s.label(),
        step,
        epoch: s.epochs()[i] as f64,
        value,
    })
}

/// The replay's diagnoses without the early stops after the first: the whole run is replayed, but a
/// live loop would have ended at the first stop, so the later ones describe stops that never happen.
fn first_stop_only(diagnoses: &[Diagnosis]) -> Vec<Diagnosis> {
    let mut stopped = false;
    diagnoses
        .iter()
        .filter(|d| {
            let keep = !(stopped && d.kind == DiagnosisKind::EarlyStop);
            stopped |= d.kind == DiagnosisKind::EarlyStop;
            keep
        })
        .cloned()
        .collect()
}

fn early_stopping_replay(summary: &PresetSummary, monitor: String) -> EarlyStoppingReplay {
    let es = summary.early_stopping.as_ref();
    let stopped = es.and_then(|e| e.stopped.as_ref());
    let best = es.and_then(|e| e.best);
    EarlyStoppingReplay {
        monitor,
        stopped: stopped.is_some(),
        stop_index: stopped.map(|s| s.index),
        stop_step: stopped.map(|s| s.step),
        best_index: best.map(|b| b.index),
        best_value: best.map(|b| b.value),
        reason: stopped.map(|s| format!("{}: {}", s.rule.as_str(), s.message)),
        not_replayed: None,
    }
}

/// Predicts `valid/loss` when it has at least 8 points, else `train/loss`; not when the run
/// diverged (a rising loss has no asymptote to extrapolate to). A loss never goes below 0: where
/// every observed value is non-negative, the prediction and its band are clipped at 0.
fn predict_loss(
    history: &History,
    diagnoses: &[Diagnosis],
) -> Option<Result<PredictionInfo, String>> {
    let series = [Split::Valid, Split::Train]
        .into_iter()
        .filter_map(|split| history.get(split, "loss"))
        .find(|s| s.values().iter().filter(|v| v.is_finite()).count() >= 8)?;
    if let Some(d) = diagnoses
        .iter()
        .find(|d| d.kind == DiagnosisKind::Divergence)
    {
        return Some(Err(format!(
            "the loss diverged (step {}): a rising curve has no asymptote to extrapolate",
            d.onset_step()
        )));
    }
    let (xs, ys) = bucket_means(series, PREDICTION_POINTS);
    let last = xs.last().copied().unwrap_or(1.0);
    let options = PredictOptions::default().with_horizon(2.0 * last);
    let non_negative = ys.iter().all(|&y| y >= 0.0);
    Some(
        prediction::predict(&xs, &ys, &options)
            .map(|mut prediction| {
                if non_negative {
                    clip_at_zero(&mut prediction);
                }
                PredictionInfo {
                    metric: series.label(),
                    prediction,
                }
            })
            .map_err(|e| e.to_string()),
    )
}

/// Clips a prediction of a non-negative quantity at 0 (value and band).
fn clip_at_zero(p: &mut Prediction) {
    for point in p
        .points
        .iter_mut()
        .chain([&mut p.horizon, &mut p.best, &mut p.plateau])
    {
        point.value = point.value.max(0.0);
        point.lower = point.lower.max(0.0);
        point.upper = point.upper.max(0.0);
    }
}

/// A series' finite points as `(step + 1, value)` columns, averaged into at most `max` buckets of
/// consecutive points (each bucket holds `ceil(n / max)` points, the last one fewer), so that a long
/// curve can be fitted quickly: the x of a bucket is the mean of its `step + 1`, the value the mean of
/// its values. Non-finite values are left out first; `max` of 0 counts as 1. The `+ 1` makes x
/// positive, as [`prediction::predict`] requires.
///
/// ```
/// use curvewatch::{History, Split};
/// let mut h = History::new();
/// let loss = h.key(Split::Train, "loss");
/// for (step, v) in [(0, 4.0), (1, 2.0), (2, f64::NAN), (3, 1.0), (4, 3.0)] {
///     h.record(loss, step, 0.0, v);
/// }
/// let (xs, ys) = curvewatch::report::bucket_means(h.get(Split::Train, "loss").unwrap(), 2);
/// assert_eq!(xs, vec![1.5, 4.5]); // steps 0, 1 and 3, 4, each plus one
/// assert_eq!(ys, vec![3.0, 2.0]);
/// ```
pub fn bucket_means(s: &Series, max: usize) -> (Vec<f64>, Vec<f64>) {
    let finite = || {
        s.steps()
            .iter()
            .zip(s.values())
            .filter(|(_, v)| v.is_finite())
            .map(|(&st, &v)| (st as f64 + 1.0, v))
    };
    // Two passes over the series instead of a copy of its points: a long run stays cheap.
    let count = finite().count();
    let size = count.div_ceil(max.max(1)).max(1);
    let mut xs = Vec::with_capacity(count.div_ceil(size));
    let mut ys = Vec::with_capacity(count.div_ceil(size));
    let (mut sx, mut sy, mut n) = (0.0, 0.0, 0usize);
    for (x, y) in finite() {
        sx += x;
        sy += y;
        n += 1;
        if n == size {
            xs.push(sx / n as f64);
            ys.push(sy / n as f64);
            (sx, sy, n) = (0.0, 0.0, 0);
        }
    }
    if n > 0 {
        xs.push(sx / n as f64);
        ys.push(sy / n as f64);
    }
    (xs, ys)
}

impl fmt::Display for RunReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "series:")?;
        for s in &self.series {
            if s.points == 0 {
                continue;
            }
            write!(f, "  {}/{}: {} points", s.split, s.metric, s.points)?;
            if let (Some(a), Some(b)) = (s.first_step, s.last_step) {
                write!(f, ", steps {a}..{b}")?;
            }
            if s.non_finite > 0 {
                write!(f, ", {} non-finite", s.non_finite)?;
            }
            writeln!(f)?;
        }
        if let Some(b) = &self.best {
            writeln!(
                f,
                "best {}: {:.6} at step {} (epoch {:.2})",
                b.metric, b.value, b.step, b.epoch
            )?;
        }
        write!(f, "{}", self.summary)?;
        let es = &self.early_stopping;
        match (&es.reason, es.stop_step) {
            (Some(r), Some(step)) => {
                writeln!(f, "early stopping replay: would stop at step {step} ({r})")?
            }
            _ if es.not_replayed.is_some() => writeln!(
                f,
                "early stopping replay: not replayed ({})",
                es.not_replayed.as_deref().unwrap_or("")
            )?,
            _ => writeln!(f, "early stopping replay: would not stop")?,
        }
        match (&self.prediction, &self.prediction_error) {
            (Some(p), _) => {
                let pr = &p.prediction;
                writeln!(
                    f,
                    "prediction of {}: {} family, at step {:.0}: {:.4} [{:.4}, {:.4}]; best predicted {:.4} at step {:.0}",
                    p.metric,
                    pr.family,
                    pr.horizon.x - 1.0,
                    pr.horizon.value,
                    pr.horizon.lower,
                    pr.horizon.upper,
                    pr.best.value,
                    pr.best.x - 1.0
                )?;
            }
            (None, Some(e)) => writeln!(f, "prediction: none ({e})")?,
            (None, None) => {}
        }
        writeln!(f, "diagnoses ({}):", self.diagnoses.len())?;
        for d in &self.diagnoses {
            writeln!(f, "  {d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Validation loss by epoch with a NaN at index 3, a better value after it, then 20 epochs
    /// without improvement (enough to run out of patience several times over).
    fn nan_then_better() -> History {
        let mut h = History::new();
        let val = h.key(Split::Valid, "loss");
        let head = [1.0, 0.8, 0.7, f64::NAN, 0.6, 0.65, 0.66, 0.64, 0.67];
        let tail = std::iter::repeat_n(0.9, 20);
        for (e, v) in head.into_iter().chain(tail).enumerate() {
            h.record(val, e as u64, e as f64, v);
        }
        h
    }

    #[test]
    fn the_replay_reports_the_best_point_of_its_first_stop() {
        let report = analyze(&nan_then_better()).unwrap();
        let es = &report.early_stopping;
        assert_eq!(es.stop_index, Some(3), "check_finite stops at the NaN");
        assert_eq!(
            (es.best_index, es.best_value),
            (Some(2), Some(0.7)),
            "the weights to restore at that stop are those of 0.7, not of the later 0.6"
        );
        let summary_best = report.summary.early_stopping.as_ref().and_then(|e| e.best);
        assert_eq!(summary_best.map(|b| b.index), Some(2), "the summary agrees");
        let stops = report
            .diagnoses
            .iter()
            .filter(|d| d.kind == DiagnosisKind::EarlyStop)
            .count();
        assert_eq!(stops, 1, "one early stop: a live loop ends there");
    }
}
