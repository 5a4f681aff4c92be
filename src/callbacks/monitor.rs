//! [`Monitor`]: which metric a callback watches, which way is better, and what counts as an improvement.
//!
//! Shared by early stopping, ReduceLROnPlateau and the detectors, so that "improved" means the same
//! thing everywhere (Keras's `MonitorCallback` idea).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::callback::StepFilter;
use crate::context::Context;
use crate::event::{lookup, MetricKey, Split};

/// Which way a metric improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Lower is better (losses, errors, perplexity).
    Minimize,
    /// Higher is better (accuracy, F1, AUC, BLEU).
    Maximize,
}

impl Direction {
    /// The direction a metric named `name` usually has: maximise for names that contain `acc`, `f1`,
    /// `auc`, `precision`, `recall`, `bleu`, `rouge`, `iou`, `dice`, `map` or `score`; minimise otherwise.
    /// (Keras's `auto` mode only knows `acc`; pass a direction explicitly when in doubt.)
    pub fn infer(name: &str) -> Direction {
        let lower = name.to_ascii_lowercase();
        const MAXIMISED: [&str; 11] = [
            "acc",
            "f1",
            "auc",
            "precision",
            "recall",
            "bleu",
            "rouge",
            "iou",
            "dice",
            "map",
            "score",
        ];
        if MAXIMISED.iter().any(|m| lower.contains(m)) {
            Direction::Maximize
        } else {
            Direction::Minimize
        }
    }

    /// Whether `a` is strictly better than `b` in this direction.
    pub fn better(self, a: f64, b: f64) -> bool {
        match self {
            Direction::Minimize => a < b,
            Direction::Maximize => a > b,
        }
    }

    /// The worst possible value (the starting "best" of Keras): `+inf` or `-inf`.
    pub fn worst(self) -> f64 {
        match self {
            Direction::Minimize => f64::INFINITY,
            Direction::Maximize => f64::NEG_INFINITY,
        }
    }
}

/// A watched metric: split, name, direction, and the absolute and relative deltas an improvement must
/// exceed.
///
/// An improvement over `best` needs `current` to beat `best` by more than
/// `max(min_delta, relative_delta * |best|)` (strictly, as in Keras and Lightning: with both deltas 0,
/// any strict improvement counts; an equal value does not).
///
/// ```
/// use curvewatch::callbacks::{Direction, Monitor};
/// use curvewatch::Split;
/// let m = Monitor::new(Split::Valid, "loss").with_min_delta(0.01);
/// assert_eq!(m.direction(), Direction::Minimize);
/// assert!(m.is_improvement(0.5, 0.52));
/// assert!(!m.is_improvement(0.515, 0.52), "0.005 is not more than min_delta");
/// let acc = Monitor::new(Split::Valid, "accuracy").with_relative_delta(0.01);
/// assert!(acc.is_improvement(0.91, 0.90) && !acc.is_improvement(0.905, 0.90));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Monitor {
    split: Split,
    metric: String,
    direction: Direction,
    min_delta: f64,
    relative_delta: f64,
    #[serde(skip)]
    key: Option<MetricKey>,
}

impl Monitor {
    /// Watches `split/metric`, with the direction inferred from the name ([`Direction::infer`]).
    pub fn new(split: Split, metric: &str) -> Self {
        Monitor {
            split,
            metric: metric.to_owned(),
            direction: Direction::infer(metric),
            min_delta: 0.0,
            relative_delta: 0.0,
            key: None,
        }
    }

    /// Sets the direction explicitly.
    pub fn with_direction(mut self, direction: Direction) -> Self {
        self.direction = direction;
        self
    }

    /// Sets the absolute minimum change that counts as an improvement (its sign is ignored, as Keras's
    /// and Lightning's `min_delta` sign follows the mode). Non-finite values are treated as 0.
    pub fn with_min_delta(mut self, delta: f64) -> Self {
        self.min_delta = finite_abs(delta);
        self
    }

    /// Sets the minimum change relative to the best value, e.g. `0.001` for 0.1%
    /// (the relative `min_delta` asked for in Lightning issue #12094).
    pub fn with_relative_delta(mut self, delta: f64) -> Self {
        self.relative_delta = finite_abs(delta);
        self
    }

    /// The split watched.
    pub fn split(&self) -> Split {
        self.split
    }

    /// The metric name watched.
    pub fn metric(&self) -> &str {
        &self.metric
    }

    /// Which way is better.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The absolute delta.
    pub fn min_delta(&self) -> f64 {
        self.min_delta
    }

    /// The relative delta.
    pub fn relative_delta(&self) -> f64 {
        self.relative_delta
    }

    /// The margin `current` must beat `best` by: `max(min_delta, relative_delta * |best|)`.
    pub fn margin(&self, best: f64) -> f64 {
        let relative = if best.is_finite() {
            self.relative_delta * best.abs()
        } else {
            0.0
        };
        self.min_delta.max(relative)
    }

    /// Whether `current` improves on `best` by more than the margin. Non-finite `current` never does;
    /// any finite value improves on a non-finite `best` (the start).
    pub fn is_improvement(&self, current: f64, best: f64) -> bool {
        if !current.is_finite() {
            return false;
        }
        if !best.is_finite() {
            return true;
        }
        let margin = self.margin(best);
        match self.direction {
            Direction::Minimize => current + margin < best,
            Direction::Maximize => current - margin > best,
        }
    }

    /// `split/metric`, as used in diagnoses and reasons.
    pub fn label(&self) -> String {
        format!("{}/{}", self.split, self.metric)
    }

    /// The key of the watched metric, resolved once through the context and cached.
    pub fn key(&mut self, ctx: &mut Context<'_>) -> MetricKey {
        match self.key {
            Some(k) => k,
            None => {
                let k = ctx.key(self.split, &self.metric);
                self.key = Some(k);
                k
            }
        }
    }

    /// The step filter of a callback that acts only on steps carrying this metric.
    pub fn step_filter(&self) -> StepFilter {
        StepFilter::carrying(self.split, &self.metric)
    }

    /// The watched metric's value in an event's metrics, if the event carries it.
    #[inline]
    pub fn value_in(&mut self, ctx: &mut Context<'_>, metrics: &[(MetricKey, f64)]) -> Option<f64> {
        let key = self.key(ctx);
        lookup(metrics, key)
    }
}

impl fmt::Display for Monitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.split, self.metric)
    }
}

fn finite_abs(x: f64) -> f64 {
    if x.is_finite() {
        x.abs()
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn improvement_table() {
        let min = Monitor::new(Split::Valid, "loss");
        let min_d = min.clone().with_min_delta(-0.1);
        let max = Monitor::new(Split::Valid, "val_accuracy");
        let rel = Monitor::new(Split::Valid, "loss").with_relative_delta(0.1);
        let both = rel.clone().with_min_delta(0.5);
        let cases: &[(&Monitor, f64, f64, bool, &str)] = &[
            (&min, 0.9, 1.0, true, "lower loss improves"),
            (
                &min,
                1.0,
                1.0,
                false,
                "an equal value is not an improvement",
            ),
            (
                &min,
                0.5,
                f64::INFINITY,
                true,
                "anything finite beats the start",
            ),
            (&min, f64::NAN, 1.0, false, "NaN never improves"),
            (
                &min_d,
                0.95,
                1.0,
                false,
                "negative min_delta means 0.1: 0.05 is too little",
            ),
            (&min_d, 0.89, 1.0, true, "0.11 beats min_delta 0.1"),
            (&max, 0.8, 0.7, true, "accuracy is maximised"),
            (&max, 0.6, 0.7, false, "lower accuracy is worse"),
            (&rel, 9.5, 10.0, false, "5% is below a 10% relative delta"),
            (&rel, 8.9, 10.0, true, "11% beats a 10% relative delta"),
            (
                &both,
                0.3,
                1.0,
                true,
                "the larger margin applies: 0.5 from min_delta",
            ),
            (&both, 0.6, 1.0, false, "0.4 is below min_delta 0.5"),
        ];
        for (m, current, best, expected, why) in cases {
            assert_eq!(m.is_improvement(*current, *best), *expected, "{why}");
        }
    }

    #[test]
    fn direction_inference() {
        for (name, dir) in [
            ("loss", Direction::Minimize),
            ("val_loss", Direction::Minimize),
            ("perplexity", Direction::Minimize),
            ("val_acc", Direction::Maximize),
            ("eval_f1", Direction::Maximize),
            ("mAP", Direction::Maximize),
        ] {
            assert_eq!(Direction::infer(name), dir, "{name}");
        }
    }
}
