//! `curvewatch replay`: stop indices computed by hand from Keras's and Lightning's rules.

use serde_json::{json, Value};

use crate::support::{curvewatch, TempDir};

/// `epoch,val_loss` with a NaN at index 3 and the best value (0.6) after it.
const LOG: &str =
    "epoch,val_loss\n0,1.0\n1,0.8\n2,0.7\n3,nan\n4,0.6\n5,0.65\n6,0.66\n7,0.64\n8,0.67\n";

fn replay(dir: &TempDir, args: &[&str]) -> Value {
    let path = dir.file("es.csv", LOG);
    let mut all = vec![
        "replay",
        path.to_str().unwrap(),
        "--monitor",
        "val_loss",
        "--json",
    ];
    all.extend_from_slice(args);
    curvewatch(&all).ok().json()
}

/// Arguments, stop index, best (index, value), rule, and why.
type Case = (
    &'static [&'static str],
    Option<u64>,
    Option<(u64, f64)>,
    &'static str,
    &'static str,
);

/// The expected JSON without the reason, and the rule the reason must start with.
fn want(stop: Option<u64>, best: Option<(u64, f64)>) -> Value {
    json!({
        "stopped": stop.is_some(),
        "stop_index": stop,
        "stop_step": stop, // the epoch column is the step
        "best_index": best.map(|b| b.0),
        "best_value": best.map(|b| b.1),
    })
}

#[test]
fn stop_indices_match_the_frameworks_rules() {
    let dir = TempDir::new("replay");
    let cases: [Case; 11] = [
        (&["--semantics", "keras"], Some(3), Some((2, 0.7)), "patience_exhausted",
            "Keras patience 0: the NaN is no improvement, epoch 3 > 0, stop there"),
        (&["--semantics", "keras", "--patience", "2"], Some(6), Some((4, 0.6)), "patience_exhausted",
            "NaN waits 1, 0.6 resets, 0.65 and 0.66 wait 1 and 2"),
        (&["--semantics", "keras", "--patience", "2", "--check-finite"], Some(3), Some((2, 0.7)), "non_finite",
            "check_finite stops exactly at the NaN"),
        (&["--semantics", "lightning"], Some(3), Some((2, 0.7)), "non_finite",
            "Lightning checks finiteness by default"),
        (&[], Some(3), Some((2, 0.7)), "non_finite", "Lightning is the default semantics"),
        (&["--semantics", "lightning", "--no-check-finite"], Some(7), Some((4, 0.6)), "patience_exhausted",
            "without the check, patience 3 runs out at 0.64 (0.65, 0.66, 0.64 all above 0.6)"),
        (&["--no-check-finite", "--patience", "1", "--min-delta", "0.15"], Some(2), Some((1, 0.8)), "patience_exhausted",
            "0.8 beats 1.0 by 0.2 > 0.15; 0.7 beats 0.8 by only 0.1"),
        (&["--no-check-finite", "--patience", "1", "--relative-min-delta", "0.25"], Some(1), Some((0, 1.0)), "patience_exhausted",
            "0.8 beats 1.0 by 0.2, less than 25% of 1.0"),
        (&["--stopping-threshold", "0.75"], Some(2), Some((1, 0.8)), "stopping_threshold",
            "0.7 beats the target 0.75; the threshold is checked before the improvement"),
        (&["--semantics", "keras", "--patience", "1", "--baseline", "0.5"], Some(3), Some((2, 0.7)), "baseline_not_reached",
            "no value beats the baseline, so the wait never resets; epoch 0 is guarded, and an improving check never stops"),
        (&["--semantics", "keras", "--start-from-epoch", "4"], Some(5), Some((4, 0.6)), "patience_exhausted",
            "epochs 0-3 ignored (indices still count them); 0.65 does not beat 0.6"),
    ];
    for (args, stop, best, rule, why) in cases {
        let mut got = replay(&dir, args);
        let reason = got["reason"].as_str().unwrap_or("").to_owned();
        got.as_object_mut().unwrap().remove("reason");
        assert_eq!(got, want(stop, best), "{why} ({args:?})");
        assert!(reason.starts_with(&format!("{rule}: ")), "{why}: {reason}");
    }
}

#[test]
fn mode_max_and_a_threshold_that_never_fires() {
    let dir = TempDir::new("replay-mode");
    // Keras patience 0, maximising: 1.0 is the best, 0.8 does not improve on it at epoch 1.
    assert_eq!(
        replay(&dir, &["--semantics", "keras", "--mode", "max"])["stop_index"],
        1
    );
    // A divergence threshold of 2.0 is never crossed and NaN is not checked: patience 3 decides.
    let got = replay(
        &dir,
        &["--no-check-finite", "--divergence-threshold", "2.0"],
    );
    assert_eq!(got["stop_index"], 7);
    // A divergence threshold of 0.9 is crossed by the very first value (1.0).
    let got = replay(&dir, &["--divergence-threshold", "0.9"]);
    assert_eq!(
        (got["stop_index"].clone(), got["best_index"].clone()),
        (json!(0), Value::Null)
    );
}

#[test]
fn metric_names_map_to_the_imported_series() {
    let dir = TempDir::new("replay-names");
    let path = dir.file("es.csv", LOG);
    for name in ["val_loss", "valid/loss", "eval_loss", "validation_loss"] {
        let run = curvewatch(&[
            "replay",
            path.to_str().unwrap(),
            "--monitor",
            name,
            "--json",
        ])
        .ok();
        assert_eq!(run.json()["stop_index"], 3, "{name}");
    }
    let run = curvewatch(&["replay", path.to_str().unwrap(), "--monitor", "loss"]);
    assert_eq!(run.code, Some(1), "there is no training loss");
    assert!(
        run.stderr.contains("no metric `loss` (read as train/loss)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("the file has: valid/loss"),
        "{}",
        run.stderr
    );
}

#[test]
fn text_output_says_where_and_why() {
    let dir = TempDir::new("replay-text");
    let path = dir.file("es.csv", LOG);
    let run = curvewatch(&["replay", path.to_str().unwrap(), "--monitor", "val_loss"]).ok();
    assert!(
        run.stdout
            .contains("would stop at value #3 (step 3): non_finite"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("best 0.7 at value #2 (step 2, epoch 2)"),
        "{}",
        run.stdout
    );
}
