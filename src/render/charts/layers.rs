//! Drawing a panel's contents on a built chart: lines (decimated), bands, non-finite markers and
//! annotation marks.

use std::iter::once;

use plotters::chart::ChartContext;
use plotters::coord::cartesian::Cartesian2d;
use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;
use plotters::element::{
    Circle, Cross, DashedPathElement, EmptyElement, PathElement, Polygon, Rectangle, Text,
    TriangleMarker,
};
use plotters::prelude::DrawingBackend;
use plotters::series::DashedLineSeries;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{Color, IntoFont, ShapeStyle, TextStyle};

use super::columns::Columns;
use super::panel::{draw_err, rgb, Band, Line, Mark, MarkShape, Xs};
use super::place::{Placer, Rect};
use super::{palette, RenderError};
use crate::render::decimate::{Decimated, NonFiniteKind, NonFinitePoint};
use crate::render::font::FONT_FAMILY;

type Chart<'c, 'a, DB, Y> = &'c mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>;

/// More point marks than this with one label are drawn as a rug of small triangles on the bottom edge.
const MAX_RINGS: usize = 8;
/// Lines with at most this many points get a dot at each point when they ask for dots.
const MAX_DOTS: usize = 200;

/// The labels of a panel: each distinct text written once, placed without overlap by a [`Placer`].
pub(crate) struct Labels {
    seen: Vec<String>,
    pub placer: Placer,
}

impl Labels {
    pub(crate) fn new(placer: Placer) -> Self {
        Labels {
            seen: Vec::new(),
            placer,
        }
    }

    fn first(&mut self, label: &str) -> bool {
        if label.is_empty() || self.seen.iter().any(|s| s == label) {
            return false;
        }
        self.seen.push(label.to_owned());
        true
    }
}

fn style(colour: (u8, u8, u8), width: u32) -> ShapeStyle {
    ShapeStyle {
        color: rgb(colour).to_rgba(),
        filled: false,
        stroke_width: width,
    }
}

/// Draws one line from its decimated points `d`: its pieces (single points as dots), its legend entry, and its non-finite markers.
pub(crate) fn line<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: Chart<'_, '_, DB, Y>,
    line: &Line<'_>,
    d: &Decimated,
    labels: &mut Labels,
) -> Result<(), RenderError> {
    let st = style(line.colour, line.width);
    for piece in &d.pieces {
        let pts = &d.points[piece.clone()];
        if pts.len() == 1 {
            let dot = Circle::new(pts[0], line.width.max(2), st.filled());
            chart.draw_series(once(dot)).map_err(draw_err)?;
        } else if line.dashed {
            let dashes = DashedLineSeries::new(pts.iter().copied(), 8, 6, st);
            chart.draw_series(dashes).map_err(draw_err)?;
        } else {
            brushed_path(chart, pts, line.colour, line.width)?;
        }
    }
    if line.dots && d.points.len() <= MAX_DOTS {
        let dots = d.points.iter().map(|&p| Circle::new(p, 2, st.filled()));
        chart.draw_series(dots).map_err(draw_err)?;
    }
    non_finite(chart, &d.non_finite, labels)
}

/// Pixel offsets of a square brush `width` pixels wide (1 to 8), centred on the line.
fn brush(width: u32) -> Vec<(i32, i32)> {
    let w = width.clamp(1, 8) as i32;
    let o = (w - 1) / 2;
    (0..w)
        .flat_map(|dx| (0..w).map(move |dy| (dx - o, dy - o)))
        .collect()
}

/// A polyline `width` pixels wide, drawn as 1-pixel paths shifted by each offset of a square brush.
///
/// plotters draws wider lines as one polygon per segment with blended edges, so overlapping segments
/// darken each other and the result depends on how many points there are. Shifted 1-pixel paths keep
/// the property decimation relies on: a decimated line covers exactly the pixels of the full one.
fn brushed_path<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: Chart<'_, '_, DB, Y>,
    pts: &[(f64, f64)],
    colour: (u8, u8, u8),
    width: u32,
) -> Result<(), RenderError> {
    let area = chart.plotting_area();
    let (bx, by) = area.get_base_pixel();
    let pixels: Vec<(i32, i32)> = pts
        .iter()
        .map(|p| {
            let (x, y) = area.map_coordinate(p);
            (x - bx, y - by)
        })
        .collect();
    let flat = area.strip_coord_spec();
    for (dx, dy) in brush(width) {
        let moved: Vec<(i32, i32)> = pixels.iter().map(|&(x, y)| (x + dx, y + dy)).collect();
        flat.draw(&PathElement::new(moved, style(colour, 1)))
            .map_err(draw_err)?;
    }
    Ok(())
}

/// A red `×` at the top edge for NaN and +inf, at the bottom edge for -inf, labelled once per panel.
fn non_finite<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: Chart<'_, '_, DB, Y>,
    points: &[NonFinitePoint],
    labels: &mut Labels,
) -> Result<(), RenderError> {
    let (bottom, top) = (chart.y_range().start, chart.y_range().end);
    let c = rgb(palette::NON_FINITE);
    for p in points {
        let (y, dy, name) = match p.kind {
            NonFiniteKind::Nan => (top, 6, "NaN"),
            NonFiniteKind::PosInf => (top, 6, "+inf"),
            NonFiniteKind::NegInf => (bottom, -6, "-inf"),
        };
        let cross = EmptyElement::at((p.x, y)) + Cross::new((0, dy), 4, c.stroke_width(2));
        chart.draw_series(once(cross)).map_err(draw_err)?;
        if labels.first(name) {
            label(chart, labels, (p.x, y), (false, dy - 6), name, c)?;
        }
    }
    Ok(())
}

/// Contiguous index ranges where both band edges are placeable.
fn band_segments(band: &Band<'_>, log: bool) -> Vec<std::ops::Range<usize>> {
    let n = band.xs.len().min(band.lower.len()).min(band.upper.len());
    let ok = |i: usize| {
        let (x, lo, hi) = (band.xs[i], band.lower[i], band.upper[i]);
        x.is_finite() && lo.is_finite() && hi.is_finite() && (!log || (lo > 0.0 && hi > 0.0))
    };
    let mut out = Vec::new();
    let mut start = None;
    for i in 0..=n {
        match (i < n && ok(i), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// Shades the band: one polygon per unbroken segment (upper edge forward, lower edge back), each edge
/// M4-decimated when long.
pub(crate) fn band<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: Chart<'_, '_, DB, Y>,
    band: &Band<'_>,
    columns: &Columns,
    decimate: bool,
    log: bool,
) -> Result<(), RenderError> {
    let fill = rgb(band.colour).filled();
    for seg in band_segments(band, log) {
        let xs = Xs::F64(&band.xs[seg.clone()]);
        let edge = |ys: &[f64]| {
            let l = Line::new(xs, ys[seg.clone()].to_vec(), band.colour);
            columns.points(&l, false, decimate, log).points
        };
        let mut outline = edge(band.upper);
        outline.extend(edge(band.lower).into_iter().rev());
        if outline.len() >= 3 {
            chart
                .draw_series(once(Polygon::new(outline, fill)))
                .map_err(draw_err)?;
        }
    }
    Ok(())
}

/// Shades the span of every episode mark, under the lines.
pub(crate) fn spans<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: Chart<'_, '_, DB, Y>,
    marks: &[Mark],
) -> Result<(), RenderError> {
    let (bottom, top) = (chart.y_range().start, chart.y_range().end);
    for m in marks {
        if let MarkShape::Span(end) = m.shape {
            let fill = rgb(palette::faint(m.colour, palette::SPAN_AMOUNT)).filled();
            let r = Rectangle::new([(m.x, top), (end, bottom)], fill);
            chart.draw_series(once(r)).map_err(draw_err)?;
        }
    }
    Ok(())
}

/// Annotation marks with their labels: each distinct label once per panel (with a count when several
/// marks share it), on a light box, placed without overlap; spans were shaded by [`spans`].
pub(crate) fn marks<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: Chart<'_, '_, DB, Y>,
    marks: &[Mark],
    labels: &mut Labels,
) -> Result<(), RenderError> {
    let (x0, x1) = (chart.x_range().start, chart.x_range().end);
    for m in marks {
        let n = marks.iter().filter(|o| o.label == m.label).count();
        // Many markers of one kind (a noisy run's spikes) become a rug on the bottom edge rather than
        // rings over the data.
        let (y, dy) = if n > MAX_RINGS {
            edge(chart, m, 4)?
        } else {
            shape(chart, m)?
        };
        if !labels.first(&m.label) {
            continue;
        }
        let text = if n > 1 {
            format!("{} ×{n}", m.label)
        } else {
            m.label.clone()
        };
        let right =
            x1 > x0 && (m.x - x0) / (x1 - x0) > 0.7 && !matches!(m.shape, MarkShape::Span(_));
        label(chart, labels, (m.x, y), (right, dy), &text, rgb(m.colour))?;
    }
    Ok(())
}

/// Draws a mark's shape; returns the y value its label hangs from and the label's pixel offset.
fn shape<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: Chart<'_, '_, DB, Y>,
    m: &Mark,
) -> Result<(f64, i32), RenderError> {
    let (bottom, top) = (chart.y_range().start, chart.y_range().end);
    let c = rgb(m.colour);
    match m.shape {
        MarkShape::VLine => {
            let ends = vec![(m.x, bottom), (m.x, top)];
            let path = DashedPathElement::new(ends, 5, 4, c.stroke_width(1));
            chart.draw_series(once(path)).map_err(draw_err)?;
            Ok((top, 4))
        }
        MarkShape::Span(_) => Ok((top, 4)),
        MarkShape::Point(v) if v >= bottom && v <= top => {
            let ring = Circle::new((m.x, v), 4, c.stroke_width(2));
            chart.draw_series(once(ring)).map_err(draw_err)?;
            Ok((v, -20))
        }
        // A point the axis cannot show (a value <= 0 on a log axis) sits on the edge instead.
        MarkShape::Edge | MarkShape::Point(_) => edge(chart, m, 6),
    }
}

/// A triangle of `size` pixels on the bottom edge at the mark's x.
fn edge<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: Chart<'_, '_, DB, Y>,
    m: &Mark,
    size: u32,
) -> Result<(f64, i32), RenderError> {
    let bottom = chart.y_range().start;
    let c = rgb(m.colour);
    let tri = EmptyElement::at((m.x, bottom))
        + TriangleMarker::new((0, -(size as i32) - 1), size, c.filled());
    chart.draw_series(once(tri)).map_err(draw_err)?;
    Ok((bottom, -30))
}

/// The font of annotation labels.
pub(crate) fn label_font(colour: plotters::style::RGBColor) -> TextStyle<'static> {
    (FONT_FAMILY, 12)
        .into_font()
        .color(&colour)
        .pos(Pos::new(HPos::Left, VPos::Top))
}

/// Writes `text` next to `at` (`dy` pixels down, left of it when `right`) on a light box, where the
/// placer finds room; a label with no room is left out and counted.
fn label<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: Chart<'_, '_, DB, Y>,
    labels: &mut Labels,
    at: (f64, f64),
    (right, dy): (bool, i32),
    text: &str,
    colour: plotters::style::RGBColor,
) -> Result<(), RenderError> {
    let area = chart.plotting_area();
    let font = label_font(colour);
    let (w, h) = area.estimate_text_size(text, &font).map_err(draw_err)?;
    let (w, h) = (w as i32 + 4, h as i32 + 2);
    let (ax, ay) = area.map_coordinate(&at);
    let left = if right { ax - 5 - w } else { ax + 5 };
    let Some(r) = labels.placer.place(Rect::new(left, ay + dy, w, h), ax) else {
        return Ok(());
    };
    boxed_text(chart, r, text, font)
}

/// A white box at `r` (absolute pixels) with `text` in it.
fn boxed_text<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: Chart<'_, '_, DB, Y>,
    r: Rect,
    text: &str,
    font: TextStyle<'static>,
) -> Result<(), RenderError> {
    let area = chart.plotting_area();
    let (bx, by) = area.get_base_pixel();
    let flat = area.strip_coord_spec();
    let (l, t, rr, b) = (r.l - bx, r.t - by, r.r - bx, r.b - by);
    flat.draw(&Rectangle::new([(l, t), (rr, b)], palette_box()))
        .map_err(draw_err)?;
    flat.draw(&Text::new(text.to_owned(), (l + 2, t + 1), font))
        .map_err(draw_err)
}

/// Writes `+N more` where there is room when some labels were left out.
pub(crate) fn dropped_count<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: Chart<'_, '_, DB, Y>,
    labels: &mut Labels,
) -> Result<(), RenderError> {
    let n = labels.placer.dropped;
    if n == 0 {
        return Ok(());
    }
    let text = format!("+{n} more");
    let font = label_font(rgb(palette::TEXT));
    let (w, h) = chart
        .plotting_area()
        .estimate_text_size(&text, &font)
        .map_err(draw_err)?;
    let (w, h) = (w as i32 + 4, h as i32 + 2);
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let corners = [
        (xs.start + 4, ys.end - 4 - h),
        (xs.end - 4 - w, ys.end - 4 - h),
        (xs.start + 4, ys.start + 4),
    ];
    for (x, y) in corners {
        if let Some(r) = labels.placer.place(Rect::new(x, y, w, h), x) {
            return boxed_text(chart, r, &text, font);
        }
    }
    Ok(())
}

pub(crate) fn palette_box() -> ShapeStyle {
    plotters::style::RGBColor(255, 255, 255).mix(0.85).filled()
}
