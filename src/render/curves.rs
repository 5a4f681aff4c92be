//! [`CurveRenderer`]: the default [`Renderer`] of the plot worker, drawing the learning-curve grid.

use crate::render::charts::{learning_curves, ChartOptions, ImageFormat};
use crate::render::worker::{Frame, RenderedFile, Renderer};

/// Draws the learning-curve grid of a frame (with its diagnoses and stop) as `learning_curves.png`
/// and, optionally, `learning_curves.svg`.
#[derive(Clone, Debug, Default)]
pub struct CurveRenderer {
    options: ChartOptions,
    svg: bool,
}

impl CurveRenderer {
    /// PNG only, default chart options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses these chart options.
    pub fn with_options(mut self, options: ChartOptions) -> Self {
        self.options = options;
        self
    }

    /// Also writes an SVG.
    pub fn with_svg(mut self, on: bool) -> Self {
        self.svg = on;
        self
    }
}

impl Renderer for CurveRenderer {
    fn render(&mut self, frame: &Frame) -> Result<Vec<RenderedFile>, String> {
        let mut formats = vec![ImageFormat::Png];
        if self.svg {
            formats.push(ImageFormat::Svg);
        }
        formats
            .into_iter()
            .map(|format| {
                learning_curves(
                    frame.history(),
                    frame.diagnoses(),
                    frame.stop(),
                    &self.options,
                    format,
                )
                .map(|bytes| {
                    RenderedFile::new(format!("learning_curves.{}", format.extension()), bytes)
                })
                .map_err(|e| e.to_string())
            })
            .collect()
    }
}
