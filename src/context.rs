//! [`Context`]: what a callback sees of the run during a hook, and how it makes requests.

use std::borrow::Cow;

use crate::control::{Control, StopReason};
use crate::diagnosis::Diagnosis;
use crate::event::{MetricKey, Split};
use crate::history::History;

/// A callback's view of the run during one hook: the shared history (read-only), the position, the
/// diagnoses so far, and the requests it can make (stop, set the learning rate, emit a diagnosis).
///
/// Built by the bus for each hook call; callbacks never keep their own copy of the history.
pub struct Context<'a> {
    pub(crate) history: &'a mut History,
    pub(crate) control: &'a mut Control,
    pub(crate) pending: &'a mut Vec<Diagnosis>,
    pub(crate) diagnoses: &'a [Diagnosis],
    pub(crate) callback: &'a str,
    pub(crate) step: u64,
    pub(crate) epoch: u32,
}

impl<'a> Context<'a> {
    /// The history of the run, with this event's metrics already recorded.
    pub fn history(&self) -> &History {
        self.history
    }

    /// The key of `(split, name)`, registering its (empty) series on first use. Resolve once and keep
    /// the key; later calls compare strings.
    pub fn key(&mut self, split: Split, name: &str) -> MetricKey {
        self.history.key(split, name)
    }

    /// Global step of the current event.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Epoch of the current event (0-based).
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// The learning rate in force: the last one the loop reported or a callback requested (the loop
    /// is expected to apply a request; its next report wins either way).
    pub fn lr(&self) -> Option<f64> {
        self.control.lr
    }

    /// The name under which the bus knows the current callback.
    pub fn callback_name(&self) -> &str {
        self.callback
    }

    /// Asks the loop to stop, naming the `rule` that fired and the values behind it in `message`.
    ///
    /// The first stop of a run wins; later requests are ignored (their reason is not lost: the
    /// callback can still emit a diagnosis). The stop is sticky (see [`Decision`](crate::Decision)).
    pub fn stop(&mut self, rule: impl Into<Cow<'static, str>>, message: impl Into<String>) {
        if self.control.stop.is_none() {
            self.control.stop = Some(StopReason {
                callback: self.callback.to_owned(),
                rule: rule.into(),
                message: message.into(),
                step: self.step,
                epoch: self.epoch,
            });
        }
    }

    /// The stop asked so far in this run, if any.
    pub fn stop_requested(&self) -> Option<&StopReason> {
        self.control.stop.as_ref()
    }

    /// Asks the loop to use `lr` from the next step on (a one-shot request; see
    /// [`Decision`](crate::Decision)). Non-finite or negative values are ignored.
    pub fn set_lr(&mut self, lr: f64) {
        if lr.is_finite() && lr >= 0.0 {
            self.control.new_lr = Some(lr);
            self.control.lr = Some(lr);
        }
    }

    /// Reports a diagnosis. The bus stamps the current step, epoch and this callback's name, logs it
    /// through tracing, keeps it in the run summary and passes it to every callback's `on_diagnosis`
    /// once the current event has been dispatched.
    pub fn emit(&mut self, mut diagnosis: Diagnosis) {
        diagnosis.step = self.step;
        diagnosis.epoch = self.epoch;
        diagnosis.source = self.callback.to_owned();
        self.pending.push(diagnosis);
    }

    /// Revises the episode diagnosis this callback emitted earlier with the same kind and metric
    /// (its extent grew, its count rose, it closed): the bus replaces that diagnosis in place, keeping
    /// the step and epoch where it was first reported, so that one episode stays one diagnosis. The
    /// revision is logged through tracing (info when it closes the episode, debug otherwise) and not
    /// passed to `on_diagnosis`. Where no such diagnosis exists, it is emitted as a new one.
    pub fn revise(&mut self, mut diagnosis: Diagnosis) {
        diagnosis.revision = true;
        self.emit(diagnosis);
    }

    /// Diagnoses of this run delivered before the current event.
    pub fn diagnoses(&self) -> &[Diagnosis] {
        self.diagnoses
    }
}
