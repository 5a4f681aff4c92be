//! Readers of training logs that other tools wrote, into a [`History`].
//!
//! [`import_file`] reads a file in any supported [`ImportFormat`], detected from its content
//! ([`detect`]) or forced, and returns an [`Imported`]: the history, what was detected, and everything
//! odd that was found on the way (restarted runs, percentages, skipped columns, summary rows).
//!
//! ```
//! use curvewatch::import::{import_bytes, ImportFormat, ImportOptions, Restarts};
//! use curvewatch::Split;
//!
//! let log = b"epoch,loss,val_loss,accuracy\n0,0.9,1.0,81.5%\n1,0.6,0.8,90%\n";
//! let imported = import_bytes(log, "history.csv", None, &ImportOptions::default()).unwrap();
//! assert_eq!(imported.format, ImportFormat::KerasCsv);
//! let val = imported.history.get(Split::Valid, "loss").unwrap();
//! assert_eq!(val.values(), &[1.0, 0.8]);
//! let acc = imported.history.get(Split::Train, "accuracy").unwrap();
//! assert_eq!(acc.values(), &[0.815, 0.9]); // percentages become fractions, with a warning
//! assert_eq!(imported.warnings.len(), 1);
//!
//! // A run that was resumed from an earlier step: flagged, and handled as asked.
//! let log = b"{\"step\": 1, \"loss\": 3.0}\n{\"step\": 2, \"loss\": 2.0}\n{\"step\": 2, \"loss\": 1.9}\n";
//! let opts = ImportOptions::default().with_restarts(Restarts::KeepLast);
//! let imported = import_bytes(log, "metrics.jsonl", None, &opts).unwrap();
//! assert_eq!(imported.restarts.len(), 1);
//! assert_eq!(imported.history.get(Split::Train, "loss").unwrap().values(), &[3.0, 1.9]);
//! ```
//!
//! # Names and splits
//! A metric name with a split marker, as a prefix (`train_`, `train/`, `val_`, `val/`, `valid_`,
//! `validation_`, `eval_`, `eval/`, `test_`, `predict_`) or else a suffix (`_train`, `_val`,
//! `_valid`, `_test`), goes to that split under the rest of its name (`val_loss` → valid `loss`); a
//! name without one is a training metric. Test and predict metrics go to the valid split under a
//! `test/` prefix (`test_loss` → valid `test/loss`): curvewatch has two splits, and this keeps them
//! apart from the validation curves. The learning rate is always `lr` (`learning_rate`, Lightning's
//! `lr-Adam`), as the bus records it. When two columns of one record would land on the same series,
//! the later keeps its raw name.
//!
//! Throughput and wall-clock figures (`*_runtime`, `*_per_second`, `total_flos`, `*_time`, `time`,
//! `dt`) are not learning curves: they are skipped and listed in [`Imported::skipped`], unless
//! [`ImportOptions::with_timing`] asks for them.
//!
//! # Formats
//! - [`ImportFormat::HfTrainerState`], Hugging Face `trainer_state.json`: each `log_history` row.
//!   Train rows (`loss`, `learning_rate` → `lr`, `grad_norm`, any other number such as TRL's
//!   `rewards/margins` or `train/acc_0` → `acc_0`) go to the train split; `eval_*` keys to the
//!   valid split without the prefix. With several eval sets (`eval_<set>_loss`, detected per row
//!   when a row has no `eval_loss` / `eval_runtime` but an `eval_<set>_loss` / `eval_<set>_runtime`)
//!   the names are `<set>/<metric>` (`eval_g0_accuracy` → valid `g0/accuracy`). `predict_*` rows →
//!   valid `test/*`. The end-of-training row (`train_runtime`, `total_flos`, `train_loss`...) is
//!   not a per-step metric: its numbers go to [`Imported::summary`]. A row without `step` takes the
//!   previous row's (HF writes `predict_*` rows without one). Python's bare `NaN` / `Infinity`
//!   are read as non-finite values. A top-level array of rows (a saved `log_history`) is accepted.
//! - [`ImportFormat::LightningCsv`], PyTorch Lightning `CSVLogger` `metrics.csv`: sparse rows,
//!   `step` and `epoch` columns; empty cells are skipped. `train_loss_step` becomes `loss` when no
//!   `train_loss` column exists (the per-step curve is the training curve), `train_loss_epoch`
//!   stays `loss_epoch`.
//! - [`ImportFormat::KerasCsv`], Keras `CSVLogger` / `history.csv`: one row per epoch; the step and
//!   the epoch are the `epoch` column as written (0-based), or the row number from 0 without one.
//! - [`ImportFormat::PlainCsv`]: a step column (`step`, `global_step`, `iter`, `iteration`, `it`,
//!   `batch`...), else a whole-number epoch column, else pandas' unnamed index column, else the row
//!   number from 0; comma, tab or semicolon separated.
//! - [`ImportFormat::JsonLines`]: one object per line, a step key (`step`, `global_step`,
//!   `current_steps`, `iter`...), an optional `epoch`; nulls are skipped, and LLaMA-Factory's
//!   bookkeeping (`total_steps`, `percentage`, time strings) is ignored.
//! - [`ImportFormat::PlainText`]: a tolerant line parser. A line yields `name value` pairs: the
//!   word(s) before a number, joined by spaces, `:` or `=` (`loss 2.31`, `loss: 2.31`, `trl:4.2`);
//!   `|`, `,`, `;`, brackets and a lone ` - ` separate pairs; units are ignored (`31ms`, `3/10`)
//!   and `%` divides by 100; `train loss` / `val loss` keep their split. The step comes from a step
//!   pair (`step`, `iter`, `iteration`, `it`, `global_step`, `batch`, llm.c's `s`), else from the
//!   current `Epoch 3/10` (Keras console: only the last line of each epoch counts), else from a
//!   whole number that starts the line (`0 train 10.95`). Lines with none of these are noise, unless
//!   no line has a step: then they are numbered from 0, with a warning. A line of names (`step
//!   loss`) is a header for the lines of numbers that follow. llm.c's shorthand: `trl` train loss,
//!   `tel` valid loss, `norm` grad norm, `eval` valid `eval` (HellaSwag accuracy there).
//! - [`ImportFormat::LcdbResults`]: an LCDB 2.0 `results.csv` (Mohr et al., NeurIPS 2023), a
//!   learning-curve dataset: each row is one configuration's curve over training-set sizes. Each
//!   row is read as its own run (step = training-set size, no epochs; `m:score_values` holds, per
//!   anchor, the train, validation and test scores, which go to train, valid and valid `test/`,
//!   one series per `m:score_types` entry; LCDB's `loss` is the error rate, 1 − accuracy). Use
//!   [`Restarts::Segments`] to get one history per row, labelled `job_id=<id>`; the
//!   hyperparameter columns (`p:*`) and timings are listed in [`Imported::skipped`].
//!
//! Every CSV format shares the value rules: `nan` / `NaN` / `inf` as text, values in quotes,
//! `93.5%` → 0.935 (with a warning), empty cells and `null` / `NA` as missing, a BOM, CRLF. A row
//! identical to the header starts a new run. A text cell in a numeric column is skipped with a
//! warning; a column whose first value is text is skipped and listed in [`Imported::skipped`].
//!
//! # Restarts
//! A series whose step repeats or goes back marks a restart (a resumed or re-run training).
//! Restarts are always listed in [`Imported::restarts`]; [`Restarts`] says what the history holds.

// `ImportError::Malformed` carries the file, the place and the expectation (about 130 bytes). Errors
// are the cold path, once per import; boxing them would only make callers' matching clumsier.
#![allow(clippy::result_large_err)]

mod builder;
mod csv;
mod detect;
mod error;
mod format;
mod hf_trainer;
mod json_row;
mod jsonl;
mod lcdb;
mod lines;
mod names;
mod source;
mod table;
mod text;
mod value;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::History;

pub use detect::{detect, detect_file};
pub use error::{ImportError, Location};
pub use format::{ImportFormat, UnknownFormat};
pub use names::metric_name;
pub use source::{import_bytes, import_file};

/// What the history holds when a run restarted (a series' step repeats or goes back).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Restarts {
    /// Every point in file order, repeated and out-of-order steps included.
    #[default]
    KeepAll,
    /// The newest run wins: when a series goes back to step `s`, the points it recorded earlier at
    /// steps ≥ `s` are dropped, so each series ends up with strictly increasing steps and a
    /// repeated step keeps its last write. (This differs from "last write per step" only where the
    /// old run went further than the new one: its points past the new run's end are dropped too,
    /// since they belong to a branch that was abandoned.)
    KeepLast,
    /// Every point in [`Imported::history`], and also one [`Segment`] per run in
    /// [`Imported::segments`]: a new segment starts at each restart.
    Segments,
}

/// How to import.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportOptions {
    /// What to do with restarted runs.
    pub restarts: Restarts,
    /// Keep throughput and wall-clock series (`eval_runtime`, `*_per_second`, `epoch_time`...).
    pub keep_timing: bool,
}

impl ImportOptions {
    /// Sets the restart policy.
    pub fn with_restarts(mut self, restarts: Restarts) -> Self {
        self.restarts = restarts;
        self
    }

    /// Keeps (`true`) or skips (`false`, the default) timing series.
    pub fn with_timing(mut self, keep: bool) -> Self {
        self.keep_timing = keep;
        self
    }
}

/// Why a restart was flagged.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RestartKind {
    /// A series' step repeated (`step == previous_step`) or went back.
    Rewind {
        /// The series, as `split/name`.
        series: String,
        /// The step written here.
        step: u64,
        /// The step the series was at before.
        previous_step: u64,
    },
    /// A CSV header line appeared again (runs appended to one file).
    RepeatedHeader,
    /// A new run by the format's own rules (each row of an LCDB file).
    NewRun,
}

/// One restart found in a file.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Restart {
    /// Where the new run starts.
    pub at: Location,
    /// What was seen there.
    pub kind: RestartKind,
}

impl fmt::Display for Restart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            RestartKind::Rewind {
                series,
                step,
                previous_step,
            } if step == previous_step => write!(f, "{}: {series} repeats step {step}", self.at),
            RestartKind::Rewind {
                series,
                step,
                previous_step,
            } => write!(
                f,
                "{}: {series} goes back to step {step} after step {previous_step}",
                self.at
            ),
            RestartKind::RepeatedHeader => write!(f, "{}: the header repeats", self.at),
            RestartKind::NewRun => write!(f, "{}: a new run starts", self.at),
        }
    }
}

/// One run of a file that holds several (see [`Restarts::Segments`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Segment {
    /// The run's points.
    pub history: History,
    /// Where the run starts in the file.
    pub start: Location,
    /// A name for the run where the format gives one (`job_id=3` in LCDB).
    pub label: Option<String>,
}

/// A number from an end-of-training summary row (HF's `train_runtime`, `train_loss`, `total_flos`):
/// one value for the whole run, not a point on a curve.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SummaryValue {
    /// The key as written.
    pub name: String,
    /// The row's step, if it had one.
    pub step: Option<u64>,
    /// The value.
    pub value: f64,
}

/// Something worth knowing about an import that did not stop it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ImportWarning {
    /// Where it was first seen, if at a particular place.
    pub at: Option<Location>,
    /// What was seen and what was done about it.
    pub message: String,
}

impl fmt::Display for ImportWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.at {
            Some(at) => write!(f, "{at}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// The result of an import.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Imported {
    /// The file read (or the name given to [`import_bytes`]).
    pub source: PathBuf,
    /// The format it was read as.
    pub format: ImportFormat,
    /// Whether the format was detected (`false`: it was forced).
    pub detected: bool,
    /// The metrics, under the [`Restarts`] policy asked for.
    pub history: History,
    /// One history per run with [`Restarts::Segments`] (at least one); empty otherwise.
    pub segments: Vec<Segment>,
    /// Every restart found, whatever the policy.
    pub restarts: Vec<Restart>,
    /// Odd things found and how they were handled (percentages, text in numeric columns,
    /// rows without a step, restarts...).
    pub warnings: Vec<ImportWarning>,
    /// End-of-training summary values (HF's last row), not part of any series.
    pub summary: Vec<SummaryValue>,
    /// Names of columns or keys that were not imported (text, timing, bookkeeping), sorted.
    pub skipped: Vec<String>,
    /// Whether the file gave epoch numbers; where it did not, every point's epoch is 0.
    pub epochs_known: bool,
    /// Number of records read (data rows, JSON lines, log rows, metric lines).
    pub records: usize,
}

impl Imported {
    /// Whether any restart was found.
    pub fn has_restarts(&self) -> bool {
        !self.restarts.is_empty()
    }

    /// The source path as text.
    pub fn source_name(&self) -> String {
        self.source.display().to_string()
    }
}

/// What each format expects, for "no metric found" errors.
pub(crate) fn expected_content(format: ImportFormat) -> &'static str {
    match format {
        ImportFormat::HfTrainerState => {
            "a `log_history` array whose rows hold numeric metrics (loss, eval_loss...)"
        }
        ImportFormat::LightningCsv | ImportFormat::PlainCsv | ImportFormat::KerasCsv => {
            "a header row and data rows with at least one numeric metric column"
        }
        ImportFormat::JsonLines => "JSON objects with a step key and numeric metrics",
        ImportFormat::PlainText => {
            "lines like `step 100 | loss 2.31`, `iter 100: loss 4.2`, `s:100 trl:4.2`, \
             `Epoch 3/10 ... loss: 0.2`, or a header line and columns of numbers"
        }
        ImportFormat::LcdbResults => {
            "rows with m:fidelity_values, m:score_types and m:score_values"
        }
    }
}

/// `path` as text, for messages.
pub(crate) fn display_path(path: &Path) -> String {
    path.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn results_and_errors_cross_threads() {
        send_sync::<Imported>();
        send_sync::<ImportError>();
        send_sync::<ImportOptions>();
    }

    #[test]
    fn restarts_and_warnings_read_well() {
        let cases = [
            (
                RestartKind::Rewind {
                    series: "train/loss".into(),
                    step: 20,
                    previous_step: 40,
                },
                "line 4: train/loss goes back to step 20 after step 40",
            ),
            (
                RestartKind::Rewind {
                    series: "train/loss".into(),
                    step: 20,
                    previous_step: 20,
                },
                "line 4: train/loss repeats step 20",
            ),
            (RestartKind::RepeatedHeader, "line 4: the header repeats"),
        ];
        for (kind, want) in cases {
            let r = Restart {
                at: Location::line(4),
                kind,
            };
            assert_eq!(r.to_string(), want);
        }
        let w = ImportWarning {
            at: None,
            message: "m".into(),
        };
        assert_eq!(w.to_string(), "m");
    }
}
