//! The spike guard's configuration types: actions, the learning-rate cut factor, errors, counters.

use serde::{Deserialize, Serialize};

use crate::analysis::trend::TrendError;

/// OLMo's spike threshold in standard deviations.
pub const DEFAULT_K: f64 = 6.0;
/// OLMo's trailing window.
pub const DEFAULT_WINDOW: usize = 128;
/// Values the window must hold before the z-score alone can flag a candidate (before that, a
/// candidate is judged against its neighbours, one value late: see the module docs).
pub const DEFAULT_MIN_FILL: usize = 16;
/// A loss spike must be at least this multiple of the typical level (the current level): 25% above
/// it. Minibatch noise of a large-batch run moves the loss by a few percent (the llm.c GPT-2 log's
/// largest 6-sigma excursions are 8% above the mean); a bad batch or an instability doubles it.
pub const DEFAULT_LOSS_MIN_RATIO: f64 = 1.25;
/// A gradient-norm spike must be at least this multiple of the typical level. Gradient norms are
/// heavy-tailed: healthy runs show values up to about twice their running median every few
/// thousand steps (15 such in the 19,552 steps of the llm.c GPT-2 log), so a z-score alone floods;
/// three times the level is beyond that jitter and is where clipping at the usual 1.0 (for norms
/// near 0.3) starts to act.
pub const DEFAULT_GRAD_MIN_RATIO: f64 = 3.0;
/// A spike must also stand this many standard deviations above the window on the log scale (see
/// the module docs).
pub const LOG_K: f64 = 4.0;
/// A new spike episode is a warning again only when its magnitude (ratio to the level) exceeds
/// this multiple of every earlier episode's; otherwise it is info (the user was already warned
/// that this metric spikes; telling them again at the same size teaches them to ignore it).
pub const ESCALATION: f64 = 2.0;
/// Spikes closer than this fraction of the steps so far to the previous one join its episode (a
/// storm is one diagnosis); measured in progress, not in logged values.
pub const EPISODE_GAP: f64 = 0.25;

/// Why a spike guard configuration was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SpikeGuardError {
    /// `k` must be finite and positive.
    #[error("k must be finite and positive, got {0}")]
    K(f64),
    /// The magnitude floor must be finite and at least 1.
    #[error("min_ratio must be finite and at least 1, got {0}")]
    MinRatio(f64),
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
    /// Spike episodes (spikes closer than [`EPISODE_GAP`] of the run to the previous one join it).
    #[serde(default)]
    pub episodes: u64,
}
