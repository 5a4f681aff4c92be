//! The meaning of a CSV header: which column is the step, the epoch, pandas' index, or a metric
//! (mapped to a split and name), with Lightning's `_step` variants folded and name clashes resolved.

use super::{Col, MetricCol};
use crate::import::builder::Builder;
use crate::import::names::{is_epoch_key, map_name, step_rank, Mapped};
use crate::import::ImportFormat;
use crate::Split;

/// The role of each column, with `_step` variants folded and name clashes resolved.
pub(super) fn columns(names: &[String], format: ImportFormat, b: &mut Builder<'_>) -> Vec<Col> {
    let step_col = match format {
        ImportFormat::KerasCsv => None,
        ImportFormat::LightningCsv => names.iter().position(|n| n.eq_ignore_ascii_case("step")),
        _ => (0..names.len())
            .filter_map(|i| step_rank(&names[i]).map(|r| (r, i)))
            .min()
            .map(|(_, i)| i),
    };
    let epoch_col = names.iter().position(|n| is_epoch_key(n));
    let mut cols: Vec<Col> = Vec::with_capacity(names.len());
    for (i, raw) in names.iter().enumerate() {
        let col = if Some(i) == step_col {
            Col::Step
        } else if Some(i) == epoch_col {
            Col::Epoch
        } else if raw.is_empty() && i == 0 {
            Col::Index
        } else {
            metric_col(raw, b)
        };
        cols.push(col);
    }
    fold_step_suffix(&mut cols);
    resolve_clashes(&mut cols, names);
    cols
}

fn metric_col(raw: &str, b: &mut Builder<'_>) -> Col {
    if raw.is_empty() {
        return Col::Skip;
    }
    if step_rank(raw).is_some() || is_epoch_key(raw) {
        b.skip(raw);
        return Col::Skip;
    }
    let (split, name) = match map_name(raw) {
        Mapped::Timing(..) if !b.keep_timing() => {
            b.skip(raw);
            return Col::Skip;
        }
        Mapped::Timing(s, n) | Mapped::Metric(s, n) => (s, n),
    };
    Col::Metric(MetricCol {
        split,
        name,
        key: None,
        text: false,
    })
}

/// Lightning's `train_loss_step` is the training curve: it becomes `loss` unless a plain `loss`
/// column of its split exists. `_epoch` variants keep their suffix.
fn fold_step_suffix(cols: &mut [Col]) {
    let taken: Vec<(Split, String)> = cols
        .iter()
        .filter_map(|c| match c {
            Col::Metric(m) => Some((m.split, m.name.clone())),
            _ => None,
        })
        .collect();
    for c in cols.iter_mut() {
        if let Col::Metric(m) = c {
            if let Some(base) = m.name.strip_suffix("_step") {
                if !base.is_empty() && !taken.iter().any(|(s, n)| *s == m.split && n == base) {
                    m.name = base.to_owned();
                }
            }
        }
    }
}

/// Two columns mapped to one series: the later keeps its raw name.
fn resolve_clashes(cols: &mut [Col], names: &[String]) {
    for i in 0..cols.len() {
        let Col::Metric(m) = &cols[i] else { continue };
        let (split, name) = (m.split, m.name.clone());
        let clash = cols[..i]
            .iter()
            .any(|c| matches!(c, Col::Metric(o) if o.split == split && o.name == name));
        if clash {
            if let Col::Metric(m) = &mut cols[i] {
                m.name = names[i].clone();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::ImportOptions;

    fn roles(header: &[&str], format: ImportFormat) -> Vec<String> {
        let opts = ImportOptions::default();
        let mut b = Builder::new(&opts, None);
        let names: Vec<String> = header.iter().map(|s| s.to_string()).collect();
        columns(&names, format, &mut b)
            .iter()
            .map(|c| match c {
                Col::Step => "step".to_owned(),
                Col::Epoch => "epoch".to_owned(),
                Col::Index => "index".to_owned(),
                Col::Skip => "skip".to_owned(),
                Col::Metric(m) => format!("{}/{}", m.split, m.name),
            })
            .collect()
    }

    #[test]
    fn column_roles() {
        let cases: &[(&[&str], ImportFormat, &[&str], &str)] = &[
            (
                &[
                    "epoch",
                    "step",
                    "train_loss_step",
                    "train_loss_epoch",
                    "val_loss",
                ],
                ImportFormat::LightningCsv,
                &[
                    "epoch",
                    "step",
                    "train/loss",
                    "train/loss_epoch",
                    "valid/loss",
                ],
                "the step variant is the training curve",
            ),
            (
                &["step", "train_loss", "train_loss_step"],
                ImportFormat::LightningCsv,
                &["step", "train/loss", "train/loss_step"],
                "a plain column keeps the step variant apart",
            ),
            (
                &["", "loss", "val_loss"],
                ImportFormat::KerasCsv,
                &["index", "train/loss", "valid/loss"],
                "pandas index column",
            ),
            (
                &["iter", "global_step", "lr", "learning_rate", "epoch_time"],
                ImportFormat::PlainCsv,
                &["skip", "step", "train/lr", "train/learning_rate", "skip"],
                "best step key wins, clash keeps the raw name, timing skipped",
            ),
        ];
        for (header, format, want, why) in cases {
            assert_eq!(roles(header, *format), *want, "{why}");
        }
    }
}
