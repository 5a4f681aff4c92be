//! [`Family::PlateauThenResume`](super::Family::PlateauThenResume): a loss that falls, stays flat,
//! then falls again, as after a learning-rate drop.

use super::draft::{Draft, MAX_POINTS};
use super::epoch::{self, noisy, EpochLayout, EpochRun, LrSchedule};
use super::{Drawn, Onset};
use crate::event::Split;
use crate::history::Origin;
use crate::quality::rng::Rng;

/// The shape over the fraction `x` of the run done: a fall to `floor` (time constant a fifth of the
/// first phase, so it is flat by its end), flat until `resume`, then a further fall by `drop` of
/// the level (time constant `tau`).
#[derive(Clone, Copy, Debug)]
struct Shape {
    scale: f64,
    floor: f64,
    fall: f64,
    resume: f64,
    drop: f64,
    tau: f64,
}

impl Shape {
    /// Phases of 20–40% (fall) and 20–40% (flat), a resumed fall of 20–50% with time constant 2–8%
    /// of the run; scale log-uniform in `[1e-2, 10]`, floor 20–50% of it.
    fn random(rng: &mut Rng) -> Self {
        let fall = rng.range(0.2, 0.4);
        Shape {
            scale: rng.log_uniform(1e-2, 10.0),
            floor: rng.range(0.2, 0.5),
            fall,
            resume: fall + rng.range(0.2, 0.4),
            drop: rng.range(0.2, 0.5),
            tau: rng.range(0.02, 0.08),
        }
    }

    fn at(&self, x: f64) -> f64 {
        let first = self.floor + (1.0 - self.floor) * (-5.0 * x / self.fall).exp();
        let resumed = if x > self.resume {
            1.0 - self.drop * (1.0 - (-(x - self.resume) / self.tau).exp())
        } else {
            1.0
        };
        self.scale * first * resumed
    }

    fn describe(&self) -> String {
        format!(
            "scale {:.3e}, falls to {:.2} by {:.0}%, flat to {:.0}%, then −{:.0}% (tau {:.0}%)",
            self.scale,
            self.floor,
            100.0 * self.fall,
            100.0 * self.resume,
            100.0 * self.drop,
            100.0 * self.tau
        )
    }
}

/// Draws the run: step-level (2,000–20,000 steps, lognormal noise 1–10%) or epoch-level (20–80
/// epochs, validation 3–20% above training with 0.3–1% noise), even odds. Half the runs log a ×0.1
/// learning-rate drop at the resume; the others log no learning rate. Onset: the resume; tolerance
/// 15% of the run after (where a plateau episode must close).
pub(crate) fn plateau_then_resume(rng: &mut Rng) -> Drawn {
    let shape = Shape::random(rng);
    let lr_drop = rng.chance(0.5);
    let lr = rng.log_uniform(1e-4, 1e-2);
    let (history, resume, total, layout) = if rng.chance(0.5) {
        step_level(rng, &shape, lr_drop.then_some(lr))
    } else {
        epoch_level(rng, &shape, lr_drop.then_some(lr))
    };
    let onset = Onset {
        step: resume,
        before: 0,
        after: total * 15 / 100,
    };
    let lr_text = if lr_drop {
        format!("lr {lr:.1e} ×0.1 at the resume")
    } else {
        "no lr logged".to_owned()
    };
    let description = format!("{layout}; {}; {lr_text}", shape.describe());
    (history, Some(onset), description)
}

type Variant = (crate::history::History, u64, u64, String);

fn step_level(rng: &mut Rng, shape: &Shape, lr: Option<f64>) -> Variant {
    let total = rng.range_u64(2000, 20_000);
    let intervals: Vec<u64> = [1, 5, 10, 50]
        .into_iter()
        .filter(|i| (200..=MAX_POINTS).contains(&(total / i)))
        .collect();
    let every = rng.choose(&intervals).unwrap_or(10);
    let noise = rng.range(0.01, 0.1);
    let n = total as f64;
    let resume = ((shape.resume * n / every as f64).ceil() as u64).max(1) * every;
    let mut draft = Draft::new();
    for step in (1..=total / every).map(|i| i * every) {
        let loss = shape.at(step as f64 / n) * (noise * rng.normal_clipped(3.5)).exp();
        draft.push(Origin::Step, Split::Train, "loss", step, 0.0, loss);
        if let Some(lr) = lr {
            let rate = if step > resume { 0.1 * lr } else { lr };
            draft.push(Origin::Step, Split::Train, "lr", step, 0.0, rate);
        }
    }
    let layout = format!("{total} steps every {every}, noise {:.1}%", 100.0 * noise);
    (draft.into_history(), resume, total, layout)
}

fn epoch_level(rng: &mut Rng, shape: &Shape, lr: Option<f64>) -> Variant {
    let epochs = rng.range_u64(20, 80);
    let e = epochs as f64;
    let batches = rng.chance(0.5);
    let layout = EpochLayout::random(rng, epochs, batches);
    // The resume falls on an epoch boundary, where a scheduler would drop the rate.
    let resume_epoch = (shape.resume * e).round().clamp(1.0, e - 1.0);
    let shape = Shape {
        resume: resume_epoch / e,
        ..*shape
    };
    let ratio = rng.range(1.03, 1.2);
    let cv = rng.range(0.003, 0.01);
    let values = noisy(
        rng,
        (0..epochs).map(|i| ratio * shape.at((i as f64 + 1.0) / e)),
        cv,
    );
    let run = EpochRun {
        layout,
        train: &|p| shape.at(p / e),
        batch_cv: rng.range(0.05, 0.3),
        epoch_noise: rng.range(0.002, 0.01),
        valid: Some(values),
        lr: lr.map(|lr| LrSchedule::StepDecay(lr, resume_epoch, None)),
    };
    let mut draft = Draft::new();
    epoch::write(rng, &run, &mut draft);
    let resume = resume_epoch as u64 * layout.steps_per_epoch;
    let text = format!(
        "{epochs} epochs × {} steps{}, valid ×{ratio:.2} noise {:.1}%",
        layout.steps_per_epoch,
        if batches { ", batches logged" } else { "" },
        100.0 * cv
    );
    (draft.into_history(), resume, layout.total_steps(), text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shape_falls_rests_and_falls_again() {
        let s = Shape {
            scale: 1.0,
            floor: 0.3,
            fall: 0.3,
            resume: 0.6,
            drop: 0.4,
            tau: 0.05,
        };
        let flat = s.at(0.6) / s.at(0.35);
        assert!(
            flat > 0.98 && flat <= 1.0,
            "flat between fall and resume: {flat}"
        );
        assert!(
            s.at(0.0) > 3.0 * s.at(0.3),
            "falls to its floor in the first phase"
        );
        assert!(
            s.at(1.0) < 0.65 * s.at(0.6),
            "falls by about `drop` after the resume"
        );
    }
}
