//! A panel's legend: one row per labelled line or band, in as many columns as the plot's height needs,
//! placed by [`super::place::legend_box`] where it covers the fewest points.

use plotters::chart::ChartContext;
use plotters::coord::cartesian::Cartesian2d;
use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;
use plotters::element::{Rectangle, Text};
use plotters::prelude::DrawingBackend;
use plotters::style::Color;

use super::layers::{label_font, palette_box};
use super::panel::{draw_err, rgb, Panel};
use super::place::Rect;
use super::{palette, RenderError};

type Chart<'c, 'a, DB, Y> = &'c mut ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>;

/// Height of one legend row in pixels.
const ROW: i32 = 16;
/// Width of the colour swatch and the gaps around it.
const SWATCH: i32 = 30;

/// One legend row.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    pub text: String,
    /// `None` for a row of text only (`+3 more`).
    pub colour: Option<(u8, u8, u8)>,
    pub band: bool,
}

/// The rows of a legend laid out in columns.
#[derive(Debug)]
pub(crate) struct Legend {
    entries: Vec<Entry>,
    rows: usize,
    column_width: i32,
}

impl Legend {
    /// The legend of `p` (labelled bands, then labelled lines), or `None` when nothing is labelled.
    /// Rows that do not fit in `plot` (at most half its width) become one `+N more` row.
    pub(crate) fn new<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
        chart: Chart<'_, '_, DB, Y>,
        p: &Panel<'_>,
        plot: Rect,
    ) -> Result<Option<Self>, RenderError> {
        let bands = p
            .bands
            .iter()
            .filter_map(|b| Some((b.label.as_ref()?, b.colour, true)));
        let lines = p
            .lines
            .iter()
            .filter_map(|l| Some((l.label.as_ref()?, l.colour, false)));
        let mut entries: Vec<Entry> = bands
            .chain(lines)
            .map(|(t, c, band)| Entry {
                text: t.clone(),
                colour: Some(c),
                band,
            })
            .collect();
        if entries.is_empty() {
            return Ok(None);
        }
        let font = label_font(rgb(palette::TEXT));
        let mut text_width = 0;
        for e in &entries {
            let (w, _) = chart
                .plotting_area()
                .estimate_text_size(&e.text, &font)
                .map_err(draw_err)?;
            text_width = text_width.max(w as i32);
        }
        let column_width = text_width + SWATCH + 8;
        let rows = (((plot.b - plot.t - 20) / ROW).max(1)) as usize;
        let columns = (((plot.r - plot.l) / 2 / column_width).max(1)) as usize;
        if entries.len() > rows * columns {
            let keep = rows * columns - 1;
            let more = entries.len() - keep;
            entries.truncate(keep);
            entries.push(Entry {
                text: format!("+{more} more"),
                colour: None,
                band: false,
            });
        }
        let rows = rows.min(entries.len());
        Ok(Some(Legend {
            entries,
            rows,
            column_width,
        }))
    }

    /// Width and height in pixels.
    pub(crate) fn size(&self) -> (i32, i32) {
        let columns = self.entries.len().div_ceil(self.rows) as i32;
        (columns * self.column_width, ROW * self.rows as i32 + 8)
    }

    /// Draws the legend in `r` (absolute pixels).
    pub(crate) fn draw<DB: DrawingBackend, Y: Ranged<ValueType = f64>>(
        &self,
        chart: Chart<'_, '_, DB, Y>,
        r: Rect,
    ) -> Result<(), RenderError> {
        let area = chart.plotting_area();
        let (bx, by) = area.get_base_pixel();
        let flat = area.strip_coord_spec();
        let (l, t, right, b) = (r.l - bx, r.t - by, r.r - bx, r.b - by);
        flat.draw(&Rectangle::new([(l, t), (right, b)], palette_box()))
            .map_err(draw_err)?;
        let border = rgb((180, 180, 180)).stroke_width(1);
        flat.draw(&Rectangle::new([(l, t), (right, b)], border))
            .map_err(draw_err)?;
        let font = label_font(rgb(palette::TEXT));
        for (i, e) in self.entries.iter().enumerate() {
            let x = l + self.column_width * (i / self.rows) as i32;
            let y = t + 4 + ROW * (i % self.rows) as i32;
            let mid = y + ROW / 2;
            if let Some(c) = e.colour {
                let half = if e.band { 5 } else { 1 };
                let swatch = [(x + 6, mid - half), (x + 24, mid + half)];
                flat.draw(&Rectangle::new(swatch, rgb(c).filled()))
                    .map_err(draw_err)?;
            }
            flat.draw(&Text::new(
                e.text.clone(),
                (x + SWATCH, y + 1),
                font.clone(),
            ))
            .map_err(draw_err)?;
        }
        Ok(())
    }
}
