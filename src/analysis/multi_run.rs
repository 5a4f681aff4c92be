//! Statistics across several runs of the same metric (seeds, repeats), each logged on its own step grid.
//!
//! [`aggregate`] puts the runs on one grid by linear interpolation inside each run's own range (never
//! past its first or last finite point) and, at every grid step, reports how many runs cover it, their
//! mean, sample standard deviation, a Student-t confidence interval for the mean, and min and max.

mod align;
mod stats;

use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

use crate::history::Series;
use align::Cleaned;
use stats::{t_quantiles, PointStats};

/// One run's curve: parallel columns of step and value.
///
/// Steps need not be sorted or evenly spaced; points whose step or value is not finite are skipped, and
/// of several points at the same step the one logged last counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    /// The run's name, used in errors and results.
    pub name: String,
    /// The step of each point.
    #[serde(with = "crate::persist::floats")]
    pub steps: Vec<f64>,
    /// The value of each point.
    #[serde(with = "crate::persist::floats")]
    pub values: Vec<f64>,
}

impl Curve {
    /// A curve named `name` from parallel step and value columns (lengths are checked where it is used).
    pub fn new(name: impl Into<String>, steps: Vec<f64>, values: Vec<f64>) -> Self {
        Curve {
            name: name.into(),
            steps,
            values,
        }
    }

    /// A curve named `name` holding a recorded [`Series`]'s steps and values.
    pub fn from_series(name: impl Into<String>, series: &Series) -> Self {
        let steps = series.steps().iter().map(|s| *s as f64).collect();
        Curve::new(name, steps, series.values().to_vec())
    }
}

/// Which steps the runs are compared at.
#[derive(Clone, Debug, PartialEq)]
pub enum Grid {
    /// Every step at which some run logged a finite value (the default).
    Union,
    /// This many evenly spaced steps from the earliest first step to the latest last step of any run,
    /// both ends included; one point, or runs that all cover a single step, give that start step alone.
    Even(NonZeroUsize),
    /// These steps (sorted and deduplicated; each must be finite).
    Explicit(Vec<f64>),
}

/// How [`aggregate`] works: the grid and the confidence level.
#[derive(Clone, Debug, PartialEq)]
pub struct MultiRunOptions {
    grid: Grid,
    level: f64,
}

impl Default for MultiRunOptions {
    fn default() -> Self {
        MultiRunOptions {
            grid: Grid::Union,
            level: 0.95,
        }
    }
}

impl MultiRunOptions {
    /// The union grid and a 95% confidence level.
    pub fn new() -> Self {
        Self::default()
    }

    /// Compares the runs at the steps of `grid`.
    pub fn with_grid(mut self, grid: Grid) -> Self {
        self.grid = grid;
        self
    }

    /// Sets the two-sided confidence level of the interval for the mean; it must lie strictly inside
    /// (0, 1), which [`aggregate`] checks.
    pub fn with_level(mut self, level: f64) -> Self {
        self.level = level;
        self
    }
}

/// Why runs could not be aggregated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MultiRunError {
    /// The list of runs was empty.
    #[error("no runs to aggregate")]
    NoRuns,
    /// A run's step and value columns differ in length.
    #[error("run `{name}` has {steps} steps but {values} values")]
    LengthMismatch {
        /// The run's name.
        name: String,
        /// Its number of steps.
        steps: usize,
        /// Its number of values.
        values: usize,
    },
    /// The confidence level was not strictly between 0 and 1.
    #[error("confidence level {level} is not strictly between 0 and 1")]
    InvalidLevel {
        /// The level given.
        level: f64,
    },
    /// An even grid asked for more points than memory can hold.
    #[error("an even grid of {points} points does not fit in memory")]
    GridTooLarge {
        /// The number of points asked for.
        points: usize,
    },
    /// An explicit grid held a non-finite step.
    #[error("grid step {index} is {value}, not a finite number")]
    NonFiniteGridStep {
        /// Its position in the grid given.
        index: usize,
        /// Its value.
        value: f64,
    },
}

/// Per-step statistics across runs, as parallel columns (one entry per grid step).
///
/// Where fewer than two runs cover a step, `std`, `ci_lower` and `ci_upper` are NaN (a spread and an
/// interval need two values; with one run the band is undefined, not the point itself); where no run
/// covers it (only possible with [`Grid::Explicit`]), every statistic is NaN and `count` is 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MultiRun {
    /// The runs' names, in the order given.
    pub runs: Vec<String>,
    /// The two-sided confidence level of the interval.
    #[serde(with = "crate::persist::float")]
    pub level: f64,
    /// The grid steps, ascending.
    #[serde(with = "crate::persist::floats")]
    pub steps: Vec<f64>,
    /// How many runs cover each step (the step lies within their first and last finite point).
    pub count: Vec<usize>,
    /// Mean over the covering runs.
    #[serde(with = "crate::persist::floats")]
    pub mean: Vec<f64>,
    /// Sample standard deviation (divisor `count - 1`).
    #[serde(with = "crate::persist::floats")]
    pub std: Vec<f64>,
    /// Lower end of the Student-t interval: `mean - t * std / sqrt(count)`, `t` the
    /// `(1 + level) / 2` quantile with `count - 1` degrees of freedom.
    #[serde(with = "crate::persist::floats")]
    pub ci_lower: Vec<f64>,
    /// Upper end of the Student-t interval: `mean + t * std / sqrt(count)`.
    #[serde(with = "crate::persist::floats")]
    pub ci_upper: Vec<f64>,
    /// Smallest value among the covering runs.
    #[serde(with = "crate::persist::floats")]
    pub min: Vec<f64>,
    /// Largest value among the covering runs.
    #[serde(with = "crate::persist::floats")]
    pub max: Vec<f64>,
}

impl MultiRun {
    /// Number of grid steps.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// True when the grid is empty (no run has a finite point, or an explicit grid was empty).
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    fn push(&mut self, s: PointStats) {
        self.count.push(s.count);
        self.mean.push(s.mean);
        self.std.push(s.std);
        self.ci_lower.push(s.ci_lower);
        self.ci_upper.push(s.ci_upper);
        self.min.push(s.min);
        self.max.push(s.max);
    }
}

/// Aligns `runs` on a common grid and computes, per grid step, the coverage count, mean, sample
/// standard deviation, Student-t confidence interval at `options`' level, min and max.
///
/// Each run is interpolated linearly between its neighbouring finite points and contributes only
/// between its first and last finite point. A run with no finite point covers nothing and is not an
/// error. Errors: no runs, a run whose columns differ in length, a level outside (0, 1), a non-finite
/// step in an explicit grid, an even grid too large to allocate.
///
/// ```
/// use curvewatch::analysis::multi_run::{aggregate, Curve, MultiRunOptions};
///
/// let runs = [
///     Curve::new("seed-1", vec![0.0, 10.0], vec![1.0, 3.0]),
///     Curve::new("seed-2", vec![0.0, 5.0, 10.0], vec![3.0, 4.0, 5.0]),
/// ];
/// let stats = aggregate(&runs, &MultiRunOptions::new()).unwrap();
/// assert_eq!(stats.steps, vec![0.0, 5.0, 10.0]);
/// assert_eq!(stats.mean, vec![2.0, 3.0, 4.0]); // seed-1 is 2.0 at step 5 by interpolation
/// assert_eq!(stats.count, vec![2, 2, 2]);
/// assert!(stats.ci_lower[1] < 3.0 && stats.ci_upper[1] > 3.0);
/// ```
pub fn aggregate(runs: &[Curve], options: &MultiRunOptions) -> Result<MultiRun, MultiRunError> {
    validate(runs, options.level)?;
    let cleaned: Vec<Cleaned> = runs.iter().map(Cleaned::new).collect();
    let steps = align::build_grid(&options.grid, &cleaned)?;
    let quantiles = t_quantiles(runs.len(), options.level);
    let mut out = MultiRun {
        runs: runs.iter().map(|r| r.name.clone()).collect(),
        level: options.level,
        steps: Vec::new(),
        count: Vec::with_capacity(steps.len()),
        mean: Vec::with_capacity(steps.len()),
        std: Vec::with_capacity(steps.len()),
        ci_lower: Vec::with_capacity(steps.len()),
        ci_upper: Vec::with_capacity(steps.len()),
        min: Vec::with_capacity(steps.len()),
        max: Vec::with_capacity(steps.len()),
    };
    let mut column = Vec::with_capacity(runs.len());
    for &step in &steps {
        column.clear();
        column.extend(cleaned.iter().filter_map(|r| r.value_at(step)));
        out.push(PointStats::of(&column, &quantiles));
    }
    out.steps = steps;
    Ok(out)
}

fn validate(runs: &[Curve], level: f64) -> Result<(), MultiRunError> {
    if runs.is_empty() {
        return Err(MultiRunError::NoRuns);
    }
    if let Some(r) = runs.iter().find(|r| r.steps.len() != r.values.len()) {
        return Err(MultiRunError::LengthMismatch {
            name: r.name.clone(),
            steps: r.steps.len(),
            values: r.values.len(),
        });
    }
    if !(level > 0.0 && level < 1.0) {
        return Err(MultiRunError::InvalidLevel { level });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    /// Runs that each log one value at step 0, so the grid is the single step 0.
    fn at_zero(values: &[f64]) -> Vec<Curve> {
        let name = |i| format!("run-{i}");
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Curve::new(name(i), vec![0.0], vec![*v]))
            .collect()
    }

    /// (step, count, mean, min, max, why).
    type GridCase = (f64, usize, f64, f64, f64, &'static str);

    #[test]
    fn different_grids_are_interpolated_with_coverage_counted() {
        // a: 1 -> 3 linearly over [0, 10]; b: zig-zag 0,4,0,4 over [0, 12]; c: starts late at 6.
        let runs = [
            Curve::new("a", vec![0.0, 10.0], vec![1.0, 3.0]),
            Curve::new("b", vec![0.0, 4.0, 8.0, 12.0], vec![0.0, 4.0, 0.0, 4.0]),
            Curve::new("c", vec![6.0, 8.0], vec![10.0, 10.0]),
        ];
        let got = aggregate(&runs, &MultiRunOptions::new()).unwrap();
        // Values by hand from the lines above.
        #[rustfmt::skip]
        let want: &[GridCase] = &[
            (0.0, 2, 0.5, 0.0, 1.0, "a=1, b=0; c not started"),
            (4.0, 2, 2.9, 1.8, 4.0, "a=1.8 interpolated, b=4"),
            (6.0, 3, 14.2 / 3.0, 2.0, 10.0, "a=2.2, b=2, c=10 starts"),
            (8.0, 3, 12.6 / 3.0, 0.0, 10.0, "a=2.6, b=0, c=10 ends"),
            (10.0, 2, 2.5, 2.0, 3.0, "a=3 ends, b=2; c not extrapolated"),
            (12.0, 1, 4.0, 4.0, 4.0, "only b; a not extrapolated past 10"),
        ];
        assert_eq!(got.len(), want.len());
        for (i, (step, count, mean, min, max, why)) in want.iter().enumerate() {
            assert_eq!((got.steps[i], got.count[i]), (*step, *count), "{why}");
            assert!(close(got.mean[i], *mean, 1e-12), "{why}: {}", got.mean[i]);
            assert_eq!((got.min[i], got.max[i]), (*min, *max), "{why}");
        }
        // Step 0: s = sqrt(0.5), t(0.975, 1) = 12.706 -> half-width 12.706 * 0.5 = 6.353.
        assert!(
            close(got.ci_upper[0], 0.5 + 6.353, 0.0005),
            "{}",
            got.ci_upper[0]
        );
        assert!(
            close(got.ci_lower[0], 0.5 - 6.353, 0.0005),
            "{}",
            got.ci_lower[0]
        );
        let single = got.std[5].is_nan() && got.ci_lower[5].is_nan() && got.ci_upper[5].is_nan();
        assert!(single, "one covering run: no spread, no band");
    }

    #[test]
    fn even_and_explicit_grids() {
        let runs = [
            Curve::new("a", vec![0.0, 12.0], vec![0.0, 12.0]),
            Curve::new("b", vec![3.0, 9.0], vec![5.0, 5.0]),
        ];
        let even = MultiRunOptions::new().with_grid(Grid::Even(NonZeroUsize::new(5).unwrap()));
        let got = aggregate(&runs, &even).unwrap();
        assert_eq!(
            got.steps,
            vec![0.0, 3.0, 6.0, 9.0, 12.0],
            "5 points over [0, 12]"
        );
        assert_eq!(got.count, vec![1, 2, 2, 2, 1], "b covers 3..=9 only");
        assert_eq!(
            got.mean,
            vec![0.0, 4.0, 5.5, 7.0, 12.0],
            "a is the identity line"
        );
        let explicit = MultiRunOptions::new().with_grid(Grid::Explicit(vec![13.0, 6.0]));
        let got = aggregate(&runs, &explicit).unwrap();
        assert_eq!(got.steps, vec![6.0, 13.0]);
        assert_eq!(got.count, vec![2, 0], "13 lies past every run");
        assert!(got.mean[1].is_nan() && got.min[1].is_nan() && got.max[1].is_nan());
    }

    #[test]
    fn errors_name_the_problem() {
        let ok = Curve::new("ok", vec![0.0], vec![1.0]);
        let bad = Curve::new("short", vec![0.0, 1.0], vec![1.0]);
        #[rustfmt::skip]
        let cases: Vec<(Vec<Curve>, f64, MultiRunError, &str)> = vec![
            (vec![], 0.95, MultiRunError::NoRuns, "no runs"),
            (vec![ok.clone(), bad], 0.95, mismatch("short", 2, 1), "names the run"),
            (vec![ok.clone()], 1.0, MultiRunError::InvalidLevel { level: 1.0 }, "level 1"),
            (vec![ok.clone()], 0.0, MultiRunError::InvalidLevel { level: 0.0 }, "level 0"),
        ];
        for (runs, level, want, why) in cases {
            let got = aggregate(&runs, &MultiRunOptions::new().with_level(level));
            assert_eq!(got, Err(want), "{why}");
        }
        let nan = aggregate(&[ok], &MultiRunOptions::new().with_level(f64::NAN));
        assert!(
            matches!(nan, Err(MultiRunError::InvalidLevel { .. })),
            "NaN level"
        );
        assert_eq!(
            mismatch("short", 2, 1).to_string(),
            "run `short` has 2 steps but 1 values"
        );
    }

    fn mismatch(name: &str, steps: usize, values: usize) -> MultiRunError {
        MultiRunError::LengthMismatch {
            name: name.into(),
            steps,
            values,
        }
    }

    #[test]
    fn curve_from_a_recorded_series() {
        let mut history = crate::History::new();
        let key = history.key(crate::Split::Train, "loss");
        history.record(key, 10, 0.0, 2.0);
        history.record(key, 20, 0.5, f64::NAN);
        let series = history.series(key).unwrap();
        let curve = Curve::from_series("seed-1", series);
        assert_eq!(
            (curve.name.as_str(), curve.steps.clone()),
            ("seed-1", vec![10.0, 20.0])
        );
        assert!(
            curve.values[0] == 2.0 && curve.values[1].is_nan(),
            "NaN kept as recorded"
        );
    }

    #[test]
    fn no_finite_points_gives_an_empty_result_and_serde_keeps_nan() {
        let runs = [Curve::new(
            "nan",
            vec![0.0, 1.0],
            vec![f64::NAN, f64::INFINITY],
        )];
        let got = aggregate(&runs, &MultiRunOptions::new()).unwrap();
        assert!(got.is_empty(), "nothing to align");
        let one = aggregate(&at_zero(&[2.0]), &MultiRunOptions::new()).unwrap();
        let json = serde_json::to_string(&one).unwrap();
        let back: MultiRun = serde_json::from_str(&json).unwrap();
        assert_eq!((back.count[0], back.mean[0], back.runs.len()), (1, 2.0, 1));
        assert!(
            back.std[0].is_nan() && back.ci_upper[0].is_nan(),
            "NaN survives JSON: {json}"
        );
    }
}
