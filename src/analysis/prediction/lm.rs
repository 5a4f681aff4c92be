//! A small Levenberg–Marquardt solver for least-squares problems with at most four parameters.
//!
//! The problem supplies the cost `C(p) = ½·Σ rᵢ²` (with `rᵢ = yᵢ − f(xᵢ; p)`) and the normal equations
//! `JᵀJ`, `Jᵀr` where `J = ∂f/∂p`. Each iteration solves `(JᵀJ + μ·diag(JᵀJ))·δ = Jᵀr` (Marquardt's
//! scale-invariant damping), clamps `p + δ` into the problem's box bounds, and accepts the step when the
//! cost falls. The damping follows Nielsen's rule: after an accepted step with gain ratio `ρ` (actual
//! over predicted decrease) `μ ← μ·max(1/3, 1 − (2ρ − 1)³)`; after a rejected one `μ ← μ·ν`, `ν ← 2ν`.

use super::linalg::{cholesky, cholesky_solve, dot, quadratic_form, Matrix, Vector, MAX_PARAMS};
use super::stopping::{LmOptions, Termination};

/// Damping above which no downhill step is expected any more.
const MAX_DAMPING: f64 = 1e16;

/// The normal equations of a least-squares problem at one parameter point.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Normal {
    /// `JᵀJ`.
    pub jtj: Matrix,
    /// `Jᵀr`.
    pub jtr: Vector,
    /// `½·Σ r²`.
    pub cost: f64,
}

/// A least-squares problem in at most [`MAX_PARAMS`] parameters.
pub(crate) trait LeastSquares {
    /// Number of parameters (at most [`MAX_PARAMS`]).
    fn dim(&self) -> usize;
    /// Box bounds on each parameter.
    fn bounds(&self) -> [(f64, f64); MAX_PARAMS];
    /// `½·Σ r²`, or `None` when a residual is not finite.
    fn cost(&self, p: &Vector) -> Option<f64>;
    /// Normal equations, or `None` when a residual or derivative is not finite.
    fn normal(&self, p: &Vector) -> Option<Normal>;
}

/// The outcome of [`minimize`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct LmResult {
    /// Best parameters found.
    pub params: Vector,
    /// Normal equations at `params` (their `cost` is the final cost).
    pub normal: Normal,
    /// Iterations used.
    pub iterations: usize,
    /// Why it stopped.
    pub termination: Termination,
}

/// Minimises the problem's cost from `start`; `None` when the start itself is not finite.
pub(crate) fn minimize(
    problem: &impl LeastSquares,
    start: &Vector,
    opts: &LmOptions,
) -> Option<LmResult> {
    let mut state = State::new(problem, start, opts)?;
    for iter in 0..opts.max_iterations {
        if let Some(t) = state.iterate() {
            let used = if matches!(t, Termination::ExactFit | Termination::Gradient) {
                iter
            } else {
                iter + 1
            };
            return Some(state.finish(used, t));
        }
    }
    Some(state.finish(opts.max_iterations, Termination::MaxIterations))
}

/// The solver's state between iterations.
struct State<'a, P> {
    problem: &'a P,
    opts: &'a LmOptions,
    n: usize,
    bounds: [(f64, f64); MAX_PARAMS],
    p: Vector,
    cur: Normal,
    mu: f64,
    nu: f64,
}

impl<'a, P: LeastSquares> State<'a, P> {
    fn new(problem: &'a P, start: &Vector, opts: &'a LmOptions) -> Option<Self> {
        let (n, bounds) = (problem.dim().min(MAX_PARAMS), problem.bounds());
        let p = clamp(start, &bounds, n);
        let cur = problem.normal(&p)?;
        Some(State {
            problem,
            opts,
            n,
            bounds,
            p,
            cur,
            mu: opts.initial_damping,
            nu: 2.0,
        })
    }

    fn finish(&self, iterations: usize, termination: Termination) -> LmResult {
        LmResult {
            params: self.p,
            normal: self.cur,
            iterations,
            termination,
        }
    }

    /// One iteration: `Some(why)` when the solver should stop.
    fn iterate(&mut self) -> Option<Termination> {
        let (n, cur) = (self.n, self.cur);
        if cur.cost == 0.0 {
            return Some(Termination::ExactFit);
        }
        if gradient_cosine(&cur, n) <= self.opts.gradient_tolerance {
            return Some(Termination::Gradient);
        }
        let Some(delta) = damped_step(&cur, self.mu, n) else {
            return self.reject();
        };
        let mut trial = self.p;
        (0..n).for_each(|i| trial[i] += delta[i]);
        let trial = clamp(&trial, &self.bounds, n);
        let mut step = [0.0; MAX_PARAMS];
        (0..n).for_each(|i| step[i] = trial[i] - self.p[i]);
        let max_abs = |v: &Vector| v.iter().take(n).fold(0.0f64, |m, x| m.max(x.abs()));
        let tol = self.opts.step_tolerance;
        if max_abs(&step) <= tol * (max_abs(&self.p) + tol) {
            return Some(Termination::StepSize);
        }
        let predicted = dot(&cur.jtr, &step, n) - 0.5 * quadratic_form(&cur.jtj, &step, n);
        let better = self.problem.cost(&trial).filter(|c| *c < cur.cost);
        match better.and_then(|_| self.problem.normal(&trial)) {
            Some(normal) => self.accept(trial, normal, predicted),
            None => self.reject(),
        }
    }

    /// Takes the trial point; Nielsen's damping update from the gain ratio.
    fn accept(&mut self, trial: Vector, normal: Normal, predicted: f64) -> Option<Termination> {
        let actual = self.cur.cost - normal.cost;
        let rho = if predicted > 0.0 {
            actual / predicted
        } else {
            0.5
        };
        self.mu *= (1.0 - (2.0 * rho - 1.0).powi(3)).max(1.0 / 3.0);
        self.nu = 2.0;
        let relative = actual / self.cur.cost;
        (self.p, self.cur) = (trial, normal);
        (relative <= self.opts.cost_tolerance).then_some(Termination::CostChange)
    }

    /// Keeps the current point and raises the damping.
    fn reject(&mut self) -> Option<Termination> {
        (self.mu, self.nu) = (self.mu * self.nu, self.nu * 2.0);
        (self.mu > MAX_DAMPING).then_some(Termination::DampingLimit)
    }
}

/// Solves `(JᵀJ + μ·D)·δ = Jᵀr` with `D = diag(JᵀJ)` floored at `1e-12·max diag`.
fn damped_step(normal: &Normal, mu: f64, n: usize) -> Option<Vector> {
    let max_diag = (0..n).map(|i| normal.jtj[i][i]).fold(0.0, f64::max);
    let floor = if max_diag > 0.0 {
        1e-12 * max_diag
    } else {
        1e-300
    };
    let mut m = normal.jtj;
    for (i, row) in m.iter_mut().enumerate().take(n) {
        row[i] += mu * row[i].max(floor);
    }
    let l = cholesky(&m, n)?;
    let step = cholesky_solve(&l, &normal.jtr, n);
    step.iter().all(|v| v.is_finite()).then_some(step)
}

/// `max |(Jᵀr)ᵢ| / √((JᵀJ)ᵢᵢ·‖r‖²)`: the largest cosine between the residual and a Jacobian column.
fn gradient_cosine(normal: &Normal, n: usize) -> f64 {
    let r2 = 2.0 * normal.cost;
    (0..n)
        .filter(|&i| normal.jtj[i][i] > 0.0)
        .map(|i| normal.jtr[i].abs() / (normal.jtj[i][i] * r2).sqrt())
        .fold(0.0, f64::max)
}

/// Clamps each of the leading `n` entries into its bounds.
fn clamp(p: &Vector, bounds: &[(f64, f64); MAX_PARAMS], n: usize) -> Vector {
    let mut out = *p;
    for i in 0..n {
        out[i] = out[i].clamp(bounds[i].0, bounds[i].1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Residuals given as closures: `model(p, x) -> (f, ∂f/∂p)`.
    struct Closure<'a> {
        dim: usize,
        xs: &'a [f64],
        ys: &'a [f64],
        bounds: [(f64, f64); MAX_PARAMS],
        model: fn(&Vector, f64) -> (f64, Vector),
    }

    impl LeastSquares for Closure<'_> {
        fn dim(&self) -> usize {
            self.dim
        }
        fn bounds(&self) -> [(f64, f64); MAX_PARAMS] {
            self.bounds
        }
        fn cost(&self, p: &Vector) -> Option<f64> {
            self.normal(p).map(|n| n.cost)
        }
        fn normal(&self, p: &Vector) -> Option<Normal> {
            let mut n = Normal {
                jtj: [[0.0; 4]; 4],
                jtr: [0.0; 4],
                cost: 0.0,
            };
            for (x, y) in self.xs.iter().zip(self.ys) {
                let (f, g) = (self.model)(p, *x);
                let r = y - f;
                n.cost += 0.5 * r * r;
                for i in 0..self.dim {
                    n.jtr[i] += g[i] * r;
                    for j in 0..self.dim {
                        n.jtj[i][j] += g[i] * g[j];
                    }
                }
            }
            n.cost.is_finite().then_some(n)
        }
    }

    const FREE: [(f64, f64); 4] = [(f64::NEG_INFINITY, f64::INFINITY); 4];

    fn exp_model(p: &Vector, x: f64) -> (f64, Vector) {
        let e = (-p[1] * x).exp();
        (p[0] * e + p[2], [e, -p[0] * x * e, 1.0, 0.0])
    }

    #[test]
    fn recovers_exponential_parameters_from_a_poor_start() {
        // y = 3·e^(−0.7x) + 0.5 sampled at x = 0, 0.25, ..., 9.75.
        let xs: Vec<f64> = (0..40).map(|i| i as f64 * 0.25).collect();
        let ys: Vec<f64> = xs.iter().map(|x| 3.0 * (-0.7 * x).exp() + 0.5).collect();
        let pr = Closure {
            dim: 3,
            xs: &xs,
            ys: &ys,
            bounds: FREE,
            model: exp_model,
        };
        let r = minimize(&pr, &[1.0, 0.1, 0.0, 0.0], &LmOptions::default()).unwrap();
        assert!(r.termination.converged(), "{:?}", r.termination);
        for (got, want) in r.params.iter().zip([3.0, 0.7, 0.5]) {
            assert!((got - want).abs() < 1e-7, "param {got} vs {want}");
        }
        assert!(r.normal.cost < 1e-18);
    }

    #[test]
    fn linear_problem_solves_in_a_few_iterations() {
        // y = 2 + 0.5x exactly: a linear least-squares problem, LM must land on it almost at once.
        fn line(p: &Vector, x: f64) -> (f64, Vector) {
            (p[0] + p[1] * x, [1.0, x, 0.0, 0.0])
        }
        let xs = [1.0, 2.0, 3.0, 4.0, 5.0];
        let ys = xs.map(|x| 2.0 + 0.5 * x);
        let pr = Closure {
            dim: 2,
            xs: &xs,
            ys: &ys,
            bounds: FREE,
            model: line,
        };
        let r = minimize(&pr, &[0.0; 4], &LmOptions::default()).unwrap();
        assert!((r.params[0] - 2.0).abs() < 1e-9 && (r.params[1] - 0.5).abs() < 1e-9);
        assert!(r.iterations <= 10, "took {} iterations", r.iterations);
    }

    #[test]
    fn least_squares_optimum_of_inconsistent_data() {
        // Fitting a constant p0 to 1, 2, 6 gives the mean 3 (cost ½·(4+1+9) = 7).
        fn constant(p: &Vector, _x: f64) -> (f64, Vector) {
            (p[0], [1.0, 0.0, 0.0, 0.0])
        }
        let xs = [0.0, 1.0, 2.0];
        let ys = [1.0, 2.0, 6.0];
        let pr = Closure {
            dim: 1,
            xs: &xs,
            ys: &ys,
            bounds: FREE,
            model: constant,
        };
        let r = minimize(&pr, &[-10.0, 0.0, 0.0, 0.0], &LmOptions::default()).unwrap();
        assert!((r.params[0] - 3.0).abs() < 1e-8);
        assert!((r.normal.cost - 7.0).abs() < 1e-10);
    }

    #[test]
    fn bounds_are_respected() {
        // Best constant is 3, but the parameter is boxed into [0, 2]: the fit stops at the bound.
        fn constant(p: &Vector, _x: f64) -> (f64, Vector) {
            (p[0], [1.0, 0.0, 0.0, 0.0])
        }
        let xs = [0.0, 1.0, 2.0];
        let ys = [1.0, 2.0, 6.0];
        let mut bounds = FREE;
        bounds[0] = (0.0, 2.0);
        let pr = Closure {
            dim: 1,
            xs: &xs,
            ys: &ys,
            bounds,
            model: constant,
        };
        let r = minimize(&pr, &[0.5, 0.0, 0.0, 0.0], &LmOptions::default()).unwrap();
        assert_eq!(r.params[0], 2.0);
    }

    #[test]
    fn iteration_cap_and_non_finite_start() {
        let xs: Vec<f64> = (0..40).map(|i| i as f64 * 0.25).collect();
        let ys: Vec<f64> = xs.iter().map(|x| 3.0 * (-0.7 * x).exp() + 0.5).collect();
        let pr = Closure {
            dim: 3,
            xs: &xs,
            ys: &ys,
            bounds: FREE,
            model: exp_model,
        };
        let one = LmOptions::default().with_max_iterations(1);
        let r = minimize(&pr, &[1.0, 0.1, 0.0, 0.0], &one).unwrap();
        assert_eq!(
            r.termination,
            Termination::MaxIterations,
            "one iteration cannot converge here"
        );
        assert!(!r.termination.converged());
        assert!(
            minimize(&pr, &[f64::NAN, 0.1, 0.0, 0.0], &LmOptions::default()).is_none(),
            "NaN start"
        );
    }
}
