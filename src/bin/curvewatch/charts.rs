//! The chart files of `analyze --out` and `compare --out`: PNG and SVG side by side.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use curvewatch::analysis::prediction::PredictedPoint;
use curvewatch::import::Imported;
use curvewatch::render::charts::{
    learning_curves, prediction_chart, ChartOptions, ImageFormat, PredictionSlices, RenderError,
};
use curvewatch::report::RunReport;

use crate::error::CliError;
use crate::html::Chart;
use crate::metric;

/// Creates `dir` (and its parents) if missing.
pub fn create_dir(dir: &Path) -> Result<(), CliError> {
    std::fs::create_dir_all(dir).map_err(|e| CliError::write(dir, e))
}

/// Writes `bytes` to `path`.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, bytes).map_err(|e| CliError::write(path, e))
}

/// File-name stems that do not collide: `trainer_state`, then `trainer_state-2`...
#[derive(Default)]
pub struct Stems(HashSet<String>);

impl Stems {
    /// A fresh stem for `path`: its file name without the extension, with characters other than
    /// letters, digits, `-`, `_` and `.` replaced by `_`.
    pub fn next(&mut self, path: &Path) -> String {
        let raw = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let clean: String = raw
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let base = if clean.is_empty() {
            "log".to_owned()
        } else {
            clean
        };
        let mut stem = base.clone();
        let mut n = 1;
        while !self.0.insert(stem.clone()) {
            n += 1;
            stem = format!("{base}-{n}");
        }
        stem
    }
}

/// Writes `<stem>.curves.{png,svg}` (the learning curves with the diagnoses and the stop) and, when
/// there is a prediction, `<stem>.prediction.{png,svg}`; returns the PNGs to inline and the paths.
pub fn analyze_charts(
    dir: &Path,
    stem: &str,
    imported: &Imported,
    report: &RunReport,
) -> Result<(Vec<Chart>, Vec<PathBuf>), CliError> {
    let file = imported.source_name();
    let out = Out {
        dir,
        stem,
        file: &file,
    };
    let opts = ChartOptions::new().with_title(run_name(imported, stem));
    let stop = report.summary.stop.as_ref();
    let (png, mut paths) = out.pair("curves", |format| {
        learning_curves(&imported.history, &report.diagnoses, stop, &opts, format)
    })?;
    let mut charts = vec![Chart {
        caption: format!("learning curves of {file}"),
        png,
    }];
    if let Some((chart, more)) = prediction(&out, imported, report)? {
        charts.push(chart);
        paths.extend(more);
    }
    Ok((charts, paths))
}

/// A chart's title: the run's name, i.e. the log's file stem (a `trainer_state.json` or `metrics.csv`
/// says nothing, so its folder's name comes first: `checkpoint-1000/trainer_state`), never a path.
pub fn run_name(imported: &Imported, stem: &str) -> String {
    let source = imported.source_name();
    let path = Path::new(&source);
    let file_stem = path
        .file_stem()
        .map_or_else(|| stem.to_owned(), |s| s.to_string_lossy().into_owned());
    let generic = [
        "trainer_state",
        "metrics",
        "log",
        "history",
        "train",
        "training_log",
    ];
    let parent = path
        .parent()
        .and_then(|p| p.file_name())
        .map(|p| p.to_string_lossy().into_owned());
    match parent {
        Some(dir) if generic.contains(&file_stem.as_str()) => format!("{dir}/{file_stem}"),
        _ => file_stem,
    }
}

/// The prediction chart: the observed series, the fitted curve dashed and its band.
fn prediction(
    out: &Out<'_>,
    imported: &Imported,
    report: &RunReport,
) -> Result<Option<(Chart, Vec<PathBuf>)>, CliError> {
    let Some(p) = &report.prediction else {
        return Ok(None);
    };
    let Some(series) = metric::find(&imported.history, &p.metric) else {
        return Ok(None);
    };
    let observed: Vec<f64> = series.steps().iter().map(|s| *s as f64).collect();
    let points = &p.prediction.points;
    let column = |f: fn(&PredictedPoint) -> f64| points.iter().map(f).collect::<Vec<f64>>();
    let (steps, values) = (column(|q| q.x - 1.0), column(|q| q.value));
    let (lower, upper) = (column(|q| q.lower), column(|q| q.upper));
    let input = PredictionSlices {
        name: &p.metric,
        observed_steps: &observed,
        observed_values: series.values(),
        predicted_steps: &steps,
        predicted_values: &values,
        lower: &lower,
        upper: &upper,
    };
    let caption = format!(
        "{}: {} predicted ({} family)",
        run_name(imported, out.stem),
        p.metric,
        p.prediction.family
    );
    let opts = ChartOptions::new().with_title(caption.clone());
    let (png, paths) = out.pair("prediction", |format| {
        prediction_chart(&input, &opts, format)
    })?;
    Ok(Some((Chart { caption, png }, paths)))
}

/// Where one file's charts go.
struct Out<'a> {
    dir: &'a Path,
    stem: &'a str,
    file: &'a str,
}

impl Out<'_> {
    /// Draws a chart as PNG and SVG and writes both; returns the PNG and the two paths.
    fn pair(
        &self,
        kind: &'static str,
        draw: impl Fn(ImageFormat) -> Result<Vec<u8>, RenderError>,
    ) -> Result<(Vec<u8>, Vec<PathBuf>), CliError> {
        let render = |format| {
            draw(format).map_err(|source| CliError::Render {
                file: self.file.to_owned(),
                what: kind,
                source,
            })
        };
        let png = render(ImageFormat::Png)?;
        let png_path = save(self.dir, self.stem, kind, ImageFormat::Png, &png)?;
        let svg = render(ImageFormat::Svg)?;
        let svg_path = save(self.dir, self.stem, kind, ImageFormat::Svg, &svg)?;
        Ok((png, vec![png_path, svg_path]))
    }
}

/// Writes `<dir>/<stem>.<kind>.<ext>`.
pub fn save(
    dir: &Path,
    stem: &str,
    kind: &str,
    format: ImageFormat,
    bytes: &[u8],
) -> Result<PathBuf, CliError> {
    let path = dir.join(format!("{stem}.{kind}.{}", format.extension()));
    write(&path, bytes)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_are_clean_and_unique() {
        let mut stems = Stems::default();
        let cases = [
            (
                "runs/a/trainer_state.json",
                "trainer_state",
                "extension dropped",
            ),
            (
                "runs/b/trainer_state.json",
                "trainer_state-2",
                "a second one is numbered",
            ),
            (
                "runs/b/trainer_state.json",
                "trainer_state-3",
                "and a third",
            ),
            ("x/my log (1).csv", "my_log__1_", "odd characters replaced"),
            ("x/.csv", ".csv", "a dot file keeps its name"),
        ];
        for (path, want, why) in cases {
            assert_eq!(stems.next(Path::new(path)), want, "{why}");
        }
    }
}
