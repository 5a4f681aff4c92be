//! Annotation marks from a run's diagnoses and stop reason: where it stopped and the best point, episodes
//! (overfitting from its onset, a plateau, a spike storm) as shaded spans, point events (an isolated
//! spike, a non-finite value) as markers.

use super::options::XAxis;
use super::palette;
use super::panel::{Mark, MarkShape};
use crate::control::StopReason;
use crate::diagnosis::{Diagnosis, DiagnosisKind};
use crate::event::Split;
use crate::history::{History, Series};

use super::quantity::quantity;

/// The label of an episode: its kind, and its count when it holds several events (`loss spikes ×12`).
fn episode_label(d: &Diagnosis) -> String {
    let count = d.episode.map_or(1, |e| e.count);
    match d.kind {
        DiagnosisKind::LossSpike => format!("loss spikes ×{count}"),
        DiagnosisKind::GradNormSpike => format!("grad-norm spikes ×{count}"),
        DiagnosisKind::GeneralizationGap => "generalization gap".to_owned(),
        kind => kind.as_str().replace('_', " "),
    }
}

/// Places steps on the chart's x axis and looks values up in the history.
pub(crate) struct Annotator<'a> {
    history: &'a History,
    axis: XAxis,
    /// The longest series, used to turn a step into its fractional epoch.
    reference: Option<&'a Series>,
}

/// Splits `valid/loss` into (`Some(Valid)`, `loss`); a name without a known split prefix is returned
/// whole.
pub(crate) fn split_metric(metric: &str) -> (Option<Split>, &str) {
    match metric.split_once('/') {
        Some(("train", name)) => (Some(Split::Train), name),
        Some(("valid", name)) => (Some(Split::Valid), name),
        _ => (None, metric),
    }
}

fn mark(x: f64, shape: MarkShape, colour: (u8, u8, u8), label: &str) -> Mark {
    Mark {
        x,
        shape,
        colour,
        label: label.to_owned(),
    }
}

/// Index of the point logged at `step`: binary search (steps are normally increasing), then a scan
/// for series that restarted.
fn index_of(series: &Series, step: u64) -> Option<usize> {
    let steps = series.steps();
    let i = steps.partition_point(|&s| s < step);
    if steps.get(i) == Some(&step) {
        return Some(i);
    }
    steps.iter().position(|&s| s == step)
}

impl<'a> Annotator<'a> {
    pub(crate) fn new(history: &'a History, axis: XAxis) -> Self {
        let reference = history.iter().map(|(_, s)| s).max_by_key(|s| s.len());
        Annotator {
            history,
            axis,
            reference,
        }
    }

    /// The x position of `step`; `epoch` is the fallback on an epoch axis when no series has the step.
    pub(crate) fn x(&self, step: u64, epoch: u32) -> f64 {
        match (self.axis, self.reference) {
            (XAxis::Step, _) => step as f64,
            (XAxis::Epoch, None) => f64::from(epoch),
            (XAxis::Epoch, Some(s)) => match index_of(s, step) {
                Some(i) => f64::from(s.epochs()[i]),
                None => f64::from(epoch),
            },
        }
    }

    fn value(&self, split: Split, name: &str, step: u64) -> Option<f64> {
        let s = self.history.get(split, name)?;
        index_of(s, step)
            .map(|i| s.values()[i])
            .filter(|v| v.is_finite())
    }

    /// The stop line, drawn on every panel: from `stop`, else from an `EarlyStop` diagnosis.
    pub(crate) fn stop_marks(
        &self,
        diagnoses: &[Diagnosis],
        stop: Option<&StopReason>,
    ) -> Vec<Mark> {
        let line = |x: f64, label: String| Mark {
            x,
            shape: MarkShape::VLine,
            colour: palette::STOP,
            label,
        };
        if let Some(r) = stop {
            return vec![line(
                self.x(r.step, r.epoch),
                format!("stopped: {}", r.rule),
            )];
        }
        diagnoses
            .iter()
            .filter(|d| d.kind == DiagnosisKind::EarlyStop)
            .map(|d| line(self.x(d.step, d.epoch), format!("stopped: {}", d.kind)))
            .collect()
    }

    /// The best point: the latest diagnosis with evidence `best_step` (on its metric, `valid/loss` by
    /// default), else the minimum of `valid/loss`. Returns the panel name and the mark.
    fn best(&self, diagnoses: &[Diagnosis]) -> Option<(String, Mark)> {
        let from_evidence = diagnoses.iter().rev().find_map(|d| {
            let step = d
                .evidence("best_step")
                .filter(|s| s.is_finite() && *s >= 0.0)?;
            let (split, name) = split_metric(d.metric.as_deref().unwrap_or("valid/loss"));
            let step = step.round() as u64;
            let value = self.value(split.unwrap_or(Split::Valid), name, step);
            Some((name.to_owned(), self.x(step, d.epoch), value))
        });
        let (panel, x, value) = from_evidence.or_else(|| {
            let s = self.history.get(Split::Valid, "loss")?;
            let (i, step, v) = s.min()?;
            let x = match self.axis {
                XAxis::Step => step as f64,
                XAxis::Epoch => f64::from(s.epochs()[i]),
            };
            Some(("loss".to_owned(), x, Some(v)))
        })?;
        let shape = value.map_or(MarkShape::Edge, MarkShape::Point);
        let mark = Mark {
            x,
            shape,
            colour: palette::BEST,
            label: "best".to_owned(),
        };
        Some((panel, mark))
    }

    /// The mark(s) one diagnosis puts on its own panel, if that panel shows quantity `panel`.
    ///
    /// An episode that spans steps (an overfitting phase, a plateau, a spike storm) is a shaded span
    /// from its start to its end with one label; a point event (a NaN, an isolated spike) is one
    /// marker. Kinds with nothing to place on a curve (early stop, LR changes) draw nothing here.
    fn diagnosis_marks(&self, d: &Diagnosis, panel: &str, out: &mut Vec<Mark>) {
        let default = match d.kind {
            DiagnosisKind::GradNormSpike => "grad_norm",
            _ => "loss",
        };
        let (split, name) = split_metric(d.metric.as_deref().unwrap_or(default));
        if quantity(name) != panel {
            return;
        }
        let colour = match d.kind {
            DiagnosisKind::Overfitting | DiagnosisKind::GeneralizationGap => palette::OVERFIT,
            DiagnosisKind::LossSpike | DiagnosisKind::GradNormSpike => palette::SPIKE,
            DiagnosisKind::NonFinite | DiagnosisKind::Divergence => palette::NON_FINITE,
            DiagnosisKind::EarlyStop | DiagnosisKind::LrChange | DiagnosisKind::NotJudged => return,
            _ => palette::EPISODE,
        };
        let single_spike = matches!(
            d.kind,
            DiagnosisKind::LossSpike | DiagnosisKind::GradNormSpike
        ) && d.episode.is_none_or(|e| e.count <= 1);
        if let Some((start, end)) = self.extent(d).filter(|_| !single_spike) {
            let label = episode_label(d);
            out.push(mark(start, MarkShape::Span(end), colour, &label));
            return;
        }
        let x = self.x(d.step, d.epoch);
        match d.kind {
            DiagnosisKind::LossSpike | DiagnosisKind::GradNormSpike => {
                let looked_up = || self.value(split.unwrap_or(Split::Train), name, d.step);
                let value = d.value.filter(|v| v.is_finite()).or_else(looked_up);
                let shape = value.map_or(MarkShape::Edge, MarkShape::Point);
                out.push(mark(x, shape, colour, "spike"));
            }
            DiagnosisKind::NonFinite => out.push(mark(x, MarkShape::Edge, colour, "non-finite")),
            DiagnosisKind::Overfitting => out.push(mark(x, MarkShape::Edge, colour, "overfitting")),
            DiagnosisKind::GeneralizationGap => {
                out.push(mark(x, MarkShape::Edge, colour, "generalization gap"));
            }
            _ => {}
        }
    }

    /// The x extent of a diagnosis that covers more than one step: its episode, or (for diagnoses
    /// written before episodes) from evidence `onset_step` to its step; an open episode runs to the
    /// end of the history.
    fn extent(&self, d: &Diagnosis) -> Option<(f64, f64)> {
        let (start, end) = match d.episode {
            Some(e) => {
                let last = self.reference.and_then(|s| s.steps().last().copied());
                // An open phase (overfitting, a plateau) lasts to the end of the run; a spike storm
                // ends at its last spike.
                let spikes = matches!(
                    d.kind,
                    DiagnosisKind::LossSpike | DiagnosisKind::GradNormSpike
                );
                let end = if e.closed || spikes {
                    e.end_step
                } else {
                    last.unwrap_or(e.end_step).max(e.end_step)
                };
                (e.start_step, end)
            }
            None => {
                let onset = d
                    .evidence("onset_step")
                    .filter(|s| s.is_finite() && *s >= 0.0)?;
                (onset.round() as u64, d.step)
            }
        };
        (end > start).then(|| (self.x(start, d.epoch), self.x(end, d.epoch)))
    }
    /// Every mark of the panel of quantity `panel`.
    pub(crate) fn marks(
        &self,
        panel: &str,
        diagnoses: &[Diagnosis],
        stop: Option<&StopReason>,
    ) -> Vec<Mark> {
        let mut out = self.stop_marks(diagnoses, stop);
        if let Some((p, m)) = self.best(diagnoses) {
            if quantity(&p) == panel {
                out.push(m);
            }
        }
        for d in diagnoses {
            self.diagnosis_marks(d, panel, &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnosis::Severity;

    fn history() -> History {
        let mut h = History::new();
        let t = h.key(Split::Train, "loss");
        let v = h.key(Split::Valid, "loss");
        for step in 1..=100u64 {
            h.record(t, step, (step - 1) as f64 / 10.0, 1.0 / step as f64);
            if step % 10 == 0 {
                // Valid loss falls to its minimum at step 40, then rises.
                let v_loss = 0.5 + ((step as f64) - 40.0).abs() / 100.0;
                h.record(v, step, (step - 1) as f64 / 10.0, v_loss);
            }
        }
        h
    }

    fn diag(kind: DiagnosisKind, step: u64) -> Diagnosis {
        let mut d = Diagnosis::new(kind, Severity::Warning, "test");
        d.step = step;
        d
    }

    #[test]
    fn best_defaults_to_valid_loss_minimum() {
        let h = history();
        let a = Annotator::new(&h, XAxis::Step);
        let marks = a.marks("loss", &[], None);
        assert_eq!(marks.len(), 1);
        assert_eq!(marks[0].x, 40.0);
        assert_eq!(marks[0].shape, MarkShape::Point(0.5));
        assert!(
            a.marks("acc", &[], None).is_empty(),
            "best belongs to the loss panel only"
        );
    }

    #[test]
    fn table_of_diagnosis_marks() {
        let h = history();
        let a = Annotator::new(&h, XAxis::Step);
        let overfit = diag(DiagnosisKind::Overfitting, 80).with_evidence("onset_step", 50.0);
        let spike = diag(DiagnosisKind::LossSpike, 20).with_metric("train/loss");
        let grad = diag(DiagnosisKind::GradNormSpike, 20);
        let nan = diag(DiagnosisKind::NonFinite, 60).with_metric("train/loss");
        type Case = (Diagnosis, Vec<(f64, &'static str)>, &'static str);
        let cases: Vec<Case> = vec![
            (
                overfit,
                vec![(50.0, "overfitting")],
                "an episode from its onset: one span, one label",
            ),
            (spike, vec![(20.0, "spike")], "spike at its step"),
            (grad, vec![], "grad-norm spikes go to the grad_norm panel"),
            (nan, vec![(60.0, "non-finite")], "non-finite"),
        ];
        for (d, want, why) in cases {
            let mut out = Vec::new();
            a.diagnosis_marks(&d, "loss", &mut out);
            let got: Vec<(f64, &str)> = out.iter().map(|m| (m.x, m.label.as_str())).collect();
            assert_eq!(got, want, "{why}");
        }
        let mut out = Vec::new();
        let overfit = diag(DiagnosisKind::Overfitting, 80).with_evidence("onset_step", 50.0);
        a.diagnosis_marks(&overfit, "loss", &mut out);
        assert_eq!(out[0].shape, MarkShape::Span(80.0), "shaded to its step");
        let mut storm = diag(DiagnosisKind::GradNormSpike, 30);
        storm.episode = Some(crate::diagnosis::Episode {
            start_step: 20,
            end_step: 60,
            count: 5,
            peak_step: 40,
            closed: false,
        });
        let mut out = Vec::new();
        a.diagnosis_marks(&storm, "grad_norm", &mut out);
        assert_eq!(
            (out[0].x, out[0].shape, out[0].label.as_str()),
            (20.0, MarkShape::Span(60.0), "grad-norm spikes ×5"),
            "a spike storm is a span to its last spike, open or not"
        );
        let mut plateau = diag(DiagnosisKind::Plateau, 30).with_metric("train/loss");
        plateau.episode = Some(crate::diagnosis::Episode::at(30));
        plateau.episode.as_mut().unwrap().start_step = 20;
        let mut out = Vec::new();
        a.diagnosis_marks(&plateau, "loss", &mut out);
        assert_eq!(
            out[0].shape,
            MarkShape::Span(100.0),
            "an open plateau lasts to the end of the run"
        );
        let mut out = Vec::new();
        a.diagnosis_marks(&diag(DiagnosisKind::LossSpike, 20), "loss", &mut out);
        assert_eq!(
            out[0].shape,
            MarkShape::Point(0.05),
            "value looked up in train/loss (1/20)"
        );
    }

    #[test]
    fn stop_reason_wins_over_early_stop_diagnosis_and_epoch_axis_uses_recorded_epochs() {
        let h = history();
        let a = Annotator::new(&h, XAxis::Epoch);
        let stop = StopReason {
            callback: "early_stopping".into(),
            rule: "patience_exhausted".into(),
            message: String::new(),
            step: 91,
            epoch: 9,
        };
        let marks = a.stop_marks(&[diag(DiagnosisKind::EarlyStop, 91)], Some(&stop));
        assert_eq!(marks.len(), 1);
        assert_eq!(marks[0].label, "stopped: patience_exhausted");
        assert!(
            (marks[0].x - 9.0).abs() < 1e-6,
            "step 91 was logged at epoch 9.0: {}",
            marks[0].x
        );
        let best = diag(DiagnosisKind::EarlyStop, 91).with_evidence("best_step", 70.0);
        let (panel, m) = a.best(&[best]).unwrap();
        assert_eq!(panel, "loss");
        assert!((m.x - 6.9).abs() < 1e-6, "step 70 at epoch 6.9: {}", m.x);
        assert_eq!(m.shape, MarkShape::Point(0.8), "valid/loss at step 70");
    }

    #[test]
    fn split_metric_names() {
        assert_eq!(split_metric("valid/loss"), (Some(Split::Valid), "loss"));
        assert_eq!(split_metric("train/acc"), (Some(Split::Train), "acc"));
        assert_eq!(split_metric("loss"), (None, "loss"));
        assert_eq!(split_metric("test/loss"), (None, "test/loss"));
    }
}
