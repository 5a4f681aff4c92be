//! [`ChartOptions`]: size, title, x axis, scale, smoothing and panels of a chart.

/// Smallest accepted image width in pixels (below it the panels have no room for their axes).
pub const MIN_WIDTH: u32 = 200;
/// Smallest accepted image height in pixels.
pub const MIN_HEIGHT: u32 = 150;
/// Largest accepted width or height in pixels (an 8192² RGB buffer takes 200 MB).
pub const MAX_SIDE: u32 = 8192;

/// What the x axis of a learning-curve chart counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum XAxis {
    /// The global step of each point (the default).
    #[default]
    Step,
    /// The fractional epoch of each point, as recorded in the history.
    Epoch,
}

impl XAxis {
    /// The axis label: `step` or `epoch`.
    pub fn label(self) -> &'static str {
        match self {
            XAxis::Step => "step",
            XAxis::Epoch => "epoch",
        }
    }
}

/// The output format of a chart function.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    /// A PNG file (8-bit RGB).
    Png,
    /// An SVG document (UTF-8 text; text is set in `sans-serif`, which the viewer resolves).
    Svg,
}

impl ImageFormat {
    /// The usual file extension, without the dot: `png` or `svg`.
    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Png => "png",
            ImageFormat::Svg => "svg",
        }
    }
}

/// How the learning-curve grid smooths its series.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Smoothing {
    /// Raw values only.
    Off,
    /// A weight chosen per series from its noise (the default): a smooth series is drawn plain, a noisy
    /// one raw (faint) under its spacing-aware debiased EMA (bold), heavier the noisier it is.
    #[default]
    Auto,
    /// This EMA weight, in `[0, 1)`, on every series with enough points to be noisy.
    Weight(f64),
}

/// How a chart is drawn. Build with [`ChartOptions::new`] (or `Default`) and the `with_*` methods.
///
/// Defaults: 1200 × 800 pixels, no title, x axis [`XAxis::Step`], y axes chosen for the data (see
/// [`ChartOptions::with_auto_axes`]), smoothing chosen per series ([`Smoothing::Auto`]), the learning
/// rate as a strip under the loss panel when the history has a varying `train/lr`, decimation on.
///
/// ```
/// use curvewatch::render::charts::{ChartOptions, XAxis};
/// let opts = ChartOptions::new()
///     .with_size(800, 500)
///     .with_title("resnet-18, seed 1")
///     .with_x_axis(XAxis::Epoch)
///     .with_log_y(true)
///     .with_smoothing(0.6);
/// assert_eq!(opts.size(), (800, 500));
/// assert_eq!(opts.smoothing(), Some(0.6));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ChartOptions {
    width: u32,
    height: u32,
    title: String,
    x_axis: XAxis,
    log_y: bool,
    smoothing: Smoothing,
    lr_panel: bool,
    decimate: bool,
    auto_axes: bool,
}

impl Default for ChartOptions {
    fn default() -> Self {
        ChartOptions {
            width: 1200,
            height: 800,
            title: String::new(),
            x_axis: XAxis::Step,
            log_y: false,
            smoothing: Smoothing::Auto,
            lr_panel: true,
            decimate: true,
            auto_axes: true,
        }
    }
}

impl ChartOptions {
    /// The defaults listed on the type.
    pub fn new() -> Self {
        Self::default()
    }

    /// Image size in pixels; checked when drawing (at least [`MIN_WIDTH`] × [`MIN_HEIGHT`], at most
    /// [`MAX_SIDE`] on each side).
    pub fn with_size(mut self, width: u32, height: u32) -> Self {
        self.width = width;
        self.height = height;
        self
    }

    /// The title drawn centred in a band across the top. The band is reserved even when the title is
    /// empty, so the panels sit at the same place with and without one.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// Whether the x axis shows steps or epochs.
    pub fn with_x_axis(mut self, x_axis: XAxis) -> Self {
        self.x_axis = x_axis;
        self
    }

    /// Logarithmic y axis on the metric panels. Values `<= 0` cannot be placed on it: they break the
    /// line and are left out (a panel with no positive value falls back to a linear axis).
    pub fn with_log_y(mut self, log_y: bool) -> Self {
        self.log_y = log_y;
        self
    }

    /// Draws each curve raw (faint, thin) and smoothed (bold) with the spacing-aware debiased EMA of
    /// this weight, in `[0, 1)`; checked when drawing.
    pub fn with_smoothing(mut self, weight: f64) -> Self {
        self.smoothing = Smoothing::Weight(weight);
        self
    }

    /// Draws the raw curves only.
    pub fn without_smoothing(mut self) -> Self {
        self.smoothing = Smoothing::Off;
        self
    }

    /// Chooses the smoothing of each series from its noise (the default; see [`Smoothing::Auto`]).
    pub fn with_auto_smoothing(mut self) -> Self {
        self.smoothing = Smoothing::Auto;
        self
    }

    /// Whether axes are chosen for the data (default true): a loss panel spanning more than 10x whose
    /// run after its first 5% lives in a narrow band is zoomed on that band (earlier values are clipped
    /// at the top edge, and the caption says so); off, every panel spans all its data.
    pub fn with_auto_axes(mut self, on: bool) -> Self {
        self.auto_axes = on;
        self
    }

    /// Whether a varying `train/lr` gets a thin strip under the loss panel (default true); a constant one
    /// is a note in the loss panel's caption instead. The `lr` series never gets a metric panel.
    pub fn with_lr_panel(mut self, show: bool) -> Self {
        self.lr_panel = show;
        self
    }

    /// Whether long series are M4-decimated before drawing (default true). Off, every point is drawn:
    /// the picture is the same (see [`crate::render::decimate`]), only slower.
    pub fn with_decimation(mut self, decimate: bool) -> Self {
        self.decimate = decimate;
        self
    }

    /// Image size `(width, height)` in pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.width, self.height)
    }

    /// The title (empty for none).
    pub fn title(&self) -> &str {
        &self.title
    }

    /// The x axis.
    pub fn x_axis(&self) -> XAxis {
        self.x_axis
    }

    /// Whether the metric panels use a logarithmic y axis.
    pub fn log_y(&self) -> bool {
        self.log_y
    }

    /// The fixed smoothing weight, if one was set with [`ChartOptions::with_smoothing`].
    pub fn smoothing(&self) -> Option<f64> {
        match self.smoothing {
            Smoothing::Weight(w) => Some(w),
            _ => None,
        }
    }

    /// How series are smoothed.
    pub fn smoothing_mode(&self) -> Smoothing {
        self.smoothing
    }

    /// Whether axes are chosen for the data.
    pub fn auto_axes(&self) -> bool {
        self.auto_axes
    }

    /// Whether the learning-rate panel is drawn.
    pub fn lr_panel(&self) -> bool {
        self.lr_panel
    }

    /// Whether long series are decimated.
    pub fn decimate(&self) -> bool {
        self.decimate
    }
}
