//! Axis ranges of a panel: the data's extent (with placeable values only on a log axis) and the air
//! around it, kept finite so plotters' tick search always ends.

use super::columns::XInfo;
use super::panel::{MarkShape, Panel};
use crate::render::decimate::Decimated;

/// Smallest and largest of `values` that pass `keep`, folded into `acc`.
fn fold_range(
    acc: &mut Option<(f64, f64)>,
    values: impl Iterator<Item = f64>,
    keep: impl Fn(f64) -> bool,
) {
    for v in values {
        if v.is_finite() && keep(v) {
            *acc = Some(match *acc {
                Some((lo, hi)) => (lo.min(v), hi.max(v)),
                None => (v, v),
            });
        }
    }
}

/// Merges two optional ranges.
fn union(a: Option<(f64, f64)>, b: Option<(f64, f64)>) -> Option<(f64, f64)> {
    match (a, b) {
        (Some(a), Some(b)) => Some((a.0.min(b.0), a.1.max(b.1))),
        (a, None) => a,
        (None, b) => b,
    }
}

fn mark_values<'p>(p: &'p Panel<'_>) -> impl Iterator<Item = f64> + 'p {
    p.marks.iter().filter_map(|m| match m.shape {
        MarkShape::Point(v) => Some(v),
        _ => None,
    })
}

/// Whether anything in the panel can go on a log axis (stops at the first positive value).
pub(crate) fn has_positive(p: &Panel<'_>) -> bool {
    let positive = |v: &f64| v.is_finite() && *v > 0.0;
    p.lines.iter().any(|l| l.ys.iter().any(positive))
        || p.bands
            .iter()
            .any(|b| b.lower.iter().chain(b.upper).any(positive))
        || mark_values(p).any(|v| positive(&v))
}

/// The x extent: every line's finite x (NaN markers need a place too), bands and marks.
pub(crate) fn x_extent(p: &Panel<'_>, infos: &[XInfo]) -> Option<(f64, f64)> {
    let mut x = infos.iter().fold(None, |acc, i| union(acc, i.range));
    for b in &p.bands {
        fold_range(&mut x, b.xs.iter().copied(), |_| true);
    }
    fold_range(&mut x, p.marks.iter().map(|m| m.x), |_| true);
    x
}

/// The y extent: the kept points of every line (M4 keeps each column's extremes, so this is the full
/// data's range), bands and point marks; only values `> 0` when `log`.
pub(crate) fn y_extent(p: &Panel<'_>, lines: &[Decimated], log: bool) -> Option<(f64, f64)> {
    let keep = |v: f64| !log || v > 0.0;
    let mut y = None;
    for d in lines {
        fold_range(&mut y, d.points.iter().map(|pt| pt.1), keep);
    }
    for b in &p.bands {
        fold_range(&mut y, b.lower.iter().chain(b.upper).copied(), keep);
    }
    fold_range(&mut y, mark_values(p), keep);
    y
}

/// `(lo, hi)` narrowed so that `hi - lo` is finite (values near `f64::MAX` would make plotters' tick
/// search loop forever); points beyond are drawn at the edge.
fn finite_span(lo: f64, hi: f64) -> (f64, f64) {
    if (hi - lo).is_finite() {
        (lo, hi)
    } else {
        (lo.max(-f64::MAX / 4.0), hi.min(f64::MAX / 4.0))
    }
}

/// `(lo - pad_lo, hi + pad_hi)` when that stays finite, else `(lo, hi)`.
fn widen(lo: f64, hi: f64, a: f64, b: f64) -> (f64, f64) {
    if a.is_finite() && b.is_finite() && (b - a).is_finite() && a < b {
        (a, b)
    } else {
        (lo, hi)
    }
}

/// The x axis range: the data's, or a unit-wide one around a single value.
pub(crate) fn padded_x(x: Option<(f64, f64)>) -> (f64, f64) {
    let (x0, x1) = x.unwrap_or((0.0, 1.0));
    let (x0, x1) = finite_span(x0, x1);
    if x1 > x0 {
        (x0, x1)
    } else {
        widen(x0, x1, x0 - 1.0, x1 + 1.0)
    }
}

/// The y axis range with 5% air (a factor `(hi/lo)^0.05` on a log axis); a single value gets a
/// ±10% range (±1 around zero; a factor of two on a log axis), so a constant learning rate of
/// 0.01 is drawn at its value, not squashed onto a unit axis.
pub(crate) fn padded_y(y: Option<(f64, f64)>, log: bool) -> (f64, f64) {
    let (y0, y1) = y.unwrap_or(if log { (0.1, 1.0) } else { (0.0, 1.0) });
    if log {
        let f = if y1 > y0 { (y1 / y0).powf(0.05) } else { 2.0 };
        let (a, b) = (y0 / f, y1 * f);
        (
            if a > 0.0 { a } else { y0 },
            if b.is_finite() { b } else { y1 },
        )
    } else {
        let (y0, y1) = finite_span(y0, y1);
        let pad = if y1 > y0 {
            (y1 - y0) * 0.05
        } else if y0 != 0.0 {
            y0.abs() * 0.1
        } else {
            1.0
        };
        widen(y0, y1, y0 - pad, y1 + pad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::charts::columns::x_info;
    use crate::render::charts::palette;
    use crate::render::charts::panel::{Line, Xs};

    #[test]
    fn padding_rules() {
        let cases = [
            (Some((1.0, 3.0)), false, (0.9, 3.1), "5% air on y"),
            (Some((2.0, 2.0)), false, (1.8, 2.2), "single value: ±10%"),
            (
                Some((0.01, 0.01)),
                false,
                (0.009, 0.011),
                "a small constant keeps its scale",
            ),
            (Some((0.0, 0.0)), false, (-1.0, 1.0), "zero: unit range"),
            (None, false, (-0.05, 1.05), "nothing to show: unit range"),
            (
                Some((0.5, 0.5)),
                true,
                (0.25, 1.0),
                "log single value: factor 2",
            ),
        ];
        for (y, log, want, why) in cases {
            let got = padded_y(y, log);
            assert!(
                (got.0 - want.0).abs() < 1e-12 && (got.1 - want.1).abs() < 1e-12,
                "{why}: {got:?}"
            );
        }
        assert_eq!(padded_x(Some((5.0, 5.0))), (4.0, 6.0), "single step");
        assert_eq!(padded_x(Some((0.0, 10.0))), (0.0, 10.0), "no air on x");
        // Values near f64::MAX: every end and the span stay finite (plotters' tick search needs it).
        let x = padded_x(Some((-f64::MAX, f64::MAX)));
        let ys = [
            padded_y(Some((-1e308, 1e308)), false),
            padded_y(Some((f64::MAX, f64::MAX)), false),
            padded_y(Some((1e-300, 1e308)), true),
        ];
        for (a, b) in std::iter::once(x).chain(ys) {
            assert!(
                a.is_finite() && b.is_finite() && (b - a).is_finite(),
                "{a} {b}"
            );
        }
        // Log with a range: (hi/lo)^0.05 = 100^0.05 on each side.
        let gy = padded_y(Some((0.01, 1.0)), true);
        let f = 100f64.powf(0.05);
        assert!((gy.0 - 0.01 / f).abs() < 1e-15 && (gy.1 - f).abs() < 1e-12);
    }

    #[test]
    fn extents_ignore_non_finite_and_log_unplaceable_values() {
        use crate::render::decimate::pieces;
        let xs = [1.0, 2.0, 3.0, 4.0];
        let ys = [f64::NAN, -1.0, 0.5, 8.0];
        let p = Panel {
            lines: vec![Line::new(Xs::F64(&xs), &ys[..], palette::TRAIN)],
            ..Panel::default()
        };
        let info = x_info(&p.lines[0].xs, 4);
        assert_eq!(
            x_extent(&p, &[info]),
            Some((1.0, 4.0)),
            "x of the NaN point counts"
        );
        let d = pieces(&xs, &ys, |x| x as i64).unwrap();
        assert_eq!(
            y_extent(&p, std::slice::from_ref(&d), false),
            Some((-1.0, 8.0))
        );
        assert_eq!(y_extent(&p, &[d], true), Some((0.5, 8.0)));
        assert!(has_positive(&p));
        let negative = [-1.0, f64::INFINITY];
        let q = Panel {
            lines: vec![Line::new(Xs::F64(&xs[..2]), &negative[..], palette::TRAIN)],
            ..Panel::default()
        };
        assert!(
            !has_positive(&q),
            "infinity is not a placeable positive value"
        );
    }
}
