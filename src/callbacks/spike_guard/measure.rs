//! The exact test of a spike candidate once the window is filled: the value against the metric's
//! current level and its own noise, measured so that a trend inside the window counts as neither.
//!
//! The window's mean and standard deviation are a cheap filter, not the test: on a curve that moves
//! within the window (a loss logged every 50 steps changes a lot over 128 values), the standard
//! deviation is mostly the trend, which hides spikes, and the mean lags half a window behind the
//! current level. So a candidate is judged against:
//! - **the level**: a straight line fitted to the last [`LEVEL_SPAN`] values, read at the
//!   candidate's position;
//! - **the noise**: the root mean square of successive differences over the whole window (the
//!   largest two left out), scaled to a standard deviation. A smooth trend barely moves successive
//!   differences; one earlier spike still in the window does not hide the next.
//!
//! Both on the value's own scale and on the log scale (positive metrics only; see
//! [`LOG_K`](super::LOG_K)). The bars allow for the error of a noise measured from the window
//! ([`small_sample_bar`]).

use statrs::distribution::{Continuous, ContinuousCDF, Normal, StudentsT};

/// Successive differences left out of the noise: the largest two, which one outlier makes.
const TRIMMED: usize = 2;

/// Values the level is fitted over: enough that the fit's own error is a quarter of the noise's
/// variance (a line through 16 points, read one step past them), few enough that a curving trend
/// is straight over them.
pub(super) const LEVEL_SPAN: usize = 16;

/// A candidate's level and its distance above it, in units of the noise.
#[derive(Clone, Copy, Debug)]
pub(super) struct Standing {
    /// The metric's current level (the fitted line, read at the candidate).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) level: f64,
    /// `(value − level) / noise`.
    pub(super) z: f64,
}

/// The window's values, oldest first, on the value's scale or (`log`) the log scale.
#[derive(Clone, Copy)]
pub(super) struct Scaled<I> {
    values: I,
    len: usize,
    log: bool,
}

impl<I: Iterator<Item = f64> + Clone> Scaled<I> {
    /// `values` (oldest first, `len` of them) on the chosen scale. `None` on the log scale when a
    /// value is ≤ 0 (no log scale), or when fewer than 4 values are given.
    pub(super) fn new(values: I, len: usize, log: bool) -> Option<Self> {
        if len < 4 || (log && values.clone().any(|x| x <= 0.0)) {
            return None;
        }
        Some(Scaled { values, len, log })
    }

    fn map(&self, x: f64) -> f64 {
        if self.log {
            x.ln()
        } else {
            x
        }
    }

    /// The current level: a line through the last [`LEVEL_SPAN`] values, read one position past
    /// them (on this scale: an exponential climb is a line on the log scale), never below the
    /// lowest of them. On the value's scale.
    pub(super) fn level(&self) -> f64 {
        let k = LEVEL_SPAN.min(self.len);
        let tail = || self.values.clone().skip(self.len - k).map(|x| self.map(x));
        let kf = k as f64;
        let x_mean = (kf - 1.0) / 2.0;
        let y_mean = tail().sum::<f64>() / kf;
        let (mut sxy, mut sxx) = (0.0, 0.0);
        for (i, y) in tail().enumerate() {
            let dx = i as f64 - x_mean;
            sxy += dx * (y - y_mean);
            sxx += dx * dx;
        }
        let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        // Never below the lowest of those values: a steep descent extrapolated past its last
        // value would make an ordinary value look far above the level. (Above them is allowed:
        // an exponential climb is a line on the log scale.)
        let lowest = tail().fold(f64::INFINITY, f64::min);
        let level = (y_mean + slope * (kf - x_mean)).max(lowest);
        if self.log {
            level.exp()
        } else {
            level
        }
    }

    /// How much the fitted level's own error widens the spread of a new value about it: a line
    /// through `k` points read one past them predicts with variance `σ²·(1 + 1/k + (k − x̄)²/Sxx)`
    /// (about 1.13² for 16 points).
    fn prediction_factor(&self) -> f64 {
        let k = LEVEL_SPAN.min(self.len) as f64;
        let x_mean = (k - 1.0) / 2.0;
        let sxx = k * (k * k - 1.0) / 12.0;
        (1.0 + 1.0 / k + (k - x_mean).powi(2) / sxx).sqrt()
    }

    /// The noise: the root mean square of successive differences over the window, less the
    /// [`TRIMMED`] largest, scaled to a standard deviation. A smooth trend barely moves successive
    /// differences; trimming keeps one earlier spike still in the window (one too small to be
    /// flagged, or one from before the window filled: it makes two large differences) from hiding
    /// the next, while the rest keeps the noise's own tail (a median would not: on a skewed
    /// per-batch loss it understates the noise, and ordinary batches become spikes). `scratch` is
    /// reused.
    fn noise(&self, scratch: &mut Vec<f64>) -> f64 {
        scratch.clear();
        let mut it = self.values.clone().map(|x| self.map(x));
        let mut prev = it.next().unwrap_or(0.0);
        for y in it {
            scratch.push((y - prev).abs());
            prev = y;
        }
        let n = scratch.len();
        let kept = if n > 4 * TRIMMED { n - TRIMMED } else { n };
        if kept < n {
            scratch.select_nth_unstable_by(kept, f64::total_cmp);
        }
        let kept_values = &scratch[..kept];
        if kept_values.is_empty() {
            return 0.0;
        }
        let mean_sq = kept_values.iter().map(|d| d * d).sum::<f64>() / kept as f64;
        // For normal noise a difference is N(0, 2σ²); dropping its largest fraction `f` leaves a
        // mean square of 2σ²·(1 − 2qφ(q)/(1 − f)), with q the two-sided (1 − f) quantile.
        let f = (n - kept) as f64 / n as f64;
        let shrink = match Normal::new(0.0, 1.0) {
            Ok(normal) if f > 0.0 => {
                let q = normal.inverse_cdf(1.0 - f / 2.0);
                1.0 - 2.0 * q * normal.pdf(q) / (1.0 - f)
            }
            _ => 1.0,
        };
        (mean_sq / (2.0 * shrink.max(0.5))).sqrt()
    }

    /// Where `value` stands against the level `level` (from [`Scaled::level`] on this scale).
    pub(super) fn standing_at(&self, value: f64, level: f64, scratch: &mut Vec<f64>) -> Standing {
        let (v, l) = (self.map(value), self.map(level));
        // A constant window still needs a (tiny) margin: 1e-12 of the level.
        let spread = (self.noise(scratch) * self.prediction_factor())
            .max(1e-12 * l.abs())
            .max(f64::MIN_POSITIVE);
        Standing {
            level,
            z: (v - l) / spread,
        }
    }

    /// Where `value` stands against this window.
    pub(super) fn standing(&self, value: f64, scratch: &mut Vec<f64>) -> Standing {
        self.standing_at(value, self.level(), scratch)
    }
}

/// Where `value` stands against `window` (oldest first, at least 4 values) on the chosen scale.
#[cfg(test)]
fn standing(window: &[f64], value: f64, log: bool) -> Option<Standing> {
    if log && value <= 0.0 {
        return None;
    }
    Scaled::new(window.iter().copied(), window.len(), log)
        .map(|s| s.standing(value, &mut Vec::new()))
}

/// The z-score bar for a noise measured from a window of `n` values, for a tail as rare as `k`
/// standard deviations of normal noise.
///
/// A standard deviation from few values understates how far the next value can stray: measured
/// against it, a new value from the same (normal) noise is `t`-distributed with `n − 1` degrees of
/// freedom. The bar is that distribution's quantile at the normal's `k`-sigma tail, so that a
/// window of any length flags a healthy value as rarely: for `k = 6` (OLMo's bar, a tail of 1e-9)
/// it is 6.5 at 128 values, 12.9 at 16, and about 240 at 5 (five values say little about noise).
/// Five values of a per-batch loss with a 43% spread can land within 10% of each other, and a
/// normal next batch then stands 18 of their standard deviations above them.
pub(super) fn small_sample_bar(k: f64, n: usize) -> f64 {
    if n < 3 {
        return f64::INFINITY;
    }
    let bar = || -> Option<f64> {
        let tail = Normal::new(0.0, 1.0).ok()?.cdf(k);
        Some(
            StudentsT::new(0.0, 1.0, (n - 1) as f64)
                .ok()?
                .inverse_cdf(tail),
        )
    };
    bar()
        .filter(|b| b.is_finite())
        .unwrap_or(f64::INFINITY)
        .max(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trend_is_neither_level_lag_nor_noise() {
        // A steep straight fall with ±1% alternating noise: the window's std is the trend's
        // (about 37), its noise 1.
        let window: Vec<f64> = (0..128)
            .map(|i| 1000.0 - 1.0 * f64::from(i) + if i % 2 == 0 { 1.0 } else { -1.0 })
            .collect();
        let s = standing(&window, 880.0, false).unwrap();
        assert!((s.level - 872.0).abs() < 1.5, "level {}", s.level);
        // (880 − 872) over a noise of about √2 (differences of ±2 around −1: std 2, /√2).
        assert!(s.z > 4.0 && s.z < 7.0, "z {}", s.z);
    }

    #[test]
    fn the_log_scale_needs_positive_values() {
        let window = [1.0, 2.0, -1.0, 2.0, 1.0];
        assert!(standing(&window, 5.0, true).is_none());
        assert!(standing(&window, 5.0, false).is_some());
        assert!(standing(&window[..3], 5.0, false).is_none());
    }

    #[test]
    fn small_windows_raise_the_bar() {
        let b128 = small_sample_bar(6.0, 128);
        let b16 = small_sample_bar(6.0, 16);
        let b5 = small_sample_bar(6.0, 5);
        assert!(b128 > 6.0 && b128 < 7.0, "{b128}");
        assert!(b16 > 11.0 && b16 < 14.0, "{b16}");
        assert!(b5 > 150.0, "{b5}");
        assert!(small_sample_bar(6.0, 64) < b16);
        assert_eq!(small_sample_bar(6.0, 2), f64::INFINITY);
    }
}
