//! The `curvewatch` command line, run as a built binary: every real log through `analyze --json`
//! with the documented keys, the pathologies the logs show, early-stopping replay by hand-computed
//! indices, malformed inputs, predict / cluster / compare JSON, and the `--out` report.

// The binary exists only with the `cli` feature (on by default).
#![cfg(feature = "cli")]

// The crate root of an integration test looks for modules beside it in tests/; keep them in a
// folder of their own so that cargo does not build each as a test target.
#[path = "cli/commands.rs"]
mod commands;
#[path = "cli/malformed.rs"]
mod malformed;
#[path = "cli/out.rs"]
mod out;
#[path = "cli/perf.rs"]
mod perf;
#[path = "cli/replay.rs"]
mod replay;
#[path = "cli/support.rs"]
mod support;

use std::sync::OnceLock;

use serde_json::Value;
use support::{curvewatch, data, keys, real_logs};

/// `analyze --json` over every real log at once (one process: the suite runs on 2 cores).
fn all_real() -> &'static (support::Run, Vec<Value>) {
    static RUN: OnceLock<(support::Run, Vec<Value>)> = OnceLock::new();
    RUN.get_or_init(|| {
        let mut args = vec!["analyze".into(), "--json".into()];
        args.extend(real_logs().into_iter().map(|p| p.into_os_string()));
        let run = curvewatch(&args).ok();
        let values = run.json_lines();
        (run, values)
    })
}

fn sorted(mut v: Vec<&str>) -> Vec<&str> {
    v.sort_unstable();
    v
}

/// The JSON of the real log whose file name starts with `prefix`.
fn real(prefix: &str) -> &'static Value {
    all_real()
        .1
        .iter()
        .find(|v| {
            let source = v["source"].as_str().unwrap_or("");
            source.rsplit('/').next().unwrap_or("").starts_with(prefix)
        })
        .unwrap_or_else(|| panic!("no output for {prefix}"))
}

#[test]
fn every_real_log_analyses_to_the_documented_json() {
    let (_, values) = all_real();
    let logs = real_logs();
    assert_eq!(values.len(), logs.len(), "one JSON object per file");
    let top = [
        "source",
        "format",
        "series",
        "best",
        "lr_verdict",
        "diagnoses",
        "early_stopping",
        "prediction",
    ];
    for (v, path) in values.iter().zip(&logs) {
        assert_eq!(
            v["source"].as_str(),
            path.to_str(),
            "files in the order given"
        );
        assert_eq!(sorted(keys(v)), sorted(top.to_vec()), "{}", path.display());
        let series = v["series"].as_array().expect("series is an array");
        // sliderSun's trainer state holds only the end-of-training summary row.
        let summary_only = path.to_str().unwrap().contains("sliderSun");
        assert_eq!(
            series.is_empty(),
            summary_only,
            "{}: series",
            path.display()
        );
        for s in series {
            let want = ["split", "metric", "points", "first_step", "last_step"];
            assert_eq!(sorted(keys(s)), sorted(want.to_vec()));
            assert!(["train", "valid"].contains(&s["split"].as_str().unwrap()));
        }
        if !v["best"].is_null() {
            assert_eq!(
                sorted(keys(&v["best"])),
                sorted(vec!["metric", "step", "epoch", "value"])
            );
        }
        let verdicts = ["too_high", "too_low", "appropriate", "insufficient_data"];
        assert!(verdicts.contains(&v["lr_verdict"].as_str().unwrap()), "{v}");
        for d in v["diagnoses"].as_array().expect("diagnoses is an array") {
            let want = [
                "kind",
                "severity",
                "step",
                "epoch",
                "metric",
                "message",
                "recommendation",
            ];
            assert_eq!(sorted(keys(d)), sorted(want.to_vec()));
            assert!(["info", "warning", "critical"].contains(&d["severity"].as_str().unwrap()));
        }
        let es = &v["early_stopping"];
        let want = [
            "stopped",
            "stop_index",
            "stop_step",
            "best_index",
            "best_value",
            "reason",
        ];
        assert_eq!(sorted(keys(es)), sorted(want.to_vec()));
        assert_eq!(es["stopped"].as_bool(), Some(!es["stop_index"].is_null()));
        if !v["prediction"].is_null() {
            let want = [
                "metric",
                "family",
                "params",
                "holdout_error",
                "horizon",
                "predicted",
            ];
            assert_eq!(sorted(keys(&v["prediction"])), sorted(want.to_vec()));
        }
    }
}

#[test]
fn formats_are_named_as_on_the_command_line() {
    let cases = [
        ("aigoncharov", "hf-trainer-state", "a trainer_state.json"),
        ("0Xero7", "lightning-csv", "a Lightning metrics.csv"),
        ("akawslearn", "jsonl", "JSON lines"),
        ("SiddanthEmani", "text", "a text log"),
        ("fmohr", "lcdb", "an LCDB results file"),
    ];
    for (prefix, format, why) in cases {
        assert_eq!(real(prefix)["format"], format, "{why}");
    }
}

#[test]
fn aigoncharov_overfits_after_its_first_evaluation() {
    // eval_g0_loss: 5.74 at step 0, best 1.1138 at step 401, then 1.13, 1.35, 1.55... while the
    // training loss falls from 1.107 to 0.055 (read from the file).
    let v = real("aigoncharov");
    let overfitting: Vec<&Value> = v["diagnoses"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["kind"] == "overfitting")
        .collect();
    assert!(!overfitting.is_empty(), "an overfitting diagnosis: {v}");
    assert_eq!(overfitting[0]["metric"], "valid/g0/loss");
    assert!(overfitting[0]["step"].as_u64().unwrap() > 401);
    assert_eq!(v["best"]["metric"], "valid/g0/loss");
    assert_eq!(v["best"]["step"], 401);
    assert!((v["best"]["value"].as_f64().unwrap() - 1.1138).abs() < 1e-4);
}

#[test]
fn akawslearn_restarts_are_listed_on_stderr() {
    // The file repeats step 20 on line 2, goes back to step 20 on line 4, and to step 7520 on
    // lines 383 and 386 (read from the file).
    let stderr = &all_real().0.stderr;
    let name = "akawslearn-ai__slm_training__metrics.jsonl";
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(name)).collect();
    for want in [
        "restart: line 2: train/loss repeats step 20",
        "restart: line 4: train/loss goes back to step 20 after step 40",
        "restart: line 383: train/loss goes back to step 7520 after step 7580",
        "restart: line 386: train/loss goes back to step 7520 after step 7560",
        "warning: 4 restart(s)",
    ] {
        assert!(
            lines.iter().any(|l| l.contains(want)),
            "{want} in:\n{stderr}"
        );
    }
    let json = real("akawslearn");
    assert_eq!(
        json["series"][0]["points"], 398,
        "every point kept by default"
    );
}

#[test]
fn text_output_has_a_header_and_the_restart_count() {
    let path = data("akawslearn-ai__slm_training__metrics.jsonl");
    let run = curvewatch(&["analyze".as_ref(), path.as_os_str()]).ok();
    assert!(
        run.stdout.contains("(jsonl, 398 records) =="),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("restarts: 4 (listed on stderr)"));
    assert!(run.stdout.contains("series:\n  train/loss: 398 points"));
}

#[test]
fn keep_last_drops_the_points_a_restart_overwrote() {
    // Restarts on lines 2 (step 20 again: 1 point overwritten), 4 (back to 20 after 40: 2), 383
    // (back to 7520 after 7580: 4) and 386 (back to 7520 after 7560: 3): 398 - 10 = 388 points.
    let path = data("akawslearn-ai__slm_training__metrics.jsonl");
    let run = curvewatch(&[
        "analyze".as_ref(),
        "--json".as_ref(),
        "--restarts".as_ref(),
        "keep-last".as_ref(),
        path.as_os_str(),
    ])
    .ok();
    let v = run.json();
    assert_eq!(v["series"][0]["metric"], "loss");
    assert_eq!(v["series"][0]["points"], 388);
}
