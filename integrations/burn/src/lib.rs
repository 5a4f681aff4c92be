//! # curvewatch-burn
//!
//! [Burn](https://burn.dev) 0.22 adapter for [`curvewatch`]: attach the callbacks to Burn's
//! `SupervisedTraining` in one call, or drive them from your own Burn loop.
//!
//! **Learner.** Wrap a bus in a [`CurvewatchHandle`], call
//! [`with_curvewatch`](CurvewatchLearnerExt::with_curvewatch) on the builder, and build the
//! `Learner` with [`CurvewatchHandle::lr_scheduler`]:
//!
//! ```ignore
//! let mut bus = Bus::new();
//! Preset::standard().install(&mut bus);
//! let handle = CurvewatchHandle::new(bus).with_max_epochs(EPOCHS);
//! let learner = Learner::new(model, AdamConfig::new().init(), handle.lr_scheduler(1e-2));
//! let result = SupervisedTraining::new(dir, train, valid)
//!     .metrics((LossMetric::new(), AccuracyMetric::new()))
//!     .num_epochs(EPOCHS as usize)
//!     .renderer(Box::new(QuietRenderer))
//!     .with_application_logger(None)
//!     .with_curvewatch(&handle)
//!     .launch(learner);
//! let bus = handle.into_bus().expect("Burn dropped its clones");
//! println!("{:?}", bus.stop_reason());
//! ```
//!
//! What reaches the bus, for Burn's metric `Name` (curvewatch name `name`, see [`curvewatch_name`]):
//!
//! | Burn | curvewatch |
//! |---|---|
//! | training batch | `StepEnd` with `train/name`, `train/lr`, step counted from 1 across epochs, epoch fraction |
//! | training split's epoch value | `EpochEnd` with `train/epoch_name` |
//! | validation split's epoch value | `EvalEnd` with `valid/name` |
//! | validation batch value | recorded (no event, no callback: [`Bus::record`](curvewatch::Bus::record)) as `valid/batch_name` at the epoch's last step |
//! | epoch `e` (1-based) | epoch `e - 1` (curvewatch counts from 0) |
//!
//! **Custom loops.** [`BurnLoop`] takes the loss tensor (it reads the scalar), validation values,
//! and owns the learning rate, so that a rate asked by a callback reaches `optimizer.step(lr, ..)`.
#![warn(missing_docs)]

mod driver;
mod early_stopping;
mod handle;
mod learner;
mod logger;
mod names;
mod renderer;
mod scheduler;
mod session;
mod step_metric;

pub use driver::{scalar, BurnLoop, DriverError, LoopDecision};
pub use early_stopping::CurvewatchEarlyStopping;
pub use handle::CurvewatchHandle;
pub use learner::CurvewatchLearnerExt;
pub use logger::CurvewatchLogger;
pub use names::curvewatch_name;
pub use renderer::QuietRenderer;
pub use scheduler::CurvewatchLrScheduler;
pub use step_metric::StepInfoMetric;
