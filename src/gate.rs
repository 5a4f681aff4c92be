//! The bus's per-callback step gate, built from [`Callback::step_filter`](crate::Callback::step_filter).
//!
//! A step's metric keys fold into a 64-bit mask (bit `key mod 64`); a callback that wants only the
//! steps carrying certain metrics is called when its own mask meets the step's. Keys that share a bit
//! make the test a superset (a callback may be called for a step without its metric, which it
//! already handles), never a subset: no wanted step is skipped.

use crate::callback::StepFilter;
use crate::event::{MetricKey, Split};
use crate::history::History;

/// Whether a step reaches one callback: always (`every`), or when the step's mask meets `mask`.
#[derive(Debug)]
pub(crate) struct StepGate {
    every: bool,
    mask: u64,
    /// Watched metrics; looked up again whenever the registry grows (`resolved` is the number of
    /// series at the last lookup), since a key can only be on a step once registered.
    names: Vec<(Split, String)>,
    resolved: usize,
}

impl StepGate {
    pub(crate) fn new(filter: StepFilter) -> Self {
        let (every, names) = match filter {
            StepFilter::Every => (true, Vec::new()),
            StepFilter::Never => (false, Vec::new()),
            StepFilter::Carrying(names) => (false, names),
        };
        StepGate {
            every,
            mask: 0,
            names,
            resolved: usize::MAX,
        }
    }

    /// Looks the watched names up again if the history registered series since the last time.
    pub(crate) fn resolve(&mut self, history: &History) {
        if self.resolved != history.len() {
            self.mask = self
                .names
                .iter()
                .filter_map(|(split, name)| history.find(*split, name))
                .fold(0, |m, k| m | bit(k));
            self.resolved = history.len();
        }
    }

    /// Whether every step reaches the callback.
    pub(crate) fn is_every(&self) -> bool {
        self.every
    }

    /// Whether a step whose keys fold to `step_mask` reaches the callback.
    #[inline]
    pub(crate) fn admits(&self, step_mask: u64) -> bool {
        self.every | (self.mask & step_mask != 0)
    }
}

/// The bit of one key in a step mask.
#[inline]
pub(crate) fn bit(key: MetricKey) -> u64 {
    1u64 << (key.index() % 64)
}

/// The mask of a step's metrics.
#[inline]
pub(crate) fn step_mask(metrics: &[(MetricKey, f64)]) -> u64 {
    metrics.iter().fold(0, |m, (k, _)| m | bit(*k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_by_registered_keys_and_resolves_late_names() {
        let mut h = History::new();
        let loss = h.key(Split::Train, "loss");
        let mut gate = StepGate::new(StepFilter::Carrying(vec![
            (Split::Train, "loss".into()),
            (Split::Valid, "loss".into()),
        ]));
        gate.resolve(&h);
        let cases = [
            (step_mask(&[(loss, 1.0)]), true, "carries train/loss"),
            (0, false, "a step without metrics"),
        ];
        for (mask, want, why) in cases {
            assert_eq!(gate.admits(mask), want, "{why}");
        }
        // valid/loss is registered after the gate was built: found at the next resolve.
        let other = h.key(Split::Train, "tokens");
        let valid = h.key(Split::Valid, "loss");
        assert!(!gate.admits(step_mask(&[(valid, 1.0)])), "not resolved yet");
        gate.resolve(&h);
        assert!(gate.admits(step_mask(&[(valid, 1.0)])), "resolved");
        assert!(!gate.admits(step_mask(&[(other, 1.0)])), "an unwatched key");
    }

    #[test]
    fn keys_sharing_a_bit_are_admitted_never_dropped() {
        let mut h = History::new();
        let keys: Vec<MetricKey> = (0..130)
            .map(|i| h.key(Split::Train, &format!("m{i}")))
            .collect();
        let mut gate = StepGate::new(StepFilter::carrying(Split::Train, "m70"));
        gate.resolve(&h);
        assert!(gate.admits(step_mask(&[(keys[70], 1.0)])), "its own key");
        // 6 and 134 would share bit 6 with 70: a superset, which the callback filters itself.
        assert!(
            gate.admits(step_mask(&[(keys[6], 1.0)])),
            "a key on the same bit"
        );
        assert!(
            !gate.admits(step_mask(&[(keys[7], 1.0)])),
            "a key on another bit"
        );
        assert!(
            StepGate::new(StepFilter::Every).admits(0),
            "every: even an empty step"
        );
        assert!(!StepGate::new(StepFilter::Never).admits(u64::MAX), "never");
    }
}
