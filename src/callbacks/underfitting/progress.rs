//! The training curve seen by progress, not by logged points: bucket means over equal spans of
//! steps, the spans doubling as the run grows (at most [`MAX_BUCKETS`] buckets), so that a run
//! logged every step and the same run logged every 100 steps give the same curve and the same
//! verdicts. The rules read spans of the run (its last quarter, its whole length), never a count
//! of values.

use serde::{Deserialize, Serialize};

use crate::analysis::trend::slope;
use crate::callbacks::overfitting::state::{curve_noise, median, median_with};

/// Buckets kept; two neighbours merge when there would be more.
pub(crate) const MAX_BUCKETS: usize = 64;
/// The start of the curve is the mean of its first this many values: not one batch (a high one
/// would read as learning, a lucky one as none), and fixed once taken (a bucket widens as the run
/// grows, so its mean would drift down the early descent).
pub(crate) const START_VALUES: u64 = 8;
/// Values needed before anything is judged when the loop did not announce its length.
pub(crate) const UNPLANNED_MIN_POINTS: u64 = 5000;
/// Buckets needed before anything is judged.
pub(crate) const MIN_BUCKETS: usize = 12;
/// Flat since the start: the level came down by less than this fraction of where it started (and
/// by less than three noise units). A loss that learns anything at all moves by more than 2% in
/// the first part of its run; a stuck one moves by its noise.
pub(crate) const STUCK_DROP: f64 = 0.02;
/// Share of the run so far that a plateau is judged over: its last quarter.
pub(crate) const PLATEAU_SPAN: f64 = 0.25;
/// A plateau: the last quarter of the run brought less than this share of the whole improvement
/// so far. An exponential decay reaches it after about five time constants; a power law (LLM)
/// keeps above it for a long time.
pub(crate) const PLATEAU_SHARE: f64 = 0.02;

/// Buckets the last quarter must hold for a plateau to be judged: three points give a slope. An
/// epoch-level run of 25 epochs has 3 epochs in the last quarter of its first 12; with four, a
/// plateau shorter than a third of such a run was never judged before it ended.
pub(crate) const MIN_SPAN_BUCKETS: usize = 3;

/// A plateau ends when the level falls below it by this share of the improvement made before it
/// (and by three noise units): a clear new descent, not the slow creep of a power law.
pub(crate) const RESUME_SHARE: f64 = 0.1;

/// One bucket: the mean of the values of `width` steps starting at `start`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
struct Bucket {
    start: u64,
    end: u64,
    #[serde(with = "crate::persist::float")]
    sum: f64,
    count: u64,
}

impl Bucket {
    fn mean(&self) -> f64 {
        self.sum / self.count as f64
    }

    fn merge(a: Bucket, b: Bucket) -> Bucket {
        Bucket {
            start: a.start,
            end: b.end,
            sum: a.sum + b.sum,
            count: a.count + b.count,
        }
    }
}

/// What the curve says at a closed bucket.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum CurveEvent {
    /// Flat since the start over the span so far.
    Stuck,
    /// The last quarter of the run was flat after real progress.
    Plateau,
    /// A plateau episode ended: the level fell clearly below it.
    Resumed,
    /// A curve said to be stuck has started learning (the stuck episode ends).
    Learning,
}

/// The numbers behind a curve event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct CurveMeasures {
    /// Mean of the first bucket (or the first value, if worse).
    #[serde(with = "crate::persist::float")]
    pub initial: f64,
    /// Median of the last two buckets' means.
    #[serde(with = "crate::persist::float")]
    pub level: f64,
    /// Noise of the bucket means (second differences, robust).
    #[serde(with = "crate::persist::float")]
    pub noise: f64,
    /// (initial − level) / |initial|.
    #[serde(with = "crate::persist::float")]
    pub improvement: f64,
    /// First step of the span judged.
    pub span_start: u64,
    /// Last step seen.
    pub step: u64,
}

/// The bucketed curve and the plateau it is in, if any.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ProgressCurve {
    buckets: Vec<Bucket>,
    width: u64,
    open: Option<Bucket>,
    /// Whether the curve has ever left its start (a stuck verdict is then out of the question).
    learned: bool,
    stuck: bool,
    /// The plateau level and its first step while a plateau episode is open.
    plateau: Option<(f64, u64)>,
    /// The planned number of steps, if the loop announced one.
    planned: Option<u64>,
    /// Sum and count of the first [`START_VALUES`] values: where the curve started.
    #[serde(default, with = "crate::persist::float")]
    start_sum: f64,
    #[serde(default)]
    start_count: u64,
    /// Room for the bucket means and the noise computation, reused at every judgement.
    #[serde(skip)]
    means: Vec<f64>,
    #[serde(skip)]
    scratch: Vec<f64>,
}

impl ProgressCurve {
    /// Announces the planned length of the run in steps.
    pub fn plan(&mut self, steps: Option<u64>) {
        self.planned = steps.filter(|&s| s > 0);
    }

    /// The open plateau episode's first step.
    pub fn plateau_start(&self) -> Option<u64> {
        self.plateau.map(|(_, s)| s)
    }

    /// How many values the curve holds.
    pub fn points(&self) -> u64 {
        self.buckets
            .iter()
            .chain(self.open.as_ref())
            .map(|b| b.count)
            .sum()
    }

    /// How many closed buckets it holds.
    pub fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// Adds a finite value at `step`; returns the events of a bucket that this value closed.
    pub fn push(&mut self, step: u64, value: f64) -> Option<(CurveEvent, CurveMeasures)> {
        if self.start_count < START_VALUES {
            self.start_sum += value;
            self.start_count += 1;
        }
        if self.width == 0 {
            self.width = 1;
        }
        let mut closed = false;
        match self.open.as_mut() {
            Some(b) if step < b.start + self.width => {
                b.sum += value;
                b.count += 1;
                b.end = step;
            }
            _ => {
                if let Some(b) = self.open.take() {
                    self.close(b);
                    closed = true;
                }
                self.open = Some(Bucket {
                    start: step,
                    end: step,
                    sum: value,
                    count: 1,
                });
            }
        }
        if closed {
            self.judge(step)
        } else {
            None
        }
    }

    fn close(&mut self, b: Bucket) {
        if self.buckets.capacity() == 0 {
            self.buckets.reserve_exact(MAX_BUCKETS + 1);
        }
        self.buckets.push(b);
        if self.buckets.len() > MAX_BUCKETS {
            // Neighbours merge in place (no allocation): bucket i takes 2i and 2i + 1.
            let n = self.buckets.len();
            for i in 0..n.div_ceil(2) {
                let a = self.buckets[2 * i];
                self.buckets[i] = match self.buckets.get(2 * i + 1) {
                    Some(&b) => Bucket::merge(a, b),
                    None => a,
                };
            }
            self.buckets.truncate(n.div_ceil(2));
            self.width = self.width.saturating_mul(2);
        }
    }

    /// Whether enough of the run has been seen to judge it: [`MIN_BUCKETS`] spans and, with a
    /// planned length, a tenth of it; without one, [`UNPLANNED_MIN_POINTS`] values (a curve is flat
    /// over its first few dozen steps whatever its fate: only the run's length gives a scale).
    fn judgeable(&self, step: u64) -> bool {
        let n = self.buckets.len();
        match self.planned {
            Some(p) => n >= MIN_BUCKETS && step.saturating_mul(10) >= p,
            None => n >= MIN_BUCKETS && self.points() >= UNPLANNED_MIN_POINTS,
        }
    }

    fn judge(&mut self, step: u64) -> Option<(CurveEvent, CurveMeasures)> {
        if !self.judgeable(step) {
            return None;
        }
        let mut means = std::mem::take(&mut self.means);
        means.clear();
        means.extend(self.buckets.iter().map(Bucket::mean));
        let out = self.judge_means(step, &means);
        self.means = means;
        out
    }

    fn judge_means(&mut self, step: u64, means: &[f64]) -> Option<(CurveEvent, CurveMeasures)> {
        let n = means.len();
        let initial = self.start_sum / self.start_count.max(1) as f64;
        let level = median(&means[n - 2..]);
        let noise = curve_noise(means, &mut self.scratch);
        let scale = initial.abs().max(f64::MIN_POSITIVE);
        let drop = initial - level;
        let m = CurveMeasures {
            initial,
            level,
            noise,
            improvement: drop / scale,
            span_start: self.buckets[0].start,
            step,
        };
        let floor = STUCK_DROP * scale;
        let moved = drop > floor && drop > 3.0 * noise;
        if moved && !self.learned {
            self.learned = true;
            if self.stuck {
                return Some((CurveEvent::Learning, m));
            }
        }
        if !self.learned {
            // Stuck only when the measurement is precise enough to rule out a drop of `floor`: a
            // noisy curve that has not yet *shown* a drop is undecided, not stuck.
            if self.stuck || 3.0 * noise >= floor || drop >= floor {
                return None;
            }
            self.stuck = true;
            return Some((CurveEvent::Stuck, m));
        }
        if let Some((plateau_level, _)) = self.plateau {
            let fell = plateau_level - level;
            let total = (initial - plateau_level).max(0.0);
            if fell > 3.0 * noise && fell > RESUME_SHARE * total {
                self.plateau = None;
                return Some((CurveEvent::Resumed, m));
            }
            return None;
        }
        // The last quarter of the run so far.
        let span_steps = (PLATEAU_SPAN * step as f64) as u64;
        let from = step.saturating_sub(span_steps);
        let k = self
            .buckets
            .iter()
            .position(|b| b.start >= from)
            .unwrap_or(n);
        if n - k < MIN_SPAN_BUCKETS {
            return None;
        }
        // The drop across the span from a least-squares line through its buckets (less noisy
        // than comparing two of them); a span that rose is not a plateau.
        let brought = -slope(&means[k..]).unwrap_or(0.0) * (n - k - 1) as f64;
        let total = initial - level;
        let flat =
            brought < PLATEAU_SHARE * total && brought > -PLATEAU_SHARE * total - 3.0 * noise;
        if flat && total > 0.0 {
            let start = self.buckets[k].start;
            let plateau_level = median_with(&means[k..], &mut self.scratch);
            self.plateau = Some((plateau_level, start));
            return Some((
                CurveEvent::Plateau,
                CurveMeasures {
                    span_start: start,
                    ..m
                },
            ));
        }
        None
    }
}
