//! Offline and live agree: replaying a recorded run through the standard preset gives the same
//! diagnoses and the same stop as the live run; the whole-run report finds the real logs' pathologies.

use curvewatch::callbacks::lr_diagnosis::LrVerdict;
use curvewatch::callbacks::overfitting::OverfittingVerdict;
use curvewatch::callbacks::{Preset, PresetSummary};
use curvewatch::import::{import_file, ImportOptions};
use curvewatch::{
    replay, Bus, DiagnosisKind, EpochBegin, EpochEnd, EvalEnd, ReplayOptions, Split, StepEnd,
    TrainBegin, TrainEnd,
};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }
}

/// A scripted run that overfits: 40 steps per epoch, validation each epoch, U-shaped from epoch 20.
fn live_run(seed: u64) -> Bus {
    let mut rng = Lcg(seed);
    let mut bus = Bus::new();
    Preset::standard().with_patience(8).install(&mut bus);
    let (loss, gnorm, val) = (
        bus.metric(Split::Train, "loss"),
        bus.metric(Split::Train, "grad_norm"),
        bus.metric(Split::Valid, "loss"),
    );
    bus.train_begin(&TrainBegin::new().with_max_epochs(60))
        .unwrap();
    let mut step = 0;
    'run: for epoch in 0..60u32 {
        bus.epoch_begin(&EpochBegin::new(epoch, step)).unwrap();
        for i in 0..40 {
            step += 1;
            let t = step as f64 / 40.0;
            let metrics = [
                (
                    loss,
                    0.2 + 2.0 * (-t / 5.0).exp() * (1.0 + 0.02 * rng.next()),
                ),
                (gnorm, 1.0 + 0.05 * rng.next()),
            ];
            let ev = StepEnd::new(step, &metrics)
                .with_epoch(epoch)
                .with_epoch_fraction((i + 1) as f32 / 40.0)
                .with_lr(3e-4);
            if bus.step_end(&ev).unwrap().should_stop() {
                break 'run;
            }
        }
        let e = epoch as f64;
        let v =
            0.6 + 1.6 * (-e / 5.0).exp() + 0.002 * (e - 20.0).max(0.0).powi(2) + 0.003 * rng.next();
        if bus
            .eval_end(&EvalEnd::new(step, epoch, &[(val, v)]))
            .unwrap()
            .should_stop()
        {
            break;
        }
        if bus
            .epoch_end(&EpochEnd::new(epoch, step, &[]))
            .unwrap()
            .should_stop()
        {
            break;
        }
    }
    bus.train_end(&TrainEnd::new(step, 0)).unwrap();
    bus
}

#[test]
fn replaying_a_live_run_gives_the_same_diagnoses_and_stop() {
    for seed in 1..=3 {
        let live = live_run(seed);
        let stop = live
            .stop_reason()
            .expect("the scripted run overfits and stops")
            .clone();
        assert!(
            live.diagnoses()
                .iter()
                .any(|d| d.kind == DiagnosisKind::Overfitting),
            "seed {seed}: live overfitting diagnosis"
        );
        let mut offline = Bus::new();
        Preset::standard().with_patience(8).install(&mut offline);
        let options = ReplayOptions::faithful().with_max_epochs(60);
        let out = replay(live.history(), &mut offline, options).unwrap();
        assert_eq!(out.stopped_at, Some(stop.step), "seed {seed}");
        assert_eq!(
            offline.stop_reason(),
            Some(&stop),
            "seed {seed}: same stop reason"
        );
        let brief = |b: &Bus| -> Vec<_> {
            b.diagnoses()
                .iter()
                .map(|d| (d.kind, d.step, d.message.clone()))
                .collect()
        };
        assert_eq!(brief(&offline), brief(&live), "seed {seed}: same diagnoses");
        assert_eq!(
            PresetSummary::from_bus(&offline),
            PresetSummary::from_bus(&live),
            "seed {seed}: same verdicts"
        );
    }
}

#[test]
fn the_report_of_a_live_run_names_its_pathologies() {
    let live = live_run(7);
    let report = curvewatch::report::analyze(live.history()).unwrap();
    let best = report.best.as_ref().unwrap();
    assert_eq!(best.metric, "valid/loss");
    assert!(
        (15..=25).contains(&(best.step / 40)),
        "best near epoch 20, got step {}",
        best.step
    );
    assert!(report.early_stopping.stopped);
    assert_eq!(
        report.summary.overfitting.as_ref().unwrap().verdict,
        OverfittingVerdict::Overfitting
    );
    assert_ne!(report.lr_verdict, LrVerdict::TooHigh);
    let p = report.prediction.as_ref().expect("a prediction");
    assert_eq!(p.metric, "valid/loss");
    let text = report.to_string();
    assert!(
        text.contains("early stopping replay: would stop at step"),
        "{text}"
    );
}

#[test]
fn the_report_finds_the_overfitting_in_a_real_trainer_state() {
    // aigoncharov/trainer_state_viz: the training loss falls to 0.055 while the second eval set's
    // loss (g0/loss) bottoms out at step 401 and then climbs to 2.75.
    let imported = import_file(
        "tests/data/aigoncharov__trainer_state_viz__trainer_state.json",
        None,
        &ImportOptions::default(),
    )
    .unwrap();
    let report = curvewatch::report::analyze(&imported.history).unwrap();
    let best = report.best.as_ref().unwrap();
    assert_eq!((best.metric.as_str(), best.step), ("valid/g0/loss", 401));
    assert!(
        report
            .diagnoses
            .iter()
            .any(|d| d.kind == DiagnosisKind::Overfitting),
        "{report}"
    );
    assert!(report.early_stopping.stopped, "{report}");
}
