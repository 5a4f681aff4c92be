//! Trends of a learning curve: least-squares lines over slices, the scale-free measures the
//! learning-rate diagnosis reads (relative slope, oscillation, sign changes), and the O(1) rolling
//! windows the live callbacks keep ([`RollingStats`], [`RollingSlope`]).
//!
//! The slice functions skip non-finite points (a NaN or inf in `xs` or `ys` drops that pair) and never
//! allocate.

mod ring;
mod rolling_slope;
mod rolling_stats;

use serde::{Deserialize, Serialize};

pub use rolling_slope::RollingSlope;
pub use rolling_stats::RollingStats;

/// The largest window a [`RollingStats`] or [`RollingSlope`] accepts: 2^24 values (128 MiB).
pub const MAX_WINDOW: usize = 1 << 24;

/// Below this fraction of the largest |value|, a mean level counts as zero for the scale-free measures.
const LEVEL_EPS: f64 = 1e-12;

/// Why a rolling window could not be built or restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrendError {
    /// The requested window is larger than [`MAX_WINDOW`].
    #[error("window of {requested} values is larger than the maximum of {max}")]
    WindowTooLarge {
        /// The capacity asked for.
        requested: usize,
        /// [`MAX_WINDOW`].
        max: usize,
    },
    /// The window's buffer could not be allocated.
    #[error("out of memory allocating a window of {capacity} values")]
    OutOfMemory {
        /// The capacity asked for.
        capacity: usize,
    },
    /// A saved window is inconsistent (deserialisation).
    #[error("invalid saved window: {message}")]
    InvalidState {
        /// What is inconsistent.
        message: &'static str,
    },
}

/// A least-squares line `y = intercept + slope·x` and how well it fits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LinearFit {
    /// Change of y per unit of x.
    pub slope: f64,
    /// y at x = 0.
    pub intercept: f64,
    /// Standard deviation of the residuals with n - 2 degrees of freedom; 0 for exactly 2 points.
    pub residual_std: f64,
    /// Coefficient of determination `1 - SSE/SST`; 1 when y is constant (the line fits exactly).
    pub r2: f64,
}

impl LinearFit {
    /// The line's value at `x`.
    pub fn predict(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// Least-squares line through `(xs[i], ys[i])`, skipping pairs where either is non-finite.
///
/// `None` when fewer than 2 finite pairs remain, when all x are equal, when the lengths differ, or
/// when the sums overflow (values beyond about ±1e150).
///
/// ```
/// use curvewatch::analysis::trend::fit_line;
///
/// let fit = fit_line(&[0.0, 1.0, 2.0, 3.0], &[1.0, 2.0, 2.0, 4.0]).unwrap();
/// assert!((fit.slope - 0.9).abs() < 1e-12 && (fit.intercept - 0.9).abs() < 1e-12);
/// assert!((fit.r2 - (1.0 - 0.7 / 4.75)).abs() < 1e-12);
/// ```
pub fn fit_line(xs: &[f64], ys: &[f64]) -> Option<LinearFit> {
    if xs.len() != ys.len() {
        return None;
    }
    fit_pairs(xs.iter().copied().zip(ys.iter().copied()))
}

/// The median of finite numbers (sorted in place); `None` when empty.
pub(crate) fn median_in_place(xs: &mut [f64]) -> Option<f64> {
    xs.sort_unstable_by(f64::total_cmp);
    let n = xs.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(xs[n / 2]),
        _ => Some(0.5 * (xs[n / 2 - 1] + xs[n / 2])),
    }
}

/// Least-squares slope of `ys` against `xs`; `None` as for [`fit_line`].
pub fn slope_xy(xs: &[f64], ys: &[f64]) -> Option<f64> {
    fit_line(xs, ys).map(|f| f.slope)
}

/// Least-squares slope of `ys` against its index (x = 0, 1, ...), per index.
///
/// Non-finite points are skipped but keep their index, so a gap does not bend the slope. `None` with
/// fewer than 2 finite points.
///
/// ```
/// use curvewatch::analysis::trend::slope;
///
/// assert_eq!(slope(&[1.0, f64::NAN, 5.0, 7.0]), Some(2.0));
/// ```
pub fn slope(ys: &[f64]) -> Option<f64> {
    fit_index(ys).map(|f| f.slope)
}

fn fit_index(ys: &[f64]) -> Option<LinearFit> {
    fit_pairs(ys.iter().enumerate().map(|(i, &y)| (i as f64, y)))
}

/// Three passes over the finite pairs: means, centred sums, residuals.
fn fit_pairs<I>(pairs: I) -> Option<LinearFit>
where
    I: Iterator<Item = (f64, f64)> + Clone,
{
    let finite = pairs.filter(|(x, y)| x.is_finite() && y.is_finite());
    let (n, sx, sy) = finite
        .clone()
        .fold((0usize, 0.0, 0.0), |(n, sx, sy), (x, y)| {
            (n + 1, sx + x, sy + y)
        });
    if n < 2 {
        return None;
    }
    let nf = n as f64;
    let (mx, my) = (sx / nf, sy / nf);
    let (sxx, sxy, syy) = finite.clone().fold((0.0, 0.0, 0.0), |(a, b, c), (x, y)| {
        let (dx, dy) = (x - mx, y - my);
        (a + dx * dx, b + dx * dy, c + dy * dy)
    });
    if !(sxx > 0.0 && sxx.is_finite() && sxy.is_finite()) {
        return None;
    }
    let slope = sxy / sxx;
    let sse: f64 = finite
        .map(|(x, y)| (y - my - slope * (x - mx)).powi(2))
        .sum();
    Some(LinearFit {
        slope,
        intercept: my - slope * mx,
        residual_std: if n > 2 {
            (sse / (nf - 2.0)).sqrt()
        } else {
            0.0
        },
        r2: if syy > 0.0 { 1.0 - sse / syy } else { 1.0 },
    })
}

/// The mean of the finite values and whether it is clearly away from zero.
fn level(ys: &[f64]) -> Option<f64> {
    let (n, sum, peak) = ys
        .iter()
        .filter(|y| y.is_finite())
        .fold((0usize, 0.0, 0.0f64), |(n, s, p), &y| {
            (n + 1, s + y, p.max(y.abs()))
        });
    let mean = sum / n as f64;
    (n > 0 && mean.is_finite() && mean.abs() > LEVEL_EPS * peak).then_some(mean.abs())
}

/// Slope per index relative to the mean level: `slope(ys) / |mean(ys)|`.
///
/// Scale-free: -0.001 means the curve falls by 0.1% of its level per step, whether the loss is 0.01
/// or 300. `None` with fewer than 2 finite points, or when the mean is ~0 (within 1e-12 of the
/// largest |value|), where a relative rate means nothing.
///
/// ```
/// use curvewatch::analysis::trend::relative_slope;
///
/// assert_eq!(relative_slope(&[12.0, 10.0, 8.0]), Some(-0.2)); // -2 per step on a level of 10
/// ```
pub fn relative_slope(ys: &[f64]) -> Option<f64> {
    Some(slope(ys)? / level(ys)?)
}

/// Residual standard deviation around the linear trend, relative to the mean level.
///
/// Measures how much a curve wobbles, not how fast it moves: a straight falling line gives 0, and a
/// steady trend does not count as oscillation. `None` as for [`relative_slope`]; 0 for exactly 2
/// points.
///
/// ```
/// use curvewatch::analysis::trend::oscillation;
///
/// // Residuals around the line 0.9 + 0.9x are 0.1, 0.2, -0.7, 0.4: std sqrt(0.7/2), level 2.25.
/// let o = oscillation(&[1.0, 2.0, 2.0, 4.0]).unwrap();
/// assert!((o - 0.35f64.sqrt() / 2.25).abs() < 1e-12);
/// ```
pub fn oscillation(ys: &[f64]) -> Option<f64> {
    Some(fit_index(ys)?.residual_std / level(ys)?)
}

/// Fraction of consecutive differences that change sign, in `[0, 1]`.
///
/// Differences are taken between consecutive finite points; zero differences are skipped (a flat
/// stretch has no direction). A monotone curve gives 0, a zigzag 1, and independent noise about 2/3.
/// `None` when fewer than 2 non-zero differences exist.
///
/// ```
/// use curvewatch::analysis::trend::sign_changes;
///
/// assert_eq!(sign_changes(&[1.0, 3.0, 2.0, 4.0, 3.0]), Some(1.0));
/// assert_eq!(sign_changes(&[5.0, 4.0, 4.0, 1.0]), Some(0.0));
/// ```
pub fn sign_changes(ys: &[f64]) -> Option<f64> {
    let mut previous: Option<f64> = None;
    let mut last_up: Option<bool> = None;
    let (mut pairs, mut changes) = (0usize, 0usize);
    for &y in ys.iter().filter(|y| y.is_finite()) {
        if let Some(p) = previous.replace(y) {
            if y == p {
                continue;
            }
            let up = y > p;
            if let Some(was_up) = last_up.replace(up) {
                pairs += 1;
                changes += usize::from(up != was_up);
            }
        }
    }
    (pairs > 0).then(|| changes as f64 / pairs as f64)
}

#[cfg(test)]
mod tests;
