//! Early stopping against Keras 3 and Lightning: a parity table derived by hand from their source,
//! reference models of both loops checked on random curves, the properties the issue names, and resume.
//!
//! Keras 3 (`keras/src/callbacks/early_stopping.py`, `on_epoch_end`): ignore `epoch < start_from_epoch`;
//! `wait += 1`; if `monitor_op(current - min_delta, best)` (min_delta negated in min mode): `best =
//! current`, and `wait = 0` only if there is no baseline or `current` also improves on it; `return`.
//! Otherwise stop if `wait >= patience and epoch > 0`.
//! Lightning (`lightning/pytorch/callbacks/early_stopping.py`, `_evaluate_stopping_criteria`):
//! `check_finite and not isfinite(current)` -> stop; `monitor_op(current, stopping_threshold)` -> stop;
//! `monitor_op(-current, -divergence_threshold)` -> stop; `monitor_op(current - min_delta, best)` ->
//! `best = current, wait = 0`; else `wait += 1` and stop if `wait >= patience`.

use std::num::NonZeroU32;

use curvewatch::callbacks::early_stopping::EarlyStopping;
use curvewatch::callbacks::{Direction, Monitor};
use curvewatch::{Bus, Checkpoint, EvalEnd, Split, StepEnd, TrainBegin};
use proptest::prelude::*;

const NAN: f64 = f64::NAN;
const INF: f64 = f64::INFINITY;

fn val(name: &str) -> Monitor {
    Monitor::new(Split::Valid, name)
}

/// One evaluation per epoch (epoch `i`, step `100 * (i + 1)`); the index of the evaluation at which
/// the loop was told to stop.
fn stop_index(es: EarlyStopping, values: &[f64]) -> Option<usize> {
    let (split, name) = (es.monitor().split(), es.monitor().metric().to_owned());
    let mut bus = Bus::new().with(es);
    let key = bus.metric(split, &name);
    for (i, &v) in values.iter().enumerate() {
        let metrics = [(key, v)];
        let ev = EvalEnd::new(100 * (i as u64 + 1), i as u32, &metrics);
        if bus.eval_end(&ev).unwrap().should_stop() {
            return Some(i);
        }
    }
    None
}

struct Parity {
    values: &'static [f64],
    keras: Option<(EarlyStopping, Option<usize>)>,
    lightning: Option<(EarlyStopping, Option<usize>)>,
    why: &'static str,
}

#[test]
fn parity_table_with_keras_and_lightning() {
    let k = |p: u32| EarlyStopping::keras(val("loss")).with_patience(p);
    let l = |p: u32| EarlyStopping::lightning(val("loss")).with_patience(p);
    let table = vec![
        Parity {
            values: &[1.0, 0.9, 0.8, 0.85, 0.86, 0.87, 0.88],
            keras: Some((k(3), Some(5))),
            lightning: Some((l(3), Some(5))),
            why: "both: best 0.8 at index 2; wait 1, 2, 3 at 3, 4, 5; `wait >= patience` (Keras: and epoch 5 > 0)",
        },
        Parity {
            values: &[1.0, NAN, 0.9, 0.95, 0.96],
            keras: Some((k(2), Some(4))),
            lightning: Some((l(2), Some(1))),
            why: "Keras: `ops.less(nan, best)` is False, wait 1 (< 2); 0.9 resets; wait 2 at index 4. \
                  Lightning: `check_finite and not torch.isfinite(current)` stops at the NaN",
        },
        Parity {
            values: &[NAN, 1.0, 1.1],
            keras: Some((k(0), Some(2))),
            lightning: Some((l(0).with_check_finite(false), Some(0))),
            why: "Keras: at epoch 0 wait 1 >= 0 but `epoch > 0` fails; 1.0 resets; 1.1 stops at 2. \
                  Lightning without check_finite: NaN fails `monitor_op`, wait 1 >= 0 stops at 0",
        },
        Parity {
            values: &[0.4, 0.3, 0.2],
            keras: Some((k(0).with_min_delta(0.1), Some(1))),
            lightning: Some((l(0).with_min_delta(0.1), Some(1))),
            why: "both test `current - min_delta` with min_delta = -0.1: 0.3 + 0.1 == 0.4 in IEEE doubles, \
                  not < 0.4: no improvement; wait 1 >= 0 (Keras: epoch 1 > 0)",
        },
        Parity {
            values: &[0.5, 0.5, 0.5],
            keras: Some((k(1), Some(1))),
            lightning: Some((l(1), Some(1))),
            why: "both: `less` is strict, an equal value is no improvement; wait 1 >= 1",
        },
        Parity {
            values: &[1.0, -INF, 0.5, 0.4],
            keras: Some((k(2), Some(3))),
            lightning: Some((l(2).with_check_finite(false), Some(3))),
            why: "both: -inf - min_delta < 1.0 is an improvement, best = -inf; nothing beats it: wait 1, 2 at 2, 3",
        },
        Parity {
            values: &[1.0, -INF, 0.5, 0.4],
            keras: None,
            lightning: Some((l(2), Some(1))),
            why: "Lightning's default check_finite catches -inf before the improvement test",
        },
        Parity {
            values: &[0.9, 0.8, 0.85, 0.7],
            keras: Some((k(2).with_baseline(0.75), Some(2))),
            lightning: None,
            why: "Keras: 0.9 and 0.8 improve on best but not on baseline 0.75, so wait stays 1 then 2 and \
                  the improvement branch returns before the stop test; 0.85: wait 3 >= 2 and epoch 2 > 0",
        },
        Parity {
            values: &[5.0, 5.0, 1.0, 1.0],
            keras: Some((k(0).with_start_from_epoch(2), Some(3))),
            lightning: None,
            why: "Keras: `epoch < start_from_epoch` returns for epochs 0, 1; 1.0 improves on inf; 1.0 again stops",
        },
        Parity {
            values: &[0.9, 0.6, 0.5, 0.45],
            keras: None,
            lightning: Some((l(3).with_stopping_threshold(0.5), Some(3))),
            why: "Lightning: `torch.lt(current, stopping_threshold)`: 0.5 < 0.5 is False, 0.45 < 0.5 stops",
        },
        Parity {
            values: &[1.0, 1.5, 2.0, 2.5],
            keras: None,
            lightning: Some((l(10).with_divergence_threshold(2.0), Some(3))),
            why: "Lightning: `torch.lt(-current, -divergence_threshold)`: -2.0 < -2.0 is False, -2.5 < -2.0 stops",
        },
        Parity {
            values: &[1.0, 1.1, 1.2, 1.3, 1.4],
            keras: Some((EarlyStopping::keras(val("loss")), Some(1))),
            lightning: Some((EarlyStopping::lightning(val("loss")), Some(3))),
            why: "defaults: Keras patience 0 stops at the first worse epoch after epoch 0; Lightning patience 3 at wait 3",
        },
        Parity {
            values: &[0.5, 0.7, 0.69, 0.71, 0.70, 0.70],
            keras: Some((
                EarlyStopping::keras(val("accuracy")).with_patience(2).with_min_delta(0.005),
                Some(5),
            )),
            lightning: Some((
                EarlyStopping::lightning(val("accuracy"))
                    .with_direction(Direction::Maximize)
                    .with_patience(2)
                    .with_min_delta(0.005),
                Some(5),
            )),
            why: "max mode, `greater(current - 0.005, best)`: 0.7 and 0.71 improve; 0.69, then 0.70, 0.70 \
                  give wait 1, then 1, 2",
        },
        Parity {
            values: &[1.0, INF, 0.9, 0.95],
            keras: Some((k(1), Some(1))),
            lightning: Some((l(1), Some(1))),
            why: "both stop at the inf, for different reasons: Keras `inf < 1.0` fails and wait 1 >= 1; \
                  Lightning's check_finite",
        },
    ];
    for p in table {
        if let Some((es, expected)) = p.keras {
            assert_eq!(stop_index(es, p.values), expected, "Keras: {}", p.why);
        }
        if let Some((es, expected)) = p.lightning {
            assert_eq!(stop_index(es, p.values), expected, "Lightning: {}", p.why);
        }
    }
}

/// Keras 3's `on_epoch_end`, as a reference model (one value per epoch, no baseline).
fn keras_model(values: &[f64], patience: u32, min_delta: f64) -> Option<usize> {
    let (mut best, mut wait) = (INF, 0u32);
    for (epoch, &current) in values.iter().enumerate() {
        wait += 1;
        if current - (-min_delta) < best {
            best = current;
            wait = 0;
            continue;
        }
        if wait >= patience && epoch > 0 {
            return Some(epoch);
        }
    }
    None
}

/// Lightning's `_evaluate_stopping_criteria`, as a reference model (min mode, no thresholds).
fn lightning_model(values: &[f64], patience: u32, min_delta: f64, finite: bool) -> Option<usize> {
    let (mut best, mut wait) = (INF, 0u32);
    for (i, &current) in values.iter().enumerate() {
        if finite && !current.is_finite() {
            return Some(i);
        } else if current - (-min_delta) < best {
            best = current;
            wait = 0;
        } else {
            wait += 1;
            if wait >= patience {
                return Some(i);
            }
        }
    }
    None
}

fn any_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -10.0..10.0f64,
        2 => (0..8i32).prop_map(|i| i as f64 * 0.25),
        1 => Just(NAN),
        1 => Just(INF),
        1 => Just(-INF),
        1 => any::<f64>(),
    ]
}

proptest! {
    #[test]
    fn matches_the_reference_models(
        values in prop::collection::vec(any_value(), 0..40),
        patience in 0u32..5,
        min_delta in prop_oneof![Just(0.0), 0.0..0.5f64],
        finite in any::<bool>(),
    ) {
        let k = EarlyStopping::keras(val("loss")).with_patience(patience).with_min_delta(min_delta);
        prop_assert_eq!(stop_index(k, &values), keras_model(&values, patience, min_delta));
        let l = EarlyStopping::lightning(val("loss"))
            .with_patience(patience)
            .with_min_delta(min_delta)
            .with_check_finite(finite);
        prop_assert_eq!(stop_index(l, &values), lightning_model(&values, patience, min_delta, finite));
    }

    #[test]
    fn no_panic_on_any_input(
        values in prop::collection::vec(any_value(), 0..60),
        patience in 0u32..4,
        finite in any::<bool>(),
        deltas in (any::<f64>(), any::<f64>()),
        thresholds in (proptest::option::of(any_value()), proptest::option::of(any_value())),
        baseline in proptest::option::of(any_value()),
        smoothing in proptest::option::of(any::<f64>()),
        every in 1u32..4,
        maximize in any::<bool>(),
    ) {
        let dir = if maximize { Direction::Maximize } else { Direction::Minimize };
        let mut es = EarlyStopping::new(Monitor::new(Split::Train, "loss"))
            .with_direction(dir)
            .with_patience(patience)
            .with_check_finite(finite)
            .with_min_delta(deltas.0)
            .with_relative_delta(deltas.1)
            .with_check_every(NonZeroU32::new(every).unwrap());
        if let Some(t) = thresholds.0 { es = es.with_stopping_threshold(t); }
        if let Some(t) = thresholds.1 { es = es.with_divergence_threshold(t); }
        if let Some(b) = baseline { es = es.with_baseline(b); }
        if let Some(w) = smoothing { es = es.with_smoothing(w); }
        let mut bus = Bus::new().with(es);
        let key = bus.metric(Split::Train, "loss");
        for (i, &v) in values.iter().enumerate() {
            let metrics = [(key, v)];
            bus.step_end(&StepEnd::new(i as u64, &metrics)).unwrap();
            bus.clear_stop();
        }
        prop_assert!(bus.faults().is_empty(), "{:?}", bus.faults());
        let json = bus.checkpoint().unwrap().to_json();
        prop_assert!(Checkpoint::from_json(&json).is_ok());
        let es = bus.callback::<EarlyStopping>().unwrap();
        prop_assert!(es.decisions().len() <= values.len());
    }

    #[test]
    fn never_stops_a_strictly_decreasing_finite_curve(
        raw in prop::collection::vec(-1e12..1e12f64, 0..50),
        smooth in any::<bool>(),
    ) {
        let mut values = raw;
        values.sort_by(|a, b| b.total_cmp(a));
        values.dedup();
        for es in [
            EarlyStopping::keras(val("loss")),
            EarlyStopping::lightning(val("loss")).with_patience(0),
            EarlyStopping::new(val("loss")).with_patience(0),
        ] {
            prop_assert_eq!(stop_index(es, &values), None);
        }
        if smooth {
            // A debiased EMA of a falling curve falls too: each output mixes the previous output
            // (an average of larger values) with a smaller value.
            let spaced: Vec<f64> = (0..values.len()).map(|i| 1000.0 - i as f64).collect();
            let es = EarlyStopping::new(val("loss")).with_patience(0).with_smoothing(0.9);
            prop_assert_eq!(stop_index(es, &spaced), None);
        }
    }

    #[test]
    fn check_finite_stops_at_the_first_non_finite_value(
        values in prop::collection::vec(any_value(), 0..50),
        smoothing in proptest::option::of(0.0..1.0f64),
        every in 1u32..5,
    ) {
        let mut es = EarlyStopping::new(val("loss"))
            .with_patience(u32::MAX)
            .with_check_every(NonZeroU32::new(every).unwrap());
        if let Some(w) = smoothing { es = es.with_smoothing(w); }
        let first = values.iter().position(|v| !v.is_finite());
        prop_assert_eq!(stop_index(es, &values), first);
    }

    #[test]
    fn a_resumed_run_decides_like_an_uninterrupted_one(
        values in prop::collection::vec(any_value(), 1..60),
        cut in 0usize..60,
    ) {
        let cut = cut % values.len();
        prop_assert_eq!(resumed(&values, cut), uninterrupted(&values));
    }
}

fn stateful() -> EarlyStopping {
    EarlyStopping::new(Monitor::new(Split::Train, "loss"))
        .with_patience(4)
        .with_min_delta(0.01)
        .with_baseline(1.5)
        .with_smoothing(0.6)
        .with_check_every(NonZeroU32::new(2).unwrap())
}

/// The decision log (as `Debug` text, so that NaN compares equal), the stop, the diagnoses.
type Run = (Vec<String>, Option<(String, u64)>, Vec<String>);

fn drive(bus: &mut Bus, values: &[f64], from: usize) {
    let key = bus.metric(Split::Train, "loss");
    for (i, &v) in values.iter().enumerate().skip(from) {
        let metrics = [(key, v)];
        if bus
            .step_end(&StepEnd::new(i as u64 + 1, &metrics))
            .unwrap()
            .should_stop()
        {
            return;
        }
    }
}

fn outcome(bus: &Bus) -> Run {
    let es = bus.callback::<EarlyStopping>().unwrap();
    let log = es.decisions().map(|c| format!("{c:?}")).collect();
    let stop = bus.stop_reason().map(|r| (r.message.clone(), r.step));
    let diagnoses = bus.diagnoses().iter().map(|d| d.to_string()).collect();
    (log, stop, diagnoses)
}

fn uninterrupted(values: &[f64]) -> Run {
    let mut bus = Bus::new().with(stateful());
    drive(&mut bus, values, 0);
    outcome(&bus)
}

fn resumed(values: &[f64], cut: usize) -> Run {
    let mut bus = Bus::new().with(stateful());
    drive(&mut bus, &values[..cut], 0);
    if bus.stop_reason().is_some() {
        return outcome(&bus);
    }
    let json = bus.checkpoint().unwrap().to_json();
    drop(bus);
    let mut fresh = Bus::new().with(stateful());
    fresh
        .restore(Checkpoint::from_json(&json).unwrap())
        .unwrap();
    fresh
        .train_begin(&TrainBegin::new().at(cut as u64, 0))
        .unwrap();
    drive(&mut fresh, values, cut);
    outcome(&fresh)
}

#[test]
fn resume_mid_plateau_keeps_wait_best_and_ema() {
    // A falling then flat, noisy loss: the stop comes from the patience after the plateau.
    let values: Vec<f64> = (0..80)
        .map(|i| 1.0 + 2.0 * (-(i as f64) / 8.0).exp() + 0.05 * ((i * 7919) % 13) as f64 / 13.0)
        .collect();
    let reference = uninterrupted(&values);
    let stop = reference.1.clone().expect("the plateau must stop the run");
    assert!(reference.0.len() > 10);
    for cut in [1, 5, 17, 30, (stop.1 - 2) as usize] {
        assert_eq!(resumed(&values, cut), reference, "cut at {cut}");
    }
}
