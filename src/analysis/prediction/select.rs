//! Family selection on a held-out tail, the final fit, and the prediction with its band.

use super::curve::{fit_points, FittedCurve};
use super::data::Points;
use super::outcome::{Band, Candidate, PredictedPoint, Prediction};
use super::{PredictError, PredictOptions};

/// Fewest points [`predict`] accepts: three to fit a two-parameter family with one residual degree of
/// freedom, plus one held out.
pub const MIN_POINTS: usize = 4;

/// Extrapolates a learning curve: fits each family in `options.families` to all but the last
/// `holdout_fraction` of the points, picks the family with the lowest RMSE on those held-out points
/// (preferring fewer parameters within `parsimony`), refits it on all points, and predicts up to the
/// horizon with a band (see [`Prediction`]).
///
/// Pairs with a non-finite x or y are skipped; x must be positive (the log and power families use
/// `ln x` and `x^−α`): for step counters that start at 0, pass `step + 1`, or use [`predict_values`].
///
/// ```
/// use curvewatch::analysis::prediction::{predict, Family, PredictOptions};
/// let xs: Vec<f64> = (1..=200).map(f64::from).collect();
/// let ys: Vec<f64> = xs.iter().map(|x| 2.0 + 3.0 * x.powf(-0.5)).collect(); // pow3: c = 2, a = −3
/// let p = predict(&xs, &ys, &PredictOptions::default().with_horizon(1000.0)).unwrap();
/// assert_eq!(p.family, Family::Pow3);
/// assert!((p.horizon.value - (2.0 + 3.0 / 1000f64.sqrt())).abs() < 1e-6);
/// assert!(p.horizon.lower <= p.horizon.value && p.horizon.value <= p.horizon.upper);
/// ```
pub fn predict(
    xs: &[f64],
    ys: &[f64],
    options: &PredictOptions,
) -> Result<Prediction, PredictError> {
    options.validate()?;
    let points = Points::clean(xs, ys)?;
    let n = points.len();
    if n < MIN_POINTS {
        return Err(PredictError::TooFewPoints {
            got: n,
            need: MIN_POINTS,
        });
    }
    let (x_first, x_last) = points.x_range();
    if x_first == x_last {
        return Err(PredictError::NoSpread { x: x_first });
    }
    let held = ((n as f64 * options.holdout_fraction).round() as usize).clamp(1, n - 3);
    let (head, tail) = points.split(n - held);
    let scored = score_families(&head, &tail, options);
    let x_from = head.x_range().1;
    let mut failures = Vec::new();
    for i in preference(&scored, options.parsimony, points.y_scale()) {
        let (family, error) = (scored[i].0.family, scored[i].0.holdout_error.unwrap_or(0.0));
        match fit_points(family, &points, options) {
            Ok(curve) => {
                let candidates = scored.into_iter().map(|(c, _)| c).collect();
                let holdout = HoldoutSummary { error, x_from };
                return assemble(curve, candidates, holdout, &points, options);
            }
            Err(e) => failures.push(format!("{family}: {e} (final fit)")),
        }
    }
    let failed = scored
        .iter()
        .filter_map(|(c, _)| Some(format!("{}: {}", c.family, c.failure.as_ref()?)));
    let details: Vec<String> = failed.chain(failures).collect();
    Err(PredictError::NoFamilyConverged {
        details: details.join("; "),
    })
}

/// [`predict`] with `x = 1, 2, 3, …` (the index plus one), for a curve logged once per step or epoch.
pub fn predict_values(ys: &[f64], options: &PredictOptions) -> Result<Prediction, PredictError> {
    let xs: Vec<f64> = (1..=ys.len()).map(|i| i as f64).collect();
    predict(&xs, ys, options)
}

/// Fits each family to the head and scores it on the tail; the `usize` is its parameter count.
fn score_families(
    head: &Points,
    tail: &Points,
    options: &PredictOptions,
) -> Vec<(Candidate, usize)> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for &family in &options.families {
        if seen.contains(&family) {
            continue;
        }
        seen.push(family);
        let scored = fit_points(family, head, options).and_then(|c| holdout_rmse(&c, tail));
        let cand = match scored {
            Ok(e) => Candidate {
                family,
                holdout_error: Some(e),
                failure: None,
            },
            Err(f) => Candidate {
                family,
                holdout_error: None,
                failure: Some(f),
            },
        };
        out.push((cand, family.n_params()));
    }
    out
}

fn holdout_rmse(curve: &FittedCurve, tail: &Points) -> Result<f64, String> {
    let mut sse = 0.0;
    for (x, y) in tail.x.iter().zip(&tail.y) {
        let v = curve
            .value(*x)
            .ok_or_else(|| format!("not finite at held-out x = {x}"))?;
        sse += (v - y).powi(2);
    }
    let rmse = (sse / tail.len().max(1) as f64).sqrt();
    if rmse.is_finite() {
        Ok(rmse)
    } else {
        Err("held-out error is not finite".to_string())
    }
}

/// Indices of the scored families in the order to try them: the parsimonious choice first, then the
/// others by held-out error. Failed fits are left out.
fn preference(scored: &[(Candidate, usize)], parsimony: f64, y_scale: f64) -> Vec<usize> {
    let ok: Vec<(usize, f64, usize)> = scored
        .iter()
        .enumerate()
        .filter_map(|(i, (c, k))| c.holdout_error.map(|e| (i, e, *k)))
        .collect();
    let Some(best) = ok.iter().map(|t| t.1).min_by(f64::total_cmp) else {
        return Vec::new();
    };
    let limit = best * (1.0 + parsimony) + 1e-9 * y_scale;
    let chosen = ok
        .iter()
        .filter(|t| t.1 <= limit)
        .min_by(|a, b| a.2.cmp(&b.2).then(a.1.total_cmp(&b.1)))
        .map(|t| t.0);
    let mut rest: Vec<&(usize, f64, usize)> = ok.iter().filter(|t| Some(t.0) != chosen).collect();
    rest.sort_by(|a, b| a.1.total_cmp(&b.1));
    chosen
        .into_iter()
        .chain(rest.into_iter().map(|t| t.0))
        .collect()
}

/// What the band needs from the held-out scoring.
struct HoldoutSummary {
    error: f64,
    /// The last x of the head (the held-out tail runs from here to the last x).
    x_from: f64,
}

fn assemble(
    curve: FittedCurve,
    candidates: Vec<Candidate>,
    holdout: HoldoutSummary,
    points: &Points,
    options: &PredictOptions,
) -> Result<Prediction, PredictError> {
    let (x_first, x_last) = points.x_range();
    let sigma = curve.residual_std();
    let span = x_last - holdout.x_from;
    let excess = (holdout.error * holdout.error - sigma * sigma)
        .max(0.0)
        .sqrt();
    let drift = if span > 0.0 { excess / span } else { 0.0 };
    let band = Band {
        z: options.band_z,
        x_last,
        drift,
    };
    let failed = |reason: String| PredictError::FitFailed {
        family: curve.family(),
        reason,
    };
    let horizon_x = options.horizon.unwrap_or(x_last + (x_last - x_first));
    let horizon = band.at(&curve, horizon_x).ok_or_else(|| {
        failed(format!(
            "the prediction at the horizon x = {horizon_x} is not finite"
        ))
    })?;
    let (end, k) = (horizon_x.max(x_last), options.n_points);
    let grid = (0..k).map(|i| x_first + (end - x_first) * i as f64 / (k - 1) as f64);
    let grid: Vec<PredictedPoint> = grid.filter_map(|x| band.at(&curve, x)).collect();
    let (best, plateau) =
        best_and_plateau(&grid, options).ok_or_else(|| failed("no finite grid point".into()))?;
    Ok(Prediction {
        family: curve.family(),
        params: curve.params().clone(),
        holdout_error: holdout.error,
        residual_std: sigma,
        candidates,
        n_points: points.len(),
        x_last,
        drift,
        band_z: options.band_z,
        horizon,
        best,
        plateau,
        points: grid,
        curve,
    })
}

/// The best grid point and the plateau point (see [`Prediction::plateau`]).
fn best_and_plateau(
    points: &[PredictedPoint],
    options: &PredictOptions,
) -> Option<(PredictedPoint, PredictedPoint)> {
    let sign = options.goal.sign();
    let best = *points
        .iter()
        .min_by(|a, b| (sign * a.value).total_cmp(&(sign * b.value)))?;
    let gain = |p: &PredictedPoint| sign * (p.value - best.value);
    let largest = points.iter().map(gain).fold(0.0, f64::max);
    let plateau = *points
        .iter()
        .find(|p| gain(p) <= options.plateau_tolerance * largest)?;
    Some((best, plateau))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{sample, truth, Lcg};
    use super::super::{Family, Goal};
    use super::*;

    #[test]
    fn chooses_the_generating_family_on_clean_curves() {
        for f in Family::ALL {
            let (xs, ys) = sample(f, 200, None, 0.0);
            let all = PredictOptions::default().with_families(&Family::ALL);
            let p = predict(&xs, &ys, &all.with_horizon(600.0)).unwrap();
            assert_eq!(p.family, f, "clean {f} data; candidates {:?}", p.candidates);
            let want = f.eval(&truth(f), 600.0).unwrap();
            assert!(
                (p.horizon.value - want).abs() < 1e-6,
                "{f}: horizon {} vs {want}",
                p.horizon.value
            );
            assert_eq!(p.candidates.len(), Family::ALL.len());
        }
    }

    #[test]
    fn bad_input_gives_clear_errors() {
        let o = PredictOptions::default();
        let nan = f64::NAN;
        let cases: [(&[f64], &[f64], PredictError, &str); 6] = [
            (
                &[],
                &[],
                PredictError::TooFewPoints { got: 0, need: 4 },
                "empty",
            ),
            (
                &[1.0, 2.0, 3.0],
                &[nan, nan, nan],
                PredictError::NoFiniteData { total: 3 },
                "all NaN",
            ),
            (
                &[1.0, 2.0],
                &[2.0, 1.0],
                PredictError::TooFewPoints { got: 2, need: 4 },
                "two points",
            ),
            (
                &[1.0, 2.0, 3.0, 4.0, 5.0],
                &[1.0, nan, f64::INFINITY, nan, 0.5],
                PredictError::TooFewPoints { got: 2, need: 4 },
                "two finite of five",
            ),
            (
                &[3.0; 5],
                &[1.0, 0.9, 0.8, 0.7, 0.6],
                PredictError::NoSpread { x: 3.0 },
                "one x",
            ),
            (
                &[1.0, 2.0],
                &[1.0, 2.0, 3.0],
                PredictError::LengthMismatch { x_len: 2, y_len: 3 },
                "lengths",
            ),
        ];
        for (xs, ys, want, why) in cases {
            assert_eq!(predict(xs, ys, &o).unwrap_err(), want, "{why}");
        }
        let msg = predict(&[0.0, 1.0, 2.0, 3.0], &[4.0, 3.0, 2.0, 1.0], &o)
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("x must be positive") && msg.contains("step + 1"),
            "{msg}"
        );
    }

    #[test]
    fn constant_curve_gives_a_flat_prediction_with_a_zero_band() {
        let p = predict_values(&[0.7; 30], &PredictOptions::default()).unwrap();
        assert_eq!(
            p.family,
            Family::ExpDecay,
            "all tie at zero error: the first with fewest parameters"
        );
        let all = PredictOptions::default().with_families(&Family::ALL);
        let fam = predict_values(&[0.7; 30], &all).unwrap().family;
        assert!(
            matches!(fam, Family::Linear | Family::Log),
            "same among all families: {fam}"
        );
        for q in p.points.iter().chain([&p.horizon, &p.best, &p.plateau]) {
            assert!(
                (q.value - 0.7).abs() < 1e-12 && (q.upper - q.lower).abs() < 1e-9,
                "{q:?}"
            );
        }
        assert_eq!(
            p.plateau.x, 1.0,
            "nothing left to gain anywhere: the plateau is the first point"
        );
    }

    #[test]
    fn noise_is_skipped_and_band_widens_beyond_the_data() {
        let mut rng = Lcg(3);
        let (mut xs, mut ys) = sample(Family::ExpDecay, 150, Some(&mut rng), 0.02);
        xs.push(f64::NAN);
        ys.push(1.0);
        ys[10] = f64::INFINITY;
        let p = predict(&xs, &ys, &PredictOptions::default().with_horizon(450.0)).unwrap();
        assert_eq!(p.n_points, 149, "two non-finite points skipped");
        assert_eq!(p.x_last, 150.0);
        let width = |x: f64| {
            let q = p.at(x).unwrap();
            q.upper - q.lower
        };
        let sigma = p.residual_std;
        assert!(
            width(75.0) >= 2.0 * 1.96 * sigma,
            "inside the data the band covers the noise"
        );
        assert!(
            width(450.0) >= width(200.0) && width(200.0) >= width(150.0),
            "band grows outwards"
        );
        // The true curve at the horizon lies inside the band.
        let truth_450 = Family::ExpDecay
            .eval(&truth(Family::ExpDecay), 450.0)
            .unwrap();
        assert!(
            p.horizon.lower <= truth_450 && truth_450 <= p.horizon.upper,
            "{:?} vs {truth_450}",
            p.horizon
        );
    }

    #[test]
    fn best_and_plateau_follow_their_definitions() {
        // Clean exp decay 2·e^(−0.03x) + 0.5 on x = 1..=200, grid 1..=601 (horizon 601, 601 points).
        let (xs, ys) = sample(Family::ExpDecay, 200, None, 0.0);
        let o = PredictOptions::default()
            .with_horizon(601.0)
            .with_points(601);
        let p = predict(&xs, &ys, &o).unwrap();
        assert_eq!(p.best.x, 601.0, "a decaying curve is lowest at the horizon");
        // Remaining gain 2·(e^(−0.03x) − e^(−18.03)) ≤ 0.01 · 2·(e^(−0.03) − e^(−18.03)):
        // e^(−0.03x) ≤ 0.01·e^(−0.03) + 0.99·e^(−18.03), x ≥ 154.5 (by hand), first grid x = 155.
        assert_eq!(p.plateau.x, 155.0);
        // Maximising the same curve: best at the first point, and the plateau there too.
        let p = predict(&xs, &ys, &o.clone().with_goal(Goal::Maximize)).unwrap();
        assert_eq!((p.best.x, p.plateau.x), (1.0, 1.0));
    }

    #[test]
    fn failed_families_are_reported_and_skipped() {
        // Five points: one held out, four in the head; the 4-parameter families cannot be fitted on
        // four points (they need five), the others can.
        let xs = [1.0, 2.0, 3.0, 4.0, 5.0];
        let ys = [1.0, 0.6, 0.45, 0.4, 0.38];
        let p = predict(&xs, &ys, &PredictOptions::default()).unwrap();
        let failed: Vec<Family> = p
            .candidates
            .iter()
            .filter(|c| c.failure.is_some())
            .map(|c| c.family)
            .collect();
        assert_eq!(failed, vec![Family::Weibull, Family::Mmf]);
        assert!(p
            .candidates
            .iter()
            .all(|c| c.holdout_error.is_some() != c.failure.is_some()));
        let only4 = PredictOptions::default().with_families(&[Family::Mmf]);
        let err = predict(&xs, &ys, &only4).unwrap_err();
        assert!(
            matches!(err, PredictError::NoFamilyConverged { ref details } if details.contains("mmf")),
            "{err}"
        );
    }
}
