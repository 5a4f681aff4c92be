//! Learning-curve charts: pure functions from data to a PNG or SVG image, drawn with plotters.
//!
//! - [`learning_curves`]: one panel per quantity (train, epoch mean, valid and every evaluation set of a
//!   metric together, at most six), noisy series smoothed over their faint raw values, the learning rate
//!   as a strip under the loss panel (a caption note when constant), the run's diagnoses as shaded
//!   episodes and point markers with labels that never overlap;
//! - [`smoothed_curve`]: one curve raw (faint) and smoothed with the debiased EMA (bold);
//! - [`multi_run_chart`]: the mean of several runs with its confidence band, and the runs faint;
//! - [`prediction_chart`]: an observed curve, its extrapolation dashed, and the uncertainty band.
//!
//! Text is set in DejaVu Sans, compiled into the binary ([`crate::render::font`]): no system font is
//! needed. Series longer than four times the plot width are M4-decimated first
//! ([`crate::render::decimate`]), which keeps the picture identical and every spike visible; NaN and
//! infinite values break the line and get a red `×` at the top (NaN, +inf) or bottom (-inf) edge.
//!
//! The `*_image` variants return the raw RGB pixels together with each panel's plot rectangle and axis
//! ranges ([`PanelFrame`]), for tests and for tools that map pixels back to data.

mod annotate;
mod canvas;
mod columns;
mod grid;
mod layers;
mod legend;
mod log_axis;
mod options;
mod panel;
mod place;
mod png;
mod quantity;
mod ranges;
mod single;
mod smooth;
mod ticks;

use crate::analysis::multi_run::{Curve, MultiRun};
use crate::control::StopReason;
use crate::diagnosis::Diagnosis;
use crate::history::History;
use crate::render::font::FontError;

pub use options::{ChartOptions, ImageFormat, Smoothing, XAxis, MAX_SIDE, MIN_HEIGHT, MIN_WIDTH};
pub use single::PredictionSlices;

/// Colours the charts use, as `(red, green, blue)`; public so pixel tests and legends elsewhere agree.
pub mod palette {
    /// Training curves.
    pub const TRAIN: (u8, u8, u8) = (31, 119, 180);
    /// Validation curves.
    pub const VALID: (u8, u8, u8) = (255, 127, 14);
    /// The learning rate.
    pub const LR: (u8, u8, u8) = (44, 160, 44);
    /// Extrapolated (predicted) curves.
    pub const PREDICTED: (u8, u8, u8) = (214, 39, 40);
    /// Where training stopped.
    pub const STOP: (u8, u8, u8) = (200, 30, 30);
    /// The best point.
    pub const BEST: (u8, u8, u8) = (148, 103, 189);
    /// Overfitting and generalisation-gap marks.
    pub const OVERFIT: (u8, u8, u8) = (140, 86, 75);
    /// Other episodes (a plateau, underfitting, a learning-rate problem).
    pub const EPISODE: (u8, u8, u8) = (110, 110, 110);
    /// Loss and gradient-norm spikes.
    pub const SPIKE: (u8, u8, u8) = (227, 119, 194);
    /// NaN and infinite values.
    pub const NON_FINITE: (u8, u8, u8) = (220, 0, 0);
    /// Text, axes and tick labels.
    pub const TEXT: (u8, u8, u8) = (30, 30, 30);
    /// The background.
    pub const BACKGROUND: (u8, u8, u8) = (255, 255, 255);

    /// `colour` blended with white: `amount` 0 is white, 1 the colour itself (clamped to `[0, 1]`).
    ///
    /// Faint lines and bands use opaque blends rather than transparency, so overlapping strokes do not
    /// darken and a decimated chart stays identical to the full one.
    pub fn faint(colour: (u8, u8, u8), amount: f64) -> (u8, u8, u8) {
        let a = if amount.is_nan() {
            0.0
        } else {
            amount.clamp(0.0, 1.0)
        };
        let mix = |c: u8| (255.0 - (255.0 - f64::from(c)) * a).round() as u8;
        (mix(colour.0), mix(colour.1), mix(colour.2))
    }

    /// Amount of colour in raw curves drawn under a smoothed one.
    pub const RAW_AMOUNT: f64 = 0.35;
    /// Amount of colour in the shaded span of an episode.
    pub const SPAN_AMOUNT: f64 = 0.14;
    /// Amount of colour in confidence and uncertainty bands.
    pub const BAND_AMOUNT: f64 = 0.25;
}

/// The quantity a metric measures, which names the panel it is drawn on: `loss` for `loss`,
/// `epoch_loss`, `g0/loss` and `eval_g0_loss`; `grad_norm` for `grad_norm`. Qualifying prefixes
/// (`eval_`, `epoch_`, `val_`, ...) and evaluation-set names (`g0_`, `g0/`) are dropped.
///
/// ```
/// use curvewatch::render::charts::quantity_of;
/// assert_eq!(quantity_of("eval_g5_loss"), "loss");
/// assert_eq!(quantity_of("eval"), "eval");
/// ```
pub fn quantity_of(metric: &str) -> &str {
    quantity::quantity(metric)
}

/// The EMA weight the learning-curve grid smooths `values` with by default ([`Smoothing::Auto`]):
/// `None` for a series that is smooth or too short to need a second, smoothed line.
///
/// ```
/// use curvewatch::render::charts::auto_smoothing;
/// let clean: Vec<f64> = (0..500).map(|i| 1.0 / (1.0 + i as f64)).collect();
/// assert_eq!(auto_smoothing(&clean), None);
/// ```
pub fn auto_smoothing(values: &[f64]) -> Option<f64> {
    smooth::auto_weight(values)
}

/// Why a chart could not be drawn.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The image size is outside the accepted range.
    #[error(
        "image size {width}x{height} is outside {MIN_WIDTH}x{MIN_HEIGHT} ..= {MAX_SIDE}x{MAX_SIDE}"
    )]
    InvalidSize {
        /// Width asked for.
        width: u32,
        /// Height asked for.
        height: u32,
    },
    /// The smoothing weight is not in `[0, 1)`.
    #[error("smoothing weight must be in [0, 1), got {weight}")]
    InvalidSmoothing {
        /// The weight given.
        weight: f64,
    },
    /// Two columns that must be parallel differ in length.
    #[error("{what}: expected {expected} values, got {got}")]
    LengthMismatch {
        /// Which column, e.g. `multi-run ci_lower`.
        what: &'static str,
        /// Length of the column it must match.
        expected: usize,
        /// Its length.
        got: usize,
    },
    /// The embedded font could not be registered.
    #[error(transparent)]
    Font(#[from] FontError),
    /// plotters failed while drawing (the message is plotters' own).
    #[error("drawing failed: {0}")]
    Draw(String),
}

/// A panel's plot rectangle in the image and the data ranges its axes span.
#[derive(Clone, Debug, PartialEq)]
pub struct PanelFrame {
    /// The panel's caption, e.g. `loss` or `learning rate`.
    pub caption: String,
    /// Plot rectangle in pixels: `(left, top, right, bottom)`, right and bottom exclusive.
    pub plot: (i32, i32, i32, i32),
    /// The x axis range `(start, end)` in data units.
    pub x_range: (f64, f64),
    /// The y axis range `(start, end)` in data units.
    pub y_range: (f64, f64),
    /// Whether the y axis is logarithmic.
    pub log_y: bool,
}

impl PanelFrame {
    /// The pixel `(column, row)` where `(x, y)` lands, to within a pixel of what plotters draws; `None`
    /// for a point outside the ranges or not placeable (`y <= 0` on a log axis).
    pub fn to_pixel(&self, x: f64, y: f64) -> Option<(i32, i32)> {
        let (x0, x1) = self.x_range;
        let (mut y0, mut y1, mut yv) = (self.y_range.0, self.y_range.1, y);
        if self.log_y {
            if y <= 0.0 {
                return None;
            }
            (y0, y1, yv) = (y0.ln(), y1.ln(), y.ln());
        }
        let fx = (x - x0) / (x1 - x0);
        let fy = (yv - y0) / (y1 - y0);
        if !(0.0..=1.0).contains(&fx) || !(0.0..=1.0).contains(&fy) {
            return None;
        }
        let (l, t, r, b) = self.plot;
        let col = l + (fx * f64::from(r - 1 - l)).round() as i32;
        let row = b - 1 - (fy * f64::from(b - 1 - t)).round() as i32;
        Some((col, row))
    }
}

/// A rendered chart as raw pixels: `width * height * 3` bytes of RGB, rows top to bottom, plus where
/// each panel's plot lies.
#[derive(Clone, Debug, PartialEq)]
pub struct RgbImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The pixels, 3 bytes each.
    pub pixels: Vec<u8>,
    /// Every panel drawn, in drawing order (metric panels row by row, then the learning-rate panel).
    pub panels: Vec<PanelFrame>,
}

impl RgbImage {
    /// The colour at `(x, y)`, or `None` outside the image.
    pub fn pixel(&self, x: i32, y: i32) -> Option<(u8, u8, u8)> {
        if x < 0 || y < 0 || x as u32 >= self.width || y as u32 >= self.height {
            return None;
        }
        let i = (y as usize * self.width as usize + x as usize) * 3;
        Some((self.pixels[i], self.pixels[i + 1], self.pixels[i + 2]))
    }

    /// The image encoded as PNG.
    pub fn to_png(&self) -> Vec<u8> {
        png::encode_rgb(self.width, self.height, &self.pixels)
    }
}

/// The learning-curve grid of `history` as PNG or SVG bytes.
///
/// One panel per quantity ([`quantity_of`]: `loss`, `epoch_loss`, `valid/g0/loss` and
/// `eval_g5_loss` share the `loss` panel; loss first, then registration order; at most six panels, the
/// rest named above the grid), each series under its own name in the legend (`train loss`,
/// `valid g0/loss`): training in [`palette::TRAIN`], the first validation series in
/// [`palette::VALID`]. Noisy series are drawn faint under their spacing-aware debiased EMA (see
/// [`Smoothing`]); loss panels may be zoomed on where the run spends its time (see
/// [`ChartOptions::with_auto_axes`]); a varying `train/lr` is a strip under the loss panel, a constant
/// one a note in its caption. Empty series are skipped; an empty history gives a chart that says so.
///
/// Annotations: where training stopped (`stop`, or an `EarlyStop` diagnosis) as a dashed line
/// labelled `stopped: <rule>`; the best point (evidence `best_step`, else the minimum of `valid/loss`);
/// every diagnosis with an extent (its [`Episode`](crate::Episode), or evidence `onset_step`) as a
/// shaded span with one label; isolated spikes and non-finite values as markers. Labels are placed
/// without overlapping each other or the legend; those with no room are counted in a `+N more` note.
///
/// Errors for an invalid size or smoothing weight, and when plotters fails.
///
/// ```
/// use curvewatch::render::charts::{learning_curves, ChartOptions, ImageFormat};
/// use curvewatch::{History, Split};
///
/// let mut h = History::new();
/// let loss = h.key(Split::Train, "loss");
/// for step in 1..=100u64 {
///     h.record(loss, step, step as f64 / 50.0, 1.0 / step as f64);
/// }
/// let opts = ChartOptions::new().with_size(600, 400).with_title("demo");
/// let png = learning_curves(&h, &[], None, &opts, ImageFormat::Png).unwrap();
/// assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
/// let svg = learning_curves(&h, &[], None, &opts, ImageFormat::Svg).unwrap();
/// assert!(String::from_utf8(svg).unwrap().contains("demo"));
/// ```
pub fn learning_curves(
    history: &History,
    diagnoses: &[Diagnosis],
    stop: Option<&StopReason>,
    opts: &ChartOptions,
    format: ImageFormat,
) -> Result<Vec<u8>, RenderError> {
    let layout = grid::layout(history, diagnoses, stop, opts)?;
    canvas::encode(&layout, opts, format)
}

/// [`learning_curves`] as raw RGB: `(pixels, width, height)`, 3 bytes per pixel, rows top to bottom.
pub fn learning_curves_rgb(
    history: &History,
    diagnoses: &[Diagnosis],
    stop: Option<&StopReason>,
    opts: &ChartOptions,
) -> Result<(Vec<u8>, u32, u32), RenderError> {
    let img = learning_curves_image(history, diagnoses, stop, opts)?;
    Ok((img.pixels, img.width, img.height))
}

/// [`learning_curves`] as an [`RgbImage`] with each panel's frame.
pub fn learning_curves_image(
    history: &History,
    diagnoses: &[Diagnosis],
    stop: Option<&StopReason>,
    opts: &ChartOptions,
) -> Result<RgbImage, RenderError> {
    let layout = grid::layout(history, diagnoses, stop, opts)?;
    canvas::image(&layout, opts)
}

/// One curve raw (faint, thin) and smoothed with [`debiased_ema`](crate::analysis::smoothing::debiased_ema)
/// of `weight` (bold), in the training colour, on one panel captioned `name`.
///
/// Errors when the columns differ in length, `weight` is outside `[0, 1)`, or the size is invalid.
///
/// ```
/// use curvewatch::render::charts::{smoothed_curve, ChartOptions, ImageFormat};
/// let steps: Vec<f64> = (0..500).map(f64::from).collect();
/// let noisy: Vec<f64> = steps.iter().map(|s| 1.0 / (1.0 + s / 50.0) + 0.1 * (s * 1.7).sin()).collect();
/// let opts = ChartOptions::new().with_size(500, 300);
/// let svg = smoothed_curve("loss", &steps, &noisy, 0.9, &opts, ImageFormat::Svg).unwrap();
/// assert!(String::from_utf8(svg).unwrap().starts_with("<svg"));
/// ```
pub fn smoothed_curve(
    name: &str,
    steps: &[f64],
    values: &[f64],
    weight: f64,
    opts: &ChartOptions,
    format: ImageFormat,
) -> Result<Vec<u8>, RenderError> {
    let layout = single::smoothed(name, steps, values, weight, opts)?;
    canvas::encode(&layout, opts, format)
}

/// [`smoothed_curve`] as an [`RgbImage`].
pub fn smoothed_curve_image(
    name: &str,
    steps: &[f64],
    values: &[f64],
    weight: f64,
    opts: &ChartOptions,
) -> Result<RgbImage, RenderError> {
    let layout = single::smoothed(name, steps, values, weight, opts)?;
    canvas::image(&layout, opts)
}

/// The mean of several runs (bold) with its confidence band (shaded between `ci_lower` and `ci_upper`,
/// where at least two runs cover a step) and, when `runs` is not empty, each run faint behind it.
///
/// Errors when the columns of `stats` differ in length or the size is invalid.
///
/// ```
/// use curvewatch::analysis::multi_run::{aggregate, Curve, MultiRunOptions};
/// use curvewatch::render::charts::{multi_run_chart, ChartOptions, ImageFormat};
/// let runs: Vec<Curve> = (0..3)
///     .map(|seed| {
///         let steps: Vec<f64> = (1..=50).map(f64::from).collect();
///         let values = steps.iter().map(|s| 1.0 / s + 0.01 * f64::from(seed)).collect();
///         Curve::new(format!("seed {seed}"), steps, values)
///     })
///     .collect();
/// let stats = aggregate(&runs, &MultiRunOptions::new()).unwrap();
/// let opts = ChartOptions::new().with_size(500, 300);
/// let png = multi_run_chart("loss", &stats, &runs, &opts, ImageFormat::Png).unwrap();
/// assert_eq!(&png[1..4], b"PNG");
/// ```
pub fn multi_run_chart(
    name: &str,
    stats: &MultiRun,
    runs: &[Curve],
    opts: &ChartOptions,
    format: ImageFormat,
) -> Result<Vec<u8>, RenderError> {
    let layout = single::multi_run(name, stats, runs, opts)?;
    canvas::encode(&layout, opts, format)
}

/// [`multi_run_chart`] as an [`RgbImage`].
pub fn multi_run_image(
    name: &str,
    stats: &MultiRun,
    runs: &[Curve],
    opts: &ChartOptions,
) -> Result<RgbImage, RenderError> {
    let layout = single::multi_run(name, stats, runs, opts)?;
    canvas::image(&layout, opts)
}

/// An observed curve (solid, training colour), its extrapolation (dashed, [`palette::PREDICTED`]) and
/// the uncertainty band between `lower` and `upper` (shaded).
///
/// Errors when parallel columns differ in length or the size is invalid.
pub fn prediction_chart(
    input: &PredictionSlices<'_>,
    opts: &ChartOptions,
    format: ImageFormat,
) -> Result<Vec<u8>, RenderError> {
    let layout = single::prediction(input, opts)?;
    canvas::encode(&layout, opts, format)
}

/// [`prediction_chart`] as an [`RgbImage`].
pub fn prediction_image(
    input: &PredictionSlices<'_>,
    opts: &ChartOptions,
) -> Result<RgbImage, RenderError> {
    let layout = single::prediction(input, opts)?;
    canvas::image(&layout, opts)
}
