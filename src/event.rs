//! What a hook receives: one payload type per lifecycle event.
//!
//! Payloads are `#[non_exhaustive]` so fields can be added without breaking callbacks; build them with
//! their `new` constructors and `with_*` methods. Metric payloads borrow a slice of `(MetricKey, f64)`
//! pairs, so a training loop that keeps one array of keys and refills the values allocates nothing.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which data a metric was computed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Training batches.
    Train,
    /// Held-out validation data.
    Valid,
}

impl Split {
    /// The lower-case name used in files and logs (`train`, `valid`).
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A metric name resolved once to a small integer: an index into the bus's [`History`](crate::History).
///
/// Obtain one with [`Bus::metric`](crate::Bus::metric) (or [`History::key`](crate::History::key)) before
/// the loop starts; the per-step path then compares integers instead of hashing strings. A key belongs to
/// the history that issued it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MetricKey(pub(crate) u32);

impl MetricKey {
    /// The index of this key's series in its history.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// The largest epoch fraction stored: a fraction of 1 (the last batch) is kept just below the next
/// epoch, so that `floor(position)` always gives back the epoch a point belongs to.
pub const MAX_EPOCH_FRACTION: f32 = 0.999;

/// Looks up `key` in a metric slice (a linear scan: event slices hold a handful of metrics).
pub(crate) fn lookup(metrics: &[(MetricKey, f64)], key: MetricKey) -> Option<f64> {
    metrics.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
}

fn clamp_fraction(f: f32) -> f32 {
    if f.is_nan() {
        0.0
    } else {
        f.clamp(0.0, MAX_EPOCH_FRACTION)
    }
}

/// Sent once before the first step (or the first step after a resume).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct TrainBegin {
    /// Global step the run starts from (0 for a fresh run).
    pub step: u64,
    /// Epoch the run starts in (0-based).
    pub epoch: u32,
    /// Planned number of epochs, if known.
    pub max_epochs: Option<u32>,
    /// Planned number of optimizer steps, if known.
    pub max_steps: Option<u64>,
    /// Wall-clock time since the bus first saw the run start (stamped by the bus).
    pub time: Duration,
}

impl TrainBegin {
    /// A fresh run starting at step 0, epoch 0, with no planned length.
    pub fn new() -> Self {
        TrainBegin {
            step: 0,
            epoch: 0,
            max_epochs: None,
            max_steps: None,
            time: Duration::ZERO,
        }
    }

    /// Starts at `step` in `epoch` (for a resumed run).
    pub fn at(mut self, step: u64, epoch: u32) -> Self {
        self.step = step;
        self.epoch = epoch;
        self
    }

    /// Records the planned number of epochs.
    pub fn with_max_epochs(mut self, epochs: u32) -> Self {
        self.max_epochs = Some(epochs);
        self
    }

    /// Records the planned number of optimizer steps.
    pub fn with_max_steps(mut self, steps: u64) -> Self {
        self.max_steps = Some(steps);
        self
    }
}

impl Default for TrainBegin {
    fn default() -> Self {
        Self::new()
    }
}

/// Sent at the start of each epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct EpochBegin {
    /// The epoch that begins (0-based).
    pub epoch: u32,
    /// Global step at the start of the epoch.
    pub step: u64,
    /// Wall-clock time since train begin (stamped by the bus).
    pub time: Duration,
}

impl EpochBegin {
    /// Epoch `epoch` begins at global step `step`.
    pub fn new(epoch: u32, step: u64) -> Self {
        EpochBegin {
            epoch,
            step,
            time: Duration::ZERO,
        }
    }
}

/// Sent after each training batch (optimizer step).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct StepEnd<'a> {
    /// Global optimizer step, counted from 1 for the first batch by convention (any monotone count works).
    pub step: u64,
    /// Epoch this step belongs to (0-based).
    pub epoch: u32,
    /// How far through the epoch this step is, in `[0, 1]`, where the loop knows it.
    pub epoch_fraction: Option<f32>,
    /// Learning rate used for this step, where the loop reports it (recorded as `train/lr`).
    pub lr: Option<f64>,
    /// Training metrics of this step (usually at least the loss).
    pub metrics: &'a [(MetricKey, f64)],
    /// Wall-clock time since train begin: set by the loop with [`StepEnd::with_time`], or stamped by
    /// the bus when [`Bus::with_step_timing`](crate::Bus::with_step_timing) is on. Reading the clock
    /// costs 20-40 ns, a large share of the per-step budget, so it is off by default.
    pub time: Option<Duration>,
}

impl<'a> StepEnd<'a> {
    /// Step `step` of epoch 0 with these metrics; set the rest with `with_*`.
    pub fn new(step: u64, metrics: &'a [(MetricKey, f64)]) -> Self {
        StepEnd {
            step,
            epoch: 0,
            epoch_fraction: None,
            lr: None,
            metrics,
            time: None,
        }
    }

    /// Sets the wall-clock time since train begin (the loop's own clock reading).
    pub fn with_time(mut self, time: Duration) -> Self {
        self.time = Some(time);
        self
    }

    /// Sets the epoch this step belongs to.
    pub fn with_epoch(mut self, epoch: u32) -> Self {
        self.epoch = epoch;
        self
    }

    /// Sets the fraction of the epoch done after this step, clamped to `[0, MAX_EPOCH_FRACTION]`
    /// (so the last batch's 1.0 is kept as 0.999 and stays within its epoch); NaN counts as 0.
    pub fn with_epoch_fraction(mut self, fraction: f32) -> Self {
        self.epoch_fraction = Some(clamp_fraction(fraction));
        self
    }

    /// Sets the learning rate used for this step.
    pub fn with_lr(mut self, lr: f64) -> Self {
        self.lr = Some(lr);
        self
    }

    /// The value of `key` in this step's metrics, if present.
    pub fn metric(&self, key: MetricKey) -> Option<f64> {
        lookup(self.metrics, key)
    }

    /// Fractional epoch position: `epoch + epoch_fraction` (the fraction counts as 0 when unknown).
    pub fn epoch_position(&self) -> f64 {
        self.epoch as f64 + self.epoch_fraction.unwrap_or(0.0) as f64
    }
}

/// Sent after an evaluation (validation) pass, with its metrics.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct EvalEnd<'a> {
    /// Global step at which the evaluation ran.
    pub step: u64,
    /// Epoch during (or at the end of) which it ran (0-based).
    pub epoch: u32,
    /// How far through the epoch, where known (`None` for an end-of-epoch evaluation).
    pub epoch_fraction: Option<f32>,
    /// Validation metrics (keys of split [`Split::Valid`], usually).
    pub metrics: &'a [(MetricKey, f64)],
    /// Wall-clock time since train begin (stamped by the bus).
    pub time: Duration,
}

impl<'a> EvalEnd<'a> {
    /// An evaluation at `step` in `epoch` with these metrics.
    pub fn new(step: u64, epoch: u32, metrics: &'a [(MetricKey, f64)]) -> Self {
        EvalEnd {
            step,
            epoch,
            epoch_fraction: None,
            metrics,
            time: Duration::ZERO,
        }
    }

    /// Sets the fraction of the epoch done when the evaluation ran, clamped to
    /// `[0, MAX_EPOCH_FRACTION]`; NaN counts as 0.
    pub fn with_epoch_fraction(mut self, fraction: f32) -> Self {
        self.epoch_fraction = Some(clamp_fraction(fraction));
        self
    }

    /// The value of `key` in this evaluation's metrics, if present.
    pub fn metric(&self, key: MetricKey) -> Option<f64> {
        lookup(self.metrics, key)
    }

    /// Fractional epoch position: `epoch + epoch_fraction` (the fraction counts as 0 when unknown).
    pub fn epoch_position(&self) -> f64 {
        self.epoch as f64 + self.epoch_fraction.unwrap_or(0.0) as f64
    }
}

/// Sent at the end of each epoch, with epoch-level metrics (e.g. the mean training loss), if any.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct EpochEnd<'a> {
    /// The epoch that ended (0-based).
    pub epoch: u32,
    /// Global step at the end of the epoch.
    pub step: u64,
    /// Epoch-level metrics (any split); may be empty.
    pub metrics: &'a [(MetricKey, f64)],
    /// Wall-clock time since train begin (stamped by the bus).
    pub time: Duration,
}

impl<'a> EpochEnd<'a> {
    /// Epoch `epoch` ended at global step `step` with these epoch-level metrics.
    pub fn new(epoch: u32, step: u64, metrics: &'a [(MetricKey, f64)]) -> Self {
        EpochEnd {
            epoch,
            step,
            metrics,
            time: Duration::ZERO,
        }
    }

    /// The value of `key` in this epoch's metrics, if present.
    pub fn metric(&self, key: MetricKey) -> Option<f64> {
        lookup(self.metrics, key)
    }
}

/// Sent once when training ends, whether it finished, was stopped, or failed.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct TrainEnd {
    /// Last global step.
    pub step: u64,
    /// Last epoch (0-based).
    pub epoch: u32,
    /// Whether a stop request ended the run (filled in by the bus).
    pub stopped: bool,
    /// Wall-clock time since train begin (stamped by the bus).
    pub time: Duration,
}

impl TrainEnd {
    /// Training ended at `step` in `epoch`.
    pub fn new(step: u64, epoch: u32) -> Self {
        TrainEnd {
            step,
            epoch,
            stopped: false,
            time: Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_lookup_finds_by_key_and_misses_cleanly() {
        let metrics = [(MetricKey(0), 1.5), (MetricKey(3), -2.0)];
        let ev = StepEnd::new(7, &metrics)
            .with_epoch(2)
            .with_epoch_fraction(0.5);
        assert_eq!(ev.metric(MetricKey(3)), Some(-2.0));
        assert_eq!(ev.metric(MetricKey(1)), None);
        assert_eq!(ev.epoch_position(), 2.5);
    }

    #[test]
    fn epoch_fraction_is_clamped() {
        let ev = EvalEnd::new(1, 0, &[]).with_epoch_fraction(3.0);
        assert_eq!(ev.epoch_fraction, Some(MAX_EPOCH_FRACTION));
        let last = StepEnd::new(1, &[]).with_epoch(4).with_epoch_fraction(1.0);
        assert_eq!(
            last.epoch_position().floor(),
            4.0,
            "the last batch stays in its epoch"
        );
        assert_eq!(
            StepEnd::new(1, &[])
                .with_epoch_fraction(f32::NAN)
                .epoch_fraction,
            Some(0.0)
        );
    }
}
