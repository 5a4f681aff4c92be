//! Families built from a healthy run plus one event (a loss spike, a gradient-norm spike, a NaN),
//! and the few-evaluation fine-tune that overfits from its first evaluation.

use super::draft::{Column, Draft};
use super::fit::healthy_epoch_draft;
use super::llm::Llm;
use super::{Drawn, Onset};
use crate::event::{Split, MAX_EPOCH_FRACTION};
use crate::history::Origin;
use crate::quality::rng::Rng;

/// When a gradient-norm spike comes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum When {
    /// At 2–5% of the run, 10–50× the median.
    Early,
    /// At 50–95% of the run, 5–20× the median.
    Late,
}

/// A point index uniformly within `[lo, hi]` (fractions of the column's length).
fn index_between(rng: &mut Rng, column: &Column, lo: f64, hi: f64) -> usize {
    let n = column.values.len().saturating_sub(1) as f64;
    let (a, b) = ((n * lo).ceil() as u64, (n * hi).floor() as u64);
    rng.range_u64(a, b.max(a)) as usize
}

/// [`Family::LossSpike`](super::Family::LossSpike): a healthy language-model run, one logged loss
/// at 10–90% of the run replaced by `m` times its level, with `m` in `[max(1.5, e^{3.5σ} + 8.8σ), 4]`
/// (σ the lognormal noise there): at least 8 noise standard deviations above the highest any
/// neighbour can reach. Onset: that step; tolerance one logging interval after.
pub(crate) fn loss_spike(rng: &mut Rng) -> Drawn {
    let llm = Llm::random(rng, 1.0);
    let mut draft = Draft::new();
    llm.write(rng, &mut draft);
    let Some(loss) = draft.column_mut(Split::Train, "loss") else {
        return (draft.into_history(), None, llm.describe());
    };
    let i = index_between(rng, loss, 0.1, 0.9);
    let step = loss.steps[i];
    let t = step as f64;
    let sigma = llm.noise_at(t);
    let low = (3.5 * sigma).exp() + 8.8 * sigma;
    let m = rng.range(low.max(1.5), 4.0f64.max(low));
    loss.values[i] = llm.level(t) * m;
    let onset = Onset {
        step,
        before: 0,
        after: llm.every,
    };
    let description = format!("{}; loss spike ×{m:.2} at step {step}", llm.describe());
    (draft.into_history(), Some(onset), description)
}

/// [`Family::GradSpikeEarly`](super::Family::GradSpikeEarly) and
/// [`Family::GradSpikeLate`](super::Family::GradSpikeLate): a healthy language-model run, one
/// gradient norm replaced by `m` times the run's median (and at least 4 times its trend there, since
/// early in the run the trend is still several times the median: the guard's floor is 3 times the
/// level, and 4 leaves room for the ±15% jitter of the values around the spike). Onset: that step; tolerance one
/// logging interval after.
pub(crate) fn grad_spike(rng: &mut Rng, when: When) -> Drawn {
    let llm = Llm::random(rng, 1.0);
    let mut draft = Draft::new();
    llm.write(rng, &mut draft);
    let (Some(g), Some(grad)) = (llm.grad, draft.column_mut(Split::Train, "grad_norm")) else {
        return (draft.into_history(), None, llm.describe());
    };
    let (lo, hi, m) = match when {
        When::Early => (0.02, 0.05, rng.range(10.0, 50.0)),
        When::Late => (0.5, 0.95, rng.range(5.0, 20.0)),
    };
    let i = index_between(rng, grad, lo, hi);
    let step = grad.steps[i];
    let median = median(&grad.values);
    let value = (m * median).max(4.0 * g.base(step as f64));
    grad.values[i] = value;
    let onset = Onset {
        step,
        before: 0,
        after: llm.every,
    };
    let description = format!(
        "{}; grad-norm spike {value:.3} (×{:.1} the median {median:.3}) at step {step}",
        llm.describe(),
        value / median
    );
    (draft.into_history(), Some(onset), description)
}

/// The median of `values` (0 when empty).
fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// [`Family::NonFinite`](super::Family::NonFinite): a healthy run (language-model or epoch-level,
/// even odds) whose training loss becomes NaN or +∞ at a point in 20–90% of it: that point only
/// (with the gradient norm there, if any), or from there on (every training and validation series).
/// Onset: that step; tolerance one logging interval of the loss after.
pub(crate) fn non_finite(rng: &mut Rng) -> Drawn {
    let (mut draft, interval, base) = if rng.chance(0.5) {
        let llm = Llm::random(rng, 1.0);
        let mut draft = Draft::new();
        llm.write(rng, &mut draft);
        (draft, llm.every, llm.describe())
    } else {
        let (draft, layout, description) = healthy_epoch_draft(rng);
        let every = if layout.batches {
            1
        } else {
            layout.steps_per_epoch
        };
        (draft, every, description)
    };
    let value = if rng.chance(0.5) {
        f64::NAN
    } else {
        f64::INFINITY
    };
    let persistent = rng.chance(0.5);
    let Some(loss) = draft.column(Split::Train, "loss") else {
        return (draft.into_history(), None, base);
    };
    let i = index_between(rng, loss, 0.2, 0.9);
    let step = loss.steps[i];
    let series: &[(Split, &str)] = if persistent {
        &[
            (Split::Train, "loss"),
            (Split::Train, "grad_norm"),
            (Split::Train, "loss_epoch"),
            (Split::Valid, "loss"),
        ]
    } else {
        &[(Split::Train, "loss"), (Split::Train, "grad_norm")]
    };
    for &(split, name) in series {
        let Some(c) = draft.column_mut(split, name) else {
            continue;
        };
        for (s, v) in c.steps.iter().zip(c.values.iter_mut()) {
            if *s == step || (persistent && *s > step) {
                *v = value;
            }
        }
    }
    let onset = Onset {
        step,
        before: 0,
        after: interval,
    };
    let extent = if persistent { "from there on" } else { "once" };
    let description = format!("{base}; loss {value} at step {step} {extent}");
    (draft.into_history(), Some(onset), description)
}

/// [`Family::OverfitFew`](super::Family::OverfitFew): a Hugging Face style fine-tune of 4–6 epochs
/// of 100–600 steps, training loss logged every 10 steps and falling 10–1000× over the run (noise
/// 5–20%), linear learning-rate decay, and one evaluation per epoch, each 3–30% worse than the one
/// before. Onset: the first evaluation; tolerance one epoch after.
pub(crate) fn overfit_few(rng: &mut Rng) -> Drawn {
    let epochs = rng.range_u64(4, 6);
    let k = rng.range_u64(10, 60) * 10;
    let total = epochs * k;
    let n = total as f64;
    let start = rng.log_uniform(0.3, 3.0);
    let factor = rng.log_uniform(10.0, 1000.0);
    let c = rng.range(0.5, 3.0);
    let noise = rng.range(0.05, 0.2);
    let lr0 = rng.log_uniform(1e-5, 5e-5);
    let level =
        |t: f64| start * (-factor.ln() * (1.0 - (-c * t / n).exp()) / (1.0 - (-c).exp())).exp();
    let mut draft = Draft::new();
    for step in (1..=total / 10).map(|i| i * 10) {
        let t = step as f64;
        let e = (step - 1) / k;
        let done = ((step - e * k) as f64 / k as f64).min(f64::from(MAX_EPOCH_FRACTION));
        let position = e as f64 + done;
        let loss = level(t) * (noise * rng.normal_clipped(3.0)).exp();
        draft.push(Origin::Step, Split::Train, "loss", step, position, loss);
        let lr = lr0 * (1.0 - t / n);
        draft.push(Origin::Step, Split::Train, "lr", step, position, lr);
    }
    let mut valid = level(k as f64) * rng.range(1.0, 1.5);
    let mut rises = Vec::new();
    for e in 0..epochs {
        if e > 0 {
            let r = rng.range(0.03, 0.3);
            rises.push(format!("+{:.0}%", 100.0 * r));
            valid *= 1.0 + r;
        }
        draft.push(
            Origin::Eval,
            Split::Valid,
            "loss",
            (e + 1) * k,
            e as f64,
            valid,
        );
    }
    let onset = Onset {
        step: k,
        before: 0,
        after: k,
    };
    let description = format!(
        "{epochs} epochs × {k} steps, train {start:.3} ÷{factor:.0} (c {c:.2}), noise {:.0}%, \
         lr {lr0:.1e} linear; valid rises {}",
        100.0 * noise,
        rises.join(" ")
    );
    (draft.into_history(), Some(onset), description)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_fall_in_their_fraction_of_the_run() {
        let column = Column {
            values: vec![0.0; 101],
            ..Column::default()
        };
        let mut rng = Rng::new(8);
        let cases = [
            (0.1, 0.9, 10, 90, "the middle of the run"),
            (0.02, 0.05, 2, 5, "early"),
            (0.5, 0.5, 50, 50, "a single point"),
        ];
        for (lo, hi, a, b, why) in cases {
            for _ in 0..200 {
                let i = index_between(&mut rng, &column, lo, hi);
                assert!((a..=b).contains(&i), "{why}: {i}");
            }
        }
    }

    #[test]
    fn the_median_ignores_non_finite_values() {
        let cases: [(&[f64], f64, &str); 3] = [
            (&[3.0, 1.0, 2.0], 2.0, "odd length"),
            (&[1.0, f64::NAN, 5.0, 3.0], 3.0, "NaN left out"),
            (&[], 0.0, "empty"),
        ];
        for (values, want, why) in cases {
            assert_eq!(median(values), want, "{why}");
        }
    }
}
