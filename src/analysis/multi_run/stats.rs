//! The statistics of one grid step: count, mean, sample standard deviation, Student-t interval, range.

use statrs::distribution::{ContinuousCDF, StudentsT};

/// The two-sided Student-t quantile `t_{(1+level)/2, n-1}` for every sample size `n` in `0..=runs`
/// (NaN for `n < 2`, where there are no degrees of freedom). `level` must lie in (0, 1).
pub(super) fn t_quantiles(runs: usize, level: f64) -> Vec<f64> {
    let p = 0.5 + level / 2.0;
    (0..=runs)
        .map(|n| match StudentsT::new(0.0, 1.0, n as f64 - 1.0) {
            Ok(t) if n >= 2 && (0.0..=1.0).contains(&p) => t.inverse_cdf(p),
            _ => f64::NAN,
        })
        .collect()
}

/// Statistics of the finite values that cover one grid step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct PointStats {
    pub(super) count: usize,
    pub(super) mean: f64,
    pub(super) std: f64,
    pub(super) ci_lower: f64,
    pub(super) ci_upper: f64,
    pub(super) min: f64,
    pub(super) max: f64,
}

impl PointStats {
    /// The statistics of `values` (all finite), with `quantiles` from [`t_quantiles`]. No value: all
    /// NaN; one value: mean, min and max are that value, the spread and the interval NaN.
    pub(super) fn of(values: &[f64], quantiles: &[f64]) -> Self {
        let n = values.len();
        let mean = if n == 0 {
            f64::NAN
        } else {
            values.iter().sum::<f64>() / n as f64
        };
        let (std, half) = if n >= 2 {
            let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
            let std = (ss / (n - 1) as f64).sqrt();
            let t = quantiles.get(n).copied().unwrap_or(f64::NAN);
            (std, t * std / (n as f64).sqrt())
        } else {
            (f64::NAN, f64::NAN)
        };
        let fold = |init: f64, f: fn(f64, f64) -> f64| {
            let v = values.iter().copied().fold(init, f);
            if n == 0 {
                f64::NAN
            } else {
                v
            }
        };
        PointStats {
            count: n,
            mean,
            std,
            ci_lower: mean - half,
            ci_upper: mean + half,
            min: fold(f64::INFINITY, f64::min),
            max: fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (values, level, mean, sample std, table t, why).
    type Case = (&'static [f64], f64, f64, f64, f64, &'static str);

    #[test]
    fn t_interval_matches_table_values() {
        // Half-width t * s / sqrt(n) by hand from the published table's t.
        let ten = &[0., 1., 2., 3., 4., 5., 6., 7., 8., 9.];
        #[rustfmt::skip]
        let cases: &[Case] = &[
            (&[1., 2., 3., 4., 5.], 0.95, 3.0, 1.581_139, 2.776, "t(0.975, 4) = 2.776"),
            (ten, 0.95, 4.5, 3.027_650, 2.262, "t(0.975, 9) = 2.262"),
            (&[2., 4., 9.], 0.90, 5.0, 3.605_551, 2.920, "t(0.95, 2) = 2.920 at level 0.90"),
            (&[1., 3.], 0.95, 2.0, std::f64::consts::SQRT_2, 12.706, "t(0.975, 1) = 12.706"),
            (&[1., 3.], 0.99, 2.0, std::f64::consts::SQRT_2, 63.657, "t(0.995, 1) = 63.657"),
        ];
        for (values, level, mean, s, t, why) in cases {
            let got = PointStats::of(values, &t_quantiles(values.len(), *level));
            let n = values.len() as f64;
            let half = t * s / n.sqrt();
            // The table rounds t to 3 decimals: allow 0.0005 on t, scaled to the half-width.
            let tol = 0.0005 * s / n.sqrt() + 1e-6;
            assert_eq!(got.count, values.len(), "{why}");
            assert!((got.mean - mean).abs() < 1e-12, "{why}: mean {}", got.mean);
            assert!((got.std - s).abs() < 1e-6, "{why}: std {}", got.std);
            assert!(
                (got.ci_upper - mean - half).abs() < tol,
                "{why}: {}",
                got.ci_upper
            );
            assert!(
                (mean - got.ci_lower - half).abs() < tol,
                "{why}: {}",
                got.ci_lower
            );
        }
    }

    #[test]
    fn fewer_than_two_values() {
        let q = t_quantiles(3, 0.95);
        assert!(q[0].is_nan() && q[1].is_nan(), "no degrees of freedom");
        let one = PointStats::of(&[7.0], &q);
        assert_eq!((one.count, one.mean, one.min, one.max), (1, 7.0, 7.0, 7.0));
        assert!(one.std.is_nan() && one.ci_lower.is_nan() && one.ci_upper.is_nan());
        let none = PointStats::of(&[], &q);
        assert_eq!(none.count, 0);
        assert!([none.mean, none.std, none.ci_lower, none.min, none.max]
            .iter()
            .all(|v| v.is_nan()));
    }

    #[test]
    fn a_level_next_to_one_does_not_panic() {
        // (1 + level) / 2 rounds to exactly 1: the quantile is infinite, the band unbounded.
        let q = t_quantiles(2, 1.0 - f64::EPSILON / 2.0);
        let got = PointStats::of(&[1.0, 2.0], &q);
        assert!(got.ci_upper > 1e6 && got.ci_lower < -1e6, "{got:?}");
    }

    #[test]
    fn identical_values_give_a_zero_width_band() {
        let got = PointStats::of(&[2.5, 2.5, 2.5], &t_quantiles(3, 0.95));
        assert_eq!((got.std, got.ci_lower, got.ci_upper), (0.0, 2.5, 2.5));
    }
}
