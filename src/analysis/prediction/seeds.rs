//! Data-driven starting values for the fits.
//!
//! Every family is linear in two of its parameters once the others are fixed, so the seeds come from a
//! grid over the nonlinear ones (rates, exponents, half-points), each completed by a closed-form
//! two-term least-squares fit of the linear pair (a variable-projection start). The grid is in the
//! scaled `u = x / max x ∈ (0, 1]` and includes the rate implied by the observed half-life (where the
//! curve has covered half of its drop from the first points' level to the last points' level). The
//! seeds are ranked by their sum of squared errors; the fit starts Levenberg–Marquardt from the best few.

use super::data::Scaled;
use super::families::Family;
use super::linalg::Vector;

/// Shape exponents tried for Weibull and MMF.
const SHAPES: [f64; 4] = [0.3, 0.6, 1.0, 2.0];

/// A starting point: natural parameters (scaled) and its sum of squared errors.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seed {
    pub params: Vector,
    pub sse: f64,
}

/// Up to `k` seeds for `family` on `(u, y)`, best first; empty when no grid point gives a solvable fit.
pub(crate) fn seeds(family: Family, data: &Scaled, k: usize) -> Vec<Seed> {
    let half = half_life(&data.u, &data.y);
    let mut out: Vec<Seed> = match family {
        Family::Linear => two_term(data, |_| 1.0, |v| v)
            .map(|(a, b, sse)| seed([a, b, 0.0, 0.0], sse))
            .into_iter()
            .collect(),
        Family::Log => two_term(data, |_| 1.0, f64::ln)
            .map(|(a, b, sse)| seed([a, b, 0.0, 0.0], sse))
            .into_iter()
            .collect(),
        Family::ExpDecay => rates(half)
            .filter_map(|b| {
                two_term(data, |v| (-b * v).exp(), |_| 1.0)
                    .map(|(a, c, sse)| seed([a, b, c, 0.0], sse))
            })
            .collect(),
        Family::Pow3 => geometric(0.02, 4.0, 16)
            .filter_map(|al| {
                two_term(data, |v| -v.powf(-al), |_| 1.0)
                    .map(|(a, c, sse)| seed([a, al, c, 0.0], sse))
            })
            .collect(),
        Family::Weibull => grid2(half)
            .filter_map(|(h, d)| {
                let c = 1.0 / h;
                two_term(data, |_| 1.0, |v| -(-(c * v).powf(d)).exp())
                    .map(|(a, b, sse)| seed([a, b, c, d], sse))
            })
            .collect(),
        Family::Mmf => grid2(half)
            .filter_map(|(h, d)| {
                let b = h.powf(d);
                let g = move |v: f64| b / (b + v.powf(d));
                two_term(data, g, move |v| 1.0 - g(v)).map(|(a, c, sse)| seed([a, b, c, d], sse))
            })
            .collect(),
    };
    out.sort_by(|p, q| p.sse.total_cmp(&q.sse));
    out.truncate(k);
    out
}

fn seed(params: Vector, sse: f64) -> Seed {
    Seed { params, sse }
}

/// `n` geometrically spaced values from `lo` to `hi`.
fn geometric(lo: f64, hi: f64, n: usize) -> impl Iterator<Item = f64> {
    let step = (hi / lo).ln() / (n.max(2) - 1) as f64;
    (0..n).map(move |i| lo * (step * i as f64).exp())
}

/// Decay rates: a grid over `[0.05, 2000]` plus `ln 2 / half-life` when known.
fn rates(half: Option<f64>) -> impl Iterator<Item = f64> {
    geometric(0.05, 2000.0, 24).chain(half.map(|h| std::f64::consts::LN_2 / h))
}

/// (half-point in u, shape) pairs: half-points over `[0.0005, 5]` plus the observed one, times shapes.
fn grid2(half: Option<f64>) -> impl Iterator<Item = (f64, f64)> {
    let halves: Vec<f64> = geometric(5e-4, 5.0, 14).chain(half).collect();
    halves
        .into_iter()
        .flat_map(|h| SHAPES.iter().map(move |d| (h, *d)))
}

/// Distance in `u` from the first point to where the curve first covers half of its drop (or rise)
/// from the mean of its first tenth to the mean of its last tenth; `None` for a flat curve.
fn half_life(u: &[f64], y: &[f64]) -> Option<f64> {
    let n = y.len();
    let k = (n / 10).max(1);
    if n < 2 {
        return None;
    }
    let start = y[..k].iter().sum::<f64>() / k as f64;
    let end = y[n - k..].iter().sum::<f64>() / k as f64;
    let mid = 0.5 * (start + end);
    let sign = (start - end).signum();
    if start == end {
        return None;
    }
    let i = y.iter().position(|v| (v - mid) * sign <= 0.0)?;
    let d = u[i] - u[0];
    (d > 0.0).then_some(d)
}

/// Weighted least squares `y ≈ α·g1(u) + β·g2(u)`: `(α, β, weighted sse)`, or `None` when the two basis functions are
/// (numerically) collinear on the data or a value is not finite.
fn two_term(
    data: &Scaled,
    g1: impl Fn(f64) -> f64,
    g2: impl Fn(f64) -> f64,
) -> Option<(f64, f64, f64)> {
    let (mut s11, mut s12, mut s22, mut s1y, mut s2y) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (v, y, w) in data.iter() {
        let (p, q) = (g1(v), g2(v));
        s11 += w * p * p;
        s12 += w * p * q;
        s22 += w * q * q;
        s1y += w * p * y;
        s2y += w * q * y;
    }
    let det = s11 * s22 - s12 * s12;
    if !(det > 1e-10 * s11 * s22 && det.is_finite()) {
        return None;
    }
    let alpha = (s22 * s1y - s12 * s2y) / det;
    let beta = (s11 * s2y - s12 * s1y) / det;
    let sse: f64 = data
        .iter()
        .map(|(v, y, w)| w * (y - alpha * g1(v) - beta * g2(v)).powi(2))
        .sum();
    (sse.is_finite() && alpha.is_finite() && beta.is_finite()).then_some((alpha, beta, sse))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(n: usize) -> Vec<f64> {
        (1..=n).map(|i| i as f64 / n as f64).collect()
    }

    fn scaled(u: &[f64], y: &[f64]) -> Scaled {
        Scaled {
            u: u.to_vec(),
            y: y.to_vec(),
            w: vec![1.0; u.len()],
            s: 1.0,
        }
    }

    #[test]
    fn two_term_solves_an_exact_line() {
        let u = grid(10);
        let y: Vec<f64> = u.iter().map(|v| 1.5 - 2.0 * v).collect();
        let (a, b, sse) = two_term(&scaled(&u, &y), |_| 1.0, |v| v).unwrap();
        assert!((a - 1.5).abs() < 1e-12 && (b + 2.0).abs() < 1e-12 && sse < 1e-24);
        assert!(
            two_term(&scaled(&u, &y), |_| 1.0, |_| 2.0).is_none(),
            "collinear basis"
        );
    }

    #[test]
    fn two_term_honours_weights() {
        // y = 1 + u except an outlier at u = 1 with weight 0: the fit ignores it and is exact.
        let data = Scaled {
            u: vec![0.25, 0.5, 0.75, 1.0],
            y: vec![1.25, 1.5, 1.75, 10.0],
            w: vec![1.0, 1.0, 1.0, 0.0],
            s: 1.0,
        };
        let (a, b, sse) = two_term(&data, |_| 1.0, |v| v).unwrap();
        assert!(
            (a - 1.0).abs() < 1e-12 && (b - 1.0).abs() < 1e-12 && sse < 1e-24,
            "{a} {b} {sse}"
        );
    }

    #[test]
    fn half_life_of_an_exponential() {
        // y = e^(−5u) on a fine grid: level drops from ~e^(-0.25) to ~e^(-4.75); the midpoint ~0.4
        // is crossed near u = −ln(0.4)/5 ≈ 0.18, i.e. ~0.18 after the first point.
        let u = grid(1000);
        let y: Vec<f64> = u.iter().map(|v| (-5.0 * v).exp()).collect();
        let h = half_life(&u, &y).unwrap();
        let start = y[..100].iter().sum::<f64>() / 100.0;
        let end = y[900..].iter().sum::<f64>() / 100.0;
        let want = -(0.5 * (start + end)).ln() / 5.0 - 0.001;
        assert!((h - want).abs() < 2e-3, "{h} vs {want}");
        assert_eq!(half_life(&u, &vec![1.0; 1000]), None, "flat curve");
    }

    #[test]
    fn best_seed_is_close_for_each_family() {
        // Data from a parameter set that lies on (or near) each grid: the best seed's SSE must be
        // far below the data's total sum of squares about its mean.
        let u = grid(60);
        let cases: [(Family, Vector, &str); 6] = [
            (Family::Linear, [1.0, -0.5, 0.0, 0.0], "closed form"),
            (Family::Log, [1.0, -0.5, 0.0, 0.0], "closed form"),
            (
                Family::ExpDecay,
                [2.0, 6.0, 0.3, 0.0],
                "rate between grid nodes",
            ),
            (
                Family::Pow3,
                [0.5, 0.7, 1.0, 0.0],
                "exponent between grid nodes",
            ),
            (
                Family::Weibull,
                [0.3, -2.0, 4.0, 0.8],
                "scale and shape between nodes",
            ),
            (
                Family::Mmf,
                [3.0, 0.01, 0.5, 1.2],
                "half-point between nodes",
            ),
        ];
        for (f, t, why) in cases {
            let y: Vec<f64> = u.iter().map(|v| f.value(&t, *v)).collect();
            let mean = y.iter().sum::<f64>() / y.len() as f64;
            let tss: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
            let s = seeds(f, &scaled(&u, &y), 3);
            assert!(!s.is_empty(), "{f}");
            assert!(
                s[0].sse < 0.05 * tss,
                "{f} ({why}): seed sse {} vs tss {tss}",
                s[0].sse
            );
            assert!(
                s.windows(2).all(|w| w[0].sse <= w[1].sse),
                "{f}: seeds sorted"
            );
            let pos = f.positive();
            assert!(
                (0..4).all(|i| !pos[i] || s[0].params[i] > 0.0),
                "{f}: positive params positive"
            );
        }
    }
}
