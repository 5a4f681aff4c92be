//! [`LrDiagnosis`]: judges the learning rate from the training loss and the learning-rate history,
//! scale-free, with the same code live ([`LrDiagnosis`]) and offline ([`diagnose_lr`]).
//!
//! Over a trailing window of the last `window` loss values (default 50; a verdict from 8 values on)
//! it fits a least-squares line and measures everything relative to the loss level or to its noise,
//! so the same thresholds serve a classifier at 0.3 and a language model at 3 nats. "Across the
//! window" below means the change the line predicts from the oldest to the newest value held. The
//! level is the median of the means of the last three blocks, a block being the values between two
//! judgements (10 per-step values by default; one epoch-level value): robust to a spike in one
//! block, and quiet enough that its running minimum is not a lucky low draw of per-batch noise.
//! Its running minimum (with the noise at that minimum, the yardstick of any rise above it: a loss
//! with multiplicative noise that climbs 1000-fold has 1000 times the noise at its top) and its
//! first value are kept for the whole run. The rules, first match wins (defaults in
//! [`LrThresholds`]):
//!
//! 1. **Rise** (verdict `too_high`, critical): a sustained rise (slope t-statistic ≥ 6 and ≥ 5% of
//!    the level across the window, with the level ≥ 3 noise units and 10% above its minimum), or
//!    the level far above its running minimum (≥ 6 of the level's own noise units beyond the
//!    distance two extremes of a noisy level reach by chance, `2·√(2 ln m)` after `m` levels; and
//!    ≥ 10% of |minimum|). If the learning rate rose within
//!    one window before the minimum, or after it (warmup, a manual increase, a warm restart), the
//!    finding is [`LrFinding::RiseAfterLrIncrease`] (kind `lr_too_high`): the evidence names the
//!    learning rate at which the rise began (`lr_at_rise_start`: the rate in force when the level
//!    first stood 3 noise units above its minimum) and the recommendation says to keep the peak
//!    below it. Otherwise it is [`LrFinding::Divergence`] (kind `divergence`).
//! 2. **Rebound** (`too_high`, warning): the minimum was reached inside the window and the level has
//!    risen from it by ≥ 3 noise units and ≥ 10% (fell, then rose). With a learning-rate increase
//!    behind it, this too is [`LrFinding::RiseAfterLrIncrease`].
//! 3. **Noise** (recorded as the finding `oscillation`, verdict `appropriate`, never reported):
//!    residual std ≥ 4% of the level with no trend and frequent sign changes. Minibatch noise alone
//!    says nothing about the learning rate: a healthy small-batch run (per-batch MNIST losses with
//!    noise 150% of the level, a small-batch GPT-2 fine-tune) is as noisy as a bad one. Evidence
//!    tied to the learning rate is what the rise rules above read: a rise while or after the rate
//!    went up, a rebound, a sustained climb.
//! 4. **Stall** (`too_low`, info): flat, and the level less than `flat` (2%) below where the run
//!    started, with no schedule change to explain it. Judged from the start of the run, not over a
//!    window: a window of 50 logged values is 50 steps of a 1M-step run, over which any healthy
//!    curve looks flat. The underfitting detector owns the warning for a run that never learns
//!    (judged over a span scaled to the run); this names the learning rate as a cause. A *slow*
//!    descent is recorded (`slow_descent`, verdict `appropriate`) but not reported: without a
//!    reference run, one curve cannot say that it is too slow.
//! 5. **Plateau**: flat after real progress, or under a decayed learning rate. This is convergence,
//!    not a learning-rate fault: the verdict stays `appropriate` and no diagnosis is emitted (the
//!    underfitting detector and ReduceLROnPlateau own plateaus).
//!
//! Noise is measured from second differences (the noise std of white noise around any straight
//! line), so that a steady climb does not pass for noise: a loss growing 25% per epoch stands far
//! above its minimum within a few epochs. A verdict needs `min_points` values (default 8), and
//! epoch-level losses are judged at every value (a few dozen per run), per-step ones every
//! `check_every` values.
//!
//! Non-finite losses are counted and skipped (the spike guard reports them). The loss is read per
//! step, or per epoch when the loop reports only epoch-level losses ([`LossGranularity`]).
//!
//! Cost: each value is a ring write, a sum and a few comparisons; every `check_every`
//! values (default 10) the live callback judges the window in O(window) and emits what it found.
//! [`diagnose_lr`] runs the same state over a slice, and the callback's accessors judge the latest
//! state on demand, so offline and live verdicts agree to the bit.

mod assessment;
mod config;
#[cfg(test)]
mod tests;
mod tracker;
mod window;

use std::any::Any;

use serde::{Deserialize, Serialize};

pub use assessment::{LrAssessment, LrFinding, LrVerdict};
pub use config::{LrConfigError, LrDiagnosisConfig, LrThresholds, MAX_WINDOW, MIN_WINDOW};

use super::monitor::Monitor;
use crate::callback::{
    state_from_value, state_to_value, Callback, CallbackError, CallbackResult, StepFilter,
};
use crate::context::Context;
use crate::diagnosis::DiagnosisKind;
use crate::event::{EpochEnd, Split, StepEnd};
use tracker::Tracker;

/// Judges a recorded loss curve: feeds `losses` (and the learning rates, aligned by index, where
/// known) through the same streaming state as the live [`LrDiagnosis`] and returns the assessment
/// after the last value.
///
/// Non-finite losses are skipped; a missing, non-finite or negative learning rate counts as unknown
/// (so `lrs` may be shorter or longer than `losses`).
///
/// ```
/// use curvewatch::callbacks::lr_diagnosis::{diagnose_lr, LrDiagnosisConfig, LrVerdict};
/// let cfg = LrDiagnosisConfig::new();
/// let healthy: Vec<f64> = (0..20).map(|i| 2.5 - 0.05 * i as f64).collect();
/// assert_eq!(diagnose_lr(&healthy, None, &cfg).verdict, LrVerdict::Appropriate);
/// let diverging: Vec<f64> = (0..20).map(|i| 2.0 * 1.1f64.powi(i)).collect();
/// assert_eq!(diagnose_lr(&diverging, None, &cfg).verdict, LrVerdict::TooHigh);
/// assert_eq!(diagnose_lr(&[1.0, 0.9], None, &cfg).verdict, LrVerdict::InsufficientData);
/// ```
pub fn diagnose_lr(losses: &[f64], lrs: Option<&[f64]>, cfg: &LrDiagnosisConfig) -> LrAssessment {
    let mut tracker = Tracker::new(cfg);
    for (i, &loss) in losses.iter().enumerate() {
        tracker.push(loss, lrs.and_then(|l| l.get(i).copied()), cfg);
    }
    tracker.assess(cfg)
}

/// Which loss values the live diagnosis reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossGranularity {
    /// Per-step values when the loop reports any; epoch-end values until it does (the default).
    #[default]
    Auto,
    /// Only per-step values (`on_step_end`).
    Steps,
    /// Only epoch-end values (`on_epoch_end`).
    Epochs,
}

/// Whether a kind of finding is being reported: once when it starts, again only after it has been
/// absent for a whole window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Episode {
    active: bool,
    quiet: usize,
}

/// How many whole windows a finding must stay absent before it can be reported again.
pub const QUIET_WINDOWS: usize = 10;

/// The kinds with episodes of their own, in slot order.
const EPISODE_KINDS: [DiagnosisKind; 3] = [
    DiagnosisKind::Divergence,
    DiagnosisKind::LrTooHigh,
    DiagnosisKind::LrTooLow,
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct State {
    tracker: Tracker,
    episodes: [Episode; 3],
    step_values: bool,
    /// Step of the value where the level last reached its running minimum: where a rise began.
    #[serde(default)]
    min_step: u64,
}

/// Live learning-rate diagnosis of a loss (by default `train/loss`); see the [module
/// docs](self) for the rules.
///
/// It emits a diagnosis when a finding starts (`divergence`, `lr_too_high`, `lr_too_low`), and again
/// only after that kind has been absent for [`QUIET_WINDOWS`] whole windows. It never stops training or changes the
/// learning rate; read the verdict after the run with [`LrDiagnosis::verdict`] (through
/// [`Bus::callback`](crate::Bus::callback)). The learning rate comes from
/// [`StepEnd::with_lr`](crate::StepEnd::with_lr), or else [`Context::lr`].
///
/// No allocation per step (the window is allocated by the constructor); see the module docs for the
/// cost.
///
/// ```
/// use curvewatch::callbacks::lr_diagnosis::{LrDiagnosis, LrVerdict};
/// use curvewatch::{Bus, Split, StepEnd};
///
/// let mut bus = Bus::new();
/// bus.add(LrDiagnosis::new());
/// let loss = bus.metric(Split::Train, "loss");
/// for step in 1..=60u64 {
///     // The loss falls under lr 1e-3; at step 21 the learning rate is raised to 1e-2 and it climbs.
///     let (lr, l) = if step <= 20 { (1e-3, 3.0 - 0.02 * step as f64) } else { (1e-2, 2.6 + 0.05 * (step - 20) as f64) };
///     bus.step_end(&StepEnd::new(step, &[(loss, l)]).with_lr(lr)).unwrap();
/// }
/// let diag = bus.callback::<LrDiagnosis>().unwrap();
/// assert_eq!(diag.verdict(), LrVerdict::TooHigh);
/// assert_eq!(diag.assessment().rise_lr, Some(1e-2));
/// ```
pub struct LrDiagnosis {
    monitor: Monitor,
    config: LrDiagnosisConfig,
    granularity: LossGranularity,
    state: State,
    label: String,
}

impl Default for LrDiagnosis {
    fn default() -> Self {
        Self::new()
    }
}

impl LrDiagnosis {
    /// Watches `train/loss` with [`LrDiagnosisConfig::new`].
    pub fn new() -> Self {
        let config = LrDiagnosisConfig::new();
        let monitor = Monitor::new(Split::Train, "loss");
        LrDiagnosis {
            label: monitor.label(),
            monitor,
            state: State {
                tracker: Tracker::new(&config),
                episodes: [Episode::default(); 3],
                step_values: false,
                min_step: 0,
            },
            granularity: LossGranularity::Auto,
            config,
        }
    }

    /// Uses `config` (allocates its window; any state so far is dropped).
    pub fn with_config(mut self, config: LrDiagnosisConfig) -> Self {
        self.state.tracker = Tracker::new(&config);
        self.config = config;
        self
    }

    /// Watches another loss (a loss-like metric: lower is better; the direction is not used).
    pub fn with_monitor(mut self, monitor: Monitor) -> Self {
        self.label = monitor.label();
        self.monitor = monitor;
        self
    }

    /// Chooses per-step or per-epoch values (default [`LossGranularity::Auto`]).
    pub fn with_granularity(mut self, granularity: LossGranularity) -> Self {
        self.granularity = granularity;
        self
    }

    /// The verdict on the values so far (`InsufficientData` before `min_points` values); the same
    /// as [`diagnose_lr`] on them. O(window).
    pub fn verdict(&self) -> LrVerdict {
        self.assessment().verdict
    }

    /// The assessment of the values so far, with its evidence; the same as [`diagnose_lr`] on them.
    /// O(window): judged afresh on each call, whatever the `check_every` cadence.
    pub fn assessment(&self) -> LrAssessment {
        self.state.tracker.assess(&self.config)
    }

    /// The configuration.
    pub fn config(&self) -> &LrDiagnosisConfig {
        &self.config
    }

    /// Non-finite loss values skipped so far.
    pub fn non_finite_seen(&self) -> u64 {
        self.state.tracker.non_finite()
    }

    /// Notes one loss value; judges the window every `check_every` values, or at every value when
    /// `every_value` (epoch-level values come a few dozen per run: each one counts).
    #[inline]
    fn observe(&mut self, ctx: &mut Context<'_>, loss: f64, lr: Option<f64>, every_value: bool) {
        let due = self.state.tracker.note(loss, lr);
        if due || (every_value && loss.is_finite()) {
            let min_at = self.state.tracker.min_at();
            let a = self.state.tracker.check(&self.config);
            if self.state.tracker.min_at() != min_at || self.state.tracker.near_min() {
                // The level is judged at each check: a rise is dated from the last check that
                // found it at (or within its noise of) its minimum.
                self.state.min_step = ctx.step();
            }
            self.report(ctx, a);
        }
    }

    /// Reports the findings of a judgement that start an episode.
    #[inline(never)]
    fn report(&mut self, ctx: &mut Context<'_>, a: LrAssessment) {
        let found = a.finding.diagnosis_kind().map(|(k, _)| k);
        // An episode clears after QUIET_WINDOWS whole windows of values without its finding, so
        // that a measure hovering around its threshold does not report again and again.
        let clear_after =
            (QUIET_WINDOWS * self.config.window()).div_ceil(self.config.check_every());
        for (slot, kind) in EPISODE_KINDS.iter().enumerate() {
            let ep = &mut self.state.episodes[slot];
            if found == Some(*kind) {
                ep.quiet = 0;
                if !ep.active {
                    ep.active = true;
                    if let Some(mut d) = a.to_diagnosis(&self.label, self.config.thresholds()) {
                        if *kind != DiagnosisKind::LrTooLow {
                            // A rise runs from the level's minimum: its onset, not where it
                            // was noticed.
                            let mut e = crate::diagnosis::Episode::at(self.state.min_step);
                            e.end_step = ctx.step();
                            d = d.with_episode(e);
                        }
                        ctx.emit(d);
                    }
                }
            } else if ep.active {
                ep.quiet += 1;
                if ep.quiet >= clear_after {
                    *ep = Episode::default();
                }
            }
        }
    }
}

impl Callback for LrDiagnosis {
    fn step_filter(&self) -> StepFilter {
        match self.granularity {
            LossGranularity::Epochs => StepFilter::Never,
            _ => self.monitor.step_filter(),
        }
    }

    fn on_step_end(&mut self, ctx: &mut Context<'_>, ev: &StepEnd<'_>) -> CallbackResult {
        if self.granularity == LossGranularity::Epochs {
            return Ok(());
        }
        if let Some(loss) = self.monitor.value_in(ctx, ev.metrics) {
            self.state.step_values = true;
            let lr = ev.lr.or_else(|| ctx.lr());
            self.observe(ctx, loss, lr, false);
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, ctx: &mut Context<'_>, ev: &EpochEnd<'_>) -> CallbackResult {
        let wanted = match self.granularity {
            LossGranularity::Steps => false,
            LossGranularity::Epochs => true,
            LossGranularity::Auto => !self.state.step_values,
        };
        if wanted {
            if let Some(loss) = self.monitor.value_in(ctx, ev.metrics) {
                let lr = ctx.lr();
                self.observe(ctx, loss, lr, true);
            }
        }
        Ok(())
    }

    fn save_state(&self) -> Result<Option<serde_json::Value>, CallbackError> {
        state_to_value(&self.state)
    }

    fn load_state(&mut self, state: serde_json::Value) -> CallbackResult {
        let mut s: State = state_from_value(state)?;
        s.tracker
            .validate(&self.config)
            .map_err(CallbackError::new)?;
        self.state = s;
        Ok(())
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}
