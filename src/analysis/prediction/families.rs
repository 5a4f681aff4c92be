//! The parametric learning-curve families and their derivatives.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::linalg::{Vector, MAX_PARAMS};

/// A parametric learning-curve family `y = f(x; θ)`.
///
/// Parameters marked "> 0" are kept positive during fitting (they are fitted as logarithms). The
/// log-based families (`log`, `pow3`, `weibull`, `mmf`) need `x > 0`.
///
/// ```
/// use curvewatch::analysis::prediction::Family;
/// // pow3: c − a·x^(−α) with a = 2, α = 0.5, c = 1, at x = 4: 1 − 2/2 = 0.
/// assert_eq!(Family::Pow3.eval(&[2.0, 0.5, 1.0], 4.0), Some(0.0));
/// assert_eq!(Family::ExpDecay.param_names(), &["a", "b", "c"]);
/// assert_eq!(serde_json::to_string(&Family::ExpDecay).unwrap(), "\"exp_decay\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// `a + b·x`.
    Linear,
    /// `a·e^(−b·x) + c`, `b > 0`: decays (or rises, when `a < 0`) towards the level `c`.
    ExpDecay,
    /// `a + b·ln x`.
    Log,
    /// `c − a·x^(−α)`, `α > 0`: a power law approaching the level `c`.
    Pow3,
    /// `a − b·e^(−(c·x)^d)`, `c, d > 0`: a Weibull-shaped curve from `a − b` (at `x = 0`) to `a`.
    Weibull,
    /// `(a·b + c·x^d)/(b + x^d)`, `b, d > 0`: Morgan–Mercer–Flodin, from `a` (at `x = 0`) to `c`.
    Mmf,
}

impl Family {
    /// Every family, simplest (fewest parameters) first.
    pub const ALL: [Family; 6] = [
        Family::Linear,
        Family::Log,
        Family::ExpDecay,
        Family::Pow3,
        Family::Weibull,
        Family::Mmf,
    ];

    /// The families that level off (`exp_decay`, `pow3`, `weibull`, `mmf`): the default candidates of
    /// [`predict`](super::predict), since a loss cannot fall forever and `linear` and `log` extrapolate
    /// without bound.
    pub const SATURATING: [Family; 4] =
        [Family::ExpDecay, Family::Pow3, Family::Weibull, Family::Mmf];

    /// The snake_case name (`linear`, `exp_decay`, `log`, `pow3`, `weibull`, `mmf`), as serialised.
    pub fn name(self) -> &'static str {
        match self {
            Family::Linear => "linear",
            Family::ExpDecay => "exp_decay",
            Family::Log => "log",
            Family::Pow3 => "pow3",
            Family::Weibull => "weibull",
            Family::Mmf => "mmf",
        }
    }

    /// The formula, in the parameter names of [`Family::param_names`].
    pub fn formula(self) -> &'static str {
        match self {
            Family::Linear => "a + b*x",
            Family::ExpDecay => "a*exp(-b*x) + c",
            Family::Log => "a + b*ln(x)",
            Family::Pow3 => "c - a*x^(-alpha)",
            Family::Weibull => "a - b*exp(-(c*x)^d)",
            Family::Mmf => "(a*b + c*x^d)/(b + x^d)",
        }
    }

    /// Parameter names, in the order [`Family::eval`] takes them.
    pub fn param_names(self) -> &'static [&'static str] {
        match self {
            Family::Linear | Family::Log => &["a", "b"],
            Family::ExpDecay => &["a", "b", "c"],
            Family::Pow3 => &["a", "alpha", "c"],
            Family::Weibull | Family::Mmf => &["a", "b", "c", "d"],
        }
    }

    /// Number of parameters.
    pub fn n_params(self) -> usize {
        self.param_names().len()
    }

    /// Whether the family is defined only for `x > 0`.
    pub fn needs_positive_x(self) -> bool {
        !matches!(self, Family::Linear | Family::ExpDecay)
    }

    /// `f(x; params)`; `None` when `params` has the wrong length, `x` is outside the family's domain,
    /// or the value is not finite.
    pub fn eval(self, params: &[f64], x: f64) -> Option<f64> {
        if params.len() != self.n_params()
            || !x.is_finite()
            || (self.needs_positive_x() && x <= 0.0)
        {
            return None;
        }
        let mut t = [0.0; MAX_PARAMS];
        t[..params.len()].copy_from_slice(params);
        let v = self.value(&t, x);
        v.is_finite().then_some(v)
    }

    /// Which parameters must stay positive (they are fitted as logarithms).
    pub(crate) fn positive(self) -> [bool; MAX_PARAMS] {
        match self {
            Family::Linear | Family::Log => [false; 4],
            Family::ExpDecay => [false, true, false, false],
            Family::Pow3 => [false, true, false, false],
            Family::Weibull => [false, false, true, true],
            Family::Mmf => [false, true, false, true],
        }
    }

    /// Bounds on the fitted (free) parameters: logarithms of the positive ones, the others unbounded.
    /// Exponents (`α`, `d`) stay in `[e^-7, e^4] ≈ [0.0009, 55]`, rates and scales in `[e^-40, e^40]`.
    pub(crate) fn free_bounds(self) -> [(f64, f64); MAX_PARAMS] {
        let free = (f64::NEG_INFINITY, f64::INFINITY);
        let (scale, exponent) = ((-40.0, 40.0), (-7.0, 4.0));
        match self {
            Family::Linear | Family::Log => [free; 4],
            Family::ExpDecay => [free, scale, free, free],
            Family::Pow3 => [free, exponent, free, free],
            Family::Weibull => [free, free, scale, exponent],
            Family::Mmf => [free, scale, free, exponent],
        }
    }

    /// `f(u; t)` without domain checks (may be non-finite).
    pub(crate) fn value(self, t: &Vector, u: f64) -> f64 {
        let [a, b, c, d] = *t;
        match self {
            Family::Linear => a + b * u,
            Family::ExpDecay => a * (-b * u).exp() + c,
            Family::Log => a + b * u.ln(),
            Family::Pow3 => c - a * u.powf(-b),
            Family::Weibull => a - b * (-(c * u).powf(d)).exp(),
            Family::Mmf => {
                let (g, _) = mmf_weights(b, u.powf(d));
                c + (a - c) * g
            }
        }
    }

    /// `∂f/∂t` at `u` (entries past [`Family::n_params`] are zero; may be non-finite).
    pub(crate) fn gradient(self, t: &Vector, u: f64) -> Vector {
        let [a, b, c, d] = *t;
        match self {
            Family::Linear => [1.0, u, 0.0, 0.0],
            Family::ExpDecay => {
                let e = (-b * u).exp();
                [e, -a * u * e, 1.0, 0.0]
            }
            Family::Log => [1.0, u.ln(), 0.0, 0.0],
            Family::Pow3 => {
                let p = u.powf(-b);
                [-p, a * p * u.ln(), 1.0, 0.0]
            }
            Family::Weibull => {
                let z = (c * u).powf(d);
                let e = (-z).exp();
                // z·e^(−z) → 0 as z → ∞; written out to avoid ∞·0.
                let ze = if z > 700.0 { 0.0 } else { z * e };
                [1.0, -e, b * ze * d / c, b * ze * (c * u).ln()]
            }
            Family::Mmf => {
                let (g, q) = mmf_weights(b, u.powf(d));
                // y = c + (a − c)·g with g = b/(b + w), w = u^d; ∂g/∂b = g·q/b, ∂g/∂d = −g·q·ln u.
                [g, (a - c) * g * q / b, q, -(a - c) * g * q * u.ln()]
            }
        }
    }

    /// Converts parameters fitted on `u = x/s` into parameters in `x`.
    pub(crate) fn unscale(self, t: &Vector, s: f64) -> Vector {
        let [a, b, c, d] = *t;
        match self {
            Family::Linear | Family::ExpDecay => [a, b / s, c, d],
            Family::Log => [a - b * s.ln(), b, c, d],
            Family::Pow3 => [a * s.powf(b), b, c, d],
            Family::Weibull => [a, b, c / s, d],
            Family::Mmf => [a, b * s.powf(d), c, d],
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `(b/(b + w), w/(b + w))` for `b > 0`, `w ≥ 0`, finite even when `w` overflows.
fn mmf_weights(b: f64, w: f64) -> (f64, f64) {
    if w > b {
        let r = b / w;
        (r / (1.0 + r), 1.0 / (1.0 + r))
    } else {
        let r = w / b;
        (1.0 / (1.0 + r), r / (1.0 + r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One example parameter set per family (in the order of `param_names`).
    fn example(f: Family) -> Vector {
        match f {
            Family::Linear => [2.0, -0.3, 0.0, 0.0],
            Family::ExpDecay => [1.5, 2.0, 0.4, 0.0],
            Family::Log => [3.0, -0.5, 0.0, 0.0],
            Family::Pow3 => [0.8, 0.6, 0.3, 0.0],
            Family::Weibull => [0.2, -1.1, 3.0, 0.8],
            Family::Mmf => [2.5, 0.05, 0.3, 1.3],
        }
    }

    #[test]
    fn values_match_the_formulas_by_hand() {
        let e = std::f64::consts::E;
        let cases = [
            (Family::Linear, vec![2.0, -0.5], 3.0, 0.5, "2 − 1.5"),
            (
                Family::ExpDecay,
                vec![2.0, 1.0, 0.5],
                1.0,
                2.0 / e + 0.5,
                "2/e + 0.5",
            ),
            (Family::Log, vec![1.0, 2.0], e, 3.0, "1 + 2·ln e"),
            (
                Family::Pow3,
                vec![2.0, 0.5, 1.0],
                4.0,
                0.0,
                "1 − 2·4^(−1/2)",
            ),
            (
                Family::Weibull,
                vec![1.0, 0.5, 0.5, 2.0],
                2.0,
                1.0 - 0.5 / e,
                "1 − 0.5·e^(−1)",
            ),
            (
                Family::Mmf,
                vec![3.0, 4.0, 1.0, 2.0],
                2.0,
                2.0,
                "(12 + 4)/(4 + 4)",
            ),
        ];
        for (f, p, x, want, why) in cases {
            let got = f.eval(&p, x).unwrap();
            assert!(
                (got - want).abs() < 1e-14,
                "{f}: {why}: got {got}, want {want}"
            );
        }
    }

    #[test]
    fn eval_rejects_bad_input() {
        let cases = [
            (Family::Linear, vec![1.0], 1.0, "too few params"),
            (Family::Log, vec![1.0, 1.0], 0.0, "log at x = 0"),
            (
                Family::Pow3,
                vec![1.0, 1.0, 1.0],
                -1.0,
                "pow3 at negative x",
            ),
            (Family::Linear, vec![1.0, 1.0], f64::NAN, "NaN x"),
            (
                Family::ExpDecay,
                vec![1.0, -1000.0, 0.0],
                1.0,
                "overflowing value",
            ),
        ];
        for (f, p, x, why) in cases {
            assert_eq!(f.eval(&p, x), None, "{why}");
        }
        assert_eq!(
            Family::ExpDecay.eval(&[1.0, 1.0, 0.0], -1.0),
            Some(std::f64::consts::E),
            "exp allows x ≤ 0"
        );
    }

    #[test]
    fn gradients_match_central_differences() {
        for f in Family::ALL {
            let t = example(f);
            for u in [0.05, 0.3, 1.0, 2.5] {
                let g = f.gradient(&t, u);
                for i in 0..f.n_params() {
                    let h = 1e-6 * t[i].abs().max(1e-3);
                    let (mut hi, mut lo) = (t, t);
                    hi[i] += h;
                    lo[i] -= h;
                    let fd = (f.value(&hi, u) - f.value(&lo, u)) / (2.0 * h);
                    let tol = 1e-6 * (1.0 + fd.abs());
                    assert!(
                        (g[i] - fd).abs() < tol,
                        "{f} ∂/∂{} at u={u}: {} vs {fd}",
                        f.param_names()[i],
                        g[i]
                    );
                }
            }
        }
    }

    #[test]
    fn unscaled_parameters_give_the_same_curve() {
        let s = 250.0;
        for f in Family::ALL {
            let t = example(f);
            let orig = f.unscale(&t, s);
            for x in [1.0, 40.0, 250.0, 900.0] {
                let want = f.value(&t, x / s);
                let got = f.eval(&orig[..f.n_params()], x).unwrap();
                assert!(
                    (got - want).abs() < 1e-12 * (1.0 + want.abs()),
                    "{f} at x={x}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn extreme_arguments_stay_finite() {
        // Weibull with a huge (c·u)^d and MMF with an overflowing u^d must not give NaN gradients.
        let g = Family::Weibull.gradient(&[1.0, 1.0, 1e10, 50.0], 2.0);
        assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
        let g = Family::Mmf.gradient(&[1.0, 1.0, 0.0, 50.0], 1e10);
        assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
        assert_eq!(
            Family::Mmf.value(&[1.0, 1.0, 0.25, 50.0], 1e10),
            0.25,
            "MMF tends to c"
        );
    }

    #[test]
    fn names_and_serde_agree() {
        for f in Family::ALL {
            let json = serde_json::to_string(&f).unwrap();
            assert_eq!(json, format!("\"{}\"", f.name()));
            assert_eq!(serde_json::from_str::<Family>(&json).unwrap(), f);
            assert_eq!(f.to_string(), f.name());
        }
    }
}
