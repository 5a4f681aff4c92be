//! One family fitted to one curve: [`FittedCurve`] and [`fit_family`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::data::{Points, Scaled};
use super::families::Family;
use super::linalg::{quadratic_form, Matrix, Vector, MAX_PARAMS};
use super::lm::{minimize, LmResult};
use super::problem::CurveProblem;
use super::seeds::seeds;
use super::stopping::Termination;
use super::{PredictError, PredictOptions};

/// A family fitted by least squares to one curve.
///
/// Internally the fit runs on `u = x / s` with `s` the largest fitted `x`, which keeps rates and
/// scales near 1; [`FittedCurve::params`] reports the parameters in the original `x` units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedCurve {
    family: Family,
    params: BTreeMap<String, f64>,
    scaled: Vec<f64>,
    x_scale: f64,
    covariance: Option<Vec<Vec<f64>>>,
    residual_std: f64,
    rmse: f64,
    n_points: usize,
    iterations: usize,
    termination: Termination,
}

/// Fits one family to `(xs, ys)` by Levenberg–Marquardt from the best few data-driven starts
/// (`options.starts` of them; `options.lm` sets the stopping rules), keeping the lowest cost.
///
/// Non-finite points are skipped; `x` must be positive. Needs at least `n_params + 1` points.
///
/// ```
/// use curvewatch::analysis::prediction::{fit_family, Family, PredictOptions};
/// let xs: Vec<f64> = (1..=50).map(f64::from).collect();
/// let ys: Vec<f64> = xs.iter().map(|x| 2.0 * (-0.1 * x).exp() + 0.5).collect();
/// let fit = fit_family(Family::ExpDecay, &xs, &ys, &PredictOptions::default()).unwrap();
/// assert!((fit.param("b").unwrap() - 0.1).abs() < 1e-6);
/// assert!((fit.value(100.0).unwrap() - (2.0 * (-10.0f64).exp() + 0.5)).abs() < 1e-6);
/// ```
pub fn fit_family(
    family: Family,
    xs: &[f64],
    ys: &[f64],
    options: &PredictOptions,
) -> Result<FittedCurve, PredictError> {
    options.validate()?;
    let points = Points::clean(xs, ys)?;
    let need = family.n_params() + 1;
    if points.len() < need {
        return Err(PredictError::TooFewPoints {
            got: points.len(),
            need,
        });
    }
    fit_points(family, &points, options)
        .map_err(|reason| PredictError::FitFailed { family, reason })
}

/// Fits cleaned, sorted points (at least `n_params + 1` of them, all `x > 0`).
pub(crate) fn fit_points(
    family: Family,
    points: &Points,
    options: &PredictOptions,
) -> Result<FittedCurve, String> {
    let m = family.n_params();
    if points.len() <= m {
        return Err(format!("{} points cannot fit {m} parameters", points.len()));
    }
    let data = Scaled::new(points, options.recency);
    let problem = CurveProblem {
        family,
        data: &data,
    };
    let best = seeds(family, &data, options.starts.max(1))
        .iter()
        .filter_map(|seed| minimize(&problem, &problem.to_free(&seed.params), &options.lm))
        .min_by(|a, b| a.normal.cost.total_cmp(&b.normal.cost))
        .ok_or_else(|| "no starting point gave a finite fit".to_string())?;
    build(&problem, &best).ok_or_else(|| "the fitted parameters are not finite".to_string())
}

/// Builds the result from the solver's best point; `None` if something is not finite.
fn build(problem: &CurveProblem, r: &LmResult) -> Option<FittedCurve> {
    let (family, m, n) = (
        problem.family,
        problem.family.n_params(),
        problem.data.len(),
    );
    let t = problem.to_natural(&r.params);
    let orig = family.unscale(&t, problem.data.s);
    let sse: f64 = problem
        .data
        .iter()
        .map(|(u, y, _)| (y - family.value(&t, u)).powi(2))
        .sum();
    let sigma2 = sse / (n - m) as f64;
    if !t.iter().chain(&orig).chain([&sse]).all(|v| v.is_finite()) {
        return None;
    }
    let names = family.param_names();
    Some(FittedCurve {
        family,
        params: names
            .iter()
            .zip(orig)
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        scaled: t[..m].to_vec(),
        x_scale: problem.data.s,
        covariance: problem.covariance(&r.normal, &t, sigma2),
        residual_std: sigma2.sqrt(),
        rmse: (sse / n as f64).sqrt(),
        n_points: n,
        iterations: r.iterations,
        termination: r.termination,
    })
}

impl FittedCurve {
    /// The family.
    pub fn family(&self) -> Family {
        self.family
    }

    /// Fitted parameters by name (see [`Family::param_names`]), in the original `x` units.
    pub fn params(&self) -> &BTreeMap<String, f64> {
        &self.params
    }

    /// One fitted parameter by name.
    pub fn param(&self, name: &str) -> Option<f64> {
        self.params.get(name).copied()
    }

    /// Root mean square of the residuals on the fitted points.
    pub fn rmse(&self) -> f64 {
        self.rmse
    }

    /// Residual standard deviation `σ = √(SSE / (n − p))` (`n` points, `p` parameters).
    pub fn residual_std(&self) -> f64 {
        self.residual_std
    }

    /// Number of points fitted.
    pub fn n_points(&self) -> usize {
        self.n_points
    }

    /// Levenberg–Marquardt iterations of the winning start.
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// Why the winning start's solver stopped; [`Termination::converged`] tells whether it converged.
    pub fn termination(&self) -> Termination {
        self.termination
    }

    /// The fitted curve at `x`; `None` outside the family's domain or when not finite.
    pub fn value(&self, x: f64) -> Option<f64> {
        let t = self.scaled_vector()?;
        let v = self.family.value(&t, self.scaled_x(x)?);
        v.is_finite().then_some(v)
    }

    /// Standard error of the fitted curve at `x`, `√(gᵀ·Σ·g)`, from the parameter covariance
    /// `Σ = σ²·(JᵀJ)⁻¹` at the solution (`J` the Jacobian over the fitted points, `g = ∂f/∂θ` at `x`).
    /// It reflects the noise in the fitted points only, not a wrong choice of family. `None` when the
    /// covariance is unavailable or the value is not finite.
    pub fn std_error(&self, x: f64) -> Option<f64> {
        let t = self.scaled_vector()?;
        let cov = self.covariance.as_ref()?;
        let mut m: Matrix = [[0.0; MAX_PARAMS]; MAX_PARAMS];
        for (i, row) in cov.iter().enumerate().take(MAX_PARAMS) {
            for (j, v) in row.iter().enumerate().take(MAX_PARAMS) {
                m[i][j] = *v;
            }
        }
        let g = self.family.gradient(&t, self.scaled_x(x)?);
        let var = quadratic_form(&m, &g, self.family.n_params());
        (var.is_finite() && var >= 0.0).then(|| var.sqrt())
    }

    fn scaled_x(&self, x: f64) -> Option<f64> {
        let ok =
            x.is_finite() && (x > 0.0 || !self.family.needs_positive_x()) && self.x_scale > 0.0;
        ok.then(|| x / self.x_scale)
    }

    fn scaled_vector(&self) -> Option<Vector> {
        if self.scaled.len() != self.family.n_params() {
            return None;
        }
        let mut t = [0.0; MAX_PARAMS];
        t[..self.scaled.len()].copy_from_slice(&self.scaled);
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{sample, truth, Lcg};
    use super::*;

    fn assert_params(fit: &FittedCurve, tol: f64, why: &str) {
        let f = fit.family();
        for (name, want) in f.param_names().iter().zip(truth(f)) {
            let got = fit.param(name).unwrap();
            let err = (got - want).abs() / want.abs();
            assert!(
                err < tol,
                "{f} {why}: {name} = {got}, true {want} (relative error {err:.2e} > {tol})"
            );
        }
    }

    #[test]
    fn recovers_known_parameters_from_clean_curves() {
        for f in Family::ALL {
            let (xs, ys) = sample(f, 200, None, 0.0);
            let fit = fit_family(f, &xs, &ys, &PredictOptions::default()).unwrap();
            assert_params(&fit, 1e-5, "clean");
            assert!(fit.rmse() < 1e-8, "{f}: rmse {}", fit.rmse());
            assert!(
                fit.termination().converged(),
                "{f}: {:?}",
                fit.termination()
            );
        }
    }

    #[test]
    fn recovers_parameters_within_tolerance_under_small_noise() {
        // Noise uniform in ±0.01 (σ ≈ 0.0058) on curves spanning about 0.8 to 2.5 in y.
        // Stated tolerances: the 2- and 3-parameter families within 5%, Weibull and MMF (whose
        // parameters trade off against each other) within 25%.
        let cases = [
            (Family::Linear, 0.05),
            (Family::Log, 0.05),
            (Family::ExpDecay, 0.05),
            (Family::Pow3, 0.05),
            (Family::Weibull, 0.25),
            (Family::Mmf, 0.25),
        ];
        for (f, tol) in cases {
            let mut rng = Lcg(42);
            let (xs, ys) = sample(f, 200, Some(&mut rng), 0.01);
            let fit = fit_family(f, &xs, &ys, &PredictOptions::default()).unwrap();
            assert_params(&fit, tol, "noisy");
            let sigma = 0.01 / 3f64.sqrt();
            let s = fit.residual_std();
            assert!(
                (s - sigma).abs() < 0.15 * sigma,
                "{f}: residual std {s} vs noise std {sigma}"
            );
            // The true curve lies within 4 standard errors of the fit at a few x inside the data.
            for x in [5.0, 50.0, 150.0] {
                let want = f.eval(&truth(f), x).unwrap();
                let (got, se) = (fit.value(x).unwrap(), fit.std_error(x).unwrap());
                assert!(
                    (got - want).abs() <= 4.0 * se + 1e-12,
                    "{f} at {x}: {got} vs {want}, se {se}"
                );
            }
        }
    }

    #[test]
    fn std_error_shrinks_with_more_points() {
        // Same noise level, 4× the points: the curve's standard error should roughly halve (1/√n).
        let mut rng = Lcg(7);
        let (xs, ys) = sample(Family::Linear, 100, Some(&mut rng), 0.01);
        let small = fit_family(Family::Linear, &xs, &ys, &PredictOptions::default()).unwrap();
        let xs4: Vec<f64> = (1..=400).map(|i| i as f64 * 0.25).collect();
        let ys4: Vec<f64> = xs4
            .iter()
            .map(|x| 2.0 - 0.004 * x + rng.noise(0.01))
            .collect();
        let big = fit_family(Family::Linear, &xs4, &ys4, &PredictOptions::default()).unwrap();
        let ratio = big.std_error(50.0).unwrap() / small.std_error(50.0).unwrap();
        assert!((0.35..0.7).contains(&ratio), "ratio {ratio}");
    }

    #[test]
    fn linear_std_error_matches_the_textbook_formula() {
        // Unweighted straight line: Var(ŷ(x)) = σ²·(1/n + (x − x̄)²/Sxx).
        let mut rng = Lcg(11);
        let xs: Vec<f64> = (1..=30).map(f64::from).collect();
        let ys: Vec<f64> = xs.iter().map(|x| 1.0 + 0.1 * x + rng.noise(0.5)).collect();
        let o = PredictOptions::default().with_recency(0.0);
        let fit = fit_family(Family::Linear, &xs, &ys, &o).unwrap();
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let sxx: f64 = xs.iter().map(|x| (x - mean).powi(2)).sum();
        let sigma = fit.residual_std();
        for x in [1.0, 15.5, 60.0] {
            let want = sigma * (1.0 / n + (x - mean).powi(2) / sxx).sqrt();
            let got = fit.std_error(x).unwrap();
            assert!((got - want).abs() < 1e-9 * want, "x = {x}: {got} vs {want}");
        }
    }

    #[test]
    fn recency_weights_give_the_weighted_least_squares_line() {
        // y = x² on x = 1..=10 is not a line, so the weights matter. With recency 1 the weights are
        // x/10; the weighted line is b = Σw(x−x̄)(y−ȳ)/Σw(x−x̄)², a = ȳ − b·x̄ (weighted means).
        let xs: Vec<f64> = (1..=10).map(f64::from).collect();
        let ys: Vec<f64> = xs.iter().map(|x| x * x).collect();
        let w: Vec<f64> = xs.iter().map(|x| x / 10.0).collect();
        let sw: f64 = w.iter().sum();
        let xm = xs.iter().zip(&w).map(|(x, w)| w * x).sum::<f64>() / sw;
        let ym = ys.iter().zip(&w).map(|(y, w)| w * y).sum::<f64>() / sw;
        let sxy: f64 = (0..10).map(|i| w[i] * (xs[i] - xm) * (ys[i] - ym)).sum();
        let sxx: f64 = (0..10).map(|i| w[i] * (xs[i] - xm).powi(2)).sum();
        let (b, a) = (sxy / sxx, ym - sxy / sxx * xm);
        let fit = fit_family(
            Family::Linear,
            &xs,
            &ys,
            &PredictOptions::default().with_recency(1.0),
        )
        .unwrap();
        assert!(
            (fit.param("a").unwrap() - a).abs() < 1e-9,
            "a {} vs {a}",
            fit.param("a").unwrap()
        );
        assert!(
            (fit.param("b").unwrap() - b).abs() < 1e-9,
            "b {} vs {b}",
            fit.param("b").unwrap()
        );
        // Ordinary least squares gives the familiar slope 11 and intercept −22 for x² on 1..=10.
        let ols = fit_family(
            Family::Linear,
            &xs,
            &ys,
            &PredictOptions::default().with_recency(0.0),
        )
        .unwrap();
        assert!(
            (ols.param("b").unwrap() - 11.0).abs() < 1e-9
                && (ols.param("a").unwrap() + 22.0).abs() < 1e-9
        );
    }

    #[test]
    fn fit_errors() {
        let o = PredictOptions::default();
        let err = fit_family(Family::ExpDecay, &[1.0, 2.0, 3.0], &[3.0, 2.0, 1.5], &o).unwrap_err();
        assert_eq!(
            err,
            PredictError::TooFewPoints { got: 3, need: 4 },
            "three params need four points"
        );
        let err = fit_family(Family::Log, &[0.0, 1.0, 2.0], &[1.0, 2.0, 3.0], &o).unwrap_err();
        assert_eq!(err, PredictError::NonPositiveX { x: 0.0 });
        let bad = o.clone().with_starts(0);
        assert!(matches!(
            fit_family(Family::Log, &[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], &bad),
            Err(PredictError::InvalidOption { name: "starts", .. })
        ));
    }

    #[test]
    fn fitted_curve_round_trips_through_json() {
        let (xs, ys) = sample(Family::Pow3, 50, None, 0.0);
        let fit = fit_family(Family::Pow3, &xs, &ys, &PredictOptions::default()).unwrap();
        let back: FittedCurve =
            serde_json::from_str(&serde_json::to_string(&fit).unwrap()).unwrap();
        // serde_json's default float parsing may differ in the last bit, so compare with a tolerance.
        assert_eq!(
            (back.family(), back.n_points()),
            (fit.family(), fit.n_points())
        );
        let (a, b) = (back.value(500.0).unwrap(), fit.value(500.0).unwrap());
        assert!((a - b).abs() < 1e-14, "{a} vs {b}");
        assert_eq!(
            back.params().keys().collect::<Vec<_>>(),
            vec!["a", "alpha", "c"]
        );
        assert_eq!(fit.value(0.0), None, "pow3 is undefined at x = 0");
        assert_eq!(fit.value(f64::NAN), None);
    }
}
