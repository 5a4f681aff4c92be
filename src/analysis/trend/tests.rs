//! Unit tests for the slice trend functions (the rolling windows have theirs beside them).

use super::*;

const NAN: f64 = f64::NAN;

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-12 * b.abs().max(1.0),
        (a, b) => a == b,
    }
}

/// (xs, ys, expected slope, reason)
type XyCase<'a> = (&'a [f64], &'a [f64], Option<f64>, &'a str);

/// (ys, relative slope, oscillation, reason)
type LevelCase<'a> = (&'a [f64], Option<f64>, Option<f64>, &'a str);

#[test]
fn slope_hand_values() {
    let cases: &[(&[f64], Option<f64>, &str)] = &[
        (&[1.0, 3.0, 5.0, 7.0], Some(2.0), "exact line"),
        (
            &[1.0, NAN, 5.0],
            Some(2.0),
            "NaN skipped, its index kept: (0,1) and (2,5)",
        ),
        (&[1.0, 2.0, 2.0, 4.0], Some(0.9), "Sxy 4.5 / Sxx 5"),
        (&[4.0, 4.0, 4.0], Some(0.0), "flat"),
        (&[3.0], None, "one point"),
        (&[NAN, 2.0, f64::INFINITY], None, "one finite point"),
        (&[], None, "empty"),
    ];
    for (ys, want, why) in cases {
        assert!(close(slope(ys), *want), "{why}: got {:?}", slope(ys));
    }
}

#[test]
fn slope_xy_hand_values() {
    let cases: &[XyCase] = &[
        (
            &[0.0, 10.0, 30.0],
            &[1.0, 2.0, 4.0],
            Some(0.1),
            "uneven x on an exact line",
        ),
        // x mean 1, y mean 2: Sxy = (-1)(-1) + 0 + (1)(1) = 2, Sxx = 2.
        (
            &[0.0, 1.0, NAN, 2.0],
            &[1.0, 2.0, 100.0, 3.0],
            Some(1.0),
            "NaN x drops the pair",
        ),
        (&[2.0, 2.0, 2.0], &[1.0, 5.0, 9.0], None, "zero x variance"),
        (&[0.0, 1.0], &[1.0, 2.0, 3.0], None, "length mismatch"),
        (
            &[1e200, -1e200, 3e200],
            &[1.0, 2.0, 3.0],
            None,
            "overflowing x sums",
        ),
    ];
    for (xs, ys, want, why) in cases {
        assert!(
            close(slope_xy(xs, ys), *want),
            "{why}: got {:?}",
            slope_xy(xs, ys)
        );
    }
}

#[test]
fn fit_line_hand_values() {
    // By hand: x 0..3, y 1, 2, 2, 4. Means 1.5, 2.25; Sxx 5, Sxy 4.5, Syy 4.75.
    // slope 0.9, intercept 2.25 - 1.35 = 0.9; predictions 0.9, 1.8, 2.7, 3.6;
    // residuals 0.1, 0.2, -0.7, 0.4; SSE 0.70; residual std sqrt(0.35); R² = 1 - 0.7/4.75.
    let fit = fit_line(&[0.0, 1.0, 2.0, 3.0], &[1.0, 2.0, 2.0, 4.0]).unwrap();
    let want = [
        (fit.slope, 0.9, "slope"),
        (fit.intercept, 0.9, "intercept"),
        (fit.residual_std, 0.35f64.sqrt(), "residual std"),
        (fit.r2, 1.0 - 0.7 / 4.75, "r2"),
        (fit.predict(10.0), 9.9, "predict"),
    ];
    for (got, expected, why) in want {
        assert!((got - expected).abs() < 1e-12, "{why}: {got} vs {expected}");
    }
    let two = fit_line(&[1.0, 3.0], &[5.0, 1.0]).unwrap();
    assert_eq!(
        (two.slope, two.intercept, two.residual_std, two.r2),
        (-2.0, 7.0, 0.0, 1.0)
    );
    let flat = fit_line(&[1.0, 2.0, 3.0], &[7.0, 7.0, 7.0]).unwrap();
    assert_eq!(
        (flat.slope, flat.r2, flat.residual_std),
        (0.0, 1.0, 0.0),
        "constant y"
    );
}

#[test]
fn fit_is_precise_on_a_large_offset() {
    // A naive Σx², Σxy formula loses this slope; the centred passes keep it.
    let ys: Vec<f64> = (0..1000).map(|i| 1e8 + 1e-3 * i as f64).collect();
    let fit = fit_line(&(0..1000).map(|i| 1e9 + i as f64).collect::<Vec<_>>(), &ys).unwrap();
    assert!((fit.slope - 1e-3).abs() < 1e-9, "{}", fit.slope);
}

#[test]
fn relative_slope_and_oscillation() {
    // (ys, relative slope, oscillation, reason)
    let cases: &[LevelCase] = &[
        (
            &[12.0, 10.0, 8.0],
            Some(-0.2),
            Some(0.0),
            "straight line: -2 on a level of 10",
        ),
        (
            &[1.2, 1.0, 0.8],
            Some(-0.2),
            Some(0.0),
            "same curve at 1/10 scale, same numbers",
        ),
        (
            &[1.0, 2.0, 2.0, 4.0],
            Some(0.9 / 2.25),
            Some(0.35f64.sqrt() / 2.25),
            "by hand",
        ),
        (
            &[-12.0, -10.0, -8.0],
            Some(0.2),
            Some(0.0),
            "negative level: divided by |mean|",
        ),
        (&[-1.0, 1.0, -1.0, 1.0], None, None, "mean exactly zero"),
        (&[0.0, 0.0, 0.0], None, None, "all zero"),
        (&[5.0], None, None, "too few points"),
        (
            &[3.0, 5.0],
            Some(0.5),
            Some(0.0),
            "two points: residual std 0",
        ),
    ];
    for (ys, rel, osc, why) in cases {
        assert!(
            close(relative_slope(ys), *rel),
            "{why}: slope {:?}",
            relative_slope(ys)
        );
        assert!(
            close(oscillation(ys), *osc),
            "{why}: oscillation {:?}",
            oscillation(ys)
        );
    }
}

#[test]
fn sign_changes_cases() {
    let cases: &[(&[f64], Option<f64>, &str)] = &[
        (&[1.0, 3.0, 2.0, 4.0, 3.0], Some(1.0), "zigzag"),
        (&[5.0, 4.0, 3.0, 1.0], Some(0.0), "monotone"),
        (
            &[1.0, 2.0, 2.0, 1.0],
            Some(1.0),
            "flat step skipped: up then down",
        ),
        (
            &[1.0, 2.0, 3.0, 2.0, 1.0],
            Some(1.0 / 3.0),
            "one turn in three pairs",
        ),
        (
            &[1.0, NAN, 3.0, 2.0],
            Some(1.0),
            "NaN skipped: diffs +2, -1",
        ),
        (&[1.0, 2.0], None, "one difference"),
        (&[2.0, 2.0, 2.0], None, "no non-zero difference"),
    ];
    for (ys, want, why) in cases {
        assert!(
            close(sign_changes(ys), *want),
            "{why}: {:?}",
            sign_changes(ys)
        );
    }
}

#[test]
fn sign_changes_of_noise_is_about_two_thirds() {
    let mut rng = crate::testutil::Lcg(1);
    let ys: Vec<f64> = (0..100_000).map(|_| rng.uniform()).collect();
    let f = sign_changes(&ys).unwrap();
    assert!((f - 2.0 / 3.0).abs() < 0.01, "{f}");
}
