//! Running the evaluation: every seed of a family through [`report::analyze`], scored into a
//! [`FamilyScore`].

use std::ops::Range;

use serde::Serialize;

use super::expect::expectation;
use super::generate::{generate, Family, GeneratedRun};
use super::score::{score_run, RunOutcome};
use crate::diagnosis::{Diagnosis, Severity};
use crate::report;

/// At most this many diagnoses are listed in a failure line.
const MAX_LISTED: usize = 8;

/// How one family's runs were judged.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FamilyScore {
    /// The family.
    pub family: Family,
    /// Runs evaluated.
    pub runs: usize,
    /// Runs whose pathology was detected (see [`RunOutcome::detected`]).
    pub detected: usize,
    /// Runs whose onset was placed within the tolerance window.
    pub onset_located: usize,
    /// Runs with an expected-kind diagnosis before the window opened.
    pub premature_runs: usize,
    /// Runs with any warning or critical of a kind the family does not allow.
    pub false_alarm_runs: usize,
    /// Warnings and criticals over all runs.
    pub warnings: usize,
    /// Runs whose analysis failed (counted as not detected).
    pub errors: usize,
    /// Median steps from onset to detection, in % of the run, over the detected runs.
    pub median_delay_pct: Option<f64>,
    /// One line per run not judged as expected: the seed, what was expected, what was said.
    pub failures: Vec<String>,
}

impl FamilyScore {
    /// A score of `runs` runs that could not be evaluated, for `reason`.
    pub fn failed(family: Family, runs: usize, reason: &str) -> Self {
        FamilyScore {
            runs,
            errors: runs,
            failures: vec![format!("{runs} runs: {reason}")],
            ..FamilyScore::empty(family)
        }
    }

    fn empty(family: Family) -> Self {
        FamilyScore {
            family,
            runs: 0,
            detected: 0,
            onset_located: 0,
            premature_runs: 0,
            false_alarm_runs: 0,
            warnings: 0,
            errors: 0,
            median_delay_pct: None,
            failures: Vec::new(),
        }
    }

    /// Detected runs / runs (0 when there are no runs).
    pub fn recall(&self) -> f64 {
        ratio(self.detected, self.runs)
    }

    /// Runs with the onset located / runs.
    pub fn located_rate(&self) -> f64 {
        ratio(self.onset_located, self.runs)
    }

    /// Runs with a false alarm / runs.
    pub fn false_alarm_rate(&self) -> f64 {
        ratio(self.false_alarm_runs, self.runs)
    }

    /// Runs with a premature detection / runs.
    pub fn premature_rate(&self) -> f64 {
        ratio(self.premature_runs, self.runs)
    }

    /// Warnings and criticals per run.
    pub fn mean_warnings(&self) -> f64 {
        if self.runs == 0 {
            0.0
        } else {
            self.warnings as f64 / self.runs as f64
        }
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Generates run `seed` of `family` for each seed, analyses it with [`report::analyze`], and scores
/// the diagnoses against [`expectation`].
///
/// ```
/// use curvewatch::quality::{evaluate_family, Family};
/// let score = evaluate_family(Family::OverfitFew, 0..2);
/// assert_eq!(score.runs, 2);
/// assert!(score.detected <= 2);
/// ```
pub fn evaluate_family(family: Family, seeds: Range<u64>) -> FamilyScore {
    let expect = expectation(family);
    let mut score = FamilyScore::empty(family);
    let mut delays = Vec::new();
    for seed in seeds {
        let run = generate(family, seed);
        score.runs += 1;
        let diagnoses = match report::analyze(&run.history) {
            Ok(r) => r.diagnoses,
            Err(e) => {
                score.errors += 1;
                score
                    .failures
                    .push(format!("seed {seed}: analysis failed: {e}"));
                continue;
            }
        };
        let out = score_run(&expect, run.onset, run.last_step(), &diagnoses);
        score.detected += usize::from(out.detected);
        score.onset_located += usize::from(out.located);
        score.premature_runs += usize::from(out.premature);
        score.false_alarm_runs += usize::from(out.false_alarm);
        score.warnings += out.warnings;
        delays.extend(out.delay_pct);
        if !out.passed(family.is_healthy()) {
            score.failures.push(failure_line(&run, &out, &diagnoses));
        }
    }
    delays.sort_by(f64::total_cmp);
    score.median_delay_pct = delays.get(delays.len() / 2).copied();
    score
}

/// `seed 7: expected overfitting in steps 380..=1200 (onset 500); got: detected late; said:
/// lr_too_high@820 (warning), overfitting@1400 (critical) | <description>`.
fn failure_line(run: &GeneratedRun, out: &RunOutcome, diagnoses: &[Diagnosis]) -> String {
    let expect = expectation(run.family);
    let wanted: Vec<&str> = expect.expected.iter().map(|k| k.as_str()).collect();
    let expected = match run.onset {
        Some(o) => {
            let w = o.window();
            format!(
                "{} in steps {}..={} (onset {})",
                wanted.join("/"),
                w.start(),
                w.end(),
                o.step
            )
        }
        None => "no warning".to_owned(),
    };
    let mut problems = Vec::new();
    if run.onset.is_some() && !out.detected {
        problems.push("not detected");
    }
    if out.detected && !out.located {
        problems.push("onset not located");
    }
    if out.premature {
        problems.push("premature");
    }
    if out.false_alarm {
        problems.push("false alarm");
    }
    let said: Vec<String> = diagnoses
        .iter()
        .filter(|d| d.severity >= Severity::Warning || expect.detects(d.kind, d.severity))
        .map(said_one)
        .collect();
    let said = match said.len() {
        0 => "nothing".to_owned(),
        n if n > MAX_LISTED => format!(
            "{}, and {} more",
            said[..MAX_LISTED].join(", "),
            n - MAX_LISTED
        ),
        _ => said.join(", "),
    };
    format!(
        "seed {}: expected {expected}; {}; said: {said} | {}",
        run.seed,
        problems.join(", "),
        run.description
    )
}

/// `overfitting@1400 (critical)`, with its episode where it stands for one:
/// `plateau@400 (info, steps 300..620 closed)`.
fn said_one(d: &Diagnosis) -> String {
    match d.episode {
        Some(e) => {
            let state = if e.closed { "closed" } else { "open" };
            format!(
                "{}@{} ({}, steps {}..{} {state})",
                d.kind, d.step, d.severity, e.start_step, e.end_step
            )
        }
        None => format!("{}@{} ({})", d.kind, d.step, d.severity),
    }
}
