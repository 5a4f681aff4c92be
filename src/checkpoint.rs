//! [`Checkpoint`]: a bus's whole state (history, callback states, stop, diagnoses), for resume.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::bus::Counts;
use crate::control::Control;
use crate::diagnosis::Diagnosis;
use crate::history::History;
use crate::persist::{self, PersistError};

/// The version written into checkpoints; loading another version is an error.
pub const CHECKPOINT_FORMAT: u32 = 1;

/// One callback's saved state, under the name it had on the bus.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SavedCallback {
    /// The callback's name on the bus.
    pub name: String,
    /// Its state, or `None` if it keeps none.
    pub state: Option<serde_json::Value>,
}

/// Everything a bus needs to continue a run exactly where it stopped.
///
/// Made by [`Bus::checkpoint`](crate::Bus::checkpoint), restored by [`Bus::restore`](crate::Bus::restore);
/// saved as JSON atomically, so a crash while saving leaves the previous checkpoint intact.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    format: u32,
    history: History,
    control: Control,
    diagnoses: Vec<Diagnosis>,
    callbacks: Vec<SavedCallback>,
    step: u64,
    epoch: u32,
    counts: Counts,
    elapsed_secs: f64,
}

pub(crate) struct Parts {
    pub history: History,
    pub control: Control,
    pub diagnoses: Vec<Diagnosis>,
    pub callbacks: Vec<SavedCallback>,
    pub position: (u64, u32),
    pub counts: Counts,
    pub elapsed: Duration,
}

impl Checkpoint {
    pub(crate) fn new(
        history: History,
        control: Control,
        diagnoses: Vec<Diagnosis>,
        callbacks: Vec<SavedCallback>,
        position: (u64, u32),
        counts: Counts,
        elapsed: Duration,
    ) -> Self {
        Checkpoint {
            format: CHECKPOINT_FORMAT,
            history,
            control,
            diagnoses,
            callbacks,
            step: position.0,
            epoch: position.1,
            counts,
            elapsed_secs: elapsed.as_secs_f64(),
        }
    }

    pub(crate) fn into_parts(self) -> Parts {
        Parts {
            history: self.history,
            control: self.control,
            diagnoses: self.diagnoses,
            callbacks: self.callbacks,
            position: (self.step, self.epoch),
            counts: self.counts,
            elapsed: Duration::from_secs_f64(self.elapsed_secs.max(0.0)),
        }
    }

    /// The saved history.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The saved callback states, in bus order.
    pub fn callbacks(&self) -> &[SavedCallback] {
        &self.callbacks
    }

    /// Global step of the last event before the checkpoint.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Epoch of the last event before the checkpoint.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// Serialises to JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses JSON written by [`Checkpoint::to_json`].
    pub fn from_json(text: &str) -> Result<Self, PersistError> {
        Self::parse(text, "<string>")
    }

    /// Writes the checkpoint to `path` atomically.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), PersistError> {
        persist::atomic_write(path.as_ref(), self.to_json().as_bytes())
    }

    /// Reads a checkpoint written by [`Checkpoint::save`].
    pub fn load(path: impl AsRef<Path>) -> Result<Self, PersistError> {
        let path = path.as_ref();
        Self::parse(&persist::read_to_string(path)?, &path.display().to_string())
    }

    fn parse(text: &str, source: &str) -> Result<Self, PersistError> {
        let cp: Checkpoint =
            serde_json::from_str(text).map_err(|e| PersistError::parse(source, e))?;
        if cp.format != CHECKPOINT_FORMAT {
            return Err(PersistError::Invalid {
                path: source.to_owned(),
                message: format!(
                    "field `format`: checkpoint format {} is not supported (expected {CHECKPOINT_FORMAT})",
                    cp.format
                ),
            });
        }
        Ok(cp)
    }
}
