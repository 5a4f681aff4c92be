//! [`Timing`]: when in the run a fit problem began, and what that suggests doing about it.

use std::fmt;

use serde::{Deserialize, Serialize};

/// When an overfitting episode (or a widening generalization gap) began, as a share of the run.
///
/// The share is the onset's position in the planned run: `(onset epoch + 1) / max_epochs` when the
/// loop announced `max_epochs` in [`TrainBegin`](crate::TrainBegin) (unless it planned a single
/// epoch and announced `max_steps`), else `onset step / max_steps`,
/// else the onset evaluation's rank among the evaluations seen so far. The thirds of the run map to
/// advice:
///
/// ```
/// use curvewatch::callbacks::overfitting::Timing;
/// assert_eq!(Timing::from_fraction(0.2), Timing::Early);
/// assert_eq!(Timing::from_fraction(0.5), Timing::Middle);
/// assert_eq!(Timing::from_fraction(0.9), Timing::Late);
/// assert!(Timing::Early.recommendation().contains("more data"));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    /// In the first third: the model memorises before it generalises.
    Early,
    /// In the middle third.
    Middle,
    /// In the last third: the model learned most of what it can first.
    Late,
}

impl Timing {
    /// The timing of an onset at `fraction` of the run: below 1/3 early, below 2/3 middle, else
    /// late. Values outside `[0, 1]` are clamped; NaN counts as the middle (the most generic
    /// advice).
    pub fn from_fraction(fraction: f64) -> Timing {
        if fraction.is_nan() {
            Timing::Middle
        } else if fraction < 1.0 / 3.0 {
            Timing::Early
        } else if fraction < 2.0 / 3.0 {
            Timing::Middle
        } else {
            Timing::Late
        }
    }

    /// What to do about a fit problem that began at this point of the run, in plain words.
    pub fn recommendation(self) -> &'static str {
        match self {
            Timing::Early => {
                "it began early, so the model memorises before it generalises: get more data \
                 (or augment it) or regularise more strongly (weight decay, dropout, a smaller \
                 model)"
            }
            Timing::Middle => {
                "it began midway: use early stopping and keep the best checkpoint, or add dropout"
            }
            Timing::Late => {
                "it began late, so capacity is fine: keep the best checkpoint and look at the \
                 learning rate (decay it sooner or lower its peak)"
            }
        }
    }

    /// `early`, `middle` or `late`.
    pub fn as_str(self) -> &'static str {
        match self {
            Timing::Early => "early",
            Timing::Middle => "middle",
            Timing::Late => "late",
        }
    }
}

impl fmt::Display for Timing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The share of the run at which an episode began (see [`Timing`]), in `[0, 1]`.
pub(super) fn onset_fraction(
    onset: (u32, u64, u64),
    max_epochs: Option<u32>,
    max_steps: Option<u64>,
    evaluations: u64,
) -> f64 {
    let (epoch, step, rank) = onset;
    // A run of one planned epoch (LLM pretraining) says nothing in epochs: steps decide then.
    let f = match (max_epochs.filter(|&e| e > 0), max_steps.filter(|&s| s > 0)) {
        (Some(1), Some(s)) => step as f64 / s as f64,
        (Some(e), _) => (f64::from(epoch) + 1.0) / f64::from(e),
        (None, Some(s)) => step as f64 / s as f64,
        (None, None) if evaluations > 0 => rank as f64 / evaluations as f64,
        (None, None) => 1.0,
    };
    f.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timing_table() {
        let cases = [
            (0.0, Timing::Early, "the very start is early"),
            (0.33, Timing::Early, "just under a third"),
            (
                1.0 / 3.0,
                Timing::Middle,
                "a third exactly starts the middle",
            ),
            (0.66, Timing::Middle, "just under two thirds"),
            (2.0 / 3.0, Timing::Late, "two thirds exactly starts the end"),
            (1.0, Timing::Late, "the last evaluation"),
            (-5.0, Timing::Early, "below 0 clamps to early"),
            (7.0, Timing::Late, "above 1 clamps to late"),
            (f64::NAN, Timing::Middle, "NaN gets the generic advice"),
        ];
        for (f, timing, why) in cases {
            assert_eq!(Timing::from_fraction(f), timing, "{why}");
        }
    }

    #[test]
    fn recommendations_differ_by_timing() {
        let table = [
            (Timing::Early, "more data", "early: data or regularisation"),
            (Timing::Early, "regularise", "early: data or regularisation"),
            (Timing::Middle, "early stopping", "middle: early stopping"),
            (Timing::Middle, "dropout", "middle: or dropout"),
            (Timing::Late, "capacity is fine", "late: capacity is fine"),
            (Timing::Late, "learning rate", "late: look at the LR"),
        ];
        for (timing, phrase, why) in table {
            assert!(timing.recommendation().contains(phrase), "{why}");
        }
    }

    #[test]
    fn onset_fraction_table() {
        let cases = [
            (
                (4, 400, 5),
                Some(10),
                None,
                7,
                0.5,
                "epoch 4 of 10 ends half the run",
            ),
            (
                (0, 10, 1),
                Some(10),
                Some(1000),
                7,
                0.1,
                "max_epochs wins over max_steps",
            ),
            ((3, 250, 2), None, Some(1000), 7, 0.25, "step 250 of 1000"),
            (
                (0, 150, 5),
                Some(1),
                Some(600),
                7,
                0.25,
                "a one-epoch run is judged by its steps",
            ),
            (
                (0, 150, 5),
                Some(1),
                None,
                7,
                1.0,
                "one epoch, no step plan",
            ),
            ((3, 250, 2), None, None, 8, 0.25, "2nd of 8 evaluations"),
            (
                (30, 9000, 31),
                Some(10),
                None,
                31,
                1.0,
                "past the plan clamps to 1",
            ),
            ((0, 0, 0), None, None, 0, 1.0, "nothing known: late"),
            (
                (0, 0, 1),
                Some(0),
                Some(0),
                4,
                0.25,
                "zero plans are ignored",
            ),
        ];
        for (onset, epochs, steps, evals, expected, why) in cases {
            let f = onset_fraction(onset, epochs, steps, evals);
            assert!((f - expected).abs() < 1e-12, "{why}: {f}");
        }
    }
}
