//! Unit tests for the slice smoothers (the streaming `Ema` has its own beside it).

use super::*;

/// Checks `got` against `want` elementwise; NaN must meet NaN, infinities must be equal.
fn assert_close(got: &[f64], want: &[f64], why: &str) {
    assert_eq!(got.len(), want.len(), "{why}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let ok = (g.is_nan() && w.is_nan()) || g == w || (g - w).abs() <= 1e-12 * w.abs().max(1.0);
        assert!(ok, "{why}: index {i}: got {g}, want {w}");
    }
}

const NAN: f64 = f64::NAN;

/// (steps, values, unit, expected error, reason)
type ErrorCase<'a> = (&'a [f64], &'a [f64], f64, SmoothingError, &'a str);

#[test]
fn debiased_ema_hand_values() {
    let cases: &[(&[f64], f64, &[f64], &str)] = &[
        (
            &[1.0, 2.0, 3.0],
            0.5,
            &[1.0, 1.25 / 0.75, 2.125 / 0.875],
            "w=0.5 by hand",
        ),
        (
            &[10.0, 0.0],
            0.6,
            &[10.0, 3.75],
            "TensorBoard default weight",
        ),
        (
            &[1.0, NAN, 2.0, f64::INFINITY],
            0.5,
            &[1.0, NAN, 1.25 / 0.75, f64::INFINITY],
            "non-finite passed through and not counted",
        ),
        (
            &[NAN, 5.0],
            0.9,
            &[NAN, 5.0],
            "leading NaN does not bias the first value",
        ),
        (
            &[2.0, 4.0, 9.0],
            1.0,
            &[2.0, 3.0, 5.0],
            "w=1 is the running mean",
        ),
        (
            &[2.0, 4.0, 9.0],
            -0.5,
            &[2.0, 4.0, 9.0],
            "negative weight clamps to 0",
        ),
        (&[], 0.5, &[], "empty in, empty out"),
    ];
    for (ys, w, want, why) in cases {
        assert_close(&debiased_ema(ys, *w), want, why);
    }
}

#[test]
fn streaming_ema_equals_slice_bit_for_bit() {
    let mut rng = crate::testutil::Lcg(12345);
    let ys: Vec<f64> = (0..2000)
        .map(|i| {
            let u = rng.uniform();
            if i % 97 == 0 {
                NAN
            } else {
                5.0 / (1.0 + i as f64) + 0.3 * u
            }
        })
        .collect();
    for w in [0.0, 0.3, 0.6, 0.99, 0.999, 1.0] {
        let mut ema = Ema::new(w);
        let streamed: Vec<f64> = ys.iter().map(|&y| ema.update(y).unwrap_or(y)).collect();
        let sliced = debiased_ema(&ys, w);
        for (a, b) in streamed.iter().zip(&sliced) {
            assert!(a.to_bits() == b.to_bits(), "w={w}: {a} vs {b}");
        }
    }
}

#[test]
fn spaced_ema_even_steps_equal_debiased_ema() {
    let ys = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0];
    let steps: Vec<f64> = (0..ys.len()).map(|i| 100.0 + 25.0 * i as f64).collect();
    for w in [0.0, 0.5, 0.9, 1.0] {
        let spaced = spaced_ema(&steps, &ys, w).unwrap();
        let plain = debiased_ema(&ys, w);
        assert_eq!(
            format!("{spaced:?}"),
            format!("{plain:?}"),
            "w={w}: bit for bit on a 25-step grid"
        );
    }
    // With a NaN inside, the finite points are no longer evenly spaced: the spaced EMA lets the
    // missing step's time pass (gap 2), TensorBoard's EMA ignores it (gap 1).
    let holed = [3.0, NAN, 4.0];
    let spaced = spaced_ema(&steps[..3], &holed, 0.5).unwrap();
    assert_close(
        &spaced,
        &[3.0, NAN, (0.375 + 3.0) / 0.875],
        "gap 2 across the NaN",
    );
    assert_close(
        &debiased_ema(&holed, 0.5),
        &[3.0, NAN, 2.75 / 0.75],
        "TensorBoard: gap 1",
    );
    let fractional: Vec<f64> = (0..ys.len()).map(|i| 0.1 * i as f64).collect();
    assert_close(
        &spaced_ema(&fractional, &ys, 0.7).unwrap(),
        &debiased_ema(&ys, 0.7),
        "a 0.1 grid has rounding in its gaps but the same values",
    );
}

#[test]
fn spaced_ema_uneven_hand_values() {
    // Gaps 1, 1, 2 (median 1): decays 0.5, 0.5, 0.25; last 0.5, 1.25, 2.125, 3.53125;
    // products 0.5, 0.25, 0.125, 0.03125.
    let want = [1.0, 1.25 / 0.75, 2.125 / 0.875, 3.53125 / 0.96875];
    let got = spaced_ema(&[0.0, 1.0, 2.0, 4.0], &[1.0, 2.0, 3.0, 4.0], 0.5).unwrap();
    assert_close(&got, &want, "median unit");
    let got = spaced_ema_with_unit(&[0.0, 10.0, 20.0, 40.0], &[1.0, 2.0, 3.0, 4.0], 0.5, 10.0);
    assert_close(&got.unwrap(), &want, "explicit unit of 10 steps");
    // The gap after a NaN spans it: one gap of 2, decay 0.25: last 0.5*0.25 + 0.75*4 = 3.125,
    // product 0.125.
    let got = spaced_ema(&[0.0, 1.0, 2.0], &[1.0, NAN, 4.0], 0.5).unwrap();
    assert_close(&got, &[1.0, NAN, 3.125 / 0.875], "gap spans the NaN");
}

#[test]
fn spaced_ema_errors() {
    use SmoothingError as E;
    let cases: &[ErrorCase] = &[
        (
            &[0.0, 1.0],
            &[1.0],
            1.0,
            E::LengthMismatch {
                steps: 2,
                values: 1,
            },
            "lengths",
        ),
        (
            &[0.0, NAN],
            &[1.0, 2.0],
            1.0,
            E::NonFiniteStep {
                index: 1,
                step: NAN,
            },
            "NaN step",
        ),
        (
            &[0.0, 2.0, 2.0],
            &[1.0; 3],
            1.0,
            E::StepsNotIncreasing {
                index: 2,
                previous: 2.0,
                step: 2.0,
            },
            "repeated step",
        ),
        (
            &[0.0],
            &[1.0],
            0.0,
            E::InvalidUnit { unit: 0.0 },
            "zero unit",
        ),
    ];
    for (steps, ys, unit, want, why) in cases {
        let got = spaced_ema_with_unit(steps, ys, 0.5, *unit).unwrap_err();
        assert_eq!(got.to_string(), want.to_string(), "{why}");
    }
    assert!(
        spaced_ema(&[], &[], 0.5).unwrap().is_empty(),
        "empty input is fine"
    );
}

#[test]
fn gaussian_hand_values() {
    let bump = [0.0, 0.0, 3.0, 0.0, 0.0];
    let (k1, k2, k3) = ((-0.5f64).exp(), (-2.0f64).exp(), (-4.5f64).exp());
    let centre = 3.0 / (1.0 + 2.0 * k1 + 2.0 * k2);
    let edge = 3.0 * k2 / (1.0 + k1 + k2 + k3);
    let next = 3.0 * k1 / (2.0 * k1 + 1.0 + k2 + k3);
    let cases: &[(&[f64], f64, Vec<f64>, &str)] = &[
        (
            &bump,
            1.0,
            vec![edge, next, centre, next, edge],
            "sigma 1, renormalised edges",
        ),
        (&bump, 0.0, bump.to_vec(), "sigma 0 is the identity"),
        (
            &[1.0, NAN, 3.0],
            1e9,
            vec![2.0, NAN, 2.0],
            "huge sigma: flat mean, NaN skipped",
        ),
        (&[], 2.0, vec![], "empty"),
    ];
    for (ys, sigma, want, why) in cases {
        assert_close(&gaussian(ys, *sigma).unwrap(), want, why);
    }
    assert!(
        (centre - 1.2078598406827425).abs() < 1e-15,
        "python cross-check"
    );
    for sigma in [-1.0, NAN, f64::INFINITY] {
        assert!(gaussian(&bump, sigma).is_err(), "sigma {sigma} is refused");
    }
}

#[test]
fn running_mean_hand_values() {
    let cases: &[(&[f64], usize, &[f64], &str)] = &[
        (
            &[1.0, 2.0, 3.0, 4.0, 5.0],
            2,
            &[1.0, 1.5, 2.5, 3.5, 4.5],
            "window 2",
        ),
        (
            &[1.0, NAN, 3.0, 5.0],
            2,
            &[1.0, NAN, 2.0, 4.0],
            "NaN passed through, takes no slot",
        ),
        (
            &[NAN, NAN, 2.0],
            1,
            &[NAN, NAN, 2.0],
            "window 1 is the identity",
        ),
        (
            &[4.0, 8.0, 0.0],
            100,
            &[4.0, 6.0, 4.0],
            "window longer than the series",
        ),
    ];
    for (ys, w, want, why) in cases {
        assert_close(&running_mean(ys, NonZeroUsize::new(*w).unwrap()), want, why);
    }
}

#[test]
fn running_mean_matches_direct_windows() {
    let mut state = 7u64;
    let ys: Vec<f64> = (0..5000)
        .map(|i| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if i % 31 == 5 {
                NAN
            } else {
                1e4 + ((state >> 40) as f64) * 1e-6
            }
        })
        .collect();
    let window = 37;
    let got = running_mean(&ys, NonZeroUsize::new(window).unwrap());
    let finite: Vec<(usize, f64)> = ys
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .collect();
    for (k, &(i, _)) in finite.iter().enumerate() {
        let lo = k.saturating_sub(window - 1);
        let slice = &finite[lo..=k];
        let mean = slice.iter().map(|p| p.1).sum::<f64>() / slice.len() as f64;
        assert!(
            (got[i] - mean).abs() <= 1e-12 * mean,
            "index {i}: {} vs {mean}",
            got[i]
        );
    }
}
