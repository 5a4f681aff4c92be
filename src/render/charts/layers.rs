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
use super::{palette, RenderError};
use crate::render::decimate::{Decimated, NonFiniteKind, NonFinitePoint};
use crate::render::font::FONT_FAMILY;

type Chart<'c, 'a, DB, Y> = &'c mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>;

/// Lines with at most this many points get a dot at each point when they ask for dots.
const MAX_DOTS: usize = 200;

/// Which labels a panel has drawn already (each is written once), and how many vertical-line labels
/// are stacked at the top.
#[derive(Default)]
pub(crate) struct Labels {
    seen: Vec<String>,
    stacked: i32,
}

impl Labels {
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
    if let Some(label) = &line.label {
        let legend = style(line.colour, line.width.max(2));
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .map_err(draw_err)?
            .label(label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], legend));
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
    let font = (FONT_FAMILY, 12).into_font().color(&c);
    for p in points {
        let (y, dy, name) = match p.kind {
            NonFiniteKind::Nan => (top, 6, "NaN"),
            NonFiniteKind::PosInf => (top, 6, "+inf"),
            NonFiniteKind::NegInf => (bottom, -6, "-inf"),
        };
        let cross = EmptyElement::at((p.x, y)) + Cross::new((0, dy), 4, c.stroke_width(2));
        chart.draw_series(once(cross)).map_err(draw_err)?;
        if labels.first(name) {
            let text = EmptyElement::at((p.x, y)) + Text::new(name, (7, dy - 6), font.clone());
            chart.draw_series(once(text)).map_err(draw_err)?;
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
    if let Some(label) = &band.label {
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .map_err(draw_err)?
            .label(label.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 18, y + 5)], fill));
    }
    Ok(())
}

/// Annotation marks with their labels (each distinct label written once per panel, on a light box).
/// Labels anchored on the right start below the legend, which holds `legend_rows` entries.
pub(crate) fn marks<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: Chart<'_, '_, DB, Y>,
    marks: &[Mark],
    labels: &mut Labels,
    legend_rows: usize,
) -> Result<(), RenderError> {
    let (x0, x1) = (chart.x_range().start, chart.x_range().end);
    for m in marks {
        let (y, mut dy) = shape(chart, m)?;
        if !labels.first(&m.label) {
            continue;
        }
        let right = x1 > x0 && (m.x - x0) / (x1 - x0) > 0.7;
        if m.shape == MarkShape::VLine {
            dy += 15 * labels.stacked;
            labels.stacked += 1;
            if right && legend_rows > 0 {
                dy += 14 + 18 * legend_rows as i32;
            }
        }
        label(chart, (m.x, y), (right, dy), &m.label, rgb(m.colour))?;
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
        MarkShape::Point(v) if v >= bottom && v <= top => {
            let ring = Circle::new((m.x, v), 5, c.stroke_width(2));
            chart.draw_series(once(ring)).map_err(draw_err)?;
            Ok((v, -20))
        }
        MarkShape::Edge | MarkShape::Point(_) => {
            // A point the axis cannot show (a value <= 0 on a log axis) sits on the edge instead.
            let tri = EmptyElement::at((m.x, bottom)) + TriangleMarker::new((0, -7), 6, c.filled());
            chart.draw_series(once(tri)).map_err(draw_err)?;
            Ok((bottom, -30))
        }
    }
}

/// Writes `text` next to `at`, `dy` pixels down, left of it when `right`, on a light box.
fn label<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: Chart<'_, '_, DB, Y>,
    at: (f64, f64),
    (right, dy): (bool, i32),
    text: &str,
    colour: plotters::style::RGBColor,
) -> Result<(), RenderError> {
    let (pos, dx) = if right {
        (HPos::Right, -5)
    } else {
        (HPos::Left, 5)
    };
    let font: TextStyle = (FONT_FAMILY, 12)
        .into_font()
        .color(&colour)
        .pos(Pos::new(pos, VPos::Top));
    let (w, h) = chart
        .plotting_area()
        .estimate_text_size(text, &font)
        .map_err(draw_err)?;
    let (w, h) = (w as i32, h as i32);
    let left = if right { dx - w } else { dx };
    let boxed = Rectangle::new(
        [(left - 2, dy - 1), (left + w + 2, dy + h + 1)],
        palette_box(),
    );
    let element = EmptyElement::at(at) + boxed + Text::new(text.to_owned(), (dx, dy), font);
    chart.draw_series(once(element)).map_err(draw_err)?;
    Ok(())
}

fn palette_box() -> ShapeStyle {
    plotters::style::RGBColor(255, 255, 255).mix(0.8).filled()
}
