//! The trailing window of the learning-rate diagnosis: a ring of the last `cap` finite values, with
//! the line fit, residual spread, successive differences and their sign changes computed exactly
//! (two passes) when asked.

use serde::{Deserialize, Serialize};

/// Values whose magnitude exceeds this are clamped before they are stored, so that squares and sums
/// of up to 2^20 values stay finite (1e150² = 1e300).
pub(super) const CLAMP: f64 = 1e150;

/// How many values the window must hold before the level's minimum is tracked.
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
