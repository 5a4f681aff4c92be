//! What a curve is reduced to before clustering, and the z-scoring that puts the features on one scale.

use serde::{Deserialize, Serialize};

/// How many trailing points the stability features look at.
pub const STABILITY_TAIL: usize = 10;

/// The band, as a fraction of the total improvement, that defines convergence.
pub const CONVERGENCE_BAND: f64 = 0.1;

/// One curve's shape in a few numbers, computed over its finite values in logging order.
///
/// A curve with a single finite value has zero improvement and stability and converges at index 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurveFeatures {
    /// The curve's name.
    pub name: String,
    /// How many finite values it has (the others are skipped).
    pub points: usize,
    /// Its first finite value.
    #[serde(with = "crate::persist::float")]
    pub first_value: f64,
    /// Its last finite value (the source article's "final loss").
    #[serde(with = "crate::persist::float")]
    pub final_value: f64,
    /// `first_value - final_value`: positive when a loss went down.
    #[serde(with = "crate::persist::float")]
    pub improvement: f64,
    /// Population standard deviation of the last [`STABILITY_TAIL`] finite values (fewer if shorter).
    #[serde(with = "crate::persist::float")]
    pub stability: f64,
    /// The first index (among finite values) whose value lies within [`CONVERGENCE_BAND`] times
    /// `|improvement|` of the final value; 0 for a curve that did not move.
    pub convergence_index: usize,
    /// `improvement / |first_value|`; 0 when the first value is 0.
    #[serde(with = "crate::persist::float")]
    pub relative_improvement: f64,
    /// `stability` divided by the mean absolute value of the same tail (a coefficient of variation);
    /// 0 when that tail is all zeros.
    #[serde(with = "crate::persist::float")]
    pub relative_stability: f64,
    /// `convergence_index / (points - 1)`: 0 converged at once, 1 only at the end; 0 for one point.
    #[serde(with = "crate::persist::float")]
    pub convergence_fraction: f64,
}

impl CurveFeatures {
    /// The features of `values` (non-finite ones skipped), or `None` when none is finite.
    pub fn from_values(name: impl Into<String>, values: &[f64]) -> Option<Self> {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let (first, last) = (*finite.first()?, *finite.last()?);
        let improvement = first - last;
        let tail = &finite[finite.len().saturating_sub(STABILITY_TAIL)..];
        let stability = population_std(tail);
        let level = tail.iter().map(|v| v.abs()).sum::<f64>() / tail.len() as f64;
        let band = CONVERGENCE_BAND * improvement.abs();
        let convergence_index = finite
            .iter()
            .position(|v| (v - last).abs() <= band)
            .unwrap_or(finite.len() - 1);
        let span = finite.len() - 1;
        Some(CurveFeatures {
            name: name.into(),
            points: finite.len(),
            first_value: first,
            final_value: last,
            improvement,
            stability,
            convergence_index,
            relative_improvement: ratio_or_zero(improvement, first.abs()),
            relative_stability: ratio_or_zero(stability, level),
            convergence_fraction: ratio_or_zero(convergence_index as f64, span as f64),
        })
    }
}

fn ratio_or_zero(num: f64, den: f64) -> f64 {
    if den == 0.0 {
        0.0
    } else {
        num / den
    }
}

fn population_std(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
}

/// Which features the clustering compares.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FeatureSet {
    /// The source article's four: final value, improvement, stability, convergence index.
    Article,
    /// Scale-free only: relative improvement, relative stability, convergence fraction; curves of
    /// different losses (or lengths) with the same shape land together.
    ScaleFree,
    /// All seven (the default).
    #[default]
    All,
}

impl FeatureSet {
    /// The feature vector of `f` in this set, in the order the variant's doc lists.
    pub fn vector(self, f: &CurveFeatures) -> Vec<f64> {
        let article = [
            f.final_value,
            f.improvement,
            f.stability,
            f.convergence_index as f64,
        ];
        let scale_free = [
            f.relative_improvement,
            f.relative_stability,
            f.convergence_fraction,
        ];
        match self {
            FeatureSet::Article => article.to_vec(),
            FeatureSet::ScaleFree => scale_free.to_vec(),
            FeatureSet::All => article.iter().chain(&scale_free).copied().collect(),
        }
    }
}

/// Z-scores every column of `rows` in place (population std). A column that is constant, or whose
/// spread is lost in rounding, or that holds a non-finite value, carries no information and becomes
/// all zeros, so it never produces NaN.
pub(super) fn standardise(rows: &mut [Vec<f64>]) {
    let Some(width) = rows.first().map(Vec::len) else {
        return;
    };
    let n = rows.len() as f64;
    for j in 0..width {
        let column = || rows.iter().map(|r| r[j]);
        let mean = column().sum::<f64>() / n;
        let std = (column().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt();
        let (lo, hi) = column().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        let informative =
            std.is_finite() && lo < hi && std > 1e-12 * mean.abs().max(f64::MIN_POSITIVE);
        for r in rows.iter_mut() {
            r[j] = if informative {
                (r[j] - mean) / std
            } else {
                0.0
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_by_hand() {
        // 0..=11 finite values 10, 6, 4, 3, 2.5, 2.2, 2.1, 2, 2, 2, 2, 2 with a NaN skipped.
        let values = [
            10.0,
            6.0,
            f64::NAN,
            4.0,
            3.0,
            2.5,
            2.2,
            2.1,
            2.0,
            2.0,
            2.0,
            2.0,
            2.0,
        ];
        let f = CurveFeatures::from_values("c", &values).unwrap();
        assert_eq!((f.points, f.first_value, f.final_value), (12, 10.0, 2.0));
        assert_eq!(f.improvement, 8.0);
        assert_eq!(f.relative_improvement, 0.8, "8 / |10|");
        // Band 0.8 around 2: first value <= 2.8 is 2.5 at finite index 4.
        assert_eq!(f.convergence_index, 4);
        assert_eq!(f.convergence_fraction, 4.0 / 11.0);
        // Tail: 4, 3, 2.5, 2.2, 2.1, 2, 2, 2, 2, 2 -> mean 2.38, squares summed 3.856 -> var 0.3856.
        assert!(
            (f.stability - 0.3856f64.sqrt()).abs() < 1e-12,
            "{}",
            f.stability
        );
        assert!((f.relative_stability - 0.3856f64.sqrt() / 2.38).abs() < 1e-12);
    }

    #[test]
    fn degenerate_curves_get_neutral_features() {
        #[rustfmt::skip]
        let cases: &[(&[f64], usize, f64, f64, &str)] = &[
            (&[f64::NAN, 3.0, f64::INFINITY], 0, 0.0, 0.0, "one finite value"),
            (&[0.0, 0.0, 0.0], 0, 0.0, 0.0, "all zeros: no division by zero"),
            (&[0.0, 1.0, 2.0], 2, 0.0, 1.0, "first value 0: relative improvement 0"),
        ];
        for (values, index, rel_imp, fraction, why) in cases {
            let f = CurveFeatures::from_values("c", values).unwrap();
            assert_eq!(f.convergence_index, *index, "{why}");
            assert_eq!(f.relative_improvement, *rel_imp, "{why}");
            assert_eq!(f.convergence_fraction, *fraction, "{why}");
            assert!(f.relative_stability.is_finite(), "{why}");
        }
        assert_eq!(CurveFeatures::from_values("c", &[f64::NAN]), None);
    }

    #[test]
    fn standardise_zeroes_constant_columns() {
        // Column 0 varies (1, 2, 3: mean 2, population std sqrt(2/3)); column 1 is 0.1 three times,
        // whose float mean is not exactly 0.1; column 2 holds an infinity.
        let mut rows = vec![
            vec![1.0, 0.1, 1.0],
            vec![2.0, 0.1, f64::INFINITY],
            vec![3.0, 0.1, 2.0],
        ];
        standardise(&mut rows);
        let s = (2.0f64 / 3.0).sqrt();
        let want = [[-1.0 / s, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0 / s, 0.0, 0.0]];
        for (row, want) in rows.iter().zip(want) {
            for (got, want) in row.iter().zip(want) {
                assert!((got - want).abs() < 1e-12, "{rows:?}");
            }
        }
    }
}
