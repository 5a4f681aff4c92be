//! Rule tables for the overfitting detector, each case with its reason, driven through a real bus.

use std::num::{NonZeroU32, NonZeroUsize};

use super::*;
use crate::callbacks::Direction;
use crate::{Bus, DiagnosisKind, EpochEnd, EvalEnd, Severity, Split, StepEnd, TrainBegin};

type Seen = Vec<(DiagnosisKind, Severity, u32)>;

/// One epoch end per value pair, carrying both metrics (the way Keras logs them).
fn run(det: OverfittingDetector, names: (&str, &str), train: &[f64], val: &[f64]) -> Bus {
    let mut bus = Bus::new().with(det);
    let t = bus.metric(Split::Train, names.0);
    let v = bus.metric(Split::Valid, names.1);
    bus.train_begin(&TrainBegin::new()).unwrap();
    for (e, (a, b)) in train.iter().zip(val).enumerate() {
        let step = (e as u64 + 1) * 10;
        bus.epoch_end(&EpochEnd::new(e as u32, step, &[(t, *a), (v, *b)]))
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

fn det(bus: &Bus) -> &OverfittingDetector {
    bus.callback::<OverfittingDetector>().unwrap()
}

fn ramp(a: f64, b: f64, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| a + (b - a) * i as f64 / (n - 1) as f64)
        .collect()
}

/// 0.05 + 0.95 exp(-e / 6): a training loss that keeps falling.
fn falling(n: usize) -> Vec<f64> {
    (0..n)
        .map(|e| 0.05 + 0.95 * (-(e as f64) / 6.0).exp())
        .collect()
}

/// 0.4 + 0.003 (e - 12)^2: validation lowest at epoch 12.
fn u_curve(n: usize) -> Vec<f64> {
    (0..n)
        .map(|e| 0.4 + 0.003 * (e as f64 - 12.0).powi(2))
        .collect()
}

const GAP: DiagnosisKind = DiagnosisKind::GeneralizationGap;
const OVER: DiagnosisKind = DiagnosisKind::Overfitting;
const WARN: Severity = Severity::Warning;
const CRIT: Severity = Severity::Critical;

#[test]
fn generalization_gap_table() {
    let constant_gap: Vec<f64> = falling(20).iter().map(|t| t + 0.2).collect();
    let small_gap_val: Vec<f64> = (0..20).map(|e| 2.0 - 0.05 * e as f64).collect();
    let small_gap_train: Vec<f64> = small_gap_val
        .iter()
        .enumerate()
        .map(|(e, v)| v - 0.005 * e as f64)
        .collect();
    let acc_train = ramp(0.5, 0.99, 10);
    let acc_val = ramp(0.48, 0.75, 10);
    type Case<'a> = (&'a str, &'a [f64], &'a [f64], Seen, &'a str);
    let cases: &[Case] = &[
        (
            "loss",
            &ramp(0.8, 0.1, 10),
            &ramp(0.85, 0.24, 10),
            vec![(GAP, WARN, 6)],
            "the article's ramps: gap 0.05 + 0.01 e widens from epoch 4, patience 3 -> epoch 6",
        ),
        (
            "loss",
            &falling(20),
            &constant_gap,
            vec![],
            "a constant absolute gap does not widen, however large relative to validation",
        ),
        (
            "loss",
            &small_gap_train,
            &small_gap_val,
            vec![],
            "the gap widens but stays under 10% of validation (0.095 / 1.05 at the end)",
        ),
        (
            "loss",
            &ramp(0.8, 0.1, 10),
            &[0.5; 10],
            vec![],
            "validation flat: not improving, so no gap warning; never worse than its best either",
        ),
        (
            "accuracy",
            &acc_train,
            &acc_val,
            vec![(GAP, WARN, 6)],
            "accuracy is maximised: the gap is train - val, 0.02 + 0.0244 e",
        ),
    ];
    for (name, train, val, expected, why) in cases {
        let det_for = OverfittingDetector::new()
            .with_train(Monitor::new(Split::Train, name))
            .with_valid(Monitor::new(Split::Valid, name));
        let bus = run(det_for, (name, name), train, val);
        assert_eq!(&seen(&bus), expected, "{why}");
        let verdict = if expected.is_empty() {
            OverfittingVerdict::None
        } else {
            OverfittingVerdict::GeneralizationGap
        };
        assert_eq!(det(&bus).verdict(), verdict, "{why}");
    }
}

#[test]
fn overfitting_table() {
    let mut dips = u_curve(30);
    dips[14] = 0.398; // a new best two evaluations after the turn
    let rising_train: Vec<f64> = (0..30).map(|e| 0.2 + 0.01 * e as f64).collect();
    let default = || OverfittingDetector::new();
    let delta = || {
        OverfittingDetector::new()
            .with_valid(Monitor::new(Split::Valid, "loss").with_min_delta(0.05))
    };
    let critical_4 = || OverfittingDetector::new().with_critical_after(NonZeroU32::new(4).unwrap());
    type Make = fn() -> OverfittingDetector;
    type Case<'a> = (
        Make,
        &'a [f64],
        &'a [f64],
        &'a [(DiagnosisKind, Severity, u32)],
        &'a str,
    );
    let cases: &[Case] = &[
        (
            default as Make,
            &falling(30),
            &u_curve(30),
            &[(OVER, WARN, 16), (OVER, CRIT, 18)],
            "worse from 13; significant at 16 (t 5.86 > 4.54); 6 worse evaluations at 18",
        ),
        (
            default as Make,
            &rising_train,
            &u_curve(30),
            &[],
            "validation worsens but training does too: a learning-rate problem, not overfitting",
        ),
        (
            delta as Make,
            &falling(30),
            &u_curve(30),
            &[(OVER, WARN, 20), (OVER, CRIT, 23)],
            "min_delta 0.05: the best stays 0.448 (epoch 8; later gains are under 0.05), so worse \
             means above 0.498: from epoch 18 (0.508), patience 3 -> 20, 6 evaluations -> 23",
        ),
        (
            critical_4 as Make,
            &falling(30),
            &u_curve(30),
            &[(OVER, CRIT, 16)],
            "critical after 4: the streak is already 4 at 16, so the first report is critical",
        ),
    ];
    for (make, train, val, expected, why) in cases {
        let bus = run(make(), ("loss", "loss"), train, val);
        let over: Seen = seen(&bus).into_iter().filter(|d| d.0 == OVER).collect();
        assert_eq!(&over, expected, "{why}");
    }
    let bus = run(default(), ("loss", "loss"), &falling(30), &dips);
    let over: Seen = seen(&bus).into_iter().filter(|d| d.0 == OVER).collect();
    // Worse again from 15; at 17 the window 13..17 rises with t = 5.7 (slope 0.0194, se 0.0034).
    assert_eq!(
        over,
        vec![(OVER, WARN, 17), (OVER, CRIT, 20)],
        "the new best at 14 restarts the count"
    );
    assert_eq!(det(&bus).best_epoch(), Some(14));
    assert_eq!(det(&bus).onset_epoch(), Some(15));
}

#[test]
fn a_new_best_ends_the_episode_and_a_second_one_is_reported_again() {
    // U down to epoch 12, up to 20, then down to a new best at 30, up again.
    let val: Vec<f64> = (0..45)
        .map(|e| {
            let e = e as f64;
            if e <= 20.0 {
                0.4 + 0.003 * (e - 12.0).powi(2)
            } else {
                0.3 + 0.003 * (e - 30.0).powi(2)
            }
        })
        .collect();
    let train: Vec<f64> = (0..45).map(|e| 1.0 / (1.0 + e as f64)).collect();
    let bus = run(OverfittingDetector::new(), ("loss", "loss"), &train, &val);
    let over: Seen = seen(&bus).into_iter().filter(|d| d.0 == OVER).collect();
    assert_eq!(over[0], (OVER, WARN, 16), "first episode");
    let second: Vec<_> = over.iter().filter(|d| d.2 > 30).collect();
    assert_eq!(
        second.first().map(|d| (d.1, d.2)),
        Some((WARN, 34)),
        "second episode: {over:?}"
    );
    let d = det(&bus);
    assert_eq!((d.best_epoch(), d.onset_epoch()), (Some(30), Some(31)));
    assert_eq!(d.verdict(), OverfittingVerdict::Overfitting);
    assert!(d.episodes() >= 2);
}

#[test]
fn training_value_comes_from_the_epoch_metric_else_the_step_mean() {
    let mut bus = Bus::new().with(OverfittingDetector::new());
    let t = bus.metric(Split::Train, "loss");
    let v = bus.metric(Split::Valid, "loss");
    bus.train_begin(&TrainBegin::new()).unwrap();
    for (step, x) in [(1, 1.0), (2, 2.0), (3, 6.0)] {
        bus.step_end(&StepEnd::new(step, &[(t, x)])).unwrap();
    }
    bus.eval_end(&EvalEnd::new(3, 0, &[(v, 4.0)])).unwrap();
    assert_eq!(
        det(&bus).gap(),
        Some(1.0),
        "step mean (1 + 2 + 6) / 3 = 3, gap 4 - 3"
    );
    bus.epoch_end(&EpochEnd::new(0, 3, &[(v, 4.0)])).unwrap();
    assert_eq!(
        det(&bus).evaluations(),
        1,
        "the same evaluation repeated at epoch end counts once"
    );
    bus.step_end(&StepEnd::new(4, &[(t, 10.0)])).unwrap();
    bus.epoch_end(&EpochEnd::new(1, 4, &[(t, 2.5)])).unwrap();
    bus.eval_end(&EvalEnd::new(4, 1, &[(v, 3.0)])).unwrap();
    assert_eq!(
        det(&bus).gap(),
        Some(0.5),
        "the epoch-level 2.5 wins over the step mean 10"
    );
    bus.eval_end(&EvalEnd::new(5, 1, &[(v, 3.5)])).unwrap();
    assert_eq!(
        det(&bus).gap(),
        Some(1.0),
        "no new training data: the last value, 2.5, is reused"
    );
    assert_eq!(det(&bus).relative_gap(), Some(1.0 / 3.5));
    bus.step_end(&StepEnd::new(6, &[(t, f64::NAN)])).unwrap();
    bus.step_end(&StepEnd::new(7, &[(t, 1.5)])).unwrap();
    bus.eval_end(&EvalEnd::new(7, 1, &[(v, f64::INFINITY)]))
        .unwrap();
    assert_eq!(
        det(&bus).evaluations(),
        3,
        "a non-finite validation value is skipped"
    );
    bus.eval_end(&EvalEnd::new(8, 1, &[(v, 2.0)])).unwrap();
    assert_eq!(
        det(&bus).gap(),
        Some(0.5),
        "NaN steps are left out of the mean: 2 - 1.5"
    );
}

#[test]
fn settings_out_of_range_are_errors() {
    let w = |n| OverfittingDetector::new().with_window(NonZeroUsize::new(n).unwrap());
    let c = |x| OverfittingDetector::new().with_confidence(x);
    let g = |x| OverfittingDetector::new().with_min_relative_gap(x);
    let r = |x| OverfittingDetector::new().with_min_gap_growth(x);
    let cases = [
        (
            w(2).is_err(),
            "a window of 2 leaves no residual for a t statistic",
        ),
        (w(3).is_ok(), "a window of 3 is the smallest"),
        (c(1.0).is_err(), "confidence 1 can never be reached"),
        (
            c(0.4).is_err(),
            "confidence under 0.5 would accept slopes of the wrong sign",
        ),
        (c(f64::NAN).is_err(), "NaN confidence"),
        (c(0.5).is_ok(), "0.5 accepts any slope of the right sign"),
        (g(-0.1).is_err(), "a negative gap ratio"),
        (g(f64::INFINITY).is_err(), "an infinite gap ratio"),
        (r(f64::NAN).is_err(), "NaN growth"),
        (r(0.0).is_ok(), "zero growth is allowed"),
    ];
    for (ok, why) in cases {
        assert!(ok, "{why}");
    }
    let err = c(2.0).err().unwrap();
    assert_eq!(
        err.to_string(),
        "with_confidence must be in [0.5, 1), got 2"
    );
}

#[test]
fn timing_falls_back_to_the_evaluations_seen() {
    // No planned length: the article's gap begins at evaluation 5 of 7 -> 0.71, late.
    let bus = run(
        OverfittingDetector::new(),
        ("loss", "loss"),
        &ramp(0.8, 0.1, 10),
        &ramp(0.85, 0.24, 10),
    );
    assert_eq!(det(&bus).timing(), Some(Timing::Late));
    let d = &bus.diagnoses()[0];
    assert!(
        d.recommendation.contains("capacity is fine"),
        "{}",
        d.recommendation
    );
    assert!(
        d.recommendation.contains("epoch 6"),
        "best epoch at the time: {}",
        d.recommendation
    );
}

#[test]
fn a_custom_direction_orients_the_gap() {
    // An error rate named "err" (minimised by inference) against accuracy-like values flipped.
    let m = Monitor::new(Split::Valid, "err").with_direction(Direction::Minimize);
    let d = OverfittingDetector::new().with_valid(m);
    let bus = run(d, ("loss", "err"), &[0.5, 0.4], &[0.6, 0.45]);
    assert_eq!(det(&bus).gap(), Some(0.45 - 0.4));
}
