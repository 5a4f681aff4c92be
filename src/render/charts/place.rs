//! Where text goes on a panel: labels that never overlap each other or the legend (each is placed at
//! its anchor, else shifted row by row or to the other side, else dropped and counted), and the
//! legend in the corner that covers the fewest data points.

/// A box in pixels: left, top, right, bottom (right and bottom exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Rect {
    pub l: i32,
    pub t: i32,
    pub r: i32,
    pub b: i32,
}

impl Rect {
    pub(crate) fn new(l: i32, t: i32, w: i32, h: i32) -> Self {
        Rect {
            l,
            t,
            r: l + w,
            b: t + h,
        }
    }

    pub(crate) fn overlaps(&self, o: &Rect) -> bool {
        self.l < o.r && o.l < self.r && self.t < o.b && o.t < self.b
    }

    fn inside(&self, o: &Rect) -> bool {
        self.l >= o.l && self.r <= o.r && self.t >= o.t && self.b <= o.b
    }

    fn shifted(&self, dx: i32, dy: i32) -> Rect {
        Rect {
            l: self.l + dx,
            t: self.t + dy,
            r: self.r + dx,
            b: self.b + dy,
        }
    }

    fn contains(&self, (x, y): (i32, i32)) -> bool {
        x >= self.l && x < self.r && y >= self.t && y < self.b
    }
}

/// How many rows up or down a label may move before it is dropped.
const MAX_SHIFT_ROWS: i32 = 12;
/// Air kept around every label, in pixels.
const PAD: i32 = 3;

/// Places labels inside `bounds` without overlap; counts the ones that found no room.
#[derive(Debug)]
pub(crate) struct Placer {
    bounds: Rect,
    taken: Vec<Rect>,
    /// Labels that could not be placed.
    pub dropped: usize,
}

impl Placer {
    pub(crate) fn new(bounds: Rect) -> Self {
        Placer {
            bounds,
            taken: Vec::new(),
            dropped: 0,
        }
    }

    /// Marks `r` as occupied (the legend).
    pub(crate) fn block(&mut self, r: Rect) {
        self.taken.push(r);
    }

    fn free(&self, r: &Rect) -> bool {
        let padded = Rect {
            l: r.l - PAD,
            t: r.t - PAD,
            r: r.r + PAD,
            b: r.b + PAD,
        };
        r.inside(&self.bounds) && !self.taken.iter().any(|t| t.overlaps(&padded))
    }

    /// Places a label of `want`'s size as near `want` as it can: as wanted, then one row lower,
    /// higher, two rows lower..., then the same mirrored to the other side of `mirror_x` (the anchor's
    /// x). Returns where it went, or `None` (and counts it) when nothing is free.
    pub(crate) fn place(&mut self, want: Rect, mirror_x: i32) -> Option<Rect> {
        let w = want.r - want.l;
        let row = want.b - want.t + 2 * PAD;
        let mirrored = Rect::new(2 * mirror_x - want.r, want.t, w, want.b - want.t);
        let clamp_x = |r: Rect| {
            let dx = (self.bounds.l - r.l).max(0) - (r.r - self.bounds.r).max(0);
            r.shifted(dx, 0)
        };
        let candidates = [want, mirrored].into_iter().flat_map(|base| {
            (0..=2 * MAX_SHIFT_ROWS).map(move |k| {
                let rows = if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) };
                base.shifted(0, rows * row)
            })
        });
        for c in candidates.map(clamp_x) {
            if self.free(&c) {
                self.taken.push(c);
                return Some(c);
            }
        }
        self.dropped += 1;
        None
    }
}

/// The legend's box of size `(w, h)` inside `plot`, in the corner (or top or bottom middle) that holds
/// the fewest of `points`; ties go to the upper right, then upper left.
pub(crate) fn legend_box(plot: Rect, (w, h): (i32, i32), points: &[(i32, i32)]) -> Rect {
    let inset = 6;
    let (left, right) = (plot.l + inset, plot.r - inset - w);
    let (top, bottom) = (plot.t + inset, plot.b - inset - h);
    let middle = plot.l + (plot.r - plot.l - w) / 2;
    let candidates = [
        (right, top),
        (left, top),
        (right, bottom),
        (left, bottom),
        (middle, top),
        (middle, bottom),
    ]
    .map(|(x, y)| Rect::new(x, y, w, h));
    let cost = |r: &Rect| points.iter().filter(|p| r.contains(**p)).count();
    let mut best = candidates[0];
    let mut best_cost = cost(&best);
    for c in &candidates[1..] {
        let k = cost(c);
        if k < best_cost {
            (best, best_cost) = (*c, k);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_shift_then_drop_and_never_overlap() {
        let bounds = Rect::new(0, 0, 200, 60);
        let mut p = Placer::new(bounds);
        p.block(Rect::new(150, 0, 50, 20));
        let want = Rect::new(10, 4, 60, 12);
        let mut placed = Vec::new();
        for _ in 0..10 {
            if let Some(r) = p.place(want, 10) {
                placed.push(r);
            }
        }
        assert!(placed.len() >= 3, "room for a few: {placed:?}");
        assert_eq!(
            placed.len() + p.dropped,
            10,
            "every label placed or counted"
        );
        assert_eq!(placed[0], want, "the first goes where it wanted");
        for (i, a) in placed.iter().enumerate() {
            assert!(
                a.l >= 0 && a.r <= 200 && a.t >= 0 && a.b <= 60,
                "{a:?} inside"
            );
            assert!(
                !a.overlaps(&Rect::new(150, 0, 50, 20)),
                "{a:?} off the legend"
            );
            for b in &placed[i + 1..] {
                assert!(!a.overlaps(b), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn legend_goes_where_the_data_is_not() {
        let plot = Rect::new(0, 0, 300, 200);
        // A falling curve (pixel rows grow downwards) crosses the upper left and the lower right.
        let falling: Vec<(i32, i32)> = (0..300).map(|x| (x, x * 2 / 3)).collect();
        let upper_right = legend_box(plot, (80, 40), &falling);
        assert_eq!(
            (upper_right.r, upper_right.t),
            (294, 6),
            "upper right is empty"
        );
        // A rising curve fills the upper right: the legend moves to the upper left.
        let rising: Vec<(i32, i32)> = (0..300).map(|x| (x, 199 - x * 2 / 3)).collect();
        let other = legend_box(plot, (80, 40), &rising);
        assert_eq!((other.l, other.t), (6, 6), "{other:?}");
    }
}
