//! # curvewatch
//!
//! Training-loop callbacks that watch learning curves: they record every metric, catch overfitting,
//! underfitting, a bad learning rate, loss spikes and NaNs, and stop early, all inside the loop.
//!
//! A training loop talks to one [`Bus`]. The bus records each event's metrics into a [`History`],
//! calls every [`Callback`] in order (isolating any that fail or panic), logs each [`Diagnosis`]
//! through `tracing` (target `curvewatch::diagnosis`), and hands the loop a [`Decision`]: go on, stop
//! (with a [`StopReason`]), or use a new learning rate.
//!
//! ```
//! use curvewatch::{Bus, EvalEnd, Split, StepEnd, TrainBegin, TrainEnd};
//!
//! let mut bus = Bus::new();
//! let loss = bus.metric(Split::Train, "loss");
//! let val_loss = bus.metric(Split::Valid, "loss");
//! bus.train_begin(&TrainBegin::new().with_max_epochs(3)).unwrap();
//! let mut step = 0;
//! 'train: for epoch in 0..3 {
//!     for _batch in 0..100 {
//!         step += 1;
//!         let train_loss = 1.0 / step as f64; // your forward/backward pass here
//!         let d = bus.step_end(&StepEnd::new(step, &[(loss, train_loss)]).with_epoch(epoch)).unwrap();
//!         if d.should_stop() { break 'train; }
//!     }
//!     let d = bus.eval_end(&EvalEnd::new(step, epoch, &[(val_loss, 0.5)])).unwrap();
//!     if d.should_stop() { break; }
//! }
//! bus.train_end(&TrainEnd::new(step, 2)).unwrap();
//! println!("{}", bus.summary());
//! ```
//!
//! The library never installs a tracing subscriber; examples and binaries do.
#![warn(missing_docs)]

pub mod analysis;
mod bus;
mod callback;
pub mod callbacks;
mod checkpoint;
mod context;
mod control;
mod diagnosis;
mod event;
mod gate;
mod history;
pub mod import;
pub mod persist;
pub mod quality;
pub mod render;
mod replay;
pub mod report;
mod summary;
#[cfg(test)]
mod testutil;

pub use bus::{Bus, BusError, FaultPolicy};
pub use callback::{
    state_from_value, state_to_value, Callback, CallbackError, CallbackResult, StepFilter,
};
pub use checkpoint::{Checkpoint, SavedCallback, CHECKPOINT_FORMAT};
pub use context::Context;
pub use control::{Decision, StopReason};
pub use diagnosis::{Diagnosis, DiagnosisKind, Episode, Evidence, Severity};
pub use event::{
    EpochBegin, EpochEnd, EvalEnd, MetricKey, Split, StepEnd, TrainBegin, TrainEnd,
    MAX_EPOCH_FRACTION,
};
pub use history::{History, Origin, Series};
pub use persist::PersistError;
pub use replay::{replay, ReplayOptions, ReplayOutcome};
pub use summary::{Fault, RunSummary};
