//! Learning-curve prediction on real training logs (tests/data, see tests/data/PROVENANCE.md).
//!
//! For each curve, the first half of the points (by x) is given to `predict`, and its curve is compared
//! with the second half. The baseline predicts the last value of the first half forever. The test
//! asserts that the model has the lower RMSE on the second half for a clear majority of the curves and
//! prints a table of the results.
//!
//! There are no log importers yet, so small loaders live here. Step counters start at 0 in some logs
//! and the log and power families need x > 0, so x is always `step + 1` (or `row index + 1` for logs
//! with no step column). A log that holds several runs one after another (the step goes backwards)
//! contributes its longest run.

use std::path::PathBuf;

use curvewatch::analysis::prediction::{predict, PredictOptions};
use serde_json::Value;

/// One loss curve.
struct Curve {
    name: String,
    x: Vec<f64>,
    y: Vec<f64>,
}

fn read(file: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "data", file]
        .iter()
        .collect();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Builds a curve from `(step, value)` pairs in file order, with `x = step + 1`. When the step goes
/// backwards the log holds several runs one after another (Keras CSVLogger with `append=True` does
/// this); only the longest run is kept (the last one on a tie).
fn curve(file: &str, what: &str, pairs: Vec<(f64, f64)>) -> Curve {
    let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for (s, v) in pairs {
        let restart = runs
            .last()
            .and_then(|r| r.last())
            .is_some_and(|(prev, _)| s < *prev);
        if restart {
            runs.push(Vec::new());
        }
        runs.last_mut().expect("at least one run").push((s, v));
    }
    let longest = runs
        .into_iter()
        .rev()
        .max_by_key(|r| r.len())
        .unwrap_or_default();
    let short = file.split("__").next().unwrap_or(file);
    let (x, y) = longest.into_iter().map(|(s, v)| (s + 1.0, v)).unzip();
    Curve {
        name: format!("{short} {what}"),
        x,
        y,
    }
}

/// HF Trainer `trainer_state.json`: rows of `log_history` that have `key` (e.g. `loss`, `eval_loss`).
fn hf_trainer_state(file: &str, key: &str) -> Curve {
    let v: Value = serde_json::from_str(&read(file)).expect("trainer_state.json is JSON");
    let rows = v["log_history"].as_array().cloned().unwrap_or_default();
    let pairs = rows
        .iter()
        .filter_map(|r| Some((r["step"].as_f64()?, r[key].as_f64()?)))
        .collect();
    curve(file, key, pairs)
}

/// A CSV with a header (Lightning CSVLogger `metrics.csv`, Keras CSVLogger): rows where `y_col` is
/// not empty; x from `x_col`, or the row's index among those rows when `x_col` is `None`.
fn csv(file: &str, x_col: Option<&str>, y_col: &str) -> Curve {
    let text = read(file);
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let col = |name: &str| header.iter().position(|h| h.trim() == name);
    let yi = col(y_col).unwrap_or_else(|| panic!("{file}: no column {y_col}"));
    let xi = x_col.map(|c| col(c).unwrap_or_else(|| panic!("{file}: no column {c}")));
    let rows = lines.map(|l| l.split(',').collect::<Vec<_>>());
    let values = rows.filter_map(|r| {
        let y: f64 = r.get(yi)?.trim().parse().ok()?;
        let x: Option<f64> = xi
            .map(|i| r.get(i).and_then(|s| s.trim().parse().ok()))
            .unwrap_or(Some(f64::NAN));
        Some((x?, y))
    });
    let pairs = values
        .enumerate()
        .map(|(i, (x, y))| (if x.is_nan() { i as f64 } else { x }, y))
        .collect();
    curve(file, y_col, pairs)
}

/// JSON lines: objects with a numeric `x_key` and `y_key` (rows where either is null are skipped).
fn jsonl(file: &str, x_key: &str, y_key: &str) -> Curve {
    let rows = read(file)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .collect::<Vec<_>>();
    let pairs = rows
        .iter()
        .filter_map(|r| Some((r[x_key].as_f64()?, r[y_key].as_f64()?)))
        .collect();
    curve(file, y_key, pairs)
}

/// llm.c `main.log`: lines `s:<step> trl:<train loss> lr:… norm:…` and `s:<step> tel:<val loss>`.
fn llmc_log(file: &str, key: &str) -> Curve {
    let text = read(file);
    let field = |tok: &str, name: &str| {
        tok.strip_prefix(name)?
            .strip_prefix(':')?
            .parse::<f64>()
            .ok()
    };
    let pairs = text
        .lines()
        .filter_map(|l| {
            let mut toks = l.split_whitespace();
            let step = field(toks.next()?, "s")?;
            Some((step, field(toks.next()?, key)?))
        })
        .collect();
    curve(file, key, pairs)
}

/// A tab-separated `step<TAB>loss` log with a header line.
fn tsv(file: &str) -> Curve {
    let text = read(file);
    let pairs = text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (s, v) = l.split_once('\t')?;
            Some((s.trim().parse().ok()?, v.trim().parse().ok()?))
        })
        .collect();
    curve(file, "loss", pairs)
}

/// How a log file is read.
enum Format {
    /// HF `trainer_state.json`.
    HfState,
    /// CSV with an x column (or none: the row index).
    Csv(Option<&'static str>),
    /// JSON lines with this x key.
    Jsonl(&'static str),
    /// llm.c `main.log`.
    Llmc,
    /// `step<TAB>loss`.
    Tsv,
}

/// Every curve used: format, file in tests/data, loss key.
const CURVES: &[(Format, &str, &str)] = &[
    (
        Format::HfState,
        "Francis-xsc__BERT_Weibo_Rumor__trainer_state.json",
        "loss",
    ),
    (
        Format::HfState,
        "Jaong__Checkpoint-of-CPT__trainer_state.json",
        "loss",
    ),
    (
        Format::HfState,
        "Jaong__Checkpoint-of-CPT__trainer_state.json",
        "eval_loss",
    ),
    (
        Format::HfState,
        "SeanGormann__llm_recovery__checkpoint-1000_trainer_state.json",
        "loss",
    ),
    (
        Format::HfState,
        "aigoncharov__trainer_state_viz__trainer_state.json",
        "loss",
    ),
    (
        Format::HfState,
        "prestonfrost__AI-Project__checkpoint-10000_trainer_state.json",
        "loss",
    ),
    (
        Format::Csv(Some("step")),
        "0Xero7__slm_training__lightning_logs_version_0_metrics.csv",
        "train_loss_step",
    ),
    (
        Format::Csv(Some("step")),
        "0Xero7__slm_training__lightning_logs_version_0_metrics.csv",
        "val_loss",
    ),
    (
        Format::Csv(Some("step")),
        "HCDescamps__cv-image-classification__lightning_logs_version_0_metrics.csv",
        "train_loss",
    ),
    (
        Format::Csv(Some("step")),
        "DiogoFerreira7__LSTM-Implementation__lightning_logs_version_11_metrics.csv",
        "train_loss",
    ),
    (
        Format::Csv(Some("step")),
        "HoseinNasiriShahraki__DeepLearning__lightning_logs_version_17_metrics.csv",
        "loss",
    ),
    (
        Format::Csv(Some("step")),
        "HoseinNasiriShahraki__DeepLearning__lightning_logs_version_17_metrics.csv",
        "validation_epoch_average",
    ),
    (
        Format::Csv(Some("epoch")),
        "AkshatSharma5__Brain_Tumor_Image_Classification_using_CNN__training_log.csv",
        "loss",
    ),
    (
        Format::Csv(Some("epoch")),
        "AkshatSharma5__Brain_Tumor_Image_Classification_using_CNN__training_log.csv",
        "val_loss",
    ),
    (
        Format::Csv(None),
        "Mehak-Thakur__Emotion-detection-system__training_history.csv",
        "train_loss",
    ),
    (
        Format::Csv(None),
        "Mehak-Thakur__Emotion-detection-system__training_history.csv",
        "val_loss",
    ),
    (
        Format::Csv(None),
        "leopoldmaillard__cnn-landmarks-aflw2000__history.csv",
        "loss",
    ),
    (
        Format::Csv(None),
        "leopoldmaillard__cnn-landmarks-aflw2000__history.csv",
        "val_loss",
    ),
    (
        Format::Csv(Some("epoch")),
        "4hmetcakmak__BraTS2020CapstoneProject__training.log",
        "loss",
    ),
    (
        Format::Csv(Some("epoch")),
        "4hmetcakmak__BraTS2020CapstoneProject__training.log",
        "val_loss",
    ),
    (
        Format::Jsonl("step"),
        "akawslearn-ai__slm_training__metrics.jsonl",
        "loss",
    ),
    (
        Format::Jsonl("current_steps"),
        "suzushi-tw__luojiu-7b-base__trainer_log.jsonl",
        "loss",
    ),
    (
        Format::Llmc,
        "SiddanthEmani__GPT-2-124M-CUDA__log124M_main.log",
        "trl",
    ),
    (
        Format::Llmc,
        "SiddanthEmani__GPT-2-124M-CUDA__log124M_main.log",
        "tel",
    ),
    (
        Format::Tsv,
        "Jayant-Guru-Shrivastava__ERAV4-Session11-shakespeare-gpt2-124M__logs_train.log",
        "loss",
    ),
];

fn curves() -> Vec<Curve> {
    let load = |(format, file, key): &(Format, &str, &str)| match format {
        Format::HfState => hf_trainer_state(file, key),
        Format::Csv(x) => csv(file, *x, key),
        Format::Jsonl(x) => jsonl(file, x, key),
        Format::Llmc => llmc_log(file, key),
        Format::Tsv => tsv(file),
    };
    CURVES.iter().map(load).collect()
}

fn rmse(pred: impl Iterator<Item = f64>, truth: &[f64]) -> f64 {
    let sse: f64 = pred.zip(truth).map(|(p, t)| (p - t).powi(2)).sum();
    (sse / truth.len() as f64).sqrt()
}

/// The model's and the baseline's RMSE on the second half of a curve, and the chosen family.
fn evaluate(c: &Curve, options: &PredictOptions) -> (f64, f64, &'static str) {
    let half = c.x.len() / 2;
    let (x2, y2) = (&c.x[half..], &c.y[half..]);
    let opts = options.clone().with_horizon(c.x[c.x.len() - 1]);
    let p =
        predict(&c.x[..half], &c.y[..half], &opts).unwrap_or_else(|e| panic!("{}: {e}", c.name));
    let model = rmse(
        x2.iter()
            .map(|x| p.curve.value(*x).expect("finite prediction")),
        y2,
    );
    let last = c.y[half - 1];
    (model, rmse(x2.iter().map(|_| last), y2), p.family.name())
}

#[test]
fn prediction_beats_the_last_value_baseline_on_most_real_curves() {
    let curves = curves();
    let (mut wins, mut log_ratio) = (0, 0.0);
    println!(
        "{:<46} {:>6} {:>10} {:>11} {:>11} {:>4}",
        "curve", "n", "family", "model RMSE", "last RMSE", "win"
    );
    for c in &curves {
        assert!(
            c.x.len() >= 8,
            "{}: only {} points loaded",
            c.name,
            c.x.len()
        );
        let (model, baseline, family) = evaluate(c, &PredictOptions::default());
        let win = model < baseline;
        wins += usize::from(win);
        log_ratio += (model / baseline).ln();
        let mark = if win { "yes" } else { "no" };
        println!(
            "{:<46} {:>6} {:>10} {:>11.5} {:>11.5} {:>4}",
            c.name,
            c.x.len(),
            family,
            model,
            baseline,
            mark
        );
    }
    let n = curves.len();
    let geo = (log_ratio / n as f64).exp();
    println!(
        "model better on {wins} of {n} curves; geometric mean of model/baseline RMSE {geo:.3}"
    );
    assert!(n >= 8);
    assert!(
        wins * 5 >= n * 3,
        "a clear majority (60%) needed; the model won on {wins} of {n} curves"
    );
    assert!(
        geo < 1.0,
        "the model's RMSE should be below the baseline's on (geometric) average: {geo}"
    );
}

/// How the result depends on the main options (run with `--ignored --nocapture`).
#[test]
#[ignore]
fn sensitivity_to_options() {
    use curvewatch::analysis::prediction::Family;
    for recency in [0.0, 1.0] {
        for holdout in [0.2, 0.25] {
            for (fams, name) in [
                (&Family::ALL[..], "all"),
                (&Family::SATURATING[..], "saturating"),
            ] {
                let o = PredictOptions::default()
                    .with_recency(recency)
                    .with_holdout_fraction(holdout);
                let o = o.with_families(fams);
                let runs: Vec<(f64, f64, &str)> =
                    curves().iter().map(|c| evaluate(c, &o)).collect();
                let wins = runs.iter().filter(|r| r.0 < r.1).count();
                let geo =
                    (runs.iter().map(|r| (r.0 / r.1).ln()).sum::<f64>() / runs.len() as f64).exp();
                println!("recency {recency} holdout {holdout} {name:<10}: wins {wins}/{}, geo-mean ratio {geo:.3}", runs.len());
            }
        }
    }
}
