//! Keras sequences reproduced by hand, the learning-rate sources, errors, resume and no-panic.

use proptest::prelude::*;

use super::*;
use crate::{Bus, Checkpoint, Split, TrainBegin};

const NAN: f64 = f64::NAN;

fn val_loss() -> Monitor {
    Monitor::new(Split::Valid, "loss")
}

fn rlr(factor: f64, patience: u32) -> ReduceLrOnPlateau {
    ReduceLrOnPlateau::new(val_loss(), factor)
        .unwrap()
        .with_patience(patience)
}

/// A loop that reports its learning rate at each step (starting at `lr`), evaluates once per epoch
/// and applies every new rate; `values[i]` is epoch `i`'s validation value. Returns the cuts as
/// `(epoch, new_lr)`.
fn epochs(bus: &mut Bus, values: &[f64], from: usize, lr: &mut f64) -> Vec<(usize, f64)> {
    let (split, name) = {
        let cb = bus.callback::<ReduceLrOnPlateau>().unwrap();
        (cb.monitor().split(), cb.monitor().metric().to_owned())
    };
    let (train, key) = (bus.metric(Split::Train, "loss"), bus.metric(split, &name));
    let mut cuts = Vec::new();
    for (i, &v) in values.iter().enumerate().skip(from) {
        let step = i as u64 + 1;
        let metrics = [(train, 1.0)];
        bus.step_end(
            &StepEnd::new(step, &metrics)
                .with_epoch(i as u32)
                .with_lr(*lr),
        )
        .unwrap();
        let metrics = [(key, v)];
        let d = bus
            .eval_end(&EvalEnd::new(step, i as u32, &metrics))
            .unwrap();
        if let Some(new) = d.new_lr() {
            *lr = new;
            cuts.push((i, new));
        }
    }
    cuts
}

fn run(cb: ReduceLrOnPlateau, values: &[f64]) -> (Vec<(usize, f64)>, Bus) {
    let mut bus = Bus::new().with(cb);
    let cuts = epochs(&mut bus, values, 0, &mut 1.0);
    (cuts, bus)
}

/// (callback, validation values, expected cuts as `(epoch, new_lr)`, reason).
type Case = (
    ReduceLrOnPlateau,
    &'static [f64],
    &'static [(usize, f64)],
    &'static str,
);

#[test]
fn keras_sequences_by_hand() {
    let cases: Vec<Case> = vec![
        (
            rlr(0.5, 2),
            &[1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8],
            &[(3, 0.5), (5, 0.25)],
            "best 0.9; wait 1, 2: cut and wait 0; wait 1, 2: cut again; 0.8 improves",
        ),
        (
            rlr(0.5, 1).with_cooldown(2),
            &[1.0; 6],
            &[(1, 0.5), (3, 0.25), (5, 0.125)],
            "cooldown 2: at 2 the counter drops to 1 (skip); at 3 it drops to 0, wait 1: cut",
        ),
        (
            rlr(0.5, 1).with_cooldown(1),
            &[1.0; 6],
            &[(1, 0.5), (2, 0.25), (3, 0.125), (4, 0.0625), (5, 0.03125)],
            "cooldown 1 is decremented to 0 before the test: it skips nothing (as in Keras)",
        ),
        (
            rlr(0.5, 2).with_cooldown(3),
            &[1.0, 0.9, 1.0, 1.0, 1.0, 0.5, 1.0, 1.0],
            &[(3, 0.5), (7, 0.25)],
            "cut at 3; 4 cools down; at 5 0.5 improves (improvement is tested during cooldown); wait 1, 2 at 6, 7",
        ),
        (
            rlr(0.1, 1).with_min_lr(0.05).unwrap(),
            &[1.0; 5],
            &[(1, 0.1), (2, 0.05)],
            "0.1 * 0.1 = 0.01 is floored at min_lr 0.05; at 0.05 no more cuts",
        ),
        (
            ReduceLrOnPlateau::keras(val_loss()).with_patience(1),
            &[1.0, 0.99995],
            &[(1, 0.1)],
            "Keras's default min_delta 1e-4: 0.99995 is not below 1 - 1e-4; factor 0.1",
        ),
        (
            rlr(0.5, 1).with_min_delta(0.1),
            &[0.4, 0.3],
            &[],
            "Keras tests `current < best - min_delta`: 0.4 - 0.1 = 0.30000000000000004 > 0.3 improves",
        ),
        (rlr(0.5, 2), &[1.0, NAN, NAN], &[(2, 0.5)], "NaN never improves: wait 1, 2"),
        (
            ReduceLrOnPlateau::new(Monitor::new(Split::Valid, "accuracy"), 0.5)
                .unwrap()
                .with_patience(1)
                .with_min_delta(0.01),
            &[0.5, 0.6, 0.6, 0.65, 0.64],
            &[(2, 0.5), (4, 0.25)],
            "accuracy is maximised: 0.6 is not above 0.6 + 0.01; 0.65 is; 0.64 is not",
        ),
        (
            rlr(0.5, 0),
            &[1.0, 1.0, 0.5, 0.5],
            &[(1, 0.5), (3, 0.25)],
            "patience 0 cuts at every check without improvement",
        ),
    ];
    for (cb, values, expected, why) in cases {
        let (cuts, bus) = run(cb, values);
        assert_eq!(cuts, expected, "{why}");
        let recorded: Vec<(usize, f64)> = bus
            .callback::<ReduceLrOnPlateau>()
            .unwrap()
            .reductions()
            .iter()
            .map(|r| (r.index as usize, r.new_lr))
            .collect();
        assert_eq!(recorded, expected, "{why}");
    }
}

#[test]
fn min_lr_stops_the_cuts_and_keeps_the_wait() {
    let (_, bus) = run(rlr(0.1, 1).with_min_lr(0.05).unwrap(), &[1.0; 5]);
    let cb = bus.callback::<ReduceLrOnPlateau>().unwrap();
    assert_eq!(
        cb.wait(),
        2,
        "checks 3 and 4 find the rate at min_lr: no cut, the wait is not reset"
    );
    assert_eq!(cb.best(), Some(1.0));
}

#[test]
fn each_cut_is_an_info_lr_change_diagnosis() {
    let (_, bus) = run(rlr(0.5, 2).with_cooldown(3), &[1.0, 0.9, 1.0, 1.0]);
    let d = &bus.diagnoses()[0];
    assert_eq!(
        (d.kind, d.severity, d.step),
        (DiagnosisKind::LrChange, Severity::Info, 4)
    );
    assert_eq!(d.metric.as_deref(), Some("valid/loss"));
    for (name, v) in [
        ("old_lr", 1.0),
        ("new_lr", 0.5),
        ("best", 0.9),
        ("wait", 2.0),
        ("patience", 2.0),
        ("cooldown", 3.0),
    ] {
        assert_eq!(d.evidence(name), Some(v), "{name}");
    }
    assert!(
        d.message.contains("learning rate 1e0 -> 5e-1"),
        "{}",
        d.message
    );
    assert_eq!(
        bus.callback::<ReduceLrOnPlateau>()
            .unwrap()
            .cooldown_remaining(),
        3
    );
}

/// Evaluations only, the loop never reporting a rate.
fn silent_loop(cb: ReduceLrOnPlateau, values: &[f64]) -> (Vec<Option<f64>>, Bus) {
    let mut bus = Bus::new().with(cb);
    let key = bus.metric(Split::Valid, "loss");
    let lrs = values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let metrics = [(key, v)];
            bus.eval_end(&EvalEnd::new(i as u64, i as u32, &metrics))
                .unwrap()
                .new_lr()
        })
        .collect();
    (lrs, bus)
}

#[test]
fn learning_rate_sources() {
    let cb = rlr(0.5, 1).with_initial_lr(0.2).unwrap();
    let (lrs, _) = silent_loop(cb, &[1.0, 1.0, 1.0]);
    assert_eq!(
        lrs,
        vec![None, Some(0.1), Some(0.05)],
        "initial 0.2, then our own last request"
    );

    let (lrs, bus) = silent_loop(rlr(0.5, 1), &[1.0, 1.0, 1.0]);
    assert_eq!(lrs, vec![None, None, None], "no rate known: no cut");
    assert_eq!(
        bus.faults().len(),
        1,
        "the error is reported once: {:?}",
        bus.faults()
    );
    assert!(bus.faults()[0].message.contains("with_initial_lr"));

    // A loop that ignores the request and keeps reporting 1.0: the callback believes its own request.
    let mut bus = Bus::new().with(rlr(0.5, 1));
    let (train, key) = (
        bus.metric(Split::Train, "loss"),
        bus.metric(Split::Valid, "loss"),
    );
    let mut got = Vec::new();
    for (i, (lr, v)) in [(1.0, 1.0), (1.0, 1.0), (1.0, 1.0), (0.3, 1.0)]
        .into_iter()
        .enumerate()
    {
        let m = [(train, 1.0)];
        bus.step_end(&StepEnd::new(i as u64, &m).with_lr(lr))
            .unwrap();
        let m = [(key, v)];
        got.push(
            bus.eval_end(&EvalEnd::new(i as u64, 0, &m))
                .unwrap()
                .new_lr(),
        );
    }
    assert_eq!(
        got,
        vec![None, Some(0.5), Some(0.25), Some(0.15)],
        "1.0 again is not news: 0.5 -> 0.25; a new report (0.3, a schedule) is taken as is"
    );
}

#[test]
fn invalid_configuration_is_an_error() {
    for f in [0.0, 1.0, 1.5, -0.5, NAN, f64::INFINITY] {
        let err = ReduceLrOnPlateau::new(val_loss(), f).unwrap_err();
        assert!(
            matches!(err, ReduceLrError::Factor(x) if x.to_bits() == f.to_bits()),
            "{f}"
        );
    }
    assert!(matches!(
        rlr(0.5, 1).with_min_lr(-1e-3),
        Err(ReduceLrError::MinLr(_))
    ));
    assert!(matches!(
        rlr(0.5, 1).with_min_lr(NAN),
        Err(ReduceLrError::MinLr(_))
    ));
    assert!(matches!(
        rlr(0.5, 1).with_initial_lr(0.0),
        Err(ReduceLrError::InitialLr(_))
    ));
    let msg = ReduceLrOnPlateau::new(val_loss(), 2.0)
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "the reduction factor must be strictly between 0 and 1, got 2"
    );
}

fn stateful() -> ReduceLrOnPlateau {
    rlr(0.5, 2)
        .with_cooldown(2)
        .with_min_delta(0.01)
        .with_min_lr(0.01)
        .unwrap()
}

/// The cuts and diagnoses of a run, with or without a checkpoint after epoch `cut`.
fn resume_run(values: &[f64], cut: Option<usize>) -> (Vec<(usize, f64)>, Vec<String>) {
    let mut bus = Bus::new().with(stateful());
    let mut lr = 1.0;
    let Some(cut) = cut else {
        let cuts = epochs(&mut bus, values, 0, &mut lr);
        return (
            cuts,
            bus.diagnoses().iter().map(|d| d.to_string()).collect(),
        );
    };
    let mut cuts = epochs(&mut bus, &values[..cut], 0, &mut lr);
    let json = bus.checkpoint().unwrap().to_json();
    drop(bus);
    let mut fresh = Bus::new().with(stateful());
    fresh
        .restore(Checkpoint::from_json(&json).unwrap())
        .unwrap();
    fresh
        .train_begin(&TrainBegin::new().at(cut as u64, cut as u32))
        .unwrap();
    cuts.extend(epochs(&mut fresh, values, cut, &mut lr));
    (
        cuts,
        fresh.diagnoses().iter().map(|d| d.to_string()).collect(),
    )
}

#[test]
fn a_resumed_run_cuts_like_an_uninterrupted_one() {
    let values: Vec<f64> = (0..40)
        .map(|i| 0.5 + (-(i as f64) / 5.0).exp() + 0.02 * ((i * 37) % 7) as f64)
        .collect();
    let reference = resume_run(&values, None);
    assert!(
        reference.0.len() >= 3,
        "the plateau must give several cuts: {:?}",
        reference.0
    );
    for cut in [1, 7, 13, 20, 33] {
        assert_eq!(
            resume_run(&values, Some(cut)),
            reference,
            "checkpoint after epoch {cut}"
        );
    }
}

fn any_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -10.0..10.0f64,
        2 => (0..4i32).prop_map(f64::from),
        1 => Just(NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => any::<f64>(),
    ]
}

proptest! {
    #[test]
    fn no_panic_and_every_cut_lowers_the_rate_within_min_lr(
        values in prop::collection::vec(any_value(), 0..60),
        reported in prop::collection::vec(proptest::option::of(any_value()), 0..60),
        patience in 0u32..4,
        cooldown in 0u32..4,
        factor in 0.01..0.99f64,
        min_lr in prop_oneof![Just(0.0), 0.0..0.1f64],
        delta in any::<f64>(),
        maximize in any::<bool>(),
    ) {
        let dir = if maximize { Direction::Maximize } else { Direction::Minimize };
        let cb = ReduceLrOnPlateau::new(val_loss(), factor).unwrap()
            .with_patience(patience)
            .with_cooldown(cooldown)
            .with_min_delta(delta)
            .with_direction(dir)
            .with_min_lr(min_lr).unwrap()
            .with_initial_lr(1.0).unwrap();
        let mut bus = Bus::new().with(cb);
        let (train, key) = (bus.metric(Split::Train, "loss"), bus.metric(Split::Valid, "loss"));
        for (i, &v) in values.iter().enumerate() {
            if let Some(Some(lr)) = reported.get(i) {
                let m = [(train, 1.0)];
                bus.step_end(&StepEnd::new(i as u64, &m).with_lr(*lr)).unwrap();
            }
            let m = [(key, v)];
            bus.eval_end(&EvalEnd::new(i as u64, 0, &m)).unwrap();
        }
        prop_assert!(bus.faults().is_empty(), "{:?}", bus.faults());
        for r in bus.callback::<ReduceLrOnPlateau>().unwrap().reductions() {
            prop_assert!(r.new_lr < r.old_lr && r.new_lr >= min_lr, "{r:?}");
        }
        prop_assert!(Checkpoint::from_json(&bus.checkpoint().unwrap().to_json()).is_ok());
    }
}
