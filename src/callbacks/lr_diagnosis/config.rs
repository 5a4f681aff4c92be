//! Configuration of the learning-rate diagnosis: the window and the thresholds of each rule.

use serde::{Deserialize, Serialize};

/// The smallest window: a line fit with residual spread and sign changes needs a few points.
pub const MIN_WINDOW: usize = 8;
/// The largest window (2^20 values, 8 MiB of buffer).
pub const MAX_WINDOW: usize = 1 << 20;

/// Why a learning-rate diagnosis configuration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LrConfigError {
    /// The window is shorter than [`MIN_WINDOW`] or longer than [`MAX_WINDOW`].
    #[error("window of {0} values is outside {MIN_WINDOW}..={MAX_WINDOW}")]
    Window(usize),
    /// `min_points` is below 5 or above the window.
    #[error("min_points {min_points} must lie in 5..={window} (the window)")]
    MinPoints {
        /// The value asked for.
        min_points: usize,
        /// The window it must fit in.
        window: usize,
    },
    /// `check_every` is 0 or above the window.
    #[error("check_every {check_every} must lie in 1..={window} (the window)")]
    CheckEvery {
        /// The value asked for.
        check_every: usize,
        /// The window it must fit in.
        window: usize,
    },
}

/// The thresholds of the rules, all scale-free (relative to the loss level or to its noise).
///
/// `#[non_exhaustive]`: start from [`LrThresholds::default`] and change fields. A NaN threshold
/// disables its rule (comparisons with NaN are false). "Across the window" means the change the
/// least-squares line predicts from the oldest to the newest value of the window.
///
/// ```
/// use curvewatch::callbacks::lr_diagnosis::LrThresholds;
/// let mut t = LrThresholds::default();
/// t.oscillation_noise = 0.08; // tolerate noisier per-step losses (small batches)
/// assert_eq!(t.slow_drop, 0.15);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LrThresholds {
    /// Sustained rise: the window slope's t-statistic must reach this (default 6; white noise
    /// reaches 4 once in ~2,500 windows of 20, 6 once in ~200,000)...
    pub rise_t: f64,
    /// ...and the relative rise across the window this (default 0.05, i.e. 5% of the level).
    pub rise_change: f64,
    /// Far above the minimum: the current level must exceed the running minimum of that level by
    /// this many of the level's own noise units (default 6) beyond what noise alone explains. The
    /// level is the median of three block means (a block: the values between two judgements), so
    /// its noise is `0.67·σ/√block` (σ the noise of one value at the minimum, from second
    /// differences); and the running minimum and the current level are both extremes of a noisy
    /// level, which after `m` levels stand up to about `2·√(2 ln m)` of its noise units apart by
    /// chance alone: that much is allowed first. For 2,000 judgements of 10 values that is
    /// 14 level units, 2.9σ; for 40 epoch-level values, 11 level units, 7.6σ...
    pub excess_sigma: f64,
    /// ...and by this fraction of |minimum| (default 0.10).
    pub excess_relative: f64,
    /// Rebound: the level's running minimum lies inside the window and the level has risen from it
    /// by this many noise units (default 3)...
    pub rebound_sigma: f64,
    /// ...and by this fraction of |minimum| (default 0.10).
    pub rebound_relative: f64,
    /// Oscillation: residual std around the window's line, relative to the level, at least this
    /// (default 0.04)...
    pub oscillation_noise: f64,
    /// ...with the change across the window at most this many residual stds (default 2)...
    pub oscillation_trend: f64,
    /// ...and at least this fraction of successive differences changing sign (default 0.35; white
    /// noise gives 2/3, a smooth curve 0).
    pub oscillation_sign_changes: f64,
    /// ...and upward moves making up at least this fraction of all movement (default 0.3; white
    /// noise gives 0.5). Without it, a curve that dropped steeply and then flattened (an L inside
    /// the window) reads as oscillating, because a straight line fits it badly.
    pub oscillation_up_fraction: f64,
    /// Slow descent: a relative drop across the window below this (default 0.15)...
    pub slow_drop: f64,
    /// ...a change within ±this counts as flat, a stall (default 0.02)...
    pub flat: f64,
    /// ...judged only early: while the level is less than this fraction below where it started
    /// (default 0.25); later, slowing down is convergence, not a low learning rate.
    pub early_progress: f64,
    /// A learning rate below this fraction of its peak means the schedule has decayed it (default
    /// 0.5): a slow descent is then expected and not called too low.
    pub schedule_decay: f64,
}

impl Default for LrThresholds {
    fn default() -> Self {
        LrThresholds {
            rise_t: 6.0,
            rise_change: 0.05,
            excess_sigma: 6.0,
            excess_relative: 0.10,
            rebound_sigma: 3.0,
            rebound_relative: 0.10,
            oscillation_noise: 0.04,
            oscillation_trend: 2.0,
            oscillation_sign_changes: 0.35,
            oscillation_up_fraction: 0.3,
            slow_drop: 0.15,
            flat: 0.02,
            early_progress: 0.25,
            schedule_decay: 0.5,
        }
    }
}

/// Window length, minimum number of values before judging, judging cadence, and thresholds.
///
/// ```
/// use curvewatch::callbacks::lr_diagnosis::LrDiagnosisConfig;
/// let cfg = LrDiagnosisConfig::new().with_window(50)?.with_min_points(20)?;
/// assert_eq!((cfg.window(), cfg.min_points()), (50, 20));
/// assert!(LrDiagnosisConfig::new().with_window(3).is_err());
/// # Ok::<(), curvewatch::callbacks::lr_diagnosis::LrConfigError>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LrDiagnosisConfig {
    window: usize,
    min_points: usize,
    check_every: usize,
    thresholds: LrThresholds,
}

impl Default for LrDiagnosisConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl LrDiagnosisConfig {
    /// A window of 50 values, judged every 10 values from 20 values on, with the default thresholds.
    pub fn new() -> Self {
        LrDiagnosisConfig {
            window: 50,
            min_points: 8,
            check_every: 10,
            thresholds: LrThresholds::default(),
        }
    }

    /// Sets the window (in [`MIN_WINDOW`]..=[`MAX_WINDOW`] values); `min_points` is lowered to the
    /// window if it was larger.
    pub fn with_window(mut self, window: usize) -> Result<Self, LrConfigError> {
        if !(MIN_WINDOW..=MAX_WINDOW).contains(&window) {
            return Err(LrConfigError::Window(window));
        }
        self.window = window;
        self.min_points = self.min_points.min(window);
        self.check_every = self.check_every.min(window);
        Ok(self)
    }

    /// Sets how many values the window must hold before a verdict (5..=window); before that the
    /// verdict is `insufficient_data`.
    pub fn with_min_points(mut self, min_points: usize) -> Result<Self, LrConfigError> {
        if !(5..=self.window).contains(&min_points) {
            return Err(LrConfigError::MinPoints {
                min_points,
                window: self.window,
            });
        }
        self.min_points = min_points;
        Ok(self)
    }

    /// Sets how often the live diagnosis judges: every `check_every` values (1..=window; default
    /// 10). Each judgement costs O(window); in between, a value costs a ring write, a median of 5
    /// and a few comparisons. [`diagnose_lr`](super::diagnose_lr) and the callback's accessors
    /// always judge the latest state, whatever the cadence.
    pub fn with_check_every(mut self, check_every: usize) -> Result<Self, LrConfigError> {
        if !(1..=self.window).contains(&check_every) {
            return Err(LrConfigError::CheckEvery {
                check_every,
                window: self.window,
            });
        }
        self.check_every = check_every;
        Ok(self)
    }

    /// Sets the thresholds.
    pub fn with_thresholds(mut self, thresholds: LrThresholds) -> Self {
        self.thresholds = thresholds;
        self
    }

    /// The window length (a deserialised out-of-range value is clamped into range).
    pub fn window(&self) -> usize {
        self.window.clamp(MIN_WINDOW, MAX_WINDOW)
    }

    /// Values needed before a verdict (clamped into 5..=window likewise).
    pub fn min_points(&self) -> usize {
        self.min_points.clamp(5, self.window())
    }

    /// The judging cadence in values (clamped into 1..=window likewise).
    pub fn check_every(&self) -> usize {
        self.check_every.clamp(1, self.window())
    }

    /// The thresholds.
    pub fn thresholds(&self) -> &LrThresholds {
        &self.thresholds
    }
}
