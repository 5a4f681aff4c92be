//! From a metric name as a user types it (`val_loss`, `valid/loss`, `eval_loss`, `loss`) to a series
//! of an imported history.
//!
//! The rules are the importer's, so that a name as the logger wrote it finds the series it became:
//! 1. a series label as curvewatch prints it (`train/loss`, `valid/loss`, `valid/test/loss`) is taken
//!    as is;
//! 2. a split prefix (`train_`, `train/`, `training_`; `val_`, `val/`, `valid_`, `valid/`,
//!    `validation_`, `eval_`, `eval/`; `test_`, `test/`, `predict_`) or else suffix (`_train`;
//!    `_val`, `_valid`, `_validation`; `_test`) names the split, the rest is the metric: `val_loss` →
//!    valid `loss`; test metrics are valid `test/<name>`; without a marker it is a training metric
//!    (`loss` → train `loss`); `learning_rate` and `lr-*` are `lr`;
//!    HF's several eval sets: `eval_<set>_<metric>` is valid `<set>/<metric>` when that series
//!    exists (`eval_g0_accuracy` → valid `g0/accuracy`), as the importer names them;
//! 3. failing that, for a name with a `/` in it, a series of that name, if exactly one split has it
//!    (a namespaced name that the importer placed in the validation split, such as HF's
//!    `g0/accuracy` of several eval sets). A plain `loss` never falls back to `valid/loss`.

use curvewatch::import::metric_name;
use curvewatch::{History, Series, Split};

/// The (split, name) a user's metric name stands for, by rule 2 of the module docs: the importers'
/// own mapping, so a name means on the command line what it meant in the log.
pub fn parse(text: &str) -> (Split, String) {
    metric_name(text)
}

/// The series `text` names in `history` (see the module docs), or `None`.
pub fn find<'h>(history: &'h History, text: &str) -> Option<&'h Series> {
    let text = text.trim();
    if let Some((_, s)) = history.iter().find(|(_, s)| s.label() == text) {
        return Some(s);
    }
    let (split, name) = parse(text);
    if let Some(s) = history.get(split, &name) {
        return Some(s);
    }
    if split == Split::Valid {
        if let Some(s) = history.get(split, &name.replacen('_', "/", 1)) {
            return Some(s);
        }
    }
    if !text.contains('/') {
        return None;
    }
    let mut by_name = history.iter().filter(|(_, s)| s.name() == text);
    match (by_name.next(), by_name.next()) {
        (Some((_, s)), None) => Some(s),
        _ => None,
    }
}

/// The labels of the non-empty series of `history`, for "no such metric" messages.
pub fn available(history: &History) -> String {
    let labels: Vec<String> = history
        .iter()
        .filter(|(_, s)| !s.is_empty())
        .map(|(_, s)| s.label())
        .collect();
    if labels.is_empty() {
        "no series".to_owned()
    } else {
        labels.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_splits_like_the_importer() {
        let cases = [
            (
                "val_loss",
                Split::Valid,
                "loss",
                "Keras's validation prefix",
            ),
            ("valid/loss", Split::Valid, "loss", "curvewatch's own label"),
            ("eval_loss", Split::Valid, "loss", "HF's eval prefix"),
            ("validation_acc", Split::Valid, "acc", "long prefix"),
            ("loss", Split::Train, "loss", "no marker: training"),
            ("train_loss", Split::Train, "loss", "training prefix"),
            ("loss_val", Split::Valid, "loss", "suffix marker"),
            (
                "test_loss",
                Split::Valid,
                "test/loss",
                "test goes to valid test/",
            ),
            ("learning_rate", Split::Train, "lr", "the LR is lr"),
            ("val_", Split::Train, "val_", "a bare prefix is a name"),
        ];
        for (text, split, name, why) in cases {
            assert_eq!(parse(text), (split, name.to_owned()), "{why}");
        }
    }

    #[test]
    fn find_tries_label_mapping_then_bare_name() {
        let mut h = History::new();
        let keys = [
            h.key(Split::Train, "loss"),
            h.key(Split::Valid, "loss"),
            h.key(Split::Valid, "g0/accuracy"),
            h.key(Split::Valid, "accuracy"),
        ];
        for k in keys {
            h.record(k, 1, 0.0, 1.0);
        }
        let cases = [
            ("valid/loss", Some("valid/loss"), "label"),
            ("val_loss", Some("valid/loss"), "prefix"),
            ("loss", Some("train/loss"), "bare loss is training"),
            (
                "g0/accuracy",
                Some("valid/g0/accuracy"),
                "bare name, one split",
            ),
            (
                "eval_g0_accuracy",
                Some("valid/g0/accuracy"),
                "HF's eval set prefix",
            ),
            ("val_acc", None, "absent"),
            (
                "accuracy",
                None,
                "a plain name is a training metric, never another split's",
            ),
        ];
        for (text, want, why) in cases {
            assert_eq!(find(&h, text).map(|s| s.label()).as_deref(), want, "{why}");
        }
        assert_eq!(
            available(&h),
            "train/loss, valid/loss, valid/g0/accuracy, valid/accuracy"
        );
    }
}
