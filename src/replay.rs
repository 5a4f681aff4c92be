//! Replaying a recorded [`History`] through a [`Bus`], so that offline analysis (the whole-run report,
//! the command line) runs exactly the code the live callbacks run.
//!
//! Points become events again: each series goes back through the kind of event that recorded it
//! ([`Origin`]; for imported logs without one, train metrics are steps and valid metrics evaluations).
//! Series are merged by step, keeping each series' own order (a restarted run's repeated steps replay in
//! the order they were logged); at equal steps, steps come before evaluations, evaluations before epoch
//! ends, as in a live loop. An `EpochBegin` is sent whenever the epoch changes, and an (empty)
//! `EpochEnd` closes every epoch that no recorded epoch-level metric closed, as a live loop does
//! (the last one too, unless a stop cut the replay short).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::bus::{Bus, BusError};
use crate::event::{
    EpochBegin, EpochEnd, EvalEnd, MetricKey, Split, StepEnd, TrainBegin, TrainEnd,
};
use crate::history::{History, Origin, Series};

/// How to replay.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ReplayOptions {
    /// Stop replaying at the first event whose decision says stop (as the live loop would).
    /// When false, the whole history is replayed and the first stop is still reported.
    pub stop_on_decision: bool,
    /// The planned number of epochs to announce in `TrainBegin` (callbacks use it to judge timing).
    pub max_epochs: Option<u32>,
    /// The planned number of steps to announce in `TrainBegin` (progress-scaled rules read it).
    pub max_steps: Option<u64>,
}

impl ReplayOptions {
    /// Replays like the live loop: stops at the first stop decision.
    pub fn faithful() -> Self {
        ReplayOptions {
            stop_on_decision: true,
            max_epochs: None,
            max_steps: None,
        }
    }

    /// Replays the whole history, whatever the callbacks decide.
    pub fn whole_run() -> Self {
        ReplayOptions {
            stop_on_decision: false,
            max_epochs: None,
            max_steps: None,
        }
    }

    /// Announces `epochs` planned epochs.
    pub fn with_max_epochs(mut self, epochs: u32) -> Self {
        self.max_epochs = Some(epochs);
        self
    }

    /// Announces `steps` planned steps.
    pub fn with_max_steps(mut self, steps: u64) -> Self {
        self.max_steps = Some(steps);
        self
    }
}

/// What a replay did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplayOutcome {
    /// Events dispatched (steps, evaluations, epoch ends).
    pub events: u64,
    /// Step of the first event whose decision said stop, if any.
    pub stopped_at: Option<u64>,
    /// Whether the replay ended early because of that stop.
    pub cut_short: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Step = 0,
    Eval = 1,
    Epoch = 2,
    /// Points recorded without an event ([`Origin::Record`]): recorded again, sent to no callback.
    Record = 3,
}

/// One source series: where it goes and how far it has been replayed.
struct Source<'h> {
    series: &'h Series,
    kind: Kind,
    key: MetricKey,
    is_lr: bool,
    next: usize,
    group: u64,
}

fn kind_of(series: &Series) -> Kind {
    match (series.origin(), series.split()) {
        (Some(Origin::Step), _) => Kind::Step,
        (Some(Origin::Eval), _) => Kind::Eval,
        (Some(Origin::Epoch), _) => Kind::Epoch,
        (Some(Origin::Record), _) => Kind::Record,
        (None, Split::Train) => Kind::Step,
        (None, Split::Valid) => Kind::Eval,
    }
}

type Head = Reverse<(u64, Kind, usize)>;

/// Replays `history` through `bus` (whose callbacks are already added), from `TrainBegin` to `TrainEnd`.
///
/// ```
/// use curvewatch::{replay, Bus, History, ReplayOptions, Split};
/// let mut h = History::new();
/// let loss = h.key(Split::Train, "loss");
/// for step in 1..=5 { h.record(loss, step, 0.0, 1.0 / step as f64); }
/// let mut bus = Bus::new();
/// let out = replay(&h, &mut bus, ReplayOptions::faithful()).unwrap();
/// assert_eq!(out.events, 5);
/// assert_eq!(bus.history().get(Split::Train, "loss").unwrap().values(), h.get(Split::Train, "loss").unwrap().values());
/// ```
pub fn replay(
    history: &History,
    bus: &mut Bus,
    options: ReplayOptions,
) -> Result<ReplayOutcome, BusError> {
    let lr_key = bus.lr_key();
    let mut sources: Vec<Source<'_>> = history
        .iter()
        .map(|(_, s)| {
            let is_lr = s.split() == Split::Train && s.name() == "lr" && kind_of(s) == Kind::Step;
            Source {
                series: s,
                kind: kind_of(s),
                key: if is_lr {
                    lr_key
                } else {
                    bus.metric(s.split(), s.name())
                },
                is_lr,
                next: 0,
                group: 0,
            }
        })
        .collect();
    let mut heap: BinaryHeap<Head> = BinaryHeap::with_capacity(sources.len());
    for (i, s) in sources.iter().enumerate() {
        if let Some(&step) = s.series.steps().first() {
            heap.push(Reverse((step, s.kind, i)));
        }
    }
    let mut start = TrainBegin::new();
    start.max_epochs = options.max_epochs;
    start.max_steps = options.max_steps;
    bus.train_begin(&start)?;
    let mut out = ReplayOutcome::default();
    let mut metrics: Vec<(MetricKey, f64)> = Vec::new();
    let (mut epoch, mut last_step) = (None::<u32>, 0u64);
    let mut epoch_ended = false;
    let mut group = 0u64;
    while let Some(Reverse((step, kind, first))) = heap.pop() {
        group += 1;
        metrics.clear();
        let mut lr = None;
        let position = take(&mut sources, first, group, &mut heap, &mut metrics, &mut lr);
        while let Some(&Reverse((s2, k2, i))) = heap.peek() {
            if s2 != step || k2 != kind || sources[i].group == group {
                break;
            }
            heap.pop();
            take(&mut sources, i, group, &mut heap, &mut metrics, &mut lr);
        }
        if kind == Kind::Record {
            bus.record(step, position, &metrics);
            continue;
        }
        let ep = position.floor().max(0.0) as u32;
        if epoch != Some(ep) {
            if let Some(prev) = epoch.filter(|_| !epoch_ended) {
                let stop = bus
                    .epoch_end(&EpochEnd::new(prev, last_step, &[]))?
                    .should_stop();
                if out.note(stop, last_step, options) {
                    break;
                }
            }
            epoch = Some(ep);
            epoch_ended = false;
            bus.epoch_begin(&EpochBegin::new(ep, step))?;
        }
        let fraction = (position - position.floor()) as f32;
        let decision = dispatch(bus, kind, step, ep, fraction, &metrics, lr)?;
        epoch_ended |= kind == Kind::Epoch;
        out.events += 1;
        last_step = step;
        if out.note(decision, step, options) {
            break;
        }
    }
    if let Some(last) = epoch.filter(|_| !epoch_ended && !out.cut_short) {
        let stop = bus
            .epoch_end(&EpochEnd::new(last, last_step, &[]))?
            .should_stop();
        out.note(stop, last_step, options);
    }
    bus.train_end(&TrainEnd::new(last_step, epoch.unwrap_or(0)))?;
    Ok(out)
}

impl ReplayOutcome {
    /// Records a stop decision at `step`; true when the replay must end here.
    fn note(&mut self, stop: bool, step: u64, options: ReplayOptions) -> bool {
        if stop && self.stopped_at.is_none() {
            self.stopped_at = Some(step);
            if options.stop_on_decision {
                self.cut_short = true;
            }
        }
        self.cut_short
    }
}

/// Takes the next point of source `i` into the event being built; returns its epoch position.
fn take(
    sources: &mut [Source<'_>],
    i: usize,
    group: u64,
    heap: &mut BinaryHeap<Head>,
    metrics: &mut Vec<(MetricKey, f64)>,
    lr: &mut Option<f64>,
) -> f64 {
    let s = &mut sources[i];
    let at = s.next;
    let value = s.series.values()[at];
    if s.is_lr {
        *lr = Some(value);
    } else {
        metrics.push((s.key, value));
    }
    s.group = group;
    s.next += 1;
    if let Some(&step) = s.series.steps().get(s.next) {
        heap.push(Reverse((step, s.kind, i)));
    }
    s.series.epochs()[at] as f64
}

fn dispatch(
    bus: &mut Bus,
    kind: Kind,
    step: u64,
    epoch: u32,
    fraction: f32,
    metrics: &[(MetricKey, f64)],
    lr: Option<f64>,
) -> Result<bool, BusError> {
    let decision = match kind {
        Kind::Step => {
            let mut ev = StepEnd::new(step, metrics).with_epoch(epoch);
            if fraction > 0.0 {
                ev = ev.with_epoch_fraction(fraction);
            }
            if let Some(lr) = lr {
                ev = ev.with_lr(lr);
            }
            bus.step_end(&ev)?
        }
        Kind::Eval => {
            let mut ev = EvalEnd::new(step, epoch, metrics);
            if fraction > 0.0 {
                ev = ev.with_epoch_fraction(fraction);
            }
            bus.eval_end(&ev)?
        }
        Kind::Epoch => bus.epoch_end(&EpochEnd::new(epoch, step, metrics))?,
        // Handled by the caller: recorded, never dispatched.
        Kind::Record => return Ok(false),
    };
    Ok(decision.should_stop())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live_history() -> History {
        let mut bus = Bus::new();
        let loss = bus.metric(Split::Train, "loss");
        let val = bus.metric(Split::Valid, "loss");
        let epoch_loss = bus.metric(Split::Train, "epoch_loss");
        let val_batch = bus.metric(Split::Valid, "batch_loss");
        let mut step = 0;
        for epoch in 0..3u32 {
            for i in 0..4 {
                step += 1;
                let metrics = [(loss, 1.0 / step as f64)];
                let ev = StepEnd::new(step, &metrics)
                    .with_epoch(epoch)
                    .with_epoch_fraction((i + 1) as f32 / 4.0)
                    .with_lr(0.1 / (epoch + 1) as f64);
                bus.step_end(&ev).unwrap();
            }
            // Two validation batches, recorded without an event, then the evaluation.
            for b in 0..2 {
                bus.record(
                    step,
                    epoch as f64 + 0.999,
                    &[(val_batch, 0.4 + 0.1 * b as f64)],
                );
            }
            bus.eval_end(&EvalEnd::new(step, epoch, &[(val, 0.5)]))
                .unwrap();
            bus.epoch_end(&EpochEnd::new(epoch, step, &[(epoch_loss, 0.3)]))
                .unwrap();
        }
        bus.history().clone()
    }

    #[test]
    fn a_replay_records_the_same_history() {
        let original = live_history();
        let mut bus = Bus::new();
        let out = replay(&original, &mut bus, ReplayOptions::faithful()).unwrap();
        assert_eq!(
            out.events,
            3 * 4 + 3 + 3,
            "12 steps, 3 evaluations, 3 epoch ends; recorded points are no events"
        );
        assert_eq!(bus.history(), &original);
        let batches = bus.history().get(Split::Valid, "batch_loss").unwrap();
        assert_eq!((batches.len(), batches.origin()), (6, Some(Origin::Record)));
    }

    #[test]
    fn restarted_steps_replay_in_logged_order() {
        let mut h = History::new();
        let loss = h.key(Split::Train, "loss");
        for (step, v) in [(1, 3.0), (2, 2.0), (3, 1.0), (2, 2.5), (3, 1.5), (4, 0.5)] {
            h.record(loss, step, 0.0, v);
        }
        let mut bus = Bus::new();
        replay(&h, &mut bus, ReplayOptions::whole_run()).unwrap();
        let got = bus.history().get(Split::Train, "loss").unwrap();
        assert_eq!(got.values(), &[3.0, 2.0, 1.0, 2.5, 1.5, 0.5]);
        assert_eq!(got.steps(), &[1, 2, 3, 2, 3, 4]);
    }
}
