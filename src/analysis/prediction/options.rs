//! [`PredictOptions`] and [`Goal`].

use serde::{Deserialize, Serialize};

use super::families::Family;
use super::stopping::LmOptions;
use super::PredictError;

/// Whether lower (a loss) or higher (an accuracy) values are better; decides the predicted best point.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    /// Lower is better (losses, error rates).
    #[default]
    Minimize,
    /// Higher is better (accuracies, scores).
    Maximize,
}

impl Goal {
    /// `+1` for [`Goal::Minimize`], `−1` for [`Goal::Maximize`]: `(v − best)·sign ≥ 0` is how far `v`
    /// is from the best value.
    pub(crate) fn sign(self) -> f64 {
        match self {
            Goal::Minimize => 1.0,
            Goal::Maximize => -1.0,
        }
    }
}

/// Settings of [`predict`](super::predict) and [`fit_family`](super::fit_family).
///
/// ```
/// use curvewatch::analysis::prediction::{Family, Goal, PredictOptions};
/// let opts = PredictOptions::default()
///     .with_families(&[Family::ExpDecay, Family::Pow3])
///     .with_horizon(10_000.0)
///     .with_goal(Goal::Minimize);
/// assert_eq!(opts.holdout_fraction, 0.25);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct PredictOptions {
    /// Families to try. Default: [`Family::SATURATING`] (use [`Family::ALL`] to include `linear` and
    /// `log`, which fit short stretches well but extrapolate without bound).
    pub families: Vec<Family>,
    /// Fraction of the points (the last ones, by x) held out to choose the family. Default 0.25; at
    /// least one point is held out and at least three are kept for fitting.
    pub holdout_fraction: f64,
    /// Preference for fewer parameters: among the families whose held-out RMSE is within
    /// `best·(1 + parsimony)` (plus `1e-9·max(y range, max |y|)`, for exact
    /// fits), the one with the fewest
    /// parameters wins (then the lowest error). Default 0.02.
    pub parsimony: f64,
    /// Where to predict: the x of [`Prediction::horizon`](super::Prediction::horizon), also the end of
    /// the grid. Default (`None`): the last observed x plus the observed x span (twice the run).
    pub horizon: Option<f64>,
    /// Points of the prediction grid, evenly spaced from the first observed x to the horizon (or to
    /// the last observed x if that is later). Default 101.
    pub n_points: usize,
    /// Width of the band in standard errors (`value ± band_z·se`). Default 1.96 (nominal 95%).
    pub band_z: f64,
    /// Whether lower or higher is better. Default [`Goal::Minimize`].
    pub goal: Goal,
    /// The plateau is the first grid point whose remaining predicted gain to the best point is at most
    /// this fraction of the largest such gain on the grid. Default 0.01.
    pub plateau_tolerance: f64,
    /// Weighting towards recent points: each point's weight in the least-squares fit is
    /// `(x / x_max)^recency`. Forecasts start from the end of the curve, and the first points of a
    /// training run (warmup, the steep initial drop) would otherwise dominate the fit and bias the
    /// extrapolation. 0 gives ordinary least squares. Default 1.
    pub recency: f64,
    /// Levenberg–Marquardt starts per fit (the best seeds of the grid). Default 3.
    pub starts: usize,
    /// Solver stopping rules.
    pub lm: LmOptions,
}

impl Default for PredictOptions {
    fn default() -> Self {
        Self {
            families: Family::SATURATING.to_vec(),
            holdout_fraction: 0.25,
            parsimony: 0.02,
            horizon: None,
            n_points: 101,
            band_z: 1.96,
            goal: Goal::Minimize,
            plateau_tolerance: 0.01,
            recency: 1.0,
            starts: 3,
            lm: LmOptions::default(),
        }
    }
}

impl PredictOptions {
    /// Sets the families to try.
    pub fn with_families(mut self, families: &[Family]) -> Self {
        self.families = families.to_vec();
        self
    }

    /// Sets the held-out fraction.
    pub fn with_holdout_fraction(mut self, fraction: f64) -> Self {
        self.holdout_fraction = fraction;
        self
    }

    /// Sets the parsimony margin.
    pub fn with_parsimony(mut self, parsimony: f64) -> Self {
        self.parsimony = parsimony;
        self
    }

    /// Sets the horizon.
    pub fn with_horizon(mut self, x: f64) -> Self {
        self.horizon = Some(x);
        self
    }

    /// Sets the number of grid points.
    pub fn with_points(mut self, n: usize) -> Self {
        self.n_points = n;
        self
    }

    /// Sets the band width in standard errors.
    pub fn with_band_z(mut self, z: f64) -> Self {
        self.band_z = z;
        self
    }

    /// Sets the goal.
    pub fn with_goal(mut self, goal: Goal) -> Self {
        self.goal = goal;
        self
    }

    /// Sets the plateau tolerance.
    pub fn with_plateau_tolerance(mut self, tolerance: f64) -> Self {
        self.plateau_tolerance = tolerance;
        self
    }

    /// Sets the recency weighting exponent.
    pub fn with_recency(mut self, recency: f64) -> Self {
        self.recency = recency;
        self
    }

    /// Sets the number of solver starts per fit.
    pub fn with_starts(mut self, starts: usize) -> Self {
        self.starts = starts;
        self
    }

    /// Sets the solver's stopping rules.
    pub fn with_lm(mut self, lm: LmOptions) -> Self {
        self.lm = lm;
        self
    }

    /// Checks every option; the error names the first one out of range.
    pub fn validate(&self) -> Result<(), PredictError> {
        let bad = |name, reason| Err(PredictError::InvalidOption { name, reason });
        let h = self.holdout_fraction;
        if self.families.is_empty() {
            return bad("families", "at least one family is needed");
        }
        if !(h > 0.0 && h < 1.0) {
            return bad("holdout_fraction", "must be in (0, 1)");
        }
        if !(self.parsimony.is_finite() && self.parsimony >= 0.0) {
            return bad("parsimony", "must be finite and non-negative");
        }
        if self.horizon.is_some_and(|x| !(x.is_finite() && x > 0.0)) {
            return bad("horizon", "must be finite and positive");
        }
        if !(2..=1_000_000).contains(&self.n_points) {
            return bad("n_points", "must be between 2 and 1,000,000");
        }
        if !(self.band_z.is_finite() && self.band_z >= 0.0) {
            return bad("band_z", "must be finite and non-negative");
        }
        if !(0.0..=1.0).contains(&self.plateau_tolerance) {
            return bad("plateau_tolerance", "must be in [0, 1]");
        }
        if !(0.0..=10.0).contains(&self.recency) {
            return bad("recency", "must be in [0, 10]");
        }
        if !(1..=100).contains(&self.starts) {
            return bad("starts", "must be between 1 and 100");
        }
        match self.lm.invalid() {
            Some(reason) => bad("lm", reason),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_bad_option() {
        let d = PredictOptions::default;
        let cases = [
            (d().with_families(&[]), "families", "empty family list"),
            (
                d().with_holdout_fraction(0.0),
                "holdout_fraction",
                "nothing held out",
            ),
            (
                d().with_holdout_fraction(1.0),
                "holdout_fraction",
                "everything held out",
            ),
            (
                d().with_holdout_fraction(f64::NAN),
                "holdout_fraction",
                "NaN",
            ),
            (d().with_parsimony(-0.1), "parsimony", "negative"),
            (d().with_horizon(0.0), "horizon", "zero horizon"),
            (
                d().with_horizon(f64::INFINITY),
                "horizon",
                "infinite horizon",
            ),
            (d().with_points(1), "n_points", "a grid needs two points"),
            (d().with_band_z(f64::NAN), "band_z", "NaN z"),
            (
                d().with_plateau_tolerance(1.5),
                "plateau_tolerance",
                "above 1",
            ),
            (d().with_starts(0), "starts", "no start"),
            (d().with_recency(f64::NAN), "recency", "NaN exponent"),
            (
                d().with_recency(-1.0),
                "recency",
                "weights growing into the past",
            ),
            (
                d().with_lm(LmOptions::default().with_max_iterations(0)),
                "lm",
                "no iterations",
            ),
        ];
        for (opts, want, why) in cases {
            match opts.validate() {
                Err(PredictError::InvalidOption { name, .. }) => assert_eq!(name, want, "{why}"),
                other => panic!("{why}: expected InvalidOption({want}), got {other:?}"),
            }
        }
        assert_eq!(d().validate(), Ok(()));
    }

    #[test]
    fn options_round_trip_through_json_with_defaults_filled_in() {
        let opts: PredictOptions =
            serde_json::from_str(r#"{"families": ["pow3"], "goal": "maximize"}"#).unwrap();
        assert_eq!(opts.families, vec![Family::Pow3]);
        assert_eq!(opts.goal, Goal::Maximize);
        assert_eq!(opts.n_points, 101, "missing fields take defaults");
        let back: PredictOptions =
            serde_json::from_str(&serde_json::to_string(&opts).unwrap()).unwrap();
        assert_eq!(back, opts);
    }
}
