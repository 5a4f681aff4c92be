//! Generated runs with a known pathology and a known onset: the families of the quality evaluation.
//!
//! [`generate`] draws one run of a [`Family`] from a seed. Every parameter is random per seed (the
//! loss scale log-uniform over several decades, lengths, noise, schedules, the onset), within the
//! ranges each family's documentation gives; the same seed always gives the same run.

mod draft;
mod epoch;
mod events;
mod fit;
mod llm;
mod plateau;

use std::fmt;

use serde::Serialize;

use crate::history::History;
use crate::quality::rng::Rng;

/// A kind of generated run: healthy, or with one pathology.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Epoch-level training that converges: exponential or power-law loss, validation close above
    /// it and never rising, half the runs with noisy per-batch losses; constant, step-decayed or
    /// cosine learning rate.
    HealthyEpoch,
    /// Step-level language-model pre-training: a power-law loss from `ln(vocab)`, warmup and cosine
    /// decay, a decaying gradient norm; half the runs evaluate now and then.
    HealthyLlm,
    /// Train and validation losses both grow by 10–40% per epoch after 0–10 falling epochs.
    Exploding,
    /// A per-step loss that never leaves `ln(vocab)`.
    StuckFromStart,
    /// A U-shaped validation loss over 20–100 epochs while training keeps improving.
    OverfitMany,
    /// A fine-tune with 4–6 evaluations, each worse than the one before, from the first.
    OverfitFew,
    /// A U-shaped validation loss with large epoch-to-epoch swings.
    OverfitNoisy,
    /// A warmup to a learning rate past the critical one: the loss climbs back towards `ln(vocab)`.
    WarmupTooHigh,
    /// A healthy language-model run with one isolated loss spike.
    LossSpike,
    /// A healthy language-model run with one gradient-norm spike early (2–5% of the run).
    GradSpikeEarly,
    /// A healthy language-model run with one gradient-norm spike late (50–95% of the run).
    GradSpikeLate,
    /// A healthy run whose loss becomes NaN or infinite once, or from some point on.
    NonFinite,
    /// A loss that falls, stays flat for 20–40% of the run, then falls again.
    PlateauThenResume,
}

impl Family {
    /// Every family, healthy ones first.
    pub const ALL: [Family; 13] = [
        Family::HealthyEpoch,
        Family::HealthyLlm,
        Family::Exploding,
        Family::StuckFromStart,
        Family::OverfitMany,
        Family::OverfitFew,
        Family::OverfitNoisy,
        Family::WarmupTooHigh,
        Family::LossSpike,
        Family::GradSpikeEarly,
        Family::GradSpikeLate,
        Family::NonFinite,
        Family::PlateauThenResume,
    ];

    /// The `snake_case` name (`healthy_epoch`, `loss_spike`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Family::HealthyEpoch => "healthy_epoch",
            Family::HealthyLlm => "healthy_llm",
            Family::Exploding => "exploding",
            Family::StuckFromStart => "stuck_from_start",
            Family::OverfitMany => "overfit_many",
            Family::OverfitFew => "overfit_few",
            Family::OverfitNoisy => "overfit_noisy",
            Family::WarmupTooHigh => "warmup_too_high",
            Family::LossSpike => "loss_spike",
            Family::GradSpikeEarly => "grad_spike_early",
            Family::GradSpikeLate => "grad_spike_late",
            Family::NonFinite => "non_finite",
            Family::PlateauThenResume => "plateau_then_resume",
        }
    }

    /// The family named `name` (its [`Family::as_str`], `-` accepted for `_`, any case).
    ///
    /// ```
    /// use curvewatch::quality::Family;
    /// assert_eq!(Family::from_name("loss-spike"), Some(Family::LossSpike));
    /// assert_eq!(Family::from_name("nope"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Family> {
        let name = name.trim().to_ascii_lowercase().replace('-', "_");
        Family::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// Whether runs of this family have nothing wrong with them (any warning is a false alarm).
    pub fn is_healthy(self) -> bool {
        matches!(self, Family::HealthyEpoch | Family::HealthyLlm)
    }

    /// This family's index in [`Family::ALL`].
    fn index(self) -> u64 {
        Family::ALL.iter().position(|&f| f == self).unwrap_or(0) as u64
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a pathology begins, and how far from it a diagnosis may place it: the tolerance window is
/// `[step - before, step + after]`, in steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Onset {
    /// The step where it begins.
    pub step: u64,
    /// Steps before `step` that still count as locating it.
    pub before: u64,
    /// Steps after `step` that still count as locating it.
    pub after: u64,
}

impl Onset {
    /// The tolerance window `[step - before, step + after]` (saturating at 0).
    pub fn window(&self) -> std::ops::RangeInclusive<u64> {
        self.step.saturating_sub(self.before)..=self.step.saturating_add(self.after)
    }

    /// Whether `step` lies in the tolerance window.
    ///
    /// ```
    /// use curvewatch::quality::Onset;
    /// let onset = Onset { step: 100, before: 10, after: 50 };
    /// assert!(onset.contains(90) && onset.contains(150));
    /// assert!(!onset.contains(89) && !onset.contains(151));
    /// ```
    pub fn contains(&self, step: u64) -> bool {
        self.window().contains(&step)
    }
}

/// One generated run: its family and seed, the recorded history, the onset of its pathology (`None`
/// for a healthy run), and a line describing the parameters drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratedRun {
    /// The family it was drawn from.
    pub family: Family,
    /// The seed it was drawn with.
    pub seed: u64,
    /// Its series, as a live loop would have recorded them.
    pub history: History,
    /// Where its pathology begins (`None` for healthy runs).
    pub onset: Option<Onset>,
    /// The parameters drawn, in words (for debugging a failing seed).
    pub description: String,
}

impl GeneratedRun {
    /// The largest step recorded in any series (the run's length in steps).
    pub fn last_step(&self) -> u64 {
        last_step(&self.history)
    }
}

/// The largest step of any series of `history` (0 when empty).
pub(crate) fn last_step(history: &History) -> u64 {
    history
        .iter()
        .filter_map(|(_, s)| s.steps().iter().copied().max())
        .max()
        .unwrap_or(0)
}

/// What a family generator returns: the history, the onset, the description.
pub(crate) type Drawn = (History, Option<Onset>, String);

/// Draws run `seed` of `family`. Deterministic: the same family and seed give the same run.
///
/// ```
/// use curvewatch::quality::{generate, Family};
/// let run = generate(Family::LossSpike, 3);
/// assert_eq!(run, generate(Family::LossSpike, 3));
/// let onset = run.onset.unwrap();
/// assert!(onset.step <= run.last_step());
/// ```
pub fn generate(family: Family, seed: u64) -> GeneratedRun {
    // Each family draws from its own stream, so that seed 0 of two families are unrelated.
    let mut rng = Rng::new(seed ^ family.index().wrapping_mul(0xA076_1D64_78BD_642F));
    let (history, onset, description) = match family {
        Family::HealthyEpoch => fit::healthy_epoch(&mut rng),
        Family::HealthyLlm => llm::healthy_llm(&mut rng),
        Family::Exploding => fit::exploding(&mut rng),
        Family::StuckFromStart => llm::stuck_from_start(&mut rng),
        Family::OverfitMany => fit::overfit(&mut rng, fit::Overfit::Many),
        Family::OverfitFew => events::overfit_few(&mut rng),
        Family::OverfitNoisy => fit::overfit(&mut rng, fit::Overfit::Noisy),
        Family::WarmupTooHigh => llm::warmup_too_high(&mut rng),
        Family::LossSpike => events::loss_spike(&mut rng),
        Family::GradSpikeEarly => events::grad_spike(&mut rng, events::When::Early),
        Family::GradSpikeLate => events::grad_spike(&mut rng, events::When::Late),
        Family::NonFinite => events::non_finite(&mut rng),
        Family::PlateauThenResume => plateau::plateau_then_resume(&mut rng),
    };
    GeneratedRun {
        family,
        seed,
        history,
        onset,
        description,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in Family::ALL {
            assert_eq!(Family::from_name(f.as_str()), Some(f), "{f}");
        }
        let cases = [
            (" Overfit-Few ", Some(Family::OverfitFew), "case and dashes"),
            ("overfit", None, "a prefix is not a name"),
            ("", None, "empty"),
        ];
        for (name, want, why) in cases {
            assert_eq!(Family::from_name(name), want, "{why}");
        }
    }

    #[test]
    fn only_the_healthy_families_are_healthy() {
        let healthy: Vec<Family> = Family::ALL.into_iter().filter(|f| f.is_healthy()).collect();
        assert_eq!(healthy, vec![Family::HealthyEpoch, Family::HealthyLlm]);
    }
}
