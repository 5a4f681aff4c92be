//! The diagnostic-quality evaluation (`curvewatch::quality`): the generators themselves (each family
//! deterministic, well formed, with its defining property), and the targets the standard preset is
//! held to on generated runs and on the real logs of tests/data.
//!
//! Families at the issue-13 targets are held to them; families still below are held to their
//! measured floor (so changes can only improve them). The whole table:
//! `cargo run --release --bin curvewatch -- quality --verbose`.

use std::ops::Range;
use std::path::PathBuf;

use curvewatch::quality::{generate, Family, GeneratedRun, QualityReport};
use curvewatch::{Series, Split};

/// Seeds of the generator checks and of the pathology targets.
const SEEDS: Range<u64> = 0..40;
/// Seeds of the healthy targets: 50, so that one false alarm is within the 2% target.
const HEALTHY_SEEDS: Range<u64> = 0..50;

fn runs(family: Family) -> impl Iterator<Item = GeneratedRun> {
    SEEDS.map(move |seed| generate(family, seed))
}

fn series<'h>(run: &'h GeneratedRun, split: Split, name: &str) -> &'h Series {
    run.history
        .get(split, name)
        .unwrap_or_else(|| panic!("{} seed {}: no {split}/{name}", run.family, run.seed))
}

/// The training loss logged once per epoch: the epoch mean (`loss_epoch`) where batches are logged.
fn epoch_loss(run: &GeneratedRun) -> &Series {
    run.history
        .get(Split::Train, "loss_epoch")
        .unwrap_or_else(|| series(run, Split::Train, "loss"))
}

fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn min(values: &[f64]) -> f64 {
    values.iter().copied().fold(f64::INFINITY, f64::min)
}

/// The values of `s` at steps in `[from, to]`.
fn between(s: &Series, from: u64, to: u64) -> Vec<f64> {
    s.steps()
        .iter()
        .zip(s.values())
        .filter(|(&st, _)| (from..=to).contains(&st))
        .map(|(_, &v)| v)
        .collect()
}

/// Whether two runs are the same, NaN equal to NaN (the JSON form writes it as "NaN").
fn same(a: &GeneratedRun, b: &GeneratedRun) -> bool {
    a.history.to_json() == b.history.to_json()
        && (a.onset, &a.description, a.family, a.seed)
            == (b.onset, &b.description, b.family, b.seed)
}

#[test]
fn every_family_is_deterministic_for_a_seed() {
    for family in Family::ALL {
        for seed in [0, 7, 1234] {
            let (a, b) = (generate(family, seed), generate(family, seed));
            assert!(
                same(&a, &b),
                "{family} seed {seed}: {} / {}",
                a.description,
                b.description
            );
        }
        let (a, b) = (generate(family, 1), generate(family, 2));
        assert!(!same(&a, &b), "{family}: seeds differ");
    }
}

#[test]
fn every_run_is_well_formed() {
    for family in Family::ALL {
        for run in runs(family) {
            let who = format!("{family} seed {}: {}", run.seed, run.description);
            let last = run.last_step();
            assert_eq!(
                run.onset.is_none(),
                family.is_healthy(),
                "{who}: onset iff a pathology"
            );
            if let Some(onset) = run.onset {
                assert!(
                    onset.step >= 1 && onset.step <= last,
                    "{who}: onset inside the run"
                );
            }
            assert!(
                run.history.get(Split::Train, "loss").is_some(),
                "{who}: a training loss"
            );
            for (_, s) in run.history.iter() {
                let label = s.label();
                assert!(s.origin().is_some(), "{who}: {label} has an origin");
                assert!(s.len() <= 4000, "{who}: {label} has {} points", s.len());
                assert!(
                    s.steps().windows(2).all(|w| w[0] < w[1]),
                    "{who}: {label} steps increase"
                );
                assert!(
                    s.epochs().windows(2).all(|w| w[0] <= w[1]),
                    "{who}: {label} epoch positions never go back"
                );
                if family != Family::NonFinite {
                    assert_eq!(s.non_finite_count(), 0, "{who}: {label} is finite");
                }
            }
        }
    }
}

#[test]
fn healthy_runs_fall_and_validation_never_clearly_rises() {
    for run in runs(Family::HealthyEpoch) {
        let who = format!("seed {}: {}", run.seed, run.description);
        let val = series(&run, Split::Valid, "loss").values();
        // Validation noise is at most 3% (clipped at 3σ): no value is more than 1.09 / 0.91 times
        // the lowest before it unless the curve rises.
        let mut low = f64::INFINITY;
        for &v in val {
            assert!(v <= 1.2 * low, "{who}: validation rises ({v} after {low})");
            low = low.min(v);
        }
        let quarter = val.len().div_ceil(4);
        let (last, before) = (&val[val.len() - quarter..], &val[val.len() - 2 * quarter..]);
        assert!(
            median(last) <= 1.1 * median(&before[..quarter]),
            "{who}: falls or flat at the end"
        );
        assert!(
            val[val.len() - 1] < val[0],
            "{who}: validation ends lower than it starts"
        );
    }
    for run in runs(Family::HealthyLlm) {
        let who = format!("seed {}: {}", run.seed, run.description);
        let loss = series(&run, Split::Train, "loss").values();
        let n = loss.len() / 20;
        assert!(
            median(&loss[loss.len() - n..]) < median(&loss[..n]),
            "{who}: the loss falls"
        );
        let lr = series(&run, Split::Train, "lr").values();
        let peak = lr.iter().copied().fold(0.0, f64::max);
        assert!(
            lr[0] < peak && lr[lr.len() - 1] < 0.2 * peak,
            "{who}: warmup, then decay"
        );
        assert!(
            run.history.get(Split::Train, "grad_norm").is_some(),
            "{who}: a grad norm"
        );
    }
}

#[test]
fn pathologies_have_their_defining_shape() {
    for run in runs(Family::Exploding) {
        let (who, onset) = (run.description.clone(), run.onset.unwrap());
        let val = series(&run, Split::Valid, "loss");
        let (_, best, low) = val.min().unwrap();
        let end = *onset.window().end();
        assert!(
            best <= end,
            "{who}: validation's minimum before the window ends"
        );
        assert!(
            val.last().unwrap() > 1.5 * low,
            "{who}: and it grows from there"
        );
    }
    for run in runs(Family::StuckFromStart) {
        let loss = series(&run, Split::Train, "loss").values();
        let first = loss[0];
        let within = loss.iter().all(|v| (v / first - 1.0).abs() <= 0.01);
        assert!(within, "seed {}: within 1% of the first value", run.seed);
    }
    for run in runs(Family::OverfitFew) {
        let val = series(&run, Split::Valid, "loss").values();
        assert!(
            val.windows(2).all(|w| w[1] > w[0]),
            "seed {}: validation always worse",
            run.seed
        );
        assert!(
            (4..=6).contains(&val.len()),
            "seed {}: 4-6 evaluations",
            run.seed
        );
        let loss = series(&run, Split::Train, "loss").values();
        assert!(
            median(&loss[loss.len() - 5..]) < median(&loss[..5]) / 5.0,
            "seed {}",
            run.seed
        );
    }
    for family in [Family::OverfitMany, Family::OverfitNoisy] {
        for run in runs(family) {
            let (who, onset) = (run.description.clone(), run.onset.unwrap());
            let val = series(&run, Split::Valid, "loss");
            let tail = &val.values()[val.len() - 3..];
            let rise = if family == Family::OverfitMany {
                1.03
            } else {
                1.1
            };
            let mean = tail.iter().sum::<f64>() / 3.0;
            assert!(
                mean > rise * min(val.values()),
                "{family} {who}: validation ends above its min"
            );
            let train = epoch_loss(&run).values();
            let steps = epoch_loss(&run).steps();
            let i = steps.iter().position(|&s| s == onset.step).unwrap();
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
            let (at, end) = (mean(&train[i - 1..=i + 1]), mean(&train[train.len() - 3..]));
            assert!(end < at, "{family} {who}: training keeps improving");
        }
    }
}

#[test]
fn warmup_overshoot_climbs_after_the_crossing() {
    for run in runs(Family::WarmupTooHigh) {
        let (who, onset) = (run.description.clone(), run.onset.unwrap());
        let loss = series(&run, Split::Train, "loss");
        let lr = series(&run, Split::Train, "lr");
        // Medians over 3% of the run: up to the crossing, at the end of the window, and the
        // highest anywhere after it.
        let span = run.last_step() * 3 / 100;
        let smooth = |to: u64| median(&between(loss, to.saturating_sub(span), to));
        let before = smooth(onset.step);
        let end = smooth(onset.step + onset.after);
        let peak = (onset.step..=run.last_step())
            .step_by(span.max(1) as usize)
            .map(smooth)
            .fold(0.0, f64::max);
        assert!(
            end > before,
            "{who}: higher at the end of the window ({before} -> {end})"
        );
        assert!(
            peak > 1.15 * before,
            "{who}: and well above ({before} -> {peak})"
        );
        let lr_at = between(lr, onset.step, onset.step)[0];
        assert!(
            lr.values().iter().any(|&x| x > 1.2 * lr_at),
            "{who}: the rate keeps rising"
        );
    }
}

#[test]
fn spikes_stand_out_and_non_finite_values_start_at_the_onset() {
    for run in runs(Family::LossSpike) {
        let (who, onset) = (run.description.clone(), run.onset.unwrap());
        let loss = series(&run, Split::Train, "loss");
        let i = loss.steps().iter().position(|&s| s == onset.step).unwrap();
        let lo = i.saturating_sub(20);
        let hood: Vec<f64> = (lo..(i + 21).min(loss.len()))
            .filter(|&j| j != i)
            .map(|j| loss.values()[j])
            .collect();
        let m = median(&hood);
        let std = (hood.iter().map(|v| (v - m).powi(2)).sum::<f64>() / hood.len() as f64).sqrt();
        let spike = loss.values()[i];
        assert!(spike - m >= 8.0 * std, "{who}: {spike} vs {m} ± {std}");
        assert!(
            loss.values()[i + 1] < m + 4.0 * std,
            "{who}: the next value is normal"
        );
    }
    for (family, times) in [(Family::GradSpikeEarly, 10.0), (Family::GradSpikeLate, 5.0)] {
        for run in runs(family) {
            let (who, onset) = (run.description.clone(), run.onset.unwrap());
            let grad = series(&run, Split::Train, "grad_norm");
            let value = between(grad, onset.step, onset.step)[0];
            assert!(
                value >= 0.999 * times * median(grad.values()),
                "{family} {who}"
            );
        }
    }
    for run in runs(Family::NonFinite) {
        let (who, onset) = (run.description.clone(), run.onset.unwrap());
        let loss = series(&run, Split::Train, "loss");
        let finite = |from: u64, to: u64| -> Vec<bool> {
            between(loss, from, to)
                .iter()
                .map(|v| v.is_finite())
                .collect()
        };
        assert!(
            finite(0, onset.step - 1).iter().all(|&f| f),
            "{who}: finite before the onset"
        );
        assert_eq!(
            finite(onset.step, onset.step),
            vec![false],
            "{who}: not at the onset"
        );
        let after = finite(onset.step + 1, u64::MAX);
        let persistent = after.iter().all(|&f| !f);
        assert!(
            persistent || after.iter().all(|&f| f),
            "{who}: once, or from there on"
        );
    }
}

#[test]
fn a_plateau_rests_then_resumes() {
    for run in runs(Family::PlateauThenResume) {
        let (who, onset) = (run.description.clone(), run.onset.unwrap());
        let loss = series(&run, Split::Train, "loss");
        // Validation where there is one (epoch-level runs): its noise is small.
        let loss = run.history.get(Split::Valid, "loss").unwrap_or(loss);
        let (r, tenth) = (onset.step, run.last_step() / 10);
        let early = median(&between(loss, r - 2 * tenth, r - tenth));
        let late = median(&between(loss, r - tenth, r));
        assert!(
            (late / early - 1.0).abs() < 0.1,
            "{who}: flat before the resume ({early} -> {late})"
        );
        let end = median(&between(loss, run.last_step() - tenth, run.last_step()));
        assert!(end < 0.9 * late, "{who}: falls after it ({late} -> {end})");
    }
}

fn check_targets(families: &[Family], seeds: Range<u64>) {
    let report = QualityReport::run(families, seeds, None);
    if let Err(missed) = report.targets_met() {
        let failures: Vec<&String> = report.families.iter().flat_map(|s| &s.failures).collect();
        panic!("{report}\nmissed: {missed:#?}\nfailing runs: {failures:#?}");
    }
}

#[test]
fn families_at_target_stay_there() {
    check_targets(&[Family::HealthyLlm, Family::HealthyEpoch], HEALTHY_SEEDS);
    let families = [
        Family::Exploding,
        Family::StuckFromStart,
        Family::OverfitMany,
        Family::OverfitFew,
        Family::LossSpike,
        Family::GradSpikeEarly,
        Family::GradSpikeLate,
        Family::NonFinite,
        Family::PlateauThenResume,
    ];
    check_targets(&families, SEEDS);
}

/// Families still below the issue-13 targets: each is held to what it measures today (seeds
/// 0..40, one run of slack), so that a change can only make it better. The README's "Diagnostic
/// quality" section lists the gap and its causes.
#[test]
fn families_below_target_hold_their_measured_floor() {
    // (family, min recall, min located, max false alarms, what keeps it below the target)
    let floors = [
        (
            Family::OverfitNoisy,
            0.975,
            0.85,
            0.025,
            "recall is met; the onset is the raw best, and on a curve with 5-15% swings the \
             lowest evaluation can come several epochs before the turn",
        ),
        (
            Family::WarmupTooHigh,
            0.90,
            0.90,
            0.025,
            "a climb logged every 50 steps under 10-17% per-step noise can stay within the \
             level's noise allowance until the run ends",
        ),
    ];
    for (family, recall, located, false_alarms, why) in floors {
        let report = QualityReport::run(&[family], SEEDS, None);
        let score = &report.families[0];
        let healthy = family.is_healthy();
        if !healthy {
            assert!(
                score.recall() >= recall,
                "{family:?}: recall {} < {recall} ({why})\n{report}",
                score.recall()
            );
            assert!(
                score.located_rate() >= located,
                "{family:?}: located {} < {located} ({why})\n{report}",
                score.located_rate()
            );
        }
        assert!(
            score.false_alarm_rate() <= false_alarms,
            "{family:?}: false alarms {} > {false_alarms} ({why})\n{report}",
            score.false_alarm_rate()
        );
    }
}

#[test]
fn the_real_logs_get_their_readings_verdicts() {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let report = QualityReport::run(&[], 0..0, Some(&data));
    if let Err(missed) = report.targets_met() {
        panic!("{report}\nmissed: {missed:#?}");
    }
}
