//! `curvewatch compare FILE... [--metric M] [--json] [--out DIR]`: several runs of one metric aligned
//! on a common step grid, with the mean and a 95% Student-t confidence band.

use std::io::Write;
use std::path::Path;

use curvewatch::analysis::multi_run::{aggregate, Curve, MultiRun, MultiRunOptions};
use curvewatch::render::charts::{multi_run_chart, ChartOptions, ImageFormat};
use serde::Serialize;

use crate::args::CompareArgs;
use crate::charts;
use crate::error::CliError;
use crate::json::finite;
use crate::load;

/// The table shows about this many grid steps, evenly spread (the first and last included).
pub const TABLE_ROWS: usize = 20;
/// The text output names at most this many runs (the JSON names them all).
const LISTED_RUNS: usize = 10;

/// `compare --json`.
#[derive(Debug, Serialize)]
struct CompareJson {
    metric: String,
    runs: Vec<String>,
    level: f64,
    table: Vec<Row>,
}

/// One row of the table.
#[derive(Debug, Serialize)]
struct Row {
    step: Option<f64>,
    n: usize,
    mean: Option<f64>,
    lower: Option<f64>,
    upper: Option<f64>,
}

/// Runs `compare`.
pub fn run(args: &CompareArgs) -> Result<(), CliError> {
    let runs = load::runs(&args.files, args.input.format)?;
    let (metric, curves) = load::curves(&runs, args.metric.as_deref())?;
    drop(runs);
    let stats =
        aggregate(&curves, &MultiRunOptions::new()).map_err(|source| CliError::Compare {
            metric: metric.clone(),
            source,
        })?;
    let table: Vec<Row> = rows(stats.len())
        .into_iter()
        .map(|i| row(&stats, i))
        .collect();
    let mut out = std::io::stdout().lock();
    if args.json {
        let value = CompareJson {
            metric: metric.clone(),
            runs: stats.runs.clone(),
            level: stats.level,
            table,
        };
        serde_json::to_writer(&mut out, &value).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        print_table(&mut out, &metric, &stats, &table)?;
    }
    out.flush()?;
    match &args.out {
        Some(dir) => write_chart(dir, &metric, &stats, &curves),
        None => Ok(()),
    }
}

/// Writes `compare.png` and `compare.svg`: the mean, its band, and each run faint.
fn write_chart(
    dir: &Path,
    metric: &str,
    stats: &MultiRun,
    curves: &[Curve],
) -> Result<(), CliError> {
    charts::create_dir(dir)?;
    let opts = ChartOptions::new().with_title(format!("{metric}: {} runs", curves.len()));
    for format in [ImageFormat::Png, ImageFormat::Svg] {
        let bytes = multi_run_chart(metric, stats, curves, &opts, format).map_err(|source| {
            CliError::Render {
                file: dir.join("compare").display().to_string(),
                what: "the comparison",
                source,
            }
        })?;
        let path = dir.join(format!("compare.{}", format.extension()));
        charts::write(&path, &bytes)?;
        load::note(&format!("wrote {}", path.display()));
    }
    Ok(())
}

/// About [`TABLE_ROWS`] indices spread evenly over `0..len`, first and last included, no repeats.
pub fn rows(len: usize) -> Vec<usize> {
    if len <= TABLE_ROWS {
        return (0..len).collect();
    }
    let last = len - 1;
    let mut out: Vec<usize> = (0..TABLE_ROWS)
        .map(|i| (i * last + (TABLE_ROWS - 1) / 2) / (TABLE_ROWS - 1))
        .collect();
    out.dedup();
    out
}

fn row(stats: &MultiRun, i: usize) -> Row {
    Row {
        step: finite(stats.steps[i]),
        n: stats.count[i],
        mean: finite(stats.mean[i]),
        lower: finite(stats.ci_lower[i]),
        upper: finite(stats.ci_upper[i]),
    }
}

fn print_table(
    out: &mut impl Write,
    metric: &str,
    stats: &MultiRun,
    table: &[Row],
) -> Result<(), CliError> {
    writeln!(
        out,
        "{metric} over {} runs, {} grid steps; mean and {:.0}% confidence interval:",
        stats.runs.len(),
        stats.len(),
        stats.level * 100.0
    )?;
    for (i, r) in stats.runs.iter().enumerate().take(LISTED_RUNS) {
        writeln!(out, "  run {}: {r}", i + 1)?;
    }
    if stats.runs.len() > LISTED_RUNS {
        writeln!(out, "  ... and {} more", stats.runs.len() - LISTED_RUNS)?;
    }
    writeln!(
        out,
        "{:>12} {:>3} {:>12} {:>12} {:>12}",
        "step", "n", "mean", "lower", "upper"
    )?;
    let cell = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |v| format!("{v:.6}"));
    for r in table {
        writeln!(
            out,
            "{:>12} {:>3} {:>12} {:>12} {:>12}",
            r.step.map_or_else(|| "-".to_owned(), |s| format!("{s}")),
            r.n,
            cell(r.mean),
            cell(r.lower),
            cell(r.upper)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_spread_evenly_with_both_ends() {
        assert_eq!(rows(0), Vec::<usize>::new(), "nothing to show");
        assert_eq!(rows(3), vec![0, 1, 2], "short tables are shown whole");
        let r = rows(39);
        // 38 * i / 19 = 2 * i exactly: every other step.
        assert_eq!(r, (0..20).map(|i| 2 * i).collect::<Vec<_>>());
        let r = rows(1000);
        assert_eq!(r.len(), TABLE_ROWS);
        assert_eq!((r[0], r[19]), (0, 999), "first and last grid steps");
    }
}
