//! The decimation pass: a point-by-point version for any input, and a fast one for sorted x values.

use std::ops::Range;

use super::{Decimated, NonFiniteKind, NonFinitePoint};

/// The core pass shared by [`m4`], [`pieces`] and the charts: `keep` rejects finite values the chart
/// cannot place (they end the piece and count as skipped); `decimate` false keeps every point.
pub(crate) fn run(
    len: usize,
    x_at: impl Fn(usize) -> f64,
    y_at: impl Fn(usize) -> f64,
    column: impl Fn(f64) -> i64,
    keep: impl Fn(f64) -> bool,
    decimate: bool,
) -> Decimated {
    let mut out = Builder::default();
    for i in 0..len {
        out.point(i, x_at(i), y_at(i), &column, &keep, decimate);
    }
    out.break_piece();
    out.result
}

/// [`run`] with decimation, for x values that are finite and non-decreasing (the caller checks): the
/// end of each column's run is found by galloping search, and a column without bad values is reduced
/// by a tight scan of its y values alone. Gives exactly what [`run`] gives on such input.
pub(crate) fn run_sorted(
    len: usize,
    x_at: impl Fn(usize) -> f64,
    ys: &[f64],
    column: impl Fn(f64) -> i64,
    keep: impl Fn(f64) -> bool,
) -> Decimated {
    let len = len.min(ys.len());
    let mut out = Builder::default();
    let mut a = 0;
    while a < len {
        let c = column(x_at(a));
        let b = run_end(a, len, |k| column(x_at(k)) == c);
        out.segment(a..b, c, &x_at, ys, &column, &keep);
        a = b;
    }
    out.break_piece();
    out.result
}

/// The first index after `a` where `same` fails (or `len`), given that `same` holds on a prefix
/// starting at `a`: exponential probing, then bisection.
pub(super) fn run_end(a: usize, len: usize, same: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut step) = (a, 1usize);
    let mut hi = loop {
        let probe = a.saturating_add(step);
        if probe >= len {
            break len;
        }
        if !same(probe) {
            break probe;
        }
        lo = probe;
        step = step.saturating_mul(2);
    };
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if same(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

/// Whether every x is finite and none is smaller than the one before (the [`run_sorted`] condition).
pub(crate) fn finite_non_decreasing(len: usize, x_at: impl Fn(usize) -> f64) -> bool {
    let mut ok = true;
    let mut previous = f64::NEG_INFINITY;
    for i in 0..len {
        let x = x_at(i);
        ok &= x.is_finite() & (previous <= x);
        previous = x;
    }
    ok
}

/// Smallest and largest of `seg` when every value is finite and passes `keep`, else `None`.
///
/// Eight independent lanes, so the compiler can keep several comparisons in flight (and use SIMD);
/// the comparisons are written as selects, which have no NaN subtleties once `ok` holds.
#[inline]
fn clean_extremes(seg: &[f64], keep: &impl Fn(f64) -> bool) -> Option<(f64, f64)> {
    const LANES: usize = 8;
    let mut lo = [f64::INFINITY; LANES];
    let mut hi = [f64::NEG_INFINITY; LANES];
    let mut ok = [true; LANES];
    let chunks = seg.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for k in 0..LANES {
            let y = chunk[k];
            ok[k] &= y.is_finite() & keep(y);
            lo[k] = if y < lo[k] { y } else { lo[k] };
            hi[k] = if y > hi[k] { y } else { hi[k] };
        }
    }
    for (k, &y) in tail.iter().enumerate() {
        ok[k] &= y.is_finite() & keep(y);
        lo[k] = if y < lo[k] { y } else { lo[k] };
        hi[k] = if y > hi[k] { y } else { hi[k] };
    }
    let all_ok = ok.iter().all(|&o| o);
    let lo = lo.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = hi.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    all_ok.then_some((lo, hi))
}

/// One kept candidate: input index and the point.
#[derive(Clone, Copy)]
struct Pick {
    index: usize,
    x: f64,
    y: f64,
}

/// The run of consecutive points in one column being reduced.
#[derive(Clone, Copy)]
struct Group {
    column: i64,
    first: Pick,
    min: Pick,
    max: Pick,
    last: Pick,
}

#[derive(Default)]
struct Builder {
    result: Decimated,
    group: Option<Group>,
    piece_start: usize,
    last_mark: Option<(i64, NonFiniteKind)>,
}

impl Builder {
    /// Handles one input point: a break and maybe a marker for a bad one, else keeps it.
    #[inline]
    fn point(
        &mut self,
        i: usize,
        x: f64,
        y: f64,
        column: &impl Fn(f64) -> i64,
        keep: &impl Fn(f64) -> bool,
        decimate: bool,
    ) {
        if !x.is_finite() {
            self.break_piece();
            self.result.skipped += 1;
        } else if let Some(kind) = NonFiniteKind::of(y) {
            self.break_piece();
            self.mark(i, x, kind, column(x));
        } else if !keep(y) {
            self.break_piece();
            self.result.skipped += 1;
        } else if decimate {
            self.add(i, x, y, column(x));
        } else {
            self.result.points.push((x, y));
        }
    }

    /// Reduces the points `range`, all in pixel column `c`: one scan of the values; a column holding
    /// a bad value goes point by point instead.
    fn segment(
        &mut self,
        range: Range<usize>,
        c: i64,
        x_at: &impl Fn(usize) -> f64,
        ys: &[f64],
        column: &impl Fn(f64) -> i64,
        keep: &impl Fn(f64) -> bool,
    ) {
        let (a, b) = (range.start, range.end);
        let seg = &ys[range];
        let Some((lo, hi)) = clean_extremes(seg, keep) else {
            for (i, &y) in seg.iter().enumerate() {
                self.point(a + i, x_at(a + i), y, column, keep, true);
            }
            return;
        };
        let at = |v: f64| a + seg.iter().position(|&y| y == v).unwrap_or(0);
        let pick = |i: usize| Pick {
            index: i,
            x: x_at(i),
            y: ys[i],
        };
        self.flush();
        self.group = Some(Group {
            column: c,
            first: pick(a),
            min: pick(at(lo)),
            max: pick(at(hi)),
            last: pick(b - 1),
        });
        self.flush();
    }

    #[inline]
    fn add(&mut self, index: usize, x: f64, y: f64, column: i64) {
        let p = Pick { index, x, y };
        match &mut self.group {
            Some(g) if g.column == column => {
                if y < g.min.y {
                    g.min = p;
                }
                if y > g.max.y {
                    g.max = p;
                }
                g.last = p;
            }
            _ => {
                self.flush();
                self.group = Some(Group {
                    column,
                    first: p,
                    min: p,
                    max: p,
                    last: p,
                });
            }
        }
    }

    /// Emits the current group's distinct picks in input order.
    fn flush(&mut self) {
        let Some(g) = self.group.take() else {
            return;
        };
        let mut picks = [g.first, g.min, g.max, g.last];
        picks.sort_unstable_by_key(|p| p.index);
        let mut previous = None;
        for p in picks {
            if previous != Some(p.index) {
                self.result.points.push((p.x, p.y));
                previous = Some(p.index);
            }
        }
    }

    fn break_piece(&mut self) {
        self.flush();
        let end = self.result.points.len();
        if end > self.piece_start {
            self.result.pieces.push(self.piece_start..end);
        }
        self.piece_start = end;
    }

    fn mark(&mut self, index: usize, x: f64, kind: NonFiniteKind, column: i64) {
        if self.last_mark != Some((column, kind)) {
            self.result
                .non_finite
                .push(NonFinitePoint { index, x, kind });
            self.last_mark = Some((column, kind));
        }
    }
}
