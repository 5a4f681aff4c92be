//! [`CliError`]: everything a command can fail with after its arguments parsed (exit code 1).

use std::io;
use std::path::{Path, PathBuf};

use curvewatch::analysis::clustering::ClusterError;
use curvewatch::analysis::multi_run::MultiRunError;
use curvewatch::analysis::prediction::PredictError;
use curvewatch::import::ImportError;
use curvewatch::render::charts::RenderError;
use curvewatch::BusError;

/// Why a command failed. Every message names the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A log could not be imported (the message names the file, the place and what was expected).
    /// Boxed: the importer's error is large, and this enum travels through every `?`.
    #[error(transparent)]
    Import(Box<ImportError>),
    /// The metric asked for is not in the file.
    #[error("{file}: no metric `{metric}` (read as {wanted}); the file has: {available}")]
    UnknownMetric {
        /// The file.
        file: String,
        /// The name given.
        metric: String,
        /// The series it was mapped to.
        wanted: String,
        /// The series the file has.
        available: String,
    },
    /// Replaying the history through the bus failed.
    #[error("{file}: replay failed: {source}")]
    Replay {
        /// The file.
        file: String,
        /// The bus's error.
        source: BusError,
    },
    /// No prediction could be made.
    #[error("{file}: cannot predict {metric}: {source}")]
    Predict {
        /// The file.
        file: String,
        /// The series.
        metric: String,
        /// Why.
        source: PredictError,
    },
    /// The horizon is not past the data.
    #[error("{file}: --horizon {horizon} is not past the last step of {metric} ({last})")]
    Horizon {
        /// The file.
        file: String,
        /// The series.
        metric: String,
        /// The horizon given.
        horizon: u64,
        /// The last step logged.
        last: u64,
    },
    /// Runs could not be aligned.
    #[error("cannot compare {metric}: {source}")]
    Compare {
        /// The series compared.
        metric: String,
        /// Why.
        source: MultiRunError,
    },
    /// Curves could not be clustered.
    #[error("cannot cluster {metric}: {source}")]
    Cluster {
        /// The series clustered.
        metric: String,
        /// Why.
        source: ClusterError,
    },
    /// Too few curves for the command.
    #[error("{command} needs at least 2 curves: give several files, or one file holding several runs (found {found})")]
    TooFewCurves {
        /// The command.
        command: &'static str,
        /// How many curves were found.
        found: usize,
    },
    /// A chart could not be drawn.
    #[error("{file}: cannot draw {what}: {source}")]
    Render {
        /// The input the chart is about.
        file: String,
        /// Which chart.
        what: &'static str,
        /// Why.
        source: RenderError,
    },
    /// An output file or directory could not be written.
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        /// The path.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// Standard output could not be written.
    #[error("cannot write to standard output: {0}")]
    Stdout(#[source] io::Error),
    /// Some files of a multi-file command failed (each was reported already).
    #[error("{failed} of {total} files could not be analysed")]
    SomeFailed {
        /// How many failed.
        failed: usize,
        /// How many were given.
        total: usize,
    },
}

impl CliError {
    /// A write error for `path`.
    pub fn write(path: &Path, source: io::Error) -> Self {
        CliError::Write {
            path: path.to_owned(),
            source,
        }
    }

    /// Whether this is standard output closed by the reader (`curvewatch ... | head`): not an error
    /// worth a message.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CliError::Stdout(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

impl From<ImportError> for CliError {
    fn from(e: ImportError) -> Self {
        CliError::Import(Box::new(e))
    }
}

impl From<io::Error> for CliError {
    /// Standard output errors (the only I/O a command does without a path at hand).
    fn from(e: io::Error) -> Self {
        CliError::Stdout(e)
    }
}
