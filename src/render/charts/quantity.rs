//! Which panel a series goes to: one panel per measured quantity, not per series name.
//!
//! `loss`, `epoch_loss`, `g0/loss` and `eval_g0_loss` all measure a loss, so a run's training loss,
//! its epoch mean and every evaluation set's loss share one panel (the one comparison that shows
//! overfitting); each series keeps its own name in the legend (`valid g0/loss`).

use crate::event::Split;
use crate::history::{History, Series};

/// Prefixes that name where or how a value was measured, not what: stripped to find the quantity.
const QUALIFIERS: [&str; 10] = [
    "eval_",
    "epoch_",
    "train_",
    "training_",
    "val_",
    "valid_",
    "validation_",
    "test_",
    "mean_",
    "avg_",
];

/// The quantity a metric name measures: the part after the last `/`, without qualifying prefixes
/// (`eval_`, `epoch_`, `val_`, ...) and set names such as `g0_`. A name that would become empty is
/// its own quantity.
pub(crate) fn quantity(name: &str) -> &str {
    let mut q = name.rsplit('/').next().unwrap_or(name);
    loop {
        let before = q;
        for p in QUALIFIERS {
            if let Some(rest) = q.strip_prefix(p) {
                q = rest;
            }
        }
        q = strip_set_name(q);
        if q == before {
            break;
        }
    }
    if q.is_empty() {
        name
    } else {
        q
    }
}

/// `g0_loss` → `loss`: a leading word of letters then digits, followed by `_`, names an evaluation set.
fn strip_set_name(q: &str) -> &str {
    let Some((head, rest)) = q.split_once('_') else {
        return q;
    };
    let letters = head.trim_end_matches(|c: char| c.is_ascii_digit());
    let is_set = !rest.is_empty()
        && letters.len() < head.len()
        && letters.chars().all(|c| c.is_ascii_alphabetic());
    if is_set {
        rest
    } else {
        q
    }
}

/// The series of one panel, in drawing order (training first), and the quantity it shows.
#[derive(Debug)]
pub(crate) struct Group<'a> {
    pub quantity: String,
    pub series: Vec<&'a Series>,
}

/// Groups the non-empty series of `history` (except `skip`) by quantity: loss first, then the others in
/// the order they were registered.
pub(crate) fn groups<'a>(history: &'a History, skip: &str) -> Vec<Group<'a>> {
    let mut out: Vec<Group<'a>> = Vec::new();
    for (_, s) in history.iter() {
        if s.is_empty() || s.name() == skip {
            continue;
        }
        let q = quantity(s.name());
        match out.iter_mut().find(|g| g.quantity == q) {
            Some(g) => g.series.push(s),
            None => out.push(Group {
                quantity: q.to_owned(),
                series: vec![s],
            }),
        }
    }
    for g in &mut out {
        g.series.sort_by_key(|s| s.split() != Split::Train);
    }
    out.sort_by_key(|g| g.quantity != "loss");
    out
}

/// The legend entry of a series: its split and its name as logged (`train loss`, `valid g0/loss`).
pub(crate) fn label(s: &Series) -> String {
    format!("{} {}", s.split().as_str(), s.name())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        let cases = [
            ("loss", "loss", "plain"),
            ("epoch_loss", "loss", "epoch mean of the loss"),
            ("g0/loss", "loss", "evaluation set as a path"),
            ("eval_g5_loss", "loss", "HF trainer's evaluation set"),
            ("val_accuracy", "accuracy", "Keras validation"),
            ("grad_norm", "grad_norm", "a name with an underscore stays"),
            ("eval", "eval", "llm.c's eval column keeps its name"),
            ("eval_", "eval_", "nothing left: the whole name"),
            ("top5_acc", "acc", "a set-like word is stripped"),
            ("f1", "f1", "a word with digits alone stays"),
        ];
        for (name, want, why) in cases {
            assert_eq!(quantity(name), want, "{why}");
        }
    }

    #[test]
    fn groups_put_train_valid_and_every_eval_set_together_loss_first() {
        let mut h = History::new();
        let names = [
            (Split::Valid, "g0/accuracy"),
            (Split::Valid, "g0/loss"),
            (Split::Valid, "g1/loss"),
            (Split::Train, "grad_norm"),
            (Split::Train, "lr"),
            (Split::Train, "loss"),
            (Split::Train, "epoch_loss"),
        ];
        for (split, name) in names {
            let k = h.key(split, name);
            h.record(k, 1, 0.0, 1.0);
        }
        let got: Vec<(String, Vec<String>)> = groups(&h, "lr")
            .iter()
            .map(|g| {
                (
                    g.quantity.clone(),
                    g.series.iter().map(|s| label(s)).collect(),
                )
            })
            .collect();
        let want = [
            (
                "loss",
                vec![
                    "train loss",
                    "train epoch_loss",
                    "valid g0/loss",
                    "valid g1/loss",
                ],
            ),
            ("accuracy", vec!["valid g0/accuracy"]),
            ("grad_norm", vec!["train grad_norm"]),
        ];
        assert_eq!(got.len(), want.len());
        for ((q, labels), (wq, wl)) in got.iter().zip(want) {
            assert_eq!(q, wq);
            assert_eq!(labels, &wl);
        }
    }
}
