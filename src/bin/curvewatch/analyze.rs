//! `curvewatch analyze FILE... [--format F] [--json] [--out DIR]`: the whole-run report of each log.

use std::io::Write;
use std::path::Path;

use curvewatch::import::{ImportFormat, Imported};
use curvewatch::report::{self, RunReport};

use crate::args::AnalyzeArgs;
use crate::charts::{self, Stems};
use crate::error::CliError;
use crate::html;
use crate::interactive;
use crate::json::{AnalyzeJson, PredictionJson};
use crate::load;
use crate::metric;

/// One file, analysed.
struct Analysis {
    imported: Imported,
    report: RunReport,
}

/// Runs `analyze`: each file in turn (a failing file is reported and the others go on), then
/// `report.html` when `--out` is given.
pub fn run(args: &AnalyzeArgs) -> Result<(), CliError> {
    if let Some(dir) = &args.out {
        charts::create_dir(dir)?;
    }
    let mut stdout = std::io::stdout().lock();
    let (mut sections, mut failures) = (Vec::new(), Vec::new());
    let mut stems = Stems::default();
    for path in &args.files {
        match one_file(path, args, &mut stdout, &mut stems) {
            Ok(section) => sections.extend(section),
            Err(e @ CliError::Stdout(_)) => return Err(e),
            Err(e) => {
                if args.files.len() > 1 {
                    load::note(&format!("curvewatch: {e}"));
                }
                failures.push(e);
            }
        }
    }
    if let Some(dir) = &args.out {
        let path = dir.join("report.html");
        let failed: Vec<String> = failures.iter().map(|e| e.to_string()).collect();
        charts::write(&path, html::document(&sections, &failed).as_bytes())?;
        load::note(&format!("wrote {}", path.display()));
    }
    let total = args.files.len();
    match (failures.pop(), failures.len()) {
        (None, _) => Ok(()),
        (Some(e), _) if total == 1 => Err(e),
        (Some(_), rest) => Err(CliError::SomeFailed {
            failed: rest + 1,
            total,
        }),
    }
}

/// Analyses one file, prints its report, and with `--out` writes its charts; returns its
/// report.html section when there is one.
fn one_file(
    path: &Path,
    args: &AnalyzeArgs,
    stdout: &mut impl Write,
    stems: &mut Stems,
) -> Result<Option<String>, CliError> {
    let a = analyze_file(path, args)?;
    emit(stdout, &a, args.json)?;
    let Some(dir) = &args.out else {
        return Ok(None);
    };
    let stem = stems.next(path);
    let (charts, paths) = charts::analyze_charts(dir, &stem, &a.imported, &a.report)?;
    for p in &paths {
        load::note(&format!("wrote {}", p.display()));
    }
    let title = charts::run_name(&a.imported, &stem);
    let block = interactive::block(&stem, &title, &a.imported.history, &a.report.diagnoses);
    Ok(Some(html::section(&a.imported, &a.report, &charts, &block)))
}

fn analyze_file(path: &Path, args: &AnalyzeArgs) -> Result<Analysis, CliError> {
    let imported = load::import(path, args.input.format, args.restarts.restarts())?;
    let options = report::AnalyzeOptions::default()
        .with_sample_size_axis(imported.format == ImportFormat::LcdbResults);
    let report =
        report::analyze_with(&imported.history, &options).map_err(|source| CliError::Replay {
            file: imported.source_name(),
            source,
        })?;
    Ok(Analysis { imported, report })
}

/// Prints the report as text, or as one JSON line.
fn emit(out: &mut impl Write, a: &Analysis, json: bool) -> Result<(), CliError> {
    let imported = &a.imported;
    if json {
        let value = AnalyzeJson::new(
            imported.source_name(),
            imported.format.name(),
            &a.report,
            prediction_json(imported, &a.report),
        );
        serde_json::to_writer(&mut *out, &value).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "== {} ({}, {} records) ==",
            imported.source_name(),
            imported.format,
            imported.records
        )?;
        if imported.has_restarts() {
            writeln!(
                out,
                "restarts: {} (listed on stderr)",
                imported.restarts.len()
            )?;
        }
        if !imported.summary.is_empty() {
            let values: Vec<String> = imported
                .summary
                .iter()
                .map(|v| format!("{} = {}", v.name, v.value))
                .collect();
            writeln!(out, "end-of-training summary: {}", values.join(", "))?;
        }
        write!(out, "{}", a.report)?;
        writeln!(out)?;
    }
    out.flush()?;
    Ok(())
}

/// The report's prediction in the `predict --json` shape: the predicted steps run from the series'
/// last step to the report's horizon.
fn prediction_json(imported: &Imported, report: &RunReport) -> Option<PredictionJson> {
    let p = report.prediction.as_ref()?;
    let series = metric::find(&imported.history, &p.metric)?;
    let last = series.steps().iter().copied().max().unwrap_or(0);
    let horizon = (p.prediction.horizon.x - 1.0).round().max(0.0) as u64;
    Some(PredictionJson::new(
        p.metric.clone(),
        &p.prediction,
        last,
        horizon.max(last),
    ))
}
