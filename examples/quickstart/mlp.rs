//! A small multilayer perceptron for 1-D regression, written by hand: tanh hidden layers, mean squared
//! error, backpropagation and Adam. Enough to train for real and to overfit a small noisy data set.

/// A deterministic generator (PCG-style LCG) so the example is reproducible.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.uniform().max(1e-12);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// One dense layer `y = W x + b` with its Adam moments and gradient accumulators.
struct Dense {
    inputs: usize,
    w: Vec<f64>,
    b: Vec<f64>,
    gw: Vec<f64>,
    gb: Vec<f64>,
    m: Vec<f64>,
    v: Vec<f64>,
}

impl Dense {
    fn new(inputs: usize, outputs: usize, rng: &mut Rng) -> Self {
        let scale = (1.0 / inputs as f64).sqrt();
        let n = inputs * outputs;
        Dense {
            inputs,
            w: (0..n).map(|_| rng.normal() * scale).collect(),
            b: vec![0.0; outputs],
            gw: vec![0.0; n],
            gb: vec![0.0; outputs],
            m: vec![0.0; n + outputs],
            v: vec![0.0; n + outputs],
        }
    }

    fn forward(&self, x: &[f64], out: &mut [f64]) {
        for (o, (row, b)) in out.iter_mut().zip(self.w.chunks(self.inputs).zip(&self.b)) {
            *o = b + row.iter().zip(x).map(|(w, x)| w * x).sum::<f64>();
        }
    }

    /// Accumulates gradients for output gradient `dy` at input `x`; writes the input gradient to `dx`.
    fn backward(&mut self, x: &[f64], dy: &[f64], dx: &mut [f64]) {
        dx.iter_mut().for_each(|d| *d = 0.0);
        for (j, &g) in dy.iter().enumerate() {
            self.gb[j] += g;
            let row = j * self.inputs;
            for i in 0..self.inputs {
                self.gw[row + i] += g * x[i];
                dx[i] += g * self.w[row + i];
            }
        }
    }

    fn adam(&mut self, lr: f64, t: i32, batch: f64) {
        let (b1, b2, eps): (f64, f64, f64) = (0.9, 0.999, 1e-8);
        let (c1, c2) = (1.0 - b1.powi(t), 1.0 - b2.powi(t));
        let params = self.w.iter_mut().chain(self.b.iter_mut());
        let grads = self.gw.iter_mut().chain(self.gb.iter_mut());
        for (((p, g), m), v) in params.zip(grads).zip(&mut self.m).zip(&mut self.v) {
            let grad = *g / batch;
            *m = b1 * *m + (1.0 - b1) * grad;
            *v = b2 * *v + (1.0 - b2) * grad * grad;
            *p -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
            *g = 0.0;
        }
    }
}

/// 1 → hidden → hidden → 1, tanh activations.
pub struct Mlp {
    layers: [Dense; 3],
    t: i32,
    acts: [Vec<f64>; 4],
    grads: [Vec<f64>; 4],
}

impl Mlp {
    pub fn new(hidden: usize, rng: &mut Rng) -> Self {
        let layers = [
            Dense::new(1, hidden, rng),
            Dense::new(hidden, hidden, rng),
            Dense::new(hidden, 1, rng),
        ];
        let sizes = [1, hidden, hidden, 1];
        Mlp {
            layers,
            t: 0,
            acts: sizes.map(|n| vec![0.0; n]),
            grads: sizes.map(|n| vec![0.0; n]),
        }
    }

    /// The prediction for `x` (keeps the activations for a backward pass).
    pub fn predict(&mut self, x: f64) -> f64 {
        self.acts[0][0] = x;
        for l in 0..3 {
            let (done, rest) = self.acts.split_at_mut(l + 1);
            self.layers[l].forward(&done[l], &mut rest[0]);
            if l < 2 {
                rest[0].iter_mut().for_each(|a| *a = a.tanh());
            }
        }
        self.acts[3][0]
    }

    /// Mean squared error over `data`, without training.
    pub fn mse(&mut self, data: &[(f64, f64)]) -> f64 {
        let total: f64 = data
            .iter()
            .map(|&(x, y)| (self.predict(x) - y).powi(2))
            .sum();
        total / data.len() as f64
    }

    /// One Adam step on a mini-batch; returns its mean squared error and the gradient norm.
    pub fn train_step(&mut self, batch: &[(f64, f64)], lr: f64) -> (f64, f64) {
        let mut loss = 0.0;
        for &(x, y) in batch {
            let err = self.predict(x) - y;
            loss += err * err;
            self.grads[3][0] = 2.0 * err;
            for l in (0..3).rev() {
                let (below, above) = self.grads.split_at_mut(l + 1);
                self.layers[l].backward(&self.acts[l], &above[0], &mut below[l]);
                if l > 0 {
                    for (g, a) in below[l].iter_mut().zip(&self.acts[l]) {
                        *g *= 1.0 - a * a;
                    }
                }
            }
        }
        let n = batch.len() as f64;
        let norm = self
            .layers
            .iter()
            .flat_map(|d| d.gw.iter().chain(&d.gb))
            .map(|g| (g / n) * (g / n))
            .sum::<f64>()
            .sqrt();
        self.t += 1;
        for layer in &mut self.layers {
            layer.adam(lr, self.t, n);
        }
        (loss / n, norm)
    }
}
