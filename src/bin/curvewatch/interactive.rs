//! The data of the interactive charts of `report.html`: every series of a run grouped into one panel
//! per quantity, with its colour and default smoothing, and the diagnoses with their extents, written
//! as JSON into a `<script type="application/json">` block. The page's script (`assets/report.js`,
//! compiled in) draws them on canvases; it decimates per view, so the data is written whole.

use curvewatch::render::charts::{auto_smoothing, palette, quantity_of};
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
    x: &'a [u64],
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
        panel.series.push(line(s, colour));
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

fn line(s: &Series, colour: (u8, u8, u8)) -> Line<'_> {
    Line {
        label: format!("{} {}", s.split().as_str(), s.name()),
        colour: hex(colour),
        x: s.steps(),
        y: s.values().iter().map(|&v| v as f32).collect(),
        w: auto_smoothing(s.values()),
    }
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
}
