//! Unit tests of the text-log parser: line shapes from real logs and from the brief.

use super::*;
use crate::import::builder::Built;
use crate::import::error::Ctx;
use crate::import::{ImportFormat, ImportOptions};
use crate::Split;

fn run(input: &str) -> Result<Built, ImportError> {
    let opts = ImportOptions::default();
    let mut b = Builder::new(&opts, None);
    let ctx = Ctx::new("train.log");
    import(LineReader::new(input.as_bytes(), ctx.clone()), &mut b)?;
    b.finish(&ctx, ImportFormat::PlainText)
}

/// `(split, name) → (steps, values)` of one series.
fn series(built: &Built, split: Split, name: &str) -> (Vec<u64>, Vec<f64>) {
    let s = built
        .history
        .get(split, name)
        .unwrap_or_else(|| panic!("no {split}/{name}"));
    (s.steps().to_vec(), s.values().to_vec())
}

#[test]
fn line_shapes() {
    type Case = (
        &'static str,
        Split,
        &'static str,
        &'static [u64],
        &'static [f64],
        &'static str,
    );
    let cases: &[Case] = &[
        (
            "step 100 | loss 2.31 | lr 3e-4\n",
            Split::Train,
            "lr",
            &[100],
            &[3e-4],
            "pipes",
        ),
        (
            "iter 100: loss 4.2, time 31ms\n",
            Split::Train,
            "loss",
            &[100],
            &[4.2],
            "nanoGPT",
        ),
        (
            "s:100 trl:4.2\ns:100 tel:4.5\n",
            Split::Valid,
            "loss",
            &[100],
            &[4.5],
            "llm.c",
        ),
        (
            "s:5 trl:9.9 lr:0.000001 norm:14.96\n",
            Split::Train,
            "grad_norm",
            &[5],
            &[14.96],
            "llm.c norm",
        ),
        (
            "step 250: train loss 4.2, val loss 4.3\n",
            Split::Valid,
            "loss",
            &[250],
            &[4.3],
            "split words",
        ),
        (
            "0 train 10.95\n0 val 10.9\n250 hella 0.25\n",
            Split::Valid,
            "hellaswag",
            &[250],
            &[0.25],
            "build-nanogpt",
        ),
        (
            "step=3 loss=nan\n",
            Split::Train,
            "loss",
            &[3],
            &[f64::NAN],
            "nan value",
        ),
        (
            "iter 7: acc 93.5%\n",
            Split::Train,
            "acc",
            &[7],
            &[0.935],
            "percent",
        ),
        (
            "2024-05-01 10:00:00,123 - INFO - step 40 | loss 1.5\n",
            Split::Train,
            "loss",
            &[40],
            &[1.5],
            "logging prefix",
        ),
        (
            "step\tloss\n10\t8.46\n20\t7.68\n",
            Split::Train,
            "loss",
            &[10, 20],
            &[8.46, 7.68],
            "header and columns",
        ),
        (
            "10\t2.5\n20\t2.4\n",
            Split::Train,
            "col2",
            &[10, 20],
            &[2.5, 2.4],
            "headerless columns",
        ),
        (
            "Step 5, Learning Rate 0.1\n",
            Split::Train,
            "lr",
            &[5],
            &[0.1],
            "two-word name",
        ),
    ];
    for (input, split, name, steps, values, why) in cases {
        let built = run(input).unwrap_or_else(|e| panic!("{why}: {e}"));
        let (s, v) = series(&built, *split, name);
        assert_eq!(s, *steps, "{why}");
        let same = v
            .iter()
            .zip(*values)
            .all(|(a, b)| a == b || (a.is_nan() && b.is_nan()));
        assert!(same && v.len() == values.len(), "{why}: {v:?}");
    }
}

#[test]
fn keras_console_keeps_the_last_line_of_each_epoch() {
    let input = "Epoch 1/2\n\
        10/20 [====>.....] - ETA: 1s - loss: 0.9000\r20/20 [==========] - 2s 3ms/step - loss: 0.8000 - val_loss: 0.9500\n\
        Epoch 2/2\n\
        20/20 [==========] - 2s 3ms/step - loss: 0.5 - accuracy: 81.5% - val_loss: 0.7\n";
    let built = run(input).unwrap();
    assert_eq!(
        series(&built, Split::Train, "loss"),
        (vec![1, 2], vec![0.8, 0.5])
    );
    assert_eq!(
        series(&built, Split::Valid, "loss"),
        (vec![1, 2], vec![0.95, 0.7])
    );
    assert_eq!(series(&built, Split::Train, "accuracy").1, vec![0.815]);
    assert!(
        built.restarts.is_empty(),
        "progress redraws are not restarts"
    );
    assert!(
        built.history.get(Split::Train, "eta").is_none(),
        "ETA is timing"
    );
}

#[test]
fn noise_is_ignored_and_stepless_files_are_numbered() {
    let input = "Loading model with 8 layers\nstep 1 loss 3.0\nUsing 2 GPUs\nstep 2 loss 2.0\n";
    let built = run(input).unwrap();
    assert_eq!(
        series(&built, Split::Train, "loss"),
        (vec![1, 2], vec![3.0, 2.0])
    );
    assert_eq!(built.history.len(), 1, "noise lines add no series");
    let built = run("loss: 3.0 acc: 0.5\nloss: 2.5 acc: 0.6\n").unwrap();
    assert_eq!(
        series(&built, Split::Train, "loss"),
        (vec![0, 1], vec![3.0, 2.5])
    );
    assert!(built
        .warnings
        .iter()
        .any(|w| w.message.contains("no step found")));
}

#[test]
fn a_log_without_numbers_is_an_error() {
    let err = run("hello\nworld\n").unwrap_err();
    assert!(matches!(err, ImportError::NoMetrics { .. }), "{err}");
    assert!(err.to_string().contains("step 100 | loss 2.31"), "{err}");
}
