//! [`Diagnosis`]: a judgement about the curves, with its evidence and a recommendation.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};

/// What kind of trouble (or event) a diagnosis reports. Serialised in `snake_case`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum DiagnosisKind {
    /// Validation gets worse while training improves.
    Overfitting,
    /// The validation-training gap widens while validation still improves (early warning).
    GeneralizationGap,
    /// The model does not fit even the training data well.
    Underfitting,
    /// A curve stopped moving.
    Plateau,
    /// The learning rate looks too high (oscillation, rise after warmup or an LR increase).
    LrTooHigh,
    /// The learning rate looks too low (slow, steady descent).
    LrTooLow,
    /// The loss runs away (sustained rise, or far above its running minimum).
    Divergence,
    /// A metric became NaN or infinite.
    NonFinite,
    /// A loss value far above its recent distribution.
    LossSpike,
    /// A gradient-norm value far above its recent distribution.
    GradNormSpike,
    /// Early stopping decided to stop.
    EarlyStop,
    /// A callback asked for a new learning rate.
    LrChange,
    /// Something the run's data cannot show (no validation set, too few points): said instead of
    /// guessed. Always [`Severity::Info`].
    NotJudged,
    /// Something else, described by the message.
    Other,
}

impl DiagnosisKind {
    /// The `snake_case` name used in JSON and tracing output.
    pub fn as_str(self) -> &'static str {
        match self {
            DiagnosisKind::Overfitting => "overfitting",
            DiagnosisKind::GeneralizationGap => "generalization_gap",
            DiagnosisKind::Underfitting => "underfitting",
            DiagnosisKind::Plateau => "plateau",
            DiagnosisKind::LrTooHigh => "lr_too_high",
            DiagnosisKind::LrTooLow => "lr_too_low",
            DiagnosisKind::Divergence => "divergence",
            DiagnosisKind::NonFinite => "non_finite",
            DiagnosisKind::LossSpike => "loss_spike",
            DiagnosisKind::GradNormSpike => "grad_norm_spike",
            DiagnosisKind::EarlyStop => "early_stop",
            DiagnosisKind::LrChange => "lr_change",
            DiagnosisKind::NotJudged => "not_judged",
            DiagnosisKind::Other => "other",
        }
    }
}

impl fmt::Display for DiagnosisKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How serious a diagnosis is; maps to the tracing level (info, warn, error).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; nothing is wrong yet.
    Info,
    /// Likely trouble; training goes on.
    Warning,
    /// Training is broken or was stopped.
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        })
    }
}

/// One named number that supports a diagnosis (e.g. `gap = 0.31`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// What the number is.
    pub name: Cow<'static, str>,
    /// Its value.
    #[serde(with = "crate::persist::float")]
    pub value: f64,
}

/// The extent of an episode: a pathology with an onset, an end and a count (a spike storm, an
/// overfitting phase, a plateau that later resumes). One diagnosis stands for the whole episode; its
/// callback revises it ([`Context::revise`](crate::Context::revise)) as the episode grows or closes.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Episode {
    /// First step of the episode (its onset, which may precede the step where it was reported).
    pub start_step: u64,
    /// Last step seen in the episode so far (or where it closed).
    pub end_step: u64,
    /// How many points or excursions it holds (spikes in a storm, evaluations of an overfitting phase).
    pub count: u32,
    /// Step of its most extreme point (the highest spike, the worst validation value).
    pub peak_step: u64,
    /// Whether it is over (the loss resumed falling, the spikes stopped); open episodes may still grow.
    pub closed: bool,
}

impl Episode {
    /// An open episode of one point at `step`.
    pub fn at(step: u64) -> Self {
        Episode {
            start_step: step,
            end_step: step,
            count: 1,
            peak_step: step,
            closed: false,
        }
    }

    /// Whether `step` lies within `[start_step, end_step]`.
    pub fn covers(&self, step: u64) -> bool {
        (self.start_step..=self.end_step).contains(&step)
    }
}

/// A judgement about the run: what, how bad, where, why (evidence) and what to do.
///
/// Callbacks build one with [`Diagnosis::new`] and the `with_*` methods and hand it to
/// [`Context::emit`](crate::Context::emit), which stamps the step, epoch and source. The bus then logs
/// it through `tracing` (target `curvewatch::diagnosis`), keeps it in the run summary and passes it to
/// every callback's [`on_diagnosis`](crate::Callback::on_diagnosis).
///
/// ```
/// use curvewatch::{Diagnosis, DiagnosisKind, Severity};
/// let d = Diagnosis::new(DiagnosisKind::Overfitting, Severity::Warning, "val loss rising")
///     .with_metric("valid/loss")
///     .with_value(0.42)
///     .with_evidence("gap", 0.17)
///     .with_recommendation("stop early or add regularisation");
/// assert_eq!(d.evidence[0].value, 0.17);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Diagnosis {
    /// What was found.
    pub kind: DiagnosisKind,
    /// How serious it is.
    pub severity: Severity,
    /// Global step of the event that produced it.
    pub step: u64,
    /// Epoch of that event (0-based).
    pub epoch: u32,
    /// The metric concerned (`split/name`), if one.
    pub metric: Option<String>,
    /// The value that triggered it, if one.
    #[serde(with = "crate::persist::opt_float")]
    pub value: Option<f64>,
    /// The threshold it was compared with, if one.
    #[serde(with = "crate::persist::opt_float")]
    pub threshold: Option<f64>,
    /// The numbers behind the judgement.
    pub evidence: Vec<Evidence>,
    /// One sentence: what happened.
    pub message: String,
    /// What to do about it, in plain words.
    pub recommendation: String,
    /// The callback that emitted it (filled in by the bus).
    pub source: String,
    /// Where the diagnosis stands for an episode: its onset, extent and count (`None` for a point
    /// event such as a NaN or a stop).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode: Option<Episode>,
    /// Set by [`Context::revise`](crate::Context::revise): replaces the open diagnosis of the same
    /// source, kind and metric instead of adding one.
    #[serde(skip)]
    pub(crate) revision: bool,
}

impl Diagnosis {
    /// A diagnosis of `kind` with `severity` and a one-sentence `message`.
    pub fn new(kind: DiagnosisKind, severity: Severity, message: impl Into<String>) -> Self {
        Diagnosis {
            kind,
            severity,
            step: 0,
            epoch: 0,
            metric: None,
            value: None,
            threshold: None,
            evidence: Vec::new(),
            message: message.into(),
            recommendation: String::new(),
            source: String::new(),
            episode: None,
            revision: false,
        }
    }

    /// Marks this diagnosis as standing for `episode`.
    pub fn with_episode(mut self, episode: Episode) -> Self {
        self.episode = Some(episode);
        self
    }

    /// The step where what it reports began: the episode's start, else the step it was emitted at.
    pub fn onset_step(&self) -> u64 {
        self.episode.map_or(self.step, |e| e.start_step)
    }

    /// Names the metric concerned.
    pub fn with_metric(mut self, metric: impl Into<String>) -> Self {
        self.metric = Some(metric.into());
        self
    }

    /// Records the triggering value.
    pub fn with_value(mut self, value: f64) -> Self {
        self.value = Some(value);
        self
    }

    /// Records the threshold the value was compared with.
    pub fn with_threshold(mut self, threshold: f64) -> Self {
        self.threshold = Some(threshold);
        self
    }

    /// Adds one piece of evidence.
    pub fn with_evidence(mut self, name: impl Into<Cow<'static, str>>, value: f64) -> Self {
        self.evidence.push(Evidence {
            name: name.into(),
            value,
        });
        self
    }

    /// Sets the recommendation.
    pub fn with_recommendation(mut self, text: impl Into<String>) -> Self {
        self.recommendation = text.into();
        self
    }

    /// The evidence named `name`, if present.
    pub fn evidence(&self, name: &str) -> Option<f64> {
        self.evidence
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.value)
    }

    /// Logs this diagnosis as a tracing event with target `curvewatch::diagnosis`, level by severity.
    pub fn trace(&self) {
        let metric = self.metric.as_deref().unwrap_or("");
        let value = self.value.unwrap_or(f64::NAN);
        let threshold = self.threshold.unwrap_or(f64::NAN);
        macro_rules! emit {
            ($level:expr) => {
                tracing::event!(
                    target: "curvewatch::diagnosis",
                    $level,
                    kind = self.kind.as_str(),
                    severity = %self.severity,
                    step = self.step,
                    epoch = self.epoch,
                    metric,
                    value,
                    threshold,
                    source = self.source.as_str(),
                    recommendation = self.recommendation.as_str(),
                    "{}",
                    self.message
                )
            };
        }
        match self.severity {
            Severity::Info => emit!(tracing::Level::INFO),
            Severity::Warning => emit!(tracing::Level::WARN),
            Severity::Critical => emit!(tracing::Level::ERROR),
        }
    }
}

impl Diagnosis {
    /// Logs a revision of an episode diagnosis: info when it closes the episode, debug otherwise.
    pub(crate) fn trace_revision(&self, closes: bool) {
        let e = self.episode.unwrap_or(Episode::at(self.step));
        macro_rules! emit {
            ($level:expr) => {
                tracing::event!(
                    target: "curvewatch::diagnosis",
                    $level,
                    kind = self.kind.as_str(),
                    severity = %self.severity,
                    revised = true,
                    start_step = e.start_step,
                    end_step = e.end_step,
                    count = e.count,
                    closed = e.closed,
                    metric = self.metric.as_deref().unwrap_or(""),
                    source = self.source.as_str(),
                    "{}",
                    self.message
                )
            };
        }
        if closes {
            emit!(tracing::Level::INFO)
        } else {
            emit!(tracing::Level::DEBUG)
        }
    }
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}] {} at step {} (epoch {}): {}",
            self.severity, self.kind, self.step, self.epoch, self.message
        )?;
        if let Some(e) = self.episode {
            let state = if e.closed { "closed" } else { "open" };
            write!(
                f,
                " [episode: steps {}..{}, {} point(s), {state}]",
                e.start_step, e.end_step, e.count
            )?;
        }
        if !self.recommendation.is_empty() {
            write!(f, " -> {}", self.recommendation)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_serialise_in_snake_case() {
        let json = serde_json::to_string(&DiagnosisKind::GradNormSpike).unwrap();
        assert_eq!(json, "\"grad_norm_spike\"");
        assert_eq!(DiagnosisKind::LrTooHigh.as_str(), "lr_too_high");
    }

    #[test]
    fn non_finite_values_round_trip() {
        let d = Diagnosis::new(DiagnosisKind::NonFinite, Severity::Critical, "nan loss")
            .with_value(f64::NAN)
            .with_evidence("last_finite", f64::INFINITY);
        let back: Diagnosis = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert!(back.value.unwrap().is_nan());
        assert_eq!(back.evidence("last_finite"), Some(f64::INFINITY));
        assert_eq!(back.threshold, None);
    }
}
