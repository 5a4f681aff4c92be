//! [`UnderfittingDetector`]: a model that does not fit even its training data, judged from the
//! history of the run rather than from absolute thresholds.
//!
//! "Loss above 0.5" means nothing across tasks: a language model's loss sits near 2-3 nats when it
//! is doing well, a classifier's near 0.1. So every rule here compares a curve with itself.
//!
//! # Points
//! The detector reads the curves at a [`Cadence`]: one *point* per epoch (default), per evaluation,
//! or per block of training steps (for LLM pretraining without epochs or evaluations). A point's
//! training value is the epoch-level training metric when the loop reports one, else the mean of
//! the training steps since the previous point (a running sum: O(1) per step, no allocation); its
//! validation and accuracy values are the latest reported since the previous point.
//!
//! # The training loss, by progress
//! Every training value also feeds a curve kept by progress, not by points (`progress.rs`): bucket
//! means over equal spans of steps, the spans doubling as the run grows (at most 64), so that
//! logging every step or every 100 steps gives the same verdict. It is judged at each closed span
//! once it holds 12 and, when the loop announced its length (`TrainBegin::max_steps`), a tenth of
//! the run has passed (without a length, after 5,000 values).
//! - **stuck from the start** ([`DiagnosisKind::Underfitting`](crate::DiagnosisKind::Underfitting),
//!   warning, rule `stuck_from_start`): the level has not come down from where it started (the
//!   worse of the first value and the first span's mean) by more than 2% and more than three noise
//!   units (second differences of the span means). A language model sitting at ln(vocabulary) for
//!   3,000 steps is the case. Never said once the curve has moved.
//! - **plateau** ([`DiagnosisKind::Plateau`](crate::DiagnosisKind::Plateau), info, rule
//!   `converged`): after learning, the last quarter of the run so far brought less than 2% of the
//!   whole improvement. It is an episode, re-judged: when the loss falls again (by three noise
//!   units and 10% of the improvement made before it), the diagnosis is revised to say so and
//!   closed. It does not claim convergence.
//! - A curve too short to judge (fewer than 12 spans at the end) gets a
//!   [`DiagnosisKind::NotJudged`](crate::DiagnosisKind::NotJudged) note at `train_end`.
//!
//! "Flat at a high level after some improvement" is not called underfitting: whether 7% or 25% is
//! little depends on the task (a fine-tune starts near its floor), which one curve cannot tell.
//!
//! # Accuracy rules, over the last `window` points
//! - With an accuracy metric: its window mean within `chance_margin · (1 − chance)` of chance level
//!   `1 / num_classes` → Underfitting (`accuracy_at_chance`); flat and below a target accuracy →
//!   Underfitting (`accuracy_below_target`).
//!
//! Each diagnosis is emitted once per episode.

mod assess;
mod curve;
mod progress;
mod state;

use std::any::Any;
use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};

use serde::{Deserialize, Serialize};

use self::state::State;
use super::monitor::Monitor;
use super::overfitting::window::{self, Window};
use super::overfitting::{check, FitConfigError};
use crate::callback::{
    state_from_value, state_to_value, Callback, CallbackError, CallbackResult, StepFilter,
};
use crate::context::Context;
use crate::event::{EpochEnd, EvalEnd, Split, StepEnd, TrainBegin, TrainEnd};

/// The confidence at which a slope counts as the curve moving again (ending an episode).
const MOVING_CONFIDENCE: f64 = 0.99;

/// When the detector takes a point of the curves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cadence {
    /// At each epoch end.
    Epoch,
    /// At each evaluation end.
    Eval,
    /// After every `n` training steps. The flat tolerance is per point, so pick `n` so that a point
    /// is a meaningful stretch of training (say 1-2% of the planned steps): a curve that falls 0.3%
    /// per 100 steps is flat at `n = 100` but falls 3% per point at `n = 1000`.
    Steps(NonZeroU64),
}

/// What an [`UnderfittingDetector`] currently concludes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnderfittingVerdict {
    /// Nothing to report (the curve still moves, or not enough points yet).
    #[default]
    None,
    /// The training curve converged at a low level relative to its start (not underfitting).
    Plateau,
    /// The model does not fit the training data.
    Underfitting,
}

/// Which rule produced the latest finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnderfittingRule {
    /// The training curve is flat, having come down less than `min_improvement` from its start.
    TrainPlateauHigh,
    /// The training loss has not come down from where it started (progress-scaled).
    StuckFromStart,
    /// As above, with validation flat too and close to training.
    TrainAndValidFlat,
    /// Accuracy stays near chance level.
    AccuracyAtChance,
    /// Accuracy is flat below the target.
    AccuracyBelowTarget,
    /// The training curve converged after coming well down (a plateau, not underfitting).
    Converged,
}

impl UnderfittingRule {
    /// Whether this is one of the accuracy rules (judged over points, not the progress curve).
    pub fn is_accuracy(self) -> bool {
        matches!(
            self,
            UnderfittingRule::AccuracyAtChance | UnderfittingRule::AccuracyBelowTarget
        )
    }

    /// The `snake_case` name.
    pub fn as_str(self) -> &'static str {
        match self {
            UnderfittingRule::TrainPlateauHigh => "train_plateau_high",
            UnderfittingRule::TrainAndValidFlat => "train_and_valid_flat",
            UnderfittingRule::AccuracyAtChance => "accuracy_at_chance",
            UnderfittingRule::AccuracyBelowTarget => "accuracy_below_target",
            UnderfittingRule::Converged => "converged",
            UnderfittingRule::StuckFromStart => "stuck_from_start",
        }
    }
}

/// Reports underfitting (or a converged plateau) from the history of the training curve, the
/// validation curve and, when configured, an accuracy metric (see the [module docs](self)).
///
/// ```
/// use curvewatch::callbacks::underfitting::{UnderfittingDetector, UnderfittingVerdict};
/// use curvewatch::{Bus, DiagnosisKind, Split, StepEnd, TrainBegin};
///
/// let mut bus = Bus::new().with(UnderfittingDetector::new().without_valid());
/// let loss = bus.metric(Split::Train, "loss");
/// bus.train_begin(&TrainBegin::new().with_max_steps(3000)).unwrap();
/// // A language model that stays at ln(50257) = 10.82 nats, ±0.1%: it is not learning.
/// for step in 1..=3000u64 {
///     let l = 10.82 * (1.0 + 0.001 * ((step * 7919 % 13) as f64 / 6.0 - 1.0));
///     bus.step_end(&StepEnd::new(step, &[(loss, l)])).unwrap();
/// }
/// let det = bus.callback::<UnderfittingDetector>().unwrap();
/// assert_eq!(det.verdict(), UnderfittingVerdict::Underfitting);
/// let d = &bus.diagnoses()[0];
/// assert_eq!(d.kind, DiagnosisKind::Underfitting);
/// assert!(d.step <= 600, "said within the first fifth of the run, at step {}", d.step);
/// ```
pub struct UnderfittingDetector {
    train: Monitor,
    valid: Option<Monitor>,
    accuracy: Option<Monitor>,
    chance: Option<f64>,
    target: Option<f64>,
    cadence: Cadence,
    window: usize,
    flat_tolerance: f64,
    min_improvement: f64,
    close_tolerance: f64,
    chance_margin: f64,
    /// One-sided 99% critical value of Student's t for the window's slope.
    t_crit: f64,
    state: State,
}

impl Default for UnderfittingDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl UnderfittingDetector {
    /// Watches `train/loss` (and `valid/loss`) once per epoch over a window of 8 points, with flat
    /// tolerance 0.005 per point, minimum improvement 0.25, close tolerance 0.1, chance margin 0.1.
    pub fn new() -> Self {
        UnderfittingDetector {
            train: Monitor::new(Split::Train, "loss"),
            valid: Some(Monitor::new(Split::Valid, "loss")),
            accuracy: None,
            chance: None,
            target: None,
            cadence: Cadence::Epoch,
            window: 8,
            flat_tolerance: 0.005,
            min_improvement: 0.25,
            close_tolerance: 0.1,
            chance_margin: 0.1,
            t_crit: window::t_critical(MOVING_CONFIDENCE, 6),
            state: State::new(8),
        }
    }

    /// The training metric.
    pub fn with_train(mut self, train: Monitor) -> Self {
        self.train = train;
        self
    }

    /// The validation metric compared with training in rule `train_and_valid_flat`.
    pub fn with_valid(mut self, valid: Monitor) -> Self {
        self.valid = Some(valid);
        self
    }

    /// Ignores validation.
    pub fn without_valid(mut self) -> Self {
        self.valid = None;
        self
    }

    /// An accuracy metric (higher is better, in `[0, 1]`) for the accuracy rules, e.g.
    /// `Monitor::new(Split::Train, "accuracy")`. Reported per step or per epoch/evaluation.
    pub fn with_accuracy(mut self, accuracy: Monitor) -> Self {
        self.accuracy = Some(accuracy);
        self
    }

    /// The number of classes: chance accuracy is `1 / classes` (at least 2 classes).
    pub fn with_num_classes(mut self, classes: NonZeroU32) -> Result<Self, FitConfigError> {
        let k = f64::from(classes.get());
        check("with_num_classes", "at least 2", k, k >= 2.0)?;
        self.chance = Some(1.0 / k);
        Ok(self)
    }

    /// The accuracy the run should reach; a flat accuracy below it is underfitting (in `(0, 1]`).
    pub fn with_target_accuracy(mut self, target: f64) -> Result<Self, FitConfigError> {
        let ok = target > 0.0 && target <= 1.0;
        self.target = Some(check("with_target_accuracy", "in (0, 1]", target, ok)?);
        Ok(self)
    }

    /// When points are taken (default: each epoch end).
    pub fn with_cadence(mut self, cadence: Cadence) -> Self {
        self.cadence = cadence;
        self
    }

    /// How many points the flatness test spans: at least 3, at most
    /// [`MAX_WINDOW`](crate::analysis::trend::MAX_WINDOW).
    pub fn with_window(mut self, window: NonZeroUsize) -> Result<Self, FitConfigError> {
        let w = window.get();
        check("with_window", "at least 3", w as f64, w >= 3)?;
        Window::validate(w)?;
        self.window = w;
        self.t_crit = window::t_critical(MOVING_CONFIDENCE, w - 2);
        self.state = State::new(w);
        Ok(self)
    }

    /// The largest |slope| per point, relative to the level, that counts as flat (finite, > 0;
    /// default 0.005: the curve moves less than 0.5% of its level per point). Per point, so it
    /// depends on the [`Cadence`].
    pub fn with_flat_tolerance(mut self, tolerance: f64) -> Result<Self, FitConfigError> {
        let ok = tolerance.is_finite() && tolerance > 0.0;
        self.flat_tolerance = check("with_flat_tolerance", "finite and > 0", tolerance, ok)?;
        Ok(self)
    }

    /// The share of its initial value a flat curve must have shed not to be underfitting, in
    /// `[0, 1]`.
    pub fn with_min_improvement(mut self, ratio: f64) -> Result<Self, FitConfigError> {
        let ok = (0.0..=1.0).contains(&ratio);
        self.min_improvement = check("with_min_improvement", "in [0, 1]", ratio, ok)?;
        Ok(self)
    }

    /// How close (relative to |validation|) flat training and validation must be to count as close.
    pub fn with_close_tolerance(mut self, tolerance: f64) -> Result<Self, FitConfigError> {
        let ok = tolerance.is_finite() && tolerance >= 0.0;
        self.close_tolerance = check("with_close_tolerance", "finite and >= 0", tolerance, ok)?;
        Ok(self)
    }

    /// How near chance accuracy counts as "at chance": within `margin · (1 − chance)`, in `[0, 1)`.
    pub fn with_chance_margin(mut self, margin: f64) -> Result<Self, FitConfigError> {
        let ok = (0.0..1.0).contains(&margin);
        self.chance_margin = check("with_chance_margin", "in [0, 1)", margin, ok)?;
        Ok(self)
    }

    /// The current verdict.
    pub fn verdict(&self) -> UnderfittingVerdict {
        self.state.verdict
    }

    /// The rule behind the latest diagnosis, if any.
    pub fn rule(&self) -> Option<UnderfittingRule> {
        self.state.rule
    }

    /// Where the training curve started: the worse of the first finite training value and the first
    /// point's value.
    pub fn initial_value(&self) -> Option<f64> {
        self.state.initial
    }

    /// The improvement (initial − current) / |initial| at the latest point with a full window.
    pub fn improvement(&self) -> Option<f64> {
        self.state.last_improvement
    }

    /// The training curve's slope relative to its level, per point, at the latest full window.
    pub fn relative_slope(&self) -> Option<f64> {
        self.state.last_relative_slope
    }

    /// How many points were taken.
    pub fn points(&self) -> u64 {
        self.state.points
    }

    /// How many episodes (underfitting or plateau) were reported.
    pub fn episodes(&self) -> u32 {
        self.state.episodes
    }
}

impl Callback for UnderfittingDetector {
    fn on_train_begin(&mut self, _ctx: &mut Context<'_>, ev: &TrainBegin) -> CallbackResult {
        // A resumed run that does not announce its length again keeps the one it had.
        if ev.max_steps.is_some() {
            self.state.curve.plan(ev.max_steps);
        }
        Ok(())
    }

    fn on_train_end(&mut self, ctx: &mut Context<'_>, _ev: &TrainEnd) -> CallbackResult {
        self.judge_end(ctx);
        Ok(())
    }

    fn step_filter(&self) -> StepFilter {
        // A point every `n` steps counts every step; otherwise only the watched values matter.
        if matches!(self.cadence, Cadence::Steps(_)) {
            return StepFilter::Every;
        }
        let watched = std::iter::once(&self.train).chain(self.accuracy.as_ref());
        StepFilter::Carrying(
            watched
                .map(|m| (m.split(), m.metric().to_owned()))
                .collect(),
        )
    }

    fn on_step_end(&mut self, ctx: &mut Context<'_>, ev: &StepEnd<'_>) -> CallbackResult {
        if let Some(v) = self
            .train
            .value_in(ctx, ev.metrics)
            .filter(|v| v.is_finite())
        {
            self.state.initial.get_or_insert(v);
            self.state.pending.add_train(v);
            self.state.step_values = true;
            self.feed_curve(ctx, ev.step, v);
        }
        if let Some(acc) = self.accuracy.as_mut() {
            if let Some(a) = acc.value_in(ctx, ev.metrics).filter(|v| v.is_finite()) {
                self.state.pending.add_accuracy(a);
            }
        }
        self.state.pending.steps += 1;
        if let Cadence::Steps(n) = self.cadence {
            if self.state.pending.steps >= n.get() {
                self.take_point(ctx);
            }
        }
        Ok(())
    }

    fn on_eval_end(&mut self, ctx: &mut Context<'_>, ev: &EvalEnd<'_>) -> CallbackResult {
        self.note_epoch_level(ctx, ev.metrics);
        if self.cadence == Cadence::Eval {
            self.take_point(ctx);
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, ctx: &mut Context<'_>, ev: &EpochEnd<'_>) -> CallbackResult {
        if !self.state.step_values {
            if let Some(v) = self
                .train
                .value_in(ctx, ev.metrics)
                .filter(|v| v.is_finite())
            {
                self.feed_curve(ctx, ev.step, v);
            }
        }
        self.note_epoch_level(ctx, ev.metrics);
        if self.cadence == Cadence::Epoch {
            self.take_point(ctx);
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
