//! Learning-curve extrapolation: fit parametric families by nonlinear least squares, choose one by its
//! error on a held-out tail, and predict ahead with an uncertainty band.
//!
//! - [`Family`]: `linear`, `exp_decay`, `log`, `pow3`, `weibull`, `mmf` (formulas on each variant).
//! - [`fit_family`]: one family, fitted by a small Levenberg–Marquardt solver ([`LmOptions`]) from
//!   data-driven starts (a grid over the nonlinear parameters, each completed by a closed-form fit of
//!   the linear ones, including the rate implied by the observed half-life); rates and exponents are
//!   kept positive by fitting their logarithms.
//! - [`predict`]: fits each candidate family (by default the saturating ones) to the first 75% of the
//!   points, scores each on the last 25%, picks the lowest held-out RMSE (preferring fewer parameters
//!   when nearly tied), refits it on all points, and returns a [`Prediction`]: parameters, the value
//!   and band at a horizon, on a grid, the best predicted point and the plateau point.
//! - Fits weight recent points more (weight `(x/x_max)^recency`, [`PredictOptions::recency`]), since
//!   a forecast starts from the end of the curve.
//!
//! Inputs are slices; non-finite points are skipped, and x must be positive (use `step + 1` for step
//! counters that start at 0, or [`predict_values`]). Failures are [`PredictError`]s, never NaN.
//!
//! ```
//! use curvewatch::analysis::prediction::{predict_values, PredictOptions};
//! // A loss falling as 0.5 + 2·e^(−x/30), observed for 100 steps; predict up to step 300.
//! let loss: Vec<f64> = (1..=100).map(|x| 0.5 + 2.0 * (-(x as f64) / 30.0).exp()).collect();
//! let p = predict_values(&loss, &PredictOptions::default().with_horizon(300.0)).unwrap();
//! assert_eq!(p.family.name(), "exp_decay");
//! assert!((p.horizon.value - 0.5).abs() < 1e-3);
//! assert!(p.best.x >= 299.0, "a decaying loss is best at the horizon");
//! assert!(p.plateau.x < p.best.x, "but stops improving much well before");
//! ```

mod curve;
mod data;
mod families;
mod linalg;
mod lm;
mod options;
mod outcome;
mod problem;
mod seeds;
mod select;
mod stopping;
#[cfg(test)]
mod testutil;

pub use curve::{fit_family, FittedCurve};
pub use families::Family;
pub use options::{Goal, PredictOptions};
pub use outcome::{Candidate, PredictedPoint, Prediction};
pub use select::{predict, predict_values, MIN_POINTS};
pub use stopping::{LmOptions, Termination};

/// Why a fit or prediction could not be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PredictError {
    /// The x and y slices differ in length.
    #[error("x and y have different lengths ({x_len} and {y_len})")]
    LengthMismatch {
        /// Length of x.
        x_len: usize,
        /// Length of y.
        y_len: usize,
    },
    /// Every point had a non-finite x or y.
    #[error("no finite points: all {total} points have a NaN or infinite x or y")]
    NoFiniteData {
        /// Number of points given.
        total: usize,
    },
    /// Too few finite points.
    #[error("too few finite points: got {got}, need at least {need}")]
    TooFewPoints {
        /// Finite points given.
        got: usize,
        /// Points needed.
        need: usize,
    },
    /// An x was zero or negative.
    #[error(
        "x must be positive (the log and power families use ln x), got x = {x}; pass step + 1"
    )]
    NonPositiveX {
        /// The offending x.
        x: f64,
    },
    /// All x values are equal, so there is no curve to fit.
    #[error("all points have the same x = {x}; a curve needs x values that differ")]
    NoSpread {
        /// The common x.
        x: f64,
    },
    /// An option is out of range.
    #[error("invalid option {name}: {reason}")]
    InvalidOption {
        /// The option's field name.
        name: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// One family could not be fitted.
    #[error("fitting {family} failed: {reason}")]
    FitFailed {
        /// The family.
        family: Family,
        /// What went wrong.
        reason: String,
    },
    /// No family could be fitted and scored.
    #[error("no family could be fitted: {details}")]
    NoFamilyConverged {
        /// Each family's failure.
        details: String,
    },
}
