//! The plot's pixel columns, read from plotters before drawing, and the decimation of lines on them.
//!
//! A panel is laid out twice: first a chart with the final x range and a placeholder y range is built
//! (building draws nothing) to learn the plot's horizontal pixel span; the lines are decimated on that
//! mapping, the y range is taken from the kept points (M4 keeps each column's minimum and maximum, so
//! it is the full data's range), and only then is the real chart built and drawn. The caption and the
//! y range change the plot's height, never its width, so both charts share their x mapping.

use plotters::chart::ChartBuilder;
use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::drawing::DrawingArea;
use plotters::prelude::DrawingBackend;

use super::panel::{draw_err, Line, Xs};
use super::RenderError;
use crate::render::decimate::{self, Decimated};

/// Series decimate when they have more than this many points per pixel column of the plot.
pub(crate) const DECIMATE_FACTOR: usize = 4;

/// Margins and label areas of every panel (shared by the probe and the real chart).
pub(crate) fn builder<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
) -> ChartBuilder<'a, 'b, DB> {
    let mut b = ChartBuilder::on(area);
    b.margin(6)
        .margin_right(14)
        .x_label_area_size(38)
        .y_label_area_size(62);
    b
}

/// What one pass over a line's x values found: their finite range and whether they are finite and
/// non-decreasing (which allows the fast decimation path).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct XInfo {
    pub range: Option<(f64, f64)>,
    pub sorted: bool,
}

/// Range and order of the first `n` x values.
pub(crate) fn x_info(xs: &Xs<'_>, n: usize) -> XInfo {
    match xs {
        Xs::U64(v) => {
            let v = &v[..n.min(v.len())];
            let sorted = v.windows(2).fold(true, |ok, w| ok & (w[0] <= w[1]));
            let range = if sorted {
                v.first().zip(v.last()).map(|(a, b)| (*a as f64, *b as f64))
            } else {
                v.iter()
                    .min()
                    .zip(v.iter().max())
                    .map(|(a, b)| (*a as f64, *b as f64))
            };
            XInfo { range, sorted }
        }
        Xs::F32(v) => float_info(n.min(v.len()), |i| f64::from(v[i])),
        Xs::F64(v) => float_info(n.min(v.len()), |i| v[i]),
    }
}

fn float_info(n: usize, at: impl Fn(usize) -> f64) -> XInfo {
    let sorted = decimate::finite_non_decreasing(n, &at);
    let range = if sorted {
        (n > 0).then(|| (at(0), at(n - 1)))
    } else {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for x in (0..n).map(&at).filter(|x| x.is_finite()) {
            lo = lo.min(x);
            hi = hi.max(x);
        }
        (lo <= hi).then_some((lo, hi))
    };
    XInfo { range, sorted }
}

/// The x-to-pixel-column mapping of a panel's plot.
pub(crate) struct Columns {
    spec: RangedCoordf64,
    span: (i32, i32),
}

impl Columns {
    /// Builds a chart over `x` with a placeholder y range on `area` (nothing is drawn) and reads the
    /// plot's horizontal pixel span.
    pub(crate) fn probe<DB: DrawingBackend>(
        area: &DrawingArea<DB, Shift>,
        x: (f64, f64),
    ) -> Result<Self, RenderError> {
        let chart = builder(area)
            .build_cartesian_2d(x.0..x.1, 0.0..1.0)
            .map_err(draw_err)?;
        let (px, _) = chart.plotting_area().get_pixel_range();
        Ok(Columns {
            spec: (x.0..x.1).into(),
            span: (px.start, px.end - 1),
        })
    }

    /// The pixel span `(first, last)` columns map to, as plotters sets it for the plot.
    pub(crate) fn span(&self) -> (i32, i32) {
        self.span
    }

    /// Number of pixel columns of the plot.
    pub(crate) fn width(&self) -> usize {
        (self.span.1 - self.span.0 + 1).max(1) as usize
    }

    /// The pixel column plotters draws `x` in.
    #[inline]
    pub(crate) fn column(&self, x: f64) -> i64 {
        i64::from(self.spec.map(&x, self.span))
    }

    /// The points of `line` to draw: M4-decimated when it has more than [`DECIMATE_FACTOR`] points
    /// per column and `decimate` is on, every point otherwise; values `<= 0` left out when `log`.
    pub(crate) fn points(
        &self,
        line: &Line<'_>,
        sorted: bool,
        decimate: bool,
        log: bool,
    ) -> Decimated {
        let n = line.len();
        let m4 = decimate && n > DECIMATE_FACTOR * self.width();
        let ys = &line.ys[..n];
        match line.xs {
            Xs::U64(v) => self.run(n, |i| v[i] as f64, ys, m4 && sorted, m4, log),
            Xs::F32(v) => self.run(n, |i| f64::from(v[i]), ys, m4 && sorted, m4, log),
            Xs::F64(v) => self.run(n, |i| v[i], ys, m4 && sorted, m4, log),
        }
    }

    fn run(
        &self,
        n: usize,
        x_at: impl Fn(usize) -> f64,
        ys: &[f64],
        fast: bool,
        m4: bool,
        log: bool,
    ) -> Decimated {
        let column = |x: f64| self.column(x);
        let keep = |y: f64| !log || y > 0.0;
        if fast {
            decimate::run_sorted(n, x_at, ys, column, keep)
        } else {
            decimate::run(n, x_at, |i| ys[i], column, keep, m4)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::charts::palette;
    use plotters::backend::BitMapBackend;
    use plotters::drawing::IntoDrawingArea;

    #[test]
    fn x_info_table() {
        let u_sorted = [1u64, 2, 2, 9];
        let u_restart = [5u64, 9, 1, 3];
        let f_nan = [0.5f32, f32::NAN, 0.2];
        let cases = [
            (
                Xs::U64(&u_sorted),
                Some((1.0, 9.0)),
                true,
                "sorted steps: first and last",
            ),
            (
                Xs::U64(&u_restart),
                Some((1.0, 9.0)),
                false,
                "restarted steps: min and max",
            ),
            (
                Xs::F32(&f_nan),
                Some((0.2f32 as f64, 0.5f32 as f64)),
                false,
                "NaN epoch skipped",
            ),
            (Xs::F64(&[]), None, true, "nothing"),
        ];
        for (xs, range, sorted, why) in cases {
            assert_eq!(x_info(&xs, xs.len()), XInfo { range, sorted }, "{why}");
        }
    }

    #[test]
    fn long_lines_are_decimated_to_at_most_four_points_per_column() {
        crate::render::font::ensure_registered().unwrap();
        let n = 100_000usize;
        let xs: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let ys: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
        let mut buf = vec![255u8; 400 * 300 * 3];
        let root = BitMapBackend::with_buffer(&mut buf, (400, 300)).into_drawing_area();
        let cols = Columns::probe(&root, (0.0, n as f64)).unwrap();
        // 400 px minus margins (6 + 14) and the y label area (62).
        assert_eq!(cols.width(), 400 - 6 - 14 - 62);
        let line = Line::new(Xs::F64(&xs), &ys[..], palette::TRAIN);
        let width = cols.width();
        let kept = cols.points(&line, true, true, false).points.len();
        assert!(kept <= 4 * width, "{kept} points for {width} columns");
        assert!(
            kept >= 2 * width,
            "oscillating data keeps its min and max: {kept}"
        );
        let slow = cols.points(&line, false, true, false);
        assert_eq!(
            slow,
            cols.points(&line, true, true, false),
            "both paths agree"
        );
        assert_eq!(
            cols.points(&line, true, false, false).points.len(),
            n,
            "decimation off"
        );
        let short = Line::new(Xs::F64(&xs[..width]), &ys[..width], palette::TRAIN);
        assert_eq!(
            cols.points(&short, true, true, false).points.len(),
            width,
            "short lines kept"
        );
    }
}
