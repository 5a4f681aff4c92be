//! The overfitting detector's resumable state.

use serde::{Deserialize, Serialize};

use super::window::Window;
use super::{OverfittingVerdict, Timing};
use crate::callbacks::Direction;

/// Where an episode began or the best value was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Mark {
    pub epoch: u32,
    pub step: u64,
    /// 1-based rank among the judged evaluations.
    pub eval: u64,
}

/// Everything the detector's decisions depend on; saved and restored whole.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct State {
    pub max_epochs: Option<u32>,
    pub max_steps: Option<u64>,
    /// Running sum and count of the training steps since the last judged evaluation.
    #[serde(with = "crate::persist::float")]
    pub train_sum: f64,
    pub train_count: u64,
    /// An epoch-level training value not yet superseded by later steps.
    pub epoch_train: Option<f64>,
    pub last_train: Option<f64>,
    pub last_judged: Option<(u64, u32)>,
    pub evals: u64,
    pub gaps: Window,
    pub vals: Window,
    pub trains: Window,
    #[serde(with = "crate::persist::float")]
    pub best: f64,
    pub best_mark: Option<Mark>,
    #[serde(with = "crate::persist::float")]
    pub train_at_best: f64,
    pub worse_streak: u32,
    pub worse_onset: Option<Mark>,
    pub gap_streak: u32,
    pub gap_onset: Option<Mark>,
    pub gap_misses: u32,
    pub verdict: OverfittingVerdict,
    pub critical_sent: bool,
    pub onset: Option<Mark>,
    pub timing: Option<Timing>,
    pub episodes: u32,
    pub last_gap: Option<f64>,
    pub last_relative_gap: Option<f64>,
}

impl State {
    /// A fresh run: windows of `window` evaluations, best at the worst value of `direction`.
    pub fn new(window: usize, direction: Direction) -> Self {
        State {
            max_epochs: None,
            max_steps: None,
            train_sum: 0.0,
            train_count: 0,
            epoch_train: None,
            last_train: None,
            last_judged: None,
            evals: 0,
            gaps: Window::new(window),
            vals: Window::new(window),
            trains: Window::new(window),
            best: direction.worst(),
            best_mark: None,
            train_at_best: f64::NAN,
            worse_streak: 0,
            worse_onset: None,
            gap_streak: 0,
            gap_onset: None,
            gap_misses: 0,
            verdict: OverfittingVerdict::None,
            critical_sent: false,
            onset: None,
            timing: None,
            episodes: 0,
            last_gap: None,
            last_relative_gap: None,
        }
    }

    /// Adopts the configured window size after deserialisation, rejecting windows that do not fit.
    pub fn restored(mut self, window: usize) -> Result<Self, String> {
        self.gaps = self.gaps.restored(window)?;
        self.vals = self.vals.restored(window)?;
        self.trains = self.trains.restored(window)?;
        Ok(self)
    }
}
