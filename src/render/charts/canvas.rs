//! The page: title band, a grid of panels and an optional footer panel, drawn on a bitmap (then PNG)
//! or SVG backend.

use std::panic::{catch_unwind, AssertUnwindSafe};

use plotters::backend::{BitMapBackend, SVGBackend};
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, IntoDrawingArea};
use plotters::prelude::DrawingBackend;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{IntoFont, TextStyle};

use super::options::{ChartOptions, ImageFormat, MAX_SIDE, MIN_HEIGHT, MIN_WIDTH};
use super::panel::{self, draw_err, rgb, Panel};
use super::{palette, PanelFrame, RenderError, RgbImage};
use crate::render::font::{ensure_registered, FONT_FAMILY};

/// Height of the title band, reserved with or without a title.
pub(crate) const TITLE_BAND: u32 = 40;

/// What a chart function draws: metric panels in a grid, and an optional full-width footer panel.
#[derive(Debug, Default)]
pub(crate) struct Layout<'a> {
    pub panels: Vec<Panel<'a>>,
    pub footer: Option<Panel<'a>>,
    /// Written in the middle when there is no panel at all.
    pub empty_message: &'static str,
    /// Panels left out (their quantities), named beside the title.
    pub hidden: Vec<String>,
}

fn checked_size(opts: &ChartOptions) -> Result<(u32, u32), RenderError> {
    let (width, height) = opts.size();
    let ok = |v: u32, min: u32| (min..=MAX_SIDE).contains(&v);
    if ok(width, MIN_WIDTH) && ok(height, MIN_HEIGHT) {
        Ok((width, height))
    } else {
        Err(RenderError::InvalidSize { width, height })
    }
}

/// The layout as PNG or SVG bytes.
pub(crate) fn encode(
    layout: &Layout<'_>,
    opts: &ChartOptions,
    format: ImageFormat,
) -> Result<Vec<u8>, RenderError> {
    match format {
        ImageFormat::Png => Ok(image(layout, opts)?.to_png()),
        ImageFormat::Svg => svg(layout, opts),
    }
}

/// The layout drawn into an RGB buffer.
pub(crate) fn image(layout: &Layout<'_>, opts: &ChartOptions) -> Result<RgbImage, RenderError> {
    let (width, height) = checked_size(opts)?;
    ensure_registered()?;
    let mut pixels = vec![255u8; width as usize * height as usize * 3];
    let panels = guarded(|| {
        let root = BitMapBackend::with_buffer(&mut pixels, (width, height)).into_drawing_area();
        let frames = page(&root, layout, opts)?;
        root.present().map_err(draw_err)?;
        Ok(frames)
    })?;
    Ok(RgbImage {
        width,
        height,
        pixels,
        panels,
    })
}

fn svg(layout: &Layout<'_>, opts: &ChartOptions) -> Result<Vec<u8>, RenderError> {
    let (width, height) = checked_size(opts)?;
    ensure_registered()?;
    let mut text = String::new();
    guarded(|| {
        let root = SVGBackend::with_string(&mut text, (width, height)).into_drawing_area();
        page(&root, layout, opts)?;
        root.present().map_err(draw_err)
    })?;
    Ok(text.into_bytes())
}

/// Runs a drawing closure, turning a panic inside plotters into an error (charts must never take the
/// render thread down).
fn guarded<T>(f: impl FnOnce() -> Result<T, RenderError>) -> Result<T, RenderError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let msg = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Err(RenderError::Draw(format!("plotters panicked: {msg}")))
    })
}

fn centred(size: u32) -> TextStyle<'static> {
    (FONT_FAMILY, size)
        .into_font()
        .color(&rgb(palette::TEXT))
        .pos(Pos::new(HPos::Center, VPos::Center))
}

/// `not drawn: a, b (+3 more)` right of the title, with as many names as fit between the title and the
/// right edge (none when even the count does not fit).
fn hidden_note<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    hidden: &[String],
    title: &str,
) -> Result<(), RenderError> {
    let (width, _) = area.dim_in_pixel();
    let title_width = if title.is_empty() {
        0
    } else {
        area.estimate_text_size(title, &centred(22))
            .map_err(draw_err)?
            .0
    };
    let room = (i64::from(width) - i64::from(title_width)) / 2 - 24;
    let style = (FONT_FAMILY, 12)
        .into_font()
        .color(&rgb(palette::TEXT))
        .pos(Pos::new(HPos::Right, VPos::Center));
    let fits = |text: &str| -> Result<bool, RenderError> {
        let (w, _) = area.estimate_text_size(text, &style).map_err(draw_err)?;
        Ok(i64::from(w) <= room)
    };
    for shown in (0..=hidden.len()).rev() {
        let more = hidden.len() - shown;
        let mut text = format!("not drawn: {}", hidden[..shown].join(", "));
        if more > 0 {
            text = format!("{text}{}+{more} more", if shown > 0 { ", " } else { "" });
        }
        if fits(&text)? {
            let at = (width as i32 - 8, TITLE_BAND as i32 / 2);
            return area.draw_text(&text, &style, at).map_err(draw_err);
        }
    }
    Ok(())
}

/// Columns of the panel grid for `n` panels.
pub(crate) fn grid_columns(n: usize) -> usize {
    match n {
        0 | 1 => 1,
        2..=4 => 2,
        _ => 3,
    }
}

fn page<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    layout: &Layout<'_>,
    opts: &ChartOptions,
) -> Result<Vec<PanelFrame>, RenderError> {
    root.fill(&rgb(palette::BACKGROUND)).map_err(draw_err)?;
    let (width, height) = root.dim_in_pixel();
    let (title_area, body) = root.split_vertically(TITLE_BAND);
    if !opts.title().is_empty() {
        let at = (width as i32 / 2, TITLE_BAND as i32 / 2);
        title_area
            .draw_text(opts.title(), &centred(22), at)
            .map_err(draw_err)?;
    }
    if !layout.hidden.is_empty() {
        hidden_note(&title_area, &layout.hidden, opts.title())?;
    }
    if layout.panels.is_empty() && layout.footer.is_none() {
        let at = (width as i32 / 2, (height - TITLE_BAND) as i32 / 2);
        body.draw_text(layout.empty_message, &centred(18), at)
            .map_err(draw_err)?;
        return Ok(Vec::new());
    }
    let mut frames = Vec::new();
    if layout.panels.is_empty() {
        if let Some(p) = &layout.footer {
            frames.push(panel::draw(&body, p)?);
        }
        return Ok(frames);
    }
    let cols = grid_columns(layout.panels.len());
    let rows = layout.panels.len().div_ceil(cols);
    let mut strip = None;
    for (i, (p, cell)) in layout
        .panels
        .iter()
        .zip(body.split_evenly((rows, cols)))
        .enumerate()
    {
        match (&layout.footer, i) {
            (Some(_), 0) => {
                let (_, h) = cell.dim_in_pixel();
                let strip_height = (h / 3).clamp(90, 150).min(h / 2);
                let (upper, lower) = cell.split_vertically(h - strip_height);
                frames.push(panel::draw(&upper, p)?);
                strip = Some(lower);
            }
            _ => frames.push(panel::draw(&cell, p)?),
        }
    }
    if let (Some(p), Some(area)) = (&layout.footer, strip) {
        frames.push(panel::draw(&area, p)?);
    }
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_limits() {
        let cases = [
            (MIN_WIDTH, MIN_HEIGHT, true, "smallest accepted"),
            (MAX_SIDE, MAX_SIDE, true, "largest accepted"),
            (MIN_WIDTH - 1, 400, false, "too narrow"),
            (400, MIN_HEIGHT - 1, false, "too low"),
            (0, 0, false, "empty image"),
            (MAX_SIDE + 1, 400, false, "too wide"),
        ];
        for (w, h, ok, why) in cases {
            let got = checked_size(&ChartOptions::new().with_size(w, h));
            assert_eq!(got.is_ok(), ok, "{why}");
        }
    }

    #[test]
    fn grid_shape() {
        let cases = [
            (1, 1, "one panel"),
            (2, 2, "side by side"),
            (4, 2, "2x2"),
            (5, 3, "3 wide"),
        ];
        for (n, cols, why) in cases {
            assert_eq!(grid_columns(n), cols, "{why}");
        }
    }

    #[test]
    fn panics_become_errors() {
        let got: Result<(), RenderError> = guarded(|| panic!("boom"));
        assert_eq!(
            got,
            Err(RenderError::Draw("plotters panicked: boom".into()))
        );
    }
}
