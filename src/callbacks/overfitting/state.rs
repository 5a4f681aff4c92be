//! The overfitting detector's resumable state.

use serde::{Deserialize, Serialize};

use super::window::Window;
use super::{OverfittingVerdict, Timing};
use crate::analysis::trend::median_in_place;
use crate::callbacks::Direction;

/// Where an episode began or the best value was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Mark {
    pub epoch: u32,
    pub step: u64,
    /// 1-based rank among the judged evaluations.
    pub eval: u64,
}

/// Everything the detector's decisions depend on; saved and restored whole.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct State {
    pub max_epochs: Option<u32>,
    pub max_steps: Option<u64>,
    /// Running sum and count of the training steps since the last judged evaluation.
    #[serde(with = "crate::persist::float")]
    pub train_sum: f64,
    pub train_count: u64,
    /// An epoch-level training value not yet superseded by later steps.
    pub epoch_train: Option<f64>,
    /// An evaluation (value, epoch, step) waiting for the training value of its epoch: a loop
    /// evaluates before it ends the epoch (Lightning runs validation before `on_train_epoch_end`),
    /// so the epoch's training loss comes just after. Judged at the epoch end, the next step, the
    /// next evaluation or the end of training, whichever comes first.
    #[serde(default)]
    pub pending: Option<(f64, u32, u64)>,
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
    /// Evaluations judged since the best one, and how many of them stood clearly above it.
    #[serde(default)]
    pub since_best: u32,
    #[serde(default)]
    pub above_best: u32,
    /// Of the evaluations since the best, the later half (at least `patience`, at most the last
    /// [`NOISE_SPAN`]) that the rule reads, and how many of those stand above the best.
    #[serde(default)]
    pub counted_since_best: u32,
    #[serde(default)]
    pub above_later: u32,
    /// Whether the later evaluations are worse on average ([`OverfittingDetector::worse_on_average`]).
    #[serde(default)]
    pub worse_on_average: bool,
    /// The last (up to [`RECENT`]) validation and training values, oldest first.
    #[serde(default)]
    pub recent_vals: Vec<f64>,
    #[serde(default)]
    pub recent_trains: Vec<f64>,
    /// The last (up to [`NOISE_SPAN`]) validation values: the curve's own noise comes from them.
    #[serde(default)]
    pub noise_vals: Vec<f64>,
    /// The worst validation value of the current episode and its mark.
    #[serde(default)]
    pub worst: Option<(f64, Mark)>,
    /// Whether any evaluation came after epoch 0 (else the run is step-level: steps are quoted).
    #[serde(default)]
    pub has_epochs: bool,
    /// Whether any training value was seen.
    #[serde(default)]
    pub train_seen: bool,
    /// The validation curve's noise at the latest evaluation (see [`curve_noise`]).
    #[serde(default, with = "crate::persist::float")]
    pub noise: f64,
    /// Room for the noise computation, reused at every evaluation.
    #[serde(skip)]
    pub scratch: Vec<f64>,
}

/// How many of the latest evaluations the "still above its best" median reads.
pub(super) const RECENT: usize = 5;
/// How many validation values the noise estimate reads.
pub(super) const NOISE_SPAN: usize = 256;

/// Appends `v`, keeping the newest `cap` values.
pub(super) fn push_capped(values: &mut Vec<f64>, v: f64, cap: usize) {
    if values.len() >= cap {
        values.remove(0);
    }
    values.push(v);
}

/// The median of `values` (NaN when empty), sorted in `scratch` (reused: no allocation once it
/// has the capacity).
pub(crate) fn median_with(values: &[f64], scratch: &mut Vec<f64>) -> f64 {
    scratch.clear();
    scratch.extend_from_slice(values);
    median_in_place(scratch).unwrap_or(f64::NAN)
}

/// The median of at most eight values, on the stack (NaN when empty; only the first eight count).
pub(crate) fn median(values: &[f64]) -> f64 {
    let mut buf = [0.0; 8];
    let n = values.len().min(8);
    buf[..n].copy_from_slice(&values[..n]);
    median_in_place(&mut buf[..n]).unwrap_or(f64::NAN)
}

/// The noise of a curve from its second differences, robustly: 1.4826 · median |Δ²y| / √6, the
/// standard deviation of white noise around any locally straight curve (a median, so that the bend
/// of a fast early descent does not pass for noise). 0 with fewer than 5 values. `scratch` is
/// reused (no allocation once it has the capacity).
pub(crate) fn curve_noise(values: &[f64], scratch: &mut Vec<f64>) -> f64 {
    if values.len() < 5 {
        return 0.0;
    }
    scratch.clear();
    scratch.extend(values.windows(3).map(|w| (w[2] - 2.0 * w[1] + w[0]).abs()));
    let med = median_in_place(scratch).unwrap_or(0.0);
    1.4826 * med / 6f64.sqrt()
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
            pending: None,
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
            since_best: 0,
            above_best: 0,
            counted_since_best: 0,
            above_later: 0,
            worse_on_average: false,
            recent_vals: Vec::with_capacity(RECENT),
            recent_trains: Vec::with_capacity(RECENT),
            noise_vals: Vec::with_capacity(NOISE_SPAN),
            worst: None,
            has_epochs: false,
            train_seen: false,
            noise: 0.0,
            scratch: Vec::with_capacity(NOISE_SPAN),
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
