//! [`TchRun`]: a bus, a tracked optimizer and the run's position, fed from tch tensors.

use curvewatch::callbacks::Preset;
use curvewatch::{
    Bus, Decision, EpochBegin, EpochEnd, EvalEnd, MetricKey, Split, StepEnd, StopReason,
    TrainBegin, TrainEnd,
};
use tch::Tensor;

use crate::error::TchError;
use crate::optimizer::TrackedOptimizer;
use crate::scalar::scalar;

/// Most metrics one event carries without allocating (loss, grad norm and extras).
const INLINE_METRICS: usize = 8;

/// Feeds one training run into a [`Bus`]: the loss (from a tensor or an `f64`), the gradient norm,
/// extra metrics and the optimizer's learning rate; applies every learning-rate request of the bus to
/// the optimizer; counts steps and epochs.
///
/// Series: `train/loss` per step, `train/lr` per step, `train/grad_norm` per step when measured,
/// `train/epoch_loss` (mean of the epoch's finite losses) per epoch, `valid/loss` per evaluation.
///
/// A non-finite loss is recorded as it is (the standard preset then stops with rule `non_finite`),
/// and [`TchRun::train_step`] does not back-propagate it, so the parameters stay finite.
///
/// ```
/// use curvewatch::callbacks::Preset;
/// use curvewatch::TrainBegin;
/// use curvewatch_tch::{TchRun, TrackedOptimizer};
/// use tch::nn::{self, Module, OptimizerConfig};
///
/// let vs = nn::VarStore::new(tch::Device::Cpu);
/// let net = nn::linear(vs.root(), 4, 1, Default::default());
/// let opt = TrackedOptimizer::build(nn::Sgd::default(), &vs, 0.05)?;
/// let mut run = TchRun::with_preset(Preset::standard(), opt);
/// let (x, y) = (tch::Tensor::randn([64, 4], tch::kind::FLOAT_CPU), tch::Tensor::zeros([64, 1], tch::kind::FLOAT_CPU));
/// run.begin(&TrainBegin::new().with_max_epochs(10))?;
/// 'train: for _ in 0..10 {
///     run.begin_epoch()?;
///     for _ in 0..8 {
///         let loss = net.forward(&x).mse_loss(&y, tch::Reduction::Mean);
///         if run.train_step(&loss)?.should_stop() { break 'train; }
///     }
///     let val = tch::no_grad(|| net.forward(&x).mse_loss(&y, tch::Reduction::Mean));
///     if run.eval(&val)?.should_stop() || run.end_epoch(&[])?.should_stop() { break; }
/// }
/// if let Some(reason) = run.finish()? { println!("{reason}"); }
/// # Ok::<(), curvewatch_tch::TchError>(())
/// ```
pub struct TchRun {
    bus: Bus,
    opt: TrackedOptimizer,
    keys: Keys,
    step: u64,
    epoch: u32,
    in_epoch: bool,
    epoch_sum: f64,
    epoch_count: u32,
    last_eval_step: Option<u64>,
    last_loss: f64,
    clip_norm: Option<f64>,
    measure_grad_norm: bool,
    record_epoch_loss: bool,
    metrics: Vec<(MetricKey, f64)>,
}

#[derive(Clone, Copy)]
struct Keys {
    loss: MetricKey,
    grad_norm: MetricKey,
    epoch_loss: MetricKey,
    val_loss: MetricKey,
}

impl TchRun {
    /// A run on `bus` (with whatever callbacks it holds) driving `opt`.
    pub fn new(mut bus: Bus, opt: TrackedOptimizer) -> Self {
        let keys = Keys {
            loss: bus.metric(Split::Train, "loss"),
            grad_norm: bus.metric(Split::Train, "grad_norm"),
            epoch_loss: bus.metric(Split::Train, "epoch_loss"),
            val_loss: bus.metric(Split::Valid, "loss"),
        };
        TchRun {
            bus,
            opt,
            keys,
            step: 0,
            epoch: 0,
            in_epoch: false,
            epoch_sum: 0.0,
            epoch_count: 0,
            last_eval_step: None,
            last_loss: f64::NAN,
            clip_norm: None,
            measure_grad_norm: false,
            record_epoch_loss: true,
            metrics: Vec::with_capacity(INLINE_METRICS),
        }
    }

    /// A run on a fresh bus with `preset` installed.
    pub fn with_preset(preset: Preset, opt: TrackedOptimizer) -> Self {
        let mut bus = Bus::new();
        preset.install(&mut bus);
        Self::new(bus, opt)
    }

    /// Clips the global gradient norm to `max` in [`TchRun::train_step`] (and records the norm
    /// before clipping as `train/grad_norm`).
    pub fn with_clip_norm(mut self, max: f64) -> Self {
        self.clip_norm = Some(max);
        self
    }

    /// Records `train/grad_norm` in [`TchRun::train_step`] (one reduction per parameter per step;
    /// off by default, implied by [`TchRun::with_clip_norm`]).
    pub fn with_grad_norm(mut self, on: bool) -> Self {
        self.measure_grad_norm = on;
        self
    }

    /// Records `train/epoch_loss` at each [`TchRun::end_epoch`] (on by default; turn it off for a
    /// step-level run whose one long epoch would give a single point).
    pub fn with_epoch_loss(mut self, on: bool) -> Self {
        self.record_epoch_loss = on;
        self
    }

    /// The bus (history, diagnoses, stop reason, summary).
    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// The bus, mutably (to add callbacks or resolve more metric keys).
    pub fn bus_mut(&mut self) -> &mut Bus {
        &mut self.bus
    }

    /// The optimizer and its learning rate.
    pub fn optimizer(&self) -> &TrackedOptimizer {
        &self.opt
    }

    /// The optimizer, mutably (a schedule sets its rate here).
    pub fn optimizer_mut(&mut self) -> &mut TrackedOptimizer {
        &mut self.opt
    }

    /// The bus and the optimizer.
    pub fn into_parts(self) -> (Bus, TrackedOptimizer) {
        (self.bus, self.opt)
    }

    /// Key of `train/loss`.
    pub fn loss_key(&self) -> MetricKey {
        self.keys.loss
    }

    /// Key of `valid/loss`.
    pub fn val_loss_key(&self) -> MetricKey {
        self.keys.val_loss
    }

    /// Key of `train/grad_norm`.
    pub fn grad_norm_key(&self) -> MetricKey {
        self.keys.grad_norm
    }

    /// Key of `train/epoch_loss`.
    pub fn epoch_loss_key(&self) -> MetricKey {
        self.keys.epoch_loss
    }

    /// Optimizer steps taken so far.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// The current epoch (0-based; advanced by [`TchRun::end_epoch`]).
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The step of the last evaluation, if any.
    pub fn last_eval_step(&self) -> Option<u64> {
        self.last_eval_step
    }

    /// The last training loss recorded (NaN before the first step).
    pub fn last_loss(&self) -> f64 {
        self.last_loss
    }

    /// Starts the run (sends `train_begin`); a resumed run passes its step and epoch with
    /// `TrainBegin::at`, and the run counts on from there.
    ///
    /// # Errors
    /// [`TchError::Bus`] when a callback fails under `FaultPolicy::Propagate`.
    pub fn begin(&mut self, ev: &TrainBegin) -> Result<Decision, TchError> {
        self.step = ev.step;
        self.epoch = ev.epoch;
        let d = self.bus.train_begin(ev)?;
        self.apply(d)
    }

    /// Starts the current epoch (sends `epoch_begin`).
    ///
    /// # Errors
    /// As [`TchRun::begin`].
    pub fn begin_epoch(&mut self) -> Result<Decision, TchError> {
        self.in_epoch = true;
        let d = self
            .bus
            .epoch_begin(&EpochBegin::new(self.epoch, self.step))?;
        self.apply(d)
    }

    /// One training step from a loss tensor: reads its value, and when it is finite zeroes the
    /// gradients, back-propagates, clips or measures the gradient norm if configured, and steps the
    /// optimizer; a non-finite loss only zeroes the gradients. Then records the step like
    /// [`TchRun::record_step`].
    ///
    /// # Errors
    /// [`TchError::NotScalar`]/[`TchError::Undefined`] for a loss that is not one number (nothing is
    /// recorded), [`TchError::Torch`] when back-propagation fails, [`TchError::Bus`], [`TchError::Lr`].
    pub fn train_step(&mut self, loss: &Tensor) -> Result<Decision, TchError> {
        let value = scalar(loss, "loss")?;
        self.opt.zero_grad();
        let mut grad_norm = None;
        if value.is_finite() {
            loss.f_backward()?;
            grad_norm = match self.clip_norm {
                Some(max) => Some(self.opt.clip_grad_norm(max)?),
                None if self.measure_grad_norm => Some(self.opt.grad_norm()?),
                None => None,
            };
            self.opt.step();
        }
        self.feed_step(value, grad_norm, &[])
    }

    /// Records a step whose optimizer update the caller did: the loss value it already read (no
    /// second read of the tensor), the optimizer's learning rate, and `extra` metrics; applies a
    /// learning-rate request to the optimizer.
    ///
    /// # Errors
    /// [`TchError::Bus`] when a callback fails under `FaultPolicy::Propagate`; [`TchError::Lr`] when a
    /// callback asks for an unusable learning rate (the optimizer keeps its rate).
    pub fn record_step(
        &mut self,
        loss: f64,
        extra: &[(MetricKey, f64)],
    ) -> Result<Decision, TchError> {
        self.feed_step(loss, None, extra)
    }

    fn feed_step(
        &mut self,
        loss: f64,
        grad_norm: Option<f64>,
        extra: &[(MetricKey, f64)],
    ) -> Result<Decision, TchError> {
        self.step += 1;
        self.in_epoch = true;
        self.last_loss = loss;
        if loss.is_finite() {
            self.epoch_sum += loss;
            self.epoch_count += 1;
        }
        self.metrics.clear();
        self.metrics.push((self.keys.loss, loss));
        if let Some(g) = grad_norm {
            self.metrics.push((self.keys.grad_norm, g));
        }
        self.metrics.extend_from_slice(extra);
        let ev = StepEnd::new(self.step, &self.metrics)
            .with_epoch(self.epoch)
            .with_lr(self.opt.lr());
        let d = self.bus.step_end(&ev)?;
        self.apply(d)
    }

    /// Records an evaluation from a validation-loss tensor (read once; non-finite values kept).
    ///
    /// # Errors
    /// As [`TchRun::train_step`] for the tensor, then as [`TchRun::record_eval`].
    pub fn eval(&mut self, val_loss: &Tensor) -> Result<Decision, TchError> {
        let value = scalar(val_loss, "validation loss")?;
        self.record_eval(value, &[])
    }

    /// Records an evaluation at the current step: `valid/loss` and `extra` metrics.
    ///
    /// # Errors
    /// As [`TchRun::record_step`].
    pub fn record_eval(
        &mut self,
        val_loss: f64,
        extra: &[(MetricKey, f64)],
    ) -> Result<Decision, TchError> {
        self.metrics.clear();
        self.metrics.push((self.keys.val_loss, val_loss));
        self.metrics.extend_from_slice(extra);
        self.last_eval_step = Some(self.step);
        let d = self
            .bus
            .eval_end(&EvalEnd::new(self.step, self.epoch, &self.metrics))?;
        self.apply(d)
    }

    /// Ends the current epoch: records `train/epoch_loss` (when the epoch had a finite loss) and
    /// `extra`, sends `epoch_end`, and moves to the next epoch.
    ///
    /// # Errors
    /// As [`TchRun::record_step`].
    pub fn end_epoch(&mut self, extra: &[(MetricKey, f64)]) -> Result<Decision, TchError> {
        self.metrics.clear();
        if self.record_epoch_loss && self.epoch_count > 0 {
            let mean = self.epoch_sum / f64::from(self.epoch_count);
            self.metrics.push((self.keys.epoch_loss, mean));
        }
        self.metrics.extend_from_slice(extra);
        let d = self
            .bus
            .epoch_end(&EpochEnd::new(self.epoch, self.step, &self.metrics))?;
        self.epoch = self.epoch.saturating_add(1);
        (self.in_epoch, self.epoch_sum, self.epoch_count) = (false, 0.0, 0);
        self.apply(d)
    }

    /// Ends the run (sends `train_end` at the last epoch that saw events) and returns why it stopped
    /// early, if a callback stopped it.
    ///
    /// # Errors
    /// As [`TchRun::begin`].
    pub fn finish(&mut self) -> Result<Option<StopReason>, TchError> {
        let last_epoch = if self.in_epoch {
            self.epoch
        } else {
            self.epoch.saturating_sub(1)
        };
        self.bus.train_end(&TrainEnd::new(self.step, last_epoch))?;
        Ok(self.bus.stop_reason().cloned())
    }

    fn apply(&mut self, d: Decision) -> Result<Decision, TchError> {
        self.opt.apply(&d)?;
        Ok(d)
    }
}
