//! Shared scaffolding: a deterministic noise source, scripted runs, drivers, resume and proptest
//! helpers.

use curvewatch::callbacks::overfitting::OverfittingDetector;
use curvewatch::callbacks::underfitting::UnderfittingDetector;
use curvewatch::{
    Bus, Checkpoint, Diagnosis, DiagnosisKind, Episode, EpochEnd, EvalEnd, Severity, Split,
    StepEnd, TrainBegin,
};
use proptest::prelude::*;

/// A small deterministic generator (64-bit LCG, Knuth's constants) for noisy curves.
pub struct Lcg(pub u64);

impl Lcg {
    /// Uniform in [0, 1).
    pub fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [-1, 1).
    pub fn signed(&mut self) -> f64 {
        2.0 * self.next() - 1.0
    }
}

pub fn linspace(a: f64, b: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| a + (b - a) * i as f64 / (n - 1) as f64)
        .collect()
}

/// A scripted run: per epoch, the training step values and the validation value.
pub struct Run {
    pub steps: Vec<Vec<f64>>,
    pub val: Vec<f64>,
}

impl Run {
    /// `epochs` epochs of `per_epoch` steps: `train(t)` at the fractional epoch `t` a step ends at,
    /// `val(e)` at the end of epoch `e` (0-based), each times `1 + amplitude * uniform(-1, 1)`.
    pub fn new(
        epochs: usize,
        per_epoch: usize,
        train: impl Fn(f64) -> f64,
        val: impl Fn(f64) -> f64,
        noise: (f64, f64),
        rng: &mut Lcg,
    ) -> Run {
        let steps = (0..epochs)
            .map(|e| {
                (0..per_epoch)
                    .map(|i| {
                        let t = e as f64 + (i + 1) as f64 / per_epoch as f64;
                        train(t) * (1.0 + noise.0 * rng.signed())
                    })
                    .collect()
            })
            .collect();
        let val = (0..epochs)
            .map(|e| val(e as f64) * (1.0 + noise.1 * rng.signed()))
            .collect();
        Run { steps, val }
    }
}

/// Drives epochs `from..to` of `run` through `bus`: steps with `train/loss`, then an evaluation
/// with `valid/loss` at the end of each epoch.
pub fn drive(bus: &mut Bus, run: &Run, from: usize, to: usize) {
    let loss = bus.metric(Split::Train, "loss");
    let val = bus.metric(Split::Valid, "loss");
    let per_epoch = run.steps.first().map_or(0, Vec::len) as u64;
    for e in from..to {
        let epoch = e as u32;
        for (i, &v) in run.steps[e].iter().enumerate() {
            let step = e as u64 * per_epoch + i as u64 + 1;
            bus.step_end(&StepEnd::new(step, &[(loss, v)]).with_epoch(epoch))
                .unwrap();
        }
        let step = (e as u64 + 1) * per_epoch;
        bus.eval_end(&EvalEnd::new(step, epoch, &[(val, run.val[e])]))
            .unwrap();
    }
}

/// A change to the diagnoses seen after an epoch: a new diagnosis or a revision of one, as
/// (epoch of the change, kind, severity, epoch it was first reported at, episode closed).
pub type Change = (u32, DiagnosisKind, Severity, u32, bool);

/// Drives epochs `from..to` of `run` like [`drive`], recording after each epoch every diagnosis
/// that is new or was revised (revisions replace a diagnosis in place, so only a log shows how an
/// episode escalated or closed).
pub fn drive_logged(bus: &mut Bus, run: &Run, from: usize, to: usize) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut before = summary(bus);
    for e in from..to {
        drive(bus, run, e, e + 1);
        let now = summary(bus);
        for (i, d) in now.iter().enumerate() {
            if before.get(i) != Some(d) {
                changes.push((e as u32, d.0, d.1, d.2, d.3));
            }
        }
        before = now;
    }
    changes
}

fn summary(bus: &Bus) -> Vec<(DiagnosisKind, Severity, u32, bool)> {
    bus.diagnoses()
        .iter()
        .map(|d| {
            (
                d.kind,
                d.severity,
                d.epoch,
                d.episode.is_some_and(|e| e.closed),
            )
        })
        .collect()
}

pub fn kinds(bus: &Bus) -> Vec<(DiagnosisKind, Severity, u32)> {
    bus.diagnoses()
        .iter()
        .map(|d| (d.kind, d.severity, d.epoch))
        .collect()
}

pub fn find(bus: &Bus, kind: DiagnosisKind) -> Option<&Diagnosis> {
    bus.diagnoses().iter().find(|d| d.kind == kind)
}

/// Relative uniform noise amplitudes (per training step, per evaluation).
pub const NOISE: [(f64, f64); 3] = [(0.05, 0.01), (0.1, 0.02), (0.2, 0.03)];

pub fn overfitting(bus: &Bus) -> &OverfittingDetector {
    bus.callback::<OverfittingDetector>().unwrap()
}

pub fn underfitting(bus: &Bus) -> &UnderfittingDetector {
    bus.callback::<UnderfittingDetector>().unwrap()
}

/// A diagnosis as a comparable tuple: kind, severity, step, message, episode.
pub type Row = (DiagnosisKind, Severity, u64, String, Option<Episode>);

/// Diagnoses as comparable tuples (the episode included: revisions change it in place).
pub fn decisions(bus: &Bus) -> Vec<Row> {
    bus.diagnoses()
        .iter()
        .map(|d| (d.kind, d.severity, d.step, d.message.clone(), d.episode))
        .collect()
}

/// What a resumed run announces at its `train_begin`.
#[derive(Clone, Copy, Debug)]
pub enum Announce {
    /// Only where it resumes: the plan must come from the restored state.
    Position,
    /// Where it resumes and its plan again (epochs and steps).
    Plan,
}

/// Runs `run` on a fresh bus from `make` with its plan announced (epochs and steps), either
/// straight through or stopping after epoch `cut`, checkpointing through JSON, and continuing on a
/// fresh bus with a fresh callback that is told `announce`.
pub fn resumed<C: curvewatch::Callback + 'static>(
    make: impl Fn() -> C,
    run: &Run,
    cut: Option<usize>,
    announce: Announce,
) -> Bus {
    let epochs = run.val.len();
    let steps = (epochs * run.steps.first().map_or(0, Vec::len)) as u64;
    let plan = |b: TrainBegin| b.with_max_epochs(epochs as u32).with_max_steps(steps);
    let mut bus = Bus::new().with(make());
    bus.train_begin(&plan(TrainBegin::new())).unwrap();
    let Some(cut) = cut else {
        drive(&mut bus, run, 0, epochs);
        return bus;
    };
    drive(&mut bus, run, 0, cut);
    let json = bus.checkpoint().unwrap().to_json();
    drop(bus);
    let mut fresh = Bus::new().with(make());
    fresh
        .restore(Checkpoint::from_json(&json).unwrap())
        .unwrap();
    let again = TrainBegin::new().at(0, cut as u32);
    let again = match announce {
        Announce::Position => again,
        Announce::Plan => plan(again),
    };
    fresh.train_begin(&again).unwrap();
    drive(&mut fresh, run, cut, epochs);
    fresh
}

pub fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -10.0..10.0f64,
        1 => any::<f64>(),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(0.0),
        1 => Just(f64::MAX),
    ]
}

/// One scripted event: a step (train value), an evaluation (valid value) or an epoch end (both).
pub fn event() -> impl Strategy<Value = (u8, f64, f64)> {
    (0u8..3, value(), value())
}

pub fn drive_events(bus: &mut Bus, events: &[(u8, f64, f64)]) {
    let t = bus.metric(Split::Train, "loss");
    let v = bus.metric(Split::Valid, "loss");
    let mut epoch = 0;
    for (i, &(kind, a, b)) in events.iter().enumerate() {
        let step = i as u64 + 1;
        match kind {
            0 => drop(bus.step_end(&StepEnd::new(step, &[(t, a)]).with_epoch(epoch))),
            1 => drop(bus.eval_end(&EvalEnd::new(step, epoch, &[(v, b)]))),
            _ => {
                drop(bus.epoch_end(&EpochEnd::new(epoch, step, &[(t, a), (v, b)])));
                epoch += 1;
            }
        }
    }
}
