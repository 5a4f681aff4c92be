//! One plot panel: what it holds (lines, bands, marks), its axis ranges, and drawing it with plotters.

use std::borrow::Cow;

use plotters::chart::ChartContext;
use plotters::coord::cartesian::Cartesian2d;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::drawing::DrawingArea;
use plotters::prelude::DrawingBackend;
use plotters::style::{IntoFont, RGBColor, TextStyle};

use super::columns::{builder, x_info, Columns, XInfo};
use super::layers::{self, Labels};
use super::legend::Legend;
use super::log_axis::LogAxis;
use super::place::{legend_box, Placer, Rect};
use super::ranges::{has_positive, padded_x, padded_y, x_extent, y_extent};
use super::ticks::{tick, tick_at};
use super::{palette, PanelFrame, RenderError};
use crate::render::decimate::Decimated;
use crate::render::font::FONT_FAMILY;

/// The x column of a line: the history's step counters, its fractional epochs, or plain floats.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Xs<'a> {
    U64(&'a [u64]),
    F32(&'a [f32]),
    F64(&'a [f64]),
}

impl Xs<'_> {
    /// The `i`-th x value as `f64`.
    pub(crate) fn at(&self, i: usize) -> f64 {
        match self {
            Xs::U64(v) => v[i] as f64,
            Xs::F32(v) => f64::from(v[i]),
            Xs::F64(v) => v[i],
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Xs::U64(v) => v.len(),
            Xs::F32(v) => v.len(),
            Xs::F64(v) => v.len(),
        }
    }
}

/// A curve to draw: its columns (same length, checked by whoever builds it) and its look.
#[derive(Clone, Debug)]
pub(crate) struct Line<'a> {
    pub xs: Xs<'a>,
    pub ys: Cow<'a, [f64]>,
    pub colour: (u8, u8, u8),
    pub width: u32,
    pub label: Option<String>,
    pub dashed: bool,
    /// Draw a dot at every point when the line has few points (sparse validation curves).
    pub dots: bool,
    /// Draw the spaced EMA of `ys` with this weight instead of `ys` (computed while decimating).
    pub smooth: Option<f64>,
}

impl<'a> Line<'a> {
    pub(crate) fn new(xs: Xs<'a>, ys: impl Into<Cow<'a, [f64]>>, colour: (u8, u8, u8)) -> Self {
        Line {
            xs,
            ys: ys.into(),
            colour,
            width: 1,
            label: None,
            dashed: false,
            dots: false,
            smooth: None,
        }
    }

    /// Draws the EMA of the values with `weight` rather than the values.
    pub(crate) fn smoothed(mut self, weight: f64) -> Self {
        self.smooth = Some(weight);
        self
    }

    pub(crate) fn width(mut self, width: u32) -> Self {
        self.width = width;
        self
    }

    pub(crate) fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub(crate) fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }

    pub(crate) fn dots(mut self) -> Self {
        self.dots = true;
        self
    }

    /// Number of points (the shorter column if they differ).
    pub(crate) fn len(&self) -> usize {
        self.xs.len().min(self.ys.len())
    }
}

/// A shaded band between two curves over shared x values.
#[derive(Clone, Debug)]
pub(crate) struct Band<'a> {
    pub xs: &'a [f64],
    pub lower: &'a [f64],
    pub upper: &'a [f64],
    pub colour: (u8, u8, u8),
    pub label: Option<String>,
}

/// How an annotation is drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum MarkShape {
    /// A dashed vertical line across the plot, label at its top.
    VLine,
    /// A ring around the point at this y value.
    Point(f64),
    /// A triangle on the bottom edge.
    Edge,
    /// A shaded span from the mark's x to this x (an episode), label at its top left.
    Span(f64),
}

/// An annotation at one x position.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Mark {
    pub x: f64,
    pub shape: MarkShape,
    pub colour: (u8, u8, u8),
    pub label: String,
}

/// Everything one panel shows.
#[derive(Clone, Debug, Default)]
pub(crate) struct Panel<'a> {
    pub caption: String,
    pub x_desc: String,
    pub y_desc: String,
    pub log_y: bool,
    pub decimate: bool,
    pub bands: Vec<Band<'a>>,
    pub lines: Vec<Line<'a>>,
    pub marks: Vec<Mark>,
    /// A y range chosen for the data (a zoom): values outside are drawn at the edge.
    pub y_zoom: Option<(f64, f64)>,
}

pub(crate) fn rgb(c: (u8, u8, u8)) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

pub(crate) fn draw_err(e: impl std::fmt::Display) -> RenderError {
    RenderError::Draw(e.to_string())
}

/// A panel ready to draw: axis ranges, the x-to-column mapping and each line's kept points.
struct Prepared {
    x: (f64, f64),
    y: (f64, f64),
    columns: Columns,
    lines: Vec<Decimated>,
    log: bool,
}

/// Draws `p` into `area` and reports where its plot landed.
pub(crate) fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel<'_>,
) -> Result<PanelFrame, RenderError> {
    let log = p.log_y && p.y_zoom.is_none() && has_positive(p);
    let infos: Vec<XInfo> = p.lines.iter().map(|l| x_info(&l.xs, l.len())).collect();
    let x = padded_x(x_extent(p, &infos));
    let columns = Columns::probe(area, x)?;
    let mut lines = p
        .lines
        .iter()
        .zip(&infos)
        .map(|(l, info)| columns.points(l, info.sorted, p.decimate, log))
        .collect::<Vec<_>>();
    let y = match p.y_zoom {
        Some((lo, hi)) => {
            let y = padded_y(Some((lo, hi)), false);
            // M4 keeps each column's extremes; clamping them keeps the clipped part on the edge.
            for d in &mut lines {
                for pt in &mut d.points {
                    pt.1 = pt.1.clamp(y.0, y.1);
                }
            }
            y
        }
        None => padded_y(y_extent(p, &lines, log), log),
    };
    let prepared = Prepared {
        x,
        y,
        columns,
        lines,
        log,
    };
    if log {
        draw_in(area, p, &prepared, LogAxis::new(y.0, y.1))
    } else {
        draw_in(area, p, &prepared, y.0..y.1)
    }
}

/// `caption` shortened to fit the panel's width: notes in parentheses cut at their `;`
/// (`(zoomed; first 5% reaches 11)` → `(zoomed)`), then dropped from the last, then the name cut
/// with `…`.
fn fit_caption<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
) -> Result<String, RenderError> {
    let room = i64::from(area.dim_in_pixel().0) - 12;
    let font: TextStyle = (FONT_FAMILY, 16).into_font().into();
    let fits = |t: &str| -> Result<bool, RenderError> {
        Ok(i64::from(area.estimate_text_size(t, &font).map_err(draw_err)?.0) <= room)
    };
    let mut parts = caption.split(" (");
    let base = parts.next().unwrap_or_default();
    let notes: Vec<&str> = parts.collect();
    let short: Vec<String> = notes
        .iter()
        .map(|n| match n.split_once(';') {
            Some((head, _)) => format!("{head})"),
            None => (*n).to_owned(),
        })
        .collect();
    let mut candidates = vec![caption.to_owned()];
    candidates.extend((0..=short.len()).rev().map(|k| {
        let kept: Vec<String> = short[..k].iter().map(|n| format!(" ({n}")).collect();
        format!("{base}{}", kept.concat())
    }));
    for c in &candidates {
        if fits(c)? {
            return Ok(c.clone());
        }
    }
    let mut chars: Vec<char> = base.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let t: String = chars.iter().chain(['…'].iter()).collect();
        if fits(&t)? {
            return Ok(t);
        }
    }
    Ok(String::new())
}

/// Tick counts that leave room for each label: one per ~90 px across, per ~28 px down.
fn tick_counts<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> (usize, usize) {
    let (w, h) = area.dim_in_pixel();
    let across = (w.saturating_sub(80) / 90).clamp(2, 8) as usize;
    let down = (h.saturating_sub(80) / 28).clamp(2, 8) as usize;
    (across, down)
}

fn draw_in<DB, Y>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel<'_>,
    prepared: &Prepared,
    y: Y,
) -> Result<PanelFrame, RenderError>
where
    DB: DrawingBackend,
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let text = rgb(palette::TEXT);
    let (x, log) = (prepared.x, prepared.log);
    let caption = fit_caption(area, &p.caption)?;
    let mut chart = builder(area)
        .caption(&caption, (FONT_FAMILY, 16).into_font().color(&text))
        .build_cartesian_2d(x.0..x.1, y)
        .map_err(draw_err)?;
    let (px, py) = chart.plotting_area().get_pixel_range();
    debug_assert_eq!(
        (px.start, px.end - 1),
        prepared.columns.span(),
        "probe and chart share x"
    );
    let counts = tick_counts(area);
    mesh(&mut chart, p, prepared, counts)?;
    let plot = Rect::new(px.start, py.start, px.end - px.start, py.end - py.start);
    let legend = Legend::new(&mut chart, p, plot)?;
    let legend_at = legend.as_ref().map(|legend| {
        let area = chart.plotting_area();
        let mut points = Vec::new();
        for d in &prepared.lines {
            let pixels: Vec<(i32, i32)> =
                d.points.iter().map(|pt| area.map_coordinate(pt)).collect();
            trace(&pixels, &mut points);
        }
        legend_box(plot, legend.size(), &points)
    });
    let mut labels = Labels::new(Placer::new(plot));
    if let Some(r) = legend_at {
        labels.placer.block(r);
    }
    layers::spans(&mut chart, &p.marks)?;
    for band in &p.bands {
        layers::band(&mut chart, band, &prepared.columns, p.decimate, log)?;
    }
    for (line, points) in p.lines.iter().zip(&prepared.lines) {
        layers::line(&mut chart, line, points, &mut labels)?;
    }
    layers::marks(&mut chart, &p.marks, &mut labels)?;
    if let (Some(legend), Some(r)) = (&legend, legend_at) {
        legend.draw(&mut chart, r)?;
    }
    layers::dropped_count(&mut chart, &mut labels)?;
    Ok(frame(&chart, &p.caption, log))
}

/// Every pixel point of a polyline and points every 4 pixels along its segments, so the legend
/// avoids the lines between sparse points too.
fn trace(pixels: &[(i32, i32)], out: &mut Vec<(i32, i32)>) {
    out.extend(pixels.first());
    for w in pixels.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        let steps = ((x1 - x0).abs().max((y1 - y0).abs()) / 4).clamp(1, 500);
        out.extend((1..=steps).map(|k| (x0 + (x1 - x0) * k / steps, y0 + (y1 - y0) * k / steps)));
    }
}

/// Grid lines, axes, tick labels and axis descriptions.
fn mesh<'a, DB, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>,
    p: &Panel<'_>,
    prepared: &Prepared,
    (across, down): (usize, usize),
) -> Result<(), RenderError>
where
    DB: DrawingBackend + 'a,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let text = rgb(palette::TEXT);
    let x_step = (prepared.x.1 - prepared.x.0) / (2 * across) as f64;
    let y_step = (prepared.y.1 - prepared.y.0) / (2 * down) as f64;
    let x_tick = move |v: &f64| tick_at(*v, x_step);
    // No y label in the bottom 8 pixels, where the first x label sits.
    let (_, rows) = chart.plotting_area().get_pixel_range();
    let height = f64::from((rows.end - rows.start).max(1));
    let (y0, y1) = prepared.y;
    let fraction = move |v: f64| {
        if prepared.log {
            (v.ln() - y0.ln()) / (y1.ln() - y0.ln())
        } else {
            (v - y0) / (y1 - y0)
        }
    };
    let y_tick = move |v: &f64| {
        if fraction(*v) * height < 8.0 {
            String::new()
        } else if prepared.log {
            tick(v)
        } else {
            tick_at(*v, y_step)
        }
    };
    chart
        .configure_mesh()
        .x_desc(p.x_desc.as_str())
        .y_desc(p.y_desc.as_str())
        .label_style((FONT_FAMILY, 12).into_font().color(&text))
        .axis_desc_style((FONT_FAMILY, 13).into_font().color(&text))
        .axis_style(text)
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(RGBColor(243, 243, 243))
        .x_labels(across)
        .y_labels(down)
        .x_label_formatter(&x_tick)
        .y_label_formatter(&y_tick)
        .draw()
        .map_err(draw_err)
}

fn frame<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
    chart: &ChartContext<'_, DB, Cartesian2d<RangedCoordf64, Y>>,
    caption: &str,
    log: bool,
) -> PanelFrame {
    let (xs, ys) = chart.plotting_area().get_pixel_range();
    let (xr, yr) = (chart.x_range(), chart.y_range());
    PanelFrame {
        caption: caption.to_owned(),
        plot: (xs.start, ys.start, xs.end, ys.end),
        x_range: (xr.start, xr.end),
        y_range: (yr.start, yr.end),
        log_y: log,
    }
}
