//! What callbacks ask of the training loop, and when each request goes back to "nothing asked".
//!
//! Control flows one way: callbacks make requests through the [`Context`](crate::Context); the bus
//! collects them and hands the loop a [`Decision`] after every event. Callbacks never touch the model.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Why training was asked to stop: which callback, which rule, and the values behind it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StopReason {
    /// Name of the callback that asked (as registered on the bus).
    pub callback: String,
    /// The rule that fired, e.g. `patience_exhausted`, `non_finite`, `divergence_threshold`.
    pub rule: Cow<'static, str>,
    /// One sentence with the values, e.g. `valid/loss did not improve on 0.412 for 5 evaluations`.
    pub message: String,
    /// Global step of the event at which the stop was asked.
    pub step: u64,
    /// Epoch of that event (0-based).
    pub epoch: u32,
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} stopped training at step {} (epoch {}) by rule {}: {}",
            self.callback, self.step, self.epoch, self.rule, self.message
        )
    }
}

/// The bus's answer to the loop after an event: go on or stop, and whether to change the learning rate.
///
/// `Copy` and two words big; the stop reason itself is read with [`Bus::stop_reason`](crate::Bus::stop_reason).
///
/// - **stop**: once any callback asks to stop, every later decision of the run says stop (it is sticky);
///   it goes back to false only through [`Bus::clear_stop`](crate::Bus::clear_stop).
/// - **new learning rate**: a one-shot request: it is set in the decision of the event during which a
///   callback asked, and is absent from the next decision. The loop applies it when it sees it. When
///   several callbacks ask during one event, the last in dispatch order wins.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Decision {
    stop: bool,
    new_lr: Option<f64>,
}

impl Decision {
    /// Continue, with the learning rate unchanged.
    pub const CONTINUE: Decision = Decision {
        stop: false,
        new_lr: None,
    };

    /// Whether the loop should stop now.
    pub fn should_stop(&self) -> bool {
        self.stop
    }

    /// The learning rate to apply from the next step on, if a callback asked for one.
    pub fn new_lr(&self) -> Option<f64> {
        self.new_lr
    }
}

/// The requests collected during one event; owned by the bus, written through the context.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Control {
    /// Sticky stop request (first reason wins).
    pub stop: Option<StopReason>,
    /// One-shot learning-rate request; cleared when the next event starts.
    #[serde(skip)]
    pub new_lr: Option<f64>,
    /// The learning rate in force: the last one reported by the loop or requested by a callback.
    pub lr: Option<f64>,
}

impl Control {
    /// Clears the one-shot requests at the start of an event.
    #[inline]
    pub fn begin_event(&mut self) {
        self.new_lr = None;
    }

    /// The decision to hand back after the event.
    #[inline]
    pub fn decision(&self) -> Decision {
        Decision {
            stop: self.stop.is_some(),
            new_lr: self.new_lr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lr_request_is_one_shot_and_stop_is_sticky() {
        let mut c = Control {
            new_lr: Some(0.1),
            stop: Some(StopReason {
                callback: "cb".into(),
                rule: "test".into(),
                message: "m".into(),
                step: 3,
                epoch: 0,
            }),
            lr: None,
        };
        assert_eq!(c.decision().new_lr(), Some(0.1));
        c.begin_event();
        let d = c.decision();
        assert_eq!(d.new_lr(), None, "the LR request lasts one event");
        assert!(d.should_stop(), "a stop stays until cleared");
    }
}
