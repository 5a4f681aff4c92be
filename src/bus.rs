//! [`Bus`]: the one object a training loop talks to.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::callback::{Callback, CallbackResult};
use crate::checkpoint::{Checkpoint, SavedCallback};
use crate::context::Context;
use crate::control::{Control, Decision, StopReason};
use crate::diagnosis::Diagnosis;
use crate::event::{
    EpochBegin, EpochEnd, EvalEnd, MetricKey, Split, StepEnd, TrainBegin, TrainEnd,
};
use crate::gate::{self, StepGate};
use crate::history::{History, Origin};
use crate::persist::PersistError;
use crate::summary::{Fault, RunSummary};

/// What the bus does when a callback returns an error or panics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FaultPolicy {
    /// Report it through tracing and keep calling the callback (the default).
    #[default]
    Warn,
    /// Report it and stop calling that callback for the rest of the run.
    Disable,
    /// Report it and return [`BusError::Callback`] to the loop (remaining callbacks of that event are
    /// skipped).
    Propagate,
}

/// An error the bus hands back to the loop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// A callback failed and the policy is [`FaultPolicy::Propagate`].
    #[error("callback {callback} failed in {event} at step {step}: {message}")]
    Callback {
        /// The callback's name.
        callback: String,
        /// The hook (`step_end`, `eval_end`, ...).
        event: &'static str,
        /// Global step of the event.
        step: u64,
        /// The error or panic message.
        message: String,
    },
    /// A checkpoint could not be written or read.
    #[error(transparent)]
    Persist(#[from] PersistError),
    /// A checkpoint does not match the bus it is restored into.
    #[error("checkpoint does not match this bus: {0}")]
    Mismatch(String),
}

struct Slot {
    name: String,
    callback: Box<dyn Callback>,
    enabled: bool,
    faults: u64,
    /// Which steps reach the callback (from [`Callback::step_filter`]).
    gate: StepGate,
}

/// Diagnoses emitted while delivering diagnoses are delivered too, up to this many rounds per event.
const MAX_DIAGNOSIS_ROUNDS: usize = 8;

/// Records every metric into a shared [`History`], dispatches each event to the callbacks in the order
/// they were added, isolates faulty callbacks, and hands the loop a [`Decision`].
///
/// ```
/// use curvewatch::{Bus, Split, StepEnd, EvalEnd, TrainBegin, TrainEnd};
/// let mut bus = Bus::new();
/// let loss = bus.metric(Split::Train, "loss");
/// let val = bus.metric(Split::Valid, "loss");
/// bus.train_begin(&TrainBegin::new()).unwrap();
/// for step in 1..=10u64 {
///     let d = bus.step_end(&StepEnd::new(step, &[(loss, 1.0 / step as f64)])).unwrap();
///     if let Some(lr) = d.new_lr() { /* optimizer.set_lr(lr) */ let _ = lr; }
///     if d.should_stop() { break; }
/// }
/// let _ = bus.eval_end(&EvalEnd::new(10, 0, &[(val, 0.3)])).unwrap();
/// bus.train_end(&TrainEnd::new(10, 0)).unwrap();
/// assert_eq!(bus.history().series(loss).unwrap().len(), 10);
/// ```
pub struct Bus {
    history: History,
    slots: Vec<Slot>,
    control: Control,
    pending: Vec<Diagnosis>,
    diagnoses: Vec<Diagnosis>,
    faults: Vec<Fault>,
    policy: FaultPolicy,
    clock: Option<Instant>,
    time_offset: Duration,
    step: u64,
    epoch: u32,
    lr_key: MetricKey,
    counts: Counts,
    dropped_points: u64,
    step_timing: bool,
    recording: bool,
    /// Number of registered series when the step gates last looked their metrics up.
    gates_resolved: usize,
    /// Whether some callback skips steps (otherwise no step mask is computed).
    any_gated: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Counts {
    pub steps: u64,
    pub evals: u64,
    pub epochs: u64,
}

impl Default for Bus {
    fn default() -> Self {
        Self::new()
    }
}

impl Bus {
    /// An empty bus with policy [`FaultPolicy::Warn`]. The learning rate is recorded as `train/lr`.
    pub fn new() -> Self {
        let mut history = History::new();
        let lr_key = history.key(Split::Train, "lr");
        Bus {
            history,
            slots: Vec::new(),
            control: Control::default(),
            pending: Vec::new(),
            diagnoses: Vec::new(),
            faults: Vec::new(),
            policy: FaultPolicy::Warn,
            clock: None,
            time_offset: Duration::ZERO,
            step: 0,
            epoch: 0,
            lr_key,
            counts: Counts::default(),
            dropped_points: 0,
            step_timing: false,
            recording: true,
            gates_resolved: usize::MAX,
            any_gated: false,
        }
    }

    /// Sets what happens when a callback fails or panics.
    pub fn with_fault_policy(mut self, policy: FaultPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Stamps every step with the wall-clock time (one clock read per step, 20-40 ns). Off by default:
    /// other events are always stamped, and a loop can pass its own reading with
    /// [`StepEnd::with_time`].
    pub fn with_step_timing(mut self, on: bool) -> Self {
        self.step_timing = on;
        self
    }

    /// Turns recording into the history on or off (on by default). Off suits a replay of a history
    /// that is already stored elsewhere, through callbacks that do not read the history (the standard
    /// preset's do not): it halves the memory of `curvewatch analyze`. Keys are still issued.
    pub fn with_recording(mut self, on: bool) -> Self {
        self.recording = on;
        self
    }

    /// Adds a callback after those already added, named by [`Callback::name`] or its type name.
    pub fn add<C: Callback + 'static>(&mut self, callback: C) -> &mut Self {
        let name = callback.name().unwrap_or_else(|| short_type_name::<C>());
        self.add_named(name, Box::new(callback))
    }

    /// Adds a callback with builder syntax.
    pub fn with<C: Callback + 'static>(mut self, callback: C) -> Self {
        self.add(callback);
        self
    }

    /// Adds a boxed callback under `name`.
    pub fn add_named(&mut self, name: impl Into<String>, callback: Box<dyn Callback>) -> &mut Self {
        let gate = StepGate::new(callback.step_filter());
        let gated = !gate.is_every();
        self.slots.push(Slot {
            name: name.into(),
            callback,
            enabled: true,
            faults: 0,
            gate,
        });
        self.any_gated |= gated;
        self.gates_resolved = usize::MAX;
        self
    }

    /// The first callback of type `T` on this bus, if it exposes itself through
    /// [`Callback::as_any`] (all of curvewatch's stateful callbacks do).
    pub fn callback<T: Callback + 'static>(&self) -> Option<&T> {
        self.slots
            .iter()
            .find_map(|s| s.callback.as_any().and_then(|a| a.downcast_ref::<T>()))
    }

    /// Every callback of type `T` on this bus (that exposes itself through [`Callback::as_any`]), in
    /// dispatch order.
    pub fn callbacks_of<T: Callback + 'static>(&self) -> impl Iterator<Item = &T> {
        self.slots
            .iter()
            .filter_map(|s| s.callback.as_any().and_then(|a| a.downcast_ref::<T>()))
    }

    /// Names of the callbacks, in dispatch order.
    pub fn callback_names(&self) -> impl Iterator<Item = &str> {
        self.slots.iter().map(|s| s.name.as_str())
    }

    /// Resolves a metric name to its key (once, before the loop); registers the series if new.
    pub fn metric(&mut self, split: Split, name: &str) -> MetricKey {
        self.history.key(split, name)
    }

    /// Reserves room for `points` more points in every registered series and maps the memory now, so
    /// that a long run's history neither grows (and copies) nor page-faults on the training thread.
    pub fn reserve_points(&mut self, points: usize) {
        let keys: Vec<MetricKey> = self.history.iter().map(|(k, _)| k).collect();
        for key in keys {
            self.history.reserve(key, points);
        }
    }

    /// The key of the learning-rate series (`train/lr`).
    pub fn lr_key(&self) -> MetricKey {
        self.lr_key
    }

    /// The run's history so far.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The stop asked by a callback, if any.
    pub fn stop_reason(&self) -> Option<&StopReason> {
        self.control.stop.as_ref()
    }

    /// Withdraws a stop request, so that training can go on (e.g. after the user extends a run).
    pub fn clear_stop(&mut self) {
        self.control.stop = None;
    }

    /// The learning rate in force (last reported by the loop or requested by a callback).
    pub fn lr(&self) -> Option<f64> {
        self.control.lr
    }

    /// Every diagnosis delivered so far, in order.
    pub fn diagnoses(&self) -> &[Diagnosis] {
        &self.diagnoses
    }

    /// Every callback failure so far.
    pub fn faults(&self) -> &[Fault] {
        &self.faults
    }

    /// Sent once before training (or after a resume).
    pub fn train_begin(&mut self, ev: &TrainBegin) -> Result<Decision, BusError> {
        let mut ev = *ev;
        self.clock.get_or_insert_with(Instant::now);
        ev.time = self.elapsed();
        self.at(ev.step, ev.epoch);
        self.dispatch("train_begin", |cb, ctx| cb.on_train_begin(ctx, &ev))
    }

    /// Sent at the start of each epoch.
    pub fn epoch_begin(&mut self, ev: &EpochBegin) -> Result<Decision, BusError> {
        let mut ev = *ev;
        ev.time = self.elapsed();
        self.at(ev.step, ev.epoch);
        self.dispatch("epoch_begin", |cb, ctx| cb.on_epoch_begin(ctx, &ev))
    }

    /// Sent after each training step: records its metrics (and `lr`), then dispatches.
    #[inline]
    pub fn step_end(&mut self, ev: &StepEnd<'_>) -> Result<Decision, BusError> {
        let mut ev = *ev;
        if self.step_timing && ev.time.is_none() {
            ev.time = Some(self.elapsed());
        }
        let epoch = ev.epoch_position();
        self.record_all(Origin::Step, ev.metrics, ev.step, epoch);
        if let Some(lr) = ev.lr {
            self.control.lr = Some(lr);
            if self.recording {
                self.history
                    .record_from(Origin::Step, self.lr_key, ev.step, epoch, lr);
            }
        }
        self.at(ev.step, ev.epoch);
        self.counts.steps += 1;
        // Gates cost a mask per step: only worth it when some callback skips steps.
        let mask = self.any_gated.then(|| {
            if self.gates_resolved != self.history.len() {
                self.resolve_gates();
            }
            gate::step_mask(ev.metrics)
        });
        // `dispatch` spelled out: folding the mask into it measured 12 more instructions per step.
        self.control.begin_event();
        self.run_hooks("step_end", mask, &mut |cb, ctx| cb.on_step_end(ctx, &ev))?;
        self.finish_event()
    }

    /// Records metric values into the history without an event, so that no callback sees them:
    /// values that belong in the curves but that nothing should judge, such as the per-batch losses
    /// of a validation pass whose result goes through [`Bus::eval_end`]. `epoch` is a position
    /// (epoch + fraction). The series get [`Origin::Record`] (a replay records them, dispatching
    /// nothing). Does nothing when recording is off.
    pub fn record(&mut self, step: u64, epoch: f64, metrics: &[(MetricKey, f64)]) {
        self.record_all(Origin::Record, metrics, step, epoch);
    }

    /// Sent after an evaluation: records its metrics, then dispatches.
    pub fn eval_end(&mut self, ev: &EvalEnd<'_>) -> Result<Decision, BusError> {
        let mut ev = *ev;
        ev.time = self.elapsed();
        self.record_all(Origin::Eval, ev.metrics, ev.step, ev.epoch_position());
        self.at(ev.step, ev.epoch);
        self.counts.evals += 1;
        self.dispatch("eval_end", |cb, ctx| cb.on_eval_end(ctx, &ev))
    }

    /// Sent at the end of each epoch: records its metrics (if any), then dispatches.
    pub fn epoch_end(&mut self, ev: &EpochEnd<'_>) -> Result<Decision, BusError> {
        let mut ev = *ev;
        ev.time = self.elapsed();
        self.record_all(Origin::Epoch, ev.metrics, ev.step, ev.epoch as f64);
        self.at(ev.step, ev.epoch);
        self.counts.epochs += 1;
        self.dispatch("epoch_end", |cb, ctx| cb.on_epoch_end(ctx, &ev))
    }

    /// Sent once when training ends; `stopped` is filled in from the stop request.
    pub fn train_end(&mut self, ev: &TrainEnd) -> Result<Decision, BusError> {
        let mut ev = *ev;
        ev.time = self.elapsed();
        ev.stopped = self.control.stop.is_some();
        self.at(ev.step, ev.epoch);
        self.dispatch("train_end", |cb, ctx| cb.on_train_end(ctx, &ev))
    }

    /// A summary of the run so far: counts, the stop reason, diagnoses and faults.
    pub fn summary(&self) -> RunSummary {
        RunSummary {
            steps: self.counts.steps,
            evals: self.counts.evals,
            epochs: self.counts.epochs,
            last_step: self.step,
            last_epoch: self.epoch,
            elapsed_secs: self.elapsed_now().as_secs_f64(),
            stop: self.control.stop.clone(),
            diagnoses: self.diagnoses.clone(),
            faults: self.faults.clone(),
            disabled: self
                .slots
                .iter()
                .filter(|s| !s.enabled)
                .map(|s| s.name.clone())
                .collect(),
            dropped_points: self.dropped_points,
        }
    }

    /// Everything needed to resume: the history, every callback's state, the stop, the diagnoses.
    pub fn checkpoint(&self) -> Result<Checkpoint, BusError> {
        let mut callbacks = Vec::with_capacity(self.slots.len());
        for slot in &self.slots {
            let state = slot
                .callback
                .save_state()
                .map_err(|e| self.checkpoint_error(slot, e.message()))?;
            callbacks.push(SavedCallback {
                name: slot.name.clone(),
                state,
            });
        }
        Ok(Checkpoint::new(
            self.history.clone(),
            self.control.clone(),
            self.diagnoses.clone(),
            callbacks,
            (self.step, self.epoch),
            self.counts,
            self.elapsed_now(),
        ))
    }

    /// Writes [`Bus::checkpoint`] to `path` atomically.
    pub fn save_checkpoint(&self, path: impl AsRef<std::path::Path>) -> Result<(), BusError> {
        Ok(self.checkpoint()?.save(path)?)
    }

    /// Restores a checkpoint into this bus, whose callbacks must be the same, in the same order.
    ///
    /// The history is replaced by the saved one: resolve metric keys (with [`Bus::metric`]) after
    /// restoring, not before.
    pub fn restore(&mut self, checkpoint: Checkpoint) -> Result<(), BusError> {
        let parts = checkpoint.into_parts();
        if parts.callbacks.len() != self.slots.len() {
            return Err(BusError::Mismatch(format!(
                "it holds {} callbacks, the bus has {}",
                parts.callbacks.len(),
                self.slots.len()
            )));
        }
        for (i, (slot, saved)) in self.slots.iter().zip(&parts.callbacks).enumerate() {
            if slot.name != saved.name {
                return Err(BusError::Mismatch(format!(
                    "callback {i} is {} in the checkpoint but {} on the bus",
                    saved.name, slot.name
                )));
            }
        }
        for (slot, saved) in self.slots.iter_mut().zip(parts.callbacks) {
            if let Some(state) = saved.state {
                slot.callback.load_state(state).map_err(|e| {
                    BusError::Mismatch(format!("callback {}: {}", slot.name, e.message()))
                })?;
            }
        }
        self.history = parts.history;
        self.lr_key = self.history.key(Split::Train, "lr");
        self.control = parts.control;
        self.diagnoses = parts.diagnoses;
        (self.step, self.epoch) = parts.position;
        self.counts = parts.counts;
        self.time_offset = parts.elapsed;
        self.clock = None;
        Ok(())
    }

    fn checkpoint_error(&self, slot: &Slot, message: &str) -> BusError {
        BusError::Callback {
            callback: slot.name.clone(),
            event: "save_state",
            step: self.step,
            message: message.to_owned(),
        }
    }

    #[inline]
    fn at(&mut self, step: u64, epoch: u32) {
        self.step = step;
        self.epoch = epoch;
    }

    #[inline]
    fn elapsed(&mut self) -> Duration {
        let start = *self.clock.get_or_insert_with(Instant::now);
        self.time_offset + start.elapsed()
    }

    fn elapsed_now(&self) -> Duration {
        self.time_offset + self.clock.map_or(Duration::ZERO, |c| c.elapsed())
    }

    #[inline]
    fn record_all(&mut self, origin: Origin, metrics: &[(MetricKey, f64)], step: u64, epoch: f64) {
        if !self.recording {
            return;
        }
        for &(key, value) in metrics {
            if !self.history.record_from(origin, key, step, epoch, value) {
                self.drop_point(key);
            }
        }
    }

    #[cold]
    fn drop_point(&mut self, key: MetricKey) {
        if self.dropped_points == 0 {
            tracing::warn!(
                target: "curvewatch::bus",
                key = key.index(),
                "a metric key that this bus did not issue was reported; its points are dropped"
            );
        }
        self.dropped_points += 1;
    }

    /// Clears one-shot requests, runs the hooks, delivers the diagnoses they emitted, and decides.
    #[inline]
    fn dispatch(
        &mut self,
        event: &'static str,
        mut hook: impl FnMut(&mut dyn Callback, &mut Context<'_>) -> CallbackResult,
    ) -> Result<Decision, BusError> {
        self.control.begin_event();
        self.run_hooks(event, None, &mut hook)?;
        self.finish_event()
    }

    /// Delivers the diagnoses the hooks emitted and returns the event's decision.
    #[inline]
    fn finish_event(&mut self) -> Result<Decision, BusError> {
        if !self.pending.is_empty() {
            self.deliver_diagnoses()?;
        }
        Ok(self.control.decision())
    }

    /// Looks up the metrics of every step gate again (the registry grew since the last time).
    #[cold]
    fn resolve_gates(&mut self) {
        for slot in &mut self.slots {
            slot.gate.resolve(&self.history);
        }
        self.gates_resolved = self.history.len();
    }

    /// Calls `hook` on every enabled callback (on a step, those whose gate admits `step_mask`), in
    /// order. One `catch_unwind` guards the whole pass: after a failure or a panic the fault is
    /// recorded and the pass resumes with the next callback, so each callback is still isolated.
    #[inline]
    fn run_hooks(
        &mut self,
        event: &'static str,
        step_mask: Option<u64>,
        hook: &mut impl FnMut(&mut dyn Callback, &mut Context<'_>) -> CallbackResult,
    ) -> Result<(), BusError> {
        let mut next = 0;
        while next < self.slots.len() {
            let mut at = next;
            let (history, control, pending) =
                (&mut self.history, &mut self.control, &mut self.pending);
            let (diagnoses, step, epoch) = (&self.diagnoses, self.step, self.epoch);
            let slots = &mut self.slots[next..];
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let mut ctx = Context {
                    history,
                    control,
                    pending,
                    diagnoses,
                    callback: "",
                    step,
                    epoch,
                };
                for slot in slots.iter_mut() {
                    if slot.enabled && step_mask.is_none_or(|m| slot.gate.admits(m)) {
                        ctx.callback = &slot.name;
                        hook(&mut *slot.callback, &mut ctx)?;
                    }
                    at += 1;
                }
                CallbackResult::Ok(())
            }));
            let failure = match outcome {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(e)) => (e.message().to_owned(), false),
                Err(payload) => (panic_message(payload.as_ref()), true),
            };
            self.fault(at, event, failure)?;
            next = at + 1;
        }
        Ok(())
    }

    /// Records and reports a failure of the callback in slot `at`; applies the fault policy.
    #[cold]
    fn fault(
        &mut self,
        at: usize,
        event: &'static str,
        (message, panicked): (String, bool),
    ) -> Result<(), BusError> {
        let slot = &mut self.slots[at];
        let fault = Fault {
            callback: slot.name.clone(),
            event,
            step: self.step,
            epoch: self.epoch,
            message,
            panicked,
        };
        slot.faults += 1;
        report_fault(&fault, slot.faults, self.policy);
        let error = match self.policy {
            FaultPolicy::Warn => None,
            FaultPolicy::Disable => {
                slot.enabled = false;
                None
            }
            FaultPolicy::Propagate => Some(BusError::Callback {
                callback: fault.callback.clone(),
                event,
                step: fault.step,
                message: fault.message.clone(),
            }),
        };
        self.faults.push(fault);
        error.map_or(Ok(()), Err)
    }

    #[cold]
    fn deliver_diagnoses(&mut self) -> Result<(), BusError> {
        for _ in 0..MAX_DIAGNOSIS_ROUNDS {
            if self.pending.is_empty() {
                return Ok(());
            }
            for diagnosis in std::mem::take(&mut self.pending) {
                let Some(diagnosis) = self.apply_revision(diagnosis) else {
                    continue;
                };
                diagnosis.trace();
                self.run_hooks("diagnosis", None, &mut |cb, ctx| {
                    cb.on_diagnosis(ctx, &diagnosis)
                })?;
                self.diagnoses.push(diagnosis);
            }
        }
        // A diagnosis storm (callbacks answering diagnoses with diagnoses): keep them, stop the echo.
        for diagnosis in std::mem::take(&mut self.pending) {
            if let Some(diagnosis) = self.apply_revision(diagnosis) {
                diagnosis.trace();
                self.diagnoses.push(diagnosis);
            }
        }
        Ok(())
    }

    /// Applies a revision ([`Context::revise`]) to the latest diagnosis of the same source, kind and
    /// metric, keeping where it was first reported; `None` when applied. A revision with nothing to
    /// revise, and an ordinary diagnosis, come back to be delivered as new.
    fn apply_revision(&mut self, mut diagnosis: Diagnosis) -> Option<Diagnosis> {
        if !diagnosis.revision {
            return Some(diagnosis);
        }
        diagnosis.revision = false;
        let target = self.diagnoses.iter_mut().rev().find(|d| {
            d.source == diagnosis.source && d.kind == diagnosis.kind && d.metric == diagnosis.metric
        });
        let Some(target) = target else {
            return Some(diagnosis);
        };
        let closes = diagnosis.episode.is_some_and(|e| e.closed)
            && !target.episode.is_some_and(|e| e.closed);
        diagnosis.step = target.step;
        diagnosis.epoch = target.epoch;
        *target = diagnosis;
        target.trace_revision(closes);
        None
    }
}

/// Logs a callback failure; after the first three of a callback, only every power of ten.
fn report_fault(fault: &Fault, count: u64, policy: FaultPolicy) {
    if !should_log_fault(count) {
        return;
    }
    tracing::error!(
        target: "curvewatch::bus",
        callback = fault.callback.as_str(),
        event = fault.event,
        step = fault.step,
        panicked = fault.panicked,
        count,
        policy = ?policy,
        "callback failed: {}",
        fault.message
    );
}

/// The 1st, 2nd, 3rd, 10th, 100th, 1000th... failure of a callback is logged.
fn should_log_fault(count: u64) -> bool {
    let mut c = count;
    while c >= 10 && c % 10 == 0 {
        c /= 10;
    }
    count <= 3 || c == 1
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = payload.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".to_owned()
    }
}

fn short_type_name<T: ?Sized>() -> String {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base).to_owned()
}

#[allow(dead_code)]
fn assert_send() {
    fn is_send<T: Send>() {}
    is_send::<Bus>();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_drop_paths_and_generics() {
        assert_eq!(short_type_name::<Vec<u8>>(), "Vec");
        assert_eq!(short_type_name::<Bus>(), "Bus");
    }

    #[test]
    fn fault_log_thins_out() {
        let logged: Vec<u64> = (1..=2000).filter(|&c| should_log_fault(c)).collect();
        assert_eq!(logged, vec![1, 2, 3, 10, 100, 1000]);
    }
}
