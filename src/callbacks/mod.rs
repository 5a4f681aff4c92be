//! Ready-made callbacks, one per file, sharing one [`Monitor`] for "which metric, which way, how much".

pub mod early_stopping;
pub mod lr_diagnosis;
mod monitor;
pub mod overfitting;
pub mod plot;
pub mod preset;
pub mod progress;
pub mod reduce_lr;
pub mod spike_guard;
pub mod underfitting;

pub use monitor::{Direction, Monitor};

pub use early_stopping::EarlyStopping;
pub use lr_diagnosis::{LrDiagnosis, LrVerdict};
pub use overfitting::OverfittingDetector;
pub use plot::PlotCallback;
pub use preset::{Preset, PresetSummary};
pub use progress::ProgressCallback;
pub use reduce_lr::ReduceLrOnPlateau;
pub use spike_guard::SpikeGuard;
pub use underfitting::UnderfittingDetector;
