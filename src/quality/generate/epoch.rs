//! Epoch-level runs: the step grid of an epoch loop, its learning-rate schedules, and the writer that
//! turns a training-loss trend and one validation value per epoch into recorded series.

use super::draft::{Draft, MAX_POINTS};
use crate::event::{Split, MAX_EPOCH_FRACTION};
use crate::history::Origin;
use crate::quality::rng::Rng;

/// The step grid of an epoch loop: `epochs` epochs of `steps_per_epoch` batches each; the batches
/// of epoch `e` are steps `e·k + 1 ..= (e + 1)·k`, and its evaluation and epoch end are at step
/// `(e + 1)·k`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EpochLayout {
    /// Number of epochs.
    pub epochs: u64,
    /// Batches (steps) per epoch.
    pub steps_per_epoch: u64,
    /// Whether each batch's training loss is logged (else only the epoch mean).
    pub batches: bool,
}

impl EpochLayout {
    /// A random grid of `epochs` epochs: 10–200 logged batches per epoch (fewer where that would
    /// log more than [`MAX_POINTS`] points), or 20–500 unlogged ones.
    pub fn random(rng: &mut Rng, epochs: u64, batches: bool) -> Self {
        let epochs = epochs.max(1);
        let steps_per_epoch = if batches {
            let cap = (MAX_POINTS / epochs).clamp(10, 200);
            rng.range_u64(10, cap)
        } else {
            rng.range_u64(20, 500)
        };
        EpochLayout {
            epochs,
            steps_per_epoch,
            batches,
        }
    }

    /// Step of the evaluation and epoch end of epoch `e` (0-based).
    pub fn end_step(&self, e: u64) -> u64 {
        (e + 1) * self.steps_per_epoch
    }

    /// The last step of the run.
    pub fn total_steps(&self) -> u64 {
        self.epochs * self.steps_per_epoch
    }
}

/// A learning-rate schedule over epochs trained (`p` in `[0, epochs]`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum LrSchedule {
    /// The same rate throughout.
    Constant(f64),
    /// ×0.1 after each of the given epochs (the second is ignored when `None`).
    StepDecay(f64, f64, Option<f64>),
    /// Cosine from the rate to 0 over the run, per step.
    Cosine(f64),
}

impl LrSchedule {
    /// A random schedule for a run of `epochs` epochs: constant, one or two ×0.1 decays, or cosine,
    /// from a peak log-uniform in `[1e-4, 1e-1]`.
    pub fn random(rng: &mut Rng, epochs: u64) -> Self {
        let lr = rng.log_uniform(1e-4, 1e-1);
        let e = epochs as f64;
        match rng.range_u64(0, 2) {
            0 => LrSchedule::Constant(lr),
            1 => {
                let first = (e * rng.range(0.3, 0.6)).round().max(1.0);
                let second = rng
                    .chance(0.5)
                    .then(|| (e * rng.range(0.7, 0.9)).round().max(first + 1.0));
                LrSchedule::StepDecay(lr, first, second)
            }
            _ => LrSchedule::Cosine(lr),
        }
    }

    /// The rate after `p` of `epochs` epochs.
    pub fn at(&self, p: f64, epochs: f64) -> f64 {
        match *self {
            LrSchedule::Constant(lr) => lr,
            LrSchedule::StepDecay(lr, first, second) => {
                let drops = i32::from(p > first) + i32::from(second.is_some_and(|s| p > s));
                lr * 0.1f64.powi(drops)
            }
            LrSchedule::Cosine(lr) => {
                let t = (p / epochs.max(1e-9)).clamp(0.0, 1.0);
                lr * 0.5 * (1.0 + (std::f64::consts::PI * t).cos())
            }
        }
    }

    /// A short description, e.g. `cosine from 3.0e-3`.
    pub fn describe(&self) -> String {
        match *self {
            LrSchedule::Constant(lr) => format!("constant lr {lr:.1e}"),
            LrSchedule::StepDecay(lr, a, Some(b)) => {
                format!("lr {lr:.1e} ×0.1 after epochs {a:.0} and {b:.0}")
            }
            LrSchedule::StepDecay(lr, a, None) => format!("lr {lr:.1e} ×0.1 after epoch {a:.0}"),
            LrSchedule::Cosine(lr) => format!("cosine lr from {lr:.1e}"),
        }
    }
}

/// What an epoch-level run records.
pub(crate) struct EpochRun<'a> {
    /// The step grid.
    pub layout: EpochLayout,
    /// The training loss's trend against epochs trained.
    pub train: &'a dyn Fn(f64) -> f64,
    /// Coefficient of variation of a per-batch loss around the trend (gamma-distributed).
    pub batch_cv: f64,
    /// Relative noise of the training loss's epoch mean when batches are not logged.
    pub epoch_noise: f64,
    /// One validation loss per epoch, if the run validates.
    pub valid: Option<Vec<f64>>,
    /// The learning rate, if the run logs it.
    pub lr: Option<LrSchedule>,
}

/// Writes `run` into `draft`: per-batch `train/loss` and `train/lr` (steps) with the epoch mean as
/// `train/loss_epoch` (epoch ends) when batches are logged; otherwise the epoch mean as `train/loss`
/// (epoch ends) and the rate once per epoch as `train/lr` (a step at the epoch's end); and
/// `valid/loss` (evaluations).
pub(crate) fn write(rng: &mut Rng, run: &EpochRun<'_>, draft: &mut Draft) {
    let layout = run.layout;
    let k = layout.steps_per_epoch;
    let epochs = layout.epochs as f64;
    for e in 0..layout.epochs {
        let end = layout.end_step(e);
        let position = e as f64;
        let mean = if layout.batches {
            let mut sum = 0.0;
            for b in 0..k {
                let done = (b + 1) as f64 / k as f64;
                let p = e as f64 + done;
                let step = e * k + b + 1;
                let at = position + done.min(f64::from(MAX_EPOCH_FRACTION));
                let value = (run.train)(p) * rng.gamma_unit(run.batch_cv);
                sum += value;
                draft.push(Origin::Step, Split::Train, "loss", step, at, value);
                if let Some(lr) = run.lr {
                    draft.push(Origin::Step, Split::Train, "lr", step, at, lr.at(p, epochs));
                }
            }
            sum / k as f64
        } else {
            if let Some(lr) = run.lr {
                let rate = lr.at(e as f64 + 1.0, epochs);
                draft.push(Origin::Step, Split::Train, "lr", end, position, rate);
            }
            (run.train)(e as f64 + 0.5) * (1.0 + run.epoch_noise * rng.normal_clipped(3.0))
        };
        if let Some(v) = run.valid.as_ref().and_then(|v| v.get(e as usize)) {
            draft.push(Origin::Eval, Split::Valid, "loss", end, position, *v);
        }
        let name = if layout.batches { "loss_epoch" } else { "loss" };
        draft.push(Origin::Epoch, Split::Train, name, end, position, mean);
    }
}

/// Multiplies each value by `1 + cv·z` (z a standard normal clipped to ±3).
pub(crate) fn noisy(rng: &mut Rng, values: impl IntoIterator<Item = f64>, cv: f64) -> Vec<f64> {
    values
        .into_iter()
        .map(|v| v * (1.0 + cv * rng.normal_clipped(3.0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_follow_their_shape() {
        let cases = [
            (LrSchedule::Constant(0.1), 5.0, 0.1, "constant"),
            (
                LrSchedule::StepDecay(0.1, 3.0, None),
                2.0,
                0.1,
                "before the decay",
            ),
            (
                LrSchedule::StepDecay(0.1, 3.0, None),
                4.0,
                0.01,
                "after one decay",
            ),
            (
                LrSchedule::StepDecay(0.1, 3.0, Some(6.0)),
                7.0,
                0.001,
                "after two",
            ),
            (
                LrSchedule::Cosine(0.1),
                0.0,
                0.1,
                "cosine starts at the peak",
            ),
            (
                LrSchedule::Cosine(0.1),
                5.0,
                0.05,
                "and is halfway at mid-run",
            ),
            (LrSchedule::Cosine(0.1), 10.0, 0.0, "and ends at 0"),
        ];
        for (s, p, want, why) in cases {
            assert!(
                (s.at(p, 10.0) - want).abs() < 1e-12,
                "{why}: {}",
                s.at(p, 10.0)
            );
        }
    }

    #[test]
    fn the_writer_keeps_batches_inside_their_epoch() {
        let mut rng = Rng::new(4);
        let layout = EpochLayout {
            epochs: 3,
            steps_per_epoch: 10,
            batches: true,
        };
        let train = |p: f64| 1.0 / (1.0 + p);
        let run = EpochRun {
            layout,
            train: &train,
            batch_cv: 0.1,
            epoch_noise: 0.0,
            valid: Some(vec![1.0, 0.9, 0.8]),
            lr: Some(LrSchedule::Constant(0.01)),
        };
        let mut draft = Draft::new();
        write(&mut rng, &run, &mut draft);
        let loss = draft.column(Split::Train, "loss").unwrap();
        assert_eq!(loss.steps.len(), 30, "one point per batch");
        assert!(loss
            .positions
            .iter()
            .zip(&loss.steps)
            .all(|(p, s)| { p.floor() as u64 == (s - 1) / 10 }));
        let val = draft.column(Split::Valid, "loss").unwrap();
        assert_eq!(val.steps, vec![10, 20, 30], "evaluations at the epoch ends");
        assert_eq!(
            draft
                .column(Split::Train, "loss_epoch")
                .unwrap()
                .steps
                .len(),
            3
        );
    }
}
