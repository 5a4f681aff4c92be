//! `curvewatch cluster FILE... [--k K] [--metric M] [--json]`: groups curves by shape.

use std::io::Write;

use curvewatch::analysis::clustering::{cluster_curves, ClusterOptions, Clustering};
use serde::Serialize;

use crate::args::ClusterArgs;
use crate::error::CliError;
use crate::json::finite;
use crate::load;

/// `cluster --json`.
#[derive(Debug, Serialize)]
struct ClusterJson {
    k: usize,
    clusters: Vec<ClusterEntry>,
}

/// One cluster.
#[derive(Debug, Serialize)]
struct ClusterEntry {
    id: usize,
    members: Vec<String>,
    count: usize,
    mean_final: Option<f64>,
    mean_improvement: Option<f64>,
}

impl From<&Clustering> for ClusterJson {
    fn from(c: &Clustering) -> Self {
        ClusterJson {
            k: c.k,
            clusters: c
                .clusters
                .iter()
                .map(|s| ClusterEntry {
                    id: s.id,
                    members: s.names.clone(),
                    count: s.count,
                    mean_final: finite(s.mean_final),
                    mean_improvement: finite(s.mean_improvement),
                })
                .collect(),
        }
    }
}

/// Runs `cluster`.
pub fn run(args: &ClusterArgs) -> Result<(), CliError> {
    let runs = load::runs(&args.files, args.input.format)?;
    let (metric, curves) = load::curves(&runs, args.metric.as_deref())?;
    drop(runs);
    if curves.len() < 2 {
        return Err(CliError::TooFewCurves {
            command: "cluster",
            found: curves.len(),
        });
    }
    let mut options = ClusterOptions::new();
    if let Some(k) = args.k {
        options = options.with_k(k as usize);
    }
    let result = cluster_curves(&curves, &options).map_err(|source| CliError::Cluster {
        metric: metric.clone(),
        source,
    })?;
    let json = ClusterJson::from(&result);
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &json).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{} curves of {metric} in {} clusters (silhouette {:.3}):",
            curves.len(),
            json.k,
            result.silhouette
        )?;
        for c in &json.clusters {
            let num = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |v| format!("{v:.4}"));
            writeln!(
                out,
                "cluster {}: {} curves, mean final {}, mean improvement {}",
                c.id,
                c.count,
                num(c.mean_final),
                num(c.mean_improvement)
            )?;
            for m in &c.members {
                writeln!(out, "  {m}")?;
            }
        }
    }
    out.flush()?;
    Ok(())
}
