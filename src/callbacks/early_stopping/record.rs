//! What early stopping records: the rule behind a stop, the outcome of each check, the best point
//! (the weights to restore) and the stop itself.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The rule that made [`EarlyStopping`](super::EarlyStopping) stop; its `snake_case` name is the
/// `rule` of the [`StopReason`](crate::StopReason).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopRule {
    /// The judged value was NaN or infinite and `check_finite` is on (Lightning's first rule).
    NonFinite,
    /// The judged value strictly beat the stopping threshold: the target was reached.
    StoppingThreshold,
    /// The judged value was strictly worse than the divergence threshold.
    DivergenceThreshold,
    /// `patience` checks in a row without an improvement.
    PatienceExhausted,
    /// Like [`StopRule::PatienceExhausted`], but no value ever beat the baseline (Keras's `baseline`):
    /// the wait was never reset.
    BaselineNotReached,
}

impl StopRule {
    /// The `snake_case` name: `non_finite`, `stopping_threshold`, `divergence_threshold`,
    /// `patience_exhausted` or `baseline_not_reached`.
    pub fn as_str(self) -> &'static str {
        match self {
            StopRule::NonFinite => "non_finite",
            StopRule::StoppingThreshold => "stopping_threshold",
            StopRule::DivergenceThreshold => "divergence_threshold",
            StopRule::PatienceExhausted => "patience_exhausted",
            StopRule::BaselineNotReached => "baseline_not_reached",
        }
    }
}

impl fmt::Display for StopRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one check decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    /// A new best that also beats the baseline (or there is none): the wait went back to 0.
    Improved,
    /// A new best that does not beat the baseline: the best moved, the wait still grew (Keras).
    ImprovedBelowBaseline,
    /// No improvement; the wait grew but has not reached the patience (or the epoch-0 guard held).
    NoImprovement,
    /// The check asked the loop to stop, by this rule.
    Stop(StopRule),
}

/// One check of the monitored value: where, what was judged, and what was decided.
///
/// Early stopping keeps one per check (see [`EarlyStopping::decisions`](super::EarlyStopping::decisions));
/// values skipped in warm-up or between checks (`with_check_every`) leave no entry.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StopCheck {
    /// Zero-based position of the value among all values of the monitored metric that the callback
    /// received (NaN, warm-up and skipped values included): its index in the metric's history series
    /// when the callback watched the run from the start.
    pub index: u64,
    /// Global step of the event.
    pub step: u64,
    /// Epoch of the event (0-based).
    pub epoch: u32,
    /// The value as reported.
    #[serde(with = "crate::persist::float")]
    pub value: f64,
    /// The value judged: the smoothed value with `with_smoothing`, else `value`.
    #[serde(with = "crate::persist::float")]
    pub score: f64,
    /// The best judged value after this check (the start is the worst value, `±inf`).
    #[serde(with = "crate::persist::float")]
    pub best: f64,
    /// Checks without improvement counted after this check.
    pub wait: u32,
    /// The decision.
    pub outcome: CheckOutcome,
}

impl StopCheck {
    /// Whether this check set a new best (a moment to save the weights).
    pub fn improved(&self) -> bool {
        matches!(
            self.outcome,
            CheckOutcome::Improved | CheckOutcome::ImprovedBelowBaseline
        )
    }

    /// The rule that stopped training at this check, if any.
    pub fn stop(&self) -> Option<StopRule> {
        match self.outcome {
            CheckOutcome::Stop(rule) => Some(rule),
            _ => None,
        }
    }
}

impl fmt::Display for StopCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} (step {}, epoch {}): {}",
            self.index,
            self.step,
            self.epoch,
            num(self.score)
        )?;
        match self.outcome {
            CheckOutcome::Improved => write!(f, " is the new best; wait reset to 0"),
            CheckOutcome::ImprovedBelowBaseline => write!(
                f,
                " is the new best but misses the baseline; wait {}",
                self.wait
            ),
            CheckOutcome::NoImprovement => {
                write!(
                    f,
                    " does not improve on {}; wait {}",
                    num(self.best),
                    self.wait
                )
            }
            CheckOutcome::Stop(rule) => write!(f, " stops training by rule {rule}"),
        }
    }
}

/// The best check so far: where the weights worth restoring were.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BestPoint {
    /// Zero-based index of the value among the monitored metric's values (as in [`StopCheck::index`]).
    pub index: u64,
    /// Global step of the event: restore the weights saved at this step.
    pub step: u64,
    /// Epoch of the event (0-based).
    pub epoch: u32,
    /// The best judged value.
    #[serde(with = "crate::persist::float")]
    pub value: f64,
}

/// The first stop early stopping asked for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StopInfo {
    /// The rule that fired.
    pub rule: StopRule,
    /// Zero-based index of the value among the monitored metric's values.
    pub index: u64,
    /// Global step of the event.
    pub step: u64,
    /// Epoch of the event (0-based).
    pub epoch: u32,
    /// The judged value that decided.
    #[serde(with = "crate::persist::float")]
    pub value: f64,
    /// The message given to the loop with the stop (the values behind the decision).
    pub message: String,
    /// The weights to restore, if any check ever improved.
    pub restore: Option<BestPoint>,
}

/// A number for messages: 4 decimals in the usual range, scientific notation outside it.
pub(super) fn num(x: f64) -> String {
    let a = x.abs();
    if x == 0.0 || !x.is_finite() || (1e-3..1e5).contains(&a) {
        format!("{x:.4}")
    } else {
        format!("{x:.4e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        for (rule, name) in [
            (StopRule::NonFinite, "\"non_finite\""),
            (StopRule::BaselineNotReached, "\"baseline_not_reached\""),
        ] {
            assert_eq!(serde_json::to_string(&rule).unwrap(), name);
            assert_eq!(format!("\"{rule}\""), name);
        }
        assert_eq!(num(0.41234), "0.4123");
        assert_eq!(num(2.5e-5), "2.5000e-5");
        assert_eq!(num(f64::NAN), "NaN");
        assert_eq!(num(f64::NEG_INFINITY), "-inf");
    }

    #[test]
    fn check_round_trips_with_non_finite_values() {
        let c = StopCheck {
            index: 3,
            step: 30,
            epoch: 2,
            value: f64::NAN,
            score: f64::NAN,
            best: f64::INFINITY,
            wait: 1,
            outcome: CheckOutcome::Stop(StopRule::NonFinite),
        };
        let back: StopCheck = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert!(back.value.is_nan() && back.score.is_nan());
        assert_eq!(back.best, f64::INFINITY);
        assert_eq!(back.stop(), Some(StopRule::NonFinite));
        assert!(!back.improved());
        assert_eq!(
            c.to_string(),
            "#3 (step 30, epoch 2): NaN stops training by rule non_finite"
        );
    }
}
