//! The run as the bus sees it: Burn's updates turned into curvewatch events, in curvewatch's order.
//!
//! Burn numbers epochs from 1; curvewatch from 0, so Burn's epoch `e` is curvewatch epoch `e - 1`.
//! Steps are counted from 1 across epochs (one per training batch). For each epoch the bus gets
//! `EpochBegin`, one `StepEnd` per batch, `EvalEnd` with the validation split's epoch values (when
//! the validation split had batches), then `EpochEnd` with the training split's epoch values; an
//! epoch interrupted before its validation gets no `EvalEnd`/`EpochEnd`, as in a hand-written loop
//! that breaks out of it.

use burn::train::Interrupter;
use curvewatch::{
    Bus, BusError, Decision, EpochBegin, EpochEnd, EvalEnd, MetricKey, StepEnd, TrainBegin,
    TrainEnd, MAX_EPOCH_FRACTION,
};

use crate::handle::LrChannel;

/// The bus and the position of the run; lives behind the handle's mutex.
pub(crate) struct Session {
    pub(crate) bus: Bus,
    pub(crate) interrupters: Vec<Interrupter>,
    pub(crate) max_epochs: Option<u32>,
    pub(crate) error: Option<BusError>,
    /// Global step of the last training batch (0 before the first).
    step: u64,
    /// The epoch in progress (0-based), once one began.
    epoch: Option<u32>,
    begun: bool,
    ended: bool,
    /// Validation batches seen in the current epoch.
    valid_batches: u64,
    /// The training split's epoch values, held until the epoch ends.
    train_epoch: Vec<(MetricKey, f64)>,
    /// Whether a new-rate request found no scheduler wrapper (reported once).
    lr_unapplied_reported: bool,
}

/// One training batch as the logger read it from Burn.
pub(crate) struct TrainBatch<'a> {
    /// Burn's 1-based epoch.
    pub burn_epoch: usize,
    pub metrics: &'a [(MetricKey, f64)],
    pub lr: Option<f64>,
    pub fraction: Option<f32>,
}

impl Session {
    pub(crate) fn new(bus: Bus) -> Self {
        Session {
            bus,
            interrupters: Vec::new(),
            max_epochs: None,
            error: None,
            step: 0,
            epoch: None,
            begun: false,
            ended: false,
            valid_batches: 0,
            train_epoch: Vec::new(),
            lr_unapplied_reported: false,
        }
    }

    /// Sends `TrainBegin` (once) and `EpochBegin` when `burn_epoch` is a new epoch.
    fn enter_epoch(&mut self, burn_epoch: usize, lr: &LrChannel) {
        let epoch = to_epoch(burn_epoch);
        if !self.begun {
            self.begun = true;
            let mut ev = TrainBegin::new().at(self.step, epoch);
            if let Some(n) = self.max_epochs {
                ev = ev.with_max_epochs(n);
            }
            let d = self.bus.train_begin(&ev);
            self.apply(d, lr);
        }
        if self.epoch != Some(epoch) {
            self.epoch = Some(epoch);
            self.valid_batches = 0;
            self.train_epoch.clear();
            let d = self.bus.epoch_begin(&EpochBegin::new(epoch, self.step));
            self.apply(d, lr);
        }
    }

    /// One training batch: `StepEnd`.
    pub(crate) fn train_batch(&mut self, batch: &TrainBatch<'_>, lr: &LrChannel) {
        self.enter_epoch(batch.burn_epoch, lr);
        self.step += 1;
        let mut ev = StepEnd::new(self.step, batch.metrics).with_epoch(to_epoch(batch.burn_epoch));
        if let Some(f) = batch.fraction {
            ev = ev.with_epoch_fraction(f);
        }
        if let Some(rate) = batch.lr {
            ev = ev.with_lr(rate);
        }
        let d = self.bus.step_end(&ev);
        self.apply(d, lr);
    }

    /// The training split's epoch values: kept for `EpochEnd`.
    pub(crate) fn train_epoch_values(&mut self, burn_epoch: usize, metrics: &[(MetricKey, f64)]) {
        if self.epoch == Some(to_epoch(burn_epoch)) {
            self.train_epoch.clear();
            self.train_epoch.extend_from_slice(metrics);
        }
    }

    /// One validation batch: its values go into the history as `valid/batch_<name>`, recorded
    /// without an event (no callback judges a single batch; the epoch value comes with the split's
    /// end as `EvalEnd`), at the last training step, at the end of the epoch.
    pub(crate) fn valid_batch(&mut self, burn_epoch: usize, metrics: &[(MetricKey, f64)]) {
        self.valid_batches += 1;
        if !self.ended && !metrics.is_empty() {
            let position = f64::from(to_epoch(burn_epoch)) + f64::from(MAX_EPOCH_FRACTION);
            self.bus.record(self.step, position, metrics);
        }
    }

    /// The validation split's epoch values: `EvalEnd`, if the split had batches.
    pub(crate) fn valid_epoch_values(
        &mut self,
        burn_epoch: usize,
        metrics: &[(MetricKey, f64)],
        lr: &LrChannel,
    ) {
        if self.valid_batches == 0 || self.ended {
            return;
        }
        self.enter_epoch(burn_epoch, lr);
        let d = self
            .bus
            .eval_end(&EvalEnd::new(self.step, to_epoch(burn_epoch), metrics));
        self.apply(d, lr);
    }

    /// The validation split ended, so the epoch did: `EpochEnd` with the training values.
    pub(crate) fn epoch_done(&mut self, burn_epoch: usize, lr: &LrChannel) {
        let epoch = to_epoch(burn_epoch);
        if self.epoch != Some(epoch) || self.ended {
            return;
        }
        let metrics = std::mem::take(&mut self.train_epoch);
        let d = self
            .bus
            .epoch_end(&EpochEnd::new(epoch, self.step, &metrics));
        self.train_epoch = metrics;
        self.train_epoch.clear();
        self.apply(d, lr);
    }

    /// `TrainEnd`, once, if training began.
    pub(crate) fn finish(&mut self) {
        if !self.begun || self.ended {
            return;
        }
        self.ended = true;
        let epoch = self.epoch.unwrap_or(0);
        if let Err(e) = self.bus.train_end(&TrainEnd::new(self.step, epoch)) {
            self.report(e);
        }
    }

    /// Hands a decision to Burn: a stop to every interrupter, a new rate to the scheduler wrapper.
    fn apply(&mut self, d: Result<Decision, BusError>, lr: &LrChannel) {
        let d = match d {
            Ok(d) => d,
            Err(e) => {
                self.report(e);
                return;
            }
        };
        if d.should_stop() {
            self.interrupt();
        }
        if let Some(rate) = d.new_lr() {
            lr.request(rate);
            let wrapped = lr.wrapped.load(std::sync::atomic::Ordering::Relaxed);
            if !wrapped && !self.lr_unapplied_reported {
                self.lr_unapplied_reported = true;
                tracing::warn!(
                    target: "curvewatch_burn",
                    lr = rate,
                    "a callback asked for a new learning rate, but the learner's scheduler is not wrapped \
                     with CurvewatchHandle::lr_scheduler, so Burn keeps its own rate"
                );
            }
        }
    }

    /// Stops every attached interrupter that is not stopped yet, with the bus's stop reason.
    pub(crate) fn interrupt(&self) {
        let reason = match self.bus.stop_reason() {
            Some(r) => r.to_string(),
            None => match &self.error {
                Some(e) => format!("curvewatch: {e}"),
                None => return,
            },
        };
        for i in self.interrupters.iter().filter(|i| !i.should_stop()) {
            i.stop(Some(&reason));
        }
    }

    /// Keeps the first bus error and stops training with it (Burn's logger cannot return it).
    fn report(&mut self, e: BusError) {
        tracing::error!(target: "curvewatch_burn", error = %e, "the curvewatch bus returned an error");
        if self.error.is_none() {
            self.error = Some(e);
        }
        self.interrupt();
    }
}

/// Burn's 1-based epoch as curvewatch's 0-based one (0 stays 0).
pub(crate) fn to_epoch(burn_epoch: usize) -> u32 {
    u32::try_from(burn_epoch.saturating_sub(1)).unwrap_or(u32::MAX)
}
