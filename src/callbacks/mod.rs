//! Ready-made callbacks, one per file, sharing one [`Monitor`] for "which metric, which way, how much".

pub mod early_stopping;
pub mod lr_diagnosis;
mod monitor;
pub mod overfitting;
pub mod plot;
pub mod progress;
pub mod reduce_lr;
pub mod spike_guard;
pub mod underfitting;

pub use monitor::{Direction, Monitor};
