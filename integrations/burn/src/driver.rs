//! [`BurnLoop`]: curvewatch for a hand-written Burn training loop.

use burn::tensor::{Tensor, TensorReadError};
use curvewatch::{
    Bus, BusError, Decision, EpochBegin, EpochEnd, EvalEnd, MetricKey, Split, StepEnd, TrainBegin,
    TrainEnd,
};

/// What went wrong in a [`BurnLoop`] call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DriverError {
    /// The loss tensor could not be read back from the device.
    #[error("could not read the loss tensor: {0}")]
    Read(#[from] TensorReadError),
    /// The bus returned an error (a callback failed under `FaultPolicy::Propagate`).
    #[error(transparent)]
    Bus(#[from] BusError),
    /// A step or an epoch end came after [`BurnLoop::finish`].
    #[error("the run already finished; {0} after finish is not recorded")]
    Finished(&'static str),
}

/// What the loop should do after a [`BurnLoop`] call: the union of the decisions of the events it
/// sent. The new rate is already in force in the driver ([`BurnLoop::lr`]); it is reported here for
/// loops that keep their own.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LoopDecision {
    stop: bool,
    new_lr: Option<f64>,
}

impl LoopDecision {
    /// Whether a callback asked to stop (sticky, as [`Decision::should_stop`]).
    pub fn should_stop(&self) -> bool {
        self.stop
    }

    /// The learning rate a callback asked for during this call, if any.
    pub fn new_lr(&self) -> Option<f64> {
        self.new_lr
    }

    fn merge(mut self, d: Decision) -> Self {
        self.stop |= d.should_stop();
        self.new_lr = d.new_lr().or(self.new_lr);
        self
    }
}

/// The mean of a loss tensor as an `f64` (one device read; the examples use it for validation
/// values).
pub fn scalar<const D: usize>(tensor: &Tensor<D>) -> Result<f64, DriverError> {
    Ok(tensor.clone().mean().try_into_scalar::<f64>()?)
}

/// Curvewatch for a Burn loop you write yourself: feed it the loss of each batch and the validation
/// values of each epoch; it sends the bus events in order (`TrainBegin`, `EpochBegin`, `StepEnd`,
/// `EvalEnd`, `EpochEnd`, `TrainEnd`), keeps the step and epoch counts, and owns the learning rate,
/// so that a rate asked by a callback reaches the optimizer through [`lr`](Self::lr).
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use curvewatch::Bus;
/// use curvewatch_burn::BurnLoop;
///
/// let device = Device::flex();
/// let mut run = BurnLoop::new(Bus::new(), 1e-2).with_max_epochs(2);
/// 'train: for epoch in 0..2 {
///     for batch in 0..4 {
///         let loss = Tensor::<1>::from_data([1.0 / (1 + epoch * 4 + batch) as f32], &device);
///         // model = optimizer.step(run.lr(), model, loss.backward()) in a real loop
///         if run.step_loss(&loss).unwrap().should_stop() {
///             break 'train;
///         }
///     }
///     if run.end_epoch(&[("loss", 0.3)]).unwrap().should_stop() {
///         break;
///     }
/// }
/// let bus = run.into_bus().unwrap();
/// assert_eq!(bus.history().get(curvewatch::Split::Train, "loss").unwrap().len(), 8);
/// ```
pub struct BurnLoop {
    bus: Bus,
    loss: MetricKey,
    epoch_loss: MetricKey,
    lr: f64,
    max_epochs: Option<u32>,
    steps_per_epoch: Option<u64>,
    step: u64,
    epoch: u32,
    batches: u64,
    loss_sum: f64,
    begun: bool,
    epoch_open: bool,
    ended: bool,
    names: Vec<(Split, String, MetricKey)>,
    values: Vec<(MetricKey, f64)>,
}

impl BurnLoop {
    /// A driver for `bus` (callbacks installed), starting with learning rate `lr`.
    pub fn new(mut bus: Bus, lr: f64) -> Self {
        let loss = bus.metric(Split::Train, "loss");
        let epoch_loss = bus.metric(Split::Train, "epoch_loss");
        BurnLoop {
            bus,
            loss,
            epoch_loss,
            lr,
            max_epochs: None,
            steps_per_epoch: None,
            step: 0,
            epoch: 0,
            batches: 0,
            loss_sum: 0.0,
            begun: false,
            epoch_open: false,
            ended: false,
            names: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Records the planned number of epochs (sent in `TrainBegin`).
    pub fn with_max_epochs(mut self, epochs: u32) -> Self {
        self.max_epochs = Some(epochs);
        self
    }

    /// Records the number of batches per epoch, so that each step carries its epoch fraction.
    pub fn with_steps_per_epoch(mut self, steps: u64) -> Self {
        self.steps_per_epoch = (steps > 0).then_some(steps);
        self
    }

    /// The learning rate to pass to the optimizer for the next step.
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// Sets the learning rate (your own schedule); it is recorded with the next step.
    pub fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }

    /// The global step of the last batch (counted from 1).
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The epoch in progress, or the next one after [`end_epoch`](Self::end_epoch) (0-based).
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The bus (history, diagnoses, stop reason).
    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// The bus, to add callbacks or resolve keys.
    pub fn bus_mut(&mut self) -> &mut Bus {
        &mut self.bus
    }

    /// One batch with loss tensor `loss` (its mean is read from the device, one sync per call).
    pub fn step_loss<const D: usize>(
        &mut self,
        loss: &Tensor<D>,
    ) -> Result<LoopDecision, DriverError> {
        let value = scalar(loss)?;
        self.step_value(value, &[])
    }

    /// One batch with loss `loss` and other training metrics `extra` (`("grad_norm", 1.3)`), at the
    /// current learning rate. Applies a new rate asked by a callback before returning.
    pub fn step_value(
        &mut self,
        loss: f64,
        extra: &[(&str, f64)],
    ) -> Result<LoopDecision, DriverError> {
        if self.ended {
            return Err(DriverError::Finished("a step"));
        }
        let mut decision = self.open_epoch()?;
        self.step += 1;
        self.batches += 1;
        self.loss_sum += loss;
        self.fill_values(Split::Train, extra);
        self.values.insert(0, (self.loss, loss));
        let mut ev = StepEnd::new(self.step, &self.values)
            .with_epoch(self.epoch)
            .with_lr(self.lr);
        if let Some(n) = self.steps_per_epoch {
            ev = ev.with_epoch_fraction(self.batches as f32 / n as f32);
        }
        let d = self.bus.step_end(&ev)?;
        decision = self.take(decision, d);
        Ok(decision)
    }

    /// The end of an epoch, with its validation values (`("loss", 0.41)`, `("accuracy", 0.8)`;
    /// empty if there was no validation): `EvalEnd` (when `valid` is not empty), then `EpochEnd` with
    /// the epoch's mean training loss as `train/epoch_loss`. The next step starts the next epoch.
    pub fn end_epoch(&mut self, valid: &[(&str, f64)]) -> Result<LoopDecision, DriverError> {
        if self.ended {
            return Err(DriverError::Finished("an epoch end"));
        }
        let mut decision = self.open_epoch()?;
        if !valid.is_empty() {
            self.fill_values(Split::Valid, valid);
            let d = self
                .bus
                .eval_end(&EvalEnd::new(self.step, self.epoch, &self.values))?;
            decision = self.take(decision, d);
        }
        let epoch_metrics = if self.batches > 0 {
            vec![(self.epoch_loss, self.loss_sum / self.batches as f64)]
        } else {
            Vec::new()
        };
        let d = self
            .bus
            .epoch_end(&EpochEnd::new(self.epoch, self.step, &epoch_metrics))?;
        decision = self.take(decision, d);
        self.epoch_open = false;
        self.epoch = self.epoch.saturating_add(1);
        Ok(decision)
    }

    /// Sends `TrainEnd` (once; later calls do nothing). Call it after the loop, stopped or not.
    pub fn finish(&mut self) -> Result<(), DriverError> {
        if self.ended || !self.begun {
            self.ended = true;
            return Ok(());
        }
        self.ended = true;
        let last_epoch = if self.epoch_open {
            self.epoch
        } else {
            self.epoch.saturating_sub(1)
        };
        self.bus.train_end(&TrainEnd::new(self.step, last_epoch))?;
        Ok(())
    }

    /// Finishes the run and hands the bus back.
    pub fn into_bus(mut self) -> Result<Bus, DriverError> {
        self.finish()?;
        Ok(self.bus)
    }

    /// Sends `TrainBegin` (first call) and `EpochBegin` when an epoch is not open.
    fn open_epoch(&mut self) -> Result<LoopDecision, DriverError> {
        let mut decision = LoopDecision::default();
        if !self.begun {
            self.begun = true;
            let mut ev = TrainBegin::new();
            if let Some(n) = self.max_epochs {
                ev = ev.with_max_epochs(n);
            }
            let d = self.bus.train_begin(&ev)?;
            decision = self.take(decision, d);
        }
        if !self.epoch_open {
            self.epoch_open = true;
            self.batches = 0;
            self.loss_sum = 0.0;
            let d = self
                .bus
                .epoch_begin(&EpochBegin::new(self.epoch, self.step))?;
            decision = self.take(decision, d);
        }
        Ok(decision)
    }

    /// Merges `d` into `decision` and applies its new rate.
    fn take(&mut self, decision: LoopDecision, d: Decision) -> LoopDecision {
        if let Some(lr) = d.new_lr() {
            self.lr = lr;
        }
        decision.merge(d)
    }

    /// Resolves `named` to keys of `split` (cached) into `self.values`.
    fn fill_values(&mut self, split: Split, named: &[(&str, f64)]) {
        self.values.clear();
        for &(name, value) in named {
            let key = match self.names.iter().find(|(s, n, _)| *s == split && n == name) {
                Some(&(_, _, key)) => key,
                None => {
                    let key = self.bus.metric(split, name);
                    self.names.push((split, name.to_owned(), key));
                    key
                }
            };
            self.values.push((key, value));
        }
    }
}

impl std::fmt::Debug for BurnLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BurnLoop")
            .field("step", &self.step)
            .field("epoch", &self.epoch)
            .field("lr", &self.lr)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use curvewatch::{Callback, CallbackResult, Context};

    use super::*;

    /// Halves the rate at the first evaluation, stops at the second.
    struct Script;

    impl Callback for Script {
        fn on_eval_end(&mut self, ctx: &mut Context<'_>, ev: &EvalEnd<'_>) -> CallbackResult {
            match ev.epoch {
                0 => ctx.set_lr(ctx.lr().unwrap_or(0.0) / 2.0),
                _ => ctx.stop("script", "second evaluation"),
            }
            Ok(())
        }
    }

    #[test]
    fn a_run_records_steps_epochs_and_applies_requests() {
        let mut run = BurnLoop::new(Bus::new().with(Script), 0.1).with_steps_per_epoch(2);
        for l in [4.0, 2.0] {
            assert!(!run
                .step_value(l, &[("grad_norm", 1.0)])
                .unwrap()
                .should_stop());
        }
        let d = run.end_epoch(&[("loss", 3.0)]).unwrap();
        assert_eq!(
            d.new_lr(),
            Some(0.05),
            "the evaluation's request survives the epoch end"
        );
        assert_eq!(run.lr(), 0.05, "and is in force for the next step");
        run.step_value(1.0, &[]).unwrap();
        let d = run.end_epoch(&[("loss", 2.5)]).unwrap();
        assert!(d.should_stop());
        assert!(
            matches!(
                run.step_value(1.0, &[]),
                Ok(d) if d.should_stop()
            ),
            "stop is sticky"
        );
        let bus = run.into_bus().unwrap();
        let h = bus.history();
        assert_eq!(h.get(Split::Train, "loss").unwrap().steps(), &[1, 2, 3, 4]);
        assert_eq!(
            h.get(Split::Train, "lr").unwrap().values(),
            &[0.1, 0.1, 0.05, 0.05]
        );
        let epoch_loss = h.get(Split::Train, "epoch_loss").unwrap();
        assert_eq!(
            epoch_loss.values(),
            &[3.0, 1.0],
            "mean of (4, 2), then of (1)"
        );
        assert_eq!(h.get(Split::Valid, "loss").unwrap().steps(), &[2, 3]);
        assert_eq!(h.get(Split::Train, "grad_norm").unwrap().len(), 2);
        let s = bus.summary();
        assert_eq!((s.steps, s.evals, s.epochs), (4, 2, 2));
    }

    #[test]
    fn calls_after_finish_are_errors() {
        let mut run = BurnLoop::new(Bus::new(), 0.1);
        run.step_value(1.0, &[]).unwrap();
        run.finish().unwrap();
        assert!(matches!(
            run.step_value(1.0, &[]),
            Err(DriverError::Finished(_))
        ));
        assert!(matches!(run.end_epoch(&[]), Err(DriverError::Finished(_))));
        assert_eq!(run.bus().summary().steps, 1);
    }
}
