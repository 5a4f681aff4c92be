//! Putting runs logged on different step grids onto one grid: cleaning each run, building the grid, and
//! linear interpolation that never reaches past a run's own first or last finite point.

use super::{Curve, Grid, MultiRunError};

/// One run reduced to what interpolation needs: finite points, ascending by step, one value per step.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Cleaned {
    steps: Vec<f64>,
    values: Vec<f64>,
}

impl Cleaned {
    /// Keeps the points whose step and value are both finite, sorts them by step (stable, so logging
    /// order decides among equal steps) and keeps the last logged value of a repeated step.
    pub(super) fn new(curve: &Curve) -> Self {
        let mut points: Vec<(f64, f64)> = curve
            .steps
            .iter()
            .zip(&curve.values)
            .filter(|(s, v)| s.is_finite() && v.is_finite())
            .map(|(s, v)| (*s, *v))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut steps: Vec<f64> = Vec::with_capacity(points.len());
        let mut values: Vec<f64> = Vec::with_capacity(points.len());
        for (s, v) in points {
            if steps.last() == Some(&s) {
                if let Some(last) = values.last_mut() {
                    *last = v;
                }
            } else {
                steps.push(s);
                values.push(v);
            }
        }
        Cleaned { steps, values }
    }

    /// The first and last finite step, or `None` for a run without a finite point.
    pub(super) fn range(&self) -> Option<(f64, f64)> {
        Some((*self.steps.first()?, *self.steps.last()?))
    }

    /// The run's value at `step`: exact at a logged step, linear between the two neighbouring points,
    /// `None` before the first or after the last finite point (no extrapolation).
    pub(super) fn value_at(&self, step: f64) -> Option<f64> {
        let i = self.steps.partition_point(|s| *s < step);
        let s1 = *self.steps.get(i)?;
        let v1 = self.values[i];
        if s1 == step {
            return Some(v1);
        }
        if i == 0 {
            return None;
        }
        let (s0, v0) = (self.steps[i - 1], self.values[i - 1]);
        Some(v0 + (v1 - v0) * ((step - s0) / (s1 - s0)))
    }
}

/// Builds the ascending, duplicate-free grid that `grid` asks for over the cleaned runs.
pub(super) fn build_grid(grid: &Grid, runs: &[Cleaned]) -> Result<Vec<f64>, MultiRunError> {
    match grid {
        Grid::Union => Ok(sorted_unique(
            runs.iter().flat_map(|r| r.steps.iter().copied()).collect(),
        )),
        Grid::Even(points) => even_grid(points.get(), runs),
        Grid::Explicit(steps) => {
            if let Some((index, value)) = steps.iter().enumerate().find(|(_, s)| !s.is_finite()) {
                return Err(MultiRunError::NonFiniteGridStep {
                    index,
                    value: *value,
                });
            }
            Ok(sorted_unique(steps.clone()))
        }
    }
}

fn sorted_unique(mut steps: Vec<f64>) -> Vec<f64> {
    steps.sort_by(f64::total_cmp);
    steps.dedup();
    steps
}

/// `points` evenly spaced steps from the earliest first step to the latest last step of any run; one
/// point (or a range of zero width) gives the range's start alone; no run with a finite point: empty.
fn even_grid(points: usize, runs: &[Cleaned]) -> Result<Vec<f64>, MultiRunError> {
    let (lo, hi) = runs
        .iter()
        .filter_map(Cleaned::range)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (a, b)| {
            (lo.min(a), hi.max(b))
        });
    if lo > hi {
        return Ok(Vec::new());
    }
    if points < 2 || lo == hi {
        return Ok(vec![lo]);
    }
    let mut grid = Vec::new();
    grid.try_reserve_exact(points)
        .map_err(|_| MultiRunError::GridTooLarge { points })?;
    let last = (points - 1) as f64;
    grid.extend((0..points - 1).map(|i| lo + (hi - lo) * (i as f64 / last)));
    grid.push(hi);
    Ok(grid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cleaned(steps: &[f64], values: &[f64]) -> Cleaned {
        Cleaned::new(&Curve::new("r", steps.to_vec(), values.to_vec()))
    }

    #[test]
    fn value_at_interpolates_and_never_extrapolates() {
        let run = cleaned(&[10.0, 0.0, 20.0], &[5.0, 1.0, 3.0]);
        #[rustfmt::skip]
        let cases: &[(f64, Option<f64>, &str)] = &[
            (-1.0, None, "before the first step: no extrapolation"),
            (0.0, Some(1.0), "exactly the first step"),
            (2.5, Some(2.0), "a quarter of the way from (0,1) to (10,5)"),
            (10.0, Some(5.0), "exactly a logged step (given out of order)"),
            (15.0, Some(4.0), "halfway from (10,5) to (20,3)"),
            (20.0, Some(3.0), "exactly the last step"),
            (20.5, None, "after the last step: no extrapolation"),
        ];
        for (step, want, why) in cases {
            assert_eq!(run.value_at(*step), *want, "{why}");
        }
    }

    /// (steps, values, step asked, value expected, why).
    type CleanCase = (
        &'static [f64],
        &'static [f64],
        f64,
        Option<f64>,
        &'static str,
    );

    #[test]
    fn cleaning_skips_non_finite_and_keeps_last_of_repeated_step() {
        const NAN: f64 = f64::NAN;
        const INF: f64 = f64::INFINITY;
        #[rustfmt::skip]
        let cases: &[CleanCase] = &[
            (&[0., 1., 2.], &[0., NAN, 4.], 1.0, Some(2.0), "bridges a NaN value"),
            (&[0., 1., 2.], &[0., 1., INF], 2.0, None, "a trailing inf ends the range"),
            (&[0., NAN, 2.], &[0., 9., 4.], 1.0, Some(2.0), "a NaN step is dropped"),
            (&[0., 5., 5., 10.], &[0., 1., 2., 3.], 5.0, Some(2.0), "last value at step 5"),
            (&[0., 5., 5., 10.], &[0., 1., 2., 3.], 7.5, Some(2.5), "from the kept value"),
        ];
        for (steps, values, at, want, why) in cases {
            assert_eq!(cleaned(steps, values).value_at(*at), *want, "{why}");
        }
    }

    #[test]
    fn grids() {
        let runs = [
            cleaned(&[0.0, 4.0, 12.0], &[1.0; 3]),
            cleaned(&[2.0, 10.0], &[1.0; 2]),
        ];
        let even = |n| Grid::Even(std::num::NonZeroUsize::new(n).unwrap());
        #[rustfmt::skip]
        let cases: Vec<(Grid, Vec<f64>, &str)> = vec![
            (Grid::Union, vec![0.0, 2.0, 4.0, 10.0, 12.0], "union of all steps"),
            (even(5), vec![0.0, 3.0, 6.0, 9.0, 12.0], "5 points over [0, 12]"),
            (even(1), vec![0.0], "one point: the start of the range"),
            (Grid::Explicit(vec![3.0, 1.0, 3.0]), vec![1.0, 3.0], "sorted, deduplicated"),
        ];
        for (grid, want, why) in cases {
            assert_eq!(build_grid(&grid, &runs).unwrap(), want, "{why}");
        }
        let empty = [cleaned(&[0.0], &[f64::NAN])];
        assert_eq!(build_grid(&even(4), &empty).unwrap(), Vec::<f64>::new());
        let huge = build_grid(&Grid::Even(std::num::NonZeroUsize::MAX), &runs);
        assert!(
            matches!(huge, Err(MultiRunError::GridTooLarge { .. })),
            "no abort"
        );
        let bad = build_grid(&Grid::Explicit(vec![1.0, f64::NAN]), &runs);
        assert!(matches!(
            bad,
            Err(MultiRunError::NonFiniteGridStep { index: 1, .. })
        ));
    }
}
