//! The markdown rendering of a [`QualityReport`]: a table of families, a table of real logs, and
//! the targets missed.

use std::fmt;

use super::evaluate::FamilyScore;
use super::quality_report::{
    QualityReport, TARGET_FALSE_ALARMS, TARGET_ONSET_LOCATED, TARGET_REAL_WARNINGS, TARGET_RECALL,
};
use super::real::RealLogScore;

impl fmt::Display for QualityReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.families.is_empty() {
            families(f, self)?;
        }
        if !self.real_logs.is_empty() {
            real_logs(f, &self.real_logs)?;
        }
        writeln!(
            f,
            "Targets: recall ≥ {:.0}% and onset located ≥ {:.0}% per pathology family, false alarms \
             ≤ {:.0}% per healthy family, every real-log expectation met, no healthy real run with \
             more than {TARGET_REAL_WARNINGS} warnings.",
            100.0 * TARGET_RECALL,
            100.0 * TARGET_ONSET_LOCATED,
            100.0 * TARGET_FALSE_ALARMS
        )?;
        match self.targets_met() {
            Ok(()) => writeln!(f, "\nAll targets met."),
            Err(missed) => {
                writeln!(f, "\nTargets missed ({}):", missed.len())?;
                for m in missed {
                    writeln!(f, "- {m}")?;
                }
                Ok(())
            }
        }
    }
}

fn families(f: &mut fmt::Formatter<'_>, report: &QualityReport) -> fmt::Result {
    let seeds = &report.seeds;
    writeln!(
        f,
        "### Generated runs (seeds {}..{})\n",
        seeds.start, seeds.end
    )?;
    writeln!(
        f,
        "| family | runs | recall (false alarms, healthy) | onset located | false alarms | \
         premature | warnings / run | median delay |"
    )?;
    writeln!(f, "|---|--:|--:|--:|--:|--:|--:|--:|")?;
    for s in &report.families {
        family_row(f, s)?;
    }
    writeln!(
        f,
        "\nRecall: runs with a diagnosis of the expected kind at warning or above (a closed plateau \
         episode for plateau_then_resume), reported no earlier than the tolerance window opens. \
         Onset located: its onset within the window. False alarms: runs with a warning of a kind \
         the family does not allow. Premature: the expected kind said before the window. Delay: \
         onset to first detection, in % of the run.\n"
    )
}

fn family_row(f: &mut fmt::Formatter<'_>, s: &FamilyScore) -> fmt::Result {
    let pct = |x: f64| format!("{:.1}%", 100.0 * x);
    let mark = |ok: bool| if ok { "✓" } else { "✗" };
    let (first, located, premature) = if s.family.is_healthy() {
        let rate = s.false_alarm_rate();
        let first = format!("{} {}", pct(rate), mark(rate <= TARGET_FALSE_ALARMS));
        (first, "–".to_owned(), "–".to_owned())
    } else {
        let (recall, located) = (s.recall(), s.located_rate());
        (
            format!("{} {}", pct(recall), mark(recall >= TARGET_RECALL)),
            format!("{} {}", pct(located), mark(located >= TARGET_ONSET_LOCATED)),
            pct(s.premature_rate()),
        )
    };
    let delay = s
        .median_delay_pct
        .map_or_else(|| "–".to_owned(), |d| format!("{d:.1}%"));
    writeln!(
        f,
        "| {} | {} | {first} | {located} | {} | {premature} | {:.2} | {delay} |",
        s.family,
        s.runs,
        pct(s.false_alarm_rate()),
        s.mean_warnings()
    )
}

fn real_logs(f: &mut fmt::Formatter<'_>, logs: &[RealLogScore]) -> fmt::Result {
    writeln!(f, "### Real logs\n")?;
    writeln!(f, "| log | expected verdict | met | warnings | said |")?;
    writeln!(f, "|---|---|:-:|--:|---|")?;
    for r in logs {
        let met = if r.met { "✓" } else { "✗" };
        let said = if r.said.is_empty() {
            "nothing".to_owned()
        } else {
            r.said.join(", ")
        };
        writeln!(
            f,
            "| {} | {} | {met} | {} | {said} |",
            short_name(&r.file),
            r.verdict,
            r.warnings
        )?;
    }
    writeln!(f)
}

/// `owner/repo` from a data file named `owner__repo__path`.
pub(crate) fn short_name(file: &str) -> String {
    let mut parts = file.split("__");
    match (parts.next(), parts.next()) {
        (Some(owner), Some(repo)) => format!("{owner}/{repo}"),
        _ => file.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quality::generate::Family;

    #[test]
    fn names_are_shortened_to_owner_and_repo() {
        let cases = [
            ("a__b__c_d.json", "a/b", "owner, repo, path"),
            ("plain.csv", "plain.csv", "no separator"),
        ];
        for (file, want, why) in cases {
            assert_eq!(short_name(file), want, "{why}");
        }
    }

    #[test]
    fn the_table_marks_targets() {
        let mut healthy = FamilyScore::failed(Family::HealthyEpoch, 0, "");
        healthy.runs = 50;
        healthy.errors = 0;
        healthy.false_alarm_runs = 5;
        let mut spike = FamilyScore::failed(Family::LossSpike, 0, "");
        (
            spike.runs,
            spike.errors,
            spike.detected,
            spike.onset_located,
        ) = (40, 0, 40, 40);
        let report = QualityReport {
            seeds: 0..40,
            families: vec![healthy, spike],
            real_logs: Vec::new(),
        };
        let text = report.to_string();
        let cases = [
            (
                "| healthy_epoch | 50 | 10.0% ✗ | – | 10.0% |",
                "a healthy family shows its false alarms",
            ),
            (
                "| loss_spike | 40 | 100.0% ✓ | 100.0% ✓ | 0.0% | 0.0% |",
                "a pathology its recall",
            ),
            ("Targets missed (1):", "one target missed"),
        ];
        for (want, why) in cases {
            assert!(text.contains(want), "{why}: {text}");
        }
    }
}
