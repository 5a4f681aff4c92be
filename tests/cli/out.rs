//! `analyze --out DIR`: PNG and SVG charts per file and a self-contained, escaped report.html.

use crate::support::{curvewatch, TempDir};

/// Train loss falls while validation loss turns up after epoch 8, with a metric name that is
/// markup: the report must show it as text.
fn overfitting_log() -> String {
    let mut text = String::from("epoch,loss,val_loss,<b>acc</b>\n");
    for e in 0..30 {
        let t = f64::from(e);
        let train = 0.2 + 2.0 * (-t / 5.0).exp();
        let valid = 0.6 + 1.6 * (-t / 5.0).exp() + 0.004 * (t - 8.0).max(0.0).powi(2);
        text.push_str(&format!(
            "{e},{train:.6},{valid:.6},{:.4}\n",
            0.5 + t / 100.0
        ));
    }
    text
}

#[test]
fn out_writes_charts_and_a_self_contained_report() {
    let dir = TempDir::new("out");
    let log = dir.file("run.csv", overfitting_log());
    let out = dir.0.join("report");
    let run = curvewatch(&[
        "analyze".as_ref(),
        log.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ])
    .ok();
    for name in ["run.curves.png", "run.prediction.png"] {
        let png = std::fs::read(out.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name}");
        assert!(
            png.len() > 5_000,
            "{name} holds a chart ({} bytes)",
            png.len()
        );
    }
    for name in ["run.curves.svg", "run.prediction.svg"] {
        let svg = std::fs::read_to_string(out.join(name)).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"), "{name}");
    }
    assert!(
        run.stderr.contains("report.html"),
        "the paths are listed: {}",
        run.stderr
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    // "iVBORw0KGgo" is the base64 of the PNG signature: the charts are inline.
    assert_eq!(
        html.matches("src=\"data:image/png;base64,iVBORw0KGgo")
            .count(),
        2
    );
    assert!(
        !html.contains("src=\"run."),
        "no reference to the files beside it"
    );
    assert!(html.contains("<table class=\"diagnoses\">"));
    assert!(
        html.contains("<td>overfitting</td>"),
        "the overfitting diagnosis is a table row"
    );
    assert!(html.contains("Early-stopping replay"));
    assert!(
        html.contains("&lt;b&gt;acc&lt;/b&gt;"),
        "markup in a metric name is escaped"
    );
    assert!(!html.contains("<b>acc</b>"));
}

#[test]
fn two_files_with_one_name_get_distinct_charts() {
    let dir = TempDir::new("out-names");
    std::fs::create_dir_all(dir.0.join("a")).unwrap();
    std::fs::create_dir_all(dir.0.join("b")).unwrap();
    let a = dir.file("a/history.csv", "epoch,loss\n0,1.0\n1,0.7\n2,0.6\n");
    let b = dir.file("b/history.csv", "epoch,loss\n0,2.0\n1,1.7\n2,1.6\n");
    let out = dir.0.join("out");
    curvewatch(&[
        "analyze".as_ref(),
        a.as_os_str(),
        b.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ])
    .ok();
    assert!(out.join("history.curves.png").exists());
    assert!(out.join("history-2.curves.png").exists());
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert_eq!(html.matches("<section>").count(), 2);
}
