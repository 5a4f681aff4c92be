use super::*;
use crate::diagnosis::{DiagnosisKind, Episode};
use crate::quality::expect::{expectation, REAL_LOGS};
use crate::quality::generate::Family;

use DiagnosisKind::{GradNormSpike, LossSpike, NotJudged, Overfitting, Plateau};
use Severity::{Critical, Info, Warning};

fn diag(kind: DiagnosisKind, severity: Severity, step: u64) -> Diagnosis {
    let mut d = Diagnosis::new(kind, severity, "test");
    d.step = step;
    d
}

fn episode(start: u64, end: u64, closed: bool) -> Episode {
    Episode {
        start_step: start,
        end_step: end,
        count: 1,
        peak_step: start,
        closed,
    }
}

/// (family, onset, diagnoses, detected, located, premature, false alarm, why)
type Case = (
    Family,
    Option<Onset>,
    Vec<Diagnosis>,
    (bool, bool, bool, bool),
    &'static str,
);

#[test]
fn runs_are_scored_by_kind_severity_and_place() {
    let spike = Some(Onset {
        step: 500,
        before: 0,
        after: 10,
    });
    let overfit = Some(Onset {
        step: 1000,
        before: 100,
        after: 300,
    });
    let resume = Some(Onset {
        step: 600,
        before: 0,
        after: 150,
    });
    let cases: Vec<Case> = vec![
        (
            Family::HealthyLlm,
            None,
            vec![],
            (false, false, false, false),
            "nothing said, nothing wrong",
        ),
        (
            Family::HealthyLlm,
            None,
            vec![diag(Plateau, Info, 900)],
            (false, false, false, false),
            "an info is not a false alarm",
        ),
        (
            Family::HealthyLlm,
            None,
            vec![diag(LossSpike, Warning, 900)],
            (false, false, false, true),
            "any warning on a healthy run is a false alarm",
        ),
        (
            Family::LossSpike,
            spike,
            vec![diag(LossSpike, Warning, 500)],
            (true, true, false, false),
            "the spike, where it is",
        ),
        (
            Family::LossSpike,
            spike,
            vec![diag(LossSpike, Info, 500)],
            (false, false, false, false),
            "an info does not detect",
        ),
        (
            Family::LossSpike,
            spike,
            vec![diag(GradNormSpike, Warning, 500)],
            (false, false, false, true),
            "the wrong kind is a false alarm, not a detection",
        ),
        (
            Family::LossSpike,
            spike,
            vec![diag(LossSpike, Critical, 520)],
            (true, false, false, false),
            "detected, but past the window",
        ),
        (
            Family::LossSpike,
            spike,
            vec![diag(LossSpike, Warning, 100), diag(LossSpike, Warning, 505)],
            (true, true, true, false),
            "an earlier spike is premature",
        ),
        (
            Family::OverfitMany,
            overfit,
            vec![diag(Overfitting, Warning, 1500)],
            (true, false, false, false),
            "late, with no episode to place the onset",
        ),
        (
            Family::OverfitMany,
            overfit,
            vec![diag(Overfitting, Warning, 1500).with_episode(episode(1050, 1500, false))],
            (true, true, false, false),
            "an episode places the onset",
        ),
        (
            Family::OverfitMany,
            overfit,
            vec![diag(DiagnosisKind::GeneralizationGap, Warning, 800)],
            (false, false, false, false),
            "an allowed kind is no false alarm",
        ),
        (
            Family::PlateauThenResume,
            resume,
            vec![diag(Plateau, Info, 400).with_episode(episode(300, 620, true))],
            (true, true, false, false),
            "a plateau that closed when the loss resumed",
        ),
        (
            Family::PlateauThenResume,
            resume,
            vec![diag(Plateau, Info, 400)],
            (false, false, true, false),
            "a plateau before the resume that never closed",
        ),
        (
            Family::PlateauThenResume,
            resume,
            vec![diag(Plateau, Info, 400).with_episode(episode(300, 900, true))],
            (false, false, true, false),
            "closed, but long after the resume",
        ),
        (
            Family::PlateauThenResume,
            resume,
            vec![diag(Plateau, Info, 950)],
            (false, false, false, false),
            "a plateau after the resume is no fault",
        ),
        (
            Family::PlateauThenResume,
            resume,
            vec![diag(Plateau, Warning, 400).with_episode(episode(300, 620, true))],
            (true, true, false, true),
            "but no warning at all is allowed",
        ),
    ];
    for (family, onset, diagnoses, want, why) in cases {
        let out = score_run(&expectation(family), onset, 2000, &diagnoses);
        let got = (out.detected, out.located, out.premature, out.false_alarm);
        assert_eq!(got, want, "{why}");
    }
}

#[test]
fn delays_and_warnings_are_counted() {
    let onset = Some(Onset {
        step: 100,
        before: 0,
        after: 500,
    });
    let said = [
        diag(Overfitting, Warning, 300),
        diag(Overfitting, Critical, 400),
        diag(Plateau, Info, 500),
    ];
    let out = score_run(&expectation(Family::OverfitFew), onset, 1000, &said);
    assert_eq!(out.warnings, 2, "two warnings; the info is not one");
    assert_eq!(
        out.delay_pct,
        Some(20.0),
        "the first detection, 200 steps of 1000 after the onset"
    );
    assert!(out.passed(false));
}

#[test]
fn coverage_of_a_step_range() {
    let cases = [
        (
            diag(Overfitting, Warning, 802),
            true,
            "a point event inside the range",
        ),
        (diag(Overfitting, Warning, 401), true, "at its first step"),
        (
            diag(Overfitting, Warning, 1203),
            false,
            "a point event after it",
        ),
        (
            diag(Overfitting, Warning, 1203).with_episode(episode(802, 1203, false)),
            true,
            "an episode that began in it",
        ),
        (
            diag(Overfitting, Warning, 1203).with_episode(episode(0, 5000, true)),
            true,
            "an episode spanning it",
        ),
        (
            diag(Overfitting, Warning, 1203).with_episode(episode(803, 1203, false)),
            false,
            "an episode that began after it",
        ),
        (
            diag(Overfitting, Warning, 300).with_episode(episode(100, 400, true)),
            false,
            "an episode that ended before it",
        ),
    ];
    for (d, want, why) in cases {
        assert_eq!(covers(&d, (401, 802)), want, "{why}");
    }
}

fn entry(prefix: &str) -> &'static RealLogExpectation {
    REAL_LOGS
        .iter()
        .find(|e| e.file.starts_with(prefix))
        .unwrap_or_else(|| panic!("{prefix} listed"))
}

#[test]
fn real_logs_are_checked_rule_by_rule() {
    let preston = entry("prestonfrost");
    let info = diag(NotJudged, Info, 0);
    let cases: Vec<(&RealLogExpectation, Vec<Diagnosis>, usize, &str)> = vec![
        (
            preston,
            vec![info.clone(), diag(GradNormSpike, Warning, 300)],
            0,
            "the spike where the reading puts it",
        ),
        (
            preston,
            vec![info.clone(), diag(GradNormSpike, Info, 300)],
            1,
            "an info spike is not enough",
        ),
        (
            preston,
            vec![info.clone(), diag(GradNormSpike, Warning, 400)],
            1,
            "a spike elsewhere does not cover step 300",
        ),
        (
            preston,
            vec![diag(GradNormSpike, Warning, 300)],
            1,
            "not_judged must be said",
        ),
        (
            preston,
            vec![
                info.clone(),
                diag(GradNormSpike, Warning, 300),
                diag(LossSpike, Warning, 700),
            ],
            1,
            "a loss spike is ruled out",
        ),
        (
            preston,
            vec![
                info.clone(),
                diag(GradNormSpike, Warning, 300),
                diag(LossSpike, Info, 700),
            ],
            0,
            "as a warning only",
        ),
        (
            preston,
            (0..4)
                .map(|i| diag(GradNormSpike, Warning, 300 + i))
                .chain([info.clone()])
                .collect(),
            1,
            "four warnings are one too many",
        ),
        (
            entry("suzushi"),
            vec![info.clone(), diag(DiagnosisKind::EarlyStop, Info, 7820)],
            1,
            "no early stop at any severity",
        ),
        (
            entry("anonymousgigachad"),
            vec![info.clone(), diag(GradNormSpike, Warning, 10)],
            1,
            "nothing at warning",
        ),
    ];
    for (expect, diagnoses, failures, why) in cases {
        let got = score_real_log(expect, &diagnoses);
        assert_eq!(got.len(), failures, "{why}: {got:?}");
    }
}
