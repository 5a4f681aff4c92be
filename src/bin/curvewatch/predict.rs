//! `curvewatch predict FILE --metric M --horizon N [--json]`: extrapolates a curve with the family
//! that best predicts its held-out tail, with an uncertainty band.

use std::io::Write;

use curvewatch::analysis::prediction::{predict, PredictOptions};
use curvewatch::report::{bucket_means, PREDICTION_POINTS};

use crate::args::PredictArgs;
use crate::error::CliError;
use crate::json::PredictionJson;
use crate::load;

/// Runs `predict`. The curve is fitted with x = step + 1 (its finite points, averaged into at most
/// [`PREDICTION_POINTS`] buckets when longer), and predicted at up to 20 whole steps up to the horizon.
pub fn run(args: &PredictArgs) -> Result<(), CliError> {
    let imported = load::import(&args.file, args.input.format, args.restarts.restarts())?;
    let file = imported.source_name();
    let series = load::series(&file, &imported.history, &args.metric)?;
    let label = series.label();
    let last = series.steps().iter().copied().max().unwrap_or(0);
    if args.horizon <= last {
        return Err(CliError::Horizon {
            file,
            metric: label,
            horizon: args.horizon,
            last,
        });
    }
    let (xs, ys) = bucket_means(series, PREDICTION_POINTS);
    let options = PredictOptions::default().with_horizon(args.horizon as f64 + 1.0);
    let p = predict(&xs, &ys, &options).map_err(|source| CliError::Predict {
        file: file.clone(),
        metric: label.clone(),
        source,
    })?;
    let json = PredictionJson::new(label, &p, last, args.horizon);
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &json).map_err(std::io::Error::from)?;
        writeln!(out)?;
    } else {
        text(&mut out, &json)?;
    }
    out.flush()?;
    Ok(())
}

fn text(out: &mut impl Write, p: &PredictionJson) -> Result<(), CliError> {
    let cell = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |v| format!("{v:.6}"));
    let params: Vec<String> = p
        .params
        .iter()
        .map(|(k, v)| format!("{k} = {}", cell(*v)))
        .collect();
    writeln!(
        out,
        "{}: {} family ({}), held-out RMSE {}",
        p.metric,
        p.family,
        params.join(", "),
        cell(p.holdout_error)
    )?;
    writeln!(
        out,
        "{:>12} {:>12} {:>12} {:>12}",
        "step", "predicted", "lower", "upper"
    )?;
    for q in &p.predicted {
        writeln!(
            out,
            "{:>12} {:>12} {:>12} {:>12}",
            q.step,
            cell(q.value),
            cell(q.lower),
            cell(q.upper)
        )?;
    }
    Ok(())
}
