//! Scoring one analysis against what was expected: a generated run against its family's
//! expectation ([`score_run`]), a real log against its [`RealLogExpectation`] ([`score_real_log`]).

use serde::Serialize;

use super::expect::{FamilyExpectation, RealLogExpectation};
use super::generate::Onset;
use crate::diagnosis::{Diagnosis, Severity};

/// How the diagnoses of one generated run compare with its expectation.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunOutcome {
    /// A diagnosis of an expected kind, at the family's threshold or above, reported no earlier than
    /// the onset's tolerance window opens (for a plateau that resumes: one whose closed episode ends
    /// in the window).
    pub detected: bool,
    /// Such a diagnosis places the onset (its [`Diagnosis::onset_step`]) in the tolerance window
    /// (for a plateau that resumes: the same as `detected`).
    pub located: bool,
    /// A diagnosis of an expected kind was reported before the window opened (for a plateau that
    /// resumes: a plateau reported before the resume whose episode did not close at it).
    pub premature: bool,
    /// A warning or critical of a kind the family does not allow.
    pub false_alarm: bool,
    /// Number of warnings and criticals.
    pub warnings: usize,
    /// Steps from the onset to the first detection, in % of the run.
    pub delay_pct: Option<f64>,
}

impl RunOutcome {
    /// Whether the run was judged as expected: detected and located (pathologies), nothing
    /// premature, no false alarm.
    pub fn passed(&self, healthy: bool) -> bool {
        let found = healthy || (self.detected && self.located);
        found && !self.premature && !self.false_alarm
    }
}

/// Scores the `diagnoses` of a run of `last_step` steps against `expect`, with the pathology
/// beginning at `onset` (`None` for a healthy run).
///
/// ```
/// use curvewatch::quality::{expectation, score_run, Family, Onset};
/// use curvewatch::{Diagnosis, DiagnosisKind, Severity};
/// let mut spike = Diagnosis::new(DiagnosisKind::LossSpike, Severity::Warning, "spike");
/// spike.step = 500;
/// let onset = Onset { step: 500, before: 0, after: 10 };
/// let out = score_run(&expectation(Family::LossSpike), Some(onset), 1000, &[spike]);
/// assert!(out.detected && out.located && !out.false_alarm);
/// ```
pub fn score_run(
    expect: &FamilyExpectation,
    onset: Option<Onset>,
    last_step: u64,
    diagnoses: &[Diagnosis],
) -> RunOutcome {
    let mut out = RunOutcome {
        warnings: diagnoses
            .iter()
            .filter(|d| d.severity >= Severity::Warning)
            .count(),
        false_alarm: diagnoses
            .iter()
            .any(|d| expect.is_false_alarm(d.kind, d.severity)),
        ..RunOutcome::default()
    };
    let Some(onset) = onset else {
        return out;
    };
    let window = onset.window();
    let run = last_step.max(1) as f64;
    let mut hits = diagnoses
        .iter()
        .filter(|d| expect.detects(d.kind, d.severity));
    if expect.episode_closes {
        let closed = |d: &Diagnosis| {
            d.episode
                .is_some_and(|e| e.closed && window.contains(&e.end_step))
        };
        let first = hits.clone().filter(|d| closed(d)).find_map(|d| d.episode);
        out.detected = first.is_some();
        out.located = out.detected;
        out.premature = hits.any(|d| d.step < onset.step && !closed(d));
        out.delay_pct = first.map(|e| pct(e.end_step.saturating_sub(onset.step), run));
        return out;
    }
    let start = *window.start();
    out.premature = hits.clone().any(|d| d.step < start);
    out.located = hits.clone().any(|d| window.contains(&d.onset_step()));
    let first = hits.find(|d| d.step >= start);
    out.detected = first.is_some();
    out.delay_pct = first.map(|d| pct(d.step.saturating_sub(onset.step), run));
    out
}

fn pct(steps: u64, run: f64) -> f64 {
    100.0 * steps as f64 / run
}

/// Whether `d` covers the step range `[first, last]`: its onset is at or before `last` and the end
/// of its episode (its step, for a point event) at or after `first`.
///
/// ```
/// use curvewatch::quality::covers;
/// use curvewatch::{Diagnosis, DiagnosisKind, Episode, Severity};
/// let mut d = Diagnosis::new(DiagnosisKind::Overfitting, Severity::Warning, "val rising");
/// d.step = 4411;
/// assert!(!covers(&d, (401, 802)), "reported too late, with no episode to say where it began");
/// let d = d.with_episode(Episode { start_step: 802, end_step: 4411, count: 9, peak_step: 4411, closed: false });
/// assert!(covers(&d, (401, 802)), "its episode begins in the range");
/// ```
pub fn covers(d: &Diagnosis, (first, last): (u64, u64)) -> bool {
    d.onset_step() <= last && first <= d.episode.map_or(d.step, |e| e.end_step)
}

/// Every way the `diagnoses` of a real log miss `expect`, one sentence each (empty: met).
///
/// ```
/// use curvewatch::quality::{score_real_log, REAL_LOGS};
/// let anonymous = REAL_LOGS.iter().find(|e| e.file.starts_with("anonymousgigachad")).unwrap();
/// let failures = score_real_log(anonymous, &[]);
/// assert_eq!(failures, vec!["not_judged not said (at info or above)".to_owned()]);
/// ```
pub fn score_real_log(expect: &RealLogExpectation, diagnoses: &[Diagnosis]) -> Vec<String> {
    let warn = |d: &&Diagnosis| d.severity >= Severity::Warning;
    let mut failures = Vec::new();
    for &(kind, range) in expect.must {
        let said = diagnoses.iter().filter(warn).filter(|d| d.kind == kind);
        let ok = match range {
            Some(r) => said.clone().any(|d| covers(d, r)),
            None => said.clone().next().is_some(),
        };
        if !ok {
            let at = range.map_or(String::new(), |(a, b)| format!(" covering steps {a}..={b}"));
            let seen: Vec<String> = said.map(place).collect();
            let seen = if seen.is_empty() {
                String::new()
            } else {
                format!(" (said at {})", seen.join(", "))
            };
            failures.push(format!("{kind} not said at warning or above{at}{seen}"));
        }
    }
    for &kind in expect.must_not {
        let said: Vec<String> = diagnoses
            .iter()
            .filter(warn)
            .filter(|d| d.kind == kind)
            .map(place)
            .collect();
        if !said.is_empty() {
            failures.push(format!("{kind} said at {}", said.join(", ")));
        }
    }
    for &kind in expect.must_not_any {
        if let Some(d) = diagnoses.iter().find(|d| d.kind == kind) {
            failures.push(format!("{kind} said ({}, step {})", d.severity, d.step));
        }
    }
    for &kind in expect.must_info {
        if !diagnoses.iter().any(|d| d.kind == kind) {
            failures.push(format!("{kind} not said (at info or above)"));
        }
    }
    let warnings = diagnoses.iter().filter(warn).count();
    if let Some(max) = expect.max_warnings.filter(|&m| warnings > m) {
        failures.push(format!("{warnings} warnings (at most {max})"));
    }
    failures
}

/// `step 802 (warning)`, or `steps 802..4411 (critical)` for an episode.
fn place(d: &Diagnosis) -> String {
    match d.episode {
        Some(e) => format!("steps {}..{} ({})", e.start_step, e.end_step, d.severity),
        None => format!("step {} ({})", d.step, d.severity),
    }
}

#[cfg(test)]
#[path = "score/tests.rs"]
mod tests;
