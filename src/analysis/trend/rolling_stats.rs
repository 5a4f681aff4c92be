//! Mean and standard deviation of a trailing window, O(1) per value.

use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

use super::ring::Ring;
use super::TrendError;

/// When the window's squared deviation from its own mean falls below this fraction of the peak
/// squared sum since the last exact recomputation, the sums are recomputed at once (their rounding
/// error is ~1e-16 of that peak, so the std keeps ~1e-12 relative accuracy or better).
const CANCELLATION: f64 = 1e-4;

/// Mean and sample standard deviation of the last `capacity` finite values, updated in O(1).
///
/// This is what the loss-spike guard uses: a value is a spike when it exceeds `mean + k*std` of the
/// trailing window (OLMo: k = 6 over 128 values). Non-finite values are refused by [`push`]
/// (which returns `false`) and take no place in the window.
///
/// Numerics: the running sums are of `x - shift`, where `shift` is the window mean at the last exact
/// recomputation; every `capacity` pushes the sums are recomputed from the buffer in two passes. So
/// the cancellation of `E[x²] - mean²` never bites (losses around 1e4 with noise 1e-2 keep ~1e-10
/// relative accuracy in the std) and rounding cannot build up over millions of steps. When the
/// window's spread becomes tiny next to the sums (the loss jumps from 1e4 to 1e-3 and settles), the
/// sums are recomputed at once rather than at the next scheduled time, so the std of the settled
/// window stays accurate. Values beyond about ±1e150 overflow the squared sums
/// (std becomes inf) until they leave the window.
///
/// No allocation after [`new`]. Serialisable with serde (non-finite sums included), and a restored
/// window continues bit for bit like the original.
///
/// [`push`]: RollingStats::push
/// [`new`]: RollingStats::new
///
/// ```
/// use std::num::NonZeroUsize;
/// use curvewatch::analysis::trend::RollingStats;
///
/// let mut w = RollingStats::new(NonZeroUsize::new(8).unwrap()).unwrap();
/// for x in [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0] {
///     w.push(x);
/// }
/// assert_eq!(w.mean(), Some(5.0));
/// assert!((w.std().unwrap() - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
/// assert!(!w.push(f64::NAN)); // refused
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RollingStats {
    ring: Ring,
    #[serde(with = "crate::persist::float")]
    shift: f64,
    /// Σ (x - shift) over the window.
    #[serde(with = "crate::persist::float")]
    sum: f64,
    /// Σ (x - shift)² over the window.
    #[serde(with = "crate::persist::float")]
    sum_sq: f64,
    /// Largest `sum_sq` since the last exact recomputation (the scale of its rounding error).
    #[serde(with = "crate::persist::float")]
    peak_sq: f64,
    /// Pushes since the sums were last recomputed from the buffer.
    since_exact: usize,
}

impl RollingStats {
    /// An empty window of `capacity` values; its buffer is the only allocation it ever makes.
    ///
    /// Errors when `capacity` exceeds [`MAX_WINDOW`](super::MAX_WINDOW) or cannot be allocated.
    pub fn new(capacity: NonZeroUsize) -> Result<Self, TrendError> {
        Ok(RollingStats {
            ring: Ring::new(capacity)?,
            shift: 0.0,
            sum: 0.0,
            sum_sq: 0.0,
            peak_sq: 0.0,
            since_exact: 0,
        })
    }

    /// Adds `x`, dropping the oldest value once the window is full; returns whether `x` was admitted
    /// (`false` for NaN and ±inf, which change nothing). O(1) amortised, no allocation.
    #[inline(always)]
    pub fn push(&mut self, x: f64) -> bool {
        if !x.is_finite() {
            return false;
        }
        if self.ring.len() == 0 {
            self.shift = x;
            self.sum = 0.0;
            self.sum_sq = 0.0;
            self.peak_sq = 0.0;
        }
        if let Some(old) = self.ring.push(x) {
            let o = old - self.shift;
            self.sum -= o;
            self.sum_sq -= o * o;
        }
        let d = x - self.shift;
        self.sum += d;
        self.sum_sq += d * d;
        self.peak_sq = self.peak_sq.max(self.sum_sq);
        self.since_exact += 1;
        // Recompute on schedule; or early when the spread left is tiny next to the squared sums
        // the rounding error scales with (the level jumped away from `shift`, or a wide window
        // settled), or when an overflowed value has left NaN behind.
        // spread = sum_sq - sum²/n, compared after multiplying both sides by n (no division).
        let n = self.ring.len() as f64;
        let spread_n = self.sum_sq * n - self.sum * self.sum;
        let cancelled = spread_n < CANCELLATION * self.peak_sq * n || spread_n.is_nan();
        if self.since_exact >= self.ring.capacity() || cancelled {
            self.recompute();
        }
        true
    }

    /// Re-derives the shift and both sums from the buffer (two passes), removing rounding drift.
    #[inline(never)]
    fn recompute(&mut self) {
        self.since_exact = 0;
        // A plain sum (no division per value); if it overflows, an incremental mean, which cannot.
        // Storage order, not age order: sums do not care, and one slice is a tighter loop.
        let values = self.ring.unordered();
        let n = values.len() as f64;
        let mut mean = values.iter().sum::<f64>() / n;
        if !mean.is_finite() {
            mean = 0.0;
            for (k, x) in values.iter().enumerate() {
                mean += (x - mean) / (k + 1) as f64;
            }
        }
        self.shift = mean;
        let (mut sum, mut sum_sq) = (0.0, 0.0);
        for &x in values {
            let d = x - mean;
            sum += d;
            sum_sq += d * d;
        }
        self.sum = sum;
        self.sum_sq = sum_sq;
        self.peak_sq = sum_sq;
    }

    /// Mean of the window, or `None` when it is empty.
    #[inline]
    pub fn mean(&self) -> Option<f64> {
        match self.ring.len() {
            0 => None,
            n => Some(self.shift + self.sum / n as f64),
        }
    }

    /// Sample standard deviation (n - 1 in the denominator), or `None` with fewer than 2 values.
    #[inline]
    pub fn std(&self) -> Option<f64> {
        self.mean_std().map(|(_, std)| std)
    }

    /// Mean and sample standard deviation together (`None` with fewer than 2 values): one length
    /// check, no branch on the values.
    #[inline]
    pub fn mean_std(&self) -> Option<(f64, f64)> {
        let n = self.ring.len();
        if n < 2 {
            return None;
        }
        // The mean is `mean`'s expression, so the two agree bit for bit.
        let nf = n as f64;
        let var = (self.sum_sq - self.sum * self.sum / nf) / (nf - 1.0);
        // Rounding can leave a constant window a hair below zero.
        let std = if var < 0.0 { 0.0 } else { var.sqrt() };
        Some((self.shift + self.sum / nf, std))
    }

    /// Smallest value in the window (`None` when empty). O(len): a scan, meant for reports, not for
    /// every step.
    pub fn min(&self) -> Option<f64> {
        self.ring.iter().reduce(f64::min)
    }

    /// Largest value in the window (`None` when empty). O(len), like [`RollingStats::min`].
    pub fn max(&self) -> Option<f64> {
        self.ring.iter().reduce(f64::max)
    }

    /// Number of values in the window.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Whether the window holds no value.
    pub fn is_empty(&self) -> bool {
        self.ring.len() == 0
    }

    /// Whether the window holds `capacity` values (so each push now drops one).
    pub fn is_full(&self) -> bool {
        self.ring.is_full()
    }

    /// The window length given to [`RollingStats::new`].
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// The values in the window, oldest first.
    pub fn values(&self) -> impl Iterator<Item = f64> + Clone + '_ {
        self.ring.iter()
    }

    /// Empties the window, keeping its capacity and buffer.
    pub fn clear(&mut self) {
        self.ring.clear();
        self.since_exact = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::Lcg;

    fn window(cap: usize) -> RollingStats {
        RollingStats::new(NonZeroUsize::new(cap).unwrap()).unwrap()
    }

    /// Two-pass mean and sample std of a slice: the reference.
    fn two_pass(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let ss: f64 = xs.iter().map(|x| (x - mean).powi(2)).sum();
        (mean, (ss / (n - 1.0)).sqrt())
    }

    /// (pushes, capacity, mean, std, reason)
    type Case<'a> = (&'a [f64], usize, Option<f64>, Option<f64>, &'a str);

    #[test]
    fn hand_computed_mean_and_std() {
        let cases: &[Case] = &[
            (&[], 4, None, None, "empty window"),
            (&[3.0], 4, Some(3.0), None, "one value has no sample std"),
            (
                &[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0],
                8,
                Some(5.0),
                Some((32.0f64 / 7.0).sqrt()),
                "squared deviations 9+1+1+1+0+0+4+16 = 32 over 7",
            ),
            (
                &[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0, 10.0],
                8,
                Some(6.0),
                Some((40.0f64 / 7.0).sqrt()),
                "the 2 drops out: deviations -2,-2,-2,-1,-1,1,3,4",
            ),
            (
                &[1.0, f64::NAN, 3.0, f64::INFINITY],
                2,
                Some(2.0),
                Some(2f64.sqrt()),
                "non-finite values take no slot",
            ),
            (
                &[5.0; 10],
                3,
                Some(5.0),
                Some(0.0),
                "a constant window has std exactly 0",
            ),
            (
                &[9.0, 1.0, 7.0],
                1,
                Some(7.0),
                None,
                "capacity 1 keeps the last value",
            ),
        ];
        for (xs, cap, mean, std, why) in cases {
            let mut w = window(*cap);
            xs.iter().for_each(|&x| {
                w.push(x);
            });
            assert_eq!(w.mean(), *mean, "{why}: mean");
            match (w.std(), std) {
                (Some(g), Some(e)) => assert!((g - e).abs() < 1e-12, "{why}: std {g} vs {e}"),
                (g, e) => assert_eq!(g, *e, "{why}: std"),
            }
        }
    }

    #[test]
    fn bookkeeping() {
        let mut w = window(3);
        assert!(w.is_empty() && !w.is_full() && w.min().is_none());
        assert!(w.push(4.0) && !w.push(f64::NEG_INFINITY) && w.push(-1.0) && w.push(2.0));
        assert!(w.is_full() && w.len() == 3 && w.capacity() == 3);
        w.push(8.0);
        assert_eq!(
            w.values().collect::<Vec<_>>(),
            [-1.0, 2.0, 8.0],
            "oldest first"
        );
        assert_eq!((w.min(), w.max()), (Some(-1.0), Some(8.0)));
        w.clear();
        assert_eq!((w.len(), w.mean()), (0, None));
    }

    #[test]
    fn streaming_matches_two_pass_on_random_data() {
        let mut rng = Lcg(42);
        let cap = 17;
        let mut w = window(cap);
        let mut admitted = Vec::new();
        for i in 0..5000 {
            let x = if i % 13 == 0 {
                f64::NAN
            } else {
                3.0 + 100.0 * rng.uniform()
            };
            if w.push(x) {
                admitted.push(x);
            }
            let tail = &admitted[admitted.len().saturating_sub(cap)..];
            if tail.len() >= 2 {
                let (mean, std) = two_pass(tail);
                assert!(
                    (w.mean().unwrap() - mean).abs() <= 1e-12 * mean,
                    "push {i}: mean"
                );
                assert!(
                    (w.std().unwrap() - std).abs() <= 1e-10 * std,
                    "push {i}: std"
                );
            }
        }
    }

    #[test]
    fn no_drift_over_a_million_pushes() {
        // Losses around 1e4 with noise of ±0.01: a plain Σx, Σx² estimator loses ~4 digits here.
        for cap in [128usize, 1000, 65_536] {
            let mut rng = Lcg(7);
            let mut w = window(cap);
            let mut recent = std::collections::VecDeque::with_capacity(cap);
            let mut worst = 0.0f64;
            for i in 0..1_000_000u64 {
                let x = 1e4 + 0.02 * (rng.uniform() - 0.5);
                w.push(x);
                if recent.len() == cap {
                    recent.pop_front();
                }
                recent.push_back(x);
                if i % 9_973 == 9_972 || i == 999_999 {
                    let (_, std) = two_pass(recent.make_contiguous());
                    worst = worst.max((w.std().unwrap() - std).abs() / std);
                }
            }
            assert!(worst < 1e-6, "capacity {cap}: relative std error {worst:e}");
        }
    }

    #[test]
    fn exact_after_the_level_collapses() {
        // 1000 values around 1e4, then values around 1e-3 with relative noise 1e-3 (std ~3e-7):
        // the old values' squares (~1e8 each) leave a rounding error far above 1e-13 unless the
        // sums are rebuilt once they are gone.
        let cap = 128;
        let mut rng = Lcg(3);
        let mut w = window(cap);
        let mut recent = std::collections::VecDeque::with_capacity(cap);
        let mut worst = 0.0f64;
        for i in 0..2000 {
            let level = if i < 1000 { 1e4 } else { 1e-3 };
            let x = level * (1.0 + 1e-3 * (rng.uniform() - 0.5));
            w.push(x);
            if recent.len() == cap {
                recent.pop_front();
            }
            recent.push_back(x);
            if i > 0 {
                let (_, std) = two_pass(recent.make_contiguous());
                worst = worst.max((w.std().unwrap() - std).abs() / std);
            }
        }
        assert!(worst < 1e-6, "relative std error {worst:e}");
        // An overflowed sum heals as soon as the huge values are gone.
        let mut w = window(2);
        for x in [1e200, -1e200, 1.0, 2.0] {
            w.push(x);
        }
        assert_eq!(
            w.std(),
            Some(0.5f64.sqrt()),
            "window 1, 2 after the overflow left"
        );
    }

    #[test]
    fn serde_round_trip_resumes_bit_for_bit() {
        let mut rng = Lcg(99);
        let mut a = window(16);
        for _ in 0..37 {
            a.push(rng.uniform());
        }
        let mut b: RollingStats =
            serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(a, b);
        for _ in 0..100 {
            let x = rng.uniform();
            a.push(x);
            b.push(x);
            assert_eq!(
                a.std().map(f64::to_bits),
                b.std().map(f64::to_bits),
                "resumed std"
            );
        }
        // Overflowed sums (inf/NaN) survive JSON too.
        let mut big = window(4);
        big.push(1e200);
        big.push(-1e200);
        let json = serde_json::to_string(&big).unwrap();
        let back: RollingStats = serde_json::from_str(&json).unwrap();
        assert_eq!(format!("{big:?}"), format!("{back:?}"), "{json}");
    }
}
