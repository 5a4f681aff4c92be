//! [`OverfittingDetector`]: tells a widening generalization gap (validation still improving) from
//! overfitting proper (validation getting worse while training improves), with the epoch each
//! began, the best epoch, and advice that depends on when in the run it began.
//!
//! # What it measures
//! At each evaluation that carries the validation metric it pairs the validation value with the
//! training value of the same stretch of the run: an epoch-level training metric when the loop
//! reports one (in [`EpochEnd`]), else the mean of the training steps since the previous evaluation
//! (a running sum and count: O(1) per step, no allocation).
//!
//! - **gap** = validation − training for a minimised metric (training − validation for a maximised
//!   one): how much better the model does on the data it trains on. (The article this project
//!   started from computed training − validation for losses, which is negative on its own example
//!   and never fires.)
//! - **relative gap** = gap / |validation|: the share of the validation loss that the gap accounts
//!   for. Scale-free: 0.1 means validation is 10% above training whether the loss sits at 0.3 or 3.
//! - **gap growth** = least-squares slope of the gap over the last `window` evaluations, divided by
//!   the mean |validation| over them: how much the gap widens per evaluation, relative to the loss
//!   scale. A constant absolute gap has growth 0, however far the losses fall.
//!
//! # Diagnoses
//! A trend is *significant* when the window is full and the t statistic of its least-squares slope
//! (slope over its standard error, `window - 2` degrees of freedom) clears the one-sided critical
//! value of Student's t at the configured confidence (default 0.99: 4.54 for the default window of
//! 5). This is what keeps noise on a flat, converged curve from looking like a trend.
//!
//! - [`DiagnosisKind::GeneralizationGap`] (**info**: validation still improves, nothing is wrong
//!   yet): for `patience` evaluations in a row the relative gap is at least `min_relative_gap`,
//!   the gap growth at least `min_gap_growth` and significant, and the validation slope over the
//!   window still points to improvement. The episode ends after `patience` evaluations in a row
//!   without.
//! - [`DiagnosisKind::Overfitting`] (warning; critical once `critical_after` evaluations stood
//!   above the best): the *best* is the raw best validation value (the notion early stopping uses
//!   with no `min_delta`, so both name the same step). Since the best, at least `patience`
//!   evaluations; of the later half of them (at least `patience`: a slow, convex rise spends its
//!   first evaluations near the best), three quarters (and at least `patience`) worse than the
//!   best by more than the *margin*, or their mean above the level around the best (the median of
//!   the best and two evaluations each side) by 4 standard errors (for noisy curves, where single
//!   evaluations dip back); the median of the latest five worse too, while the median of the
//!   paired training values is better than at the best. The margin is the validation monitor's
//!   own, or 3.5 times the curve's noise if larger (1.4826 · median |second difference| / √6 over
//!   the values from the best on, at least the last 24: the steep descent before the best would
//!   read as noise). Evaluations are recounted at each one with the current margin. A noisy curve
//!   wandering around a converged level is not worse, one clearly above its minimum for many
//!   evaluations is, swings and all. An evaluation that comes before its epoch's training value
//!   (validation before the epoch end, as Lightning runs it) waits for it. No trend test is needed, so a
//!   fine-tune whose validation worsens at each of its 4 evaluations is called at the 4th. The
//!   episode runs from the best evaluation (its onset) and is one diagnosis, revised as it grows
//!   and escalates; a new best closes it. Overfitting supersedes a generalization-gap episode.
//!   (Validation worse while training does not improve is not overfitting: the learning-rate
//!   diagnosis covers it.)
//! - [`DiagnosisKind::NotJudged`] (info) at `train_end` when training values came but no
//!   validation value ever did: overfitting cannot be judged from a training loss.
//!
//! Each carries its onset, the best step (and epoch where the run has epochs), the numbers, and a
//! [`Timing`]-based recommendation. Non-finite values are skipped (the spike guard and early
//! stopping handle them).

mod judge;
pub(crate) mod state;
mod timing;
pub(super) mod window;

use std::any::Any;
use std::num::{NonZeroU32, NonZeroUsize};

use serde::{Deserialize, Serialize};

pub use timing::Timing;

use self::state::State;
use self::window::Window;
use super::monitor::Monitor;
use crate::analysis::trend::TrendError;
use crate::callback::{
    state_from_value, state_to_value, Callback, CallbackError, CallbackResult, StepFilter,
};
use crate::context::Context;
use crate::diagnosis::{Diagnosis, DiagnosisKind, Severity};
use crate::event::{EpochEnd, EvalEnd, Split, StepEnd, TrainBegin, TrainEnd};

/// What an [`OverfittingDetector`] currently concludes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverfittingVerdict {
    /// Nothing to report (or not enough evaluations yet).
    #[default]
    None,
    /// The gap widens while validation still improves.
    GeneralizationGap,
    /// Validation got worse while training improved.
    Overfitting,
}

/// A fit detector's setting out of its range.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FitConfigError {
    /// The value is not in the range the setting accepts.
    #[error("{setting} must be {expected}, got {value}")]
    OutOfRange {
        /// The builder method (`with_confidence`, ...).
        setting: &'static str,
        /// The accepted range, in words.
        expected: &'static str,
        /// The value given.
        value: f64,
    },
    /// The window could not be built (too large, or out of memory).
    #[error(transparent)]
    Window(#[from] TrendError),
}

/// Checks `value` against `ok`, naming the setting in the error.
pub(super) fn check(
    setting: &'static str,
    expected: &'static str,
    value: f64,
    ok: bool,
) -> Result<f64, FitConfigError> {
    if ok {
        Ok(value)
    } else {
        Err(FitConfigError::OutOfRange {
            setting,
            expected,
            value,
        })
    }
}

/// Watches a training and a validation metric and reports a widening generalization gap or
/// overfitting (see the [module docs](self) for the exact rules).
///
/// ```
/// use curvewatch::callbacks::overfitting::{OverfittingDetector, OverfittingVerdict};
/// use curvewatch::{Bus, DiagnosisKind, EvalEnd, Split, StepEnd, TrainBegin};
///
/// let mut bus = Bus::new().with(OverfittingDetector::new());
/// let (loss, val) = (bus.metric(Split::Train, "loss"), bus.metric(Split::Valid, "loss"));
/// bus.train_begin(&TrainBegin::new().with_max_epochs(20)).unwrap();
/// for epoch in 0..20u32 {
///     let e = f64::from(epoch);
///     let step = u64::from(epoch + 1) * 10;
///     bus.step_end(&StepEnd::new(step, &[(loss, 1.0 / (1.0 + e))]).with_epoch(epoch)).unwrap();
///     let v = 0.5 + 0.01 * (e - 8.0) * (e - 8.0); // best at epoch 8, then rising
///     bus.eval_end(&EvalEnd::new(step, epoch, &[(val, v)])).unwrap();
/// }
/// let det = bus.callback::<OverfittingDetector>().unwrap();
/// assert_eq!(det.verdict(), OverfittingVerdict::Overfitting);
/// // The episode begins at the best evaluation (the turn), the notion early stopping uses too.
/// assert_eq!((det.best_epoch(), det.onset_epoch()), (Some(8), Some(8)));
/// assert!(bus.diagnoses().iter().any(|d| d.kind == DiagnosisKind::Overfitting));
/// ```
pub struct OverfittingDetector {
    train: Monitor,
    valid: Monitor,
    window: usize,
    patience: u32,
    critical_after: Option<u32>,
    min_relative_gap: f64,
    min_gap_growth: f64,
    confidence: f64,
    t_crit: f64,
    state: State,
}

impl Default for OverfittingDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl OverfittingDetector {
    /// Watches `train/loss` against `valid/loss` with a window of 5 evaluations, patience 3,
    /// critical after 6, minimum relative gap 0.1, minimum gap growth 0.01 per evaluation,
    /// confidence 0.99.
    pub fn new() -> Self {
        let valid = Monitor::new(Split::Valid, "loss");
        OverfittingDetector {
            train: Monitor::new(Split::Train, "loss"),
            state: State::new(5, valid.direction()),
            valid,
            window: 5,
            patience: 3,
            critical_after: None,
            min_relative_gap: 0.1,
            min_gap_growth: 0.01,
            confidence: 0.99,
            t_crit: window::t_critical(0.99, 3),
        }
    }

    /// The training metric; its margin decides whether training still improves.
    pub fn with_train(mut self, train: Monitor) -> Self {
        self.train = train;
        self
    }

    /// The validation metric: its direction orients the gap; its margin decides "worse than the
    /// best".
    pub fn with_valid(mut self, valid: Monitor) -> Self {
        self.valid = valid;
        self.state = State::new(self.window, self.valid.direction());
        self
    }

    /// How many evaluations the trends span: at least 3 (a t statistic needs a residual), at most
    /// [`MAX_WINDOW`](crate::analysis::trend::MAX_WINDOW).
    pub fn with_window(mut self, window: NonZeroUsize) -> Result<Self, FitConfigError> {
        let w = window.get();
        check("with_window", "at least 3", w as f64, w >= 3)?;
        Window::validate(w)?;
        self.window = w;
        self.t_crit = window::t_critical(self.confidence, w - 2);
        self.state = State::new(w, self.valid.direction());
        Ok(self)
    }

    /// How many evaluations in a row a condition must hold before it is reported.
    pub fn with_patience(mut self, patience: NonZeroU32) -> Self {
        self.patience = patience.get();
        self
    }

    /// After how many evaluations of worsening validation overfitting turns critical (default:
    /// twice the patience; never fewer than the patience).
    pub fn with_critical_after(mut self, evaluations: NonZeroU32) -> Self {
        self.critical_after = Some(evaluations.get());
        self
    }

    /// The smallest relative gap (gap / |validation|) worth a generalization-gap warning: finite,
    /// not negative.
    pub fn with_min_relative_gap(mut self, ratio: f64) -> Result<Self, FitConfigError> {
        let ok = ratio.is_finite() && ratio >= 0.0;
        self.min_relative_gap = check("with_min_relative_gap", "finite and >= 0", ratio, ok)?;
        Ok(self)
    }

    /// The smallest gap growth per evaluation, relative to |validation|, worth a warning: finite,
    /// not negative.
    pub fn with_min_gap_growth(mut self, growth: f64) -> Result<Self, FitConfigError> {
        let ok = growth.is_finite() && growth >= 0.0;
        self.min_gap_growth = check("with_min_gap_growth", "finite and >= 0", growth, ok)?;
        Ok(self)
    }

    /// The one-sided confidence a trend must reach to count, in `[0.5, 1)` (default 0.99; 0.5
    /// accepts any slope of the right sign).
    pub fn with_confidence(mut self, confidence: f64) -> Result<Self, FitConfigError> {
        let ok = (0.5..1.0).contains(&confidence);
        self.confidence = check("with_confidence", "in [0.5, 1)", confidence, ok)?;
        self.t_crit = window::t_critical(confidence, self.window - 2);
        Ok(self)
    }

    /// The current verdict.
    pub fn verdict(&self) -> OverfittingVerdict {
        self.state.verdict
    }

    /// Epoch of the first evaluation of the latest episode (active or over), if any.
    pub fn onset_epoch(&self) -> Option<u32> {
        self.state.onset.map(|m| m.epoch)
    }

    /// Step of the first evaluation of the latest episode, if any.
    pub fn onset_step(&self) -> Option<u64> {
        self.state.onset.map(|m| m.step)
    }

    /// When in the run the latest episode began, if one did.
    pub fn timing(&self) -> Option<Timing> {
        self.state.timing
    }

    /// Epoch of the best validation value so far.
    pub fn best_epoch(&self) -> Option<u32> {
        self.state.best_mark.map(|m| m.epoch)
    }

    /// Step of the best validation value so far.
    pub fn best_step(&self) -> Option<u64> {
        self.state.best_mark.map(|m| m.step)
    }

    /// The best validation value so far.
    pub fn best_value(&self) -> Option<f64> {
        self.state.best_mark.map(|_| self.state.best)
    }

    /// The gap at the latest evaluation (validation − training for a minimised metric).
    pub fn gap(&self) -> Option<f64> {
        self.state.last_gap
    }

    /// The relative gap (gap / |validation|) at the latest evaluation.
    pub fn relative_gap(&self) -> Option<f64> {
        self.state.last_relative_gap
    }

    /// How many evaluations were judged.
    pub fn evaluations(&self) -> u64 {
        self.state.evals
    }

    /// How many episodes (generalization gap or overfitting) were reported.
    pub fn episodes(&self) -> u32 {
        self.state.episodes
    }

    fn critical_after(&self) -> u32 {
        self.critical_after
            .unwrap_or(self.patience.saturating_mul(2))
            .max(self.patience)
    }
}

impl OverfittingDetector {
    /// Judges the evaluation waiting for its training value, with what has come since.
    fn judge_pending(&mut self, ctx: &mut Context<'_>) {
        if let Some((val, epoch, step)) = self.state.pending.take() {
            self.judge(ctx, val, epoch, step);
        }
    }
}

impl Callback for OverfittingDetector {
    fn on_train_end(&mut self, ctx: &mut Context<'_>, _ev: &TrainEnd) -> CallbackResult {
        self.judge_pending(ctx);
        if self.state.evals == 0 && self.state.train_seen {
            let d = Diagnosis::new(
                DiagnosisKind::NotJudged,
                Severity::Info,
                format!(
                    "no {} was reported: overfitting cannot be judged from {} alone (a training \
                     loss falls whether the model learns or memorises)",
                    self.valid.label(),
                    self.train.label()
                ),
            )
            .with_metric(self.valid.label())
            .with_recommendation(
                "hold out a validation set and report its loss (EvalEnd) every epoch or every \
                 few hundred steps",
            );
            ctx.emit(d);
        }
        Ok(())
    }

    fn on_train_begin(&mut self, _ctx: &mut Context<'_>, ev: &TrainBegin) -> CallbackResult {
        self.state.max_epochs = ev.max_epochs.or(self.state.max_epochs);
        self.state.max_steps = ev.max_steps.or(self.state.max_steps);
        Ok(())
    }

    fn step_filter(&self) -> StepFilter {
        self.train.step_filter()
    }

    fn on_step_end(&mut self, ctx: &mut Context<'_>, ev: &StepEnd<'_>) -> CallbackResult {
        if let Some(v) = self
            .train
            .value_in(ctx, ev.metrics)
            .filter(|v| v.is_finite())
        {
            self.judge_pending(ctx);
            let s = &mut self.state;
            s.train_sum += v;
            s.train_count += 1;
            s.epoch_train = None;
            s.train_seen = true;
        }
        Ok(())
    }

    fn on_eval_end(&mut self, ctx: &mut Context<'_>, ev: &EvalEnd<'_>) -> CallbackResult {
        if let Some(val) = self
            .valid
            .value_in(ctx, ev.metrics)
            .filter(|v| v.is_finite())
        {
            self.judge_pending(ctx);
            if self.state.train_count > 0 {
                // Training steps since the last evaluation: their mean is this one's pair.
                self.judge(ctx, val, ev.epoch, ev.step);
            } else {
                self.state.pending = Some((val, ev.epoch, ev.step));
            }
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, ctx: &mut Context<'_>, ev: &EpochEnd<'_>) -> CallbackResult {
        if let Some(t) = self
            .train
            .value_in(ctx, ev.metrics)
            .filter(|v| v.is_finite())
        {
            self.state.epoch_train = Some(t);
            self.state.train_seen = true;
        }
        self.judge_pending(ctx);
        if let Some(val) = self.valid.value_in(ctx, ev.metrics) {
            self.judge(ctx, val, ev.epoch, ev.step);
        }
        Ok(())
    }

    fn save_state(&self) -> Result<Option<serde_json::Value>, CallbackError> {
        state_to_value(&self.state)
    }

    fn load_state(&mut self, state: serde_json::Value) -> CallbackResult {
        let s: State = state_from_value(state)?;
        self.state = s.restored(self.window).map_err(CallbackError::new)?;
        Ok(())
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests;
