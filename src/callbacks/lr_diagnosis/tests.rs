//! Unit tests of the learning-rate diagnosis: one table of curves per rule, the configuration,
//! episodes, state round trips, and no panics on any input.

use proptest::prelude::*;

use super::*;
use crate::{Bus, Checkpoint, EpochEnd, Severity, StepEnd};

/// A deterministic ±`amp` zigzag (relative to `level`), standing in for noise.
fn zig(i: usize, amp: f64) -> f64 {
    if i % 2 == 0 {
        amp
    } else {
        -amp
    }
}

/// Judges `losses` offline, at every value (as epoch-level losses are): with the per-step default
/// of a judgement every 10 values, a 40-value curve is four blocks, and its level (the median of
/// three block means) could not follow a rise over its last ten values.
fn run(losses: &[f64], lrs: Option<&[f64]>) -> LrAssessment {
    let cfg = LrDiagnosisConfig::new().with_check_every(1).unwrap();
    diagnose_lr(losses, lrs, &cfg)
}

/// What a finding is reported as, if at all.
type Report = Option<(DiagnosisKind, Severity)>;

/// Judges each curve offline and checks the finding, the verdict and what would be reported.
fn check(cases: &[(Vec<f64>, LrFinding, LrVerdict, Report, &str)]) {
    for (losses, finding, verdict, report, why) in cases {
        let a = run(losses, None);
        assert_eq!(a.finding, *finding, "{why}: {a:?}");
        assert_eq!(a.verdict, *verdict, "{why}");
        let d = a.to_diagnosis("train/loss", &LrThresholds::default());
        assert_eq!(d.map(|d| (d.kind, d.severity)), *report, "{why}");
    }
}

#[test]
fn each_rule_fires_on_its_curve_and_only_there() {
    let curve = |n: usize, f: &dyn Fn(usize) -> f64| (0..n).map(f).collect::<Vec<f64>>();
    let diverging = Some((DiagnosisKind::Divergence, Severity::Critical));
    check(&[
        (
            curve(40, &|i| 3.0 * 0.97f64.powi(i as i32) + zig(i, 0.01)),
            LrFinding::Healthy,
            LrVerdict::Appropriate,
            None,
            "a 3%-per-step decay with 1% noise is a healthy descent",
        ),
        (
            curve(40, &|i| 2.0 * 1.02f64.powi(i as i32) + zig(i, 0.01)),
            LrFinding::Divergence,
            LrVerdict::TooHigh,
            diverging,
            "a steady 2%-per-step rise is divergence (t-statistic far above 6)",
        ),
        (
            curve(40, &|i| {
                let t = if i < 30 {
                    2.0 - 0.01 * i as f64
                } else {
                    1.71 + 0.06 * (i - 29) as f64
                };
                t + zig(i, 0.005)
            }),
            LrFinding::Divergence,
            LrVerdict::TooHigh,
            diverging,
            "a clean fall then a 35% rise: far above the running minimum in noise units",
        ),
        (
            curve(40, &|i| 2.0 + zig(i, 0.12)),
            LrFinding::Oscillation,
            LrVerdict::Appropriate,
            None,
            "a flat ±6% zigzag is recorded as oscillation, but minibatch noise alone is never \
             lr_too_high",
        ),
        (
            curve(200, &|i| 2.0 + zig(i, 0.01)),
            LrFinding::Stall,
            LrVerdict::TooLow,
            Some((DiagnosisKind::LrTooLow, Severity::Info)),
            "a flat ±0.5% zigzag from the start for four windows: a stall, reported as info (the \
             underfitting detector owns the warning)",
        ),
        (
            curve(40, &|i| 2.0 + zig(i, 0.01)),
            LrFinding::SlowDescent,
            LrVerdict::Appropriate,
            None,
            "the same zigzag over only 40 values: any long run is flat over its first 40 steps, \
             so no stall is said (recorded as a slow descent, not reported)",
        ),
        (
            curve(40, &|i| 2.5 - 0.004 * i as f64 + zig(i, 0.01)),
            LrFinding::SlowDescent,
            LrVerdict::Appropriate,
            None,
            "0.16% per step early in training: recorded as a slow descent, but without a \
             reference run one curve cannot say it is too slow",
        ),
        (
            curve(60, &|i| 2.1 - 0.01 * i.min(10) as f64 + zig(i, 0.005)),
            LrFinding::SlowDescent,
            LrVerdict::Appropriate,
            None,
            "flat over the window, but 4% below where the run started: it moved, so no stall \
             (the stall rule reads from the start of the run, not the window)",
        ),
        (
            curve(40, &|i| 2.0 + 0.003 * i as f64 + zig(i, 0.002)),
            LrFinding::Healthy,
            LrVerdict::Appropriate,
            None,
            "a steady climb of 6% across the window (t far above 6) that stands only 5% above \
             its minimum: a window can climb that much in a healthy run, no divergence yet",
        ),
        (
            curve(40, &|i| 2.0 + 0.006 * i as f64 + zig(i, 0.002)),
            LrFinding::Divergence,
            LrVerdict::TooHigh,
            diverging,
            "the same climb at twice the pace stands over 10% above its minimum: divergence",
        ),
    ]);
}

#[test]
fn progress_and_the_lr_schedule_excuse_a_slow_loss() {
    // 100 values: a fast drop from 5 to ~2.5, then 80 values nearly flat.
    let losses: Vec<f64> = (0..100)
        .map(|i| {
            let base = if i < 20 {
                5.0 - 0.125 * i as f64
            } else {
                2.5 - 0.0005 * (i - 20) as f64
            };
            base + zig(i, 0.005)
        })
        .collect();
    let flat_start: Vec<f64> = (0..40)
        .map(|i| 2.5 - 0.0005 * i as f64 + zig(i, 0.005))
        .collect();
    let flat_long: Vec<f64> = (0..200)
        .map(|i| 2.5 - 0.0001 * i as f64 + zig(i, 0.005))
        .collect();
    let warming: Vec<f64> = (1..=40).map(|i| 1e-4 * i as f64).collect();
    let decayed: Vec<f64> = (0..40).map(|i| if i < 5 { 1e-3 } else { 2e-4 }).collect();
    type Case<'a> = (
        &'a [f64],
        Option<&'a [f64]>,
        LrFinding,
        LrVerdict,
        &'static str,
    );
    let cases: [Case; 4] = [
        (
            &losses,
            None,
            LrFinding::Plateau,
            LrVerdict::Appropriate,
            "flat after a 50% drop: convergence, not a low LR",
        ),
        (
            &flat_long,
            None,
            LrFinding::Stall,
            LrVerdict::TooLow,
            "a crawl with no progress behind it (under 1% since the start, over four windows) is \
             a stall",
        ),
        (
            &flat_start,
            Some(&warming),
            LrFinding::SlowDescent,
            LrVerdict::Appropriate,
            "while the LR warms up, a crawl is expected: recorded as slow, never too low",
        ),
        (
            &flat_start,
            Some(&decayed),
            LrFinding::Plateau,
            LrVerdict::Appropriate,
            "an LR decayed below half its peak explains it",
        ),
    ];
    for (l, lrs, finding, verdict, why) in cases {
        let a = run(l, lrs);
        assert_eq!((a.finding, a.verdict), (finding, verdict), "{why}");
    }
}

#[test]
fn an_lr_drop_in_the_window_suppresses_oscillation() {
    let losses: Vec<f64> = (0..40).map(|i| 2.0 + zig(i, 0.12)).collect();
    let mut lrs = vec![1e-3; 40];
    lrs[35..].fill(1e-4);
    let a = run(&losses, None);
    assert_eq!(
        (a.finding, a.verdict),
        (LrFinding::Oscillation, LrVerdict::Appropriate),
        "noise is recorded, never called too high"
    );
    let a = run(&losses, Some(&lrs));
    assert_ne!(
        a.finding,
        LrFinding::Oscillation,
        "the drop puts a step into the loss"
    );
    assert_ne!(a.verdict, LrVerdict::TooHigh);
}

#[test]
fn a_rise_after_an_lr_increase_is_blamed_on_the_lr_with_its_value() {
    let losses: Vec<f64> = (0..40)
        .map(|i| {
            if i < 25 {
                2.0 - 0.01 * i as f64
            } else {
                1.76 + 0.05 * (i - 24) as f64
            }
        })
        .collect();
    let lrs: Vec<f64> = (0..40).map(|i| if i < 25 { 1e-3 } else { 3e-3 }).collect();
    let a = run(&losses, Some(&lrs));
    assert_eq!(a.finding, LrFinding::RiseAfterLrIncrease);
    assert_eq!(a.rise_lr, Some(3e-3));
    assert_eq!((a.lr, a.peak_lr), (Some(3e-3), Some(3e-3)));
    let d = a
        .to_diagnosis("train/loss", &LrThresholds::default())
        .unwrap();
    assert_eq!(
        (d.kind, d.severity),
        (DiagnosisKind::LrTooHigh, Severity::Critical)
    );
    assert_eq!(d.evidence("lr_at_rise_start"), Some(3e-3));
    assert!(
        d.recommendation.contains("below 3.000e-3"),
        "{}",
        d.recommendation
    );
    let without_lr = run(&losses, None);
    assert_eq!(
        without_lr.finding,
        LrFinding::Divergence,
        "no LR history: plain divergence"
    );
}

#[test]
fn too_few_values_or_no_scale_is_insufficient_data() {
    let cases: [(&[f64], &str); 4] = [
        (&[], "nothing at all"),
        (&[2.0; 7], "7 values, one short of min_points 8"),
        (
            &[0.0; 30],
            "a level of exactly zero gives no scale to be relative to",
        ),
        (&[f64::NAN; 40], "only non-finite values"),
    ];
    for (losses, why) in cases {
        let a = run(losses, None);
        assert_eq!(a.verdict, LrVerdict::InsufficientData, "{why}");
        assert!(
            a.to_diagnosis("train/loss", &LrThresholds::default())
                .is_none(),
            "{why}"
        );
    }
    let a = run(&[2.0; 8], None);
    assert_eq!(
        (a.finding, a.verdict),
        (LrFinding::SlowDescent, LrVerdict::Appropriate),
        "8 values are enough for a verdict, but too few to call a flat start a stall"
    );
    let a = run(&[2.0; 200], None);
    assert_eq!(
        (a.finding, a.verdict),
        (LrFinding::Stall, LrVerdict::TooLow),
        "a loss that has not moved at all over four windows is a stall"
    );
}

#[test]
fn non_finite_losses_are_skipped_as_if_absent() {
    let clean: Vec<f64> = (0..30)
        .map(|i| 3.0 - 0.05 * i as f64 + zig(i, 0.01))
        .collect();
    let mut dirty = clean.clone();
    dirty.insert(10, f64::NAN);
    dirty.insert(20, f64::INFINITY);
    let (a, b) = (run(&clean, None), run(&dirty, None));
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
}

#[test]
fn the_scale_free_measures_match_the_trend_module() {
    use crate::analysis::trend::{oscillation, relative_slope, sign_changes};
    // 30 values without ties, so both sign-change conventions agree; all inside the window.
    let losses: Vec<f64> = (0..30)
        .map(|i| 2.0 - 0.01 * i as f64 + 0.03 * ((i * 7 % 11) as f64 - 5.0) / 5.0)
        .collect();
    let a = run(&losses, None);
    let close = |x: f64, y: f64| (x - y).abs() < 1e-12 * y.abs().max(1.0);
    assert!(close(a.rel_slope, relative_slope(&losses).unwrap()));
    assert!(close(a.rel_noise, oscillation(&losses).unwrap()));
    assert!(close(a.sign_change_rate, sign_changes(&losses).unwrap()));
    assert!(
        close(a.rel_change, a.rel_slope * 29.0),
        "the change across 30 values is 29 slopes"
    );
}

#[test]
fn the_lr_of_a_skipped_loss_is_still_noted_live_and_offline() {
    // Found by the property test: a NaN loss reported with a new learning rate, as the last value.
    let mut losses = vec![0.0; 23];
    losses.push(f64::NAN);
    let mut lrs = vec![0.0; 23];
    lrs.push(f64::MAX);
    let cfg = LrDiagnosisConfig::new();
    let offline = diagnose_lr(&losses, Some(&lrs), &cfg);
    let (mut bus, key) = bus_with(LrDiagnosis::new());
    for (i, (&l, &lr)) in losses.iter().zip(&lrs).enumerate() {
        bus.step_end(&StepEnd::new(i as u64 + 1, &[(key, l)]).with_lr(lr))
            .unwrap();
    }
    let live = bus.callback::<LrDiagnosis>().unwrap().assessment();
    assert_eq!(
        (offline.lr, offline.peak_lr),
        (Some(f64::MAX), Some(f64::MAX))
    );
    assert_eq!(
        serde_json::to_string(&live).unwrap(),
        serde_json::to_string(&offline).unwrap()
    );
}

#[test]
fn configuration_is_checked() {
    let cfg = LrDiagnosisConfig::new();
    assert_eq!(
        (cfg.window(), cfg.min_points(), cfg.check_every()),
        (50, 8, 10)
    );
    assert_eq!(cfg.with_window(7), Err(LrConfigError::Window(7)));
    assert_eq!(
        cfg.with_window(MAX_WINDOW + 1),
        Err(LrConfigError::Window(MAX_WINDOW + 1))
    );
    let wide = cfg.with_min_points(30).unwrap();
    assert_eq!(
        wide.with_window(10).unwrap().min_points(),
        10,
        "min_points follows a smaller window down"
    );
    let small = cfg.with_window(MIN_WINDOW).unwrap();
    assert_eq!(
        small.min_points(),
        8,
        "the default fits the smallest window"
    );
    assert!(small.with_min_points(9).is_err(), "more than the window");
    assert!(
        small.with_min_points(4).is_err(),
        "fewer than the 5 the level needs"
    );
    assert_eq!(small.with_min_points(5).unwrap().min_points(), 5);
    assert_eq!(
        small.check_every(),
        8,
        "check_every follows a smaller window down"
    );
    assert!(small.with_check_every(0).is_err() && small.with_check_every(9).is_err());
    assert_eq!(small.with_check_every(1).unwrap().check_every(), 1);
    let msg = small.with_min_points(11).unwrap_err().to_string();
    assert!(msg.contains("11") && msg.contains("8"), "{msg}");
}

fn bus_with(diag: LrDiagnosis) -> (Bus, crate::MetricKey) {
    let mut bus = Bus::new();
    bus.add(diag);
    let key = bus.metric(Split::Train, "loss");
    (bus, key)
}

/// Feeds values as consecutive steps, numbering on from where the last call stopped.
struct Feeder {
    key: crate::MetricKey,
    step: u64,
}

impl Feeder {
    fn feed(&mut self, bus: &mut Bus, values: impl IntoIterator<Item = f64>) {
        for l in values {
            self.step += 1;
            bus.step_end(&StepEnd::new(self.step, &[(self.key, l)]))
                .unwrap();
        }
    }
}

/// `n` values of a 0.5%-per-step decay from `from`, with ±0.2% jitter.
fn descent(from: f64, n: i32) -> impl Iterator<Item = f64> {
    (0..n).map(move |i| from * 0.995f64.powi(i) * (1.0 + zig(i as usize, 0.002)))
}

/// `n` values of a 1%-per-step climb from `from`, with ±0.2% jitter.
fn climb(from: f64, n: i32) -> impl Iterator<Item = f64> {
    (0..n).map(move |i| from * 1.01f64.powi(i) * (1.0 + zig(i as usize, 0.002)))
}

#[test]
fn a_finding_is_reported_once_per_episode() {
    let (mut bus, key) = bus_with(LrDiagnosis::new());
    let mut f = Feeder { key, step: 0 };
    let count = |bus: &Bus| {
        bus.diagnoses()
            .iter()
            .filter(|d| d.kind == DiagnosisKind::Divergence)
            .count()
    };
    // A descent, then 60 values climbing 1% each: one diagnosis, not one per judgement.
    f.feed(&mut bus, descent(2.0, 100));
    let min = 2.0 * 0.995f64.powi(99);
    f.feed(&mut bus, climb(min, 60));
    assert_eq!(count(&bus), 1, "one diagnosis for the whole climb");
    let first = bus.diagnoses()[0].step;
    // Back to the minimum for 2 windows, then climbing again: a measure that comes and goes
    // within fewer than QUIET_WINDOWS windows must not report again and again.
    f.feed(&mut bus, descent(min, 100));
    let min = min * 0.995f64.powi(99);
    f.feed(&mut bus, climb(min, 60));
    assert_eq!(count(&bus), 1, "a flicker is the same episode");
    // A healthy descent for QUIET_WINDOWS whole windows clears the episode; the next one is new.
    f.feed(&mut bus, descent(min, 520));
    assert_eq!(count(&bus), 1, "the healthy stretch reports nothing");
    let min = min * 0.995f64.powi(519);
    f.feed(&mut bus, climb(min, 60));
    assert_eq!(count(&bus), 2, "a new episode after the condition cleared");
    let d = &bus.diagnoses()[0];
    assert_eq!((d.step, d.severity), (first, Severity::Critical));
    assert!(
        (101..=160).contains(&first),
        "reported during the first climb, at step {first}"
    );
    assert_eq!(bus.diagnoses().len(), 2, "{:?}", bus.diagnoses());
}

#[test]
fn noise_alone_is_never_reported() {
    // The oscillation rule still measures noise (the finding is kept as evidence), but a noisy
    // loss with no rise behind it says nothing about the learning rate: small batches are that
    // noisy at any rate.
    let (mut bus, key) = bus_with(LrDiagnosis::new());
    let mut f = Feeder { key, step: 0 };
    let mut findings = Vec::new();
    let mut judge = |bus: &Bus| {
        let a = bus.callback::<LrDiagnosis>().unwrap().assessment();
        findings.push((a.finding, a.verdict));
    };
    f.feed(&mut bus, (0..100).map(|i| 2.0 + zig(i, 0.12)));
    judge(&bus);
    f.feed(&mut bus, descent(1.9, 100));
    let level = 1.9 * 0.995f64.powi(99);
    f.feed(&mut bus, (0..60).map(|i| level + zig(i, 0.1 * level)));
    judge(&bus);
    assert_eq!(
        findings,
        [(LrFinding::Oscillation, LrVerdict::Appropriate); 2],
        "recorded as oscillation, judged appropriate"
    );
    assert!(
        bus.diagnoses().is_empty(),
        "minibatch noise alone is never lr_too_high: {:?}",
        bus.diagnoses()
    );
}

#[test]
fn the_callback_reads_the_lr_from_the_context_when_the_step_has_none() {
    let (mut bus, key) = bus_with(LrDiagnosis::new());
    for s in 1..=30u64 {
        let m = [(key, 2.0 - 0.01 * s as f64)];
        let ev = StepEnd::new(s, &m);
        let ev = if s == 1 { ev.with_lr(5e-4) } else { ev };
        bus.step_end(&ev).unwrap();
    }
    let diag = bus.callback::<LrDiagnosis>().unwrap();
    assert_eq!(
        diag.assessment().lr,
        Some(5e-4),
        "the bus keeps the last reported rate"
    );
    assert_eq!(diag.non_finite_seen(), 0);
}

#[test]
fn a_state_for_another_window_is_refused() {
    let (mut bus, key) = bus_with(LrDiagnosis::new());
    for s in 1..=10u64 {
        bus.step_end(&StepEnd::new(s, &[(key, 1.0)])).unwrap();
    }
    let cp = Checkpoint::from_json(&bus.checkpoint().unwrap().to_json()).unwrap();
    let cfg = LrDiagnosisConfig::new().with_window(30).unwrap();
    let mut other = Bus::new();
    other.add(LrDiagnosis::new().with_config(cfg));
    let err = other.restore(cp).unwrap_err().to_string();
    assert!(err.contains("window of 30"), "{err}");
}

fn any_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -10.0..10.0f64,
        1 => any::<f64>(),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(f64::MAX),
        1 => Just(0.0),
    ]
}

proptest! {
    #[test]
    fn never_panics_and_live_equals_offline(
        losses in prop::collection::vec(any_value(), 0..120),
        lrs in prop::collection::vec(any_value(), 0..120),
        epochs in any::<bool>(),
    ) {
        let cfg = LrDiagnosisConfig::new().with_window(16).unwrap().with_min_points(8).unwrap();
        let offline = diagnose_lr(&losses, Some(&lrs), &cfg);
        let (mut bus, key) = bus_with(LrDiagnosis::new().with_config(cfg));
        for (i, &l) in losses.iter().enumerate() {
            let m = [(key, l)];
            if epochs {
                bus.epoch_end(&EpochEnd::new(i as u32, i as u64, &m)).unwrap();
            } else {
                let ev = StepEnd::new(i as u64 + 1, &m);
                let ev = match lrs.get(i) { Some(&lr) => ev.with_lr(lr), None => ev };
                bus.step_end(&ev).unwrap();
            }
        }
        prop_assert!(bus.faults().is_empty(), "{:?}", bus.faults());
        let live = bus.callback::<LrDiagnosis>().unwrap().assessment();
        let finite = losses.iter().filter(|v| v.is_finite()).count();
        prop_assert_eq!(live.seen as usize, finite);
        if finite < 8 {
            prop_assert_eq!(live.verdict, LrVerdict::InsufficientData);
        }
        if !epochs {
            prop_assert_eq!(serde_json::to_string(&live).unwrap(), serde_json::to_string(&offline).unwrap());
        }
    }
}

#[test]
fn a_steep_drop_that_flattens_is_not_oscillation() {
    // The quickstart's first 40 epoch losses (mean training loss per epoch): a steep drop, then a
    // slow, slightly wobbly descent. A line fits this L badly (residuals ~40% of the level) and the
    // wobbles flip the sign of the differences, but almost all the movement is downward.
    let losses = [
        0.515953, 0.278145, 0.175762, 0.213218, 0.157548, 0.169784, 0.144872, 0.133055, 0.140497,
        0.132036, 0.131220, 0.127499, 0.122551, 0.124738, 0.123554, 0.123032, 0.121997, 0.120830,
        0.121497, 0.121352, 0.121342, 0.120745, 0.120703, 0.120853, 0.120785, 0.120443, 0.120213,
        0.120261, 0.120202, 0.119960, 0.119747, 0.119706, 0.119625, 0.119437, 0.119278, 0.119212,
        0.119112, 0.118949, 0.118827, 0.118750,
    ];
    let a = run(&losses, None);
    assert!(a.up_fraction < 0.3, "up fraction {}", a.up_fraction);
    assert_ne!(a.finding, LrFinding::Oscillation, "{a:?}");
    assert_ne!(a.verdict, LrVerdict::TooHigh);
}
