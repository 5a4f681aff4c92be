//! Unit tests of the spike guard: detection at the exact step, no false alarms on noise, each
//! policy, configuration checks, resume, and no panics on any input.

mod state;

use super::*;
use crate::{Bus, EvalEnd, MetricKey};

/// Gaussian noise from a 64-bit LCG and Box–Muller (reproducible per seed).
struct Gauss(u64);

impl Gauss {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

fn noisy(seed: u64, n: usize, level: f64, std: f64) -> Vec<f64> {
    let mut g = Gauss(seed ^ 0x5DEE_CE66_D1CE_4E5B);
    (0..n).map(|_| level + std * g.normal()).collect()
}

fn bus_with(guard: SpikeGuard, split: Split, name: &str) -> (Bus, MetricKey) {
    let mut bus = Bus::new();
    bus.add(guard);
    let key = bus.metric(split, name);
    (bus, key)
}

/// Feeds `values` as steps 1..; returns the decisions' LR requests by step.
fn feed(bus: &mut Bus, key: MetricKey, values: &[f64], lr: Option<f64>) -> Vec<Option<f64>> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let m = [(key, v)];
            let ev = StepEnd::new(i as u64 + 1, &m);
            let ev = match lr {
                Some(lr) => ev.with_lr(lr),
                None => ev,
            };
            bus.step_end(&ev).unwrap().new_lr()
        })
        .collect()
}

fn guard(bus: &Bus) -> &SpikeGuard {
    bus.callback::<SpikeGuard>().unwrap()
}

#[test]
fn spikes_are_caught_at_their_step_and_only_above_the_bar() {
    // Noise std 0.02 around 2.0; one disturbance at step 250 (index 249).
    let cases: [(f64, usize, Option<u64>, &str); 5] = [
        (
            0.5,
            249,
            Some(250),
            "25 sigma: a spike, caught at its own step",
        ),
        (0.06, 249, None, "3 sigma: ordinary noise for k = 6"),
        (-0.5, 249, None, "a sudden drop is good news, not a spike"),
        (
            0.5,
            20,
            None,
            "step 21: the window holds 20 values, fewer than min_fill 32",
        ),
        (0.5, 40, Some(41), "step 41: the window is past min_fill"),
    ];
    for (bump, at, expected, why) in cases {
        let mut values = noisy(1, 400, 2.0, 0.02);
        values[at] += bump;
        let (mut bus, key) = bus_with(SpikeGuard::loss(), Split::Train, "loss");
        feed(&mut bus, key, &values, None);
        let steps: Vec<u64> = bus.diagnoses().iter().map(|d| d.step).collect();
        assert_eq!(steps, expected.into_iter().collect::<Vec<_>>(), "{why}");
        let c = guard(&bus).counts();
        assert_eq!(c.last_spike_step, expected, "{why}");
        assert_eq!(c.spikes, u64::from(expected.is_some()), "{why}");
        assert!(
            bus.stop_reason().is_none(),
            "{why}: spikes are reported, not stopped, by default"
        );
    }
}

#[test]
fn a_spike_diagnosis_carries_its_numbers_and_the_spike_stays_out_of_the_window() {
    let mut values = noisy(2, 300, 2.0, 0.02);
    values[199] = 3.0;
    let (mut bus, key) = bus_with(SpikeGuard::loss(), Split::Train, "loss");
    feed(&mut bus, key, &values[..199], None);
    let (mean, std) = guard(&bus).baseline().unwrap();
    feed(&mut bus, key, &values[199..200], None);
    let d = &bus.diagnoses()[0];
    assert_eq!(
        (d.kind, d.severity),
        (DiagnosisKind::LossSpike, Severity::Warning)
    );
    assert_eq!(d.metric.as_deref(), Some("train/loss"));
    assert_eq!(d.evidence("value"), Some(3.0));
    assert_eq!(d.evidence("mean"), Some(mean));
    assert_eq!(d.evidence("std"), Some(std));
    assert_eq!(d.evidence("k"), Some(6.0));
    assert_eq!(d.evidence("z_score"), Some((3.0 - mean) / std));
    assert_eq!(d.threshold, Some(mean + 6.0 * std));
    assert_eq!(d.evidence("window"), Some(128.0));
    assert_eq!(
        guard(&bus).baseline(),
        Some((mean, std)),
        "the spike was not admitted"
    );
}

#[test]
fn noise_alone_never_fires_at_k_6_over_100_seeds() {
    for seed in 0..100 {
        let values = noisy(seed, 1000, 3.0, 0.05);
        let (mut bus, key) = bus_with(SpikeGuard::loss(), Split::Train, "loss");
        feed(&mut bus, key, &values, None);
        assert!(
            bus.diagnoses().is_empty(),
            "seed {seed}: {:?}",
            bus.diagnoses()
        );
        assert_eq!(guard(&bus).counts(), SpikeCounts::default(), "seed {seed}");
    }
}

#[test]
fn the_first_non_finite_value_stops_with_rule_non_finite() {
    let mut values = noisy(3, 100, 2.0, 0.02);
    values[56] = f64::NAN;
    values[57] = f64::INFINITY;
    values[80] = f64::NAN;
    let (mut bus, key) = bus_with(SpikeGuard::loss(), Split::Train, "loss");
    let mut stopped_at = None;
    for (i, &v) in values.iter().enumerate() {
        if bus
            .step_end(&StepEnd::new(i as u64 + 1, &[(key, v)]))
            .unwrap()
            .should_stop()
        {
            stopped_at.get_or_insert(i + 1);
        }
    }
    assert_eq!(stopped_at, Some(57));
    let stop = bus.stop_reason().unwrap();
    assert_eq!((stop.rule.as_ref(), stop.step), ("non_finite", 57));
    assert!(stop.message.contains("NaN"), "{}", stop.message);
    let c = guard(&bus).counts();
    assert_eq!((c.non_finite, c.last_non_finite_step), (3, Some(81)));
    let kinds: Vec<_> = bus.diagnoses().iter().map(|d| (d.kind, d.step)).collect();
    assert_eq!(
        kinds,
        [
            (DiagnosisKind::NonFinite, 57),
            (DiagnosisKind::NonFinite, 81)
        ],
        "one diagnosis per run of non-finite values"
    );
    assert_eq!(bus.diagnoses()[0].severity, Severity::Critical);
}

#[test]
fn policies_report_stop_or_cut_the_lr_once_per_episode() {
    let mut values = noisy(4, 120, 2.0, 0.02);
    values[99] = 4.0;
    values[100] = 4.1; // the same episode
    values[110] = 4.0; // a new one
    let cut = SpikeAction::cut_lr(0.5).unwrap();
    /// Action, learning rate reported, expected stop rule, expected LR requests, reason.
    type Case = (
        SpikeAction,
        Option<f64>,
        Option<&'static str>,
        Vec<Option<f64>>,
        &'static str,
    );
    let cases: [Case; 4] = [
        (SpikeAction::Report, Some(1e-3), None, vec![], "report only"),
        (
            SpikeAction::Stop,
            Some(1e-3),
            Some("loss_spike"),
            vec![],
            "stop with the spike rule",
        ),
        (
            cut,
            Some(1e-3),
            None,
            vec![Some(5e-4), Some(5e-4)],
            "halve the LR at steps 100 and 111",
        ),
        (cut, None, None, vec![], "no known LR: nothing to cut"),
    ];
    for (action, lr, rule, cuts, why) in cases {
        let (mut bus, key) = bus_with(
            SpikeGuard::loss().with_spike_action(action),
            Split::Train,
            "loss",
        );
        let requests: Vec<Option<f64>> = feed(&mut bus, key, &values, lr)
            .into_iter()
            .filter(Option::is_some)
            .collect();
        assert_eq!(requests, cuts, "{why}");
        assert_eq!(
            bus.stop_reason()
                .map(|s| s.rule.as_ref().to_owned())
                .as_deref(),
            rule,
            "{why}"
        );
        let c = guard(&bus).counts();
        assert_eq!((c.spikes, c.last_spike_step), (3, Some(111)), "{why}");
        assert_eq!(c.lr_cuts as usize, cuts.len(), "{why}");
        assert_eq!(bus.diagnoses().len(), 2, "{why}: two episodes");
        if lr.is_none() {
            assert!(
                bus.diagnoses()[0].message.contains("learning rate unknown"),
                "{why}"
            );
        }
    }
    let (mut bus, key) = bus_with(
        SpikeGuard::loss().with_spike_action(cut),
        Split::Train,
        "loss",
    );
    feed(&mut bus, key, &values, Some(1e-3));
    let d = &bus.diagnoses()[0];
    assert_eq!(
        (d.evidence("lr_before"), d.evidence("lr_after")),
        (Some(1e-3), Some(5e-4))
    );
}

#[test]
fn a_lasting_level_shift_is_learnt_after_min_fill_values() {
    let mut values = noisy(5, 200, 2.0, 0.02);
    for v in &mut values[100..] {
        *v += 1.0;
    }
    let (mut bus, key) = bus_with(SpikeGuard::loss(), Split::Train, "loss");
    feed(&mut bus, key, &values, None);
    let c = guard(&bus).counts();
    assert_eq!(
        c.spikes, 32,
        "values 101..=132 are above the old bar; then the window relearns"
    );
    assert_eq!(c.last_spike_step, Some(132));
    assert_eq!(bus.diagnoses().len(), 1, "one episode");
    let (mean, _) = guard(&bus).baseline().unwrap();
    assert!(
        (mean - 3.0).abs() < 0.01,
        "the window holds the new level: {mean}"
    );
}

#[test]
fn grad_norm_and_validation_guards_use_their_metric_and_kind() {
    let mut values = noisy(6, 100, 1.0, 0.05);
    values[70] = 5.0;
    let (mut bus, key) = bus_with(SpikeGuard::grad_norm(), Split::Train, "grad_norm");
    feed(&mut bus, key, &values, None);
    let d = &bus.diagnoses()[0];
    assert_eq!((d.kind, d.step), (DiagnosisKind::GradNormSpike, 71));
    assert_eq!(d.metric.as_deref(), Some("train/grad_norm"));
    assert_eq!(
        SpikeGuard::new(Split::Train, "GradNorm").spike_rule(),
        "grad_norm_spike"
    );

    let g = SpikeGuard::new(Split::Valid, "loss")
        .with_min_fill(5)
        .unwrap();
    let (mut bus, key) = bus_with(g, Split::Valid, "loss");
    for (e, v) in [1.0, 0.9, 0.95, 0.92, 0.91, 0.93, 3.0]
        .into_iter()
        .enumerate()
    {
        bus.eval_end(&EvalEnd::new(e as u64 * 10, e as u32, &[(key, v)]))
            .unwrap();
    }
    assert_eq!(guard(&bus).counts().last_spike_step, Some(60));
}

#[test]
fn epoch_values_are_guarded_only_without_step_values() {
    let (mut bus, key) = bus_with(
        SpikeGuard::loss().with_min_fill(5).unwrap(),
        Split::Train,
        "loss",
    );
    for (e, v) in [1.0, 0.9, 0.95, 0.92, 0.91, 0.93, 3.0]
        .into_iter()
        .enumerate()
    {
        bus.epoch_end(&EpochEnd::new(e as u32, e as u64, &[(key, v)]))
            .unwrap();
    }
    assert_eq!(
        guard(&bus).counts().spikes,
        1,
        "epoch-level losses only: guarded"
    );
    let (mut bus, key) = bus_with(
        SpikeGuard::loss().with_min_fill(5).unwrap(),
        Split::Train,
        "loss",
    );
    feed(&mut bus, key, &[1.0, 1.01, 0.99, 1.0, 1.02, 0.98], None);
    bus.epoch_end(&EpochEnd::new(0, 6, &[(key, 50.0)])).unwrap();
    assert_eq!(
        guard(&bus).counts().spikes,
        0,
        "an epoch mean does not join a per-step window"
    );
}
