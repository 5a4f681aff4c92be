//! Single-panel charts: raw and smoothed, several runs with a confidence band, and a prediction.

use super::canvas::Layout;
use super::grid::check_smoothing;
use super::options::ChartOptions;
use super::palette::{self, faint};
use super::panel::{Band, Line, Panel, Xs};
use super::RenderError;
use crate::analysis::multi_run::{Curve, MultiRun};
use crate::analysis::smoothing::debiased_ema;

/// The columns of a prediction chart, as plain slices: the observed curve and the extrapolation with
/// its band. `predicted_values`, `lower` and `upper` run parallel to `predicted_steps`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PredictionSlices<'a> {
    /// The metric's name, used as the panel caption and y label.
    pub name: &'a str,
    /// Steps of the observed points.
    pub observed_steps: &'a [f64],
    /// Observed values.
    pub observed_values: &'a [f64],
    /// Steps of the extrapolated points.
    pub predicted_steps: &'a [f64],
    /// Extrapolated values (drawn dashed).
    pub predicted_values: &'a [f64],
    /// Lower edge of the uncertainty band.
    pub lower: &'a [f64],
    /// Upper edge of the uncertainty band.
    pub upper: &'a [f64],
}

fn same_len(what: &'static str, expected: usize, got: usize) -> Result<(), RenderError> {
    if expected == got {
        Ok(())
    } else {
        Err(RenderError::LengthMismatch {
            what,
            expected,
            got,
        })
    }
}

fn panel(name: &str, opts: &ChartOptions) -> Panel<'static> {
    Panel {
        caption: name.to_owned(),
        x_desc: opts.x_axis().label().to_owned(),
        y_desc: name.to_owned(),
        log_y: opts.log_y(),
        decimate: opts.decimate(),
        ..Panel::default()
    }
}

fn one(panel: Panel<'_>) -> Layout<'_> {
    Layout {
        panels: vec![panel],
        footer: None,
        empty_message: "",
        hidden: Vec::new(),
    }
}

/// Raw (faint) and debiased-EMA (bold) versions of one curve.
pub(crate) fn smoothed<'a>(
    name: &str,
    steps: &'a [f64],
    values: &'a [f64],
    weight: f64,
    opts: &ChartOptions,
) -> Result<Layout<'a>, RenderError> {
    same_len("values", steps.len(), values.len())?;
    check_smoothing(Some(weight))?;
    let mut p = panel(name, opts);
    let raw = faint(palette::TRAIN, palette::RAW_AMOUNT);
    p.lines
        .push(Line::new(Xs::F64(steps), values, raw).label("raw"));
    let smooth = Line::new(Xs::F64(steps), debiased_ema(values, weight), palette::TRAIN);
    p.lines.push(smooth.width(2).label(format!("EMA {weight}")));
    Ok(one(p))
}

/// Mean (bold) over a shaded confidence band, single runs faint behind.
pub(crate) fn multi_run<'a>(
    name: &str,
    stats: &'a MultiRun,
    runs: &'a [Curve],
    opts: &ChartOptions,
) -> Result<Layout<'a>, RenderError> {
    let n = stats.steps.len();
    same_len("multi-run mean", n, stats.mean.len())?;
    same_len("multi-run ci_lower", n, stats.ci_lower.len())?;
    same_len("multi-run ci_upper", n, stats.ci_upper.len())?;
    for run in runs {
        same_len("run values", run.steps.len(), run.values.len())?;
    }
    let mut p = panel(name, opts);
    p.bands.push(Band {
        xs: &stats.steps,
        lower: &stats.ci_lower,
        upper: &stats.ci_upper,
        colour: faint(palette::TRAIN, palette::BAND_AMOUNT),
        label: Some(format!("{:.0}% CI of the mean", stats.level * 100.0)),
    });
    let faint_run = faint(palette::TRAIN, palette::RAW_AMOUNT);
    for (i, run) in runs.iter().enumerate() {
        let line = Line::new(Xs::F64(&run.steps), &run.values[..], faint_run);
        p.lines.push(if i == 0 {
            line.label("single runs")
        } else {
            line
        });
    }
    let runs_count = stats.runs.len().max(runs.len());
    let mean = Line::new(Xs::F64(&stats.steps), &stats.mean[..], palette::TRAIN).width(2);
    p.lines
        .push(mean.label(format!("mean of {runs_count} runs")));
    Ok(one(p))
}

/// Observed (solid), extrapolated (dashed) and the uncertainty band.
pub(crate) fn prediction<'a>(
    input: &PredictionSlices<'a>,
    opts: &ChartOptions,
) -> Result<Layout<'a>, RenderError> {
    let n = input.predicted_steps.len();
    same_len(
        "observed values",
        input.observed_steps.len(),
        input.observed_values.len(),
    )?;
    same_len("predicted values", n, input.predicted_values.len())?;
    same_len("lower", n, input.lower.len())?;
    same_len("upper", n, input.upper.len())?;
    let mut p = panel(input.name, opts);
    p.bands.push(Band {
        xs: input.predicted_steps,
        lower: input.lower,
        upper: input.upper,
        colour: faint(palette::PREDICTED, palette::BAND_AMOUNT),
        label: Some("uncertainty".to_owned()),
    });
    let observed = Line::new(
        Xs::F64(input.observed_steps),
        input.observed_values,
        palette::TRAIN,
    );
    p.lines.push(observed.width(2).label("observed"));
    let xs = Xs::F64(input.predicted_steps);
    let predicted = Line::new(xs, input.predicted_values, palette::PREDICTED);
    p.lines.push(predicted.width(2).dashed().label("predicted"));
    Ok(one(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatched_columns_are_errors_that_name_the_column() {
        let opts = ChartOptions::new();
        let e = smoothed("loss", &[1.0, 2.0], &[1.0], 0.5, &opts).unwrap_err();
        assert_eq!(
            e,
            RenderError::LengthMismatch {
                what: "values",
                expected: 2,
                got: 1
            }
        );
        let bad = PredictionSlices {
            predicted_steps: &[1.0, 2.0],
            predicted_values: &[1.0, 2.0],
            lower: &[1.0, 2.0],
            upper: &[1.0],
            ..PredictionSlices::default()
        };
        let e = prediction(&bad, &opts).unwrap_err();
        assert!(
            e.to_string().contains("upper: expected 2 values, got 1"),
            "{e}"
        );
        let e = smoothed("loss", &[1.0], &[1.0], 1.5, &opts).unwrap_err();
        assert_eq!(e, RenderError::InvalidSmoothing { weight: 1.5 });
    }

    #[test]
    fn smoothed_layout_uses_the_debiased_ema() {
        let steps = [0.0, 1.0, 2.0];
        let values = [10.0, 0.0, 0.0];
        let l = smoothed("loss", &steps, &values, 0.5, &ChartOptions::new()).unwrap();
        let smooth = &l.panels[0].lines[1].ys;
        // Debiased EMA with w = 0.5: 10, (2.5 + 0)/(1 - 0.25) = 3.333.., (1.25)/(1 - 0.125) = 1.428..
        let want = [10.0, 2.5 / 0.75, 1.25 / 0.875];
        for (g, w) in smooth.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{g} vs {w}");
        }
    }
}
