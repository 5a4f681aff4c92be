//! [`Fit`]: a training loop over a [`Task`] that reports to the bus and stops on its decision.

use std::num::NonZeroU64;

use curvewatch::{Decision, StopReason, TrainBegin};
use tch::Tensor;

use crate::error::TchError;
use crate::run::TchRun;
use crate::scalar::scalar;

/// What [`Fit`] trains: a forward pass per training batch and a validation loss.
pub trait Task {
    /// The loss of training batch `batch` (0-based) of `epoch`, with its graph (the loop
    /// back-propagates it); `None` when the epoch has no more batches.
    ///
    /// # Errors
    /// Whatever the task cannot compute; the loop stops and returns the error.
    fn train_loss(&mut self, epoch: u32, batch: usize) -> Result<Option<Tensor>, TchError>;

    /// The validation loss now (the loop calls it inside `tch::no_grad`); `None` to skip.
    ///
    /// # Errors
    /// As [`Task::train_loss`].
    fn valid_loss(&mut self, epoch: u32) -> Result<Option<Tensor>, TchError>;
}

// A learning-rate schedule: the rate for a (1-based) global step.
type Schedule = Box<dyn FnMut(u64) -> f64>;

/// How the run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct FitOutcome {
    /// Optimizer steps taken.
    pub steps: u64,
    /// Epochs completed.
    pub epochs: u32,
    /// Why a callback stopped the run; `None` when it ran its planned length.
    pub stop: Option<StopReason>,
    /// The last training loss (NaN before the first step).
    pub last_loss: f64,
    /// The last validation loss, if there was an evaluation.
    pub last_valid_loss: Option<f64>,
}

/// A training loop: epochs of [`Task::train_loss`] batches, each back-propagated and fed to the bus
/// through a [`TchRun`], with validation at the end of each epoch (and every `eval_every` steps if
/// set), until `max_epochs`, `max_steps`, or the bus says stop.
///
/// With a schedule, the loop sets the rate before every step; a learning-rate request from a callback
/// rescales the rest of the schedule (new rate / scheduled rate) instead of being overwritten.
pub struct Fit {
    max_epochs: u32,
    max_steps: Option<u64>,
    eval_every: Option<NonZeroU64>,
    schedule: Option<Schedule>,
    scale: f64,
    last_scheduled: Option<f64>,
    last_loss: f64,
    last_valid: Option<f64>,
}

impl Fit {
    /// At most `max_epochs` epochs, validation once per epoch, no schedule.
    pub fn new(max_epochs: u32) -> Self {
        Fit {
            max_epochs,
            max_steps: None,
            eval_every: None,
            schedule: None,
            scale: 1.0,
            last_scheduled: None,
            last_loss: f64::NAN,
            last_valid: None,
        }
    }

    /// Stops after `steps` optimizer steps in all (not a curvewatch stop).
    pub fn with_max_steps(mut self, steps: u64) -> Self {
        self.max_steps = Some(steps);
        self
    }

    /// Also validates every `steps` steps (for step-level runs with long or single epochs).
    pub fn with_eval_every(mut self, steps: NonZeroU64) -> Self {
        self.eval_every = Some(steps);
        self
    }

    /// Sets the optimizer's learning rate to `schedule(step)` before each step.
    pub fn with_schedule(mut self, schedule: impl FnMut(u64) -> f64 + 'static) -> Self {
        self.schedule = Some(Box::new(schedule));
        self
    }

    /// Runs the loop on `run` (begin, epochs, finish) and returns how it ended.
    ///
    /// # Errors
    /// The first error of the task, a tensor, the optimizer or the bus; the run is left as it was.
    pub fn run<T: Task>(mut self, run: &mut TchRun, task: &mut T) -> Result<FitOutcome, TchError> {
        let mut begin = TrainBegin::new()
            .at(run.step(), run.epoch())
            .with_max_epochs(self.max_epochs);
        if let Some(n) = self.max_steps {
            begin = begin.with_max_steps(n);
        }
        let first_epoch = run.epoch();
        let mut stop = run.begin(&begin)?.should_stop();
        while !stop && run.epoch() < self.max_epochs && !self.out_of_steps(run) {
            stop = self.epoch(run, task)?;
        }
        Ok(FitOutcome {
            stop: run.finish()?,
            steps: run.step(),
            epochs: run.epoch() - first_epoch.min(run.epoch()),
            last_loss: self.last_loss,
            last_valid_loss: self.last_valid,
        })
    }

    /// One epoch; true when the bus said stop.
    fn epoch<T: Task>(&mut self, run: &mut TchRun, task: &mut T) -> Result<bool, TchError> {
        let epoch = run.epoch();
        if run.begin_epoch()?.should_stop() {
            return Ok(true);
        }
        let mut batch = 0;
        while !self.out_of_steps(run) {
            self.schedule_lr(run)?;
            let Some(loss) = task.train_loss(epoch, batch)? else {
                break;
            };
            batch += 1;
            let d = run.train_step(&loss)?;
            self.last_loss = run.last_loss();
            if self.observe(d) {
                return Ok(true);
            }
            let due = self.eval_every.is_some_and(|n| run.step() % n.get() == 0);
            if due && self.validate(run, task, epoch)? {
                return Ok(true);
            }
        }
        if run.last_eval_step() != Some(run.step()) && self.validate(run, task, epoch)? {
            return Ok(true);
        }
        let d = run.end_epoch(&[])?;
        Ok(self.observe(d))
    }

    /// Validates; true when the bus said stop.
    fn validate<T: Task>(
        &mut self,
        run: &mut TchRun,
        task: &mut T,
        epoch: u32,
    ) -> Result<bool, TchError> {
        let Some(loss) = tch::no_grad(|| task.valid_loss(epoch))? else {
            return Ok(false);
        };
        let value = scalar(&loss, "validation loss")?;
        self.last_valid = Some(value);
        let d = run.record_eval(value, &[])?;
        Ok(self.observe(d))
    }

    fn schedule_lr(&mut self, run: &mut TchRun) -> Result<(), TchError> {
        if let Some(schedule) = self.schedule.as_mut() {
            let lr = schedule(run.step() + 1);
            self.last_scheduled = Some(lr);
            run.optimizer_mut().set_lr(lr * self.scale)?;
        }
        Ok(())
    }

    /// Folds a learning-rate request into the schedule's scale; true when the decision says stop.
    fn observe(&mut self, d: Decision) -> bool {
        if let (Some(new), Some(scheduled)) = (d.new_lr(), self.last_scheduled) {
            if scheduled > 0.0 && new.is_finite() {
                self.scale = new / scheduled;
            }
        }
        d.should_stop()
    }

    fn out_of_steps(&self, run: &TchRun) -> bool {
        self.max_steps.is_some_and(|n| run.step() >= n)
    }
}
