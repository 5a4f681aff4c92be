//! Burn's metric names (`Loss`, `Accuracy`, `Learning Rate`) as curvewatch names (`loss`,
//! `accuracy`, `lr`).

/// The curvewatch name of a Burn metric: lower case, with every run of characters other than
/// letters, digits, `@`, `.` and `/` turned into one `_`, trimmed of `_` at both ends; Burn's
/// learning-rate metric (and any `learning rate` / `lr` spelling) becomes `lr`, the name the bus
/// uses for the rate. The split is not part of the name: it comes from Burn's `Split`.
///
/// A name with nothing left (empty, or only separators) becomes `metric`.
///
/// ```
/// use curvewatch_burn::curvewatch_name;
/// assert_eq!(curvewatch_name("Loss"), "loss");
/// assert_eq!(curvewatch_name("Accuracy"), "accuracy");
/// assert_eq!(curvewatch_name("Learning Rate"), "lr");
/// assert_eq!(curvewatch_name("Top-K Accuracy @ TopK(5)"), "top_k_accuracy_@_topk_5");
/// ```
pub fn curvewatch_name(burn_name: &str) -> String {
    let mut out = String::with_capacity(burn_name.len());
    let mut gap = false;
    for c in burn_name.chars() {
        if c.is_alphanumeric() || matches!(c, '@' | '.' | '/') {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    if out.is_empty() {
        return "metric".to_owned();
    }
    if is_lr(&out) {
        return "lr".to_owned();
    }
    out
}

/// Whether a normalised name is a learning rate.
fn is_lr(name: &str) -> bool {
    matches!(name, "lr" | "learning_rate" | "learningrate")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burn_names_map_to_curvewatch_names() {
        let cases: &[(&str, &str, &str)] = &[
            ("Loss", "loss", "burn's LossMetric"),
            ("Accuracy", "accuracy", "burn's AccuracyMetric"),
            (
                "Learning Rate",
                "lr",
                "burn's LearningRateMetric is the bus's lr",
            ),
            ("learning_rate", "lr", "already snake case"),
            (
                "Iteration Speed",
                "iteration_speed",
                "spaces become one underscore",
            ),
            ("  CPU  Usage ", "cpu_usage", "runs of spaces and the ends"),
            (
                "Top-K Accuracy @ TopK(5)",
                "top_k_accuracy_@_topk_5",
                "punctuation collapses",
            ),
            ("Perplexity", "perplexity", "a plain word"),
            ("", "metric", "empty name"),
            ("--", "metric", "only separators"),
            ("F1/macro", "f1/macro", "slashes are kept"),
        ];
        for (raw, want, why) in cases {
            assert_eq!(curvewatch_name(raw), *want, "{why}");
        }
    }
}
