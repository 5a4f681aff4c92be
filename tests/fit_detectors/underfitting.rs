//! Underfitting detector scenarios: noise, a noisy 5% drop, resume, proptest.

use std::num::{NonZeroU32, NonZeroU64};

use curvewatch::callbacks::underfitting::{
    Cadence, UnderfittingDetector, UnderfittingRule, UnderfittingVerdict,
};
use curvewatch::callbacks::Monitor;
use curvewatch::{Bus, Checkpoint, DiagnosisKind, EpochEnd, Split};
use proptest::prelude::*;

use crate::common::{
    decisions, drive, drive_events, event, find, resumed, underfitting, Lcg, Run, NOISE,
};

#[test]
fn noisy_curves_still_falling_are_never_underfitting_over_100_seeds() {
    // Falling 2.5% of the level per epoch (exponential) and a power law (1/sqrt), with step noise.
    type Curve = (&'static str, fn(f64) -> f64);
    let shapes: [Curve; 2] = [
        ("exponential", |t| 2.0 * (-t / 40.0).exp()),
        ("power law", |t| 3.0 / (1.0 + t).sqrt()),
    ];
    for noise in NOISE {
        for (name, train) in shapes {
            for seed in 1..=100u64 {
                let run = Run::new(
                    30,
                    20,
                    train,
                    |e| 1.1 * train(e + 1.0),
                    noise,
                    &mut Lcg(seed),
                );
                let mut bus =
                    Bus::new().with(UnderfittingDetector::new().with_cadence(Cadence::Eval));
                drive(&mut bus, &run, 0, 30);
                let d = bus.diagnoses().first();
                assert!(d.is_none(), "{name}, noise {noise:?}, seed {seed}: {d:?}");
            }
        }
    }
}

#[test]
fn a_noisy_five_percent_drop_then_flat_is_underfitting_for_every_seed() {
    for (level, noise) in NOISE.into_iter().enumerate() {
        let mut repeated = 0;
        for seed in 1..=100u64 {
            let run = Run::new(
                20,
                20,
                |t| 0.95 + 0.05 * (-t).exp(),
                |e| 0.97 + 0.05 * (-e).exp(),
                noise,
                &mut Lcg(seed),
            );
            let mut bus = Bus::new().with(UnderfittingDetector::new().with_cadence(Cadence::Eval));
            drive(&mut bus, &run, 0, 20);
            let d = find(&bus, DiagnosisKind::Underfitting);
            let d = d.unwrap_or_else(|| panic!("{noise:?} seed {seed}: not caught"));
            // The window of 8 evaluations is full at epoch 7.
            assert!(
                d.epoch <= 11,
                "{noise:?} seed {seed}: reported at epoch {}",
                d.epoch
            );
            let rule = underfitting(&bus).rule().unwrap();
            assert!(
                matches!(
                    rule,
                    UnderfittingRule::TrainAndValidFlat | UnderfittingRule::TrainPlateauHigh
                ),
                "{rule:?}"
            );
            assert!(bus
                .diagnoses()
                .iter()
                .all(|d| d.kind == DiagnosisKind::Underfitting));
            repeated += usize::from(bus.diagnoses().len() > 1);
        }
        // Measured: no repeat at 5% and 10% step noise; 1 run in 100 at 20% (epoch means then
        // carry ~2.6% noise, and a flat window once looked like a significant slope 3 points in a
        // row, ending the episode).
        let allowed = if level < 2 { 0 } else { 2 };
        assert!(
            repeated <= allowed,
            "{noise:?}: {repeated} runs reported it twice"
        );
    }
}

#[test]
fn underfitting_resumed_mid_run_decides_like_an_uninterrupted_run() {
    let make = || {
        UnderfittingDetector::new()
            .with_cadence(Cadence::Steps(NonZeroU64::new(20).unwrap()))
            .with_accuracy(Monitor::new(Split::Valid, "accuracy"))
            .with_num_classes(NonZeroU32::new(10).unwrap())
            .unwrap()
    };
    // Flat high, then falling, then flat again: two episodes to reproduce.
    let run = Run::new(
        40,
        20,
        |t| 1.0 - 0.015 * (t - 12.0).clamp(0.0, 10.0),
        |e| 1.02 - 0.015 * (e - 11.0).clamp(0.0, 10.0),
        NOISE[0],
        &mut Lcg(11),
    );
    let reference = resumed(make, &run, None);
    assert_eq!(
        decisions(&reference).len(),
        2,
        "{:?}",
        decisions(&reference)
    );
    assert_eq!(
        underfitting(&reference).verdict(),
        UnderfittingVerdict::Underfitting
    );
    for cut in [2, 5, 7, 9, 13, 21, 30, 33] {
        let bus = resumed(make, &run, Some(cut));
        assert_eq!(
            decisions(&bus),
            decisions(&reference),
            "cut after epoch {cut}"
        );
        let (a, b) = (underfitting(&bus), underfitting(&reference));
        assert_eq!(
            (a.verdict(), a.rule(), a.points()),
            (b.verdict(), b.rule(), b.points())
        );
        assert_eq!(a.improvement(), b.improvement());
    }
}

proptest! {
    #[test]
    fn underfitting_never_panics_and_a_curve_falling_fast_is_never_flagged(
        events in prop::collection::vec(event(), 0..200),
        falling in prop::collection::vec(0.02..0.5f64, 1..60),
    ) {
        let every_3 = Cadence::Steps(NonZeroU64::new(3).unwrap());
        for cadence in [Cadence::Epoch, Cadence::Eval, every_3] {
            let det = UnderfittingDetector::new()
                .with_cadence(cadence)
                .with_accuracy(Monitor::new(Split::Train, "loss"))
                .with_num_classes(NonZeroU32::new(3).unwrap())
                .unwrap()
                .with_target_accuracy(0.5)
                .unwrap();
            let mut bus = Bus::new().with(det);
            drive_events(&mut bus, &events);
            prop_assert!(bus.faults().is_empty(), "{:?}", bus.faults());
            let json = bus.checkpoint().unwrap().to_json();
            let mut fresh = Bus::new().with(UnderfittingDetector::new());
            prop_assert!(fresh.restore(Checkpoint::from_json(&json).unwrap()).is_ok());
        }

        // Each point at least 2% below the last: never flat (tolerance 0.5%), so never flagged.
        let mut bus = Bus::new().with(UnderfittingDetector::new());
        let t = bus.metric(Split::Train, "loss");
        let mut loss = 10.0;
        for (e, drop_by) in falling.iter().enumerate() {
            loss *= 1.0 - drop_by;
            bus.epoch_end(&EpochEnd::new(e as u32, e as u64, &[(t, loss)])).unwrap();
        }
        prop_assert!(bus.diagnoses().is_empty(), "{:?}", bus.diagnoses());
    }
}
