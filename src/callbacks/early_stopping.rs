//! [`EarlyStopping`]: stop when a monitored metric stops improving, with Keras's and Lightning's rules,
//! a reason for every decision, and the step whose weights to restore.
//!
//! One check runs whenever the monitored metric appears in an event (`eval_end`, `epoch_end`, or
//! `step_end` for a per-step training metric). A check applies, in this order (Lightning's order, with
//! Keras's baseline folded into the improvement test):
//!
//! 1. `check_finite` on and the judged value NaN or ±inf: stop, rule `non_finite`.
//! 2. A stopping threshold strictly beaten: stop, rule `stopping_threshold`.
//! 3. A divergence threshold strictly crossed (worse): stop, rule `divergence_threshold`.
//! 4. An improvement, `current` beating the best by more than the monitor's margin (Keras's
//!    `current - min_delta` test, strict, IEEE comparisons, so NaN never improves): the best moves; the
//!    wait goes back to 0 only if `current` also improves on the baseline (when one is set), else it
//!    grows by one, without a stop at this check (Keras).
//! 5. Otherwise the wait grows by one; at `wait >= patience` it stops (rule `patience_exhausted`, or
//!    `baseline_not_reached` when the best never beat the baseline), except during epoch 0 when the
//!    Keras guard is on (Keras stops only when `epoch > 0`).
//!
//! Values of epochs before `start_from_epoch` (or steps before `start_from_step`) are ignored.
//! Patience counts checks, so 0 is meaningful: stop at the first check without improvement.
//!
//! [`EarlyStopping::keras`] and [`EarlyStopping::lightning`] set each framework's defaults, so that
//! configured alike, curvewatch stops at the same evaluation as each.

mod judge;
mod record;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::collections::VecDeque;
use std::num::{NonZeroU32, NonZeroUsize};

use serde::{Deserialize, Serialize};

use crate::analysis::smoothing::Ema;
use crate::callback::{
    state_from_value, state_to_value, Callback, CallbackError, CallbackResult, StepFilter,
};
use crate::callbacks::monitor::{Direction, Monitor};
use crate::context::Context;
use crate::event::{EpochEnd, EvalEnd, StepEnd};

pub use record::{BestPoint, CheckOutcome, StopCheck, StopInfo, StopRule};

/// How many checks the decision log keeps by default (the most recent ones).
pub const DEFAULT_LOG_LIMIT: usize = 100_000;

/// Stops training when a monitored metric stops improving; a superset of Keras's and Lightning's
/// `EarlyStopping` (see the [module docs](self) for the exact rule order).
///
/// After each check, [`is_new_best`](EarlyStopping::is_new_best) tells the loop to save the weights;
/// at a stop, [`stopped`](EarlyStopping::stopped) names the rule and the [`BestPoint`] to restore, and a
/// [`DiagnosisKind::EarlyStop`](crate::DiagnosisKind::EarlyStop) diagnosis carries the evidence.
/// [`decisions`](EarlyStopping::decisions) explains every check.
///
/// ```
/// use curvewatch::callbacks::early_stopping::{EarlyStopping, StopRule};
/// use curvewatch::callbacks::Monitor;
/// use curvewatch::{Bus, EvalEnd, Split};
///
/// let mut bus = Bus::new();
/// bus.add(EarlyStopping::new(Monitor::new(Split::Valid, "loss")).with_patience(2));
/// let val = bus.metric(Split::Valid, "loss");
/// let mut stopped_at = None;
/// for (epoch, v) in [0.9, 0.7, 0.75, 0.72, 0.6].into_iter().enumerate() {
///     let d = bus.eval_end(&EvalEnd::new(epoch as u64 * 100, epoch as u32, &[(val, v)])).unwrap();
///     if d.should_stop() { stopped_at = Some(epoch); break; }
/// }
/// assert_eq!(stopped_at, Some(3), "0.75 and 0.72 do not beat 0.7: patience 2 runs out");
/// let es = bus.callback::<EarlyStopping>().unwrap();
/// let stop = es.stopped().unwrap();
/// assert_eq!(stop.rule, StopRule::PatienceExhausted);
/// assert_eq!(stop.restore.unwrap().step, 100, "restore the weights of the 0.7 evaluation");
/// ```
#[derive(Debug)]
pub struct EarlyStopping {
    monitor: Monitor,
    patience: u32,
    baseline: Option<f64>,
    start_from_epoch: u32,
    start_from_step: u64,
    check_finite: bool,
    stopping_threshold: Option<f64>,
    divergence_threshold: Option<f64>,
    epoch_zero_guard: bool,
    smoothing: Option<f64>,
    check_every: NonZeroU32,
    log_limit: Option<NonZeroUsize>,
    state: State,
}

/// Everything a resumed run needs to decide as an uninterrupted one would.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct State {
    /// Values of the monitored metric received so far (the next value's index).
    seen: u64,
    /// Values past the warm-up so far (drives `check_every`).
    counted: u64,
    #[serde(with = "crate::persist::float")]
    best: f64,
    best_at: Option<BestPoint>,
    wait: u32,
    new_best: bool,
    stop: Option<StopInfo>,
    ema: Option<Ema>,
    log: VecDeque<StopCheck>,
    dropped: u64,
}

impl State {
    fn new(direction: Direction, smoothing: Option<f64>) -> Self {
        State {
            seen: 0,
            counted: 0,
            best: direction.worst(),
            best_at: None,
            wait: 0,
            new_best: false,
            stop: None,
            ema: smoothing.map(Ema::new),
            log: VecDeque::new(),
            dropped: 0,
        }
    }
}

impl EarlyStopping {
    /// Early stopping on `monitor` with curvewatch's defaults, which are Lightning's: patience 3,
    /// `check_finite` on, no thresholds, no baseline, no warm-up, no epoch-0 guard.
    pub fn new(monitor: Monitor) -> Self {
        let state = State::new(monitor.direction(), None);
        EarlyStopping {
            monitor,
            patience: 3,
            baseline: None,
            start_from_epoch: 0,
            start_from_step: 0,
            check_finite: true,
            stopping_threshold: None,
            divergence_threshold: None,
            epoch_zero_guard: false,
            smoothing: None,
            check_every: NonZeroU32::MIN,
            log_limit: NonZeroUsize::new(DEFAULT_LOG_LIMIT),
            state,
        }
    }

    /// Keras 3's defaults: patience 0, no `check_finite` (a NaN is just no improvement), no thresholds,
    /// and the epoch-0 guard (Keras stops only when `epoch > 0`). `min_delta` and the direction come from
    /// `monitor` (Keras's default `min_delta` is 0; its `auto` mode is [`Direction::infer`]'s subset).
    ///
    /// Differences that remain: Keras resets its wait at every `fit()` (curvewatch keeps it across a
    /// resume), and with `restore_best_weights` Keras restores the first monitored epoch when no value
    /// ever improved (curvewatch reports no [`BestPoint`] then).
    pub fn keras(monitor: Monitor) -> Self {
        EarlyStopping::new(monitor)
            .with_patience(0)
            .with_check_finite(false)
            .with_epoch_zero_guard(true)
    }

    /// Lightning's defaults: patience 3, `check_finite` on, no thresholds, no epoch-0 guard. Set the
    /// direction explicitly for parity: Lightning's default mode is `min`, while [`Monitor::new`] infers
    /// it from the name.
    pub fn lightning(monitor: Monitor) -> Self {
        EarlyStopping::new(monitor)
            .with_patience(3)
            .with_check_finite(true)
            .with_epoch_zero_guard(false)
    }

    /// Checks without improvement before stopping (0: stop at the first check that does not improve).
    pub fn with_patience(mut self, patience: u32) -> Self {
        self.patience = patience;
        self
    }

    /// Sets the monitor's absolute `min_delta` (sign ignored; see [`Monitor::with_min_delta`]).
    pub fn with_min_delta(mut self, delta: f64) -> Self {
        self.monitor = self.monitor.with_min_delta(delta);
        self
    }

    /// Sets the monitor's relative delta, e.g. `0.001` for 0.1% of the best value.
    pub fn with_relative_delta(mut self, delta: f64) -> Self {
        self.monitor = self.monitor.with_relative_delta(delta);
        self
    }

    /// Sets which way the metric improves (Keras's and Lightning's `mode`).
    pub fn with_direction(mut self, direction: Direction) -> Self {
        self.monitor = self.monitor.with_direction(direction);
        self.state = State::new(direction, self.smoothing);
        self
    }

    /// Keras's `baseline`: the wait resets only on a value that improves on both the best and the
    /// baseline (by the same margin). A NaN baseline is never beaten.
    pub fn with_baseline(mut self, baseline: f64) -> Self {
        self.baseline = Some(baseline);
        self
    }

    /// Keras's `start_from_epoch`: values of epochs before `epoch` are ignored (a warm-up).
    pub fn with_start_from_epoch(mut self, epoch: u32) -> Self {
        self.start_from_epoch = epoch;
        self
    }

    /// Values of steps before `step` are ignored (a warm-up for per-step metrics).
    pub fn with_start_from_step(mut self, step: u64) -> Self {
        self.start_from_step = step;
        self
    }

    /// Lightning's `check_finite`: stop at a NaN or infinite value. With smoothing or
    /// [`with_check_every`](EarlyStopping::with_check_every), a non-finite reported value is checked at
    /// once, even between checks.
    pub fn with_check_finite(mut self, on: bool) -> Self {
        self.check_finite = on;
        self
    }

    /// Lightning's `stopping_threshold`: stop once the value strictly beats `threshold` (the target is
    /// reached). A NaN threshold never fires.
    pub fn with_stopping_threshold(mut self, threshold: f64) -> Self {
        self.stopping_threshold = Some(threshold);
        self
    }

    /// Lightning's `divergence_threshold`: stop once the value is strictly worse than `threshold`.
    pub fn with_divergence_threshold(mut self, threshold: f64) -> Self {
        self.divergence_threshold = Some(threshold);
        self
    }

    /// Keras's `epoch > 0` test: with the guard on, patience never stops training during epoch 0 (the
    /// epoch of the event). Leave it off for per-step metrics of runs that never leave epoch 0.
    pub fn with_epoch_zero_guard(mut self, on: bool) -> Self {
        self.epoch_zero_guard = on;
        self
    }

    /// Judges a debiased exponential moving average of the values (TensorBoard's smoothing,
    /// [`Ema`]) with this weight instead of the raw values: for a noisy per-step training loss.
    /// Non-finite values pass through unsmoothed and are left out of the average.
    pub fn with_smoothing(mut self, weight: f64) -> Self {
        self.smoothing = Some(weight);
        self.state.ema = Some(Ema::new(weight));
        self
    }

    /// Checks every `n`-th value (past the warm-up) instead of every value; patience then counts
    /// these checks. The values in between still feed the smoothing.
    pub fn with_check_every(mut self, n: NonZeroU32) -> Self {
        self.check_every = n;
        self
    }

    /// Keeps only the most recent `limit` checks in the decision log (default [`DEFAULT_LOG_LIMIT`]).
    pub fn with_log_limit(mut self, limit: NonZeroUsize) -> Self {
        self.log_limit = Some(limit);
        self
    }

    /// Keeps every check in the decision log (it grows by one entry, ~80 bytes, per check).
    pub fn with_complete_log(mut self) -> Self {
        self.log_limit = None;
        self
    }

    /// The watched metric, its direction and deltas.
    pub fn monitor(&self) -> &Monitor {
        &self.monitor
    }

    /// The patience, in checks.
    pub fn patience(&self) -> u32 {
        self.patience
    }

    /// Checks without improvement counted so far.
    pub fn wait(&self) -> u32 {
        self.state.wait
    }

    /// The best check so far: the weights to restore. `None` until a check improves.
    pub fn best(&self) -> Option<BestPoint> {
        self.state.best_at
    }

    /// Whether the latest value of the monitored metric set a new best: save the weights now.
    /// Goes back to `false` at the next value of the metric.
    pub fn is_new_best(&self) -> bool {
        self.state.new_best
    }

    /// The first stop asked (rule, position, message, weights to restore), if any.
    pub fn stopped(&self) -> Option<&StopInfo> {
        self.state.stop.as_ref()
    }

    /// Values of the monitored metric received so far (warm-up and skipped values included).
    pub fn values_seen(&self) -> u64 {
        self.state.seen
    }

    /// The decision log: one entry per check, oldest first (the most recent
    /// [`with_log_limit`](EarlyStopping::with_log_limit) checks).
    pub fn decisions(&self) -> impl DoubleEndedIterator<Item = &StopCheck> + ExactSizeIterator {
        self.state.log.iter()
    }

    /// How many old checks the log limit dropped.
    pub fn decisions_dropped(&self) -> u64 {
        self.state.dropped
    }

    fn on_metrics(&mut self, ctx: &mut Context<'_>, metrics: &[(crate::MetricKey, f64)]) {
        if let Some(value) = self.monitor.value_in(ctx, metrics) {
            let (step, epoch) = (ctx.step(), ctx.epoch());
            self.observe(ctx, value, step, epoch);
        }
    }
}

impl Callback for EarlyStopping {
    fn step_filter(&self) -> StepFilter {
        self.monitor.step_filter()
    }

    fn on_step_end(&mut self, ctx: &mut Context<'_>, ev: &StepEnd<'_>) -> CallbackResult {
        self.on_metrics(ctx, ev.metrics);
        Ok(())
    }

    fn on_eval_end(&mut self, ctx: &mut Context<'_>, ev: &EvalEnd<'_>) -> CallbackResult {
        self.on_metrics(ctx, ev.metrics);
        Ok(())
    }

    fn on_epoch_end(&mut self, ctx: &mut Context<'_>, ev: &EpochEnd<'_>) -> CallbackResult {
        self.on_metrics(ctx, ev.metrics);
        Ok(())
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
