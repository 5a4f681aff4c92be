//! Shared test helpers: a deterministic noise source and curves with known parameters.

use super::families::Family;

pub(crate) use crate::testutil::Lcg;

/// Known parameters (original x units) for each family, loss-like shapes over x = 1..=200.
pub(crate) fn truth(f: Family) -> Vec<f64> {
    match f {
        Family::Linear => vec![2.0, -0.004],
        Family::ExpDecay => vec![2.0, 0.03, 0.5],
        Family::Log => vec![3.0, -0.4],
        Family::Pow3 => vec![-2.0, 0.6, 0.3],
        Family::Weibull => vec![0.4, -2.0, 0.02, 1.5],
        Family::Mmf => vec![3.0, 500.0, 0.5, 1.5],
    }
}

pub(crate) fn sample(
    f: Family,
    n: usize,
    noise: Option<&mut Lcg>,
    amp: f64,
) -> (Vec<f64>, Vec<f64>) {
    let xs: Vec<f64> = (1..=n).map(|i| i as f64).collect();
    let p = truth(f);
    let mut ys: Vec<f64> = xs.iter().map(|x| f.eval(&p, *x).unwrap()).collect();
    if let Some(rng) = noise {
        ys.iter_mut().for_each(|y| *y += rng.noise(amp));
    }
    (xs, ys)
}
