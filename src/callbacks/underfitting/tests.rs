//! Rule tables for the underfitting detector, each case with its reason, driven through a real bus.

use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};

use super::*;
use crate::{
    Bus, DiagnosisKind, EpochEnd, EvalEnd, Severity, Split, StepEnd, TrainBegin, TrainEnd,
};

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

/// A change to the diagnoses seen after a step: a new diagnosis or a revision of one, as (step of
/// the change, kind, severity, step it was first reported at, episode closed).
type Change = (u64, DiagnosisKind, Severity, u64, bool);

/// `loss(step)` at every step from 1 to `steps`, the run's length announced as `plan` where given
/// (the progress rules judge from a tenth of it), then `train_end`. Returns the bus and every
/// change the diagnoses went through, step by step.
fn run_steps(
    det: UnderfittingDetector,
    plan: Option<u64>,
    steps: u64,
    loss: &dyn Fn(u64) -> f64,
) -> (Bus, Vec<Change>) {
    let mut bus = Bus::new().with(det);
    let t = bus.metric(Split::Train, "loss");
    let begin = plan.map_or(TrainBegin::new(), |p| TrainBegin::new().with_max_steps(p));
    bus.train_begin(&begin).unwrap();
    let mut changes = Vec::new();
    let mut before = Vec::new();
    for step in 1..=steps {
        bus.step_end(&StepEnd::new(step, &[(t, loss(step))]))
            .unwrap();
        let now: Vec<_> = bus
            .diagnoses()
            .iter()
            .map(|d| {
                (
                    d.kind,
                    d.severity,
                    d.step,
                    d.episode.is_some_and(|e| e.closed),
                )
            })
            .collect();
        for (i, d) in now.iter().enumerate() {
            if before.get(i) != Some(d) {
                changes.push((step, d.0, d.1, d.2, d.3));
            }
        }
        before = now;
    }
    bus.train_end(&TrainEnd::new(steps, 0)).unwrap();
    (bus, changes)
}

/// `to + (from - to) exp(-(step - 1) / tau)`: a loss that comes down by `from - to` and stays.
fn settle(from: f64, to: f64, tau: f64) -> impl Fn(u64) -> f64 {
    move |s| to + (from - to) * (-(s as f64 - 1.0) / tau).exp()
}

const UNDER: DiagnosisKind = DiagnosisKind::Underfitting;
const PLATEAU: DiagnosisKind = DiagnosisKind::Plateau;
const NOT_JUDGED: DiagnosisKind = DiagnosisKind::NotJudged;
const WARN: Severity = Severity::Warning;
const INFO: Severity = Severity::Info;

#[test]
fn loss_rules_table() {
    // 1,000 planned steps, a value at each: judged from the first span to close at or after step
    // 100 (a tenth of the plan). Spans are 2 steps wide by then (65 one-step spans merged when
    // step 66 came), so [98, 99] closes at step 100.
    let jitter = |s: u64| 0.1 * (((s * 7919) % 13) as f64 / 12.0 - 0.5);
    let noisy_flat = move |s: u64| 10.82 + jitter(s);
    let stuck_loss = settle(10.82, 10.66, 10.0);
    let five = settle(1.0, 0.95, 10.0);
    let deep = settle(2.0, 0.5, 10.0);
    let slow = settle(2.0, 0.0, 400.0);
    let power = |s: u64| 2.8 + 7.7 / (1.0 + s as f64 / 50.0).sqrt();
    // (loss, diagnoses as (kind, severity, step), episode start, rule, why)
    type Case<'a> = (
        &'a dyn Fn(u64) -> f64,
        Vec<(DiagnosisKind, Severity, u64)>,
        Option<u64>,
        Option<UnderfittingRule>,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            &|_| 10.82,
            vec![(UNDER, WARN, 100)],
            Some(1),
            Some(UnderfittingRule::StuckFromStart),
            "flat at ln(50,257) from the start: not learning, said once at the first judgement, \
             the episode spanning the run so far",
        ),
        (
            &noisy_flat,
            vec![(UNDER, WARN, 100)],
            Some(1),
            Some(UnderfittingRule::StuckFromStart),
            "flat with +-0.05 of jitter: the span means do not come down either",
        ),
        (
            &stuck_loss,
            vec![(UNDER, WARN, 100)],
            Some(1),
            Some(UnderfittingRule::StuckFromStart),
            "down 1.5% and flat: under the 2% that any learning brings, still stuck",
        ),
        (
            &five,
            vec![(PLATEAU, INFO, 100)],
            Some(76),
            Some(UnderfittingRule::Converged),
            "down 5% then flat (the old 'underfitting' case): it learned, so the flat last \
             quarter (the spans from step 76, 100 - 25 = 75 rounded up to a span) is a plateau, \
             info, not underfitting",
        ),
        (
            &deep,
            vec![(PLATEAU, INFO, 100)],
            Some(76),
            Some(UnderfittingRule::Converged),
            "down 75% then flat: the same plateau",
        ),
        (
            &slow,
            vec![],
            None,
            None,
            "still falling (tau 400 of 1,000 steps): the last quarter brings 8% of the \
             improvement at the end, far above 2%",
        ),
        (
            &power,
            vec![],
            None,
            None,
            "a power law (LLM-like) keeps bringing more than 2% per quarter of its run (4% at \
             the end)",
        ),
    ];
    for (loss, expected, start, rule, why) in cases {
        let (bus, _) = run_steps(UnderfittingDetector::new(), Some(1000), 1000, loss);
        let got: Vec<_> = bus
            .diagnoses()
            .iter()
            .map(|d| (d.kind, d.severity, d.step))
            .collect();
        assert_eq!(got, expected, "{why}");
        assert_eq!(det(&bus).rule(), rule, "{why}");
        let verdict = match rule {
            Some(UnderfittingRule::StuckFromStart) => UnderfittingVerdict::Underfitting,
            Some(_) => UnderfittingVerdict::Plateau,
            None => UnderfittingVerdict::None,
        };
        assert_eq!(det(&bus).verdict(), verdict, "{why}");
        let episode = bus.diagnoses().first().and_then(|d| d.episode);
        assert_eq!(episode.map(|e| e.start_step), start, "{why}");
        assert_eq!(episode.map(|e| e.end_step), start.map(|_| 100), "{why}");
    }
}

#[test]
fn stuck_is_never_said_once_the_curve_has_moved() {
    // Learned (down 5% by the first judgement, at step 100), then back up to where it started by
    // step 200 and flat there.
    let relapse = |s: u64| match s {
        0..=100 => 1.0 - 0.0005 * s as f64,
        101..=200 => 0.95 + 0.0005 * (s - 100) as f64,
        _ => 1.0,
    };
    let (bus, _) = run_steps(UnderfittingDetector::new(), Some(1000), 1000, &relapse);
    let stuck: Vec<_> = bus.diagnoses().iter().filter(|d| d.kind == UNDER).collect();
    assert!(
        stuck.is_empty(),
        "back at its start, but it moved once: {stuck:?}"
    );
    assert_ne!(det(&bus).verdict(), UnderfittingVerdict::Underfitting);
}

#[test]
fn the_curve_is_judged_from_a_tenth_of_the_plan_and_twelve_spans() {
    let flat = |_| 1.0;
    // (planned steps, steps run, where "stuck" is first said, why)
    let cases = [
        (
            Some(1000),
            1000,
            Some(100),
            "a tenth of 1,000: the span [98, 99] closes at step 100",
        ),
        (
            Some(3000),
            3000,
            Some(306),
            "a tenth of 3,000: spans are 8 steps wide from step 258, [298, 305] closes at 306",
        ),
        (
            Some(50),
            50,
            Some(13),
            "a short plan passes its tenth at step 5, but 12 spans are needed: the 12th closes \
             at step 13",
        ),
        (
            None,
            3000,
            None,
            "no plan and under 5,000 values: a flat start says nothing yet",
        ),
        (
            None,
            6000,
            Some(5122),
            "no plan: judged once 5,000 values are in; spans are 64 steps wide from step 4098, \
             [5058, 5121] closes at 5122",
        ),
    ];
    for (plan, steps, said, why) in cases {
        let (bus, _) = run_steps(UnderfittingDetector::new(), plan, steps, &flat);
        let at = bus
            .diagnoses()
            .iter()
            .find(|d| d.kind == UNDER)
            .map(|d| d.step);
        assert_eq!(at, said, "{why}");
    }
}

#[test]
fn the_logging_rate_does_not_change_the_verdict() {
    // The same curves, as functions of progress through a 100,000-step run, logged every step,
    // every 10 and every 100 steps: the spans average equal stretches of the run whatever the
    // rate, so the verdict and where in the run it comes stay the same. (With too few values the
    // 12 spans would come after the tenth of the run: 100 values every 100 steps of 10,000 reach
    // them at 13%.)
    type Curve = (
        &'static str,
        fn(f64) -> f64,
        Option<DiagnosisKind>,
        (f64, f64),
    );
    let curves: [Curve; 4] = [
        ("flat", |_| 1.0, Some(UNDER), (0.1, 0.11)),
        (
            "down 5%",
            |p| 0.95 + 0.05 * (-p / 0.01).exp(),
            Some(PLATEAU),
            (0.1, 0.11),
        ),
        (
            "down 80%",
            |p| 0.5 + 2.0 * (-p / 0.1).exp(),
            Some(PLATEAU),
            (0.44, 0.48),
        ),
        (
            "still falling",
            |p| 2.0 * (-p / 0.4).exp(),
            None,
            (0.0, 0.0),
        ),
    ];
    let steps = 100_000u64;
    for every in [1u64, 10, 100] {
        for (name, curve, kind, (from, to)) in curves {
            let mut bus = Bus::new().with(UnderfittingDetector::new());
            let t = bus.metric(Split::Train, "loss");
            bus.train_begin(&TrainBegin::new().with_max_steps(steps))
                .unwrap();
            for step in (every..=steps).step_by(every as usize) {
                let x = curve(step as f64 / steps as f64);
                bus.step_end(&StepEnd::new(step, &[(t, x)])).unwrap();
            }
            let why = format!("{name}, every {every} steps");
            let d = bus.diagnoses().first();
            assert_eq!(d.map(|d| d.kind), kind, "{why}: {d:?}");
            if let Some(d) = d {
                let at = d.step as f64 / steps as f64;
                assert!((from..=to).contains(&at), "{why}: said at {at} of the run");
            }
        }
    }
}

#[test]
fn a_plateau_closes_when_the_loss_falls_again_and_a_later_one_is_new() {
    // 1 + 2 exp(-s / 100) until step 2,000 (flat at 1 long before), then down to 0.5 (a learning
    // rate drop), flat again.
    let loss = |s: u64| {
        let s = s as f64;
        if s < 2000.0 {
            1.0 + 2.0 * (-s / 100.0).exp()
        } else {
            0.5 + 0.5 * (-(s - 2000.0) / 100.0).exp()
        }
    };
    let (bus, changes) = run_steps(UnderfittingDetector::new(), Some(4000), 4000, &loss);
    let shape: Vec<_> = changes.iter().map(|c| (c.1, c.2, c.4)).collect();
    assert_eq!(
        shape,
        vec![
            (PLATEAU, INFO, false),
            (PLATEAU, INFO, true),
            (PLATEAU, INFO, false)
        ],
        "a plateau, closed by the descent after step 2,000, then a second one: {changes:?}"
    );
    let (first, closed, second) = (changes[0], changes[1], changes[2]);
    // The last quarter's least-squares drop falls under 2% of the improvement around step 450
    // (e^(-0.75 s / 100) - e^(-s / 100) ~ 0.02).
    assert!((400..=520).contains(&first.0), "{first:?}");
    // Closed once the level is below the plateau (1.0) by 10% of the improvement before it (0.2):
    // the loss reaches 0.8 at step ~2,050, the span means a little later.
    assert!((2040..=2160).contains(&closed.0), "{closed:?}");
    assert_eq!(closed.3, first.0, "the same diagnosis, revised in place");
    assert!(second.0 > closed.0 + 400, "{second:?}");
    let d = &bus.diagnoses()[0];
    let episode = d.episode.unwrap();
    assert_eq!(
        episode.end_step, closed.0,
        "it ends where the loss fell again"
    );
    assert!(
        episode.start_step < first.0 && episode.start_step > first.0 / 2,
        "it starts in the last quarter before it was said: {episode:?}"
    );
    assert!(d.message.contains("resumed falling"), "{}", d.message);
    let later = bus.diagnoses()[1].episode.unwrap();
    assert!(!later.closed && later.start_step > 2000, "{later:?}");
    assert_eq!(det(&bus).verdict(), UnderfittingVerdict::Plateau);
    assert_eq!(det(&bus).episodes(), 2);
}

#[test]
fn an_llm_like_curve_that_flattens_low_is_a_plateau_not_underfitting() {
    // Pretraining without epochs: 3000 planned steps of 2.8 + 7.7 exp(-s / 300) nats
    // (10.47 -> 2.80), a point every 100 steps, validation every 500 steps.
    let every_100 = Cadence::Steps(NonZeroU64::new(100).unwrap());
    let mut bus = Bus::new().with(UnderfittingDetector::new().with_cadence(every_100));
    let (t, v) = (
        bus.metric(Split::Train, "loss"),
        bus.metric(Split::Valid, "loss"),
    );
    bus.train_begin(&TrainBegin::new().with_max_steps(3000))
        .unwrap();
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
    assert_eq!(found.points(), 30, "points still come every 100 steps");
    // (Its verdict is Plateau until the point windows clear it: see the ignored
    // `epoch_ends_do_not_clear_the_curves_verdicts`.)
    assert_eq!(found.rule(), Some(UnderfittingRule::Converged));
    assert_eq!(bus.diagnoses().len(), 1, "{:?}", bus.diagnoses());
    let d = &bus.diagnoses()[0];
    assert_eq!((d.kind, d.severity), (PLATEAU, INFO));
    // The last quarter of the run so far brings e^(-0.75 s / 300) - e^(-s / 300) of the 7.7 nats:
    // 2% of the improvement near s = 1,400 (a little earlier by a least-squares line through the
    // spans).
    assert!(
        (1300..=1450).contains(&d.step),
        "plateau at step {}",
        d.step
    );
    let episode = d.episode.unwrap();
    assert!(
        (d.step * 3 / 4..d.step * 4 / 5).contains(&episode.start_step),
        "the flat quarter: {episode:?}"
    );
    // Improvement = (10.474 - ~2.89) / 10.474: about 72%.
    let improvement = d.evidence("improvement").unwrap();
    assert!((0.71..0.74).contains(&improvement), "{improvement}");
    assert!(
        d.message.contains("not necessarily converged"),
        "{}",
        d.message
    );
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
            "0 is in range (the train rules no longer read it)",
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
fn too_few_points_are_not_judged_and_non_finite_values_are_left_out() {
    let nan = f64::NAN;
    let mut with_gaps = vec![nan, 1.0, f64::INFINITY, 0.98, 0.96];
    with_gaps.extend([0.95; 8]);
    // (epoch-level training losses, one per 10 steps; diagnoses; why)
    type Case<'a> = (&'a [f64], Seen, &'a str);
    let cases: &[Case] = &[
        (
            &[1.0, 0.9, 0.8, 0.75, 0.7, 0.68, 0.66, 0.65],
            vec![(NOT_JUDGED, INFO, 7)],
            "8 values: 7 closed spans (the last is open), under the 12 needed",
        ),
        (
            &with_gaps,
            vec![(NOT_JUDGED, INFO, 12)],
            "13 epochs but 2 non-finite: 11 values, 10 closed spans",
        ),
        (
            &[1.0; 13],
            vec![(UNDER, WARN, 12)],
            "13 values: the 12th span closes at the 13th (epoch 12), flat from the start",
        ),
        (&[], vec![], "no values at all: nothing to say"),
    ];
    for (train, expected, why) in cases {
        let mut bus = Bus::new().with(UnderfittingDetector::new().without_valid());
        let t = bus.metric(Split::Train, "loss");
        bus.train_begin(&TrainBegin::new().with_max_steps(130))
            .unwrap();
        for (e, x) in train.iter().enumerate() {
            let step = (e as u64 + 1) * 10;
            bus.epoch_end(&EpochEnd::new(e as u32, step, &[(t, *x)]))
                .unwrap();
        }
        let last = train.len().saturating_sub(1) as u32;
        bus.train_end(&TrainEnd::new(u64::from(last + 1) * 10, last))
            .unwrap();
        assert_eq!(&seen(&bus), expected, "{why}");
        let finite = train.iter().filter(|x| x.is_finite()).count();
        if let Some(d) = bus.diagnoses().iter().find(|d| d.kind == NOT_JUDGED) {
            assert_eq!(d.value, Some(finite as f64), "{why}: the values counted");
            assert_eq!(d.threshold, Some(12.0), "{why}");
            let said = format!("{finite} point(s) over {} span(s)", finite - 1);
            assert!(d.message.contains(&said), "{why}: {}", d.message);
        }
        if !train.is_empty() {
            assert_eq!(
                det(&bus).initial_value(),
                Some(1.0),
                "{why}: NaN is not a start"
            );
        }
    }
}

#[test]
fn the_plateau_diagnosis_carries_its_numbers_and_advice() {
    // 2.0 down to 0.5 over 50 steps, then flat; validation, where reported, does not change the
    // plateau or its advice.
    let train = |s: u64| 2.0 - 1.5 * ((s - 1) as f64 / 50.0).min(1.0);
    let cases: [(Option<f64>, &str); 3] = [
        (Some(0.02), "validation flat and close"),
        (Some(0.3), "validation far above"),
        (None, "no validation"),
    ];
    for (offset, why) in cases {
        let mut bus = Bus::new().with(UnderfittingDetector::new());
        let (t, v) = (
            bus.metric(Split::Train, "loss"),
            bus.metric(Split::Valid, "loss"),
        );
        bus.train_begin(&TrainBegin::new().with_max_steps(1000))
            .unwrap();
        for step in 1..=1000u64 {
            bus.step_end(&StepEnd::new(step, &[(t, train(step))]))
                .unwrap();
            if let (Some(o), 0) = (offset, step % 100) {
                bus.eval_end(&EvalEnd::new(step, 0, &[(v, train(step) + o)]))
                    .unwrap();
            }
        }
        assert_eq!(bus.diagnoses().len(), 1, "{why}: {:?}", bus.diagnoses());
        let d = &bus.diagnoses()[0];
        assert_eq!((d.kind, d.severity, d.step), (PLATEAU, INFO, 100), "{why}");
        // (evidence, expected, reason)
        let numbers = [
            (
                "initial",
                1.895,
                "the mean of the first 8 values (not one batch)",
            ),
            ("level", 0.5, "the last two spans' means"),
            ("improvement", 1.395 / 1.895, "(1.895 - 0.5) / 1.895"),
            ("noise", 0.0, "flat spans have no second differences"),
        ];
        for (name, expected, reason) in numbers {
            let got = d.evidence(name).unwrap_or(f64::NAN);
            assert!(
                (got - expected).abs() < 1e-9,
                "{why}: {name} = {got}, {reason}"
            );
        }
        assert_eq!(d.metric.as_deref(), Some("train/loss"), "{why}");
        assert!(
            d.recommendation.contains("decay the learning rate"),
            "{why}: {}",
            d.recommendation
        );
    }
}

/// The curve's verdicts belong to the curve: the point windows (kept for the accuracy rules) must
/// not clear them when epochs end.
#[test]
fn epoch_ends_do_not_clear_the_curves_verdicts() {
    let flat = |_: u64| 10.82;
    let plateau_then_descent = |s: u64| {
        let s = s as f64;
        if s < 2000.0 {
            1.0 + 2.0 * (-s / 100.0).exp()
        } else {
            0.5 + 0.5 * (-(s - 2000.0) / 100.0).exp()
        }
    };
    // (loss, steps, expected verdict at the end, episodes closed, why)
    type Case<'a> = (
        &'a dyn Fn(u64) -> f64,
        u64,
        UnderfittingVerdict,
        usize,
        &'a str,
    );
    let cases: [Case; 2] = [
        (
            &flat,
            3000,
            UnderfittingVerdict::Underfitting,
            0,
            "stuck from the start to the end",
        ),
        (
            &plateau_then_descent,
            4000,
            UnderfittingVerdict::Plateau,
            1,
            "the first plateau closes when the loss falls after step 2,000",
        ),
    ];
    for (loss, steps, verdict, closed, why) in cases {
        let mut bus = Bus::new().with(UnderfittingDetector::new());
        let t = bus.metric(Split::Train, "loss");
        bus.train_begin(&TrainBegin::new().with_max_steps(steps))
            .unwrap();
        for step in 1..=steps {
            let epoch = ((step - 1) / 100) as u32;
            bus.step_end(&StepEnd::new(step, &[(t, loss(step))]).with_epoch(epoch))
                .unwrap();
            if step % 100 == 0 {
                bus.epoch_end(&EpochEnd::new(epoch, step, &[])).unwrap();
            }
        }
        assert_eq!(det(&bus).verdict(), verdict, "{why}");
        let n = bus
            .diagnoses()
            .iter()
            .filter(|d| d.episode.is_some_and(|e| e.closed))
            .count();
        assert_eq!(n, closed, "{why}: {:?}", bus.diagnoses());
    }
}
