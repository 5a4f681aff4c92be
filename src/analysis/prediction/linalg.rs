//! Dense linear algebra for the tiny symmetric systems of the curve fits (at most four unknowns).

/// Most parameters any family has.
pub(crate) const MAX_PARAMS: usize = 4;
/// A parameter vector; entries past the problem's dimension are unused and kept at zero.
pub(crate) type Vector = [f64; MAX_PARAMS];
/// A square matrix; rows and columns past the problem's dimension are unused.
pub(crate) type Matrix = [[f64; MAX_PARAMS]; MAX_PARAMS];

/// Cholesky factor `L` (lower triangular, `A = L·Lᵀ`) of the leading `n×n` block of `a`, or `None` when
/// that block is not numerically positive definite or holds a non-finite entry.
pub(crate) fn cholesky(a: &Matrix, n: usize) -> Option<Matrix> {
    let n = n.min(MAX_PARAMS);
    let mut l = [[0.0; MAX_PARAMS]; MAX_PARAMS];
    for j in 0..n {
        let diag = a[j][j] - (0..j).map(|k| l[j][k] * l[j][k]).sum::<f64>();
        if !(diag > 0.0 && diag.is_finite()) {
            return None;
        }
        let root = diag.sqrt();
        l[j][j] = root;
        for i in j + 1..n {
            let off = a[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            l[i][j] = off / root;
        }
    }
    Some(l)
}

/// Solves `L·Lᵀ·x = b` for the leading `n` entries, given the Cholesky factor `l`.
pub(crate) fn cholesky_solve(l: &Matrix, b: &Vector, n: usize) -> Vector {
    let n = n.min(MAX_PARAMS);
    let mut z = [0.0; MAX_PARAMS];
    for i in 0..n {
        let s = b[i] - (0..i).map(|k| l[i][k] * z[k]).sum::<f64>();
        z[i] = s / l[i][i];
    }
    let mut x = [0.0; MAX_PARAMS];
    for i in (0..n).rev() {
        let s = z[i] - (i + 1..n).map(|k| l[k][i] * x[k]).sum::<f64>();
        x[i] = s / l[i][i];
    }
    x
}

/// Inverse of a symmetric positive semi-definite matrix, regularised when needed: a ridge of
/// `1e-12·max diag` is added, growing tenfold until the factorisation succeeds (at most 8 tries).
/// `None` when every diagonal entry is zero or not finite.
pub(crate) fn inverse_psd(a: &Matrix, n: usize) -> Option<Matrix> {
    let n = n.min(MAX_PARAMS);
    let max_diag = (0..n).map(|i| a[i][i]).fold(0.0, f64::max);
    if !(max_diag > 0.0 && max_diag.is_finite()) {
        return None;
    }
    let mut ridge = 0.0;
    for _ in 0..8 {
        let mut m = *a;
        for (i, row) in m.iter_mut().enumerate().take(n) {
            row[i] += ridge;
        }
        if let Some(l) = cholesky(&m, n) {
            let mut inv = [[0.0; MAX_PARAMS]; MAX_PARAMS];
            for j in 0..n {
                let mut e = [0.0; MAX_PARAMS];
                e[j] = 1.0;
                let col = cholesky_solve(&l, &e, n);
                for i in 0..n {
                    inv[i][j] = col[i];
                }
            }
            let finite = inv.iter().flatten().all(|v| v.is_finite());
            if finite {
                return Some(inv);
            }
        }
        ridge = if ridge == 0.0 {
            1e-12 * max_diag
        } else {
            ridge * 10.0
        };
    }
    None
}

/// Quadratic form `vᵀ·M·v` over the leading `n` entries.
pub(crate) fn quadratic_form(m: &Matrix, v: &Vector, n: usize) -> f64 {
    let n = n.min(MAX_PARAMS);
    (0..n)
        .map(|i| (0..n).map(|j| v[i] * m[i][j] * v[j]).sum::<f64>())
        .sum()
}

/// Product `A·B` of the leading `n×n` blocks.
pub(crate) fn mat_mul(a: &Matrix, b: &Matrix, n: usize) -> Matrix {
    let n = n.min(MAX_PARAMS);
    let mut c = [[0.0; MAX_PARAMS]; MAX_PARAMS];
    for i in 0..n {
        for j in 0..n {
            c[i][j] = (0..n).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    c
}

/// Dot product over the leading `n` entries.
pub(crate) fn dot(a: &Vector, b: &Vector, n: usize) -> f64 {
    a.iter()
        .zip(b)
        .take(n.min(MAX_PARAMS))
        .map(|(x, y)| x * y)
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mat(rows: &[&[f64]]) -> Matrix {
        let mut m = [[0.0; MAX_PARAMS]; MAX_PARAMS];
        for (i, r) in rows.iter().enumerate() {
            for (j, v) in r.iter().enumerate() {
                m[i][j] = *v;
            }
        }
        m
    }

    #[test]
    fn cholesky_of_a_known_matrix() {
        // A = [[4, 2], [2, 3]]: L = [[2, 0], [1, sqrt(2)]] by hand.
        let l = cholesky(&mat(&[&[4.0, 2.0], &[2.0, 3.0]]), 2).unwrap();
        assert_eq!(l[0][0], 2.0);
        assert_eq!(l[1][0], 1.0);
        assert!((l[1][1] - 2f64.sqrt()).abs() < 1e-15);
        // Solve A x = [2, 5]: x = [-0.5, 2] (Cramer: det 8, x0 = (6-10)/8, x1 = (20-4)/8).
        let x = cholesky_solve(&l, &[2.0, 5.0, 0.0, 0.0], 2);
        assert!((x[0] + 0.5).abs() < 1e-14 && (x[1] - 2.0).abs() < 1e-14);
    }

    #[test]
    fn cholesky_rejects_bad_matrices() {
        let cases: [(Matrix, &str); 3] = [
            (
                mat(&[&[1.0, 2.0], &[2.0, 1.0]]),
                "indefinite (eigenvalues 3 and -1)",
            ),
            (mat(&[&[0.0, 0.0], &[0.0, 1.0]]), "singular: zero pivot"),
            (mat(&[&[f64::NAN, 0.0], &[0.0, 1.0]]), "NaN entry"),
        ];
        for (m, why) in cases {
            assert!(cholesky(&m, 2).is_none(), "{why}");
        }
    }

    #[test]
    fn inverse_of_known_matrices() {
        // [[2, 1], [1, 1]]^-1 = [[1, -1], [-1, 2]] (det 1).
        let inv = inverse_psd(&mat(&[&[2.0, 1.0], &[1.0, 1.0]]), 2).unwrap();
        let want = [[1.0, -1.0], [-1.0, 2.0]];
        for i in 0..2 {
            for j in 0..2 {
                assert!((inv[i][j] - want[i][j]).abs() < 1e-12, "entry {i},{j}");
            }
        }
        // A singular matrix gets a ridge: result finite and large, not NaN.
        let inv = inverse_psd(&mat(&[&[1.0, 1.0], &[1.0, 1.0]]), 2).unwrap();
        assert!(inv.iter().flatten().all(|v| v.is_finite()));
        assert!(inv[0][0] > 1e6, "near-singular inverse should be large");
        assert!(
            inverse_psd(&mat(&[&[0.0]]), 1).is_none(),
            "all-zero diagonal"
        );
    }

    #[test]
    fn quadratic_form_and_dot() {
        let m = mat(&[&[1.0, 2.0], &[2.0, 5.0]]);
        // [1, 3] M [1, 3]ᵀ = 1 + 2*(2*3) + 5*9 = 58.
        assert_eq!(quadratic_form(&m, &[1.0, 3.0, 9.0, 9.0], 2), 58.0);
        assert_eq!(dot(&[1.0, 2.0, 3.0, 4.0], &[4.0, 3.0, 2.0, 1.0], 3), 16.0);
        // [[1, 2], [3, 4]]·[[0, 1], [1, 0]] = [[2, 1], [4, 3]].
        let p = mat_mul(
            &mat(&[&[1.0, 2.0], &[3.0, 4.0]]),
            &mat(&[&[0.0, 1.0], &[1.0, 0.0]]),
            2,
        );
        assert_eq!((p[0][0], p[0][1], p[1][0], p[1][1]), (2.0, 1.0, 4.0, 3.0));
    }
}
