//! The underfitting detector's resumable state.

use serde::{Deserialize, Serialize};

use super::progress::ProgressCurve;
use super::{UnderfittingRule, UnderfittingVerdict};
use crate::callbacks::overfitting::window::Window;

/// What arrived since the last point.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(super) struct Pending {
    #[serde(with = "crate::persist::float")]
    pub train_sum: f64,
    pub train_count: u64,
    /// An epoch-level training value, preferred over the step mean.
    pub epoch_train: Option<f64>,
    pub valid: Option<f64>,
    #[serde(with = "crate::persist::float")]
    pub acc_sum: f64,
    pub acc_count: u64,
    /// An epoch- or evaluation-level accuracy, preferred over the step mean.
    pub accuracy: Option<f64>,
    /// Training steps since the last point.
    pub steps: u64,
}

impl Pending {
    /// Adds a training step's value; an earlier epoch-level value no longer describes the point.
    pub fn add_train(&mut self, v: f64) {
        self.train_sum += v;
        self.train_count += 1;
        self.epoch_train = None;
    }

    /// Adds a training step's accuracy; an earlier epoch-level accuracy no longer describes the
    /// point.
    pub fn add_accuracy(&mut self, v: f64) {
        self.acc_sum += v;
        self.acc_count += 1;
        self.accuracy = None;
    }

    /// The point's training value, if any arrived.
    pub fn train(&self) -> Option<f64> {
        self.epoch_train
            .or_else(|| mean(self.train_sum, self.train_count))
    }

    /// The point's accuracy, if any arrived.
    pub fn accuracy(&self) -> Option<f64> {
        self.accuracy.or_else(|| mean(self.acc_sum, self.acc_count))
    }
}

fn mean(sum: f64, count: u64) -> Option<f64> {
    let m = sum / count as f64;
    (count > 0 && m.is_finite()).then_some(m)
}

/// Everything the detector's decisions depend on; saved and restored whole.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(super) struct State {
    /// Where the training curve started (see `UnderfittingDetector::initial_value`).
    pub initial: Option<f64>,
    /// Whether the first point has been folded into `initial`.
    pub start_settled: bool,
    pub pending: Pending,
    pub points: u64,
    pub trains: Window,
    pub valids: Window,
    pub accs: Window,
    pub verdict: UnderfittingVerdict,
    /// Points in a row at which the training curve moved (significantly, beyond the tolerance).
    pub moving_points: u32,
    pub rule: Option<UnderfittingRule>,
    pub episodes: u32,
    pub last_improvement: Option<f64>,
    pub last_relative_slope: Option<f64>,
    /// The training curve by progress (stuck and plateau rules).
    #[serde(default)]
    pub curve: ProgressCurve,
    /// Whether training values came per step (epoch-level ones are then not fed to the curve).
    #[serde(default)]
    pub step_values: bool,
    /// First step of the latest plateau episode.
    #[serde(default)]
    pub plateau_start: Option<u64>,
}

impl State {
    /// A fresh run with windows of `window` points.
    pub fn new(window: usize) -> Self {
        State {
            initial: None,
            start_settled: false,
            pending: Pending::default(),
            points: 0,
            trains: Window::new(window),
            valids: Window::new(window),
            accs: Window::new(window),
            verdict: UnderfittingVerdict::None,
            moving_points: 0,
            rule: None,
            episodes: 0,
            last_improvement: None,
            last_relative_slope: None,
            curve: ProgressCurve::default(),
            step_values: false,
            plateau_start: None,
        }
    }

    /// Adopts the configured window size after deserialisation, rejecting windows that do not fit.
    pub fn restored(mut self, window: usize) -> Result<Self, String> {
        self.trains = self.trains.restored(window)?;
        self.valids = self.valids.restored(window)?;
        self.accs = self.accs.restored(window)?;
        Ok(self)
    }
}
