//! [`StepInfoMetric`]: carries the learning rate and the epoch progress of each batch to the logger.
//!
//! Burn gives a metric logger only the metric entries of a batch, not the learning rate or the
//! progress; a metric receives both in its `MetricMetadata`. This metric writes them into its entry,
//! in order with the batch's other metrics, and the curvewatch logger reads them back.

use std::sync::Arc;

use burn::tensor::TensorReadError;
use burn::train::metric::{Metric, MetricMetadata, MetricName, SerializedEntry};

/// The name under which the step metric is registered in Burn.
pub(crate) const STEP_METRIC_NAME: &str = "curvewatch step";

/// What the step metric writes at the end of an epoch (there is no batch then).
const EPOCH_END: &str = "end";

/// A Burn training metric that reports, for each batch, the learning rate the optimizer used and how
/// far through the epoch the batch is. Registered by
/// [`with_curvewatch`](crate::CurvewatchLearnerExt::with_curvewatch); its entries are read by
/// [`CurvewatchLogger`](crate::CurvewatchLogger) and are not a learning curve themselves.
#[derive(Clone, Debug)]
pub struct StepInfoMetric {
    name: MetricName,
}

impl StepInfoMetric {
    /// The metric, named `curvewatch step`.
    pub fn new() -> Self {
        StepInfoMetric {
            name: Arc::new(STEP_METRIC_NAME.to_owned()),
        }
    }
}

impl Default for StepInfoMetric {
    fn default() -> Self {
        Self::new()
    }
}

impl Metric for StepInfoMetric {
    type Input = ();

    fn name(&self) -> MetricName {
        self.name.clone()
    }

    fn description(&self) -> Option<String> {
        Some("learning rate and epoch progress of each batch, for curvewatch".to_owned())
    }

    fn update(
        &mut self,
        _item: &(),
        metadata: &MetricMetadata,
    ) -> Result<SerializedEntry, TensorReadError> {
        let lr = metadata.lr.as_ref().and_then(base_lr);
        let p = &metadata.progress;
        let serialized = encode(lr, p.items_processed, p.items_total);
        let formatted = match lr {
            Some(lr) => format!("lr {lr:.3e}"),
            None => "lr n/a".to_owned(),
        };
        Ok(SerializedEntry::new(formatted, serialized))
    }

    fn compute(&mut self) -> Result<SerializedEntry, TensorReadError> {
        Ok(SerializedEntry::new(String::new(), EPOCH_END.to_owned()))
    }

    fn clear(&mut self) {}
}

/// The base rate of Burn's per-group learning rate, read as Burn's own `LearningRateMetric` reads it
/// (during training the value always has its base group: it comes from the scheduler's step).
fn base_lr(lr: &burn::optim::lr_scheduler::module_lr_scheduler::ModuleLearningRate) -> Option<f64> {
    Some(lr.base())
}

/// `lr processed total`, with `-` for an unknown rate.
fn encode(lr: Option<f64>, processed: usize, total: usize) -> String {
    match lr {
        Some(lr) => format!("{lr:e} {processed} {total}"),
        None => format!("- {processed} {total}"),
    }
}

/// What one entry of the step metric says.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum StepInfo {
    /// A batch: its learning rate (if known) and epoch fraction (if the total is known).
    Batch {
        lr: Option<f64>,
        fraction: Option<f32>,
    },
    /// The end of the epoch.
    EpochEnd,
}

/// Reads an entry written by [`StepInfoMetric`]; `None` if it is not one.
pub(crate) fn decode(serialized: &str) -> Option<StepInfo> {
    if serialized == EPOCH_END {
        return Some(StepInfo::EpochEnd);
    }
    let mut parts = serialized.split(' ');
    let lr = match parts.next()? {
        "-" => None,
        s => Some(s.parse::<f64>().ok()?),
    };
    let processed: usize = parts.next()?.parse().ok()?;
    let total: usize = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    let fraction = (total > 0).then(|| processed as f32 / total as f32);
    Some(StepInfo::Batch { lr, fraction })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip() {
        let cases: &[(Option<f64>, usize, usize, StepInfo, &str)] = &[
            (
                Some(0.01),
                3,
                12,
                StepInfo::Batch {
                    lr: Some(0.01),
                    fraction: Some(0.25),
                },
                "3 of 12 batches",
            ),
            (
                Some(1.0e-7),
                12,
                12,
                StepInfo::Batch {
                    lr: Some(1.0e-7),
                    fraction: Some(1.0),
                },
                "last batch, small rate kept exactly",
            ),
            (
                None,
                1,
                0,
                StepInfo::Batch {
                    lr: None,
                    fraction: None,
                },
                "unknown rate and total",
            ),
        ];
        for (lr, p, t, want, why) in cases {
            assert_eq!(decode(&encode(*lr, *p, *t)), Some(*want), "{why}");
        }
        assert_eq!(decode(EPOCH_END), Some(StepInfo::EpochEnd));
    }

    #[test]
    fn foreign_entries_are_rejected() {
        for (s, why) in [
            ("", "empty"),
            ("0.5", "one field"),
            ("x 1 2", "rate not a number"),
            ("0.1 1 2 3", "too many fields"),
            ("0.1 -1 2", "negative count"),
        ] {
            assert_eq!(decode(s), None, "{why}");
        }
    }
}
