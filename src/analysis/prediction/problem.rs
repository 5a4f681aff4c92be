//! The least-squares problem of one family on one curve, and the covariance of its solution.

use super::data::Scaled;
use super::families::Family;
use super::linalg::{inverse_psd, mat_mul, Matrix, Vector, MAX_PARAMS};
use super::lm::{LeastSquares, Normal};

/// The least-squares problem of one family on scaled points, in free parameters (logarithms of the
/// positive ones).
pub(crate) struct CurveProblem<'a> {
    pub family: Family,
    pub data: &'a Scaled,
}

impl CurveProblem<'_> {
    pub(crate) fn to_free(&self, t: &Vector) -> Vector {
        let pos = self.family.positive();
        let mut p = *t;
        for i in 0..MAX_PARAMS {
            if pos[i] {
                p[i] = t[i].ln();
            }
        }
        p
    }

    pub(crate) fn to_natural(&self, p: &Vector) -> Vector {
        let pos = self.family.positive();
        let mut t = *p;
        for i in 0..MAX_PARAMS {
            if pos[i] {
                t[i] = p[i].exp();
            }
        }
        t
    }

    /// Covariance of the natural (scaled) parameters for homoscedastic noise of variance `σ²`, fitted
    /// with weights `W`: the sandwich `σ²·A⁻¹·B·A⁻¹` with `A = JᵀWJ`, `B = JᵀW²J` (`σ²·(JᵀJ)⁻¹` when
    /// unweighted), mapped from free to natural parameters (`∂θ/∂p = θ` for the positive ones).
    pub(crate) fn covariance(
        &self,
        normal: &Normal,
        t: &Vector,
        sigma2: f64,
    ) -> Option<Vec<Vec<f64>>> {
        let m = self.family.n_params();
        let pos = self.family.positive();
        if sigma2 == 0.0 {
            return Some(vec![vec![0.0; m]; m]);
        }
        let a_inv = inverse_psd(&normal.jtj, m)?;
        let b = self.weighted_gram(t);
        let core = mat_mul(&mat_mul(&a_inv, &b, m), &a_inv, m);
        let d: Vec<f64> = (0..m).map(|i| if pos[i] { t[i] } else { 1.0 }).collect();
        let cov: Vec<Vec<f64>> = (0..m)
            .map(|i| (0..m).map(|j| sigma2 * d[i] * d[j] * core[i][j]).collect())
            .collect();
        cov.iter().flatten().all(|v| v.is_finite()).then_some(cov)
    }

    /// `JᵀW²J` over the free parameters at natural parameters `t`.
    fn weighted_gram(&self, t: &Vector) -> Matrix {
        let (m, pos) = (self.family.n_params(), self.family.positive());
        let mut b = [[0.0; MAX_PARAMS]; MAX_PARAMS];
        for (u, _, w) in self.data.iter() {
            let mut g = self.family.gradient(t, u);
            for i in 0..m {
                g[i] *= if pos[i] { t[i] * w } else { w };
            }
            for i in 0..m {
                for j in 0..m {
                    b[i][j] += g[i] * g[j];
                }
            }
        }
        b
    }
}

impl LeastSquares for CurveProblem<'_> {
    fn dim(&self) -> usize {
        self.family.n_params()
    }

    fn bounds(&self) -> [(f64, f64); MAX_PARAMS] {
        self.family.free_bounds()
    }

    fn cost(&self, p: &Vector) -> Option<f64> {
        let t = self.to_natural(p);
        let sum: f64 = self
            .data
            .iter()
            .map(|(u, y, w)| w * (y - self.family.value(&t, u)).powi(2))
            .sum();
        let cost = 0.5 * sum;
        cost.is_finite().then_some(cost)
    }

    fn normal(&self, p: &Vector) -> Option<Normal> {
        let (m, pos) = (self.family.n_params(), self.family.positive());
        let t = self.to_natural(p);
        let mut nrm = Normal {
            jtj: [[0.0; MAX_PARAMS]; MAX_PARAMS],
            jtr: [0.0; MAX_PARAMS],
            cost: 0.0,
        };
        for (u, y, w) in self.data.iter() {
            let r = y - self.family.value(&t, u);
            let mut g = self.family.gradient(&t, u);
            for i in 0..m {
                if pos[i] {
                    g[i] *= t[i];
                }
                nrm.jtr[i] += w * g[i] * r;
                for j in 0..=i {
                    nrm.jtj[i][j] += w * g[i] * g[j];
                }
            }
            nrm.cost += 0.5 * w * r * r;
        }
        for i in 0..m {
            for j in 0..i {
                nrm.jtj[j][i] = nrm.jtj[i][j];
            }
        }
        let finite = nrm.cost.is_finite()
            && nrm
                .jtr
                .iter()
                .chain(nrm.jtj.iter().flatten())
                .all(|v| v.is_finite());
        finite.then_some(nrm)
    }
}
