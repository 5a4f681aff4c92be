//! [`Rng`]: a small deterministic pseudo-random generator (splitmix64) for the generated runs.

/// A splitmix64 generator with the draws the generated runs need: uniform, ranges, log-uniform,
/// normal (Box–Muller), gamma (Marsaglia–Tsang) and a choice from a slice.
///
/// The same seed always gives the same sequence, on every platform.
///
/// ```
/// use curvewatch::quality::Rng;
/// let (mut a, mut b) = (Rng::new(7), Rng::new(7));
/// assert_eq!(a.next_u64(), b.next_u64());
/// let x = a.range(2.0, 3.0);
/// assert!((2.0..3.0).contains(&x));
/// let lr = a.log_uniform(1e-4, 1e-2);
/// assert!((1e-4..=1e-2).contains(&lr));
/// ```
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
    spare: Option<f64>,
}

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Rng {
            state: seed,
            spare: None,
        }
    }

    /// The next 64 random bits (splitmix64).
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`, with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[lo, hi)` (just `lo` when `hi <= lo`).
    pub fn range(&mut self, lo: f64, hi: f64) -> f64 {
        if hi <= lo {
            return lo;
        }
        lo + (hi - lo) * self.uniform()
    }

    /// A whole number uniform in `[lo, hi]`, both included (just `lo` when `hi <= lo`).
    pub fn range_u64(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        let span = hi - lo + 1;
        // Multiply-shift: no modulo bias worth the name for the spans used here.
        lo + ((u128::from(self.next_u64()) * u128::from(span)) >> 64) as u64
    }

    /// Log-uniform in `[lo, hi]`: every decade equally likely. Both bounds must be positive; a
    /// non-positive bound gives `lo`.
    pub fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        if lo <= 0.0 || hi <= lo {
            return lo;
        }
        (lo.ln() + (hi.ln() - lo.ln()) * self.uniform())
            .exp()
            .clamp(lo, hi)
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// A standard normal draw (Box–Muller; the second value of each pair is kept for the next call).
    pub fn normal(&mut self) -> f64 {
        if let Some(z) = self.spare.take() {
            return z;
        }
        // 1 - uniform is in (0, 1]: its logarithm is finite.
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        let r = (-2.0 * u1.ln()).sqrt();
        let theta = std::f64::consts::TAU * u2;
        self.spare = Some(r * theta.sin());
        r * theta.cos()
    }

    /// A standard normal draw clipped to `[-limit, limit]`: noise without the rare extreme value that
    /// would itself look like a spike.
    pub fn normal_clipped(&mut self, limit: f64) -> f64 {
        self.normal().clamp(-limit.abs(), limit.abs())
    }

    /// A gamma draw with mean 1 and coefficient of variation `cv` (shape `1 / cv²`): positive, skewed
    /// to the right, and near 0 now and then when `cv` is large, like per-batch losses. A `cv` of 0 or
    /// less gives 1.
    pub fn gamma_unit(&mut self, cv: f64) -> f64 {
        if cv <= 0.0 || !cv.is_finite() {
            return 1.0;
        }
        let shape = 1.0 / (cv * cv);
        self.gamma(shape) / shape
    }

    /// A gamma draw of `shape` and scale 1 (Marsaglia–Tsang; shapes below 1 by the boost
    /// `G(a) = G(a + 1) · U^(1/a)`).
    fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            let u = 1.0 - self.uniform();
            return self.gamma(shape + 1.0) * u.powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        // Accepts within a few tries on average; the bound only guards against a broken generator.
        for _ in 0..1000 {
            let x = self.normal();
            let v = (1.0 + c * x).powi(3);
            if v <= 0.0 {
                continue;
            }
            let u = 1.0 - self.uniform();
            if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v;
            }
        }
        shape
    }

    /// One element of `items`, uniformly; `None` when it is empty.
    pub fn choose<T: Copy>(&mut self, items: &[T]) -> Option<T> {
        if items.is_empty() {
            return None;
        }
        let i = self.range_u64(0, items.len() as u64 - 1) as usize;
        items.get(i).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mean_std(xs: &[f64]) -> (f64, f64) {
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        (mean, var.sqrt())
    }

    #[test]
    fn draws_stay_in_their_ranges() {
        let mut r = Rng::new(1);
        for _ in 0..10_000 {
            let cases = [
                (r.uniform(), 0.0, 1.0, "uniform is in [0, 1)"),
                (r.range(-2.0, 3.0), -2.0, 3.0, "range is in [lo, hi)"),
                (r.log_uniform(1e-3, 10.0), 1e-3, 10.0 + 1e-12, "log-uniform"),
                (
                    r.range_u64(3, 5) as f64,
                    3.0,
                    5.5,
                    "range_u64 includes both ends",
                ),
            ];
            for (x, lo, hi, why) in cases {
                assert!(x >= lo && x < hi, "{why}: {x}");
            }
        }
    }

    #[test]
    fn degenerate_arguments_give_the_low_bound() {
        let mut r = Rng::new(2);
        let cases = [
            (r.range(1.0, 1.0), 1.0, "an empty range"),
            (r.range_u64(4, 2) as f64, 4.0, "an inverted whole range"),
            (r.log_uniform(-1.0, 1.0), -1.0, "a non-positive log bound"),
            (r.gamma_unit(0.0), 1.0, "no variation"),
        ];
        for (got, want, why) in cases {
            assert_eq!(got, want, "{why}");
        }
        assert_eq!(r.choose::<u8>(&[]), None, "nothing to choose from");
    }

    #[test]
    fn moments_are_right() {
        let mut r = Rng::new(3);
        let normals: Vec<f64> = (0..20_000).map(|_| r.normal()).collect();
        let (m, s) = mean_std(&normals);
        assert!(m.abs() < 0.03 && (s - 1.0).abs() < 0.03, "normal: {m} {s}");
        for cv in [0.1, 0.6, 1.5] {
            let g: Vec<f64> = (0..20_000).map(|_| r.gamma_unit(cv)).collect();
            let (m, s) = mean_std(&g);
            assert!((m - 1.0).abs() < 0.05, "gamma mean with cv {cv}: {m}");
            assert!((s - cv).abs() < 0.1 * cv.max(0.5), "gamma cv {cv}: {s}");
            assert!(g.iter().all(|&x| x > 0.0), "gamma is positive");
        }
        let u: Vec<u64> = (0..6000).map(|_| r.range_u64(0, 2)).collect();
        for k in 0..3 {
            let n = u.iter().filter(|&&x| x == k).count();
            assert!(
                (1800..2200).contains(&n),
                "range_u64 is uniform: {k} seen {n} times"
            );
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_sequence() {
        let draw = |seed| {
            let mut r = Rng::new(seed);
            (0..5).map(|_| r.normal()).collect::<Vec<_>>()
        };
        assert_eq!(draw(9), draw(9), "deterministic");
        assert_ne!(draw(9), draw(10), "seeds differ");
    }
}
