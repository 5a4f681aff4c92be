//! Rule tables for the underfitting detector, each case with its reason, driven through a real bus.

use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};

use super::*;
use crate::{Bus, DiagnosisKind, EpochEnd, EvalEnd, Severity, Split, StepEnd};

type Seen = Vec<(DiagnosisKind, Severity, u32)>;

/// One epoch end per index, carrying the train loss and, where given, valid loss and train
/// accuracy.
fn run(det: UnderfittingDetector, train: &[f64], valid: &[f64], acc: &[f64]) -> Bus {
    let mut bus = Bus::new().with(det);
    let t = bus.metric(Split::Train, "loss");
    let v = bus.metric(Split::Valid, "loss");
    let a = bus.metric(Split::Train, "accuracy");
    let n = train.len().max(valid.len()).max(acc.len());
    for e in 0..n {
        let mut metrics = Vec::new();
        metrics.extend(train.get(e).map(|x| (t, *x)));
        metrics.extend(valid.get(e).map(|x| (v, *x)));
        metrics.extend(acc.get(e).map(|x| (a, *x)));
        bus.epoch_end(&EpochEnd::new(e as u32, e as u64 * 10, &metrics))
            .unwrap();
    }
    bus
}

fn seen(bus: &Bus) -> Seen {
    bus.diagnoses()
        .iter()
        .map(|d| (d.kind, d.severity, d.epoch))
        .collect()
}

fn det(bus: &Bus) -> &UnderfittingDetector {
    bus.callback::<UnderfittingDetector>().unwrap()
}

/// `start` then flat at `end` after `drop_epochs` epochs of a linear drop; `n` epochs in all.
fn drop_then_flat(start: f64, end: f64, drop_epochs: usize, n: usize) -> Vec<f64> {
    (0..n)
        .map(|e| {
            let f = (e as f64 / drop_epochs as f64).min(1.0);
            start + (end - start) * f
        })
        .collect()
}

const UNDER: DiagnosisKind = DiagnosisKind::Underfitting;
const PLATEAU: DiagnosisKind = DiagnosisKind::Plateau;
const WARN: Severity = Severity::Warning;
const INFO: Severity = Severity::Info;

#[test]
fn loss_rules_table() {
    let five_pct = [1.0, 0.98, 0.96, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95];
    let steady: Vec<f64> = (0..40).map(|e| 2.0 * (-(e as f64) / 40.0).exp()).collect();
    let converged = drop_then_flat(2.0, 0.5, 5, 15);
    let converged_valid: Vec<f64> = converged.iter().map(|x| x + 0.02).collect();
    let shallow = drop_then_flat(1.0, 0.8, 2, 14);
    let shallow_valid: Vec<f64> = shallow.iter().map(|x| x + 0.02).collect();
    let far_valid: Vec<f64> = shallow.iter().map(|x| x + 0.5).collect();
    type Case<'a> = (
        &'a [f64],
        &'a [f64],
        Seen,
        Option<UnderfittingRule>,
        &'a str,
    );
    let cases: &[Case] = &[
        (
            &five_pct,
            &[],
            vec![(UNDER, WARN, 8)],
            Some(UnderfittingRule::TrainPlateauHigh),
            "down 5% then flat: at epoch 8 the window 0.98, 0.96, 0.95 x6 has slope -0.13 / 42, \
             relative -0.0032 (flat; at 7 it was -0.0066), improvement 1 - 0.955 = 4.5% < 25%",
        ),
        (
            &steady,
            &[],
            vec![],
            None,
            "still falling 2.5% of its level per epoch: nothing yet",
        ),
        (
            &converged,
            &[],
            vec![(PLATEAU, INFO, 12)],
            Some(UnderfittingRule::Converged),
            "2.0 -> 0.5 then flat: a 75% improvement is a plateau, not underfitting; the window \
             is all 0.5 at epoch 12 (at 11, 0.8 then 0.5 x7 falls 4.7% per epoch)",
        ),
        (
            &converged,
            &converged_valid,
            vec![(PLATEAU, INFO, 12)],
            Some(UnderfittingRule::Converged),
            "converged with validation flat and 4% above: still a plateau",
        ),
        (
            &shallow,
            &shallow_valid,
            vec![(UNDER, WARN, 9)],
            Some(UnderfittingRule::TrainAndValidFlat),
            "down 20% then flat (all 0.8 from epoch 2; at 8, 0.9 then 0.8 x7 still falls 1%), \
             validation flat and 2.5% above: underfitting on both",
        ),
        (
            &shallow,
            &far_valid,
            vec![(UNDER, WARN, 9)],
            Some(UnderfittingRule::TrainPlateauHigh),
            "validation far above (0.5 on 1.3): the training rule alone",
        ),
    ];
    for (train, valid, expected, rule, why) in cases {
        let bus = run(UnderfittingDetector::new(), train, valid, &[]);
        assert_eq!(&seen(&bus), expected, "{why}");
        assert_eq!(det(&bus).rule(), *rule, "{why}");
    }
}

#[test]
fn an_llm_like_curve_that_flattens_low_is_a_plateau_not_underfitting() {
    // Pretraining without epochs: 3000 steps of 2.8 + 7.7 exp(-s / 300) nats (10.47 -> 2.80),
    // a point every 100 steps, validation every 500 steps.
    let every_100 = Cadence::Steps(NonZeroU64::new(100).unwrap());
    let mut bus = Bus::new().with(UnderfittingDetector::new().with_cadence(every_100));
    let (t, v) = (
        bus.metric(Split::Train, "loss"),
        bus.metric(Split::Valid, "loss"),
    );
    let loss = |s: f64| 2.8 + 7.7 * (-s / 300.0).exp();
    for step in 1..=3000u64 {
        bus.step_end(&StepEnd::new(step, &[(t, loss(step as f64))]))
            .unwrap();
        if step % 500 == 0 {
            bus.eval_end(&EvalEnd::new(step, 0, &[(v, loss(step as f64) + 0.05)]))
                .unwrap();
        }
    }
    let found = det(&bus);
    assert_eq!(found.points(), 30);
    assert_eq!(found.verdict(), UnderfittingVerdict::Plateau);
    assert_eq!(found.rule(), Some(UnderfittingRule::Converged));
    assert_eq!(bus.diagnoses().len(), 1, "{:?}", bus.diagnoses());
    let d = &bus.diagnoses()[0];
    assert_eq!((d.kind, d.severity), (PLATEAU, INFO));
    // Flat means a relative slope within 0.5% per 100 steps: 7.7 e^(-s/300) / 3 <= 0.005 * 2.8
    // around the window's centre, s ~ 1600, so the window of 8 points ends near step 2000.
    assert!(
        (1700..=2400).contains(&d.step),
        "plateau at step {}",
        d.step
    );
    // Improvement = (10.474 - ~2.83) / 10.474: about 73%, far above 25%.
    let improvement = d.evidence("improvement").unwrap();
    assert!((0.72..0.74).contains(&improvement), "{improvement}");
    assert_eq!(found.initial_value(), Some(loss(1.0)));
}

#[test]
fn accuracy_rules_table() {
    let falling: Vec<f64> = (0..12).map(|e| 2.0 * (-(e as f64) / 10.0).exp()).collect();
    let near_tenth: Vec<f64> = (0..12)
        .map(|e| 0.1 + 0.01 * ((e * 7 % 3) as f64 - 1.0))
        .collect();
    let coin: Vec<f64> = (0..12).map(|e| 0.52 + 0.01 * ((e % 2) as f64)).collect();
    let learning: Vec<f64> = (0..12).map(|e| 0.1 + 0.08 * e as f64).collect();
    let flat_70 = [0.7; 12];
    fn acc() -> UnderfittingDetector {
        UnderfittingDetector::new().with_accuracy(Monitor::new(Split::Train, "accuracy"))
    }
    fn classes(k: u32) -> UnderfittingDetector {
        acc().with_num_classes(NonZeroU32::new(k).unwrap()).unwrap()
    }
    fn target() -> UnderfittingDetector {
        acc().with_target_accuracy(0.9).unwrap()
    }
    type Make = Box<dyn Fn() -> UnderfittingDetector>;
    type Case<'a> = (Make, &'a [f64], Seen, Option<UnderfittingRule>, &'a str);
    let cases: Vec<Case> = vec![
        (
            Box::new(|| classes(10)),
            &near_tenth,
            vec![(UNDER, WARN, 7)],
            Some(UnderfittingRule::AccuracyAtChance),
            "10 classes, accuracy ~0.10 <= 0.1 + 0.1 * 0.9 = 0.19 once 8 points are in",
        ),
        (
            Box::new(|| classes(2)),
            &coin,
            vec![(UNDER, WARN, 7)],
            Some(UnderfittingRule::AccuracyAtChance),
            "2 classes, accuracy 0.52-0.53 <= 0.5 + 0.1 * 0.5 = 0.55",
        ),
        (
            Box::new(|| classes(10)),
            &learning,
            vec![],
            None,
            "accuracy climbs from chance: the window mean 0.38 at epoch 7 is well above 0.19",
        ),
        (
            Box::new(target),
            &flat_70,
            vec![(UNDER, WARN, 7)],
            Some(UnderfittingRule::AccuracyBelowTarget),
            "flat at 0.70 below the target 0.90",
        ),
        (
            Box::new(acc),
            &near_tenth,
            vec![],
            None,
            "without a class count or a target, accuracy alone says nothing",
        ),
    ];
    for (make, accuracy, expected, rule, why) in cases {
        let bus = run(make(), &falling, &[], accuracy);
        assert_eq!(seen(&bus), expected, "{why}");
        assert_eq!(det(&bus).rule(), rule, "{why}");
    }
    let bus = run(classes(10), &falling, &[], &near_tenth);
    let d = &bus.diagnoses()[0];
    assert_eq!(d.metric.as_deref(), Some("train/accuracy"));
    assert_eq!((d.evidence("chance"), d.threshold), (Some(0.1), Some(0.19)));
    assert!(d.recommendation.contains("labels"), "{}", d.recommendation);
}

#[test]
fn an_episode_ends_when_the_curve_moves_and_a_new_one_is_reported() {
    // Flat at 1.0, then down 0.015 per epoch to 0.85, then flat again.
    let train: Vec<f64> = (0..30)
        .map(|e| 1.0 - 0.015 * (e as f64 - 7.0).clamp(0.0, 10.0))
        .collect();
    let bus = run(UnderfittingDetector::new(), &train, &[], &[]);
    // 7: the first full window is flat at 1.0 (no improvement). 12: the window 1 x3, 0.985 ...
    // 0.925 falls 1.19% of its level per epoch, beyond twice the tolerance (at 11 it was 0.91%);
    // moving at 12, 13, 14: the episode ends. 22: 0.88, 0.865, 0.85 x6 is flat again (-0.40%),
    // 14% below the start: a new episode.
    assert_eq!(seen(&bus), vec![(UNDER, WARN, 7), (UNDER, WARN, 22)]);
    assert_eq!(det(&bus).episodes(), 2);
}

#[test]
fn cadence_decides_when_points_are_taken() {
    let cases = [
        (Cadence::Epoch, 5, "one point per epoch end"),
        (Cadence::Eval, 5, "one point per evaluation"),
        (
            Cadence::Steps(NonZeroU64::new(5).unwrap()),
            10,
            "every 5 of 50 steps",
        ),
        (
            Cadence::Steps(NonZeroU64::new(25).unwrap()),
            2,
            "every 25 of 50 steps",
        ),
    ];
    for (cadence, points, why) in cases {
        let mut bus = Bus::new().with(UnderfittingDetector::new().with_cadence(cadence));
        let (t, v) = (
            bus.metric(Split::Train, "loss"),
            bus.metric(Split::Valid, "loss"),
        );
        for e in 0..5u32 {
            for i in 1..=10u64 {
                let step = u64::from(e) * 10 + i;
                bus.step_end(&StepEnd::new(step, &[(t, 1.0 / step as f64)]).with_epoch(e))
                    .unwrap();
            }
            let step = u64::from(e + 1) * 10;
            bus.eval_end(&EvalEnd::new(step, e, &[(v, 0.5)])).unwrap();
            bus.epoch_end(&EpochEnd::new(e, step, &[])).unwrap();
        }
        assert_eq!(det(&bus).points(), points, "{why}");
        assert_eq!(
            det(&bus).initial_value(),
            Some(1.0),
            "{why}: the first step"
        );
    }
}

#[test]
fn settings_out_of_range_are_errors() {
    let u = UnderfittingDetector::new;
    let cases = [
        (
            u().with_num_classes(NonZeroU32::new(1).unwrap()).is_err(),
            "1 class has no chance level",
        ),
        (
            u().with_num_classes(NonZeroU32::new(2).unwrap()).is_ok(),
            "2 classes",
        ),
        (u().with_target_accuracy(0.0).is_err(), "a target of 0"),
        (u().with_target_accuracy(1.5).is_err(), "a target above 1"),
        (u().with_target_accuracy(f64::NAN).is_err(), "a NaN target"),
        (
            u().with_window(NonZeroUsize::new(2).unwrap()).is_err(),
            "a window of 2",
        ),
        (
            u().with_flat_tolerance(0.0).is_err(),
            "zero tolerance: nothing is ever flat",
        ),
        (
            u().with_flat_tolerance(f64::INFINITY).is_err(),
            "infinite tolerance",
        ),
        (
            u().with_min_improvement(1.5).is_err(),
            "more than 100% improvement",
        ),
        (
            u().with_min_improvement(0.0).is_ok(),
            "0: never underfitting by this rule",
        ),
        (
            u().with_close_tolerance(-1.0).is_err(),
            "negative closeness",
        ),
        (
            u().with_chance_margin(1.0).is_err(),
            "a margin of 1 calls everything chance",
        ),
    ];
    for (ok, why) in cases {
        assert!(ok, "{why}");
    }
}

#[test]
fn non_finite_values_are_left_out() {
    let mut train = vec![f64::NAN, 1.0, f64::INFINITY, 0.98, 0.96];
    train.extend([0.95; 8]);
    let bus = run(
        UnderfittingDetector::new().without_valid(),
        &train,
        &[],
        &[],
    );
    assert_eq!(det(&bus).initial_value(), Some(1.0), "NaN is not a start");
    // The non-finite epochs give no point (11 points from 13 epochs): the window of 8 fills at
    // epoch 9 (-0.66%, not flat) and is flat from epoch 10 (0.98, 0.96, 0.95 x6).
    assert_eq!(det(&bus).points(), 11);
    assert_eq!(seen(&bus), vec![(UNDER, WARN, 10)]);
}

#[test]
fn plateau_advice_depends_on_validation() {
    let train = drop_then_flat(2.0, 0.5, 5, 15);
    let close: Vec<f64> = train.iter().map(|x| x + 0.02).collect();
    let far: Vec<f64> = train.iter().map(|x| x + 0.3).collect();
    let cases: [(&[f64], &str, &str); 3] = [
        (
            &close,
            "larger model",
            "validation flat and close: capacity is the lever",
        ),
        (
            &far,
            "decay the learning rate",
            "validation far above: the generic advice",
        ),
        (
            &[],
            "decay the learning rate",
            "no validation: the generic advice",
        ),
    ];
    for (valid, phrase, why) in cases {
        let bus = run(UnderfittingDetector::new(), &train, valid, &[]);
        let d = &bus.diagnoses()[0];
        assert_eq!(d.kind, PLATEAU, "{why}");
        assert!(
            d.recommendation.contains(phrase),
            "{why}: {}",
            d.recommendation
        );
        assert_eq!(
            d.evidence("improvement"),
            Some(0.75),
            "{why}: (2 - 0.5) / 2"
        );
    }
}
