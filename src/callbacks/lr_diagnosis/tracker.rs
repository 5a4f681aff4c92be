//! The streaming state behind both the live callback and [`diagnose_lr`](super::diagnose_lr): the
//! window, the level's start and running minimum, the learning-rate history, and the rules.

use serde::{Deserialize, Serialize};

use crate::analysis::trend::median_in_place;

use super::assessment::{LrAssessment, LrFinding};
use super::config::{LrDiagnosisConfig, LrThresholds};
use super::window::{Window, WindowStats, CLAMP, LEVEL_SPAN};

/// A learning rate counts as changed when it moves by more than this fraction (float jitter of a
/// schedule is not a change).
const LR_TOLERANCE: f64 = 1e-9;

/// A rise counts as begun once the level stands this many noise units above its minimum: the
/// learning rate in force then is reported as the one at which the rise began.
const RISE_START_SIGMA: f64 = 3.0;

/// What the learning-rate history says around the current window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
struct LrHistory {
    #[serde(with = "crate::persist::opt_float")]
    last: Option<f64>,
    #[serde(with = "crate::persist::opt_float")]
    peak: Option<f64>,
    /// Value count at the last increase / decrease of the learning rate.
    last_rise_at: Option<u64>,
    last_drop_at: Option<u64>,
    /// Learning rate in force when the level first stood [`RISE_START_SIGMA`] noise units above its
    /// last minimum (`None` until then).
    #[serde(with = "crate::persist::opt_float")]
    rise_lr: Option<f64>,
    rise_pending: bool,
}

/// How many block means the level is the median of.
const BLOCKS: usize = 3;
/// A level within this many of its noise units of the running minimum is still at the bottom.
const NEAR_MIN: f64 = 2.0;
/// The standard deviation of the median of three standard normal values.
const LEVEL_MEDIAN_SD: f64 = 0.67;

/// The level's running blocks: the mean of the values between two judgements (a block), and the
/// means of the last [`BLOCKS`] blocks. The level is the median of those means.
///
/// Why blocks: the rise rules compare the level with its running minimum. A level that is itself
/// noisy (it was the median of the newest five values: about half the noise of one) drifts, over
/// thousands of values, to a minimum several of its own noise units below the truth, and a later
/// level as far above it: on a per-batch loss with 20% noise that made a healthy run "rise 3.2
/// noise units above its minimum". The mean of a block of 10 values has a third of the noise, the
/// median of three such means is still robust to a spike in one of them, and the rules allow for
/// the extremes ([`Blocks::extremes_allowance`]). Epoch-level losses are judged at every value: a
/// block is one value, and the level is the median of the newest three.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Blocks {
    #[serde(with = "crate::persist::float")]
    sum: f64,
    n: u32,
    /// Finite: means of clamped finite values.
    means: [f64; BLOCKS],
    len: u8,
    /// The level at the last judgement (NaN before).
    #[serde(with = "crate::persist::float")]
    level: f64,
    /// Values in the last block closed, and blocks closed so far.
    #[serde(default)]
    last_len: u32,
    #[serde(default)]
    closed: u64,
}

impl Blocks {
    #[inline(always)]
    fn add(&mut self, y: f64) {
        self.sum += y;
        self.n += 1;
    }

    /// Closes the current block (if it holds values) and returns the level: the median of the
    /// last block means.
    fn close(&mut self) -> f64 {
        if self.n > 0 {
            let mean = self.sum / f64::from(self.n);
            self.means.rotate_left(1);
            self.means[BLOCKS - 1] = mean;
            self.len = (self.len + 1).min(BLOCKS as u8);
            self.last_len = self.n;
            self.closed += 1;
            self.sum = 0.0;
            self.n = 0;
        }
        let mut v = [0.0; BLOCKS];
        let held = &self.means[BLOCKS - usize::from(self.len)..];
        v[..held.len()].copy_from_slice(held);
        self.level = median_in_place(&mut v[..held.len()]).unwrap_or(f64::NAN);
        self.level
    }

    /// The level's noise for a value noise `sigma`: the median of three means of `last_len`
    /// values has a standard deviation of about `0.67·σ/√last_len`.
    fn level_noise(&self, sigma: f64) -> f64 {
        LEVEL_MEDIAN_SD * sigma / f64::from(self.last_len.max(1)).sqrt()
    }

    /// How far apart two extremes of the level stand by chance after the levels so far: the
    /// running minimum and the latest level each sit up to `√(2 ln m)` level noise units from the
    /// truth, after `m` levels.
    fn extremes_allowance(&self) -> f64 {
        2.0 * (2.0 * (self.closed.max(1) as f64).ln()).sqrt()
    }
}

/// Everything the diagnosis remembers; serialisable so that a resumed run judges identically.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Tracker {
    window: Window,
    seen: u64,
    non_finite: u64,
    #[serde(with = "crate::persist::opt_float")]
    start_level: Option<f64>,
    #[serde(with = "crate::persist::opt_float")]
    min_level: Option<f64>,
    min_at: u64,
    /// Noise scale (successive differences) at the last judgement: the yardstick for "a rise has
    /// begun" between judgements. NaN before the first.
    #[serde(with = "crate::persist::float")]
    noise: f64,
    /// Admitted values until the next judgement.
    until_check: usize,
    lr: LrHistory,
    #[serde(default)]
    blocks: Blocks,
    /// The noise when the running minimum was last set: the yardstick of a rise above it. A loss
    /// with multiplicative noise that climbs 1000-fold has 1000 times the noise at its top; in
    /// that noise it never stands "far" above where it was. NaN before the first minimum.
    #[serde(default = "nan", with = "crate::persist::float")]
    min_noise: f64,
}

fn nan() -> f64 {
    f64::NAN
}

/// Learning-rate facts the rules use.
struct LrFlags {
    min_in_window: bool,
    rose_before_rise: bool,
    rising: bool,
    dropped: bool,
    decayed: bool,
    /// Whether the run has lasted four windows: "flat since the start" over fewer values is a
    /// statement about the first few dozen steps of a run, which any curve passes.
    long_enough: bool,
}

impl Tracker {
    /// An empty state for `cfg`; allocates the window's buffer.
    pub(super) fn new(cfg: &LrDiagnosisConfig) -> Self {
        Tracker {
            window: Window::new(cfg.window()),
            seen: 0,
            non_finite: 0,
            start_level: None,
            min_level: None,
            min_at: 0,
            noise: f64::NAN,
            until_check: cfg.check_every(),
            lr: LrHistory::default(),
            blocks: Blocks {
                level: f64::NAN,
                ..Blocks::default()
            },
            min_noise: f64::NAN,
        }
    }

    /// Checks a deserialised state against `cfg` (window size), reserves the buffer, and keeps the
    /// next judgement within `check_every` values.
    pub(super) fn validate(&mut self, cfg: &LrDiagnosisConfig) -> Result<(), String> {
        self.until_check = self.until_check.clamp(1, cfg.check_every());
        self.window.validate(cfg.window())
    }

    /// Non-finite values refused so far.
    /// Position (among finite values) of the level's running minimum.
    #[inline(always)]
    pub(super) fn min_at(&self) -> u64 {
        self.min_at
    }

    pub(super) fn non_finite(&self) -> u64 {
        self.non_finite
    }

    /// Adds one loss value and the learning rate it was computed under (non-finite losses are
    /// counted and skipped, though their learning rate is still noted; a non-finite or negative
    /// learning rate counts as unknown). Every `check_every` admitted values it judges and returns
    /// the assessment; otherwise O(1). No allocation.
    pub(super) fn push(
        &mut self,
        loss: f64,
        lr: Option<f64>,
        cfg: &LrDiagnosisConfig,
    ) -> Option<LrAssessment> {
        self.note(loss, lr).then(|| self.check(cfg))
    }

    /// The O(1) part of [`Tracker::push`]: notes the values and returns whether a judgement is due
    /// (then [`Tracker::check`] must follow).
    #[inline(always)]
    pub(super) fn note(&mut self, loss: f64, lr: Option<f64>) -> bool {
        // The schedule is followed even through skipped losses.
        if let Some(lr) = lr.filter(|l| l.is_finite() && *l >= 0.0) {
            self.note_lr(lr);
        }
        if !loss.is_finite() {
            self.non_finite += 1;
            return false;
        }
        self.window.push(loss);
        self.blocks.add(loss.clamp(-CLAMP, CLAMP));
        self.seen += 1;
        self.until_check = self.until_check.saturating_sub(1);
        self.until_check == 0
    }

    /// The judgement due after [`Tracker::note`] returned `true` (O(window)).
    #[inline(never)]
    pub(super) fn check(&mut self, cfg: &LrDiagnosisConfig) -> LrAssessment {
        self.until_check = cfg.check_every();
        let stats = self.window.stats();
        if let Some(s) = &stats {
            self.noise = s.diff_noise;
        }
        let level = self.blocks.close();
        if self.window.len() >= LEVEL_SPAN && level.is_finite() {
            self.note_level(level);
        }
        self.judge(stats, cfg)
    }

    #[inline]
    fn note_lr(&mut self, lr: f64) {
        let h = &mut self.lr;
        match h.last {
            // Unchanged (the common case): the peak already covers it.
            Some(prev) if prev == lr => return,
            Some(prev) if lr > prev * (1.0 + LR_TOLERANCE) => h.last_rise_at = Some(self.seen),
            Some(prev) if lr < prev * (1.0 - LR_TOLERANCE) => h.last_drop_at = Some(self.seen),
            _ => {}
        }
        h.last = Some(lr);
        if h.peak.is_none_or(|p| lr > p) {
            h.peak = Some(lr);
        }
    }

    #[inline]
    fn note_level(&mut self, level: f64) {
        self.start_level.get_or_insert(level);
        if self.min_level.is_none_or(|m| level < m) {
            self.min_level = Some(level);
            self.min_at = self.seen;
            self.min_noise = self.noise;
            self.lr.rise_pending = true;
            self.lr.rise_lr = None;
        } else if self.lr.rise_pending
            && level - self.min_level.unwrap_or(level) >= RISE_START_SIGMA * self.rise_noise()
        {
            self.lr.rise_pending = false;
            self.lr.rise_lr = self.lr.last;
        }
    }

    /// Whether the level at the last judgement stood within [`NEAR_MIN`] of its own noise units of
    /// the running minimum: a rise above the minimum begins after the last such judgement (the
    /// bottom of a smooth turn is flat, and its lowest noisy level can come well before the climb).
    pub(super) fn near_min(&self) -> bool {
        match self.min_level {
            Some(min) if self.blocks.level.is_finite() => {
                self.blocks.level - min <= NEAR_MIN * self.blocks.level_noise(self.rise_noise())
            }
            _ => false,
        }
    }

    /// The yardstick of a rise: the noise at the minimum, or the current noise before one.
    fn rise_noise(&self) -> f64 {
        if self.min_noise.is_finite() && self.min_noise > 0.0 {
            self.min_noise
        } else {
            self.noise
        }
    }

    fn flags(&self, t: &LrThresholds) -> LrFlags {
        let w = self.window.capacity() as u64;
        let recent = |at: Option<u64>| at.is_some_and(|i| self.seen - i < w);
        let h = &self.lr;
        LrFlags {
            min_in_window: self.seen - self.min_at < w,
            rose_before_rise: h.last_rise_at.is_some_and(|i| i + w >= self.min_at),
            rising: recent(h.last_rise_at),
            dropped: recent(h.last_drop_at),
            decayed: matches!((h.last, h.peak), (Some(l), Some(p)) if l < t.schedule_decay * p),
            long_enough: self.seen >= 4 * w,
        }
    }

    /// The verdict on the current state, by the rules of `cfg` (O(window); changes nothing).
    pub(super) fn assess(&self, cfg: &LrDiagnosisConfig) -> LrAssessment {
        self.judge(self.window.stats(), cfg)
    }

    fn judge(&self, stats: Option<WindowStats>, cfg: &LrDiagnosisConfig) -> LrAssessment {
        let n = self.window.len();
        let mut a = LrAssessment::insufficient(n, self.seen);
        a.lr = self.lr.last;
        a.peak_lr = self.lr.peak;
        let (Some(s), Some(level), Some(min), Some(start)) = (
            stats,
            Some(self.blocks.level).filter(|l| l.is_finite()),
            self.min_level,
            self.start_level,
        ) else {
            return a;
        };
        if n < cfg.min_points() {
            return a;
        }
        fill_measures(&mut a, &s, level, min, start);
        a.excess_sigma = (level - min) / self.rise_noise();
        a.level_excess = (level - min) / self.blocks.level_noise(self.rise_noise())
            - self.blocks.extremes_allowance();
        let usable = a.rel_noise.is_finite() && a.rel_change.is_finite() && a.noise.is_finite();
        if !usable {
            return a;
        }
        let t = cfg.thresholds();
        a.finding = judge(&a, t, &self.flags(t));
        a.verdict = a.finding.verdict();
        if matches!(
            a.finding,
            LrFinding::Divergence | LrFinding::RiseAfterLrIncrease | LrFinding::Rebound
        ) {
            a.rise_lr = self.lr.rise_lr.or(self.lr.last);
        }
        a
    }
}

/// The scale-free measures from the window statistics and the level history.
fn fill_measures(a: &mut LrAssessment, s: &WindowStats, level: f64, min: f64, start: f64) {
    let scale = s.mean.abs();
    let span = (s.n - 1) as f64;
    a.rel_slope = s.slope / scale;
    a.rel_change = s.slope * span / scale;
    a.rel_noise = s.residual_std / scale;
    a.trend_to_noise = (s.slope * span).abs() / s.residual_std;
    a.t_stat = s.t_stat;
    a.r2 = s.r2;
    a.sign_change_rate = s.sign_change_rate;
    a.up_fraction = s.up_fraction;
    a.noise = s.diff_noise;
    a.level = level;
    a.min_level = min;
    a.excess_sigma = (level - min) / s.diff_noise;
    a.progress = (start - level) / start.abs();
}

/// The rules, in order: a rise (divergence, or a rise after a learning-rate increase), a rebound,
/// oscillation, a slow descent or stall early in training, a plateau, else healthy.
fn judge(a: &LrAssessment, t: &LrThresholds, lr: &LrFlags) -> LrFinding {
    if let Some(rise) = rise(a, t, lr) {
        return rise;
    }
    // Noise is recorded as a finding for the evidence, never reported: minibatch noise alone says
    // nothing about the learning rate (a healthy small-batch run is as noisy as a bad one).
    let oscillating = !lr.dropped
        && a.rel_noise >= t.oscillation_noise
        && a.trend_to_noise <= t.oscillation_trend
        && a.sign_change_rate >= t.oscillation_sign_changes
        && a.up_fraction >= t.oscillation_up_fraction;
    if oscillating {
        return LrFinding::Oscillation;
    }
    let flat = a.rel_change.abs() <= t.flat;
    // A stall is judged from the start of the run, not over a window: the level has not come down
    // from where it started by more than `flat`. A slow descent is not judged at all (without a
    // reference run there is no "too slow"; the underfitting detector judges a run that never
    // starts learning over a span scaled to the run).
    let stalled = flat && a.progress < t.flat && lr.long_enough;
    let schedule_explains = lr.rising || lr.dropped || lr.decayed;
    let early = a.progress < t.early_progress;
    match (stalled && !schedule_explains, flat) {
        (true, _) => LrFinding::Stall,
        (false, true) if !early || lr.decayed => LrFinding::Plateau,
        _ if a.rel_change > -t.slow_drop && a.rel_change <= t.flat && early => {
            LrFinding::SlowDescent
        }
        _ => LrFinding::Healthy,
    }
}

fn rise(a: &LrAssessment, t: &LrThresholds, lr: &LrFlags) -> Option<LrFinding> {
    let excess = a.level - a.min_level;
    let above = |sigma: f64, relative: f64| {
        excess > 0.0 && a.excess_sigma >= sigma && excess >= relative * a.min_level.abs()
    };
    // A sustained climb counts only once it has also taken the level clearly above its minimum: a
    // window of a few dozen logged values can climb 5% in a healthy run (data order, a harder
    // shard) and say nothing about the learning rate.
    let sustained = a.t_stat >= t.rise_t
        && a.rel_change >= t.rise_change
        && above(t.rebound_sigma, t.excess_relative);
    let far_above =
        a.level_excess >= t.excess_sigma && excess >= t.excess_relative * a.min_level.abs();
    let finding = if sustained || far_above {
        LrFinding::Divergence
    } else if lr.min_in_window && above(t.rebound_sigma, t.rebound_relative) {
        LrFinding::Rebound
    } else {
        return None;
    };
    Some(if lr.rose_before_rise {
        LrFinding::RiseAfterLrIncrease
    } else {
        finding
    })
}
