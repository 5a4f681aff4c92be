//! Smoothing of a learning curve: TensorBoard's debiased EMA (plain and spacing-aware), a centred
//! Gaussian, and a trailing running mean.
//!
//! Every function here passes non-finite points (NaN, ±inf) through to the same place in its output
//! and leaves them out of every average, so a single NaN neither vanishes from a chart nor poisons the
//! points after it.

mod ema;

use std::num::NonZeroUsize;

pub use ema::Ema;

/// What was wrong with the input of a smoothing function.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SmoothingError {
    /// `steps` and `values` have different lengths.
    #[error("steps and values differ in length: {steps} steps, {values} values")]
    LengthMismatch {
        /// Number of steps given.
        steps: usize,
        /// Number of values given.
        values: usize,
    },
    /// A step is NaN or infinite.
    #[error("step at index {index} is not finite ({step})")]
    NonFiniteStep {
        /// Position of the step.
        index: usize,
        /// The step itself.
        step: f64,
    },
    /// A step is not greater than the one before it.
    #[error("steps must increase strictly: index {index} has step {step} after {previous}")]
    StepsNotIncreasing {
        /// Position of the offending step.
        index: usize,
        /// The step before it.
        previous: f64,
        /// The offending step.
        step: f64,
    },
    /// The unit of step spacing is not a positive finite number.
    #[error("step unit must be positive and finite, got {unit}")]
    InvalidUnit {
        /// The unit given.
        unit: f64,
    },
    /// The Gaussian width is negative, NaN or infinite.
    #[error("Gaussian sigma must be finite and at least 0, got {sigma}")]
    InvalidSigma {
        /// The sigma given.
        sigma: f64,
    },
}

/// TensorBoard's debiased exponential moving average of `values`.
///
/// For each finite point: `last = last*w + (1-w)*y; n += 1; out = last / (1 - w^n)`, starting from
/// `last = 0, n = 0`. Non-finite points are copied to the output unchanged and not counted. The weight
/// is clamped to `[0, 1]` (NaN counts as 0, no smoothing); at `w = 1` the output is the limit of the
/// formula, the running mean of the finite points so far. Same numbers as feeding [`Ema::update`].
///
/// ```
/// use curvewatch::analysis::smoothing::debiased_ema;
///
/// let s = debiased_ema(&[10.0, f64::NAN, 0.0], 0.6);
/// assert_eq!(s[0], 10.0);
/// assert!(s[1].is_nan());
/// assert!((s[2] - 3.75).abs() < 1e-12); // (0.6*4 + 0.4*0) / (1 - 0.6^2)
/// ```
pub fn debiased_ema(values: &[f64], weight: f64) -> Vec<f64> {
    let mut ema = Ema::new(weight);
    values.iter().map(|&y| ema.update(y).unwrap_or(y)).collect()
}

/// Debiased EMA for unevenly spaced steps: the weight is raised to the gap between points.
///
/// A point `g` units after the previous finite point decays the past by `w^g` instead of `w` (see
/// [`Ema::update_with_gap`]). The unit is the median gap between consecutive steps, so on an evenly
/// spaced series of finite values `g = 1` everywhere and the result equals [`debiased_ema`] bit for
/// bit; use [`spaced_ema_with_unit`] to fix the unit yourself (for example to 1 step). Non-finite
/// values are passed through and not counted, but time passes over them: the gap to the next finite
/// point spans them (where [`debiased_ema`] acts as if they were never logged).
///
/// Errors when the lengths differ, or a step is non-finite or not strictly greater than the previous.
///
/// ```
/// use curvewatch::analysis::smoothing::{debiased_ema, spaced_ema};
///
/// let even = spaced_ema(&[0.0, 10.0, 20.0], &[1.0, 2.0, 3.0], 0.5).unwrap();
/// assert_eq!(even, debiased_ema(&[1.0, 2.0, 3.0], 0.5));
/// ```
pub fn spaced_ema(steps: &[f64], values: &[f64], weight: f64) -> Result<Vec<f64>, SmoothingError> {
    check_steps(steps, values)?;
    let mut gaps: Vec<f64> = steps.windows(2).map(|w| w[1] - w[0]).collect();
    let unit = super::trend::median_in_place(&mut gaps).unwrap_or(1.0);
    spaced_ema_with_unit(steps, values, weight, unit)
}

/// [`spaced_ema`] with an explicit unit: a gap of `unit` steps decays the past by exactly `w`.
///
/// Errors as [`spaced_ema`] does, and when `unit` is not positive and finite.
pub fn spaced_ema_with_unit(
    steps: &[f64],
    values: &[f64],
    weight: f64,
    unit: f64,
) -> Result<Vec<f64>, SmoothingError> {
    if !(unit > 0.0 && unit.is_finite()) {
        return Err(SmoothingError::InvalidUnit { unit });
    }
    check_steps(steps, values)?;
    let mut ema = Ema::new(weight);
    let mut previous: Option<f64> = None;
    let out = steps
        .iter()
        .zip(values)
        .map(|(&step, &y)| {
            let gap = previous.map_or(1.0, |p| (step - p) / unit);
            match ema.update_with_gap(y, gap) {
                Some(s) => {
                    previous = Some(step);
                    s
                }
                None => y,
            }
        })
        .collect();
    Ok(out)
}

fn check_steps(steps: &[f64], values: &[f64]) -> Result<(), SmoothingError> {
    if steps.len() != values.len() {
        return Err(SmoothingError::LengthMismatch {
            steps: steps.len(),
            values: values.len(),
        });
    }
    let mut previous = f64::NEG_INFINITY;
    for (index, &step) in steps.iter().enumerate() {
        if !step.is_finite() {
            return Err(SmoothingError::NonFiniteStep { index, step });
        }
        if step <= previous {
            return Err(SmoothingError::StepsNotIncreasing {
                index,
                previous,
                step,
            });
        }
        previous = step;
    }
    Ok(())
}

/// Centred Gaussian smoothing with width `sigma`, measured in points (indices).
///
/// Each finite output is the weighted mean of the finite values within `ceil(3*sigma)` points on each
/// side, weights `exp(-d²/(2σ²))`, renormalised over the points actually used, so the edges and the
/// neighbours of a NaN are not pulled towards zero. Non-finite points are passed through. `sigma = 0`
/// returns the input. Cost O(n·σ).
///
/// Errors when `sigma` is negative, NaN or infinite.
///
/// ```
/// use curvewatch::analysis::smoothing::gaussian;
///
/// let s = gaussian(&[0.0, 0.0, 3.0, 0.0, 0.0], 1.0).unwrap();
/// assert!((s[2] - 1.2078598406827425).abs() < 1e-12); // 3 / (1 + 2e^-1/2 + 2e^-2)
/// ```
pub fn gaussian(values: &[f64], sigma: f64) -> Result<Vec<f64>, SmoothingError> {
    if !(sigma >= 0.0 && sigma.is_finite()) {
        return Err(SmoothingError::InvalidSigma { sigma });
    }
    // `as usize` saturates; no point lies further away than the slice is long.
    let radius = ((3.0 * sigma).ceil() as usize).min(values.len().saturating_sub(1));
    let kernel: Vec<f64> = (0..=radius)
        .map(|d| match d {
            0 => 1.0,
            _ => (-0.5 * (d as f64 / sigma).powi(2)).exp(),
        })
        .collect();
    Ok((0..values.len())
        .map(|i| gaussian_at(values, i, &kernel))
        .collect())
}

fn gaussian_at(values: &[f64], i: usize, kernel: &[f64]) -> f64 {
    let y = values[i];
    if !y.is_finite() {
        return y;
    }
    let radius = kernel.len() - 1;
    let lo = i.saturating_sub(radius);
    let hi = (i + radius).min(values.len() - 1);
    let (mut sum, mut norm) = (0.0, 0.0);
    for (j, &v) in values.iter().enumerate().take(hi + 1).skip(lo) {
        if v.is_finite() {
            let k = kernel[j.abs_diff(i)];
            sum += k * v;
            norm += k;
        }
    }
    // norm >= 1: the centre point is finite and has weight 1.
    sum / norm
}

/// Trailing running mean: each finite output is the mean of the last `window` finite values up to
/// and including that point (fewer at the start).
///
/// Non-finite points are passed through and take no place in any window. O(n) with a running sum,
/// recomputed exactly every `window` points so rounding does not build up over long series.
///
/// ```
/// use std::num::NonZeroUsize;
/// use curvewatch::analysis::smoothing::running_mean;
///
/// let two = NonZeroUsize::new(2).unwrap();
/// assert_eq!(running_mean(&[1.0, 3.0, 5.0, 9.0], two), vec![1.0, 2.0, 4.0, 7.0]);
/// ```
pub fn running_mean(values: &[f64], window: NonZeroUsize) -> Vec<f64> {
    let window = window.get();
    let mut out = Vec::with_capacity(values.len());
    let (mut sum, mut count, mut tail, mut since_exact) = (0.0, 0usize, 0usize, 0usize);
    for (i, &y) in values.iter().enumerate() {
        if !y.is_finite() {
            out.push(y);
            continue;
        }
        sum += y;
        count += 1;
        if count > window {
            while !values[tail].is_finite() {
                tail += 1;
            }
            sum -= values[tail];
            tail += 1;
            count -= 1;
        }
        since_exact += 1;
        if since_exact >= window {
            sum = values[tail..=i].iter().filter(|v| v.is_finite()).sum();
            since_exact = 0;
        }
        out.push(sum / count as f64);
    }
    out
}

#[cfg(test)]
mod tests;
