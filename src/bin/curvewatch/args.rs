//! The command line, declared with clap's derive API: one struct per subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use curvewatch::import::{ImportFormat, Restarts};

/// Learning-curve analysis of training logs (Hugging Face trainer_state.json, Lightning and Keras
/// CSV, JSON lines, text logs): diagnoses, early-stopping replay, comparison, prediction, clustering.
#[derive(Debug, Parser)]
#[command(name = "curvewatch", version, propagate_version = true)]
pub struct Cli {
    /// More log output on stderr: -v logs every diagnosis as it is found (INFO), -vv adds DEBUG.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The whole-run report of each log: verdicts, diagnoses, best point, early-stopping replay,
    /// prediction; with --out, charts and a self-contained report.html.
    Analyze(AnalyzeArgs),
    /// When would early stopping have stopped this run, and why.
    Replay(ReplayArgs),
    /// Several runs of one metric aligned on a common step grid: mean and confidence band.
    Compare(CompareArgs),
    /// Extrapolates a metric's curve with the best-fitting family and an uncertainty band.
    Predict(PredictArgs),
    /// Groups curves by shape (k-means++ on curve features).
    Cluster(ClusterArgs),
    /// How well the diagnoses match runs whose trouble is known (generated runs, the real logs);
    /// with --verbose, every run that missed its expectation.
    Quality(crate::quality::QualityArgs),
}

/// How each input file is read.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Read the files in this format instead of detecting it: hf-trainer-state, lightning-csv,
    /// keras-csv, jsonl, text, csv, lcdb.
    #[arg(long, value_name = "F")]
    pub format: Option<ImportFormat>,
}

/// What the history holds when a run restarted (a step repeats or goes back).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum RestartPolicy {
    /// Every point in file order, repeated steps included.
    #[default]
    KeepAll,
    /// The newest run wins: points the restarted run overwrote are dropped.
    KeepLast,
}

impl RestartPolicy {
    /// The importer's policy.
    pub fn restarts(self) -> Restarts {
        match self {
            RestartPolicy::KeepAll => Restarts::KeepAll,
            RestartPolicy::KeepLast => Restarts::KeepLast,
        }
    }
}

/// `curvewatch analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Training logs to analyse.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
    /// What to keep of restarted runs.
    #[arg(long, value_enum, default_value_t = RestartPolicy::KeepAll)]
    pub restarts: RestartPolicy,
    /// Print one JSON object per file (one per line) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Write charts (PNG and SVG) and report.html into this directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Which way the monitored metric improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Lower is better.
    Min,
    /// Higher is better.
    Max,
}

/// Whose early-stopping defaults and rules to follow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Semantics {
    /// Keras: patience 0, no check_finite, no stop during epoch 0, mode inferred from the name.
    Keras,
    /// PyTorch Lightning: patience 3, check_finite on, mode min.
    #[default]
    Lightning,
}

/// `curvewatch replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The training log.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    /// What to keep of restarted runs.
    #[arg(long, value_enum, default_value_t = RestartPolicy::KeepAll)]
    pub restarts: RestartPolicy,
    /// The metric to watch: val_loss, valid/loss, eval_loss, loss, train/accuracy... A `val_`,
    /// `valid_`, `validation_` or `eval_` prefix (or `/`) means the validation split, `train_` or
    /// none the training split, `test_` the validation split's `test/` series.
    #[arg(long, value_name = "METRIC")]
    pub monitor: String,
    /// Which way the metric improves (default: Keras infers it from the name, Lightning uses min).
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    /// Checks without improvement before stopping (default: Keras 0, Lightning 3).
    #[arg(long, value_name = "N")]
    pub patience: Option<u32>,
    /// Smallest absolute change that counts as an improvement.
    #[arg(long, value_name = "X", value_parser = finite)]
    pub min_delta: Option<f64>,
    /// Smallest change relative to the best value that counts as an improvement (0.01 = 1%).
    #[arg(long, value_name = "X", value_parser = finite)]
    pub relative_min_delta: Option<f64>,
    /// Keras's baseline: the wait resets only on values that also beat it.
    #[arg(long, value_name = "X", value_parser = finite)]
    pub baseline: Option<f64>,
    /// Ignore the values of epochs before this one.
    #[arg(long, value_name = "N")]
    pub start_from_epoch: Option<u32>,
    /// Stop once the value beats this target.
    #[arg(long, value_name = "X", value_parser = finite)]
    pub stopping_threshold: Option<f64>,
    /// Stop once the value is worse than this.
    #[arg(long, value_name = "X", value_parser = finite)]
    pub divergence_threshold: Option<f64>,
    /// Stop at a NaN or infinite value (Lightning's default).
    #[arg(long, conflicts_with = "no_check_finite")]
    pub check_finite: bool,
    /// Treat a NaN or infinite value as no improvement (Keras's default).
    #[arg(long)]
    pub no_check_finite: bool,
    /// Whose defaults and rules to follow.
    #[arg(long, value_enum, default_value_t = Semantics::Lightning)]
    pub semantics: Semantics,
    /// Print {"stopped", "stop_index", "stop_step", "best_index", "best_value", "reason"}.
    #[arg(long)]
    pub json: bool,
}

/// `curvewatch compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Runs to compare, one curve per file; a single file holding several runs (appended CSV runs,
    /// restarts, LCDB rows) compares its runs.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
    /// The metric (default: valid/loss when every run has it, else train/loss).
    #[arg(long, value_name = "M")]
    pub metric: Option<String>,
    /// Print the table as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write the chart (compare.png and compare.svg) into this directory.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `curvewatch predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The training log.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    /// What to keep of restarted runs.
    #[arg(long, value_enum, default_value_t = RestartPolicy::KeepLast)]
    pub restarts: RestartPolicy,
    /// The metric to extrapolate (val_loss, valid/loss, loss...; see `replay --monitor`).
    #[arg(long, value_name = "M")]
    pub metric: String,
    /// The step to predict up to (a step number as in the log, past its last step).
    #[arg(long, value_name = "N")]
    pub horizon: u64,
    /// Print {"metric", "family", "params", "holdout_error", "horizon", "predicted"}.
    #[arg(long)]
    pub json: bool,
}

/// `curvewatch cluster`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    /// Curves to cluster, one per file; a single file holding several runs clusters its runs.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
    /// The metric (default: valid/loss when every curve has it, else train/loss).
    #[arg(long, value_name = "M")]
    pub metric: Option<String>,
    /// Number of clusters (default: chosen by silhouette).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    pub k: Option<u32>,
    /// Print {"k", "clusters": [{"id", "members", "count", "mean_final", "mean_improvement"}]}.
    #[arg(long)]
    pub json: bool,
}

/// A finite number (NaN and infinities are refused with a usage error).
fn finite(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        Ok(_) => Err(format!("`{text}` is not a finite number")),
        Err(e) => Err(format!("`{text}` is not a number: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn finite_numbers_only() {
        let cases = [
            ("0.5", Some(0.5), "a plain number"),
            (" 1e-3 ", Some(1e-3), "spaces and exponent"),
            ("nan", None, "NaN is not a threshold"),
            ("-inf", None, "nor is infinity"),
            ("abc", None, "not a number"),
        ];
        for (text, want, why) in cases {
            assert_eq!(finite(text).ok(), want, "{why}");
        }
    }
}
