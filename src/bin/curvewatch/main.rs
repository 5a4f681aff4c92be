//! `curvewatch`: the same analysis as the live callbacks, run on training logs that other tools wrote.
//!
//! ```text
//! curvewatch analyze FILE... [--format F] [--json] [--out DIR]
//! curvewatch replay FILE --monitor METRIC [--mode min|max] [--patience N] [--min-delta X]
//!     [--relative-min-delta X] [--baseline X] [--start-from-epoch N] [--stopping-threshold X]
//!     [--divergence-threshold X] [--check-finite | --no-check-finite] [--semantics keras|lightning] [--json]
//! curvewatch compare FILE... [--metric M] [--json] [--out DIR]
//! curvewatch predict FILE --metric M --horizon N [--json]
//! curvewatch cluster FILE... [--k K] [--metric M] [--json]
//! curvewatch quality [--data DIR] [--seeds N] [--family NAME]... [--json] [--verbose]
//! ```
//!
//! Exit codes: 0 success, 1 a file could not be read or analysed (the message names the file and,
//! for a malformed one, the line and column or key), 2 a usage error. Import warnings and restarts
//! go to stderr, the results to stdout.
//!
//! JSON output (one object per line; a NaN or infinite number is `null`):
//! - `analyze --json`, per file: `{"source", "format", "series": [{"split", "metric", "points",
//!   "first_step", "last_step"}], "best": {"metric", "step", "epoch", "value"} | null,
//!   "lr_verdict", "diagnoses": [{"kind", "severity", "step", "epoch", "metric", "message",
//!   "recommendation"}], "early_stopping": {...as replay...}, "prediction": {...as predict...} | null}`;
//! - `replay --json`: `{"stopped", "stop_index", "stop_step", "best_index", "best_value", "reason"}`;
//! - `predict --json`: `{"metric", "family", "params": {name: value}, "holdout_error", "horizon",
//!   "predicted": [{"step", "value", "lower", "upper"}]}`;
//! - `cluster --json`: `{"k", "clusters": [{"id", "members", "count", "mean_final",
//!   "mean_improvement"}]}`;
//! - `compare --json`: `{"metric", "runs", "level", "table": [{"step", "n", "mean", "lower",
//!   "upper"}]}`;
//! - `quality --json`: `{"seeds": {"start", "end"}, "families": [...], "real_logs": [...],
//!   "targets_met", "targets_missed"}`.

mod analyze;
mod args;
mod base64;
mod charts;
mod cluster;
mod compare;
mod error;
mod html;
mod interactive;
mod json;
mod load;
mod metric;
mod predict;
mod quality;
mod replay;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use args::{Cli, Command};
use error::CliError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `quality --verbose` lists the runs that missed, without logging every run's diagnoses.
    let quality = matches!(cli.command, Command::Quality(_));
    init_tracing(if quality { 0 } else { cli.verbose });
    let result = std::panic::catch_unwind(|| run(&cli.command, cli.verbose));
    match result {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            load::note(&format!("curvewatch: {e}"));
            ExitCode::from(1)
        }
        Err(_) => {
            load::note("curvewatch: internal error (a bug in curvewatch; please report it)");
            ExitCode::from(1)
        }
    }
}

fn run(command: &Command, verbose: u8) -> Result<(), CliError> {
    match command {
        Command::Analyze(a) => analyze::run(a),
        Command::Replay(a) => replay::run(a),
        Command::Compare(a) => compare::run(a),
        Command::Predict(a) => predict::run(a),
        Command::Cluster(a) => cluster::run(a),
        Command::Quality(a) => quality::run(a, verbose > 0),
    }
}

/// Logs to stderr: warnings by default; `-v` adds INFO, including every diagnosis as the replay
/// finds it (target `curvewatch::diagnosis`, which the default leaves out since the report lists the
/// diagnoses already); `-vv` adds DEBUG.
fn init_tracing(verbose: u8) {
    let (level, diagnoses) = match verbose {
        0 => (LevelFilter::WARN, LevelFilter::OFF),
        1 => (LevelFilter::INFO, LevelFilter::INFO),
        _ => (LevelFilter::DEBUG, LevelFilter::DEBUG),
    };
    let filter = Targets::new()
        .with_default(level)
        .with_target("curvewatch::diagnosis", diagnoses);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(true);
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init();
}
