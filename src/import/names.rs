//! From a logger's metric name to a curvewatch (split, name): `val_loss` → (valid, `loss`),
//! `train/acc` → (train, `acc`), `learning_rate` → (train, `lr`), `test_loss` → (valid, `test/loss`).

use crate::Split;

/// What a raw name denotes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Mapped {
    /// A metric series.
    Metric(Split, String),
    /// Throughput or wall-clock figures (`eval_runtime`, `*_samples_per_second`, `total_flos`,
    /// `epoch_time`): skipped unless timing is asked for.
    Timing(Split, String),
}

const TRAIN_PREFIXES: [&str; 4] = ["train/", "train_", "training/", "training_"];
const VALID_PREFIXES: [&str; 8] = [
    "val/",
    "val_",
    "valid/",
    "valid_",
    "validation/",
    "validation_",
    "eval/",
    "eval_",
];
const TEST_PREFIXES: [&str; 4] = ["test/", "test_", "predict/", "predict_"];
const TRAIN_SUFFIXES: [&str; 2] = ["_train", "/train"];
const VALID_SUFFIXES: [&str; 5] = ["_val", "_valid", "_validation", "/val", "/valid"];
const TEST_SUFFIXES: [&str; 2] = ["_test", "/test"];

/// Maps a raw metric name. Split markers are recognised as a prefix (`train_`, `val/`, `eval_`,
/// `test_`...) or, failing that, a suffix (`loss_val`); the rest is the name. Without a marker the
/// metric is a training one. Test and predict metrics go to the valid split under a `test/` prefix,
/// since curvewatch has two splits. The learning rate is called `lr` whatever the logger called it.
pub(crate) fn map_name(raw: &str) -> Mapped {
    let (split, rest, test) = split_of(raw);
    let rest = if test {
        format!("test/{rest}")
    } else {
        rest.to_owned()
    };
    let name = canonical_lr(&rest).unwrap_or(rest);
    if is_timing(&name) {
        Mapped::Timing(split, name)
    } else {
        Mapped::Metric(split, name)
    }
}

/// The (split, name) a logger's metric name stands for, whatever the name denotes (timing names
/// included): `val_loss` → (valid, `loss`), `train/acc` → (train, `acc`), `learning_rate` → (train,
/// `lr`), `test_loss` → (valid, `test/loss`). The importers and the command line share it, so a name
/// given on the command line means what it meant in the log.
///
/// ```
/// use curvewatch::import::metric_name;
/// use curvewatch::Split;
/// assert_eq!(metric_name("val_loss"), (Split::Valid, "loss".to_owned()));
/// assert_eq!(metric_name("loss_train"), (Split::Train, "loss".to_owned()));
/// assert_eq!(metric_name("test_acc"), (Split::Valid, "test/acc".to_owned()));
/// ```
pub fn metric_name(raw: &str) -> (Split, String) {
    match map_name(raw.trim()) {
        Mapped::Metric(split, name) | Mapped::Timing(split, name) => (split, name),
    }
}

fn split_of(raw: &str) -> (Split, &str, bool) {
    let lower = raw.to_ascii_lowercase();
    let groups: [(&[&str], Split, bool); 3] = [
        (&TRAIN_PREFIXES, Split::Train, false),
        (&VALID_PREFIXES, Split::Valid, false),
        (&TEST_PREFIXES, Split::Valid, true),
    ];
    for (prefixes, split, test) in groups {
        if let Some(p) = prefixes
            .iter()
            .find(|p| lower.starts_with(*p) && lower.len() > p.len())
        {
            return (split, &raw[p.len()..], test);
        }
    }
    let groups: [(&[&str], Split, bool); 3] = [
        (&TRAIN_SUFFIXES, Split::Train, false),
        (&VALID_SUFFIXES, Split::Valid, false),
        (&TEST_SUFFIXES, Split::Valid, true),
    ];
    for (suffixes, split, test) in groups {
        if let Some(s) = suffixes
            .iter()
            .find(|s| lower.ends_with(*s) && lower.len() > s.len())
        {
            return (split, &raw[..raw.len() - s.len()], test);
        }
    }
    (Split::Train, raw, false)
}

/// `learning_rate`, `lr`, and Lightning's `lr-Adam` / `lr-AdamW/pg1` are all `lr`.
fn canonical_lr(name: &str) -> Option<String> {
    let lower = name.to_ascii_lowercase();
    let is_lr = lower == "lr"
        || lower == "learning_rate"
        || lower == "learningrate"
        || lower.starts_with("lr-");
    is_lr.then(|| "lr".to_owned())
}

/// Throughput and wall-clock names, which are not learning curves.
pub(crate) fn is_timing(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    let n = n.rsplit('/').next().unwrap_or(&n);
    n == "runtime"
        || n.ends_with("_runtime")
        || n.ends_with("per_second")
        || n.ends_with("flos")
        || n == "time"
        || n.ends_with("_time")
        || n == "elapsed"
        || n == "dt"
        || n == "eta"
}

/// Keys that carry the step of a record, most specific first.
pub(crate) const STEP_KEYS: [&str; 12] = [
    "step",
    "global_step",
    "current_steps",
    "trainer/global_step",
    "train/global_step",
    "_step",
    "iter",
    "iteration",
    "iters",
    "it",
    "steps",
    "batch",
];

/// Keys that carry the epoch of a record.
pub(crate) const EPOCH_KEYS: [&str; 3] = ["epoch", "train/epoch", "epochs"];

/// Whether `name` is one of [`STEP_KEYS`] (ignoring case).
pub(crate) fn step_rank(name: &str) -> Option<usize> {
    STEP_KEYS.iter().position(|k| k.eq_ignore_ascii_case(name))
}

/// Whether `name` is one of [`EPOCH_KEYS`] (ignoring case).
pub(crate) fn is_epoch_key(name: &str) -> bool {
    EPOCH_KEYS.iter().any(|k| k.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(split: Split, name: &str) -> Mapped {
        Mapped::Metric(split, name.to_owned())
    }

    #[test]
    fn names_from_the_real_logs() {
        let cases: &[(&str, Mapped, &str)] = &[
            ("loss", m(Split::Train, "loss"), "no marker is training"),
            ("val_loss", m(Split::Valid, "loss"), "Keras valid prefix"),
            ("val/acc", m(Split::Valid, "acc"), "Lightning slash"),
            (
                "train_loss_step",
                m(Split::Train, "loss_step"),
                "Lightning step variant",
            ),
            (
                "train_loss_epoch",
                m(Split::Train, "loss_epoch"),
                "Lightning epoch variant",
            ),
            (
                "eval_accuracy",
                m(Split::Valid, "accuracy"),
                "HF eval prefix",
            ),
            (
                "eval_g0/loss",
                m(Split::Valid, "g0/loss"),
                "HF eval set, rewritten",
            ),
            (
                "test_loss",
                m(Split::Valid, "test/loss"),
                "test goes to valid with a prefix",
            ),
            (
                "predict_rouge-1",
                m(Split::Valid, "test/rouge-1"),
                "HF predict rows",
            ),
            (
                "learning_rate",
                m(Split::Train, "lr"),
                "HF learning rate is lr",
            ),
            (
                "lr-AdamW/pg1",
                m(Split::Train, "lr"),
                "Lightning LearningRateMonitor",
            ),
            (
                "train/acc_0",
                m(Split::Train, "acc_0"),
                "HF custom train keys",
            ),
            (
                "rewards/accuracies",
                m(Split::Train, "rewards/accuracies"),
                "TRL keys kept",
            ),
            (
                "validation_epoch_average",
                m(Split::Valid, "epoch_average"),
                "long prefix",
            ),
            ("loss_val", m(Split::Valid, "loss"), "suffix marker"),
            ("val", m(Split::Train, "val"), "a marker alone is a name"),
        ];
        for (raw, want, why) in cases {
            assert_eq!(map_name(raw), *want, "{why}: {raw}");
        }
    }

    #[test]
    fn timing_names_are_recognised() {
        let cases: &[(&str, bool, &str)] = &[
            ("eval_runtime", true, "HF eval timing"),
            ("eval_g0_samples_per_second", true, "HF per-set throughput"),
            ("total_flos", true, "HF summary"),
            ("epoch_time", true, "Lightning epoch timer"),
            ("gen_len", false, "a real metric"),
            ("timesteps", false, "not a time suffix"),
        ];
        for (raw, want, why) in cases {
            assert_eq!(
                matches!(map_name(raw), Mapped::Timing(..)),
                *want,
                "{why}: {raw}"
            );
        }
    }
}
