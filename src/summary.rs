//! [`RunSummary`]: what happened in a run, for the end-of-run report.

use std::fmt;

use serde::Serialize;

use crate::control::StopReason;
use crate::diagnosis::Diagnosis;

/// A callback failure caught by the bus.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Fault {
    /// The callback's name.
    pub callback: String,
    /// The hook that failed (`step_end`, `diagnosis`, ...).
    pub event: &'static str,
    /// Global step of the event.
    pub step: u64,
    /// Epoch of the event.
    pub epoch: u32,
    /// The error or panic message.
    pub message: String,
    /// Whether it panicked (rather than returning an error).
    pub panicked: bool,
}

/// What happened in a run: counts, the stop and its reason, diagnoses, callback faults.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RunSummary {
    /// Training steps seen.
    pub steps: u64,
    /// Evaluations seen.
    pub evals: u64,
    /// Epochs ended.
    pub epochs: u64,
    /// Global step of the last event.
    pub last_step: u64,
    /// Epoch of the last event.
    pub last_epoch: u32,
    /// Wall-clock seconds since train begin (resumed runs include the time before the checkpoint).
    pub elapsed_secs: f64,
    /// Why training stopped early, if it did.
    pub stop: Option<StopReason>,
    /// Every diagnosis, in order.
    pub diagnoses: Vec<Diagnosis>,
    /// Every callback failure.
    pub faults: Vec<Fault>,
    /// Callbacks disabled by the fault policy.
    pub disabled: Vec<String>,
    /// Points dropped because their metric key came from another bus.
    pub dropped_points: u64,
}

impl fmt::Display for RunSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "run: {} steps, {} evaluations, {} epochs in {:.1}s (last step {}, epoch {})",
            self.steps, self.evals, self.epochs, self.elapsed_secs, self.last_step, self.last_epoch
        )?;
        match &self.stop {
            Some(r) => writeln!(f, "stopped: {r}")?,
            None => writeln!(f, "stopped: no (ran to the end)")?,
        }
        writeln!(f, "diagnoses: {}", self.diagnoses.len())?;
        for d in &self.diagnoses {
            writeln!(f, "  {d}")?;
        }
        if !self.faults.is_empty() {
            writeln!(f, "callback faults: {}", self.faults.len())?;
            for fault in self.faults.iter().take(10) {
                writeln!(
                    f,
                    "  {} in {} at step {}: {}",
                    fault.callback, fault.event, fault.step, fault.message
                )?;
            }
        }
        if !self.disabled.is_empty() {
            writeln!(f, "disabled callbacks: {}", self.disabled.join(", "))?;
        }
        Ok(())
    }
}
