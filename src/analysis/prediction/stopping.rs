//! Stopping rules of the Levenberg–Marquardt solver: [`LmOptions`] and [`Termination`].

use serde::{Deserialize, Serialize};

/// Stopping rules of the Levenberg–Marquardt fits.
///
/// ```
/// use curvewatch::analysis::prediction::LmOptions;
/// let lm = LmOptions::default().with_max_iterations(50);
/// assert_eq!(lm.max_iterations, 50);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct LmOptions {
    /// Iteration cap (each iteration solves one damped system). Default 200.
    pub max_iterations: usize,
    /// Stop when an accepted step lowers the cost by less than this fraction of it. Default 1e-10.
    pub cost_tolerance: f64,
    /// Stop when the step is shorter than `step_tolerance·(‖p‖∞ + step_tolerance)`. Default 1e-10.
    pub step_tolerance: f64,
    /// Stop when every column of `J` is nearly orthogonal to the residual: `max |(Jᵀr)ᵢ| /
    /// √((JᵀJ)ᵢᵢ·‖r‖²)` below this. Default 1e-10.
    pub gradient_tolerance: f64,
    /// Starting damping `μ` (relative to `diag(JᵀJ)`). Default 1e-3.
    pub initial_damping: f64,
}

impl Default for LmOptions {
    fn default() -> Self {
        Self {
            max_iterations: 200,
            cost_tolerance: 1e-10,
            step_tolerance: 1e-10,
            gradient_tolerance: 1e-10,
            initial_damping: 1e-3,
        }
    }
}

impl LmOptions {
    /// Sets the iteration cap.
    pub fn with_max_iterations(mut self, n: usize) -> Self {
        self.max_iterations = n;
        self
    }

    /// Sets the relative cost-change tolerance.
    pub fn with_cost_tolerance(mut self, tol: f64) -> Self {
        self.cost_tolerance = tol;
        self
    }

    /// `Some(reason)` when an option is out of range (non-finite, negative, or a zero iteration cap).
    pub(crate) fn invalid(&self) -> Option<&'static str> {
        let tols = [
            self.cost_tolerance,
            self.step_tolerance,
            self.gradient_tolerance,
        ];
        if self.max_iterations == 0 {
            Some("lm.max_iterations must be at least 1")
        } else if tols.iter().any(|t| !(t.is_finite() && *t >= 0.0)) {
            Some("lm tolerances must be finite and non-negative")
        } else if !(self.initial_damping.is_finite() && self.initial_damping > 0.0) {
            Some("lm.initial_damping must be finite and positive")
        } else {
            None
        }
    }
}

/// Why a Levenberg–Marquardt fit stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Termination {
    /// An accepted step lowered the cost by less than `cost_tolerance` (relative).
    CostChange,
    /// The step became shorter than `step_tolerance` (relative to the parameters).
    StepSize,
    /// The residual became orthogonal to the Jacobian's columns (`gradient_tolerance`).
    Gradient,
    /// The residuals are exactly zero.
    ExactFit,
    /// No downhill step was found even with very large damping: a minimum to machine precision.
    DampingLimit,
    /// The iteration cap was reached first (the best point found is still returned).
    MaxIterations,
}

impl Termination {
    /// Whether the fit met a convergence test (everything but [`Termination::MaxIterations`]).
    pub fn converged(self) -> bool {
        self != Termination::MaxIterations
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_options_are_named() {
        let cases = [
            (
                LmOptions::default().with_max_iterations(0),
                "zero iteration cap",
            ),
            (
                LmOptions::default().with_cost_tolerance(f64::NAN),
                "NaN tolerance",
            ),
            (
                LmOptions::default().with_cost_tolerance(-1.0),
                "negative tolerance",
            ),
        ];
        for (o, why) in cases {
            assert!(o.invalid().is_some(), "{why}");
        }
        assert!(LmOptions::default().invalid().is_none());
    }
}
