//! The real logs: each file of [`REAL_LOGS`] imported as the command line imports it, analysed with
//! [`report::analyze`], and checked against its expectation.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use super::expect::{RealLogExpectation, REAL_LOGS};
use super::score::score_real_log;
use crate::diagnosis::{Diagnosis, Severity};
use crate::import::{import_file, ImportOptions};
use crate::report;

/// How one real log was judged.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RealLogScore {
    /// The file name.
    pub file: String,
    /// The expected verdict, in a few words.
    pub verdict: &'static str,
    /// Whether the run is healthy.
    pub healthy: bool,
    /// Whether every expectation was met.
    pub met: bool,
    /// Each expectation missed, in a sentence (a file that could not be read or analysed is one).
    pub failures: Vec<String>,
    /// Warnings and criticals said.
    pub warnings: usize,
    /// The kinds said, each with its highest severity and count: `grad_norm_spike (warning) ×3`.
    pub said: Vec<String>,
}

/// Imports each file of [`REAL_LOGS`] from `dir` (default options: every point kept, as
/// `curvewatch analyze` does), analyses its history and scores it. A missing file, an import error
/// or an analysis error is a failure of that file, never a panic.
///
/// ```no_run
/// let scores = curvewatch::quality::evaluate_real_logs(std::path::Path::new("tests/data"));
/// for s in &scores {
///     println!("{}: {}", s.file, if s.met { "met" } else { "missed" });
/// }
/// ```
pub fn evaluate_real_logs(dir: &Path) -> Vec<RealLogScore> {
    REAL_LOGS
        .iter()
        .map(|e| evaluate_real_log(dir, e))
        .collect()
}

/// Imports, analyses and scores one real log.
pub fn evaluate_real_log(dir: &Path, expect: &RealLogExpectation) -> RealLogScore {
    let mut score = RealLogScore {
        file: expect.file.to_owned(),
        verdict: expect.verdict,
        healthy: expect.healthy,
        met: false,
        failures: Vec::new(),
        warnings: 0,
        said: Vec::new(),
    };
    let path = dir.join(expect.file);
    let imported = match import_file(&path, None, &ImportOptions::default()) {
        Ok(i) => i,
        Err(e) => {
            score.failures.push(format!("could not be imported: {e}"));
            return score;
        }
    };
    // As the command line does: a learning-curve dataset's x axis is the training-set size.
    let options = report::AnalyzeOptions::default()
        .with_sample_size_axis(imported.format == crate::import::ImportFormat::LcdbResults);
    let diagnoses = match report::analyze_with(&imported.history, &options) {
        Ok(r) => r.diagnoses,
        Err(e) => {
            score.failures.push(format!("analysis failed: {e}"));
            return score;
        }
    };
    score.failures = score_real_log(expect, &diagnoses);
    score.met = score.failures.is_empty();
    score.warnings = diagnoses
        .iter()
        .filter(|d| d.severity >= Severity::Warning)
        .count();
    score.said = said(&diagnoses);
    score
}

/// Each kind said, in order of first appearance, with its highest severity and (past one) its
/// count.
pub(crate) fn said(diagnoses: &[Diagnosis]) -> Vec<String> {
    let mut order = Vec::new();
    let mut seen: BTreeMap<&str, (Severity, usize)> = BTreeMap::new();
    for d in diagnoses {
        let entry = seen.entry(d.kind.as_str()).or_insert_with(|| {
            order.push(d.kind.as_str());
            (d.severity, 0)
        });
        entry.0 = entry.0.max(d.severity);
        entry.1 += 1;
    }
    order
        .into_iter()
        .filter_map(|k| seen.get(k).map(|&(s, n)| (k, s, n)))
        .map(|(k, s, n)| match n {
            1 => format!("{k} ({s})"),
            _ => format!("{k} ({s}) ×{n}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnosis::DiagnosisKind;

    #[test]
    fn kinds_said_are_counted_at_their_worst() {
        let d = |k, s| Diagnosis::new(k, s, "x");
        let said = said(&[
            d(DiagnosisKind::GradNormSpike, Severity::Warning),
            d(DiagnosisKind::EarlyStop, Severity::Info),
            d(DiagnosisKind::GradNormSpike, Severity::Critical),
        ]);
        assert_eq!(
            said,
            vec!["grad_norm_spike (critical) ×2", "early_stop (info)"],
            "first-seen order, the worst severity, a count past one"
        );
    }

    #[test]
    fn a_missing_file_is_a_failure_not_a_panic() {
        let dir = Path::new("/nonexistent/curvewatch-quality");
        let score = evaluate_real_log(dir, &REAL_LOGS[0]);
        assert!(!score.met);
        assert_eq!(score.failures.len(), 1, "{:?}", score.failures);
    }
}
