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
use super::{smooth, RenderError};
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
        if let Some(w) = line.smooth {
            return self.smoothed_points(line, w, sorted && m4, decimate, log);
        }
        let ys = &line.ys[..n];
        match line.xs {
            Xs::U64(v) => self.run(n, |i| v[i] as f64, ys, m4 && sorted, m4, log),
            Xs::F32(v) => self.run(n, |i| f64::from(v[i]), ys, m4 && sorted, m4, log),
            Xs::F64(v) => self.run(n, |i| v[i], ys, m4 && sorted, m4, log),
        }
    }

    /// [`Columns::points`] of the EMA of `line` with `weight`. On the fast path (`fast`: sorted x and
    /// decimation due) it is computed a block of whole columns at a time into one small buffer and
    /// decimated block by block, so the smoothed series is never held whole: the same points as
    /// decimating it whole, since no column straddles two blocks.
    fn smoothed_points(
        &self,
        line: &Line<'_>,
        weight: f64,
        fast: bool,
        decimate: bool,
        log: bool,
    ) -> Decimated {
        let n = line.len();
        if !fast || !(0.0..1.0).contains(&weight) {
            let ys = smooth::spaced(&line.xs, &line.ys[..n], weight);
            let whole = Line::new(line.xs, ys, line.colour);
            let sorted = fast || x_info(&line.xs, n).sorted;
            return self.points(&whole, sorted, decimate, log);
        }
        let stream = smooth::Stream::new(&line.xs, n, weight);
        let ys = &line.ys[..n];
        match line.xs {
            Xs::U64(v) => self.blocks(n, |i| v[i] as f64, ys, stream, log),
            Xs::F32(v) => self.blocks(n, |i| f64::from(v[i]), ys, stream, log),
            Xs::F64(v) => self.blocks(n, |i| v[i], ys, stream, log),
        }
    }

    fn blocks(
        &self,
        n: usize,
        x_at: impl Fn(usize) -> f64,
        ys: &[f64],
        mut stream: smooth::Stream,
        log: bool,
    ) -> Decimated {
        let keep = |y: f64| !log || y > 0.0;
        let column = |x: f64| self.column(x);
        let mut out = Decimated::default();
        let mut buf: Vec<f64> = Vec::with_capacity(BLOCK);
        let placed = |y: f64| y.is_finite() && keep(y);
        let (mut a, mut last) = (0, f64::NAN);
        while a < n {
            // A block of at least BLOCK points, extended to the end of its last column.
            let mut b = (a + BLOCK).min(n);
            let c = column(x_at(b - 1));
            while b < n && column(x_at(b)) == c {
                b += 1;
            }
            buf.clear();
            buf.extend((a..b).map(|i| stream.push(x_at(i), ys[i])));
            let part = decimate::run_sorted(b - a, |i| x_at(a + i), &buf, column, keep);
            // The line goes on across the boundary unless a point there breaks it.
            let joined = placed(last) && placed(buf[0]);
            last = buf[b - a - 1];
            append(&mut out, part, a, joined);
            a = b;
        }
        out
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

/// Points per block when smoothing and decimating in one pass (a few hundred KB of buffer).
const BLOCK: usize = 1 << 15;

/// Appends the decimation of a block that starts at input index `offset`; `joined`: its first piece
/// continues the last piece so far.
fn append(out: &mut Decimated, part: Decimated, offset: usize, joined: bool) {
    let base = out.points.len();
    let mut pieces = part
        .pieces
        .into_iter()
        .map(|r| r.start + base..r.end + base);
    if let Some(first) = pieces.next() {
        let open = out.pieces.last().is_some_and(|l| l.end == base);
        match out.pieces.last_mut() {
            Some(last) if joined && open && first.start == base => last.end = first.end,
            _ => out.pieces.push(first),
        }
    }
    out.pieces.extend(pieces);
    out.points.extend(part.points);
    out.non_finite
        .extend(part.non_finite.into_iter().map(|mut p| {
            p.index += offset;
            p
        }));
    out.skipped += part.skipped;
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

    #[test]
    fn smoothing_block_by_block_gives_the_points_of_the_whole_smoothed_series() {
        crate::render::font::ensure_registered().unwrap();
        let n = 200_000usize;
        let xs: Vec<u64> = (0..n as u64).map(|i| 3 * i).collect();
        // Noise, a NaN at a block boundary and inside a block, and values below zero (log axis).
        let mut ys: Vec<f64> = (0..n).map(|i| 0.2 + ((i as f64) * 12.9898).sin()).collect();
        ys[BLOCK] = f64::NAN;
        ys[100_003] = f64::NAN;
        let mut buf = vec![255u8; 700 * 300 * 3];
        let root = BitMapBackend::with_buffer(&mut buf, (700, 300)).into_drawing_area();
        let cols = Columns::probe(&root, (0.0, 3.0 * n as f64)).unwrap();
        for log in [false, true] {
            let lazy = Line::new(Xs::U64(&xs), &ys[..], palette::TRAIN).smoothed(0.9);
            let whole_ys = smooth::spaced(&Xs::U64(&xs), &ys, 0.9);
            let whole = Line::new(Xs::U64(&xs), whole_ys, palette::TRAIN);
            let got = cols.points(&lazy, true, true, log);
            assert_eq!(got, cols.points(&whole, true, true, log), "log {log}");
            assert!(
                got.pieces.len() >= 3,
                "NaN breaks the line: {:?}",
                got.pieces
            );
        }
    }
}
