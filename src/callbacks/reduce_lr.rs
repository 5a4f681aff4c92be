//! [`ReduceLrOnPlateau`]: cut the learning rate when a monitored metric stops improving (Keras 3's
//! `ReduceLROnPlateau`), through the bus's set-LR request.
//!
//! At each value of the monitored metric (in `eval_end`, `epoch_end` or `step_end`), in Keras's order:
//!
//! 1. In cooldown (counter > 0): the counter drops by one and the wait goes back to 0.
//! 2. An improvement (`current < best - margin` when minimising, `current > best + margin` when
//!    maximising; IEEE comparisons, so NaN never improves): the best moves, the wait goes back to 0.
//! 3. Otherwise, if the (already decremented) cooldown counter is 0: the wait grows by one; at
//!    `wait >= patience`, if the learning rate is above `min_lr`, it becomes
//!    `max(lr * factor, min_lr)`, the cooldown counter is set to `cooldown` and the wait to 0. At
//!    `min_lr` nothing happens and the wait keeps growing (nor is a non-finite rate ever cut).
//!
//! Because the counter is decremented before it is tested, `cooldown = c` skips `c - 1` checks after a
//! cut, exactly as in Keras (`cooldown = 1` behaves like `cooldown = 0`).

#[cfg(test)]
mod tests;

use std::any::Any;

use serde::{Deserialize, Serialize};

use crate::callback::{
    state_from_value, state_to_value, Callback, CallbackError, CallbackResult, StepFilter,
};
use crate::callbacks::monitor::{Direction, Monitor};
use crate::context::Context;
use crate::diagnosis::{Diagnosis, DiagnosisKind, Severity};
use crate::event::{EpochEnd, EvalEnd, MetricKey, StepEnd};

/// A configuration value [`ReduceLrOnPlateau`] cannot work with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ReduceLrError {
    /// The factor is not strictly between 0 and 1.
    #[error("the reduction factor must be strictly between 0 and 1, got {0}")]
    Factor(f64),
    /// The minimum learning rate is negative, NaN or infinite.
    #[error("min_lr must be finite and at least 0, got {0}")]
    MinLr(f64),
    /// The starting learning rate is not a finite positive number.
    #[error("the initial learning rate must be finite and positive, got {0}")]
    InitialLr(f64),
}

/// One learning-rate cut.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LrReduction {
    /// Zero-based index of the value among the monitored metric's values received.
    pub index: u64,
    /// Global step of the event.
    pub step: u64,
    /// Epoch of the event (0-based).
    pub epoch: u32,
    /// The learning rate before the cut.
    #[serde(with = "crate::persist::float")]
    pub old_lr: f64,
    /// The learning rate asked for.
    #[serde(with = "crate::persist::float")]
    pub new_lr: f64,
    /// The best value of the metric at the time.
    #[serde(with = "crate::persist::float")]
    pub best: f64,
}

/// Reduces the learning rate by `factor` when the monitored metric has not improved for `patience`
/// checks (Keras 3's `ReduceLROnPlateau`; see the [module docs](self) for the exact order).
///
/// The current rate is the one in force on the bus ([`Context::lr`]: reported by the loop with
/// [`StepEnd::with_lr`](crate::StepEnd::with_lr)), or the last one this callback asked for when the
/// loop has reported nothing since, or the rate given to
/// [`with_initial_lr`](ReduceLrOnPlateau::with_initial_lr). With none of them, the first cut fails once
/// with a [`CallbackError`] (reported by the bus) and no cut is made.
///
/// Unlike Keras, state is kept across `on_train_begin`, which also marks a resume.
///
/// ```
/// use curvewatch::callbacks::reduce_lr::ReduceLrOnPlateau;
/// use curvewatch::callbacks::Monitor;
/// use curvewatch::{Bus, EvalEnd, Split, StepEnd};
///
/// let rlr = ReduceLrOnPlateau::new(Monitor::new(Split::Valid, "loss"), 0.5)?.with_patience(1);
/// let mut bus = Bus::new().with(rlr);
/// let (loss, val) = (bus.metric(Split::Train, "loss"), bus.metric(Split::Valid, "loss"));
/// let mut lr = 0.1;
/// for (epoch, v) in [0.9, 0.8, 0.85].into_iter().enumerate() {
///     bus.step_end(&StepEnd::new(epoch as u64, &[(loss, 1.0)]).with_lr(lr)).unwrap();
///     let d = bus.eval_end(&EvalEnd::new(epoch as u64, epoch as u32, &[(val, v)])).unwrap();
///     if let Some(new) = d.new_lr() { lr = new; }
/// }
/// assert_eq!(lr, 0.05, "0.85 does not improve on 0.8: patience 1 is used up");
/// # Ok::<(), curvewatch::callbacks::reduce_lr::ReduceLrError>(())
/// ```
#[derive(Debug)]
pub struct ReduceLrOnPlateau {
    monitor: Monitor,
    factor: f64,
    patience: u32,
    cooldown: u32,
    min_lr: f64,
    initial_lr: Option<f64>,
    state: State,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct State {
    seen: u64,
    #[serde(with = "crate::persist::float")]
    best: f64,
    wait: u32,
    cooldown_counter: u32,
    /// The last cut asked for, and the rate the bus reported when it was asked.
    requested: Option<Request>,
    reductions: Vec<LrReduction>,
    reported_missing_lr: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
struct Request {
    #[serde(with = "crate::persist::opt_float")]
    reported_before: Option<f64>,
    #[serde(with = "crate::persist::float")]
    lr: f64,
}

impl ReduceLrOnPlateau {
    /// Cuts the rate by `factor` (in `(0, 1)`), with Keras's other defaults: patience 10, cooldown 0,
    /// `min_lr` 0. The margin comes from `monitor` (Keras's default `min_delta` is `1e-4`; see
    /// [`ReduceLrOnPlateau::keras`]).
    pub fn new(monitor: Monitor, factor: f64) -> Result<Self, ReduceLrError> {
        if !(factor > 0.0 && factor < 1.0) {
            return Err(ReduceLrError::Factor(factor));
        }
        Ok(Self::build(monitor, factor))
    }

    /// Keras 3's defaults: factor 0.1, patience 10, `min_delta` 1e-4 (set on `monitor`; change it with
    /// [`with_min_delta`](ReduceLrOnPlateau::with_min_delta)), cooldown 0, `min_lr` 0.
    pub fn keras(monitor: Monitor) -> Self {
        Self::build(monitor.with_min_delta(1e-4), 0.1)
    }

    fn build(monitor: Monitor, factor: f64) -> Self {
        let state = State {
            seen: 0,
            best: monitor.direction().worst(),
            wait: 0,
            cooldown_counter: 0,
            requested: None,
            reductions: Vec::new(),
            reported_missing_lr: false,
        };
        ReduceLrOnPlateau {
            monitor,
            factor,
            patience: 10,
            cooldown: 0,
            min_lr: 0.0,
            initial_lr: None,
            state,
        }
    }

    /// Checks without improvement before a cut (0: cut at every check that does not improve).
    pub fn with_patience(mut self, patience: u32) -> Self {
        self.patience = patience;
        self
    }

    /// Checks to skip after a cut, counted the Keras way (see the [module docs](self)).
    pub fn with_cooldown(mut self, cooldown: u32) -> Self {
        self.cooldown = cooldown;
        self
    }

    /// The floor of the learning rate; must be finite and at least 0.
    pub fn with_min_lr(mut self, min_lr: f64) -> Result<Self, ReduceLrError> {
        if !(min_lr.is_finite() && min_lr >= 0.0) {
            return Err(ReduceLrError::MinLr(min_lr));
        }
        self.min_lr = min_lr;
        Ok(self)
    }

    /// The learning rate assumed in force until the loop reports one; must be finite and positive.
    pub fn with_initial_lr(mut self, lr: f64) -> Result<Self, ReduceLrError> {
        if !(lr.is_finite() && lr > 0.0) {
            return Err(ReduceLrError::InitialLr(lr));
        }
        self.initial_lr = Some(lr);
        Ok(self)
    }

    /// Sets the monitor's absolute `min_delta` (sign ignored).
    pub fn with_min_delta(mut self, delta: f64) -> Self {
        self.monitor = self.monitor.with_min_delta(delta);
        self
    }

    /// Sets which way the metric improves (Keras's `mode`).
    pub fn with_direction(mut self, direction: Direction) -> Self {
        self.monitor = self.monitor.with_direction(direction);
        self.state.best = direction.worst();
        self
    }

    /// The watched metric.
    pub fn monitor(&self) -> &Monitor {
        &self.monitor
    }

    /// The reduction factor.
    pub fn factor(&self) -> f64 {
        self.factor
    }

    /// The patience, in checks.
    pub fn patience(&self) -> u32 {
        self.patience
    }

    /// The best value so far, `None` before the first improvement.
    pub fn best(&self) -> Option<f64> {
        (self.state.best != self.monitor.direction().worst()).then_some(self.state.best)
    }

    /// Checks without improvement counted so far.
    pub fn wait(&self) -> u32 {
        self.state.wait
    }

    /// The cooldown counter (0 when not cooling down).
    pub fn cooldown_remaining(&self) -> u32 {
        self.state.cooldown_counter
    }

    /// Every cut asked for so far, oldest first.
    pub fn reductions(&self) -> &[LrReduction] {
        &self.state.reductions
    }

    fn on_metrics(
        &mut self,
        ctx: &mut Context<'_>,
        metrics: &[(MetricKey, f64)],
    ) -> CallbackResult {
        let Some(current) = self.monitor.value_in(ctx, metrics) else {
            return Ok(());
        };
        let index = self.state.seen;
        self.state.seen += 1;
        let s = &mut self.state;
        if s.cooldown_counter > 0 {
            s.cooldown_counter -= 1;
            s.wait = 0;
        }
        if self.improves(current) {
            self.state.best = current;
            self.state.wait = 0;
            return Ok(());
        }
        let s = &mut self.state;
        if s.cooldown_counter > 0 {
            return Ok(());
        }
        s.wait = s.wait.saturating_add(1);
        if s.wait < self.patience {
            return Ok(());
        }
        self.reduce(ctx, index, current)
    }

    /// Keras's test: `current < best - margin` (min) or `current > best + margin` (max).
    fn improves(&self, current: f64) -> bool {
        let best = self.state.best;
        let margin = self.monitor.margin(best);
        match self.monitor.direction() {
            Direction::Minimize => current < best - margin,
            Direction::Maximize => current > best + margin,
        }
    }

    /// The rate in force: reported by the loop since our last request, else our last request, else
    /// the initial rate.
    fn current_lr(&self, ctx: &Context<'_>) -> Option<f64> {
        match (ctx.lr(), self.state.requested) {
            (Some(reported), Some(req)) if req.reported_before == Some(reported) => Some(req.lr),
            (Some(reported), _) => Some(reported),
            (None, Some(req)) => Some(req.lr),
            (None, None) => self.initial_lr,
        }
    }

    /// The cut itself, once the patience is used up.
    fn reduce(&mut self, ctx: &mut Context<'_>, index: u64, current: f64) -> CallbackResult {
        let Some(old_lr) = self.current_lr(ctx) else {
            return self.missing_lr();
        };
        // Keras compares with `float32(min_lr)`, since its rate is a float32 variable; a loop may keep
        // either precision, so the rate must exceed both.
        // A non-finite rate, or one so small that the product rounds back to it, is not cut.
        let new_lr = (old_lr * self.factor).max(self.min_lr);
        if !(old_lr.is_finite() && old_lr > self.min_lr.max(self.min_lr as f32 as f64))
            || new_lr >= old_lr
        {
            return Ok(());
        }
        let reported_before = ctx.lr();
        ctx.set_lr(new_lr);
        let s = &mut self.state;
        let cut = LrReduction {
            index,
            step: ctx.step(),
            epoch: ctx.epoch(),
            old_lr,
            new_lr,
            best: s.best,
        };
        s.requested = Some(Request {
            reported_before,
            lr: new_lr,
        });
        s.reductions.push(cut);
        s.cooldown_counter = self.cooldown;
        let wait = std::mem::take(&mut s.wait);
        ctx.emit(self.diagnosis(&cut, current, wait));
        Ok(())
    }

    #[cold]
    fn missing_lr(&mut self) -> CallbackResult {
        if std::mem::replace(&mut self.state.reported_missing_lr, true) {
            return Ok(());
        }
        Err(CallbackError::new(format!(
            "{} plateaued but no learning rate is known: report it with StepEnd::with_lr or set \
             ReduceLrOnPlateau::with_initial_lr; no cut was made",
            self.monitor.label()
        )))
    }

    fn diagnosis(&self, cut: &LrReduction, current: f64, wait: u32) -> Diagnosis {
        let label = self.monitor.label();
        Diagnosis::new(
            DiagnosisKind::LrChange,
            Severity::Info,
            format!(
                "{label} did not improve on {:.6} for {wait} checks: learning rate {:e} -> {:e}",
                cut.best, cut.old_lr, cut.new_lr
            ),
        )
        .with_metric(label)
        .with_value(current)
        .with_threshold(cut.best)
        .with_evidence("old_lr", cut.old_lr)
        .with_evidence("new_lr", cut.new_lr)
        .with_evidence("best", cut.best)
        .with_evidence("wait", f64::from(wait))
        .with_evidence("patience", f64::from(self.patience))
        .with_evidence("cooldown", f64::from(self.cooldown))
        .with_recommendation(if cut.new_lr <= self.min_lr {
            "the rate reached min_lr: if the metric still does not improve, stop training"
        } else {
            "apply the new rate from Decision::new_lr; no other action needed"
        })
    }
}

impl Callback for ReduceLrOnPlateau {
    fn step_filter(&self) -> StepFilter {
        self.monitor.step_filter()
    }

    fn on_step_end(&mut self, ctx: &mut Context<'_>, ev: &StepEnd<'_>) -> CallbackResult {
        self.on_metrics(ctx, ev.metrics)
    }

    fn on_eval_end(&mut self, ctx: &mut Context<'_>, ev: &EvalEnd<'_>) -> CallbackResult {
        self.on_metrics(ctx, ev.metrics)
    }

    fn on_epoch_end(&mut self, ctx: &mut Context<'_>, ev: &EpochEnd<'_>) -> CallbackResult {
        self.on_metrics(ctx, ev.metrics)
    }

    fn save_state(&self) -> Result<Option<serde_json::Value>, CallbackError> {
        state_to_value(&self.state)
    }

    fn load_state(&mut self, state: serde_json::Value) -> CallbackResult {
        self.state = state_from_value(state)?;
        Ok(())
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}
