//! The spike guard's configuration types: actions, the learning-rate cut factor, errors, counters.

use serde::{Deserialize, Serialize};

use crate::analysis::trend::TrendError;

/// OLMo's spike threshold in standard deviations.
pub const DEFAULT_K: f64 = 6.0;
/// OLMo's trailing window.
pub const DEFAULT_WINDOW: usize = 128;
/// Values the window must hold before a spike can be judged.
pub const DEFAULT_MIN_FILL: usize = 32;

/// Why a spike guard configuration was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SpikeGuardError {
    /// `k` must be finite and positive.
    #[error("k must be finite and positive, got {0}")]
    K(f64),
    /// A learning-rate cut factor must lie strictly between 0 and 1.
    #[error("learning-rate cut factor must lie strictly between 0 and 1, got {0}")]
    Factor(f64),
    /// `min_fill` must be at least 2 (a standard deviation needs two values) and at most the window.
    #[error("min_fill {min_fill} must lie in 2..={window} (the window)")]
    MinFill {
        /// The value asked for.
        min_fill: usize,
        /// The window it must fit in.
        window: usize,
    },
    /// The window could not be built.
    #[error(transparent)]
    Window(#[from] TrendError),
}

/// A learning-rate multiplier strictly between 0 and 1 (checked when deserialised too).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct LrFactor(f64);

impl TryFrom<f64> for LrFactor {
    type Error = SpikeGuardError;

    fn try_from(factor: f64) -> Result<Self, SpikeGuardError> {
        LrFactor::new(factor)
    }
}

impl From<LrFactor> for f64 {
    fn from(f: LrFactor) -> f64 {
        f.0
    }
}

impl LrFactor {
    /// The factor, if `factor` lies strictly between 0 and 1.
    pub fn new(factor: f64) -> Result<Self, SpikeGuardError> {
        if factor > 0.0 && factor < 1.0 {
            Ok(LrFactor(factor))
        } else {
            Err(SpikeGuardError::Factor(factor))
        }
    }

    /// The multiplier.
    pub fn get(self) -> f64 {
        self.0
    }
}

/// What a guard does when an episode starts.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpikeAction {
    /// Emit the diagnosis only.
    Report,
    /// Emit the diagnosis and ask the loop to stop.
    Stop,
    /// Emit the diagnosis and ask for the learning rate in force times the factor (once per
    /// episode); without a known learning rate the diagnosis says so and nothing is asked.
    CutLr(LrFactor),
}

impl SpikeAction {
    /// [`SpikeAction::CutLr`] with a checked factor.
    pub fn cut_lr(factor: f64) -> Result<Self, SpikeGuardError> {
        Ok(SpikeAction::CutLr(LrFactor::new(factor)?))
    }
}

/// What a guard has seen so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpikeCounts {
    /// Values above the bar.
    pub spikes: u64,
    /// NaN or ±inf values.
    pub non_finite: u64,
    /// Step of the latest spike.
    pub last_spike_step: Option<u64>,
    /// Step of the latest non-finite value.
    pub last_non_finite_step: Option<u64>,
    /// Learning-rate cuts asked for.
    pub lr_cuts: u64,
}
