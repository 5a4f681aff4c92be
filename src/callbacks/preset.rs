//! The standard preset: one call that attaches the usual watchers, and the end-of-run summary they give.
//!
//! The stack (in dispatch order): loss spike guard, grad-norm spike guard, learning-rate diagnosis,
//! overfitting detector, underfitting detector, early stopping. Recording is the bus's own job. Guards
//! come first so that a NaN stops the run before the slower judges see it.

use std::fmt;
use std::num::NonZeroU32;

use serde::Serialize;

use crate::bus::Bus;
use crate::callbacks::early_stopping::{BestPoint, EarlyStopping, StopInfo};
use crate::callbacks::lr_diagnosis::{LrAssessment, LrDiagnosis, LrDiagnosisConfig, LrVerdict};
use crate::callbacks::overfitting::{OverfittingDetector, OverfittingVerdict};
use crate::callbacks::spike_guard::{SpikeCounts, SpikeGuard};
use crate::callbacks::underfitting::{UnderfittingDetector, UnderfittingRule, UnderfittingVerdict};
use crate::callbacks::Monitor;
use crate::control::StopReason;
use crate::event::Split;
use crate::history::History;

/// Default patience of the preset's early stopping, in evaluations of the monitored metric.
pub const DEFAULT_PATIENCE: u32 = 5;

/// The preset's overfitting margin: validation must be worse than its best by more than 1% of it, so
/// that the wobbles of a converged validation curve are not called overfitting.
pub const OVERFITTING_RELATIVE_DELTA: f64 = 0.01;

/// How often (in loss values) the preset's learning-rate diagnosis judges its window: once per
/// window of the default configuration (50 values).
pub const PRESET_LR_CHECK_EVERY: usize = 50;

/// What the standard preset attaches, configured with builders.
///
/// ```
/// use curvewatch::callbacks::preset::{Preset, PresetSummary};
/// use curvewatch::Bus;
/// let mut bus = Bus::new();
/// Preset::standard().install(&mut bus);
/// assert_eq!(bus.callback_names().count(), 6);
/// let summary = PresetSummary::from_bus(&bus);
/// assert!(summary.early_stopping.is_some());
/// ```
pub struct Preset {
    lr_diagnosis: Option<LrDiagnosis>,
    monitor: Monitor,
    patience: u32,
    early_stopping: bool,
    step_smoothing: Option<f64>,
    check_every: Option<NonZeroU32>,
}

impl Default for Preset {
    fn default() -> Self {
        Self::standard()
    }
}

impl Preset {
    /// Early stopping on `valid/loss` with patience [`DEFAULT_PATIENCE`] (Lightning's rules, with
    /// `check_finite`), plus every detector with its defaults.
    pub fn standard() -> Self {
        Preset {
            lr_diagnosis: None,
            monitor: Monitor::new(Split::Valid, "loss"),
            patience: DEFAULT_PATIENCE,
            early_stopping: true,
            step_smoothing: None,
            check_every: None,
        }
    }

    /// For a run without validation (LLM pretraining): early stopping watches the per-step training
    /// loss, smoothed by a debiased EMA (weight 0.99), checked every `check_every` steps, with patience
    /// counted in checks.
    pub fn step_level(check_every: NonZeroU32) -> Self {
        Preset {
            lr_diagnosis: None,
            monitor: Monitor::new(Split::Train, "loss").with_relative_delta(1e-3),
            patience: 10,
            early_stopping: true,
            step_smoothing: Some(0.99),
            check_every: Some(check_every),
        }
    }

    /// The preset that suits a recorded history: [`Preset::standard`] when it has a validation loss
    /// (`valid/loss`, else the first validation series whose name ends in `loss`, such as the
    /// `g0/loss` of a second Hugging Face eval set),
    /// otherwise [`Preset::step_level`] with a check every 1% of the training points (at least 1).
    pub fn for_history(history: &History) -> Self {
        if let Some(name) = validation_loss(history) {
            return Self::standard().with_monitor(Monitor::new(Split::Valid, &name));
        }
        let points = history.get(Split::Train, "loss").map_or(0, |s| s.len());
        let every = NonZeroU32::new((points / 100).clamp(1, u32::MAX as usize) as u32)
            .unwrap_or(NonZeroU32::MIN);
        Self::step_level(every)
    }

    /// Watches another metric for early stopping.
    pub fn with_monitor(mut self, monitor: Monitor) -> Self {
        self.monitor = monitor;
        self
    }

    /// Sets early stopping's patience (evaluations, or checks for a step-level monitor).
    pub fn with_patience(mut self, patience: u32) -> Self {
        self.patience = patience;
        self
    }

    /// Uses this learning-rate diagnosis instead of the default one (which judges the per-step
    /// `train/loss`). With very small batches, per-batch losses vary more than any learning rate
    /// explains; judge an epoch-level loss instead, e.g.
    /// `LrDiagnosis::new().with_monitor(..epoch_loss..).with_granularity(LossGranularity::Epochs)`.
    pub fn with_lr_diagnosis(mut self, lr_diagnosis: LrDiagnosis) -> Self {
        self.lr_diagnosis = Some(lr_diagnosis);
        self
    }

    /// Leaves early stopping out (diagnose only).
    pub fn without_early_stopping(mut self) -> Self {
        self.early_stopping = false;
        self
    }

    /// The early-stopping monitor.
    pub fn monitor(&self) -> &Monitor {
        &self.monitor
    }

    /// The early-stopping callback this preset attaches.
    pub fn early_stopping(&self) -> EarlyStopping {
        let mut es = EarlyStopping::lightning(self.monitor.clone()).with_patience(self.patience);
        if let Some(w) = self.step_smoothing {
            es = es.with_smoothing(w);
        }
        if let Some(n) = self.check_every {
            es = es.with_check_every(n);
        }
        es
    }

    /// Adds the stack to `bus`, after the callbacks already there.
    pub fn install(mut self, bus: &mut Bus) {
        bus.add(SpikeGuard::loss());
        bus.add(SpikeGuard::grad_norm());
        let lr_diagnosis = self.lr_diagnosis.take().unwrap_or_else(|| {
            // Judging once per window (50 values) instead of every 10 cuts the diagnosis' per-step
            // cost by about a third; a finding arrives at most 49 values later.
            let config = LrDiagnosisConfig::new().with_check_every(PRESET_LR_CHECK_EVERY);
            LrDiagnosis::new().with_config(config.unwrap_or_default())
        });
        bus.add(lr_diagnosis);
        let valid = if self.monitor.split() == Split::Valid {
            self.monitor.metric().to_owned()
        } else {
            "loss".to_owned()
        };
        bus.add(OverfittingDetector::new().with_valid(
            Monitor::new(Split::Valid, &valid).with_relative_delta(OVERFITTING_RELATIVE_DELTA),
        ));
        bus.add(UnderfittingDetector::new());
        if self.early_stopping {
            bus.add(self.early_stopping());
        }
    }
}

/// The name of the run's validation loss: `loss`, else the first validation series with points whose
/// name ends in `loss`.
fn validation_loss(history: &History) -> Option<String> {
    let has_points = |s: &crate::history::Series| s.values().iter().any(|v| v.is_finite());
    if history.get(Split::Valid, "loss").is_some_and(has_points) {
        return Some("loss".to_owned());
    }
    history
        .iter()
        .map(|(_, s)| s)
        .find(|s| s.split() == Split::Valid && s.name().ends_with("loss") && has_points(s))
        .map(|s| s.name().to_owned())
}

/// The overfitting detector's findings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OverfittingSummary {
    /// None, generalization gap (early warning) or overfitting.
    pub verdict: OverfittingVerdict,
    /// Epoch where the current episode began.
    pub onset_epoch: Option<u32>,
    /// Epoch of the best validation value.
    pub best_epoch: Option<u32>,
    /// The best validation value.
    pub best_value: Option<f64>,
}

/// The underfitting detector's findings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct UnderfittingSummary {
    /// None, plateau (converged) or underfitting.
    pub verdict: UnderfittingVerdict,
    /// The rule behind the verdict.
    pub rule: Option<UnderfittingRule>,
    /// Relative improvement of the training curve since its start.
    pub improvement: Option<f64>,
}

/// Early stopping's findings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EarlyStoppingSummary {
    /// `split/metric` watched.
    pub monitor: String,
    /// Values of the monitored metric seen.
    pub values_seen: u64,
    /// The best point (restore these weights).
    pub best: Option<BestPoint>,
    /// The stop, if it decided one.
    pub stopped: Option<StopInfo>,
}

/// What the standard stack found over a run, read from the bus's callbacks after (or during) the run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PresetSummary {
    /// The stop the loop was given (any callback), if any.
    pub stop: Option<StopReason>,
    /// The learning-rate verdict and its numbers.
    pub lr: Option<LrAssessment>,
    /// Overfitting findings.
    pub overfitting: Option<OverfittingSummary>,
    /// Underfitting findings.
    pub underfitting: Option<UnderfittingSummary>,
    /// Loss spike and non-finite counts.
    pub loss_spikes: Option<SpikeCounts>,
    /// Grad-norm spike and non-finite counts.
    pub grad_norm_spikes: Option<SpikeCounts>,
    /// Early stopping's findings.
    pub early_stopping: Option<EarlyStoppingSummary>,
}

impl PresetSummary {
    /// Reads the summary from the preset's callbacks on `bus` (missing ones give `None`).
    pub fn from_bus(bus: &Bus) -> Self {
        let guards: Vec<&SpikeGuard> = bus.callbacks_of::<SpikeGuard>().collect();
        let guard_of = |grad: bool| {
            guards
                .iter()
                .find(|g| g.metric().contains("grad") == grad)
                .map(|g| g.counts())
        };
        PresetSummary {
            stop: bus.stop_reason().cloned(),
            lr: bus.callback::<LrDiagnosis>().map(LrDiagnosis::assessment),
            overfitting: bus
                .callback::<OverfittingDetector>()
                .map(|o| OverfittingSummary {
                    verdict: o.verdict(),
                    onset_epoch: o.onset_epoch(),
                    best_epoch: o.best_epoch(),
                    best_value: o.best_value(),
                }),
            underfitting: bus
                .callback::<UnderfittingDetector>()
                .map(|u| UnderfittingSummary {
                    verdict: u.verdict(),
                    rule: u.rule(),
                    improvement: u.improvement(),
                }),
            loss_spikes: guard_of(false),
            grad_norm_spikes: guard_of(true),
            early_stopping: bus
                .callback::<EarlyStopping>()
                .map(|e| EarlyStoppingSummary {
                    monitor: e.monitor().label(),
                    values_seen: e.values_seen(),
                    best: e.best(),
                    stopped: e.stopped().cloned(),
                }),
        }
    }

    /// The learning-rate verdict (`insufficient_data` without an LR diagnosis).
    pub fn lr_verdict(&self) -> LrVerdict {
        self.lr.map_or(LrVerdict::InsufficientData, |a| a.verdict)
    }
}

impl fmt::Display for PresetSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "learning rate: {}", self.lr_verdict().as_str())?;
        if let Some(o) = &self.overfitting {
            write!(f, "overfitting: {:?}", o.verdict)?;
            if let Some(e) = o.onset_epoch {
                write!(f, ", began at epoch {e}")?;
            }
            if let (Some(e), Some(v)) = (o.best_epoch, o.best_value) {
                write!(f, ", best valid value {v:.4} at epoch {e}")?;
            }
            writeln!(f)?;
        }
        if let Some(u) = &self.underfitting {
            write!(f, "underfitting: {:?}", u.verdict)?;
            if let Some(r) = u.rule {
                write!(f, " ({})", r.as_str())?;
            }
            writeln!(f)?;
        }
        for (name, c) in [
            ("loss", &self.loss_spikes),
            ("grad norm", &self.grad_norm_spikes),
        ] {
            if let Some(c) = c {
                writeln!(
                    f,
                    "{name}: {} spikes, {} non-finite",
                    c.spikes, c.non_finite
                )?;
            }
        }
        if let Some(es) = &self.early_stopping {
            write!(f, "early stopping on {}: ", es.monitor)?;
            match (&es.stopped, &es.best) {
                (Some(s), _) => write!(f, "stopped at step {} ({})", s.step, s.rule.as_str())?,
                (None, _) => write!(f, "did not stop")?,
            }
            if let Some(b) = &es.best {
                write!(
                    f,
                    "; best {:.4} at step {} (epoch {})",
                    b.value, b.step, b.epoch
                )?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history_with(series: &[(Split, &str)]) -> History {
        let mut h = History::new();
        for &(split, name) in series {
            let k = h.key(split, name);
            h.record(k, 1, 0.0, 1.0);
        }
        h
    }

    /// Series of a history, the expected monitor (split, name), and why.
    type Case<'a> = (&'a [(Split, &'a str)], Split, &'a str, &'a str);

    #[test]
    fn the_preset_for_a_history_watches_its_validation_loss() {
        let cases: &[Case<'_>] = &[
            (
                &[(Split::Train, "loss"), (Split::Valid, "loss")],
                Split::Valid,
                "loss",
                "valid/loss when present",
            ),
            (
                &[(Split::Train, "loss"), (Split::Valid, "g0/loss")],
                Split::Valid,
                "g0/loss",
                "a second eval set's loss",
            ),
            (
                &[(Split::Train, "loss"), (Split::Valid, "accuracy")],
                Split::Train,
                "loss",
                "no validation loss: the training loss",
            ),
        ];
        for (series, split, name, why) in cases {
            let p = Preset::for_history(&history_with(series));
            assert_eq!(
                (p.monitor().split(), p.monitor().metric()),
                (*split, *name),
                "{why}"
            );
        }
    }

    #[test]
    fn install_adds_the_stack_in_order() {
        let mut bus = Bus::new();
        Preset::standard().install(&mut bus);
        let names: Vec<&str> = bus.callback_names().collect();
        assert_eq!(
            names,
            [
                "SpikeGuard",
                "SpikeGuard",
                "LrDiagnosis",
                "OverfittingDetector",
                "UnderfittingDetector",
                "EarlyStopping"
            ]
        );
        let mut bare = Bus::new();
        Preset::standard()
            .without_early_stopping()
            .install(&mut bare);
        assert_eq!(bare.callback_names().count(), 5);
        assert!(PresetSummary::from_bus(&bare).early_stopping.is_none());
    }
}
