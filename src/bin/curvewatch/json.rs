//! The stable JSON output of each command (documented in the README). Keys are struct fields, in
//! the order the schema lists them; a NaN or infinite number is written as `null`.

use std::collections::BTreeMap;

use curvewatch::analysis::prediction::Prediction;
use curvewatch::report::{BestInfo, EarlyStoppingReplay, RunReport, SeriesInfo};
use curvewatch::Diagnosis;
use serde::Serialize;

/// `Some(x)` for a finite `x`, else `None` (written `null`).
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// `analyze --json`: one object per file.
#[derive(Debug, Serialize)]
pub struct AnalyzeJson {
    /// The file as given.
    pub source: String,
    /// The format it was read as.
    pub format: &'static str,
    /// Every series.
    pub series: Vec<SeriesJson>,
    /// The best point of the monitored metric.
    pub best: Option<BestJson>,
    /// `too_high`, `too_low`, `appropriate` or `insufficient_data`.
    pub lr_verdict: &'static str,
    /// Every diagnosis, in order.
    pub diagnoses: Vec<DiagnosisJson>,
    /// The early-stopping replay with the preset's defaults.
    pub early_stopping: EarlyStoppingJson,
    /// The loss curve's extrapolation.
    pub prediction: Option<PredictionJson>,
}

/// One series in brief.
#[derive(Debug, Serialize)]
pub struct SeriesJson {
    split: String,
    metric: String,
    points: usize,
    first_step: Option<u64>,
    last_step: Option<u64>,
}

impl From<&SeriesInfo> for SeriesJson {
    fn from(s: &SeriesInfo) -> Self {
        SeriesJson {
            split: s.split.clone(),
            metric: s.metric.clone(),
            points: s.points,
            first_step: s.first_step,
            last_step: s.last_step,
        }
    }
}

/// The best point.
#[derive(Debug, Serialize)]
pub struct BestJson {
    metric: String,
    step: u64,
    epoch: Option<f64>,
    value: Option<f64>,
}

impl From<&BestInfo> for BestJson {
    fn from(b: &BestInfo) -> Self {
        BestJson {
            metric: b.metric.clone(),
            step: b.step,
            epoch: finite(b.epoch),
            value: finite(b.value),
        }
    }
}

/// One diagnosis.
#[derive(Debug, Serialize)]
pub struct DiagnosisJson {
    kind: &'static str,
    severity: String,
    step: u64,
    epoch: u32,
    metric: Option<String>,
    message: String,
    recommendation: String,
}

impl From<&Diagnosis> for DiagnosisJson {
    fn from(d: &Diagnosis) -> Self {
        DiagnosisJson {
            kind: d.kind.as_str(),
            severity: d.severity.to_string(),
            step: d.step,
            epoch: d.epoch,
            metric: d.metric.clone(),
            message: d.message.clone(),
            recommendation: d.recommendation.clone(),
        }
    }
}

/// An early-stopping outcome: `analyze`'s `early_stopping` and `replay --json`.
#[derive(Debug, Default, PartialEq, Serialize)]
pub struct EarlyStoppingJson {
    /// Whether it stopped.
    pub stopped: bool,
    /// Zero-based index of the stopping value among the monitored metric's values (NaN included).
    pub stop_index: Option<u64>,
    /// Step of the stop.
    pub stop_step: Option<u64>,
    /// Zero-based index of the best value.
    pub best_index: Option<u64>,
    /// The best value.
    pub best_value: Option<f64>,
    /// `rule: message`.
    pub reason: Option<String>,
}

impl From<&EarlyStoppingReplay> for EarlyStoppingJson {
    fn from(e: &EarlyStoppingReplay) -> Self {
        EarlyStoppingJson {
            stopped: e.stopped,
            stop_index: e.stop_index,
            stop_step: e.stop_step,
            best_index: e.best_index,
            best_value: e.best_value.and_then(finite),
            reason: e.reason.clone(),
        }
    }
}

/// `predict --json`, and `analyze`'s `prediction`.
#[derive(Debug, Serialize)]
pub struct PredictionJson {
    /// `split/name` predicted.
    pub metric: String,
    /// The chosen family.
    pub family: &'static str,
    /// Its parameters (x is step + 1).
    pub params: BTreeMap<String, Option<f64>>,
    /// RMSE on the held-out tail.
    pub holdout_error: Option<f64>,
    /// The last step predicted.
    pub horizon: u64,
    /// Predictions after the last observed step, up to the horizon.
    pub predicted: Vec<PointJson>,
}

/// One predicted point.
#[derive(Debug, Serialize)]
pub struct PointJson {
    /// The step (x − 1).
    pub step: u64,
    /// The predicted value.
    pub value: Option<f64>,
    /// Lower end of the band.
    pub lower: Option<f64>,
    /// Upper end of the band.
    pub upper: Option<f64>,
}

/// How many points `predicted` holds at most.
pub const PREDICTED_POINTS: u64 = 20;

impl PredictionJson {
    /// `p` (fitted with x = step + 1) for `metric`, with up to [`PREDICTED_POINTS`] evenly spaced
    /// whole steps after `last_step`, the last being `horizon`.
    pub fn new(metric: String, p: &Prediction, last_step: u64, horizon: u64) -> Self {
        PredictionJson {
            metric,
            family: p.family.name(),
            params: p
                .params
                .iter()
                .map(|(k, v)| (k.clone(), finite(*v)))
                .collect(),
            holdout_error: finite(p.holdout_error),
            horizon,
            predicted: future_steps(last_step, horizon)
                .into_iter()
                .filter_map(|step| {
                    let at = p.at(step as f64 + 1.0)?;
                    Some(PointJson {
                        step,
                        value: finite(at.value),
                        lower: finite(at.lower),
                        upper: finite(at.upper),
                    })
                })
                .collect(),
        }
    }
}

/// Up to [`PREDICTED_POINTS`] whole steps evenly spaced in `(last, horizon]`, ending at `horizon`.
pub fn future_steps(last: u64, horizon: u64) -> Vec<u64> {
    let span = horizon.saturating_sub(last);
    let n = span.min(PREDICTED_POINTS);
    (1..=n)
        .map(|i| last + (u128::from(span) * u128::from(i) / u128::from(n)) as u64)
        .collect()
}

impl AnalyzeJson {
    /// The JSON of `report` for `source` read as `format`; `prediction` as built by the caller.
    pub fn new(
        source: String,
        format: &'static str,
        report: &RunReport,
        prediction: Option<PredictionJson>,
    ) -> Self {
        AnalyzeJson {
            source,
            format,
            series: report.series.iter().map(SeriesJson::from).collect(),
            best: report.best.as_ref().map(BestJson::from),
            lr_verdict: report.lr_verdict.as_str(),
            diagnoses: report.diagnoses.iter().map(DiagnosisJson::from).collect(),
            early_stopping: EarlyStoppingJson::from(&report.early_stopping),
            prediction,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn future_steps_are_even_and_end_at_the_horizon() {
        let cases: [(u64, u64, &[u64], &str); 4] = [
            (
                10,
                14,
                &[11, 12, 13, 14],
                "fewer steps than points: every step",
            ),
            (
                0,
                40,
                &[
                    2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40,
                ],
                "every other step",
            ),
            (5, 5, &[], "no step past the end"),
            (9, 3, &[], "a horizon before the end"),
        ];
        for (last, horizon, want, why) in cases {
            assert_eq!(future_steps(last, horizon), want, "{why}");
        }
    }

    #[test]
    fn non_finite_numbers_are_null() {
        let e = EarlyStoppingJson {
            best_value: finite(f64::NAN),
            ..EarlyStoppingJson::default()
        };
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(
            text,
            r#"{"stopped":false,"stop_index":null,"stop_step":null,"best_index":null,"best_value":null,"reason":null}"#
        );
    }
}
