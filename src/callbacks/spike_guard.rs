//! [`SpikeGuard`]: catches loss and gradient-norm spikes and non-finite values, and reports them,
//! stops training, or asks for a learning-rate cut.
//!
//! A spike is a value far above the metric's current level on three counts, against a trailing
//! window of its previous values (128 by default, OLMo's):
//! - more than `k` noise standard deviations above the level (OLMo's k = 6; configurable), where
//!   the level is a line through the latest 16 values read at the candidate, and the noise comes
//!   from successive differences over the window, so that a trend inside the window is neither
//!   (a loss logged every 50 steps moves a lot over 128 values); the bar allows for a noise
//!   measured from few values (`t`-distributed: 6.5 at 128 values, 13 at 16);
//! - more than [`LOG_K`] such deviations above it on the log scale (losses and gradient norms
//!   are positive with multiplicative noise: on a skewed per-batch loss a linear 6σ is routine);
//! - at least `min_ratio` times the level ([`DEFAULT_LOSS_MIN_RATIO`],
//!   [`DEFAULT_GRAD_MIN_RATIO`]). The z-score alone floods on heavy-tailed metrics: a healthy GPT-2
//!   run's gradient norm is 7 standard deviations above its mean at 0.60 against 0.33, dozens of
//!   times.
//!
//! The hot path only filters (above the window's `mean + k·std`, or far above the last value);
//! the test itself runs for the rare candidates. The spike itself is not admitted into the window,
//! so one spike does not raise the bar for the next.
//!
//! Early in a run the window is too short for a standard deviation to mean much: until it holds
//! `min_fill` values (default 16), a candidate is judged one value late, against its neighbours: it
//! must be `min_ratio` times the largest of the (up to three) values before it *and* the value after
//! it, and past both z-scores once the window holds four values (before that, twice `min_ratio`:
//! magnitude alone). The bars of a short window are high (about 240σ at 5 values, 13σ at 16: five
//! values of a per-batch loss with a 50% spread can look tight by chance), so early on only large
//! spikes are caught. An isolated gradient-norm spike of 28 at the third logged value (median 0.6)
//! is caught this way.
//!
//! Should values stay above the bar for `min_fill` values in a row, the metric has moved to a new
//! level: the window is emptied and learns the new level. So it is when the steps go back (a
//! restarted run, several runs in one log): a new curve is not a spike against the old one. A NaN or ±inf value is a non-finite
//! event; it never enters the window either.
//!
//! **Episodes.** A spike closer than [`EPISODE_GAP`] of the steps so far to the previous one joins
//! its episode: a storm is one diagnosis, revised in place ([`Context::revise`]) with its extent,
//! count and largest spike. A new episode is a warning when it is the metric's first, or when its
//! magnitude exceeds [`ESCALATION`] times every earlier one's; otherwise it is info.
//!
//! One guard watches one metric ([`SpikeGuard::loss`], [`SpikeGuard::grad_norm`],
//! [`SpikeGuard::new`]). Spikes and non-finite values each have their own [`SpikeAction`]: by
//! default a spike is reported and a non-finite value stops training (rule `non_finite`). A stop for
//! a spike carries the rule `loss_spike` (or `grad_norm_spike` for a gradient-norm guard). Each
//! episode (spikes, or consecutive non-finite values) is acted on once; every value is counted
//! ([`SpikeGuard::counts`]).

mod action;
mod episode;
mod measure;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

pub use action::{
    LrFactor, SpikeAction, SpikeCounts, SpikeGuardError, DEFAULT_GRAD_MIN_RATIO, DEFAULT_K,
    DEFAULT_LOSS_MIN_RATIO, DEFAULT_MIN_FILL, DEFAULT_WINDOW, EPISODE_GAP, ESCALATION, LOG_K,
};
use episode::{Neighbours, Pending, SpikeEpisode};

use super::monitor::Monitor;
use crate::analysis::trend::RollingStats;
use crate::callback::{
    state_from_value, state_to_value, Callback, CallbackError, CallbackResult, StepFilter,
};
use crate::context::Context;
use crate::diagnosis::{Diagnosis, DiagnosisKind, Severity};
use crate::event::{EpochEnd, EvalEnd, MetricKey, Split, StepEnd};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct State {
    window: RollingStats,
    counts: SpikeCounts,
    /// Consecutive spikes so far (0 outside a spike episode).
    run: usize,
    in_non_finite: bool,
    step_values: bool,
    /// The last (up to three) values admitted, newest last: the neighbours of an early candidate.
    #[serde(default)]
    recent: Neighbours,
    /// An early candidate waiting for the value after it.
    #[serde(default)]
    pending: Option<Pending>,
    /// The current (or latest) spike episode.
    #[serde(default)]
    episode: Option<SpikeEpisode>,
    /// The largest magnitude (ratio to the level) of any episode reported as a warning.
    #[serde(default)]
    warned_ratio: f64,
    /// The last value admitted (0 before any).
    #[serde(default, with = "crate::persist::float")]
    last: f64,
    /// A moving average of `|value − last|` over admitted values: the hot path's cheap noise scale.
    #[serde(default, with = "crate::persist::float")]
    abs_diff: f64,
    /// The step of the last value judged: a value at an earlier step starts a new curve.
    #[serde(default)]
    last_step: u64,
}

/// Watches one metric for spikes and non-finite values; see the [module docs](self).
///
/// Per value: O(1), no allocation (the window is allocated by the constructor).
///
/// ```
/// use curvewatch::callbacks::spike_guard::{SpikeAction, SpikeGuard};
/// use curvewatch::{Bus, DiagnosisKind, Split, StepEnd};
///
/// let mut bus = Bus::new();
/// bus.add(SpikeGuard::loss().with_spike_action(SpikeAction::Stop));
/// let loss = bus.metric(Split::Train, "loss");
/// for step in 1..=100u64 {
///     let l = if step == 80 { 9.0 } else { 2.0 + 0.01 * ((step * 7) % 5) as f64 };
///     if bus.step_end(&StepEnd::new(step, &[(loss, l)])).unwrap().should_stop() {
///         break;
///     }
/// }
/// let stop = bus.stop_reason().unwrap();
/// assert_eq!((stop.rule.as_ref(), stop.step), ("loss_spike", 80));
/// assert_eq!(bus.diagnoses()[0].kind, DiagnosisKind::LossSpike);
/// assert_eq!(bus.callback::<SpikeGuard>().unwrap().counts().spikes, 1);
/// ```
pub struct SpikeGuard {
    monitor: Monitor,
    kind: DiagnosisKind,
    k: f64,
    min_ratio: f64,
    min_fill: usize,
    on_spike: SpikeAction,
    on_non_finite: SpikeAction,
    state: State,
    label: String,
    /// Room for the window's successive differences (the cold path's median), allocated once.
    scratch: Vec<f64>,
}

impl SpikeGuard {
    /// Guards `train/loss` (diagnosis kind `loss_spike`).
    pub fn loss() -> Self {
        Self::with_kind(Split::Train, "loss", DiagnosisKind::LossSpike)
    }

    /// Guards `train/grad_norm` (diagnosis kind `grad_norm_spike`).
    pub fn grad_norm() -> Self {
        Self::with_kind(Split::Train, "grad_norm", DiagnosisKind::GradNormSpike)
    }

    /// Guards `split/metric`: a gradient-norm guard when the name contains `grad`, a loss guard
    /// otherwise.
    pub fn new(split: Split, metric: &str) -> Self {
        let kind = if metric.to_ascii_lowercase().contains("grad") {
            DiagnosisKind::GradNormSpike
        } else {
            DiagnosisKind::LossSpike
        };
        Self::with_kind(split, metric, kind)
    }

    fn with_kind(split: Split, metric: &str, kind: DiagnosisKind) -> Self {
        let monitor = Monitor::new(split, metric);
        SpikeGuard {
            label: monitor.label(),
            monitor,
            kind,
            k: DEFAULT_K,
            min_ratio: if kind == DiagnosisKind::GradNormSpike {
                DEFAULT_GRAD_MIN_RATIO
            } else {
                DEFAULT_LOSS_MIN_RATIO
            },
            min_fill: DEFAULT_MIN_FILL,
            on_spike: SpikeAction::Report,
            on_non_finite: SpikeAction::Stop,
            state: State {
                window: default_window(),
                counts: SpikeCounts::default(),
                run: 0,
                in_non_finite: false,
                step_values: false,
                recent: Neighbours::default(),
                pending: None,
                episode: None,
                warned_ratio: 0.0,
                last: 0.0,
                abs_diff: 0.0,
                last_step: 0,
            },
            scratch: Vec::with_capacity(DEFAULT_WINDOW),
        }
    }

    /// Sets the threshold in standard deviations (finite, > 0; default 6).
    pub fn with_k(mut self, k: f64) -> Result<Self, SpikeGuardError> {
        if !(k.is_finite() && k > 0.0) {
            return Err(SpikeGuardError::K(k));
        }
        self.k = k;
        Ok(self)
    }

    /// Sets the magnitude floor: a spike must be at least `ratio` times the typical level (finite,
    /// at least 1; 1 leaves the z-score alone to decide).
    pub fn with_min_ratio(mut self, ratio: f64) -> Result<Self, SpikeGuardError> {
        if !(ratio.is_finite() && ratio >= 1.0) {
            return Err(SpikeGuardError::MinRatio(ratio));
        }
        self.min_ratio = ratio;
        Ok(self)
    }

    /// Sets the trailing window (default 128 values; allocates it, dropping what was seen). A
    /// `min_fill` above the new window is lowered to it.
    pub fn with_window(mut self, window: NonZeroUsize) -> Result<Self, SpikeGuardError> {
        self.state.window = RollingStats::new(window)?;
        self.scratch = Vec::with_capacity(window.get());
        self.min_fill = self.min_fill.min(window.get()).max(2);
        Ok(self)
    }

    /// Sets how many values the window must hold before the z-score alone flags a candidate
    /// (2..=window; default 16); before that, candidates are judged against their neighbours.
    pub fn with_min_fill(mut self, min_fill: usize) -> Result<Self, SpikeGuardError> {
        let window = self.state.window.capacity();
        if !(2..=window).contains(&min_fill) {
            return Err(SpikeGuardError::MinFill { min_fill, window });
        }
        self.min_fill = min_fill;
        Ok(self)
    }

    /// What to do when a spike episode starts (default [`SpikeAction::Report`]).
    pub fn with_spike_action(mut self, action: SpikeAction) -> Self {
        self.on_spike = action;
        self
    }

    /// What to do when a run of non-finite values starts (default [`SpikeAction::Stop`]).
    pub fn with_non_finite_action(mut self, action: SpikeAction) -> Self {
        self.on_non_finite = action;
        self
    }

    /// Spikes, non-finite values, their last steps, and learning-rate cuts so far.
    pub fn counts(&self) -> SpikeCounts {
        self.state.counts
    }

    /// Mean and standard deviation of the window now (`None` below 2 values).
    pub fn baseline(&self) -> Option<(f64, f64)> {
        self.state.window.mean_std()
    }

    /// `split/metric` of the guarded metric.
    pub fn metric(&self) -> &str {
        &self.label
    }

    /// The diagnosis kind of a spike (`loss_spike` or `grad_norm_spike`).
    pub fn kind(&self) -> DiagnosisKind {
        self.kind
    }

    /// The stop rule of a spike: `loss_spike` or `grad_norm_spike`.
    pub fn spike_rule(&self) -> &'static str {
        self.kind.as_str()
    }

    #[inline(always)]
    fn observe(&mut self, ctx: &mut Context<'_>, value: f64) {
        if !value.is_finite() {
            self.non_finite(ctx, value);
            return;
        }
        self.state.in_non_finite = false;
        let step = ctx.step();
        if step < self.state.last_step {
            self.restart();
        }
        self.state.last_step = step;
        if self.state.window.len() < self.min_fill {
            self.observe_early(ctx, value);
            return;
        }
        self.observe_filled(ctx, value);
    }

    /// The steps went back (a run restarted from an earlier step, or several runs logged into one
    /// file): its values are a new curve, not spikes against the old one. The window learns again.
    #[cold]
    #[inline(never)]
    fn restart(&mut self) {
        let s = &mut self.state;
        s.window.clear();
        s.recent.clear();
        s.pending = None;
        s.run = 0;
        s.last = 0.0;
        s.abs_diff = 0.0;
    }

    /// Judges a finite value against a window of at least `min_fill` values.
    #[inline(always)]
    fn observe_filled(&mut self, ctx: &mut Context<'_>, value: f64) {
        // A cheap filter, computed for every value (no branch on "above the mean", which noise
        // makes a coin flip the processor cannot predict): above the window's `mean + k·std`, or
        // more than PREFILTER mean absolute differences above the last value. The exact test
        // (`candidate`, cold) measures against the current level and the detrended noise; the
        // second arm keeps spikes that a trend inside the window would hide from the first.
        if let Some((mean, std)) = self.state.window.mean_std() {
            // A constant window still needs a (tiny) margin: 1e-12 of the level.
            let spread = std.max(1e-12 * mean.abs()).max(f64::MIN_POSITIVE);
            let over_window = value > mean + self.k * spread;
            let over_last = value - self.state.last > PREFILTER * self.state.abs_diff;
            if (over_window | over_last) && self.candidate(ctx, value) {
                return;
            }
        }
        self.admit(value);
    }

    /// Admits a value that is not a spike into the window (and the neighbours).
    #[inline(always)]
    fn admit(&mut self, value: f64) {
        let s = &mut self.state;
        s.abs_diff += ABS_DIFF_WEIGHT * ((value - s.last).abs() - s.abs_diff);
        s.last = value;
        self.state.run = 0;
        self.state.window.push(value);
        self.state.recent.push(value);
    }

    fn spike_advice(&self, count: u32) -> &'static str {
        match (self.kind == DiagnosisKind::GradNormSpike, count > 1) {
            (true, false) => {
                "one isolated spike that recovers is usually harmless; clip gradients near their \
                 typical norm so that one bad batch cannot move the weights far"
            }
            (true, true) => {
                "recurring spikes: clip gradients near their typical norm, lower the learning \
                 rate or raise Adam's epsilon; look for bad batches at the spike steps"
            }
            (false, false) => {
                "one spike that recovers is usually harmless; if they recur, lower the learning \
                 rate, clip gradients, or skip the offending batches"
            }
            (false, true) => {
                "recurring loss spikes: lower the learning rate, clip gradients, or skip the \
                 offending batches (rewind to a checkpoint before the first one)"
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn non_finite(&mut self, ctx: &mut Context<'_>, value: f64) {
        let step = ctx.step();
        let s = &mut self.state;
        s.counts.non_finite += 1;
        s.counts.last_non_finite_step = Some(step);
        s.run = 0;
        if s.in_non_finite {
            return;
        }
        s.in_non_finite = true;
        let mut d = Diagnosis::new(
            DiagnosisKind::NonFinite,
            Severity::Critical,
            format!("{} became {value} at step {step}", self.label),
        )
        .with_metric(self.label.clone())
        .with_value(value)
        .with_evidence("value", value)
        .with_recommendation(
            "lower the learning rate, clip gradients, and look for log(0) or a division by zero \
             in the loss; with fp16, use loss scaling or bf16",
        );
        if let Some((mean, std)) = self.baseline() {
            d = d
                .with_evidence("last_mean", mean)
                .with_evidence("last_std", std);
        }
        self.act(ctx, self.on_non_finite, d, "non_finite");
    }

    fn act(
        &mut self,
        ctx: &mut Context<'_>,
        action: SpikeAction,
        mut d: Diagnosis,
        rule: &'static str,
    ) {
        match action {
            SpikeAction::Report => {}
            SpikeAction::Stop => ctx.stop(rule, d.message.clone()),
            SpikeAction::CutLr(f) => match ctx.lr() {
                Some(lr) if lr.is_finite() && lr > 0.0 => {
                    let new = lr * f.get();
                    ctx.set_lr(new);
                    self.state.counts.lr_cuts += 1;
                    if rule != "non_finite" {
                        // Kept with the spike episode, so that its revisions still say so.
                        if let Some(e) = self.state.episode.as_mut() {
                            e.lr_cut = Some((lr, new));
                        }
                    }
                    d = d
                        .with_evidence("lr_before", lr)
                        .with_evidence("lr_after", new);
                    d.message
                        .push_str(&format!("; learning rate cut {lr:.3e} -> {new:.3e}"));
                }
                _ => d.message.push_str("; learning rate unknown, not cut"),
            },
        }
        ctx.emit(d);
    }

    /// Judges the guarded metric if `metrics` carries it; returns whether it did.
    #[inline]
    fn guard(&mut self, ctx: &mut Context<'_>, metrics: &[(MetricKey, f64)]) -> bool {
        match self.monitor.value_in(ctx, metrics) {
            Some(v) => {
                self.observe(ctx, v);
                true
            }
            None => false,
        }
    }
}

/// The hot path's second filter, in mean absolute differences (one is about 1.13 noise standard
/// deviations): 3 of them is 3.4σ, so a spike 6σ above the level passes it unless the value before
/// it was itself 2.6σ high (1 in 200); a healthy value passes it about 1 time in 60, and the exact
/// test then costs a pass over the window.
const PREFILTER: f64 = 3.0;
/// The weight of a new difference in the moving average of `|value − last|` (about 32 values).
const ABS_DIFF_WEIGHT: f64 = 1.0 / 32.0;

fn default_window() -> RollingStats {
    // DEFAULT_WINDOW is far below trend::MAX_WINDOW; only an allocation failure (which aborts the
    // process before this could see it) could make this fail.
    RollingStats::new(NonZeroUsize::MIN.saturating_add(DEFAULT_WINDOW - 1))
        .expect("a 128-value window is within MAX_WINDOW")
}

impl Callback for SpikeGuard {
    fn step_filter(&self) -> StepFilter {
        self.monitor.step_filter()
    }

    fn on_step_end(&mut self, ctx: &mut Context<'_>, ev: &StepEnd<'_>) -> CallbackResult {
        if self.guard(ctx, ev.metrics) {
            self.state.step_values = true;
        }
        Ok(())
    }

    fn on_eval_end(&mut self, ctx: &mut Context<'_>, ev: &EvalEnd<'_>) -> CallbackResult {
        self.guard(ctx, ev.metrics);
        Ok(())
    }

    fn on_epoch_end(&mut self, ctx: &mut Context<'_>, ev: &EpochEnd<'_>) -> CallbackResult {
        // Epoch-level values (means) would not mix with per-step ones in one window.
        if !self.state.step_values {
            self.guard(ctx, ev.metrics);
        }
        Ok(())
    }

    fn save_state(&self) -> Result<Option<serde_json::Value>, CallbackError> {
        state_to_value(&self.state)
    }

    fn load_state(&mut self, state: serde_json::Value) -> CallbackResult {
        let s: State = state_from_value(state)?;
        let (saved, ours) = (s.window.capacity(), self.state.window.capacity());
        if saved != ours {
            return Err(CallbackError::new(format!(
                "saved window of {saved} values does not match the configured window of {ours}"
            )));
        }
        self.state = s;
        Ok(())
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}
