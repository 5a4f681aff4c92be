//! What [`predict`](super::predict) returns: [`Prediction`], [`PredictedPoint`], [`Candidate`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::curve::FittedCurve;
use super::families::Family;

/// A predicted value with its band.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PredictedPoint {
    /// Where (same units as the input x).
    pub x: f64,
    /// The fitted curve's value.
    pub value: f64,
    /// Lower end of the band.
    pub lower: f64,
    /// Upper end of the band.
    pub upper: f64,
}

/// How one family did on the held-out tail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Candidate {
    /// The family.
    pub family: Family,
    /// RMSE on the held-out tail of the family fitted to the head; `None` if the fit failed.
    pub holdout_error: Option<f64>,
    /// Why the fit failed, if it did.
    pub failure: Option<String>,
}

/// A learning-curve extrapolation: the chosen family, its fit, and predictions with a band.
///
/// The band at `x` is `value ± band_z·√(se(x)² + σ² + (drift·max(0, x − x_last))²)`: `se(x)` the
/// standard error of the fitted curve from the parameter covariance ([`FittedCurve::std_error`]), `σ`
/// the residual standard deviation (so the band covers a new observation, not only the mean curve), and
/// a model-error term that grows linearly beyond the last observed x. Its rate `drift` is the chosen
/// family's held-out RMSE in excess of the noise, `√(max(0, holdout_error² − σ²))`, divided by the x
/// span of the held-out tail: the extrapolation error seen one held-out span past the fitted data is
/// assumed to keep growing at that rate. It is a heuristic band, nominally 95% for `band_z = 1.96`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Prediction {
    /// The chosen family.
    pub family: Family,
    /// Its parameters refitted on all points, by name, in the input's x units.
    pub params: BTreeMap<String, f64>,
    /// RMSE of the chosen family (fitted to the head) on the held-out tail.
    pub holdout_error: f64,
    /// Residual standard deviation of the final fit on all points.
    pub residual_std: f64,
    /// Every family tried, in the order of the options.
    pub candidates: Vec<Candidate>,
    /// Number of finite points used.
    pub n_points: usize,
    /// The last observed x (where extrapolation begins).
    pub x_last: f64,
    /// Growth of the model-error part of the band per unit x beyond `x_last`.
    pub drift: f64,
    /// Band width in standard errors.
    pub band_z: f64,
    /// The prediction at the horizon.
    pub horizon: PredictedPoint,
    /// The best predicted value on the grid (lowest for [`Goal::Minimize`](super::Goal::Minimize)).
    pub best: PredictedPoint,
    /// The first grid point whose remaining predicted gain to `best` is at most `plateau_tolerance` of
    /// the largest remaining gain on the grid: from here on, further training is predicted to help
    /// little.
    pub plateau: PredictedPoint,
    /// The prediction on an even grid from the first observed x to the horizon.
    pub points: Vec<PredictedPoint>,
    /// The final fit (all points), to evaluate anywhere.
    pub curve: FittedCurve,
}

impl Prediction {
    /// The prediction and its band at `x`; `None` outside the family's domain or when not finite.
    pub fn at(&self, x: f64) -> Option<PredictedPoint> {
        Band {
            z: self.band_z,
            x_last: self.x_last,
            drift: self.drift,
        }
        .at(&self.curve, x)
    }
}

/// The band's settings (see [`Prediction`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Band {
    pub z: f64,
    pub x_last: f64,
    pub drift: f64,
}

impl Band {
    /// The curve's value at `x` with the band around it.
    pub(crate) fn at(&self, curve: &FittedCurve, x: f64) -> Option<PredictedPoint> {
        let value = curve.value(x)?;
        let se = curve.std_error(x).unwrap_or(0.0);
        let beyond = self.drift * (x - self.x_last).max(0.0);
        let sigma = curve.residual_std();
        let half = self.z * (se * se + sigma * sigma + beyond * beyond).sqrt();
        half.is_finite().then_some(PredictedPoint {
            x,
            value,
            lower: value - half,
            upper: value + half,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::sample;
    use super::super::{predict, PredictOptions};
    use super::*;

    #[test]
    fn prediction_serialises_with_named_fields() {
        let (xs, ys) = sample(Family::Log, 40, None, 0.0);
        let all = PredictOptions::default().with_families(&Family::ALL);
        let p = predict(&xs, &ys, &all).unwrap();
        let v: serde_json::Value = serde_json::to_value(&p).unwrap();
        assert_eq!(v["family"], "log");
        assert!((v["params"]["b"].as_f64().unwrap() + 0.4).abs() < 1e-9);
        assert!(v["holdout_error"].as_f64().unwrap() < 1e-9);
        assert_eq!(v["points"].as_array().unwrap().len(), 101);
        assert_eq!(
            v["horizon"]["x"], 79.0,
            "default horizon: last x + span = 40 + 39"
        );
        let back: Prediction = serde_json::from_value(v).unwrap();
        assert_eq!(back.family, Family::Log);
        assert!((back.at(79.0).unwrap().value - p.horizon.value).abs() < 1e-12);
    }
}
