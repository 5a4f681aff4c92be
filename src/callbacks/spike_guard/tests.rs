//! Unit tests of the spike guard: detection at the exact step (early values one value late), the
//! magnitude floor, no false alarms on noise, episodes and their severity, each policy,
//! configuration checks, resume, and no panics on any input.

mod state;

use super::*;
use crate::diagnosis::Episode;
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

/// Index into the values and the amount added there.
type Bump = (usize, f64);

/// Disturbances, the expected (onset step, step reported) of a spike if one is expected, reason.
type SpikeCase = (&'static [Bump], Option<(u64, u64)>, &'static str);

#[test]
fn spikes_are_caught_at_their_step_and_only_above_the_bar() {
    // Noise std 0.02 around 2.0.
    let cases: [SpikeCase; 13] = [
        (
            &[(249, 0.8)],
            Some((250, 250)),
            "40 sigma and 1.4x the level: a spike, caught at its own step",
        ),
        (
            &[(249, 0.3)],
            None,
            "15 sigma but only 1.15x the level: under the loss floor of 1.25x",
        ),
        (&[(249, 0.06)], None, "3 sigma: ordinary noise for k = 6"),
        (
            &[(249, -0.5)],
            None,
            "a sudden drop is good news, not a spike",
        ),
        (
            &[(20, 0.8)],
            Some((21, 21)),
            "step 21: the window holds 20 values, past min_fill 16: judged at once",
        ),
        (
            &[(16, 0.8)],
            Some((17, 17)),
            "step 17: the window has just reached min_fill (values 1..=16): judged at once",
        ),
        (
            &[(15, 0.8)],
            Some((16, 17)),
            "step 16: the window is one short of min_fill: judged against its neighbours \
             when step 17 arrives, the onset still step 16",
        ),
        (
            &[(5, 0.8)],
            None,
            "step 6 at 1.4x its neighbours is 40 sigma of the 5 values before it, but five \
             values say little about the noise: the bar there is about 240 sigma",
        ),
        (
            &[(5, 20.0)],
            Some((6, 7)),
            "step 6 at 11x its neighbours: past even the bar of 5 values, reported one value late",
        ),
        (
            &[(2, 0.8)],
            None,
            "the third value at 1.4x its neighbours: with under 4 values in the window an early \
             spike must be twice the floor (2.5x)",
        ),
        (
            &[(2, 4.0)],
            Some((3, 4)),
            "the third value at 3x its neighbours: a spike, reported one value late",
        ),
        (
            &[(5, 0.8), (6, 0.8)],
            None,
            "two high values in a row early on: as high as the value after it, a level and not \
             a spike",
        ),
        (
            &[(0, 4.0)],
            None,
            "the first value has no neighbours before it: never judged",
        ),
    ];
    for (bumps, expected, why) in cases {
        let mut values = noisy(1, 400, 2.0, 0.02);
        for &(at, bump) in bumps {
            values[at] += bump;
        }
        let (mut bus, key) = bus_with(SpikeGuard::loss(), Split::Train, "loss");
        feed(&mut bus, key, &values, None);
        let found: Vec<(u64, u64)> = bus
            .diagnoses()
            .iter()
            .map(|d| (d.onset_step(), d.step))
            .collect();
        assert_eq!(found, expected.into_iter().collect::<Vec<_>>(), "{why}");
        let onset = expected.map(|(onset, _)| onset);
        let peaks: Vec<_> = bus
            .diagnoses()
            .iter()
            .map(|d| d.episode.map(|e| e.peak_step))
            .collect();
        assert_eq!(
            peaks,
            onset.map(Some).into_iter().collect::<Vec<_>>(),
            "{why}"
        );
        let c = guard(&bus).counts();
        assert_eq!(c.last_spike_step, onset, "{why}");
        let n = u64::from(expected.is_some());
        assert_eq!((c.spikes, c.episodes), (n, n), "{why}");
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
    bus.step_end(&StepEnd::new(200, &[(key, values[199])]))
        .unwrap();
    let d = &bus.diagnoses()[0];
    assert_eq!(
        (d.kind, d.severity, d.step),
        (DiagnosisKind::LossSpike, Severity::Warning, 200)
    );
    assert_eq!(d.metric.as_deref(), Some("train/loss"));
    assert_eq!(d.episode, Some(Episode::at(200)));
    assert_eq!(d.evidence("value"), Some(3.0));
    let level = d.evidence("level").unwrap();
    assert!(
        (level - 2.0).abs() < 0.03 && level != mean,
        "the line through the latest values, not the window mean: {level}"
    );
    assert_eq!(d.evidence("ratio"), Some(3.0 / level));
    assert_eq!(d.evidence("min_ratio"), Some(DEFAULT_LOSS_MIN_RATIO));
    assert_eq!(d.evidence("k"), Some(6.0));
    assert_eq!(d.evidence("spikes"), Some(1.0));
    // About 1 / 0.02 noise deviations per unit above the level, the line's own error aside.
    let z = d.evidence("z_score").unwrap();
    assert!(z > 35.0 && z < 55.0, "z = {z}");
    assert_eq!(d.threshold, Some(DEFAULT_LOSS_MIN_RATIO * level));
    assert!(
        d.message.contains("spiked to 3.0000 at step 200")
            && d.message.contains("the level of the latest values"),
        "{}",
        d.message
    );
    assert_eq!(
        guard(&bus).baseline(),
        Some((mean, std)),
        "the spike was not admitted"
    );

    // Early in the run: measured against the largest neighbour, reported at the next value.
    let (mut bus, key) = bus_with(SpikeGuard::loss(), Split::Train, "loss");
    feed(&mut bus, key, &[2.0, 2.1, 1.9, 2.05, 900.0, 2.0], None);
    let (mean, std) = guard(&bus).baseline().unwrap();
    let d = &bus.diagnoses()[0];
    assert_eq!((d.step, d.onset_step()), (6, 5), "one value late");
    assert_eq!(d.episode, Some(Episode::at(5)));
    assert_eq!(
        d.evidence("level"),
        Some(2.1),
        "the largest of 2.1, 1.9, 2.05 and 2.0"
    );
    assert_eq!(d.evidence("ratio"), Some(900.0 / 2.1));
    let _ = (mean, std);
    assert!(
        d.evidence("z_score").is_some_and(|z| z > 1100.0),
        "the 4 values before it give a z-score, past their bar of about 1000"
    );
    assert!(
        d.message.contains("at step 5") && d.message.contains("the largest of its neighbours"),
        "{}",
        d.message
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
fn the_magnitude_floor_keeps_heavy_tailed_jitter_quiet() {
    // A gradient norm around 0.33 (std 0.01) with a 0.60 every 50 values from step 100 (9 in all): 1.8x the level and 27
    // standard deviations above it, the heavy tail of a healthy run.
    let mut values = noisy(8, 500, 0.33, 0.01);
    for i in (99..500).step_by(50) {
        values[i] = 0.60;
    }
    let grad = SpikeGuard::grad_norm;
    let cases: [(SpikeGuard, &str, u64, &str); 4] = [
        (
            grad(),
            "grad_norm",
            0,
            "1.8x is jitter for a gradient norm (floor 3x), however many sigma",
        ),
        (
            grad().with_min_ratio(1.0).unwrap(),
            "grad_norm",
            9,
            "a floor of 1 leaves the z-score alone to decide: all 9 are spikes",
        ),
        (
            grad().with_min_ratio(1.7).unwrap(),
            "grad_norm",
            9,
            "a floor of 1.7x: all 9 clear it (0.60 / 0.33)",
        ),
        (
            SpikeGuard::loss(),
            "loss",
            9,
            "the same excursions on a loss (floor 1.25x) are spikes",
        ),
    ];
    for (g, name, spikes, why) in cases {
        let (mut bus, key) = bus_with(g, Split::Train, name);
        feed(&mut bus, key, &values, None);
        let c = guard(&bus).counts();
        assert_eq!(c.spikes, spikes, "{why}");
        assert_eq!(
            bus.diagnoses().len() as u64,
            c.episodes,
            "{why}: one diagnosis per episode"
        );
        // Steps 100 and 150 are a quarter of the run apart; 200 is within a quarter of 150.
        assert_eq!(c.episodes, if spikes > 0 { 2 } else { 0 }, "{why}");
    }
}

/// Spikes (step, value) on a quiet loss at 2.0; expected per diagnosis: (start, end, count,
/// severity).
type EpisodeCase = (
    &'static [(u64, f64)],
    &'static [(u64, u64, u32, Severity)],
    &'static str,
);

#[test]
fn spikes_close_together_are_one_episode_and_only_larger_ones_warn_again() {
    use Severity::{Info, Warning};
    let cases: [EpisodeCase; 8] = [
        (
            &[(100, 4.0), (133, 4.0)],
            &[(100, 133, 2, Warning)],
            "33 steps apart, within a quarter of the 133 steps so far: one storm, one diagnosis",
        ),
        (
            &[(100, 4.0), (134, 4.0)],
            &[(100, 100, 1, Warning), (134, 134, 1, Info)],
            "34 steps apart, beyond a quarter of 134: a new episode, info at the same size",
        ),
        (
            &[(100, 4.0), (101, 4.2), (110, 4.0), (125, 3.0)],
            &[(100, 125, 4, Warning)],
            "a storm: its extent and count grow in the one diagnosis",
        ),
        (
            &[(100, 4.0), (300, 4.0)],
            &[(100, 100, 1, Warning), (300, 300, 1, Info)],
            "the same size again: info (the user was already warned that this metric spikes)",
        ),
        (
            &[(100, 4.0), (300, 10.0)],
            &[(100, 100, 1, Warning), (300, 300, 1, Warning)],
            "5x after a warned 2x: more than twice as large, warned again",
        ),
        (
            &[(100, 4.0), (300, 4.0), (305, 10.0)],
            &[(100, 100, 1, Warning), (300, 305, 2, Warning)],
            "an info episode escalates to a warning when a spike in it is over twice the warned size",
        ),
        (
            &[(100, 4.0), (300, 10.0), (500, 12.0)],
            &[
                (100, 100, 1, Warning),
                (300, 300, 1, Warning),
                (500, 500, 1, Info),
            ],
            "6x after a warned 5x: info (every earlier warning counts)",
        ),
        (
            &[(100, 10.0), (300, 4.0), (305, 6.0)],
            &[(100, 100, 1, Warning), (300, 305, 2, Info)],
            "smaller episodes after a large one stay info",
        ),
    ];
    for (spikes, expected, why) in cases {
        let mut values = noisy(9, 600, 2.0, 0.02);
        for &(step, v) in spikes {
            values[step as usize - 1] = v;
        }
        let (mut bus, key) = bus_with(SpikeGuard::loss(), Split::Train, "loss");
        feed(&mut bus, key, &values, None);
        let found: Vec<_> = bus
            .diagnoses()
            .iter()
            .map(|d| {
                let e = d.episode.unwrap();
                (e.start_step, e.end_step, e.count, d.severity)
            })
            .collect();
        assert_eq!(found, expected, "{why}");
        let reported: Vec<u64> = bus.diagnoses().iter().map(|d| d.step).collect();
        let starts: Vec<u64> = expected.iter().map(|e| e.0).collect();
        assert_eq!(
            reported, starts,
            "{why}: a revision keeps the step first reported"
        );
        let c = guard(&bus).counts();
        assert_eq!(
            (c.spikes, c.episodes),
            (spikes.len() as u64, expected.len() as u64),
            "{why}"
        );
    }
}

#[test]
fn policies_report_stop_or_cut_the_lr_once_per_episode() {
    let mut values = noisy(4, 220, 2.0, 0.02);
    values[99] = 4.0;
    values[100] = 4.1; // the same episode
    values[110] = 4.0; // still the same: 10 steps is within a quarter of the run
    values[199] = 4.0; // a new one: 89 steps after the last spike
    let cut = SpikeAction::cut_lr(0.5).unwrap();
    /// Action, learning rate reported, expected stop (rule, step), expected LR requests by step,
    /// reason.
    type Case = (
        SpikeAction,
        Option<f64>,
        Option<(&'static str, u64)>,
        Vec<(u64, f64)>,
        &'static str,
    );
    let cases: [Case; 4] = [
        (SpikeAction::Report, Some(1e-3), None, vec![], "report only"),
        (
            SpikeAction::Stop,
            Some(1e-3),
            Some(("loss_spike", 100)),
            vec![],
            "stop with the spike rule at the first episode",
        ),
        (
            cut,
            Some(1e-3),
            None,
            vec![(100, 5e-4), (200, 5e-4)],
            "halve the LR at the start of each episode (steps 100 and 200), not per spike",
        ),
        (cut, None, None, vec![], "no known LR: nothing to cut"),
    ];
    for (action, lr, stop, cuts, why) in cases {
        let (mut bus, key) = bus_with(
            SpikeGuard::loss().with_spike_action(action),
            Split::Train,
            "loss",
        );
        let requests: Vec<(u64, f64)> = feed(&mut bus, key, &values, lr)
            .into_iter()
            .zip(1u64..)
            .filter_map(|(r, step)| Some((step, r?)))
            .collect();
        assert_eq!(requests, cuts, "{why}");
        assert_eq!(
            bus.stop_reason()
                .map(|s| (s.rule.as_ref().to_owned(), s.step)),
            stop.map(|(rule, step)| (rule.to_owned(), step)),
            "{why}"
        );
        let c = guard(&bus).counts();
        assert_eq!(
            (c.spikes, c.episodes, c.last_spike_step),
            (4, 2, Some(200)),
            "{why}"
        );
        assert_eq!(c.lr_cuts as usize, cuts.len(), "{why}");
        let extents: Vec<_> = bus.diagnoses().iter().map(|d| d.episode.unwrap()).collect();
        assert_eq!(
            extents,
            [
                Episode {
                    start_step: 100,
                    end_step: 111,
                    count: 3,
                    peak_step: 101,
                    closed: false
                },
                Episode::at(200)
            ],
            "{why}: two episodes, the first revised in place"
        );
        if lr.is_none() {
            assert!(
                bus.diagnoses()[1].message.contains("learning rate unknown"),
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
    let d = &bus.diagnoses()[1];
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
        (c.spikes, c.episodes),
        (16, 1),
        "values 101..=116 (min_fill) are above the old bar; then the window relearns"
    );
    assert_eq!(c.last_spike_step, Some(116));
    let d: Vec<_> = bus
        .diagnoses()
        .iter()
        .map(|d| (d.step, d.episode))
        .collect();
    let storm = Episode {
        start_step: 101,
        end_step: 116,
        count: 16,
        peak_step: d[0].1.map_or(0, |e| e.peak_step),
        closed: false,
    };
    assert_eq!(d, [(101, Some(storm))], "one episode, one diagnosis");
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
    for (e, v) in [1.0, 0.9, 0.95, 0.92, 0.91, 0.93, 30.0]
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
    for (e, v) in [1.0, 0.9, 0.95, 0.92, 0.91, 0.93, 30.0]
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
