//! Rule tables for the overfitting detector, each case with its reason, driven through a real bus.

use std::num::{NonZeroU32, NonZeroUsize};

use super::*;
use crate::callbacks::Direction;
use crate::{
    Bus, DiagnosisKind, EpochEnd, EvalEnd, Severity, Split, StepEnd, TrainBegin, TrainEnd,
};

type Seen = Vec<(DiagnosisKind, Severity, u32)>;

/// A change to the diagnoses seen after an epoch: a new diagnosis or a revision of one, as
/// (epoch of the change, kind, severity, epoch it was first reported at, episode closed).
type Change = (u32, DiagnosisKind, Severity, u32, bool);

/// One epoch end per value pair, carrying both metrics (the way Keras logs them); returns the bus
/// and every change the diagnoses went through, epoch by epoch.
fn run_logged(
    det: OverfittingDetector,
    names: (&str, &str),
    train: &[f64],
    val: &[f64],
) -> (Bus, Vec<Change>) {
    let mut bus = Bus::new().with(det);
    let t = bus.metric(Split::Train, names.0);
    let v = bus.metric(Split::Valid, names.1);
    bus.train_begin(&TrainBegin::new()).unwrap();
    let mut changes = Vec::new();
    let mut before: Vec<(DiagnosisKind, Severity, u32, bool)> = Vec::new();
    for (e, (a, b)) in train.iter().zip(val).enumerate() {
        let step = (e as u64 + 1) * 10;
        bus.epoch_end(&EpochEnd::new(e as u32, step, &[(t, *a), (v, *b)]))
            .unwrap();
        let now: Vec<_> = bus
            .diagnoses()
            .iter()
            .map(|d| {
                (
                    d.kind,
                    d.severity,
                    d.epoch,
                    d.episode.is_some_and(|x| x.closed),
                )
            })
            .collect();
        for (i, d) in now.iter().enumerate() {
            if before.get(i) != Some(d) {
                changes.push((e as u32, d.0, d.1, d.2, d.3));
            }
        }
        before = now;
    }
    (bus, changes)
}

fn run(det: OverfittingDetector, names: (&str, &str), train: &[f64], val: &[f64]) -> Bus {
    run_logged(det, names, train, val).0
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

/// 0.4 + 0.003 (e - 12)^2: validation lowest at epoch 12. Its second difference is 0.006
/// everywhere, which the detector reads as noise 1.4826 * 0.006 / sqrt(6) = 0.00363: the margin
/// above the best is 3 * 0.00363 = 0.0109, so "worse" means above 0.4109.
fn u_curve(n: usize) -> Vec<f64> {
    (0..n)
        .map(|e| 0.4 + 0.003 * (e as f64 - 12.0).powi(2))
        .collect()
}

const GAP: DiagnosisKind = DiagnosisKind::GeneralizationGap;
const OVER: DiagnosisKind = DiagnosisKind::Overfitting;
const INFO: Severity = Severity::Info;
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
    // (metric, train, val, diagnoses, onset epoch, why)
    type Case<'a> = (&'a str, &'a [f64], &'a [f64], Seen, Option<u32>, &'a str);
    let cases: &[Case] = &[
        (
            "loss",
            &ramp(0.8, 0.1, 10),
            &ramp(0.85, 0.24, 10),
            vec![(GAP, INFO, 6)],
            Some(4),
            "the article's ramps: gap 0.05 + 0.01 e widens from epoch 4, patience 3 -> epoch 6; \
             info, since validation still improves",
        ),
        (
            "loss",
            &falling(20),
            &constant_gap,
            vec![],
            None,
            "a constant absolute gap does not widen, however large relative to validation",
        ),
        (
            "loss",
            &small_gap_train,
            &small_gap_val,
            vec![],
            None,
            "the gap widens but stays under 10% of validation (0.095 / 1.05 at the end)",
        ),
        (
            "loss",
            &ramp(0.8, 0.1, 10),
            &[0.5; 10],
            vec![],
            None,
            "validation flat: not improving, so no gap warning; never worse than its best either",
        ),
        (
            "accuracy",
            &acc_train,
            &acc_val,
            vec![(GAP, INFO, 6)],
            Some(4),
            "accuracy is maximised: the gap is train - val, 0.02 + 0.0244 e",
        ),
    ];
    for (name, train, val, expected, onset, why) in cases {
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
        assert_eq!(det(&bus).onset_epoch(), *onset, "{why}");
        if let (Some(d), Some(e)) = (bus.diagnoses().first(), onset) {
            // The episode starts at the first evaluation of the streak, not where it was reported.
            assert_eq!(d.onset_step(), (u64::from(*e) + 1) * 10, "{why}");
        }
    }
}

#[test]
fn overfitting_table() {
    let mut dips = u_curve(30);
    dips[14] = 0.398; // a new best two evaluations after the turn
    let rising_train: Vec<f64> = (0..30).map(|e| 0.2 + 0.01 * e as f64).collect();
    // A fine-tune: four evaluations, validation worse at each after the first.
    let tune_train = [0.40, 0.35, 0.30, 0.25];
    let tune_val = [0.50, 0.52, 0.55, 0.60];
    // Converged: validation wanders +-0.01 around 0.40 after a descent, training still falls.
    let wander: Vec<f64> = (0..30)
        .map(|e| match e {
            0..10 => 0.6 - 0.02 * e as f64,
            _ => 0.40 + 0.01 * (e % 2) as f64,
        })
        .collect();
    let default = || OverfittingDetector::new();
    let delta = || {
        OverfittingDetector::new()
            .with_valid(Monitor::new(Split::Valid, "loss").with_min_delta(0.05))
    };
    let critical_3 = || OverfittingDetector::new().with_critical_after(NonZeroU32::new(3).unwrap());
    let critical_4 = || OverfittingDetector::new().with_critical_after(NonZeroU32::new(4).unwrap());
    type Make = fn() -> OverfittingDetector;
    // (detector, train, val, changes to the overfitting diagnoses, best epoch, why)
    type Case<'a> = (
        Make,
        &'a [f64],
        &'a [f64],
        &'a [Change],
        Option<u32>,
        &'a str,
    );
    let cases: &[Case] = &[
        (
            default as Make,
            &falling(30),
            &u_curve(30),
            &[(16, OVER, WARN, 16, false), (20, OVER, CRIT, 16, false)],
            Some(12),
            "best 0.4 at 12; 13 (0.403) and 14 (0.412) are within the margin 0.0127 (3.5 noise \
             units), 15 on are above: at 16, the later half of the evaluations since the best \
             (at least 3: 14..16) are 3/4 above it in count, and so is their median -> warning; \
             the 6th above (20) turns the same diagnosis critical",
        ),
        (
            default as Make,
            &rising_train,
            &u_curve(30),
            &[],
            Some(12),
            "validation worsens but training does too: a learning-rate problem, not overfitting",
        ),
        (
            delta as Make,
            &falling(30),
            &u_curve(30),
            &[(19, OVER, WARN, 19, false), (22, OVER, CRIT, 19, false)],
            Some(12),
            "min_delta 0.05 widens the margin, not the best (still the raw 0.4 at 12): worse \
             means above 0.45, from 17 (0.475); at 19, three of the later four evaluations since \
             the best (16..19) stand above it -> warning; the 6th above (22) -> critical",
        ),
        (
            critical_4 as Make,
            &falling(30),
            &u_curve(30),
            &[(16, OVER, WARN, 16, false), (18, OVER, CRIT, 16, false)],
            Some(12),
            "critical after 4: warning at 16 (15 and 16 above), critical at 18 (4 above)",
        ),
        (
            critical_3 as Make,
            &falling(30),
            &u_curve(30),
            &[(16, OVER, WARN, 16, false), (17, OVER, CRIT, 16, false)],
            Some(12),
            "critical after 3: 2 above at 16 (a warning), the 3rd at 17 -> critical",
        ),
        (
            default as Make,
            &falling(30),
            &dips,
            &[(17, OVER, WARN, 17, false), (20, OVER, CRIT, 17, false)],
            Some(14),
            "the new best at 14 (0.398) restarts the count: 15, 16, 17 above 0.4089 -> warning \
             at 17, the 6th above at 20 -> critical",
        ),
        (
            default as Make,
            &tune_train,
            &tune_val,
            &[(3, OVER, WARN, 3, false)],
            Some(0),
            "four evaluations: under 5 values there is no noise estimate and the margin is the \
             monitor's 0; 3 of 3 since the best (epoch 0) above it, training better -> warning \
             at the 4th, no trend test needed",
        ),
        (
            default as Make,
            &falling(30),
            &wander,
            &[],
            Some(10),
            "converged: validation wanders +-0.01 around 0.40, its noise (0.012) puts the margin \
             at 0.036, which no evaluation clears",
        ),
    ];
    for (make, train, val, expected, best, why) in cases {
        let (bus, changes) = run_logged(make(), ("loss", "loss"), train, val);
        let over: Vec<Change> = changes.into_iter().filter(|c| c.1 == OVER).collect();
        assert_eq!(&over, expected, "{why}");
        let d = det(&bus);
        assert_eq!(d.best_epoch(), *best, "{why}");
        if expected.is_empty() {
            assert_ne!(d.verdict(), OverfittingVerdict::Overfitting, "{why}");
            continue;
        }
        assert_eq!(d.verdict(), OverfittingVerdict::Overfitting, "{why}");
        // The episode runs from the best evaluation: that is its onset.
        assert_eq!(d.onset_epoch(), *best, "{why}");
        let over = bus.diagnoses().iter().find(|x| x.kind == OVER).unwrap();
        let best_step = (u64::from(best.unwrap()) + 1) * 10;
        assert_eq!(over.onset_step(), best_step, "{why}");
    }
}

#[test]
fn an_episode_is_one_diagnosis_revised_at_each_evaluation() {
    let (train, val) = (falling(30), u_curve(30));
    let mut bus = Bus::new().with(OverfittingDetector::new());
    let (t, v) = (
        bus.metric(Split::Train, "loss"),
        bus.metric(Split::Valid, "loss"),
    );
    for e in 0..30u32 {
        let step = u64::from(e + 1) * 10;
        let (a, b) = (train[e as usize], val[e as usize]);
        bus.epoch_end(&EpochEnd::new(e, step, &[(t, a), (v, b)]))
            .unwrap();
        let over: Vec<_> = bus.diagnoses().iter().filter(|d| d.kind == OVER).collect();
        if e < 16 {
            assert!(over.is_empty(), "epoch {e}: {over:?}");
            continue;
        }
        assert_eq!(over.len(), 1, "epoch {e}: one episode, one diagnosis");
        let d = over[0];
        let episode = d.episode.unwrap();
        // (what, got, expected)
        let checks = [
            ("reported where it began", u64::from(d.epoch), 16),
            (
                "starts at the best evaluation (epoch 12)",
                episode.start_step,
                130,
            ),
            ("extends to this evaluation", episode.end_step, step),
            (
                "counts the evaluations since the best",
                u64::from(episode.count),
                u64::from(e - 12),
            ),
            (
                "peaks at the worst value, the latest on a U",
                episode.peak_step,
                step,
            ),
        ];
        for (what, got, expected) in checks {
            assert_eq!(got, expected, "epoch {e}: {what}");
        }
        assert!(!episode.closed, "epoch {e}");
        assert_eq!(
            d.value,
            Some(val[e as usize]),
            "epoch {e}: the latest value"
        );
        let above = if e >= 20 { CRIT } else { WARN };
        assert_eq!(
            d.severity, above,
            "epoch {e}: critical from the 6th evaluation above"
        );
    }
}

#[test]
fn a_new_best_closes_the_episode_and_a_later_one_is_a_new_diagnosis() {
    // U down to epoch 12, up to 20, then down to a new best at 25 (0.375) and on to 30 (0.3),
    // up again.
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
    let (bus, changes) = run_logged(OverfittingDetector::new(), ("loss", "loss"), &train, &val);
    let when: Vec<(u32, u32, bool)> = changes
        .iter()
        .filter(|c| c.1 == OVER)
        .map(|c| (c.0, c.3, c.4))
        .collect();
    assert_eq!(
        when,
        vec![
            (16, 16, false),
            (20, 16, false),
            (25, 16, true),
            (34, 34, false),
            (38, 34, false)
        ],
        "first episode: warning at 16, critical at 19, closed at 25 (0.375 < 0.4); second: the \
         best 0.3 at 30, 32..34 above it -> a new diagnosis at 34, critical at 37"
    );
    let over: Vec<_> = bus.diagnoses().iter().filter(|d| d.kind == OVER).collect();
    assert_eq!(over.len(), 2, "{over:?}");
    let (first, second) = (over[0].episode.unwrap(), over[1].episode.unwrap());
    assert!(first.closed, "{first:?}");
    assert_eq!(
        first.end_step, 260,
        "closed at the new best's step (epoch 25)"
    );
    assert!(!second.closed, "{second:?}");
    assert_eq!(
        (second.start_step, over[1].severity),
        (310, CRIT),
        "the second starts at its best (epoch 30)"
    );
    let d = det(&bus);
    assert_eq!((d.best_epoch(), d.onset_epoch()), (Some(30), Some(30)));
    assert_eq!(d.verdict(), OverfittingVerdict::Overfitting);
    assert_eq!(d.episodes(), 2, "two overfitting episodes, no gap episode");
}

/// A closed episode should still describe itself: its severity, its extent from the best to the
/// new best, its count and its worst evaluation.
#[test]
fn a_closed_episode_keeps_its_severity_and_extent() {
    let val: Vec<f64> = (0..26)
        .map(|e| {
            let e = e as f64;
            if e <= 20.0 {
                0.4 + 0.003 * (e - 12.0).powi(2)
            } else {
                0.3 + 0.003 * (e - 30.0).powi(2)
            }
        })
        .collect();
    let train: Vec<f64> = (0..26).map(|e| 1.0 / (1.0 + e as f64)).collect();
    let bus = run(OverfittingDetector::new(), ("loss", "loss"), &train, &val);
    let d = bus.diagnoses().iter().find(|d| d.kind == OVER).unwrap();
    let e = d.episode.unwrap();
    assert_eq!(d.severity, CRIT, "it was critical from epoch 19");
    assert_eq!(
        (e.start_step, e.end_step, e.count, e.peak_step, e.closed),
        (130, 260, 12, 210, true),
        "from the best (12) to the new best (25), 12 evaluations between, worst at 20"
    );
    assert!(d.message.contains("best 0.4000"), "{}", d.message);
}

#[test]
fn without_validation_overfitting_is_not_judged() {
    let nan = f64::NAN;
    // (per epoch: train value, validation value; None = not reported), expected, why
    type Case<'a> = (&'a [(Option<f64>, Option<f64>)], Seen, &'a str);
    let cases: &[Case] = &[
        (
            &[(Some(1.0), None), (Some(0.8), None), (Some(0.6), None)],
            vec![(DiagnosisKind::NotJudged, INFO, 2)],
            "training values but no validation value: said, not guessed",
        ),
        (
            &[(Some(1.0), Some(nan)), (Some(0.8), Some(nan))],
            vec![(DiagnosisKind::NotJudged, INFO, 1)],
            "only non-finite validation values: nothing could be judged either",
        ),
        (
            &[(Some(1.0), Some(1.1)), (Some(0.8), Some(0.9))],
            vec![],
            "validation judged: nothing to say",
        ),
        (&[], vec![], "no values at all: nothing to say"),
    ];
    for (epochs, expected, why) in cases {
        let mut bus = Bus::new().with(OverfittingDetector::new());
        let (t, v) = (
            bus.metric(Split::Train, "loss"),
            bus.metric(Split::Valid, "loss"),
        );
        let mut last = (0, 0);
        for (e, (a, b)) in epochs.iter().enumerate() {
            let metrics: Vec<_> = [a.map(|x| (t, x)), b.map(|x| (v, x))]
                .into_iter()
                .flatten()
                .collect();
            last = ((e as u64 + 1) * 10, e as u32);
            bus.epoch_end(&EpochEnd::new(last.1, last.0, &metrics))
                .unwrap();
        }
        bus.train_end(&TrainEnd::new(last.0, last.1)).unwrap();
        assert_eq!(&seen(&bus), expected, "{why}");
        if let Some(d) = bus.diagnoses().first() {
            assert_eq!(d.metric.as_deref(), Some("valid/loss"), "{why}");
            assert!(d.recommendation.contains("validation"), "{why}");
        }
    }
}

#[test]
fn messages_quote_the_epoch_only_where_the_run_has_epochs() {
    let (train, val) = (falling(20), u_curve(20));
    // (evaluations carry their epoch, expected in the message, absent from it, why)
    let cases = [
        (
            true,
            "(step 130, epoch 12)",
            "",
            "an epoch-level run: the best is quoted by step and epoch",
        ),
        (
            false,
            "(step 130)",
            "epoch",
            "a step-level run (every evaluation in epoch 0): steps only",
        ),
    ];
    for (epochs, quoted, absent, why) in cases {
        let mut bus = Bus::new().with(OverfittingDetector::new());
        let (t, v) = (
            bus.metric(Split::Train, "loss"),
            bus.metric(Split::Valid, "loss"),
        );
        for e in 0..20u32 {
            let step = u64::from(e + 1) * 10;
            let epoch = if epochs { e } else { 0 };
            bus.step_end(&StepEnd::new(step, &[(t, train[e as usize])]).with_epoch(epoch))
                .unwrap();
            bus.eval_end(&EvalEnd::new(step, epoch, &[(v, val[e as usize])]))
                .unwrap();
        }
        let d = bus.diagnoses().iter().find(|d| d.kind == OVER).unwrap();
        assert!(d.message.contains(quoted), "{why}: {}", d.message);
        let text = format!("{} {}", d.message, d.recommendation);
        assert!(absent.is_empty() || !text.contains(absent), "{why}: {text}");
    }
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
        Some(0.5),
        "no training steps since the last evaluation: it waits for its epoch's training value"
    );
    bus.epoch_end(&EpochEnd::new(1, 5, &[])).unwrap();
    assert_eq!(
        det(&bus).gap(),
        Some(1.0),
        "the epoch ended with no training value: the last one, 2.5, is reused"
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
    bus.eval_end(&EvalEnd::new(9, 2, &[(v, 3.2)])).unwrap();
    bus.epoch_end(&EpochEnd::new(2, 9, &[(t, 3.0)])).unwrap();
    assert_eq!(
        det(&bus).gap(),
        Some(3.2 - 3.0),
        "evaluated before its epoch ended (as Lightning does): paired with that epoch's 3.0, \
         not the last step's 1.5"
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
