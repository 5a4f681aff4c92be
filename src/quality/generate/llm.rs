//! Step-level language-model runs: healthy pre-training, a loss stuck at `ln(vocab)`, and a warmup
//! that overshoots the critical learning rate.

use super::draft::{Draft, MAX_POINTS};
use super::{Drawn, Onset};
use crate::event::Split;
use crate::history::Origin;
use crate::quality::rng::Rng;

/// The logging intervals a language-model run may use.
const INTERVALS: [u64; 4] = [1, 5, 10, 50];

/// The gradient norm's trend: `end · (1 + (ratio − 1) · exp(−t/τ))`, times `1 ± jitter` uniform.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GradNorm {
    pub end: f64,
    pub ratio: f64,
    pub tau: f64,
    pub jitter: f64,
}

impl GradNorm {
    /// The trend at step `t`, without jitter.
    pub fn base(&self, t: f64) -> f64 {
        self.end * (1.0 + (self.ratio - 1.0) * (-t / self.tau).exp())
    }

    fn at(&self, rng: &mut Rng, t: f64) -> f64 {
        self.base(t) * (1.0 + self.jitter * rng.range(-1.0, 1.0))
    }
}

/// After the critical learning rate is crossed at `at`: the loss climbs from its level there towards
/// `target` with time constant `tau`, and its noise grows to `noise_factor` times its usual level.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Blowup {
    pub at: f64,
    pub target: f64,
    pub tau: f64,
    pub noise_factor: f64,
}

/// A language-model pre-training run: loss `L∞ + (L0 − L∞)(1 + t/τ)^−α` with `L0 = ln(vocab)`,
/// lognormal noise, linear warmup to a peak rate then cosine to 10% of it (or constant, for a
/// warmup that overshoots), optional gradient norm and validation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Llm {
    pub total: u64,
    pub every: u64,
    pub vocab: f64,
    pub l_inf: f64,
    pub tau: f64,
    pub alpha: f64,
    pub warmup: f64,
    pub peak_lr: f64,
    /// Whether the rate stays at its peak after warmup (instead of a cosine decay).
    pub constant_after_warmup: bool,
    /// Lognormal σ of the loss noise.
    pub noise: f64,
    /// How much larger the noise is at step 0 than after warmup (fading linearly over the warmup).
    pub warmup_noise: f64,
    pub grad: Option<GradNorm>,
    /// Validation every so many steps, that many times the training level.
    pub valid: Option<(u64, f64)>,
    pub blowup: Option<Blowup>,
}

impl Llm {
    /// A random healthy run: 2,000–30,000 steps logged every 1, 5, 10 or 50 (200–4,000 points),
    /// vocab log-uniform in 256–100k, `L∞` 1.5–4, warmup 1–10%, peak rate 1e-4–3e-3, noise 1–20%,
    /// a gradient norm with probability `p_grad`, validation every 200–1,000 steps for half the runs.
    pub fn random(rng: &mut Rng, p_grad: f64) -> Self {
        let total = rng.range_u64(2000, 30_000);
        let fits = |i: &u64| (200..=MAX_POINTS).contains(&(total / i));
        let intervals: Vec<u64> = INTERVALS.into_iter().filter(fits).collect();
        let every = rng.choose(&intervals).unwrap_or(10);
        let vocab = rng.log_uniform(256.0, 100_000.0);
        let l0 = vocab.ln();
        let n = total as f64;
        let grad = rng.chance(p_grad).then(|| GradNorm {
            end: rng.range(0.3, 1.0),
            ratio: rng.range(3.0, 8.0),
            tau: n * rng.range(0.02, 0.15),
            jitter: 0.15,
        });
        let valid = rng.chance(0.5).then(|| {
            let v = (rng.range(200.0, 1000.0) / every as f64).round().max(1.0) as u64 * every;
            (v, rng.range(1.0, 1.05))
        });
        Llm {
            total,
            every,
            vocab,
            l_inf: rng.range(1.5, 4.0f64.min(l0 - 1.0)),
            tau: n * rng.range(0.005, 0.05),
            alpha: rng.range(0.3, 1.0),
            warmup: n * rng.range(0.01, 0.1),
            peak_lr: rng.log_uniform(1e-4, 3e-3),
            constant_after_warmup: false,
            noise: rng.range(0.01, 0.2),
            warmup_noise: rng.range(0.0, 1.0),
            grad,
            valid,
            blowup: None,
        }
    }

    /// The logged steps: `every, 2·every, … ≤ total`.
    pub fn steps(&self) -> impl Iterator<Item = u64> {
        let every = self.every.max(1);
        (1..=self.total / every).map(move |i| i * every)
    }

    /// `ln(vocab)`, the loss of a uniform guess.
    pub fn l0(&self) -> f64 {
        self.vocab.ln()
    }

    /// The healthy trend at step `t`.
    fn healthy(&self, t: f64) -> f64 {
        self.l_inf + (self.l0() - self.l_inf) * (1.0 + t / self.tau).powf(-self.alpha)
    }

    /// The loss trend at step `t` (climbing after a blowup).
    pub fn level(&self, t: f64) -> f64 {
        match self.blowup {
            Some(b) if t > b.at => {
                let from = self.healthy(b.at);
                from + (b.target - from) * (1.0 - (-(t - b.at) / b.tau).exp())
            }
            _ => self.healthy(t),
        }
    }

    /// The lognormal σ of the noise at step `t`.
    pub fn noise_at(&self, t: f64) -> f64 {
        let warm = 1.0 + self.warmup_noise * (1.0 - t / self.warmup).max(0.0);
        let blown = match self.blowup {
            Some(b) if t > b.at => {
                1.0 + (b.noise_factor - 1.0) * (1.0 - (-(t - b.at) / b.tau).exp())
            }
            _ => 1.0,
        };
        self.noise * warm * blown
    }

    /// The learning rate at step `t`.
    pub fn lr(&self, t: f64) -> f64 {
        if t < self.warmup {
            return self.peak_lr * t / self.warmup;
        }
        if self.constant_after_warmup {
            return self.peak_lr;
        }
        let x = ((t - self.warmup) / (self.total as f64 - self.warmup).max(1.0)).clamp(0.0, 1.0);
        self.peak_lr * (0.1 + 0.9 * 0.5 * (1.0 + (std::f64::consts::PI * x).cos()))
    }

    /// Writes `train/loss`, `train/lr`, `train/grad_norm` (if any) at each logged step and
    /// `valid/loss` at every validation step (epoch position 0: no epochs).
    pub fn write(&self, rng: &mut Rng, draft: &mut Draft) {
        for step in self.steps() {
            let t = step as f64;
            let level = self.level(t);
            let loss = level * (self.noise_at(t) * rng.normal_clipped(3.5)).exp();
            draft.push(Origin::Step, Split::Train, "loss", step, 0.0, loss);
            draft.push(Origin::Step, Split::Train, "lr", step, 0.0, self.lr(t));
            if let Some(g) = self.grad {
                let value = g.at(rng, t);
                draft.push(Origin::Step, Split::Train, "grad_norm", step, 0.0, value);
            }
            if let Some((_, ratio)) = self.valid.filter(|(v, _)| step % v == 0) {
                let value = level * ratio * (1.0 + 0.005 * rng.normal_clipped(3.0));
                draft.push(Origin::Eval, Split::Valid, "loss", step, 0.0, value);
            }
        }
    }

    /// The parameters, in words.
    pub fn describe(&self) -> String {
        let grad = self.grad.map_or(String::new(), |g| {
            format!(", grad norm {:.2} → {:.2}", g.end * g.ratio, g.end)
        });
        let valid = self.valid.map_or(String::new(), |(v, r)| {
            format!(", valid every {v} (×{r:.3})")
        });
        format!(
            "{} steps every {}, vocab {:.0} (L0 {:.2}) → L∞ {:.2}, tau {:.0}, alpha {:.2}, \
             warmup {:.0} to lr {:.1e}, noise {:.1}%{grad}{valid}",
            self.total,
            self.every,
            self.vocab,
            self.l0(),
            self.l_inf,
            self.tau,
            self.alpha,
            self.warmup,
            self.peak_lr,
            100.0 * self.noise
        )
    }
}

/// [`Family::HealthyLlm`](super::Family::HealthyLlm): [`Llm::random`] with a gradient norm always.
pub(crate) fn healthy_llm(rng: &mut Rng) -> Drawn {
    let llm = Llm::random(rng, 1.0);
    let mut draft = Draft::new();
    llm.write(rng, &mut draft);
    (draft.into_history(), None, llm.describe())
}

/// [`Family::StuckFromStart`](super::Family::StuckFromStart): 1,000–10,000 steps logged every 1 or
/// 10; the loss stays at `ln(vocab)` with noise of amplitude `A` of 0.05–0.5% (a normal of σ `A/2`
/// clipped to ±2σ), half the runs drifting down by at most `0.5% − A` over the run, so that every
/// value is within 0.5% of `ln(vocab)`; a small flat gradient norm; the rate constant, or warmup
/// then constant. Onset: the first step; tolerance 30% of the run after.
pub(crate) fn stuck_from_start(rng: &mut Rng) -> Drawn {
    let total = rng.range_u64(1000, 10_000);
    let every = if total > MAX_POINTS || rng.chance(0.5) {
        10
    } else {
        1
    };
    let vocab = rng.log_uniform(256.0, 100_000.0);
    let l0 = vocab.ln();
    let amplitude = rng.range(0.0005, 0.005);
    let drift = if rng.chance(0.5) {
        rng.range(0.0, 0.005 - amplitude)
    } else {
        0.0
    };
    let grad = rng.range(0.01, 0.3);
    let lr = rng.log_uniform(1e-6, 1e-3);
    let warmup = if rng.chance(0.5) {
        total as f64 * rng.range(0.01, 0.1)
    } else {
        0.0
    };
    let mut draft = Draft::new();
    let n = total as f64;
    for step in (1..=total / every).map(|i| i * every) {
        let t = step as f64;
        let level = l0 * (1.0 - drift * t / n);
        let loss = level * (1.0 + 0.5 * amplitude * rng.normal_clipped(2.0));
        let rate = if t < warmup { lr * t / warmup } else { lr };
        let g = grad * (1.0 + 0.1 * rng.range(-1.0, 1.0));
        draft.push(Origin::Step, Split::Train, "loss", step, 0.0, loss);
        draft.push(Origin::Step, Split::Train, "lr", step, 0.0, rate);
        draft.push(Origin::Step, Split::Train, "grad_norm", step, 0.0, g);
    }
    let onset = Onset {
        step: every,
        before: 0,
        after: total * 3 / 10,
    };
    let description = format!(
        "{total} steps every {every}, stuck at ln({vocab:.0}) = {l0:.3}, noise ±{:.2}%, drift \
         {:.2}%, lr {lr:.1e} (warmup {warmup:.0}), grad norm {grad:.3}",
        100.0 * amplitude,
        100.0 * drift
    );
    (draft.into_history(), Some(onset), description)
}

/// [`Family::WarmupTooHigh`](super::Family::WarmupTooHigh): a language-model run whose warmup
/// (5–30% of the run, at least 20 logging intervals, and long enough for the loss to have fallen
/// 40% of the way to `L∞` by the crossing; at most 60% of the run) climbs to a peak 1.25–3.3× a
/// critical rate, crossed at 30–80% of the warmup. From there the loss climbs towards 85–100% of
/// `ln(vocab)` (at least 1.4 times its level at the crossing; time constant 20–60% of the rest of the warmup, at
/// most 5% of the run), its noise grows 1.5–3× (to a σ of 25% at most), and the rate stays at its
/// peak. No gradient norm. Onset: the first logged step at or after the crossing; tolerance 2% of
/// the run before, 15% after.
pub(crate) fn warmup_too_high(rng: &mut Rng) -> Drawn {
    let mut llm = Llm::random(rng, 0.0);
    let n = llm.total as f64;
    let crossing = rng.range(0.3, 0.8);
    // The loss has fallen by 40% of the way to L∞ at the crossing (a rate too high from the start
    // is another pathology): (1 + t/τ)^−α ≤ 0.6.
    let fallen = llm.tau * (0.6f64.powf(-1.0 / llm.alpha) - 1.0);
    llm.warmup = (n * rng.range(0.05, 0.3))
        .max(20.0 * llm.every as f64)
        .max(fallen / crossing)
        .min(0.6 * n);
    llm.warmup_noise = 0.0;
    llm.peak_lr = rng.log_uniform(3e-3, 3e-2);
    llm.constant_after_warmup = true;
    let at = llm.warmup * crossing;
    let climb = llm.warmup - at;
    // Back towards ln(vocab), and at least 40% above the level where the rate became too high.
    let target = (llm.l0() * rng.range(0.85, 1.0)).max(1.4 * llm.level(at));
    llm.blowup = Some(Blowup {
        at,
        target,
        // Mostly done by the end of the tolerance window (15% of the run).
        tau: (climb * rng.range(0.2, 0.6)).min(0.05 * n),
        // Noisier, up to a lognormal σ of 25%.
        noise_factor: rng.range(1.5, 3.0).min((0.25 / llm.noise).max(1.0)),
    });
    let mut draft = Draft::new();
    llm.write(rng, &mut draft);
    let every = llm.every;
    let step = (at / every as f64).ceil().max(1.0) as u64 * every;
    let onset = Onset {
        step,
        before: llm.total / 50,
        after: llm.total * 15 / 100,
    };
    let description = format!(
        "{}; critical lr {:.1e} crossed at step {step} ({:.0}% of the warmup)",
        llm.describe(),
        llm.peak_lr * crossing,
        100.0 * crossing
    );
    (draft.into_history(), Some(onset), description)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_warms_up_then_decays_to_a_tenth() {
        let mut llm = Llm::random(&mut Rng::new(5), 1.0);
        llm.total = 1000;
        llm.warmup = 100.0;
        llm.peak_lr = 1e-3;
        let cases = [
            (50.0, 5e-4, "halfway through the warmup"),
            (100.0, 1e-3, "the peak at the end of the warmup"),
            (1000.0, 1e-4, "a tenth of the peak at the end"),
        ];
        for (t, want, why) in cases {
            assert!((llm.lr(t) - want).abs() < 1e-12, "{why}: {}", llm.lr(t));
        }
    }

    #[test]
    fn a_blowup_climbs_towards_its_target() {
        let mut llm = Llm::random(&mut Rng::new(6), 0.0);
        let at = llm.total as f64 * 0.1;
        llm.blowup = Some(Blowup {
            at,
            target: llm.l0() * 0.9,
            tau: 50.0,
            noise_factor: 2.0,
        });
        assert!(llm.level(at + 10.0) > llm.level(at), "it climbs at once");
        assert!(
            (llm.level(at + 1e6) - llm.l0() * 0.9).abs() < 1e-9,
            "to its target"
        );
        assert!(
            llm.noise_at(at + 1e6) > 1.99 * llm.noise,
            "and gets noisier"
        );
    }
}
