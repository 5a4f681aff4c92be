//! The self-contained `report.html` of `analyze --out`: one section per file with its verdicts, the
//! early-stopping replay, the prediction, the charts inlined as PNG `data:` URIs, and the diagnoses as
//! a table. Every piece of text from a log (metric names, messages, paths) is HTML-escaped.

use std::fmt::Write;

use curvewatch::import::Imported;
use curvewatch::report::RunReport;

use crate::base64;

/// The diagnoses table lists at most this many rows (a long noisy run can have thousands of spikes).
pub const MAX_DIAGNOSIS_ROWS: usize = 1000;
/// At most this many import warnings and restarts are listed.
const MAX_NOTES: usize = 10;

/// A chart to inline.
pub struct Chart {
    /// What it shows, for the caption and the `alt` text.
    pub caption: String,
    /// The PNG bytes.
    pub png: Vec<u8>,
}

/// `text` with `&`, `<`, `>`, `"` and `'` replaced by character references.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#1e1e1e;max-width:1300px}\
h2{border-bottom:1px solid #ccc;padding-bottom:.2em;word-break:break-all}\
table{border-collapse:collapse;margin:.5em 0 1.5em}\
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}\
th{background:#f3f3f3}.critical{color:#b00}.warning{color:#a60}.meta{color:#555}\
figure{margin:1em 0}img{max-width:100%;border:1px solid #ddd}";

/// The whole document: `sections` (HTML, from [`section`]) in order, then the messages of the files
/// that failed (plain text, escaped here).
pub fn document(sections: &[String], failures: &[String]) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<title>curvewatch report</title>\n");
    let _ = writeln!(
        out,
        "<script>{}</script>",
        crate::interactive::ERRORS_SCRIPT
    );
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
    let _ = writeln!(
        out,
        "<h1>curvewatch report</h1>\n<p class=\"meta\">{} file(s) analysed by curvewatch {}</p>",
        sections.len(),
        env!("CARGO_PKG_VERSION")
    );
    for s in sections {
        out.push_str(s);
    }
    if !failures.is_empty() {
        out.push_str("<h2>Files that could not be analysed</h2>\n<ul>\n");
        for f in failures {
            let _ = writeln!(out, "<li>{}</li>", escape(f));
        }
        out.push_str("</ul>\n");
    }
    let _ = writeln!(out, "<script>{}</script>", crate::interactive::SCRIPT);
    out.push_str("</body>\n</html>\n");
    out
}

/// One file's section; `interactive` is its interactive chart ([`crate::interactive::block`]), drawn
/// above the static images.
pub fn section(
    imported: &Imported,
    report: &RunReport,
    charts: &[Chart],
    interactive: &str,
) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<section>\n<h2>{}</h2>\n<p class=\"meta\">format {}, {} records, {} series</p>",
        escape(&imported.source_name()),
        escape(imported.format.name()),
        imported.records,
        report.series.iter().filter(|s| s.points > 0).count()
    );
    notes(&mut out, imported);
    verdicts(&mut out, report);
    early_stopping(&mut out, report);
    prediction(&mut out, report);
    out.push_str(interactive);
    for c in charts {
        let _ = writeln!(
            out,
            "<figure><img alt=\"{0}\" src=\"data:image/png;base64,{1}\"><figcaption>{0}</figcaption></figure>",
            escape(&c.caption),
            base64::encode(&c.png)
        );
    }
    series_table(&mut out, report);
    diagnoses_table(&mut out, report);
    out.push_str("</section>\n");
    out
}

fn notes(out: &mut String, imported: &Imported) {
    let warnings = imported.warnings.iter().map(|w| w.to_string());
    let restarts = imported.restarts.iter().map(|r| format!("restart: {r}"));
    let all: Vec<String> = warnings
        .take(MAX_NOTES)
        .chain(restarts.take(MAX_NOTES))
        .collect();
    if all.is_empty() {
        return;
    }
    out.push_str("<h3>Import notes</h3>\n<ul>\n");
    for n in all {
        let _ = writeln!(out, "<li>{}</li>", escape(&n));
    }
    out.push_str("</ul>\n");
}

fn verdicts(out: &mut String, report: &RunReport) {
    out.push_str("<h3>Verdicts</h3>\n<ul>\n");
    if let Some(b) = &report.best {
        let _ = writeln!(
            out,
            "<li>best {}: {} at step {} (epoch {:.2})</li>",
            escape(&b.metric),
            num(b.value),
            b.step,
            b.epoch
        );
    }
    for line in report.summary.to_string().lines() {
        let _ = writeln!(out, "<li>{}</li>", escape(line));
    }
    out.push_str("</ul>\n");
}

fn early_stopping(out: &mut String, report: &RunReport) {
    let es = &report.early_stopping;
    let opt = |x: Option<u64>| x.map_or_else(|| "–".to_owned(), |v| v.to_string());
    let _ = writeln!(
        out,
        "<h3>Early-stopping replay</h3>\n<table>\n<tr><th>monitor</th><td>{}</td></tr>\n\
         <tr><th>stopped</th><td>{}</td></tr>\n<tr><th>stop index</th><td>{}</td></tr>\n\
         <tr><th>stop step</th><td>{}</td></tr>\n<tr><th>best index</th><td>{}</td></tr>\n\
         <tr><th>best value</th><td>{}</td></tr>\n<tr><th>reason</th><td>{}</td></tr>\n</table>",
        escape(&es.monitor),
        if es.stopped { "yes" } else { "no" },
        opt(es.stop_index),
        opt(es.stop_step),
        opt(es.best_index),
        es.best_value.map_or_else(|| "–".to_owned(), num),
        escape(es.reason.as_deref().unwrap_or("–"))
    );
}

fn prediction(out: &mut String, report: &RunReport) {
    out.push_str("<h3>Prediction</h3>\n");
    let Some(p) = &report.prediction else {
        let why = report
            .prediction_error
            .as_deref()
            .unwrap_or("no loss curve");
        let _ = writeln!(out, "<p>none: {}</p>", escape(why));
        return;
    };
    let pr = &p.prediction;
    let params: Vec<String> = pr
        .params
        .iter()
        .map(|(k, v)| format!("{k} = {}", num(*v)))
        .collect();
    let _ = writeln!(
        out,
        "<p>{} follows the <b>{}</b> family ({}; held-out RMSE {}). At step {:.0}: {} [{}, {}].</p>",
        escape(&p.metric),
        escape(pr.family.name()),
        escape(&params.join(", ")),
        num(pr.holdout_error),
        pr.horizon.x - 1.0,
        num(pr.horizon.value),
        num(pr.horizon.lower),
        num(pr.horizon.upper)
    );
}

fn series_table(out: &mut String, report: &RunReport) {
    out.push_str("<h3>Series</h3>\n<table>\n<tr><th>split</th><th>metric</th><th>points</th>");
    out.push_str("<th>non-finite</th><th>first step</th><th>last step</th></tr>\n");
    for s in report.series.iter().filter(|s| s.points > 0) {
        let step = |x: Option<u64>| x.map_or_else(String::new, |v| v.to_string());
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&s.split),
            escape(&s.metric),
            s.points,
            s.non_finite,
            step(s.first_step),
            step(s.last_step)
        );
    }
    out.push_str("</table>\n");
}

fn diagnoses_table(out: &mut String, report: &RunReport) {
    let n = report.diagnoses.len();
    let _ = writeln!(out, "<h3>Diagnoses ({n})</h3>");
    if n == 0 {
        out.push_str("<p>none</p>\n");
        return;
    }
    out.push_str("<table class=\"diagnoses\">\n<tr><th>kind</th><th>severity</th><th>step</th>");
    out.push_str("<th>epoch</th><th>metric</th><th>message</th><th>recommendation</th></tr>\n");
    for d in report.diagnoses.iter().take(MAX_DIAGNOSIS_ROWS) {
        let severity = d.severity.to_string();
        let _ = writeln!(
            out,
            "<tr class=\"{sev}\"><td>{}</td><td>{sev}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(d.kind.as_str()),
            d.step,
            d.epoch,
            escape(d.metric.as_deref().unwrap_or("")),
            escape(&d.message),
            escape(&d.recommendation),
            sev = escape(&severity),
        );
    }
    out.push_str("</table>\n");
    if n > MAX_DIAGNOSIS_ROWS {
        let _ = writeln!(
            out,
            "<p>… and {} more (see <code>analyze --json</code>)</p>",
            n - MAX_DIAGNOSIS_ROWS
        );
    }
}

/// A number for people: at most six decimals, trailing zeros trimmed; `NaN` and `inf` spelled out.
fn num(x: f64) -> String {
    if x.is_finite() {
        let s = format!("{x:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        x.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        let cases = [
            ("a<b>c", "a&lt;b&gt;c", "tags"),
            (
                "x & y",
                "x &amp; y",
                "ampersand first, so entities are not doubled",
            ),
            (
                "\"q\" 'p'",
                "&quot;q&quot; &#39;p&#39;",
                "both quotes, for attributes",
            ),
            ("plain ✓", "plain ✓", "other text untouched"),
        ];
        for (text, want, why) in cases {
            assert_eq!(escape(text), want, "{why}");
        }
    }

    #[test]
    fn numbers_read_well() {
        let cases = [
            (0.5, "0.5", "trailing zeros trimmed"),
            (2.0, "2", "whole number"),
            (1.234_567_89, "1.234568", "six decimals"),
            (f64::NAN, "NaN", "NaN spelled out"),
        ];
        for (x, want, why) in cases {
            assert_eq!(num(x), want, "{why}");
        }
    }

    #[test]
    fn a_document_lists_failures_escaped() {
        let doc = document(&[], &["a<b>.csv: line 3: bad".to_owned()]);
        assert!(doc.starts_with("<!DOCTYPE html>"));
        assert!(doc.contains("<li>a&lt;b&gt;.csv: line 3: bad</li>"));
        assert!(doc.ends_with("</html>\n"));
    }
}
