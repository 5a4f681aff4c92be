//! Reading the input files: one history per file (import notes on stderr), or one curve per run for
//! the commands that take several runs.

use std::io::Write;
use std::path::{Path, PathBuf};

use curvewatch::analysis::multi_run::Curve;
use curvewatch::import::{import_file, ImportFormat, ImportOptions, Imported, Restarts};
use curvewatch::{History, Series, Split};

use crate::error::CliError;
use crate::metric;

/// At most this many warnings and restarts of one file are listed on stderr.
const MAX_NOTES: usize = 10;

/// Writes one line to stderr; a closed stderr is ignored (there is nowhere left to complain).
pub fn note(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Imports `path` and lists its warnings and restarts on stderr.
pub fn import(
    path: &Path,
    format: Option<ImportFormat>,
    restarts: Restarts,
) -> Result<Imported, CliError> {
    let opts = ImportOptions::default().with_restarts(restarts);
    let imported = import_file(path, format, &opts)?;
    report_notes(&imported);
    Ok(imported)
}

/// Lists an import's warnings (the restart summary among them) and each restart, on stderr.
fn report_notes(imported: &Imported) {
    let name = imported.source_name();
    for w in imported.warnings.iter().take(MAX_NOTES) {
        note(&format!("{name}: warning: {w}"));
    }
    if imported.warnings.len() > MAX_NOTES {
        let more = imported.warnings.len() - MAX_NOTES;
        note(&format!("{name}: ... and {more} more warnings"));
    }
    for r in imported.restarts.iter().take(MAX_NOTES) {
        note(&format!("{name}: restart: {r}"));
    }
    if imported.restarts.len() > MAX_NOTES {
        let more = imported.restarts.len() - MAX_NOTES;
        note(&format!("{name}: ... and {more} more restarts"));
    }
}

/// One run to compare or cluster: its name and history.
pub struct Run {
    /// `path`, or `path#label` for a run inside a file.
    pub name: String,
    /// Its points.
    pub history: History,
}

/// The runs behind `files`: each file is one run (its newest run where it restarted), except that a
/// single file holding several runs (appended CSV runs, restarts, LCDB rows) gives each of them,
/// named `file#label` (`file#2` for the second run where the format names none).
pub fn runs(files: &[PathBuf], format: Option<ImportFormat>) -> Result<Vec<Run>, CliError> {
    if let [path] = files {
        let imported = import(path, format, Restarts::Segments)?;
        let name = imported.source_name();
        if imported.segments.len() >= 2 {
            return Ok(imported
                .segments
                .into_iter()
                .enumerate()
                .map(|(i, s)| Run {
                    name: format!("{name}#{}", s.label.unwrap_or_else(|| (i + 1).to_string())),
                    history: s.history,
                })
                .collect());
        }
        return Ok(vec![Run {
            name,
            history: imported.history,
        }]);
    }
    files
        .iter()
        .map(|path| {
            let imported = import(path, format, Restarts::KeepLast)?;
            Ok(Run {
                name: imported.source_name(),
                history: imported.history,
            })
        })
        .collect()
}

/// One curve per run for `metric` (default: `valid/loss` when every run has it, else `train/loss`),
/// and the label of the series used. A run inside a file that lacks the metric is left out with a
/// note; a whole file that lacks it is an error naming the file.
pub fn curves(runs: &[Run], metric: Option<&str>) -> Result<(String, Vec<Curve>), CliError> {
    let wanted = match metric {
        Some(m) => m.to_owned(),
        None => default_metric(runs),
    };
    let mut out = Vec::with_capacity(runs.len());
    let mut missing = Vec::new();
    let mut label = None;
    for run in runs {
        match metric::find(&run.history, &wanted).filter(|s| !s.is_empty()) {
            Some(s) => {
                label.get_or_insert_with(|| s.label());
                out.push(Curve::from_series(run.name.clone(), s));
            }
            None if run.name.contains('#') => missing.push(run.name.as_str()),
            None => return Err(unknown(&run.name, &run.history, &wanted)),
        }
    }
    if !missing.is_empty() {
        note(&format!(
            "{} run(s) without {wanted} left out: {}",
            missing.len(),
            missing.join(", ")
        ));
    }
    let label = label.unwrap_or_else(|| described(&wanted));
    Ok((label, out))
}

/// `valid/loss` when every run has it, else `train/loss`.
fn default_metric(runs: &[Run]) -> String {
    let has = |r: &Run| {
        r.history
            .get(Split::Valid, "loss")
            .is_some_and(|s| !s.is_empty())
    };
    if !runs.is_empty() && runs.iter().all(has) {
        "valid/loss".to_owned()
    } else {
        "train/loss".to_owned()
    }
}

/// The series `text` names in `history`, or an error that lists what the file has.
pub fn series<'h>(file: &str, history: &'h History, text: &str) -> Result<&'h Series, CliError> {
    metric::find(history, text)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| unknown(file, history, text))
}

fn unknown(file: &str, history: &History, text: &str) -> CliError {
    CliError::UnknownMetric {
        file: file.to_owned(),
        metric: text.to_owned(),
        wanted: described(text),
        available: metric::available(history),
    }
}

/// `split/name` for a user's metric name.
fn described(text: &str) -> String {
    let (split, name) = metric::parse(text);
    format!("{split}/{name}")
}
