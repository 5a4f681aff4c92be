//! Least-squares slope of a trailing window, O(1) per value.

use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

use super::ring::Ring;
use super::TrendError;

/// Least-squares slope of the last `capacity` finite values against their position, updated in O(1).
///
/// The window's values sit at x = 0, 1, ..., len-1 (oldest first), so the slope is per admitted value,
/// the same number [`slope`](super::slope) gives on the window as a slice. Non-finite values are refused
/// by [`RollingSlope::push`] and take no position.
///
/// It keeps `Σ(y - shift)` and `Σ x·(y - shift)`; sliding the window by one lowers every x by one, which
/// is a single subtraction. The x sums have closed forms, so the slope is
/// `(Σxy' - x̄·Σy') / (n(n²-1)/12)` with `y' = y - shift`. As in [`RollingStats`](super::RollingStats),
/// the shift is the window mean at the last exact recomputation, redone every `capacity` pushes, so a
/// tiny slope on a large level (1e-6 per step on 1e4) is not lost to cancellation or drift.
///
/// No allocation after [`RollingSlope::new`]; serialisable with serde, resuming bit for bit.
///
/// ```
/// use std::num::NonZeroUsize;
/// use curvewatch::analysis::trend::RollingSlope;
///
/// let mut s = RollingSlope::new(NonZeroUsize::new(3).unwrap()).unwrap();
/// for y in [9.0, 1.0, 3.0, 5.0] {
///     s.push(y);
/// }
/// assert_eq!(s.slope(), Some(2.0)); // window 1, 3, 5
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RollingSlope {
    ring: Ring,
    #[serde(with = "crate::persist::float")]
    shift: f64,
    /// Σ (y - shift) over the window.
    #[serde(with = "crate::persist::float")]
    sum_y: f64,
    /// Σ x·(y - shift), x = 0 for the oldest value.
    #[serde(with = "crate::persist::float")]
    sum_xy: f64,
    /// Pushes since the sums were last recomputed from the buffer.
    since_exact: usize,
}

impl RollingSlope {
    /// An empty window of `capacity` values; its buffer is the only allocation it ever makes.
    ///
    /// Errors when `capacity` exceeds [`MAX_WINDOW`](super::MAX_WINDOW) or cannot be allocated.
    pub fn new(capacity: NonZeroUsize) -> Result<Self, TrendError> {
        Ok(RollingSlope {
            ring: Ring::new(capacity)?,
            shift: 0.0,
            sum_y: 0.0,
            sum_xy: 0.0,
            since_exact: 0,
        })
    }

    /// Adds `y`, dropping the oldest value once the window is full; returns whether `y` was admitted
    /// (`false` for NaN and ±inf, which change nothing). O(1) amortised, no allocation.
    pub fn push(&mut self, y: f64) -> bool {
        if !y.is_finite() {
            return false;
        }
        if self.ring.len() == 0 {
            self.shift = y;
            self.sum_y = 0.0;
            self.sum_xy = 0.0;
        }
        if let Some(old) = self.ring.push(y) {
            // The oldest sat at x = 0 (no part in Σxy); the rest each move down by one.
            self.sum_y -= old - self.shift;
            self.sum_xy -= self.sum_y;
        }
        let d = y - self.shift;
        self.sum_xy += (self.ring.len() - 1) as f64 * d;
        self.sum_y += d;
        self.since_exact += 1;
        // Recompute on schedule, or at once when an overflowed value has left NaN behind.
        if self.since_exact >= self.ring.capacity() || self.sum_xy.is_nan() || self.sum_y.is_nan() {
            self.recompute();
        }
        true
    }

    fn recompute(&mut self) {
        self.since_exact = 0;
        let mut mean = 0.0;
        for (k, y) in self.ring.iter().enumerate() {
            mean += (y - mean) / (k + 1) as f64;
        }
        self.shift = mean;
        let (mut sum_y, mut sum_xy) = (0.0, 0.0);
        for (k, y) in self.ring.iter().enumerate() {
            let d = y - mean;
            sum_y += d;
            sum_xy += k as f64 * d;
        }
        self.sum_y = sum_y;
        self.sum_xy = sum_xy;
    }

    /// Least-squares slope per position over the window, or `None` with fewer than 2 values.
    pub fn slope(&self) -> Option<f64> {
        let n = self.ring.len();
        if n < 2 {
            return None;
        }
        let nf = n as f64;
        let x_mean = (nf - 1.0) / 2.0;
        let sxx = nf * (nf * nf - 1.0) / 12.0; // Σ (x - x̄)² for x = 0..n-1
        Some((self.sum_xy - x_mean * self.sum_y) / sxx)
    }

    /// Mean of the window, or `None` when it is empty (the level to compare the slope with).
    pub fn mean(&self) -> Option<f64> {
        match self.ring.len() {
            0 => None,
            n => Some(self.shift + self.sum_y / n as f64),
        }
    }

    /// The oldest value in the window, if any.
    pub fn oldest(&self) -> Option<f64> {
        self.ring.oldest()
    }

    /// Number of values in the window.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// Whether the window holds no value.
    pub fn is_empty(&self) -> bool {
        self.ring.len() == 0
    }

    /// Whether the window holds `capacity` values.
    pub fn is_full(&self) -> bool {
        self.ring.is_full()
    }

    /// The window length given to [`RollingSlope::new`].
    pub fn capacity(&self) -> usize {
        self.ring.capacity()
    }

    /// Empties the window, keeping its capacity and buffer.
    pub fn clear(&mut self) {
        self.ring.clear();
        self.since_exact = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::super::slope;
    use super::*;
    use crate::testutil::Lcg;

    fn window(cap: usize) -> RollingSlope {
        RollingSlope::new(NonZeroUsize::new(cap).unwrap()).unwrap()
    }

    #[test]
    fn hand_computed_slopes() {
        // (pushes, capacity, slope, reason)
        let cases: &[(&[f64], usize, Option<f64>, &str)] = &[
            (&[], 3, None, "empty"),
            (&[4.0], 3, None, "one point has no slope"),
            (&[1.0, 4.0], 3, Some(3.0), "two points: the difference"),
            (
                &[9.0, 1.0, 3.0, 5.0],
                3,
                Some(2.0),
                "the 9 slid out: 1, 3, 5",
            ),
            (&[1.0, 2.0, 2.0, 4.0], 4, Some(0.9), "Sxy 4.5 over Sxx 5"),
            (
                &[1.0, f64::NAN, 2.0, f64::INFINITY, 2.0, 4.0],
                4,
                Some(0.9),
                "non-finite takes no x",
            ),
            (
                &[7.0, 5.0, 3.0, 1.0, -1.0],
                2,
                Some(-2.0),
                "falling line, window 2",
            ),
        ];
        for (ys, cap, want, why) in cases {
            let mut s = window(*cap);
            ys.iter().for_each(|&y| {
                s.push(y);
            });
            match (s.slope(), want) {
                (Some(g), Some(e)) => assert!((g - e).abs() < 1e-12, "{why}: {g} vs {e}"),
                (g, e) => assert_eq!(g, *e, "{why}"),
            }
        }
    }

    #[test]
    fn streaming_matches_slice_slope() {
        let mut rng = Lcg(3);
        for cap in [2usize, 5, 64] {
            let mut s = window(cap);
            let mut ys = Vec::new();
            for i in 0..3000 {
                let y = 50.0 - 0.01 * i as f64 + rng.uniform();
                s.push(y);
                ys.push(y);
                let tail = &ys[ys.len().saturating_sub(cap)..];
                let (got, want) = (s.slope(), slope(tail));
                match (got, want) {
                    (Some(g), Some(w)) => assert!((g - w).abs() <= 1e-9, "cap {cap} push {i}"),
                    _ => assert_eq!(got, want, "cap {cap} push {i}"),
                }
                let mean = tail.iter().sum::<f64>() / tail.len() as f64;
                assert!((s.mean().unwrap() - mean).abs() <= 1e-12 * mean.abs());
            }
        }
    }

    #[test]
    fn small_slope_on_large_level_survives_a_million_pushes() {
        let mut rng = Lcg(11);
        let mut s = window(1000);
        let mut ys = std::collections::VecDeque::with_capacity(1000);
        for i in 0..1_000_000u64 {
            let y = 1e4 - 1e-6 * i as f64 + 1e-4 * (rng.uniform() - 0.5);
            s.push(y);
            if ys.len() == 1000 {
                ys.pop_front();
            }
            ys.push_back(y);
        }
        let want = slope(ys.make_contiguous()).unwrap();
        let got = s.slope().unwrap();
        assert!(
            (got - want).abs() <= 1e-6 * want.abs(),
            "{got:e} vs {want:e}"
        );
        assert!(
            (got + 1e-6).abs() < 2e-7,
            "the true slope is -1e-6 per step, got {got:e}"
        );
    }

    #[test]
    fn serde_round_trip_resumes_bit_for_bit() {
        let mut rng = Lcg(5);
        let mut a = window(10);
        for _ in 0..23 {
            a.push(rng.uniform());
        }
        let mut b: RollingSlope =
            serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(a, b);
        for _ in 0..50 {
            let y = rng.uniform();
            a.push(y);
            b.push(y);
            assert_eq!(a.slope().map(f64::to_bits), b.slope().map(f64::to_bits));
        }
    }
}
