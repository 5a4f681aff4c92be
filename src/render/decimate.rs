//! M4 decimation: per pixel column keep the first, lowest, highest and last point, so a line drawn
//! through the kept points covers the same pixels as one drawn through all of them.
//!
//! Why it is exact for 1-pixel lines: consecutive points that fall in the same pixel column are joined by
//! vertical segments, whose union is the span from the column's lowest to its highest point; the segment
//! that leaves a column starts at its last point and enters the next at that column's first point. M4
//! keeps exactly those four points, in their original order, so both the vertical spans and the
//! segments between columns are drawn as before. A spike of one sample therefore survives any amount of
//! decimation.
//!
//! Points are grouped by *runs of consecutive points in the same column*, so unsorted x values (a
//! restarted run) are handled too. Non-finite values never vanish: they break the line (as in the full
//! chart) and come back in [`Decimated::non_finite`] so a chart can draw a marker for each, one per pixel
//! column and kind.

mod pass;

use std::ops::Range;

pub(crate) use pass::{finite_non_decreasing, run, run_sorted};

/// An x value that can be placed on a chart axis (step counters, fractional epochs, plain floats).
pub trait Abscissa: Copy {
    /// The value as `f64` (large `u64` steps round to the nearest representable float).
    fn to_f64(self) -> f64;
}

macro_rules! abscissa {
    ($($t:ty),*) => {$(
        impl Abscissa for $t {
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}
abscissa!(f64, f32, u64, u32, usize, i64, i32);

/// Which non-finite value a point holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NonFiniteKind {
    /// Not a number.
    Nan,
    /// Positive infinity.
    PosInf,
    /// Negative infinity.
    NegInf,
}

impl NonFiniteKind {
    /// The kind of `value`, or `None` when it is finite.
    pub fn of(value: f64) -> Option<Self> {
        if value.is_nan() {
            Some(NonFiniteKind::Nan)
        } else if value == f64::INFINITY {
            Some(NonFiniteKind::PosInf)
        } else if value == f64::NEG_INFINITY {
            Some(NonFiniteKind::NegInf)
        } else {
            None
        }
    }
}

/// A point whose value is NaN or infinite, kept so a chart can mark where it happened.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NonFinitePoint {
    /// Position of the point in the input.
    pub index: usize,
    /// Its x value.
    pub x: f64,
    /// What its value was.
    pub kind: NonFiniteKind,
}

/// The points to draw: line pieces of finite points, and the non-finite points to mark.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decimated {
    /// Kept finite points `(x, y)`, in input order.
    pub points: Vec<(f64, f64)>,
    /// Ranges into `points`, one per unbroken line piece (a non-finite or skipped point ends a piece).
    pub pieces: Vec<Range<usize>>,
    /// Non-finite points, at most one per pixel column and kind (the first one met), in input order.
    pub non_finite: Vec<NonFinitePoint>,
    /// Points left out without a marker: non-finite x, or a value the caller could not place (for
    /// example a value `<= 0` on a logarithmic axis). Each also ends the current line piece.
    pub skipped: usize,
}

/// What went wrong in a decimation call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DecimateError {
    /// The x and y slices differ in length.
    #[error("x and y differ in length: {xs} x values, {ys} y values")]
    LengthMismatch {
        /// Number of x values.
        xs: usize,
        /// Number of y values.
        ys: usize,
    },
    /// The x range of [`m4_linear`] is not a finite, increasing interval.
    #[error("x range must be finite and increasing, got {min}..{max}")]
    InvalidRange {
        /// Lower end given.
        min: f64,
        /// Upper end given.
        max: f64,
    },
    /// [`m4_linear`] was asked for zero pixel columns.
    #[error("at least one pixel column is needed")]
    NoColumns,
}

/// M4-decimates `(xs[i], ys[i])`, binning x by `column` (x value to pixel column).
///
/// `column` should be the chart's own x-to-pixel mapping, so the bins are the real pixel columns; any
/// non-decreasing function works, and a coarser one only decimates more. When the x values are finite
/// and non-decreasing (the usual case), each column's end is found by galloping search and its values
/// are scanned in one tight loop. Errors when the slices differ in length.
///
/// ```
/// use curvewatch::render::decimate::m4;
/// let xs: Vec<f64> = (0..1000).map(f64::from).collect();
/// let mut ys = vec![0.0; 1000];
/// ys[500] = 9.0; // one spike
/// ys[700] = f64::NAN;
/// // 10 columns of 100 points each.
/// let d = m4(&xs, &ys, |x| (x / 100.0) as i64).unwrap();
/// assert!(d.points.len() <= 4 * 11);
/// assert!(d.points.contains(&(500.0, 9.0)), "the spike survives");
/// assert_eq!(d.non_finite[0].index, 700, "the NaN is reported");
/// assert_eq!(d.pieces.len(), 2, "and breaks the line");
/// ```
pub fn m4<X: Abscissa>(
    xs: &[X],
    ys: &[f64],
    column: impl Fn(f64) -> i64,
) -> Result<Decimated, DecimateError> {
    check_lengths(xs.len(), ys.len())?;
    let x_at = |i: usize| xs[i].to_f64();
    if finite_non_decreasing(xs.len(), x_at) {
        Ok(run_sorted(xs.len(), x_at, ys, column, |_| true))
    } else {
        Ok(run(xs.len(), x_at, |i| ys[i], column, |_| true, true))
    }
}

/// [`m4`] over `columns` equal-width columns spanning `x_min..=x_max` (points outside go to the edge
/// columns). Errors when the slices differ in length, the range is not finite and increasing, or
/// `columns` is 0.
pub fn m4_linear<X: Abscissa>(
    xs: &[X],
    ys: &[f64],
    x_min: f64,
    x_max: f64,
    columns: u32,
) -> Result<Decimated, DecimateError> {
    if !(x_min.is_finite() && x_max.is_finite() && x_min < x_max) {
        return Err(DecimateError::InvalidRange {
            min: x_min,
            max: x_max,
        });
    }
    if columns == 0 {
        return Err(DecimateError::NoColumns);
    }
    let scale = f64::from(columns) / (x_max - x_min);
    let last = i64::from(columns) - 1;
    m4(xs, ys, |x| {
        (((x - x_min) * scale).floor() as i64).clamp(0, last)
    })
}

/// No decimation: every finite point, split into pieces and with non-finite markers exactly as [`m4`]
/// does, so a full chart and a decimated one differ only in the points kept.
pub fn pieces<X: Abscissa>(
    xs: &[X],
    ys: &[f64],
    column: impl Fn(f64) -> i64,
) -> Result<Decimated, DecimateError> {
    check_lengths(xs.len(), ys.len())?;
    let x_at = |i: usize| xs[i].to_f64();
    Ok(run(xs.len(), x_at, |i| ys[i], column, |_| true, false))
}

fn check_lengths(xs: usize, ys: usize) -> Result<(), DecimateError> {
    if xs == ys {
        Ok(())
    } else {
        Err(DecimateError::LengthMismatch { xs, ys })
    }
}

#[cfg(test)]
mod tests;
