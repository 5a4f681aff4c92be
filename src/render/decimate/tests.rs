//! Unit tests of M4 decimation: hand-checked picks, edge cases, and the sorted fast path against the
//! point-by-point pass.

use super::pass::run_end;
use super::*;

fn unit_columns(x: f64) -> i64 {
    x.floor() as i64
}

#[test]
fn keeps_first_min_max_last_per_column_in_input_order() {
    // Column 0 holds x = 0.0..0.4 with values 5, 1, 9, 3, 4: first 5, min 1, max 9, last 4.
    // Column 1 holds one point.
    let xs = [0.0, 0.1, 0.2, 0.3, 0.4, 1.5];
    let ys = [5.0, 1.0, 9.0, 3.0, 4.0, 2.0];
    let d = m4(&xs, &ys, unit_columns).unwrap();
    assert_eq!(
        d.points,
        vec![(0.0, 5.0), (0.1, 1.0), (0.2, 9.0), (0.4, 4.0), (1.5, 2.0)]
    );
    assert_eq!(d.pieces, vec![0..5]);
    assert!(d.non_finite.is_empty());
}

#[test]
fn table_of_edge_cases() {
    let nan = f64::NAN;
    let inf = f64::INFINITY;
    #[allow(clippy::type_complexity)]
    let cases: &[(&[f64], &[f64], usize, usize, usize, &str)] = &[
        (&[], &[], 0, 0, 0, "empty input gives nothing"),
        (&[0.0], &[1.0], 1, 1, 0, "one point is one piece"),
        (
            &[0.0, 0.5],
            &[nan, nan],
            0,
            0,
            1,
            "two NaNs in one column: one marker",
        ),
        (
            &[0.0, 1.0],
            &[nan, nan],
            0,
            0,
            2,
            "NaNs in two columns: two markers",
        ),
        (
            &[0.0, 0.5],
            &[nan, inf],
            0,
            0,
            2,
            "NaN and +inf are different kinds",
        ),
        (
            &[0.0, 1.0, 2.0],
            &[1.0, nan, 2.0],
            2,
            2,
            1,
            "a NaN splits the line",
        ),
        (
            &[0.0, nan, 2.0],
            &[1.0, 1.0, 2.0],
            2,
            2,
            0,
            "a non-finite x splits, no marker",
        ),
        (
            &[0.0, 0.1, 0.2],
            &[1.0, 1.0, 1.0],
            2,
            1,
            0,
            "flat column: first and last only",
        ),
    ];
    for (xs, ys, points, pieces, marks, why) in cases {
        let d = m4(xs, ys, unit_columns).unwrap();
        assert_eq!(d.points.len(), *points, "points: {why}");
        assert_eq!(d.pieces.len(), *pieces, "pieces: {why}");
        assert_eq!(d.non_finite.len(), *marks, "markers: {why}");
    }
}

#[test]
fn spike_of_one_sample_survives_heavy_decimation() {
    let n = 1_000_000usize;
    let xs: Vec<u64> = (0..n as u64).collect();
    let mut ys = vec![1.0; n];
    ys[777_777] = 1e6;
    ys[123_456] = -5.0;
    let d = m4_linear(&xs, &ys, 0.0, n as f64, 100).unwrap();
    assert!(
        d.points.len() <= 400,
        "at most 4 points per column: {}",
        d.points.len()
    );
    assert!(d.points.contains(&(777_777.0, 1e6)));
    assert!(d.points.contains(&(123_456.0, -5.0)));
    assert_eq!(d.points.first(), Some(&(0.0, 1.0)), "first point kept");
    assert_eq!(
        d.points.last(),
        Some(&((n - 1) as f64, 1.0)),
        "last point kept"
    );
}

#[test]
fn non_finite_points_keep_index_x_and_kind() {
    let xs = [0u64, 1, 2, 3];
    let ys = [1.0, f64::NEG_INFINITY, 2.0, f64::NAN];
    let d = m4(&xs, &ys, |x| x as i64).unwrap();
    assert_eq!(
        d.non_finite,
        vec![
            NonFinitePoint {
                index: 1,
                x: 1.0,
                kind: NonFiniteKind::NegInf
            },
            NonFinitePoint {
                index: 3,
                x: 3.0,
                kind: NonFiniteKind::Nan
            },
        ]
    );
}

#[test]
fn unsorted_x_groups_consecutive_runs() {
    // A restart: x goes 0, 1, then back to 0. Three groups, each kept.
    let xs = [0.0, 1.0, 0.2];
    let ys = [1.0, 2.0, 3.0];
    let d = m4(&xs, &ys, unit_columns).unwrap();
    assert_eq!(d.points, vec![(0.0, 1.0), (1.0, 2.0), (0.2, 3.0)]);
}

#[test]
fn pieces_keeps_every_finite_point() {
    let xs = [0.0, 0.1, 0.2, 0.3];
    let ys = [1.0, 2.0, 2.0, 2.0];
    let d = pieces(&xs, &ys, unit_columns).unwrap();
    assert_eq!(d.points.len(), 4);
    assert_eq!(m4(&xs, &ys, unit_columns).unwrap().points.len(), 3);
}

#[test]
fn errors_say_what_was_wrong() {
    let e = m4(&[0.0, 1.0], &[1.0], unit_columns).unwrap_err();
    assert_eq!(e, DecimateError::LengthMismatch { xs: 2, ys: 1 });
    assert!(e.to_string().contains("2 x values, 1 y values"));
    let e = m4_linear(&[0.0], &[1.0], 1.0, 1.0, 10).unwrap_err();
    assert!(matches!(e, DecimateError::InvalidRange { .. }));
    let e = m4_linear(&[0.0], &[1.0], 0.0, f64::NAN, 10).unwrap_err();
    assert!(matches!(e, DecimateError::InvalidRange { .. }));
    assert_eq!(
        m4_linear(&[0.0], &[1.0], 0.0, 1.0, 0).unwrap_err(),
        DecimateError::NoColumns
    );
}

proptest::proptest! {
    #[test]
    fn sorted_fast_path_equals_point_by_point(
        gaps in proptest::collection::vec(0u8..4, 1..600),
        raw in proptest::collection::vec(-100i32..100, 600),
        width in 1.0f64..50.0,
        log in proptest::bool::ANY,
    ) {
        // Non-decreasing x (repeats allowed); values with NaN, infinities and non-positive ones.
        let xs: Vec<f64> = gaps.iter().scan(0.0, |x, g| { *x += f64::from(*g); Some(*x) }).collect();
        let ys: Vec<f64> = raw[..xs.len()].iter().map(|&r| match r {
            97 => f64::NAN,
            98 => f64::INFINITY,
            99 => f64::NEG_INFINITY,
            r => f64::from(r),
        }).collect();
        let column = |x: f64| (x / width).floor() as i64;
        let keep = |y: f64| !log || y > 0.0;
        let slow = run(xs.len(), |i| xs[i], |i| ys[i], column, keep, true);
        let fast = run_sorted(xs.len(), |i| xs[i], &ys, column, keep);
        proptest::prop_assert_eq!(slow, fast);
    }
}

#[test]
fn run_end_finds_the_first_index_past_the_prefix() {
    for len in 1..40usize {
        for a in 0..len {
            for end in a + 1..=len {
                assert_eq!(
                    run_end(a, len, |k| k < end),
                    end,
                    "len {len}, start {a}, end {end}"
                );
            }
        }
    }
}

#[test]
fn sortedness_check() {
    let cases: &[(&[f64], bool, &str)] = &[
        (&[], true, "empty"),
        (&[1.0, 1.0, 2.0], true, "repeats allowed"),
        (&[1.0, 0.5], false, "a step back"),
        (&[1.0, f64::NAN, 2.0], false, "NaN"),
        (&[1.0, f64::INFINITY], false, "infinite"),
    ];
    for (xs, want, why) in cases {
        assert_eq!(finite_non_decreasing(xs.len(), |i| xs[i]), *want, "{why}");
    }
}

#[test]
fn keep_predicate_breaks_without_marker() {
    // Log axis: 0 cannot be placed.
    let d = run(
        3,
        |i| i as f64,
        |i| [1.0, 0.0, 2.0][i],
        |x| x as i64,
        |y| y > 0.0,
        true,
    );
    assert_eq!(d.pieces.len(), 2);
    assert_eq!(d.skipped, 1);
    assert!(d.non_finite.is_empty());
}
