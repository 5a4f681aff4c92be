//! `predict`, `cluster` and `compare`: their JSON, checked against values computed by hand.

use crate::support::{curvewatch, data, keys, num, TempDir};

/// A `step,loss` CSV of `f(step)` for steps `0..n`.
fn curve(dir: &TempDir, name: &str, n: u64, f: impl Fn(f64) -> f64) -> String {
    let mut text = String::from("step,loss\n");
    for s in 0..n {
        text.push_str(&format!("{s},{:.12}\n", f(s as f64)));
    }
    dir.file(name, text).to_str().unwrap().to_owned()
}

#[test]
fn predict_extrapolates_an_exponential_decay() {
    let dir = TempDir::new("predict");
    // loss = 0.5 + 2 exp(-(step + 1) / 30), observed for steps 0..150; fitted with x = step + 1.
    let truth = |step: f64| 0.5 + 2.0 * (-(step + 1.0) / 30.0).exp();
    let log = curve(&dir, "decay.csv", 150, truth);
    let run = curvewatch(&[
        "predict",
        &log,
        "--metric",
        "loss",
        "--horizon",
        "300",
        "--json",
    ])
    .ok();
    let v = run.json();
    let mut k = keys(&v);
    k.sort_unstable();
    assert_eq!(
        k,
        [
            "family",
            "holdout_error",
            "horizon",
            "metric",
            "params",
            "predicted"
        ]
    );
    assert_eq!(v["metric"], "train/loss");
    assert_eq!(v["horizon"], 300);
    assert!(v["family"].is_string() && v["params"].is_object());
    let predicted = v["predicted"].as_array().unwrap();
    assert_eq!(predicted.len(), 20, "20 points from step 149 to 300");
    let steps: Vec<u64> = predicted
        .iter()
        .map(|p| p["step"].as_u64().unwrap())
        .collect();
    assert!(steps[0] > 149 && steps.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(*steps.last().unwrap(), 300);
    for p in predicted {
        let step = p["step"].as_u64().unwrap() as f64;
        let (value, lower, upper) = (num(p, "value"), num(p, "lower"), num(p, "upper"));
        assert!(
            (value - truth(step)).abs() < 1e-3,
            "step {step}: {value} vs {}",
            truth(step)
        );
        assert!(lower <= value && value <= upper);
    }
}

#[test]
fn predict_needs_a_horizon_past_the_data() {
    let dir = TempDir::new("predict-horizon");
    let log = curve(&dir, "short.csv", 20, |s| 1.0 / (s + 1.0));
    let run = curvewatch(&["predict", &log, "--metric", "loss", "--horizon", "19"]);
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("--horizon 19 is not past the last step of train/loss (19)"),
        "{}",
        run.stderr
    );
}

#[test]
fn compare_gives_the_mean_and_student_t_band() {
    let dir = TempDir::new("compare");
    // Three runs on steps 0..5, offset by 0, +2 and +1: mean = base + 1, sample std = 1, and the
    // 95% half-width is t(0.975, 2) / sqrt(3) = 4.302653 / 1.732051 = 2.484138.
    let runs: Vec<String> = [0.0, 2.0, 1.0]
        .iter()
        .enumerate()
        .map(|(i, off)| curve(&dir, &format!("run{i}.csv"), 5, move |s| 1.0 + s + off))
        .collect();
    let out = dir.0.join("charts");
    let mut args = vec!["compare", "--json", "--out", out.to_str().unwrap()];
    args.extend(runs.iter().map(String::as_str));
    let v = curvewatch(&args).ok().json();
    assert_eq!(v["metric"], "train/loss", "no file has valid/loss");
    assert_eq!(v["runs"].as_array().unwrap().len(), 3);
    let table = v["table"].as_array().unwrap();
    assert_eq!(table.len(), 5, "5 grid steps, all shown");
    for (i, row) in table.iter().enumerate() {
        let mean = 2.0 + i as f64;
        assert_eq!(num(row, "step"), i as f64);
        assert_eq!(row["n"], 3);
        assert!((num(row, "mean") - mean).abs() < 1e-9);
        assert!(
            (num(row, "lower") - (mean - 2.484138)).abs() < 1e-5,
            "{row}"
        );
        assert!(
            (num(row, "upper") - (mean + 2.484138)).abs() < 1e-5,
            "{row}"
        );
    }
    let png = std::fs::read(out.join("compare.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let svg = std::fs::read_to_string(out.join("compare.svg")).unwrap();
    assert!(svg.contains("<svg"));
}

#[test]
fn cluster_separates_fast_and_slow_runs() {
    let dir = TempDir::new("cluster");
    let specs = [
        ("fast1", 0.10, 3.0),
        ("slow1", 1.50, 30.0),
        ("fast2", 0.12, 3.5),
        ("slow2", 1.45, 28.0),
    ];
    let files: Vec<String> = specs
        .iter()
        .map(|&(name, floor, speed)| {
            curve(&dir, &format!("{name}.csv"), 50, move |t| {
                floor + (-t / speed).exp()
            })
        })
        .collect();
    let mut args = vec!["cluster", "--k", "2", "--json"];
    args.extend(files.iter().map(String::as_str));
    let v = curvewatch(&args).ok().json();
    assert_eq!(v["k"], 2);
    let clusters = v["clusters"].as_array().unwrap();
    assert_eq!(clusters.len(), 2);
    for c in clusters {
        let mut k = keys(c);
        k.sort_unstable();
        assert_eq!(
            k,
            ["count", "id", "mean_final", "mean_improvement", "members"]
        );
        let members: Vec<&str> = c["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        assert_eq!(c["count"], members.len());
        let fast = members.iter().filter(|m| m.contains("fast")).count();
        assert!(
            fast == 0 || fast == members.len(),
            "fast and slow apart: {members:?}"
        );
        // Final value at step 49: floor + exp(-49 / speed); mean over the cluster's two members.
        let finals: Vec<f64> = specs
            .iter()
            .filter(|s| members.iter().any(|m| m.ends_with(&format!("{}.csv", s.0))))
            .map(|s| s.1 + (-49.0 / s.2).exp())
            .collect();
        let mean = finals.iter().sum::<f64>() / finals.len() as f64;
        assert!((num(c, "mean_final") - mean).abs() < 1e-9, "{c}");
        // Improvement: first value (floor + 1 at step 0) minus the final one.
        let gains: Vec<f64> = specs
            .iter()
            .filter(|s| members.iter().any(|m| m.ends_with(&format!("{}.csv", s.0))))
            .map(|s| 1.0 - (-49.0 / s.2).exp())
            .collect();
        let gain = gains.iter().sum::<f64>() / gains.len() as f64;
        assert!((num(c, "mean_improvement") - gain).abs() < 1e-9, "{c}");
    }
}

#[test]
fn one_lcdb_file_clusters_its_rows() {
    let path = data("fmohr__lcdb__publications_2023-neurips_experiments_results.csv");
    let run = curvewatch(&["cluster".as_ref(), "--json".as_ref(), path.as_os_str()]).ok();
    let v = run.json();
    let clusters = v["clusters"].as_array().unwrap();
    assert_eq!(clusters.len() as u64, v["k"].as_u64().unwrap());
    let members: Vec<&str> = clusters
        .iter()
        .flat_map(|c| c["members"].as_array().unwrap())
        .map(|m| m.as_str().unwrap())
        .collect();
    // 100 data rows, one curve each, named by their job id.
    assert_eq!(members.len(), 100);
    assert!(
        members.iter().all(|m| m.contains(".csv#job_id=")),
        "{members:?}"
    );
}

#[test]
fn appended_keras_runs_are_compared_as_segments() {
    let dir = TempDir::new("segments");
    let one = "epoch,loss,val_loss\n0,1.0,1.2\n1,0.8,1.0\n2,0.6,0.9\n";
    let two = "epoch,loss,val_loss\n0,1.2,1.4\n1,1.0,1.2\n2,0.8,1.1\n";
    let path = dir.file("history.csv", format!("{one}{two}"));
    let v = curvewatch(&["compare".as_ref(), "--json".as_ref(), path.as_os_str()])
        .ok()
        .json();
    assert_eq!(v["metric"], "valid/loss");
    let runs: Vec<&str> = v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert_eq!(runs.len(), 2);
    assert!(
        runs[0].ends_with("history.csv#1") && runs[1].ends_with("history.csv#2"),
        "{runs:?}"
    );
    let means: Vec<f64> = v["table"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| num(r, "mean"))
        .collect();
    let want = [1.3, 1.1, 1.0];
    for (got, want) in means.iter().zip(want) {
        assert!((got - want).abs() < 1e-9, "{means:?}");
    }
}
