//! The training side of the render feed: deltas of the history, offered without ever blocking.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{SendTimeoutError, Sender, TrySendError};

use super::handle::Shared;
use crate::context::Context;
use crate::control::StopReason;
use crate::diagnosis::Diagnosis;
use crate::event::Split;
use crate::history::{History, Origin};

/// A series that appeared since the last delta: its index in the training history and its name.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NewSeries {
    pub index: usize,
    pub split: Split,
    pub name: String,
}

/// Points appended to one series, as parallel columns.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SeriesDelta {
    pub origin: Option<Origin>,
    pub steps: Vec<u64>,
    pub epochs: Vec<f32>,
    pub values: Vec<f64>,
}

impl SeriesDelta {
    fn append(&mut self, later: SeriesDelta) {
        self.origin = self.origin.or(later.origin);
        self.steps.extend_from_slice(&later.steps);
        self.epochs.extend_from_slice(&later.epochs);
        self.values.extend_from_slice(&later.values);
    }
}

/// Everything that changed since the last delta the worker accepted.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Delta {
    /// The worker must drop its copy first (training restarted, or the history was replaced).
    pub reset: bool,
    pub new_series: Vec<NewSeries>,
    /// Indexed like the training history's series; shorter when the last series got nothing.
    pub series: Vec<SeriesDelta>,
    pub diagnoses: Vec<Diagnosis>,
    /// `Some(x)`: the stop reason is now `x`.
    pub stop: Option<Option<StopReason>>,
    pub step: u64,
    pub epoch: u32,
    /// Sent at the end of training: the worker draws a final frame.
    pub is_final: bool,
}

impl Delta {
    /// Whether applying it would change the worker's copy (position aside).
    pub fn changes_anything(&self) -> bool {
        self.reset
            || !self.new_series.is_empty()
            || self.series.iter().any(|s| !s.values.is_empty())
            || !self.diagnoses.is_empty()
            || self.stop.is_some()
    }

    /// Folds a later delta into this one, as if both had been sent in order.
    pub fn merge(&mut self, later: Delta) {
        if later.reset {
            *self = later;
            return;
        }
        self.new_series.extend(later.new_series);
        if self.series.len() < later.series.len() {
            self.series
                .resize_with(later.series.len(), SeriesDelta::default);
        }
        for (mine, theirs) in self.series.iter_mut().zip(later.series) {
            mine.append(theirs);
        }
        self.diagnoses.extend(later.diagnoses);
        if later.stop.is_some() {
            self.stop = later.stop;
        }
        self.step = later.step;
        self.epoch = later.epoch;
        self.is_final |= later.is_final;
    }

    fn series_mut(&mut self, index: usize) -> &mut SeriesDelta {
        if self.series.len() <= index {
            self.series.resize_with(index + 1, SeriesDelta::default);
        }
        &mut self.series[index]
    }
}

/// The sending side: remembers how much of each series is already on its way, keeps a refused delta
/// and grows it, and counts what was sent and what was coalesced.
pub(crate) struct Feed {
    tx: Sender<Delta>,
    shared: Arc<Shared>,
    /// Points of each series already in an accepted delta or in `pending`.
    marks: Vec<usize>,
    /// Not yet accepted by the worker.
    pending: Delta,
    /// A forced render is pending (retry at every check instead of waiting for the interval).
    forced: bool,
    /// The stop reason as last put into a delta.
    stop: Option<StopReason>,
    /// Training ended: later changes go to the handle's stash, drawn at `finish`.
    ended: bool,
    /// The worker is gone: nothing more is collected.
    dead: bool,
}

impl Feed {
    pub(super) fn new(tx: Sender<Delta>, shared: Arc<Shared>) -> Self {
        Feed {
            tx,
            shared,
            marks: Vec::new(),
            pending: Delta::default(),
            forced: false,
            stop: None,
            ended: false,
            dead: false,
        }
    }

    /// Starts over (training begins or resumes): the next delta resets the worker and carries the
    /// whole history and every diagnosis delivered so far.
    pub fn restart(&mut self, ctx: &Context<'_>) {
        // The reset carries everything: what was stashed after an earlier end is included.
        drop(self.shared.take_leftover());
        self.marks.clear();
        self.pending = Delta {
            reset: true,
            diagnoses: ctx.diagnoses().to_vec(),
            ..Delta::default()
        };
        self.stop = None;
        self.ended = false;
    }

    /// Queues a diagnosis for the next delta (after training ended: for the final frame).
    pub fn push_diagnosis(&mut self, diagnosis: &Diagnosis) {
        if self.dead {
            return;
        }
        self.pending.diagnoses.push(diagnosis.clone());
        if self.ended {
            self.shared.stash(std::mem::take(&mut self.pending));
        }
    }

    /// Whether a forced render is still waiting for the worker.
    #[inline]
    pub fn wants_retry(&self) -> bool {
        self.forced
    }

    /// Offers everything new to the worker without blocking. Returns whether it was accepted; when it
    /// is refused the delta is kept, and counted as dropped (coalesced).
    pub fn offer(&mut self, ctx: &Context<'_>, forced: bool) -> bool {
        if self.dead {
            return false;
        }
        self.collect(ctx);
        if self.ended {
            self.shared.stash(std::mem::take(&mut self.pending));
            return false;
        }
        self.forced |= forced;
        match self.tx.try_send(std::mem::take(&mut self.pending)) {
            Ok(()) => {
                self.forced = false;
                self.shared.sent.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Full(delta)) => {
                self.pending = delta;
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
            Err(TrySendError::Disconnected(_)) => {
                self.disconnect();
                false
            }
        }
    }

    /// Sends the final delta, waiting up to `timeout` for the worker to take it; if it cannot, the
    /// delta is stashed for [`RenderHandle::finish`](super::RenderHandle::finish).
    pub fn flush(&mut self, ctx: &Context<'_>, timeout: Duration) {
        if self.dead {
            return;
        }
        self.collect(ctx);
        self.pending.is_final = true;
        self.forced = false;
        self.ended = true;
        match self
            .tx
            .send_timeout(std::mem::take(&mut self.pending), timeout)
        {
            Ok(()) => {
                self.shared.sent.fetch_add(1, Ordering::Relaxed);
            }
            Err(SendTimeoutError::Timeout(delta)) => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    target: "curvewatch::render",
                    waited_ms = timeout.as_millis() as u64,
                    "the renderer is still busy at the end of training; the final frame is drawn at finish()"
                );
                self.shared.stash(delta);
            }
            Err(SendTimeoutError::Disconnected(_)) => self.disconnect(),
        }
    }

    /// Appends to `pending` everything the history gained since the marks, plus diagnoses and stop.
    fn collect(&mut self, ctx: &Context<'_>) {
        let history = ctx.history();
        if self.shrank(history) {
            // The history was replaced (a restore without a new train_begin): send it all again.
            self.restart(ctx);
        }
        for (key, series) in history.iter() {
            let i = key.index();
            if i >= self.marks.len() {
                self.marks.push(0);
                self.pending.new_series.push(NewSeries {
                    index: i,
                    split: series.split(),
                    name: series.name().to_owned(),
                });
            }
            let from = self.marks[i];
            if series.len() > from {
                let d = self.pending.series_mut(i);
                d.origin = d.origin.or(series.origin());
                d.steps.extend_from_slice(&series.steps()[from..]);
                d.epochs.extend_from_slice(&series.epochs()[from..]);
                d.values.extend_from_slice(&series.values()[from..]);
                self.marks[i] = series.len();
            }
        }
        let stop = ctx.stop_requested();
        if stop != self.stop.as_ref() {
            self.stop = stop.cloned();
            self.pending.stop = Some(self.stop.clone());
        }
        self.pending.step = ctx.step();
        self.pending.epoch = ctx.epoch();
    }

    fn shrank(&self, history: &History) -> bool {
        history.len() < self.marks.len()
            || history
                .iter()
                .any(|(k, s)| self.marks.get(k.index()).is_some_and(|&m| s.len() < m))
    }

    #[cold]
    fn disconnect(&mut self) {
        self.dead = true;
        self.pending = Delta::default();
        if self.shared.finish_requested.load(Ordering::Relaxed) {
            tracing::debug!(target: "curvewatch::render", "render worker finished; no more charts");
        } else {
            tracing::warn!(
                target: "curvewatch::render",
                "the render worker has stopped; no further charts will be drawn"
            );
        }
    }
}

/// A feed dropped with data the worker never took (the bus went away without `train_end`) leaves it
/// for the worker's last frame, which follows as the channel closes.
impl Drop for Feed {
    fn drop(&mut self) {
        if !self.dead && self.pending.changes_anything() {
            self.shared.stash(std::mem::take(&mut self.pending));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(steps: &[u64]) -> SeriesDelta {
        SeriesDelta {
            origin: Some(Origin::Step),
            steps: steps.to_vec(),
            epochs: steps.iter().map(|&s| s as f32 / 10.0).collect(),
            values: steps.iter().map(|&s| s as f64 * 0.5).collect(),
        }
    }

    #[test]
    fn merging_keeps_every_point_in_order() {
        let mut a = Delta {
            series: vec![points(&[1, 2])],
            step: 2,
            ..Delta::default()
        };
        let b = Delta {
            series: vec![points(&[3]), points(&[3])],
            step: 3,
            epoch: 1,
            is_final: true,
            ..Delta::default()
        };
        a.merge(b);
        assert_eq!(
            a.series[0].steps,
            vec![1, 2, 3],
            "appended after the older points"
        );
        assert_eq!(a.series[0].values, vec![0.5, 1.0, 1.5]);
        assert_eq!(
            a.series[1].steps,
            vec![3],
            "a series new in the later delta"
        );
        assert_eq!(
            (a.step, a.epoch, a.is_final),
            (3, 1, true),
            "latest position wins"
        );
    }

    #[test]
    fn a_reset_replaces_what_came_before() {
        let mut a = Delta {
            series: vec![points(&[1, 2])],
            ..Delta::default()
        };
        a.merge(Delta {
            reset: true,
            series: vec![points(&[9])],
            ..Delta::default()
        });
        assert!(a.reset);
        assert_eq!(
            a.series[0].steps,
            vec![9],
            "the old points belong to a dropped copy"
        );
    }

    #[test]
    fn empty_deltas_change_nothing() {
        let cases = [
            (Delta::default(), false, "nothing at all"),
            (
                Delta {
                    step: 10,
                    series: vec![SeriesDelta::default()],
                    ..Delta::default()
                },
                false,
                "a moved position and an empty column do not need a redraw",
            ),
            (
                Delta {
                    series: vec![points(&[1])],
                    ..Delta::default()
                },
                true,
                "one new point",
            ),
            (
                Delta {
                    stop: Some(None),
                    ..Delta::default()
                },
                true,
                "a withdrawn stop",
            ),
        ];
        for (d, changes, why) in cases {
            assert_eq!(d.changes_anything(), changes, "{why}");
        }
    }
}
