//! `curvewatch quality [--data DIR] [--seeds N] [--family NAME]... [--json] [--verbose]`: how well
//! the diagnoses match runs whose trouble is known (generated families and the real logs), as
//! markdown tables.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use curvewatch::quality::{Family, QualityReport};
use serde::Serialize;

use crate::error::CliError;
use crate::load;

/// Where the real logs are, by default (relative to the working directory: the repository root).
const DEFAULT_DATA: &str = "tests/data";

/// `curvewatch quality`.
#[derive(Debug, Args)]
pub struct QualityArgs {
    /// The folder of real logs to check [default: tests/data, unless --family is given].
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Runs per generated family (seeds 0..N; 100 by default, so that a 2% false-alarm target
    /// is measured on more than one run in 50).
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub seeds: u64,
    /// Evaluate only this family (repeatable): healthy_epoch, healthy_llm, exploding,
    /// stuck_from_start, overfit_many, overfit_few, overfit_noisy, warmup_too_high, loss_spike,
    /// grad_spike_early, grad_spike_late, non_finite, plateau_then_resume.
    #[arg(long, value_name = "NAME", value_parser = family)]
    pub family: Vec<Family>,
    /// Print {"seeds": {"start", "end"}, "families": [...], "real_logs": [...], "targets_met",
    /// "targets_missed"} instead of markdown.
    #[arg(long)]
    pub json: bool,
}

/// `quality --json`: the report's own fields, then the targets.
#[derive(Serialize)]
struct QualityJson<'a> {
    #[serde(flatten)]
    report: &'a QualityReport,
    targets_met: bool,
    targets_missed: Vec<String>,
}

/// Runs `quality`: evaluates, prints the tables (and with `verbose`, every run and log that missed
/// its expectation). Exits 0 whether or not the targets are met: they are printed.
pub fn run(args: &QualityArgs, verbose: bool) -> Result<(), CliError> {
    let families: Vec<Family> = if args.family.is_empty() {
        Family::ALL.to_vec()
    } else {
        args.family.clone()
    };
    let data = match (&args.data, args.family.is_empty()) {
        (Some(dir), _) => Some(dir.clone()),
        (None, true) => Some(PathBuf::from(DEFAULT_DATA)),
        (None, false) => None,
    };
    if let Some(dir) = data.as_deref().filter(|d| !d.is_dir()) {
        load::note(&format!(
            "curvewatch: {}: no such folder; every real log will be missing",
            dir.display()
        ));
    }
    let report = QualityReport::run(&families, 0..args.seeds, data.as_deref());
    let mut out = std::io::stdout().lock();
    if args.json {
        let missed = report.targets_met().err().unwrap_or_default();
        let json = QualityJson {
            report: &report,
            targets_met: missed.is_empty(),
            targets_missed: missed,
        };
        serde_json::to_writer(&mut out, &json).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        write!(out, "{report}")?;
        if verbose {
            failures(&mut out, &report, data.as_deref())?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Lists every run and real log that missed its expectation.
fn failures(
    out: &mut impl Write,
    report: &QualityReport,
    data: Option<&Path>,
) -> Result<(), CliError> {
    writeln!(out, "\n### Runs not judged as expected\n")?;
    for s in report.families.iter().filter(|s| !s.failures.is_empty()) {
        writeln!(out, "{} ({} of {}):", s.family, s.failures.len(), s.runs)?;
        for line in &s.failures {
            writeln!(out, "- {line}")?;
        }
        writeln!(out)?;
    }
    let missed: Vec<_> = report.real_logs.iter().filter(|r| !r.met).collect();
    if let (Some(dir), false) = (data, missed.is_empty()) {
        writeln!(
            out,
            "Real logs in {} ({} of {}):",
            dir.display(),
            missed.len(),
            report.real_logs.len()
        )?;
        for r in missed {
            writeln!(out, "- {}: {}", r.file, r.failures.join("; "))?;
        }
    }
    Ok(())
}

/// A family by name, for clap.
fn family(text: &str) -> Result<Family, String> {
    Family::from_name(text).ok_or_else(|| {
        let names: Vec<&str> = Family::ALL.iter().map(|f| f.as_str()).collect();
        format!(
            "`{text}` is not a family; the families are: {}",
            names.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_parsed_by_name() {
        let cases = [
            ("loss_spike", Some(Family::LossSpike), "its name"),
            ("Overfit-Few", Some(Family::OverfitFew), "dashes and case"),
            ("spike", None, "not a family"),
        ];
        for (text, want, why) in cases {
            assert_eq!(family(text).ok(), want, "{why}");
        }
        assert!(
            family("x").unwrap_err().contains("healthy_epoch"),
            "the error lists them"
        );
    }
}
