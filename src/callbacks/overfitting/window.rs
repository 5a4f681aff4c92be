//! The fit detectors' view of a curve's last values: a [`RollingStats`] window plus the
//! least-squares trend over it (slope, its t statistic, the level), read through
//! [`trend::fit_line`].
//!
//! Private to the fit detectors (overfitting, underfitting), which push one value per evaluation,
//! epoch or block of steps and read the trend at that rate: `O(capacity)` per read, into a scratch
//! buffer allocated once, so no allocation after construction.

use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::analysis::trend::{self, RollingStats, TrendError};

/// The least-squares trend of a window, read once per evaluation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Trend {
    /// Change per position (oldest first).
    pub slope: f64,
    /// The slope over its standard error (`±inf` for an exact line, 0 when flat and exact).
    pub t: f64,
    /// |mean| of the window: the level a slope is compared with.
    pub level: f64,
    /// Whether the window holds its full capacity.
    pub full: bool,
}

impl Trend {
    /// The slope relative to the level (0 on a zero level).
    pub fn relative_slope(&self) -> f64 {
        if self.level > 0.0 {
            self.slope / self.level
        } else {
            0.0
        }
    }

    /// Whether the window is full and its slope, times `sign`, is positive with a t statistic of at
    /// least `t_crit`.
    pub fn significant(&self, sign: f64, t_crit: f64) -> bool {
        self.full && sign * self.slope > 0.0 && sign * self.t >= t_crit
    }
}

/// The last `capacity` finite values pushed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Window {
    /// `None` only if the buffer could not be allocated: the window then stays empty (neutral).
    stats: Option<RollingStats>,
    #[serde(skip)]
    xs: Vec<f64>,
    #[serde(skip)]
    ys: Vec<f64>,
}

impl Window {
    /// Checks that a window of `capacity` values can be built.
    pub(crate) fn validate(capacity: usize) -> Result<(), TrendError> {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        RollingStats::new(capacity).map(|_| ())
    }

    /// An empty window of `capacity` values (at least 1).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        let stats = RollingStats::new(capacity).ok();
        let n = stats.as_ref().map_or(0, RollingStats::capacity);
        Window {
            stats,
            xs: (0..n).map(|i| i as f64).collect(),
            ys: Vec::with_capacity(n),
        }
    }

    /// Checks a deserialised window against the configured capacity and rebuilds its scratch space.
    pub(crate) fn restored(self, capacity: usize) -> Result<Self, String> {
        let Some(stats) = self.stats else {
            return Ok(Window::new(capacity));
        };
        if stats.capacity() != capacity {
            return Err(format!(
                "a saved window of {} values does not match the configured {capacity}",
                stats.capacity()
            ));
        }
        let n = stats.capacity();
        Ok(Window {
            stats: Some(stats),
            xs: (0..n).map(|i| i as f64).collect(),
            ys: Vec::with_capacity(n),
        })
    }

    /// Appends a finite `value` (others are refused), dropping the oldest once full.
    pub(crate) fn push(&mut self, value: f64) {
        if let Some(s) = self.stats.as_mut() {
            s.push(value);
        }
    }

    /// The mean, or `None` when empty.
    pub(crate) fn mean(&self) -> Option<f64> {
        self.stats.as_ref()?.mean()
    }

    /// The values, oldest first.
    #[cfg(test)]
    pub(crate) fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.stats.iter().flat_map(RollingStats::values)
    }

    /// The least-squares trend over the window, or `None` with fewer than three values (a t
    /// statistic needs a residual) or when the sums overflow.
    pub(crate) fn trend(&mut self) -> Option<Trend> {
        let stats = self.stats.as_ref()?;
        self.ys.clear();
        self.ys.extend(stats.values());
        let n = self.ys.len();
        if n < 3 || self.xs.len() < n {
            return None;
        }
        let fit = trend::fit_line(&self.xs[..n], &self.ys)?;
        let nf = n as f64;
        let se = fit.residual_std / (nf * (nf * nf - 1.0) / 12.0).sqrt();
        let t = if se > 0.0 {
            fit.slope / se
        } else if fit.slope == 0.0 {
            0.0
        } else {
            fit.slope.signum() * f64::INFINITY
        };
        let level = stats.mean().map_or(0.0, f64::abs);
        Some(Trend {
            slope: fit.slope,
            t,
            level,
            full: stats.is_full(),
        })
    }
}

/// The one-sided critical value of Student's t with `dof` degrees of freedom at `confidence` (e.g.
/// 4.541 for 3 degrees of freedom at 0.99). Infinite (nothing is significant) without degrees of
/// freedom or with a confidence outside `(0, 1)`.
pub(crate) fn t_critical(confidence: f64, dof: usize) -> f64 {
    if dof == 0 || !(confidence > 0.0 && confidence < 1.0) {
        return f64::INFINITY;
    }
    match StudentsT::new(0.0, 1.0, dof as f64) {
        Ok(t) => t.inverse_cdf(confidence),
        Err(_) => f64::INFINITY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(capacity: usize, values: &[f64]) -> Window {
        let mut w = Window::new(capacity);
        for v in values {
            w.push(*v);
        }
        w
    }

    #[test]
    fn keeps_the_last_finite_values_in_order() {
        let w = window(3, &[1.0, 2.0, f64::NAN, 3.0, 4.0, f64::INFINITY, 5.0]);
        assert_eq!(w.values().collect::<Vec<_>>(), vec![3.0, 4.0, 5.0]);
        assert_eq!(w.mean(), Some(4.0));
    }

    #[test]
    fn trend_table() {
        type Case<'a> = (&'a [f64], Option<(f64, f64, f64)>, &'a str);
        let cases: &[Case] = &[
            (&[1.0, 2.0], None, "two points leave no residual"),
            (
                &[1.0, 1.0, 1.0],
                Some((0.0, 0.0, 1.0)),
                "flat and exact: slope 0, t 0",
            ),
            (
                &[1.0, 2.0, 3.0],
                Some((1.0, f64::INFINITY, 2.0)),
                "an exact line",
            ),
            (
                &[0.0, 2.0, 1.0],
                Some((0.5, 0.5 / 0.75f64.sqrt(), 1.0)),
                "residuals -0.5, 1, -0.5: sse 1.5, se = sqrt(1.5 / 1 / 2)",
            ),
            (
                &[9.0, 9.0, 3.0, 2.0, 1.0],
                Some((-1.0, f64::NEG_INFINITY, 2.0)),
                "capacity 3 keeps 3, 2, 1: an exact falling line",
            ),
        ];
        for (values, expected, why) in cases {
            let t = window(3, values).trend();
            match (t, expected) {
                (Some(t), Some((m, tt, level))) => {
                    assert!((t.slope - m).abs() < 1e-12, "{why}: slope {}", t.slope);
                    assert!(t.t == *tt || (t.t - tt).abs() < 1e-9, "{why}: t {}", t.t);
                    assert!((t.level - level).abs() < 1e-12, "{why}: level {}", t.level);
                }
                (t, e) => assert_eq!(t.map(|t| t.slope), e.map(|e| e.0), "{why}"),
            }
        }
    }

    #[test]
    fn significance_needs_a_full_window_the_right_sign_and_enough_t() {
        let t = |slope, t, full| Trend {
            slope,
            t,
            level: 1.0,
            full,
        };
        let cases = [
            (t(0.1, 5.0, true), 1.0, true, "rising, t 5 > 4.54"),
            (t(0.1, 4.0, true), 1.0, false, "t 4 is not enough"),
            (t(0.1, 5.0, false), 1.0, false, "window not full yet"),
            (
                t(-0.1, -5.0, true),
                -1.0,
                true,
                "falling, asked for falling",
            ),
            (t(-0.1, -5.0, true), 1.0, false, "falling, asked for rising"),
        ];
        for (trend, sign, expected, why) in cases {
            assert_eq!(trend.significant(sign, 4.541), expected, "{why}");
        }
        assert_eq!(t(-2.0, 0.0, true).relative_slope(), -2.0);
    }

    #[test]
    fn t_critical_matches_the_tables() {
        // One-sided critical values from the standard t table.
        let cases = [
            (0.95, 3, 2.353, "95%, 3 dof"),
            (0.99, 3, 4.541, "99%, 3 dof"),
            (0.99, 6, 3.143, "99%, 6 dof"),
            (0.975, 10, 2.228, "97.5%, 10 dof"),
        ];
        for (c, dof, expected, why) in cases {
            assert!((t_critical(c, dof) - expected).abs() < 1e-3, "{why}");
        }
        assert_eq!(t_critical(0.99, 0), f64::INFINITY, "no degrees of freedom");
        assert_eq!(
            t_critical(1.0, 3),
            f64::INFINITY,
            "confidence 1 is never reached"
        );
        assert_eq!(t_critical(f64::NAN, 3), f64::INFINITY, "NaN confidence");
    }

    #[test]
    fn restore_checks_the_capacity() {
        let w = window(4, &[1.0, 2.0, 3.0, 4.0, 5.0]);
        let json = serde_json::to_value(&w).unwrap();
        let mut back = serde_json::from_value::<Window>(json.clone())
            .unwrap()
            .restored(4)
            .unwrap();
        assert_eq!(back.values().collect::<Vec<_>>(), vec![2.0, 3.0, 4.0, 5.0]);
        assert_eq!(back.trend().map(|t| t.slope), Some(1.0));
        let other: Window = serde_json::from_value(json).unwrap();
        assert!(other.restored(3).is_err());
    }
}
