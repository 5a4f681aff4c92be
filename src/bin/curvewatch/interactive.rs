//! The data of the interactive charts of `report.html`: every series of a run grouped into one panel
//! per quantity, with its colour and default smoothing, and the diagnoses with their extents, written
//! as JSON into a `<script type="application/json">` block. The page's script (`assets/report.js`,
//! compiled in) draws them on canvases; it decimates per view, so the data is written whole.

use std::borrow::Cow;

use curvewatch::render::charts::{auto_smoothing, palette, quantity_of};
use curvewatch::render::decimate::m4_linear;
use curvewatch::{Diagnosis, DiagnosisKind, History, Series, Split};
use serde::Serialize;

/// The page script, run once after every chart's data is in the page.
pub const SCRIPT: &str = include_str!("../../../assets/report.js");
/// The first script of the page: collects page and console errors for the self-test.
pub const ERRORS_SCRIPT: &str = include_str!("../../../assets/report-errors.js");

#[derive(Serialize)]
struct Chart<'a> {
    title: &'a str,
    panels: Vec<Panel<'a>>,
    diagnoses: Vec<Mark>,
}

#[derive(Serialize)]
struct Panel<'a> {
    name: String,
    series: Vec<Line<'a>>,
}

#[derive(Serialize)]
struct Line<'a> {
    label: String,
    colour: String,
    x: Cow<'a, [u64]>,
    /// Values as `f32` (7 significant digits are plenty on screen and halve the page); non-finite
    /// values become `null`.
    y: Vec<f32>,
    /// The default EMA weight, `null` when the series is drawn plain.
    w: Option<f64>,
}

#[derive(Serialize)]
struct Mark {
    kind: &'static str,
    severity: String,
    panel: String,
    start: u64,
    end: u64,
    message: String,
}

fn hex((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Colours of the validation series after the first of a panel, as in the static charts.
const MORE: [(u8, u8, u8); 6] = [
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
];

fn panels(history: &History) -> Vec<Panel<'_>> {
    let mut out: Vec<Panel<'_>> = Vec::new();
    for (_, s) in history.iter().filter(|(_, s)| !s.is_empty()) {
        let name = if s.name() == "lr" {
            "lr"
        } else {
            quantity_of(s.name())
        };
        let index = out.iter().position(|p| p.name == name).unwrap_or_else(|| {
            out.push(Panel {
                name: name.to_owned(),
                series: Vec::new(),
            });
            out.len() - 1
        });
        let panel = &mut out[index];
        let colour = colour(s, &panel.series, name);
        panel.series.push(line(s, colour, MAX_PAGE_POINTS));
    }
    for p in &mut out {
        p.series.sort_by_key(|l| !l.label.starts_with("train"));
    }
    out.sort_by_key(|p| (p.name != "loss", p.name == "lr"));
    out
}

fn colour(s: &Series, before: &[Line<'_>], quantity: &str) -> (u8, u8, u8) {
    let valid_before = before
        .iter()
        .filter(|l| l.label.starts_with("valid"))
        .count();
    match s.split() {
        _ if s.name() == "lr" => palette::LR,
        Split::Train if s.name() == quantity => palette::TRAIN,
        Split::Train => (16, 52, 110),
        Split::Valid if valid_before == 0 => palette::VALID,
        Split::Valid => MORE[(valid_before - 1) % MORE.len()],
    }
}

/// Series longer than this are written M4-decimated to a quarter as many columns (a 10M-point
/// series would make a 130 MB page); the page's own per-view decimation does the rest.
const MAX_PAGE_POINTS: usize = 2_000_000;

fn line(s: &Series, colour: (u8, u8, u8), max_points: usize) -> Line<'_> {
    let label = format!("{} {}", s.split().as_str(), s.name());
    let w = auto_smoothing(s.values());
    if s.len() <= max_points {
        return Line {
            label,
            colour: hex(colour),
            x: Cow::Borrowed(s.steps()),
            y: s.values().iter().map(|&v| v as f32).collect(),
            w,
        };
    }
    let (x, y) = overview(s, (max_points / 4).max(1) as u32);
    Line {
        label: format!("{label} (M4 of {} points)", s.len()),
        colour: hex(colour),
        x: Cow::Owned(x),
        y,
        w,
    }
}

/// The M4 points of `s` over `columns` columns of its step range (every spike kept), a `null`
/// after each piece that a non-finite value ended so the page breaks the line there too.
fn overview(s: &Series, columns: u32) -> (Vec<u64>, Vec<f32>) {
    let steps = s.steps();
    let (lo, hi) = steps
        .iter()
        .fold((u64::MAX, 0), |(a, b), &x| (a.min(x), b.max(x)));
    let Ok(d) = m4_linear(steps, s.values(), lo as f64, hi.max(lo + 1) as f64, columns) else {
        return (
            steps.to_vec(),
            s.values().iter().map(|&v| v as f32).collect(),
        );
    };
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (k, piece) in d.pieces.iter().enumerate() {
        for &(px, py) in &d.points[piece.clone()] {
            x.push(px as u64);
            y.push(py as f32);
        }
        if k + 1 < d.pieces.len() {
            x.push(x.last().copied().unwrap_or(lo));
            y.push(f32::NAN);
        }
    }
    (x, y)
}

/// Where a diagnosis lies: its episode (an open phase runs to the end of the run), else from evidence
/// `onset_step`, else its step alone.
fn mark(d: &Diagnosis, last_step: u64) -> Mark {
    let metric = d.metric.as_deref().unwrap_or("loss");
    let name = metric
        .strip_prefix("train/")
        .or_else(|| metric.strip_prefix("valid/"))
        .unwrap_or(metric);
    let spikes = matches!(
        d.kind,
        DiagnosisKind::LossSpike | DiagnosisKind::GradNormSpike
    );
    let (start, end) = match d.episode {
        Some(e) if e.closed || spikes => (e.start_step, e.end_step),
        Some(e) => (e.start_step, last_step.max(e.end_step)),
        None => match d
            .evidence("onset_step")
            .filter(|s| s.is_finite() && *s >= 0.0)
        {
            Some(onset) => (onset.round() as u64, d.step),
            None => (d.step, d.step),
        },
    };
    Mark {
        kind: d.kind.as_str(),
        severity: d.severity.to_string(),
        panel: quantity_of(name).to_owned(),
        start,
        end,
        message: d.message.clone(),
    }
}

/// The `<div>` an interactive chart is drawn in and its data block; `id` must be unique in the page
/// and made of letters, digits, `-`, `_` and `.` (a file stem from [`crate::charts::Stems`]).
pub fn block(id: &str, title: &str, history: &History, diagnoses: &[Diagnosis]) -> String {
    let last = history
        .iter()
        .filter_map(|(_, s)| s.steps().last().copied())
        .max()
        .unwrap_or(0);
    let chart = Chart {
        title,
        panels: panels(history),
        diagnoses: diagnoses.iter().map(|d| mark(d, last)).collect(),
    };
    let json = serde_json::to_string(&chart).unwrap_or_else(|_| "null".to_owned());
    // Inside a script element only `</` could end it early.
    let json = json.replace("</", "<\\/");
    format!(
        "<div class=\"cw-chart\" id=\"chart-{id}\" data-src=\"cw-data-{id}\"></div>\n\
         <script type=\"application/json\" id=\"cw-data-{id}\">{json}</script>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use curvewatch::{Episode, Severity};

    #[test]
    fn series_share_a_panel_per_quantity_and_json_cannot_close_the_script() {
        let mut h = History::new();
        let t = h.key(Split::Train, "loss");
        let v = h.key(Split::Valid, "eval_g0_loss");
        let lr = h.key(Split::Train, "lr");
        for step in 1..=5 {
            h.record(t, step, 0.0, 1.0);
            h.record(v, step, 0.0, f64::NAN);
            h.record(lr, step, 0.0, 0.1);
        }
        let p = panels(&h);
        let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["loss", "lr"]);
        assert_eq!(p[0].series.len(), 2);
        let mut d = Diagnosis::new(
            DiagnosisKind::Overfitting,
            Severity::Warning,
            "a </script> b",
        )
        .with_metric("valid/eval_g0_loss");
        d.episode = Some(Episode::at(2));
        let html = block("run", "run", &h, &[d]);
        assert!(!html.contains("a </script>"), "escaped: {html}");
        assert!(html.contains("\"y\":[null,null"), "NaN as null: {html}");
        assert!(
            html.contains("\"start\":2,\"end\":5"),
            "open episode to the end"
        );
    }

    #[test]
    fn long_series_are_written_as_m4_overviews_that_keep_spikes_and_breaks() {
        let mut h = History::new();
        let k = h.key(Split::Train, "loss");
        for step in 0..10_000u64 {
            let v = match step {
                4321 => 50.0,
                7000 => f64::NAN,
                _ => 1.0 + (step % 7) as f64 / 10.0,
            };
            h.record(k, step, 0.0, v);
        }
        let s = h.get(Split::Train, "loss").unwrap();
        let whole = line(s, (0, 0, 0), 10_000);
        assert_eq!(whole.x.len(), 10_000, "short enough: written whole");
        let small = line(s, (0, 0, 0), 1000);
        assert!(small.x.len() <= 4 * 250 + 8, "{} points", small.x.len());
        assert!(
            small.label.ends_with("(M4 of 10000 points)"),
            "{}",
            small.label
        );
        let spike = small
            .x
            .iter()
            .position(|&x| x == 4321)
            .expect("the spike's step kept");
        assert_eq!(small.y[spike], 50.0);
        assert_eq!(
            small.y.iter().filter(|v| v.is_nan()).count(),
            1,
            "one break for the NaN"
        );
        assert!(
            small.x.windows(2).all(|w| w[0] <= w[1]),
            "steps stay in order"
        );
    }
}
