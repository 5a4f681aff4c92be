//! The epoch-level families: healthy convergence, explosion, and overfitting (many clean epochs or
//! noisy ones).

use super::draft::Draft;
use super::epoch::{self, noisy, EpochLayout, EpochRun, LrSchedule};
use super::{Drawn, Onset};
use crate::quality::rng::Rng;

/// A falling loss curve against epochs trained: `scale · (floor + (1 − floor) · h(p))`, with `h` an
/// exponential `exp(−p/τ)` or a power law `(1 + p/τ)^−α`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Decay {
    pub scale: f64,
    pub floor: f64,
    pub tau: f64,
    /// `None`: exponential; `Some(α)`: power law.
    pub alpha: Option<f64>,
}

impl Decay {
    /// The loss after `p` epochs.
    pub fn at(&self, p: f64) -> f64 {
        let h = match self.alpha {
            None => (-p / self.tau).exp(),
            Some(a) => (1.0 + p / self.tau).powf(-a),
        };
        self.scale * (self.floor + (1.0 - self.floor) * h)
    }

    fn describe(&self) -> String {
        let shape = match self.alpha {
            None => format!("exp, tau {:.1} epochs", self.tau),
            Some(a) => format!("power {a:.2}, tau {:.1} epochs", self.tau),
        };
        format!("scale {:.3e}, floor {:.2}, {shape}", self.scale, self.floor)
    }
}

/// [`Family::HealthyEpoch`](super::Family::HealthyEpoch): 10–120 epochs, scale log-uniform in
/// `[1e-3, 10]`, validation a slower copy of the training curve with a higher floor (so the gap
/// grows slowly and validation never rises), noise 0.3–3% on validation.
pub(crate) fn healthy_epoch(rng: &mut Rng) -> Drawn {
    let (draft, _, description) = healthy_epoch_draft(rng);
    (draft.into_history(), None, description)
}

/// A [`healthy_epoch`] run before it becomes a history, with its step grid.
pub(crate) fn healthy_epoch_draft(rng: &mut Rng) -> (Draft, EpochLayout, String) {
    let epochs = rng.range_u64(10, 120);
    let e = epochs as f64;
    let batches = rng.chance(0.5);
    let layout = EpochLayout::random(rng, epochs, batches);
    let power = rng.chance(0.3);
    let train = Decay {
        scale: rng.log_uniform(1e-3, 10.0),
        floor: rng.range(0.02, 0.5),
        tau: if power {
            e * rng.range(0.02, 0.2)
        } else {
            e * rng.range(0.08, 0.4)
        },
        alpha: power.then(|| rng.range(0.5, 1.5)),
    };
    let valid = Decay {
        floor: train.floor * rng.range(1.02, 1.3) + rng.range(0.0, 0.03),
        tau: train.tau * rng.range(1.0, 1.3),
        ..train
    };
    let cv = rng.range(0.003, 0.03);
    let values = noisy(rng, (0..epochs).map(|i| valid.at(i as f64 + 1.0)), cv);
    let lr = LrSchedule::random(rng, epochs);
    let run = EpochRun {
        layout,
        train: &|p| train.at(p),
        batch_cv: rng.range(0.05, 0.6),
        epoch_noise: rng.range(0.002, 0.02),
        valid: Some(values),
        lr: Some(lr),
    };
    let mut draft = Draft::new();
    epoch::write(rng, &run, &mut draft);
    let description = format!(
        "{}; {}; valid noise {:.1}%, {}",
        describe_layout(&layout, run.batch_cv),
        train.describe(),
        100.0 * cv,
        lr.describe()
    );
    (draft, layout, description)
}

/// [`Family::Exploding`](super::Family::Exploding): 15–60 epochs; the losses fall for `f` of
/// 0–10 epochs, then grow by 10–40% per epoch (with 1–3% noise) for at least 8 epochs. The onset is
/// the end of the first rising epoch, `f + 1`; tolerance one epoch before, four after.
pub(crate) fn exploding(rng: &mut Rng) -> Drawn {
    let epochs = rng.range_u64(15, 60);
    let falling = rng.range_u64(0, (epochs - 9).min(10));
    let batches = rng.chance(0.5);
    let layout = EpochLayout::random(rng, epochs, batches);
    let fall = Decay {
        scale: rng.log_uniform(1e-2, 10.0),
        floor: rng.range(0.05, 0.5),
        tau: rng.range(1.0, 5.0),
        alpha: None,
    };
    let turn = falling as f64 + 1.0;
    let growing = (epochs - falling - 1) as f64;
    // 10–40% per epoch, held below a millionfold growth over the run.
    let rate = rng.range(0.1, 0.4).min(1e6f64.powf(1.0 / growing) - 1.0);
    let trend = move |p: f64| {
        if p <= turn {
            fall.at(p)
        } else {
            fall.at(turn) * (1.0 + rate).powf(p - turn)
        }
    };
    let ratio = rng.range(1.02, 1.2);
    let cv = rng.range(0.01, 0.03);
    let values = noisy(rng, (0..epochs).map(|i| ratio * trend(i as f64 + 1.0)), cv);
    let lr = LrSchedule::Constant(rng.log_uniform(1e-3, 1.0));
    let run = EpochRun {
        layout,
        train: &trend,
        batch_cv: rng.range(0.05, 0.3),
        epoch_noise: cv,
        valid: Some(values),
        lr: Some(lr),
    };
    let mut draft = Draft::new();
    epoch::write(rng, &run, &mut draft);
    let k = layout.steps_per_epoch;
    let onset = Onset {
        step: layout.end_step(falling + 1),
        before: k,
        after: 4 * k,
    };
    let description = format!(
        "{}; falls {falling} epochs ({}), then +{:.0}%/epoch; noise {:.1}%; {}",
        describe_layout(&layout, run.batch_cv),
        fall.describe(),
        100.0 * rate,
        100.0 * cv,
        lr.describe()
    );
    (draft.into_history(), Some(onset), description)
}

/// Which overfitting family to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Overfit {
    /// 20–100 epochs, minimum at 15–60%, rise of 10–60%, validation noise 0.3–2%.
    Many,
    /// 30–100 epochs, minimum at 20–50%, rise of 30–100% (at least 3 noise levels), noise 5–15%.
    Noisy,
}

/// [`Family::OverfitMany`](super::Family::OverfitMany) and
/// [`Family::OverfitNoisy`](super::Family::OverfitNoisy): training keeps falling; validation falls
/// to its minimum at epoch `m` (a quadratic approach), then rises as a power `1–1.3` of the time since
/// (`0.8–1.2` for the noisy one) to `1 + rise` times its minimum at the end. The onset is the end of
/// epoch `m`; tolerance 2 epochs before and `max(3 epochs, 15%)` after (many), or 3 epochs before
/// and 25% of the run after (noisy).
pub(crate) fn overfit(rng: &mut Rng, which: Overfit) -> Drawn {
    let (epochs, at, noise, q) = match which {
        Overfit::Many => (
            rng.range_u64(20, 100),
            rng.range(0.15, 0.6),
            rng.range(0.003, 0.02),
            rng.range(1.0, 1.3),
        ),
        Overfit::Noisy => (
            rng.range_u64(30, 100),
            rng.range(0.2, 0.5),
            rng.range(0.05, 0.15),
            rng.range(0.8, 1.2),
        ),
    };
    let rise = match which {
        Overfit::Many => rng.range(0.1, 0.6),
        Overfit::Noisy => rng.range((3.0 * noise).max(0.3), 1.0),
    };
    let e = epochs as f64;
    let m = ((e * at).round() as u64).clamp(3, epochs - 4);
    let batches = rng.chance(0.5);
    let layout = EpochLayout::random(rng, epochs, batches);
    // Training still falls at the end: a low floor, a slow decay.
    let train = Decay {
        scale: rng.log_uniform(1e-3, 10.0),
        floor: rng.range(0.001, 0.1),
        tau: e * rng.range(0.15, 0.4),
        alpha: None,
    };
    let v_min = train.at(m as f64 + 1.0) * rng.range(1.05, 1.6);
    let v_start = (train.at(1.0) * rng.range(1.0, 1.1)).max(v_min * 1.3);
    let (mf, tail) = (m as f64, (epochs - 1 - m) as f64);
    let trend = |i: u64| {
        let x = i as f64;
        if i <= m {
            v_min + (v_start - v_min) * (1.0 - x / mf).powi(2)
        } else {
            v_min * (1.0 + rise * ((x - mf) / tail).powf(q))
        }
    };
    let values = noisy(rng, (0..epochs).map(trend), noise);
    let lr = LrSchedule::random(rng, epochs);
    let run = EpochRun {
        layout,
        train: &|p| train.at(p),
        batch_cv: rng.range(0.05, 0.4),
        epoch_noise: rng.range(0.002, 0.02),
        valid: Some(values),
        lr: Some(lr),
    };
    let mut draft = Draft::new();
    epoch::write(rng, &run, &mut draft);
    let (k, total) = (layout.steps_per_epoch, layout.total_steps());
    let onset = match which {
        Overfit::Many => Onset {
            step: layout.end_step(m),
            before: 2 * k,
            after: (3 * k).max(total * 15 / 100),
        },
        Overfit::Noisy => Onset {
            step: layout.end_step(m),
            before: 3 * k,
            after: total / 4,
        },
    };
    let description = format!(
        "{}; train {}; valid min at epoch {m} of {epochs}, then +{:.0}% (power {q:.2}), \
         noise {:.1}%; {}",
        describe_layout(&layout, run.batch_cv),
        train.describe(),
        100.0 * rise,
        100.0 * noise,
        lr.describe()
    );
    (draft.into_history(), Some(onset), description)
}

/// `40 epochs × 120 steps, batches logged (cv 30%)`.
fn describe_layout(layout: &EpochLayout, batch_cv: f64) -> String {
    let batches = if layout.batches {
        format!("batches logged (cv {:.0}%)", 100.0 * batch_cv)
    } else {
        "epoch means only".to_owned()
    };
    format!(
        "{} epochs × {} steps, {batches}",
        layout.epochs, layout.steps_per_epoch
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decays_fall_to_their_floor() {
        let cases = [(None, "exponential"), (Some(1.0), "power law")];
        for (alpha, why) in cases {
            let d = Decay {
                scale: 2.0,
                floor: 0.25,
                tau: 1.0,
                alpha,
            };
            assert_eq!(d.at(0.0), 2.0, "{why}: starts at the scale");
            assert!(d.at(5.0) < d.at(1.0), "{why}: falls");
            assert!(d.at(1e9) > 0.5 - 1e-6, "{why}: never below scale × floor");
        }
    }
}
