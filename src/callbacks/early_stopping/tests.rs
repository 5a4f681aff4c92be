//! Table tests per rule, each case with its reason, driving a real bus.

use std::num::{NonZeroU32, NonZeroUsize};

use super::*;
use crate::{Bus, DiagnosisKind, EvalEnd, Severity, Split, StepEnd};

const NAN: f64 = f64::NAN;
const INF: f64 = f64::INFINITY;

fn val_loss() -> Monitor {
    Monitor::new(Split::Valid, "loss")
}

/// One evaluation per epoch (epoch `i`, step `10 * (i + 1)`), stopping like a loop would.
/// Returns the index of the evaluation whose decision said stop.
fn run(es: EarlyStopping, values: &[f64]) -> (Option<usize>, Bus) {
    let (split, name) = (es.monitor().split(), es.monitor().metric().to_owned());
    let mut bus = Bus::new().with(es);
    let key = bus.metric(split, &name);
    for (i, &v) in values.iter().enumerate() {
        let metrics = [(key, v)];
        let ev = EvalEnd::new(10 * (i as u64 + 1), i as u32, &metrics);
        if bus.eval_end(&ev).unwrap().should_stop() {
            return (Some(i), bus);
        }
    }
    (None, bus)
}

fn es(bus: &Bus) -> &EarlyStopping {
    bus.callback::<EarlyStopping>().unwrap()
}

type Case = (
    EarlyStopping,
    &'static [f64],
    Option<(usize, StopRule)>,
    &'static str,
);

fn check(cases: Vec<Case>) {
    for (cb, values, expected, why) in cases {
        let (at, bus) = run(cb, values);
        let rule = es(&bus).stopped().map(|s| s.rule);
        assert_eq!(at.zip(rule), expected, "{why}");
        if let Some((i, rule)) = expected {
            let reason = bus.stop_reason().unwrap();
            assert_eq!(reason.rule, rule.as_str(), "{why}");
            assert_eq!(reason.step, 10 * (i as u64 + 1), "{why}");
            assert_eq!(es(&bus).stopped().unwrap().index, i as u64, "{why}");
        }
    }
}

#[test]
fn lightning_order_rules() {
    let l = || EarlyStopping::lightning(val_loss());
    use StopRule::*;
    check(vec![
        (l(), &[1.0, 0.9, NAN], Some((2, NonFinite)), "rule 1: NaN stops at once"),
        (l(), &[1.0, -INF], Some((1, NonFinite)), "rule 1: -inf is not finite either, even though it is 'lower'"),
        (
            l().with_check_finite(false),
            &[1.0, NAN, NAN, NAN],
            Some((3, PatienceExhausted)),
            "without check_finite a NaN is just no improvement: wait 1, 2, 3",
        ),
        (
            l().with_stopping_threshold(0.5),
            &[0.9, 0.6, 0.5, 0.45],
            Some((3, StoppingThreshold)),
            "rule 2 is strict: 0.5 does not beat 0.5, 0.45 does",
        ),
        (
            l().with_divergence_threshold(2.0),
            &[1.0, 1.5, 2.0, 2.5],
            Some((3, DivergenceThreshold)),
            "rule 3 is strict: 2.0 is not worse than 2.0, 2.5 is (before patience: 1.5, 2.0, 2.5 is wait 3 too)",
        ),
        (
            l().with_stopping_threshold(5.0).with_divergence_threshold(1.0),
            &[3.0],
            Some((0, StoppingThreshold)),
            "3 beats the stopping threshold 5 and is worse than the divergence threshold 1: rule 2 comes first",
        ),
        (
            l().with_stopping_threshold(0.5),
            &[0.4, NAN],
            Some((0, StoppingThreshold)),
            "the threshold is checked at the first value",
        ),
        (
            l().with_stopping_threshold(NAN).with_divergence_threshold(NAN),
            &[1.0, 2.0, 3.0],
            None,
            "NaN thresholds never fire; patience 3 needs a fourth value",
        ),
    ]);
}

#[test]
fn patience_and_deltas() {
    let n = |p| EarlyStopping::new(val_loss()).with_patience(p);
    use StopRule::*;
    check(vec![
        (n(3), &[1.0, 0.9, 0.95, 0.95, 0.95], Some((4, PatienceExhausted)), "wait 1, 2, 3 after the best 0.9"),
        (n(3), &[1.0, 0.9, 0.95, 0.95, 0.8, 0.85], None, "0.8 resets the wait at 2"),
        (n(0), &[1.0, 1.0], Some((1, PatienceExhausted)), "patience 0: the first check without improvement stops"),
        (n(0), &[1.0, 0.9, 0.8], None, "patience 0 never stops a falling curve"),
        (n(1), &[0.5, 0.5], Some((1, PatienceExhausted)), "an equal value is not an improvement"),
        (
            n(1).with_min_delta(0.1),
            &[1.0, 0.95],
            Some((1, PatienceExhausted)),
            "0.05 is not more than min_delta 0.1",
        ),
        (
            n(1).with_min_delta(0.1),
            &[0.4, 0.3],
            Some((1, PatienceExhausted)),
            "0.3 + 0.1 == 0.4 in floating point: Keras's `current - min_delta` test fails too",
        ),
        (n(1).with_min_delta(0.1), &[1.0, 0.85, 0.7], None, "0.15 beats min_delta 0.1"),
        (
            n(1).with_relative_delta(0.1),
            &[10.0, 9.5],
            Some((1, PatienceExhausted)),
            "5% is below a 10% relative delta",
        ),
        (n(1).with_relative_delta(0.1), &[10.0, 8.9, 7.9], None, "11% and 11.2% beat 10%"),
        (
            EarlyStopping::new(Monitor::new(Split::Valid, "accuracy")).with_patience(1),
            &[0.5, 0.6, 0.6],
            Some((2, PatienceExhausted)),
            "accuracy is maximised: 0.6 twice does not improve",
        ),
        (
            n(1).with_direction(Direction::Maximize),
            &[1.0, 2.0, 3.0, 2.5],
            Some((3, PatienceExhausted)),
            "an explicit direction overrides the name",
        ),
        (
            n(2).with_check_finite(false),
            &[1.0, -INF, 0.5, 0.4],
            Some((3, PatienceExhausted)),
            "with check_finite off, -inf is a new best (IEEE, as in Keras and Lightning): nothing beats it",
        ),
    ]);
}

#[test]
fn keras_rules() {
    let k = |p| EarlyStopping::keras(val_loss()).with_patience(p);
    use StopRule::*;
    check(vec![
        (k(0), &[1.0, 1.1], Some((1, PatienceExhausted)), "Keras default patience 0"),
        (k(0), &[NAN, 1.0, 1.1], Some((2, PatienceExhausted)), "epoch 0: wait 1 >= 0 but `epoch > 0` fails"),
        (k(2), &[1.0, NAN, 0.9, 0.95, 0.96], Some((4, PatienceExhausted)), "Keras has no check_finite: NaN is a non-improvement"),
        (
            k(2).with_baseline(0.75),
            &[0.9, 0.8, 0.85, 0.7],
            Some((2, BaselineNotReached)),
            "0.9 and 0.8 are new bests but miss the baseline: wait 1, 2 with no stop (early return); 0.85: wait 3",
        ),
        (
            k(2).with_baseline(0.75),
            &[0.9, 0.8, 0.7, 0.6],
            None,
            "only a non-improving check can stop, even below the baseline",
        ),
        (
            k(2).with_baseline(0.5),
            &[0.9, 0.4, 0.45, 0.45],
            Some((3, PatienceExhausted)),
            "0.4 beats the baseline: wait reset, then 1, 2",
        ),
        (
            k(1).with_baseline(0.5).with_min_delta(0.1),
            &[0.45, 0.5],
            Some((1, BaselineNotReached)),
            "the baseline needs the margin too: 0.45 + 0.1 is not below 0.5",
        ),
        (
            k(0).with_start_from_epoch(2),
            &[5.0, 5.0, 1.0, 1.0],
            Some((3, PatienceExhausted)),
            "epochs 0 and 1 are ignored; 1.0 is the first best",
        ),
        (
            k(0).with_start_from_epoch(2),
            &[NAN, INF, 1.0, 0.5],
            None,
            "ignored values cannot stop",
        ),
    ]);
}

#[test]
fn new_best_flag_best_point_and_log() {
    let (at, bus) = run(
        EarlyStopping::new(val_loss()).with_patience(2),
        &[1.0, 0.8, 0.9, 0.85],
    );
    assert_eq!(at, Some(3));
    let e = es(&bus);
    let best = e.best().unwrap();
    assert_eq!(
        (best.index, best.step, best.epoch, best.value),
        (1, 20, 1, 0.8)
    );
    assert!(!e.is_new_best(), "the last check did not improve");
    let outcomes: Vec<_> = e
        .decisions()
        .map(|c| (c.index, c.outcome, c.wait))
        .collect();
    use CheckOutcome::*;
    assert_eq!(
        outcomes,
        vec![
            (0, Improved, 0),
            (1, Improved, 0),
            (2, NoImprovement, 1),
            (3, Stop(StopRule::PatienceExhausted), 2)
        ]
    );
    let stop = e.stopped().unwrap();
    assert_eq!(stop.restore, Some(best));
    assert!(
        stop.message
            .contains("did not improve for 2 checks (patience 2)"),
        "{}",
        stop.message
    );

    let (_, bus) = run(EarlyStopping::new(val_loss()), &[1.0, 0.5]);
    assert!(
        es(&bus).is_new_best(),
        "0.5 is a new best: save the weights now"
    );
}

#[test]
fn stop_emits_an_early_stop_diagnosis_with_evidence() {
    let (_, bus) = run(
        EarlyStopping::new(val_loss()).with_patience(1),
        &[1.0, 0.7, 0.9],
    );
    let d = &bus.diagnoses()[0];
    assert_eq!(
        (d.kind, d.severity),
        (DiagnosisKind::EarlyStop, Severity::Info)
    );
    assert_eq!(d.metric.as_deref(), Some("valid/loss"));
    assert_eq!(d.value, Some(0.9));
    for (name, v) in [
        ("best_value", 0.7),
        ("best_step", 20.0),
        ("best_epoch", 1.0),
        ("wait", 1.0),
        ("patience", 1.0),
    ] {
        assert_eq!(d.evidence(name), Some(v), "{name}");
    }
    assert!(
        d.recommendation.contains("step 20 (epoch 1)"),
        "{}",
        d.recommendation
    );

    let (_, bus) = run(EarlyStopping::new(val_loss()), &[1.0, NAN]);
    let d = &bus.diagnoses()[0];
    assert_eq!(d.severity, Severity::Warning, "a NaN stop is a warning");
    assert!(d.recommendation.contains("lower the learning rate"));
}

/// Per-step training loss: step `i + 1`, epoch 0.
fn run_steps(es: EarlyStopping, values: &[f64]) -> (Option<usize>, Bus) {
    let mut bus = Bus::new().with(es);
    let key = bus.metric(Split::Train, "loss");
    for (i, &v) in values.iter().enumerate() {
        if bus
            .step_end(&StepEnd::new(i as u64 + 1, &[(key, v)]))
            .unwrap()
            .should_stop()
        {
            return (Some(i), bus);
        }
    }
    (None, bus)
}

fn train_loss() -> Monitor {
    Monitor::new(Split::Train, "loss")
}

#[test]
fn per_step_metric_smoothing_and_cadence() {
    let raw = || EarlyStopping::new(train_loss()).with_patience(1);
    // w = 0.8 on [4, 2, 2.5]: last 0.8, 1.04, 1.332 over 0.2, 0.36, 0.488 = 4, 2.8889, 2.7295.
    let cases: Vec<(EarlyStopping, &[f64], Option<usize>, &str)> = vec![
        (raw(), &[4.0, 2.0, 2.5, 1.0], Some(2), "raw: 2.5 does not beat 2"),
        (raw().with_smoothing(0.8), &[4.0, 2.0, 2.5, 1.0], None, "smoothed 2.7295 still beats 2.8889"),
        (raw().with_smoothing(0.8), &[4.0, 2.0, NAN], Some(2), "a NaN passes through the EMA to check_finite"),
        (
            raw().with_check_every(NonZeroU32::new(2).unwrap()),
            &[4.0, 9.0, 3.0, 9.0, 3.5, 9.0],
            Some(3),
            "checks at the 2nd and 4th values only: 9 is the best, 9 again is wait 1; 4 and 3 are never judged",
        ),
        (
            raw().with_check_every(NonZeroU32::new(2).unwrap()),
            &[4.0, 9.0, 3.0, 8.0, NAN],
            Some(4),
            "a NaN is checked at once, between checks",
        ),
        (raw().with_start_from_step(3), &[1.0, 5.0, 4.0, 3.0], None, "steps 1 and 2 are warm-up"),
        (
            EarlyStopping::keras(train_loss()),
            &[1.0, 2.0, 3.0],
            None,
            "the Keras guard: no patience stop in epoch 0 (use new or lightning for step metrics)",
        ),
    ];
    for (cb, values, expected, why) in cases {
        assert_eq!(run_steps(cb, values).0, expected, "{why}");
    }
    let (_, bus) = run_steps(raw().with_smoothing(0.8), &[4.0, 2.0, 2.5]);
    let last = es(&bus).decisions().last().copied().unwrap();
    assert!((last.score - 1.332 / 0.488).abs() < 1e-12, "{}", last.score);
    assert_eq!((last.value, last.index), (2.5, 2));
}

#[test]
fn events_without_the_metric_are_not_checks() {
    let mut bus = Bus::new().with(EarlyStopping::new(val_loss()).with_patience(0));
    let other = bus.metric(Split::Valid, "accuracy");
    let train = bus.metric(Split::Train, "loss");
    for i in 0..5u64 {
        assert!(!bus
            .eval_end(&EvalEnd::new(i, i as u32, &[(other, 0.5)]))
            .unwrap()
            .should_stop());
        assert!(!bus
            .step_end(&StepEnd::new(i, &[(train, 1.0)]))
            .unwrap()
            .should_stop());
    }
    assert_eq!(es(&bus).values_seen(), 0);
    assert_eq!(es(&bus).decisions().len(), 0);
}

#[test]
fn the_log_keeps_the_most_recent_checks() {
    let cb = EarlyStopping::new(val_loss())
        .with_patience(100)
        .with_log_limit(NonZeroUsize::new(2).unwrap());
    let (_, bus) = run(cb, &[5.0, 4.0, 3.0, 2.0]);
    let idx: Vec<u64> = es(&bus).decisions().map(|c| c.index).collect();
    assert_eq!(idx, vec![2, 3]);
    assert_eq!(es(&bus).decisions_dropped(), 2);
}

#[test]
fn checks_go_on_after_a_cleared_stop() {
    let (at, mut bus) = run(EarlyStopping::new(val_loss()).with_patience(1), &[1.0, 1.0]);
    assert_eq!(at, Some(1));
    bus.clear_stop();
    let key = bus.metric(Split::Valid, "loss");
    let d = bus.eval_end(&EvalEnd::new(30, 2, &[(key, 1.0)])).unwrap();
    assert!(d.should_stop(), "the wait is still beyond the patience");
    assert_eq!(
        es(&bus).stopped().unwrap().index,
        1,
        "the first stop is kept"
    );
}
