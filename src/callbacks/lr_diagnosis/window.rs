//! The trailing window of the learning-rate diagnosis: a ring of the last `cap` finite values, with
//! the line fit, residual spread, successive differences and their sign changes computed exactly
//! (two passes) when asked, and a cheap median of the newest values for every step.

use serde::{Deserialize, Serialize};

/// Values whose magnitude exceeds this are clamped before they are stored, so that squares and sums
/// of up to 2^20 values stay finite (1e150² = 1e300).
pub(super) const CLAMP: f64 = 1e150;

/// How many of the newest values make up the robust "current level" (their median).
pub(super) const LEVEL_SPAN: usize = 5;

/// The last `cap` finite values, oldest first from `head` once full.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(super) struct Window {
    #[serde(with = "crate::persist::floats")]
    buf: Vec<f64>,
    cap: usize,
    head: usize,
}

/// What the window says about its values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct WindowStats {
    pub n: usize,
    pub mean: f64,
    pub slope: f64,
    pub residual_std: f64,
    pub t_stat: f64,
    pub r2: f64,
    /// Noise scale from second differences: sqrt(mean (Δ²y)² / 6), the noise std for white noise
    /// around any straight line. (First differences, sqrt(mean d² / 2), carry the trend itself:
    /// a loss rising 25% per value would read as 18% noise and never stand "far above" its minimum.)
    pub diff_noise: f64,
    pub sign_change_rate: f64,
    /// Upward movement as a fraction of all movement: Σ max(d, 0) / Σ |d| (white noise about 0.5, a
    /// falling curve with little noise near 0).
    pub up_fraction: f64,
}

impl Window {
    /// An empty window of `cap` values (`cap >= 3`); the buffer is its only allocation.
    pub(super) fn new(cap: usize) -> Self {
        Window {
            buf: Vec::with_capacity(cap),
            cap,
            head: 0,
        }
    }

    pub(super) fn capacity(&self) -> usize {
        self.cap
    }

    pub(super) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Checks a deserialised window against the configured capacity and makes room for it.
    pub(super) fn validate(&mut self, cap: usize) -> Result<(), String> {
        let full = self.buf.len() == self.cap;
        if self.cap != cap || self.buf.len() > cap || (self.head > 0 && !(full && self.head < cap))
        {
            return Err(format!(
                "saved window of {} values (capacity {}) does not fit the configured window of {cap}",
                self.buf.len(),
                self.cap
            ));
        }
        if self.buf.iter().any(|v| !v.is_finite()) {
            return Err("saved window holds a non-finite value".into());
        }
        self.buf.reserve_exact(cap - self.buf.len());
        Ok(())
    }

    /// Adds a finite value (clamped to ±[`CLAMP`]), dropping the oldest once full. O(1).
    #[inline]
    pub(super) fn push(&mut self, y: f64) {
        let y = y.clamp(-CLAMP, CLAMP);
        if self.buf.len() < self.cap {
            self.buf.push(y); // capacity reserved: no allocation
        } else {
            self.buf[self.head] = y;
            self.head += 1;
            if self.head == self.cap {
                self.head = 0;
            }
        }
    }

    /// The value at position `j` (0 = oldest); `j < len`. (`head` is 0 until the window is full.)
    fn at(&self, j: usize) -> f64 {
        let i = self.head + j;
        self.buf[if i >= self.cap { i - self.cap } else { i }]
    }

    /// Median of the newest `min(LEVEL_SPAN, len)` values; `None` when empty. O(1).
    #[inline(always)]
    pub(super) fn recent_median(&self) -> Option<f64> {
        let n = self.len();
        if n >= LEVEL_SPAN {
            // The newest five, in any order (the median does not care): the ring's last written
            // slots, just before `head` (wrapping).
            let mut v = [0.0; LEVEL_SPAN];
            let end = if self.head == 0 { n } else { self.head };
            if end >= LEVEL_SPAN {
                v.copy_from_slice(&self.buf[end - LEVEL_SPAN..end]);
            } else {
                let wrap = LEVEL_SPAN - end;
                v[..wrap].copy_from_slice(&self.buf[n - wrap..n]);
                v[wrap..].copy_from_slice(&self.buf[..end]);
            }
            return Some(median5(v));
        }
        let mut v = [0.0; LEVEL_SPAN];
        for (k, slot) in v.iter_mut().take(n).enumerate() {
            *slot = self.at(k);
        }
        let v = &mut v[..n];
        v.sort_unstable_by(f64::total_cmp);
        match n {
            0 => None,
            _ if n % 2 == 1 => Some(v[n / 2]),
            _ => Some(0.5 * (v[n / 2 - 1] + v[n / 2])),
        }
    }

    /// The line fit and noise measures, computed exactly in two passes (O(len)); `None` with fewer
    /// than 3 values.
    pub(super) fn stats(&self) -> Option<WindowStats> {
        let n = self.len();
        if n < 3 {
            return None;
        }
        let nf = n as f64;
        let (newer, older) = self.buf.split_at(self.head);
        let mean = (older.iter().sum::<f64>() + newer.iter().sum::<f64>()) / nf;
        let mut acc = Sums {
            mean,
            x: -(nf - 1.0) / 2.0,
            prev: older.first().or(newer.first()).copied().unwrap_or(0.0),
            ..Sums::default()
        };
        acc.add(older);
        acc.add(newer);
        Some(acc.finish(n))
    }
}

/// Centred sums over the window, fed oldest first in one or two slices.
#[derive(Clone, Copy, Default)]
struct Sums {
    mean: f64,
    /// Centred position of the next value.
    x: f64,
    prev: f64,
    prev_d: f64,
    sxy: f64,
    syy: f64,
    /// Σ (second difference)², over the values from the third on.
    dd2: f64,
    /// Values added so far.
    count: usize,
    up: f64,
    moved: f64,
    changes: usize,
}

impl Sums {
    /// The line through the window and the noise measures, from the sums over its `n` values.
    fn finish(&self, n: usize) -> WindowStats {
        let nf = n as f64;
        let sxx = nf * (nf * nf - 1.0) / 12.0;
        let slope = self.sxy / sxx;
        let ssr = (self.syy - slope * self.sxy).max(0.0);
        let residual_std = (ssr / (nf - 2.0)).sqrt();
        let se = residual_std / sxx.sqrt();
        let t_stat = if se > 0.0 {
            slope / se
        } else if slope == 0.0 {
            0.0
        } else {
            slope.signum() * f64::INFINITY
        };
        WindowStats {
            n,
            mean: self.mean,
            slope,
            residual_std,
            t_stat,
            r2: if self.syy > 0.0 {
                1.0 - ssr / self.syy
            } else {
                1.0
            },
            diff_noise: (self.dd2 / (nf - 2.0) / 6.0).sqrt(),
            sign_change_rate: self.changes as f64 / (nf - 2.0),
            up_fraction: if self.moved > 0.0 {
                self.up / self.moved
            } else {
                0.0
            },
        }
    }

    fn add(&mut self, ys: &[f64]) {
        // Locals, not fields, in the loop: the accumulators stay in registers.
        let Sums {
            mean,
            mut x,
            mut prev,
            mut prev_d,
            mut sxy,
            mut syy,
            mut dd2,
            mut count,
            mut up,
            moved,
            mut changes,
        } = *self;
        for &y in ys {
            let dy = y - mean;
            sxy += x * dy;
            syy += dy * dy;
            x += 1.0;
            // The first value is its own predecessor: d = 0 adds nothing.
            let d = y - prev;
            // The first two values have no second difference (the first d is 0 by construction).
            let dd = if count >= 2 { d - prev_d } else { 0.0 };
            dd2 += dd * dd;
            count += 1;
            up += d.max(0.0);
            changes += usize::from(d * prev_d < 0.0);
            prev_d = d;
            prev = y;
        }
        // Σ|d| = 2·Σmax(d, 0) − Σd, and Σd telescopes to the last value minus the one before the
        // slice.
        let moved = moved + 2.0 * (up - self.up) - (prev - self.prev);
        *self = Sums {
            mean,
            x,
            prev,
            prev_d,
            sxy,
            syy,
            dd2,
            count,
            up,
            moved,
            changes,
        };
    }
}

/// The median of five values with a 9-comparator sorting network (branch-free min/max).
fn median5(mut v: [f64; 5]) -> f64 {
    const PAIRS: [(usize, usize); 9] = [
        (0, 1),
        (3, 4),
        (2, 4),
        (2, 3),
        (0, 3),
        (0, 2),
        (1, 4),
        (1, 3),
        (1, 2),
    ];
    for (a, b) in PAIRS {
        // Finite values only: a plain comparison is a single minsd/maxsd.
        let (x, y) = (v[a], v[b]);
        v[a] = if x < y { x } else { y };
        v[b] = if x < y { y } else { x };
    }
    v[2]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same statistics, computed directly from a slice by the textbook formulas.
    fn direct(ys: &[f64]) -> (f64, f64, f64, f64, f64) {
        let n = ys.len() as f64;
        let xbar = (n - 1.0) / 2.0;
        let ybar = ys.iter().sum::<f64>() / n;
        let sxy: f64 = ys
            .iter()
            .enumerate()
            .map(|(i, y)| (i as f64 - xbar) * (y - ybar))
            .sum();
        let sxx: f64 = (0..ys.len()).map(|i| (i as f64 - xbar).powi(2)).sum();
        let b = sxy / sxx;
        let ssr: f64 = ys
            .iter()
            .enumerate()
            .map(|(i, y)| (y - ybar - b * (i as f64 - xbar)).powi(2))
            .sum();
        let dd2: f64 = ys
            .windows(3)
            .map(|w| (w[2] - 2.0 * w[1] + w[0]).powi(2))
            .sum();
        let sc = ys
            .windows(3)
            .filter(|w| (w[1] - w[0]) * (w[2] - w[1]) < 0.0)
            .count() as f64;
        (
            ybar,
            b,
            (ssr / (n - 2.0)).sqrt(),
            (dd2 / (n - 2.0) / 6.0).sqrt(),
            sc / (n - 2.0),
        )
    }

    #[test]
    fn the_ring_matches_a_direct_computation_on_its_last_values() {
        let mut w = Window::new(8);
        let mut all = Vec::new();
        let mut x = 0.3_f64;
        for i in 0..50 {
            // A deterministic wiggly sequence on a large level, so cancellation would show.
            x = (x * 3.7 * (1.0 - x)).clamp(0.01, 0.99);
            let y = 1e4 + 0.5 * i as f64 + x;
            w.push(y);
            all.push(y);
            if all.len() >= 3 {
                let tail = &all[all.len().saturating_sub(8)..];
                let s = w.stats().unwrap();
                let (mean, b, rs, dn, sc) = direct(tail);
                assert!((s.mean - mean).abs() < 1e-9, "mean at {i}");
                assert!((s.slope - b).abs() < 1e-10, "slope at {i}");
                assert!((s.residual_std - rs).abs() < 1e-8, "residual std at {i}");
                assert!((s.diff_noise - dn).abs() < 1e-10, "diff noise at {i}");
                assert_eq!(s.sign_change_rate, sc, "sign changes at {i}");
            }
        }
    }

    #[test]
    fn a_straight_line_has_its_slope_no_residual_and_infinite_t() {
        let mut w = Window::new(10);
        for i in 0..10 {
            w.push(5.0 - 0.25 * i as f64);
        }
        let s = w.stats().unwrap();
        assert!((s.slope + 0.25).abs() < 1e-12);
        assert!(s.residual_std < 1e-9);
        assert!(s.t_stat < -1e6);
        assert_eq!(s.sign_change_rate, 0.0);
        assert!(
            s.diff_noise < 1e-12,
            "a line has no second-difference noise"
        );
    }

    #[test]
    fn the_median_network_agrees_with_sorting_on_every_order() {
        // All 120 orders of five distinct values, and some with ties.
        let sets = [
            [1.0, 2.0, 3.0, 4.0, 5.0],
            [1.0, 1.0, 2.0, 2.0, 3.0],
            [-1.0, 7.0, 7.0, 7.0, 0.0],
        ];
        for set in sets {
            let mut sorted = set;
            sorted.sort_by(f64::total_cmp);
            for p in 0..120usize {
                // Decode p as a permutation (factorial number system).
                let (mut pool, mut v, mut code) = (set.to_vec(), [0.0; 5], p);
                for (k, slot) in v.iter_mut().enumerate() {
                    let radix = 5 - k;
                    *slot = pool.remove(code % radix);
                    code /= radix;
                }
                assert_eq!(median5(v), sorted[2], "{v:?}");
            }
        }
    }

    #[test]
    fn recent_median_reads_the_newest_five_across_the_wrap() {
        for cap in [5, 6, 7, 9] {
            let mut w = Window::new(cap);
            let mut all: Vec<f64> = Vec::new();
            for i in 0..25u32 {
                let y = f64::from((i * 37) % 11);
                w.push(y);
                all.push(y);
                let mut last: Vec<f64> = all[all.len().saturating_sub(5)..].to_vec();
                last.sort_by(f64::total_cmp);
                let k = last.len();
                let expected = if k % 2 == 1 {
                    last[k / 2]
                } else {
                    0.5 * (last[k / 2 - 1] + last[k / 2])
                };
                assert_eq!(w.recent_median(), Some(expected), "cap {cap}, value {i}");
            }
        }
    }

    #[test]
    fn recent_median_ignores_a_single_outlier() {
        let mut w = Window::new(10);
        for y in [9.0, 1.0, 2.0, 3.0, 100.0, 4.0] {
            w.push(y);
        }
        assert_eq!(w.recent_median(), Some(3.0), "median of 1, 2, 3, 100, 4");
        let mut short = Window::new(10);
        short.push(2.0);
        short.push(4.0);
        assert_eq!(
            short.recent_median(),
            Some(3.0),
            "even count: mean of the middle two"
        );
        assert_eq!(Window::new(10).recent_median(), None);
    }

    #[test]
    fn huge_values_are_clamped_and_leave_without_a_trace() {
        let mut w = Window::new(4);
        w.push(1.0);
        w.push(f64::MAX);
        let s = w.stats();
        assert!(s.is_none(), "two values only");
        w.push(2.0);
        assert!(
            w.stats().unwrap().mean.is_finite(),
            "clamped: the sums stay finite"
        );
        for _ in 0..4 {
            w.push(2.0);
        }
        let s = w.stats().unwrap();
        assert_eq!(s.mean, 2.0, "the clamped value left the window");
        assert_eq!((s.residual_std, s.diff_noise), (0.0, 0.0));
    }
}
