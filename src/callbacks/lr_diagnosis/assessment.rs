//! What the learning-rate diagnosis concludes: a verdict, the finding behind it, and the numbers.

use serde::{Deserialize, Serialize};

use super::config::LrThresholds;
use crate::diagnosis::{Diagnosis, DiagnosisKind, Severity};

/// Message, recommendation, value and threshold of a diagnosis.
type Words = (String, String, f64, f64);

/// The judgement on the learning rate. Serialised in `snake_case` (`too_high`, `too_low`,
/// `appropriate`, `insufficient_data`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrVerdict {
    /// Divergence, a rise after a learning-rate increase, or a rebound from a minimum.
    TooHigh,
    /// No progress at all since the start of the run.
    TooLow,
    /// Nothing wrong found.
    Appropriate,
    /// Fewer values than `min_points`, or no scale to judge against (a zero level, overflow).
    InsufficientData,
}

impl LrVerdict {
    /// The `snake_case` name.
    pub fn as_str(self) -> &'static str {
        match self {
            LrVerdict::TooHigh => "too_high",
            LrVerdict::TooLow => "too_low",
            LrVerdict::Appropriate => "appropriate",
            LrVerdict::InsufficientData => "insufficient_data",
        }
    }
}

/// Which rule decided the verdict. Serialised in `snake_case`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LrFinding {
    /// Not enough values (or no usable scale) to judge.
    NotEnoughData,
    /// Falling at a healthy pace, or slowing down late in training or under a decayed schedule.
    Healthy,
    /// Flat after real progress (or under a decayed learning rate): convergence, not an LR fault.
    /// No diagnosis is emitted for it; plateaus are the underfitting detector's business.
    Plateau,
    /// A sustained rise, or the level far above its running minimum, with no learning-rate increase
    /// behind it: kind `divergence`, critical.
    Divergence,
    /// A rise that began while the learning rate warmed up or after it was raised: kind
    /// `lr_too_high`, critical; the evidence names the learning rate at which the rise began.
    RiseAfterLrIncrease,
    /// The level rose clearly from a minimum reached inside the window (fell, then rose), with no
    /// learning-rate increase behind it: kind `lr_too_high`, warning.
    Rebound,
    /// Residual noise large relative to the level and to the trend, with frequent sign changes.
    /// Recorded as evidence, never reported, verdict `appropriate`: noise alone is no evidence
    /// about the learning rate (small batches are that noisy at any rate).
    Oscillation,
    /// A slow descent early in training. Recorded, never reported, verdict `appropriate`: without
    /// a reference run, "slow" cannot be judged from one curve.
    SlowDescent,
    /// Flat since the start of the run (the level less than `flat` below where it started) with no
    /// schedule change to explain it: kind `lr_too_low`, info (the underfitting detector owns the
    /// warning). A stall after real progress is a [`LrFinding::Plateau`] instead.
    Stall,
}

impl LrFinding {
    /// The verdict this finding leads to.
    pub fn verdict(self) -> LrVerdict {
        match self {
            LrFinding::NotEnoughData => LrVerdict::InsufficientData,
            LrFinding::Healthy
            | LrFinding::Plateau
            | LrFinding::Oscillation
            | LrFinding::SlowDescent => LrVerdict::Appropriate,
            LrFinding::Divergence | LrFinding::RiseAfterLrIncrease | LrFinding::Rebound => {
                LrVerdict::TooHigh
            }
            LrFinding::Stall => LrVerdict::TooLow,
        }
    }

    /// The diagnosis kind and severity this finding is reported with, if it is reported at all.
    pub fn diagnosis_kind(self) -> Option<(DiagnosisKind, Severity)> {
        match self {
            LrFinding::Divergence => Some((DiagnosisKind::Divergence, Severity::Critical)),
            LrFinding::RiseAfterLrIncrease => Some((DiagnosisKind::LrTooHigh, Severity::Critical)),
            LrFinding::Rebound => Some((DiagnosisKind::LrTooHigh, Severity::Warning)),
            // Info: a loss that has not moved since the start is the underfitting detector's
            // warning; this names the learning rate as one of its causes.
            LrFinding::Stall => Some((DiagnosisKind::LrTooLow, Severity::Info)),
            _ => None,
        }
    }
}

/// A verdict with its evidence: the window's scale-free measures, the level against its running
/// minimum and its start, and the learning-rate history. Undefined numbers are NaN.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LrAssessment {
    /// The judgement.
    pub verdict: LrVerdict,
    /// The rule behind it.
    pub finding: LrFinding,
    /// Values in the window.
    pub points: usize,
    /// Finite values seen in all.
    pub seen: u64,
    /// Least-squares slope per value divided by |window mean|.
    #[serde(with = "crate::persist::float")]
    pub rel_slope: f64,
    /// Relative change the line predicts across the window: `slope·(n-1) / |mean|`.
    #[serde(with = "crate::persist::float")]
    pub rel_change: f64,
    /// Residual std around the line divided by |mean|.
    #[serde(with = "crate::persist::float")]
    pub rel_noise: f64,
    /// |change across the window| in residual stds (small: the noise swamps the trend).
    #[serde(with = "crate::persist::float")]
    pub trend_to_noise: f64,
    /// t-statistic of the slope (slope / its standard error).
    #[serde(with = "crate::persist::float")]
    pub t_stat: f64,
    /// R² of the line.
    #[serde(with = "crate::persist::float")]
    pub r2: f64,
    /// Fraction of successive differences that change sign.
    #[serde(with = "crate::persist::float")]
    pub sign_change_rate: f64,
    /// Upward movement as a fraction of all movement across the window.
    #[serde(default, with = "crate::persist::float")]
    pub up_fraction: f64,
    /// Noise scale from successive differences, in loss units.
    #[serde(with = "crate::persist::float")]
    pub noise: f64,
    /// Current level: the median of the means of the last 5 blocks of values between judgements
    /// (of the last 5 values for epoch-level losses, judged at every value).
    #[serde(with = "crate::persist::float")]
    pub level: f64,
    /// Running minimum of that level over the whole run.
    #[serde(with = "crate::persist::float")]
    pub min_level: f64,
    /// `(level - min_level)` in units of the noise at the minimum (the noise when the minimum was
    /// set; the current noise before there is one).
    #[serde(with = "crate::persist::float")]
    pub excess_sigma: f64,
    /// `(level - min_level)` in units of the level's own noise, less what noise alone gives the
    /// difference of two extremes of that level (see [`LrThresholds::excess_sigma`]).
    #[serde(default = "nan", with = "crate::persist::float")]
    pub level_excess: f64,
    /// How far the level fell from its start, relative to |start|.
    #[serde(with = "crate::persist::float")]
    pub progress: f64,
    /// Learning rate in force at the last value, if known.
    #[serde(with = "crate::persist::opt_float")]
    pub lr: Option<f64>,
    /// Largest learning rate seen, if known.
    #[serde(with = "crate::persist::opt_float")]
    pub peak_lr: Option<f64>,
    /// Where a rise began: the learning rate in force when the level first stood 3 noise units
    /// above its last minimum (set for rise findings only; the current rate if the rise is too
    /// fresh to have crossed that mark).
    #[serde(with = "crate::persist::opt_float")]
    pub rise_lr: Option<f64>,
}

impl LrAssessment {
    /// The "not enough data" assessment after `seen` values, `points` of them in the window.
    pub(super) fn insufficient(points: usize, seen: u64) -> Self {
        LrAssessment {
            verdict: LrVerdict::InsufficientData,
            finding: LrFinding::NotEnoughData,
            points,
            seen,
            rel_slope: f64::NAN,
            rel_change: f64::NAN,
            rel_noise: f64::NAN,
            trend_to_noise: f64::NAN,
            t_stat: f64::NAN,
            r2: f64::NAN,
            sign_change_rate: f64::NAN,
            up_fraction: f64::NAN,
            noise: f64::NAN,
            level: f64::NAN,
            min_level: f64::NAN,
            excess_sigma: f64::NAN,
            level_excess: f64::NAN,
            progress: f64::NAN,
            lr: None,
            peak_lr: None,
            rise_lr: None,
        }
    }

    /// The numbers as named evidence (learning rates only where known).
    pub fn evidence(&self) -> Vec<(&'static str, f64)> {
        let mut e = vec![
            ("points", self.points as f64),
            ("rel_slope", self.rel_slope),
            ("rel_change", self.rel_change),
            ("rel_noise", self.rel_noise),
            ("trend_to_noise", self.trend_to_noise),
            ("t_stat", self.t_stat),
            ("r2", self.r2),
            ("sign_change_rate", self.sign_change_rate),
            ("up_fraction", self.up_fraction),
            ("noise", self.noise),
            ("level", self.level),
            ("min_level", self.min_level),
            ("excess_sigma", self.excess_sigma),
            ("level_excess", self.level_excess),
            ("progress", self.progress),
        ];
        for (name, v) in [
            ("lr", self.lr),
            ("peak_lr", self.peak_lr),
            ("lr_at_rise_start", self.rise_lr),
        ] {
            if let Some(v) = v {
                e.push((name, v));
            }
        }
        e
    }

    /// The diagnosis for this assessment's finding about `metric` (`split/name`), or `None` for
    /// findings that are not reported (healthy, plateau, not enough data).
    pub fn to_diagnosis(&self, metric: &str, t: &LrThresholds) -> Option<Diagnosis> {
        let (kind, severity) = self.finding.diagnosis_kind()?;
        let (message, recommendation, value, threshold) = self.words(metric, t);
        let mut d = Diagnosis::new(kind, severity, message)
            .with_metric(metric)
            .with_value(value)
            .with_threshold(threshold)
            .with_recommendation(recommendation);
        for (name, v) in self.evidence() {
            d = d.with_evidence(name, v);
        }
        Some(d)
    }

    /// Message, recommendation, value and threshold for a reported finding.
    fn words(&self, metric: &str, t: &LrThresholds) -> Words {
        match self.finding {
            LrFinding::RiseAfterLrIncrease => self.lr_rise_words(metric),
            LrFinding::Divergence | LrFinding::Rebound => self.rise_words(metric),
            LrFinding::Oscillation => self.oscillation_words(metric, t),
            _ => self.too_low_words(metric, t),
        }
    }

    fn lr_rise_words(&self, metric: &str) -> Words {
        let lr = self.rise_lr.or(self.lr).unwrap_or(f64::NAN);
        (
            format!(
                "{metric} rose after the learning rate increased: the rise began at lr {lr:.3e}; \
                 level {:.4} vs minimum {:.4}",
                self.level, self.min_level
            ),
            format!(
                "lower the peak learning rate below {lr:.3e} (e.g. {:.3e}) or lengthen the warmup; \
                 resume from a checkpoint taken before the rise",
                lr * 0.5
            ),
            self.level,
            self.min_level,
        )
    }

    fn rise_words(&self, metric: &str) -> Words {
        let n = self.points;
        let message = if self.finding == LrFinding::Divergence {
            format!(
                "{metric} is diverging: level {:.4} is {:.1} noise units above its minimum {:.4}, \
                 change across the last {n} values {:+.1}%",
                self.level,
                self.excess_sigma,
                self.min_level,
                100.0 * self.rel_change
            )
        } else {
            format!(
                "{metric} fell, then rose: level {:.4} is {:.1}% ({:.1} noise units) above the \
                 minimum {:.4} it reached within the last {n} values",
                self.level,
                100.0 * (self.level - self.min_level) / self.min_level.abs(),
                self.excess_sigma,
                self.min_level
            )
        };
        let advice = if self.finding == LrFinding::Divergence {
            "lower the learning rate (e.g. 10x) or clip gradients; resume from the last checkpoint \
             before the rise"
        } else {
            "lower the learning rate (2-3x); if the rise follows a schedule change or a restart, \
             lower that schedule's peak"
        };
        (message, advice.to_owned(), self.level, self.min_level)
    }

    fn oscillation_words(&self, metric: &str, t: &LrThresholds) -> Words {
        (
            format!(
                "{metric} oscillates: residual noise {:.1}% of the level, a trend of only {:.1} \
                 noise units across the last {} values, {:.0}% of steps change direction",
                100.0 * self.rel_noise,
                self.trend_to_noise,
                self.points,
                100.0 * self.sign_change_rate
            ),
            "lower the learning rate (2-3x) or raise the batch size".to_owned(),
            self.rel_noise,
            t.oscillation_noise,
        )
    }

    fn too_low_words(&self, metric: &str, t: &LrThresholds) -> Words {
        let n = self.points;
        let (what, advice) = if self.finding == LrFinding::Stall {
            (
                "is flat early in training",
                "raise the learning rate (try 10x); if that does not move it, check that gradients \
                 reach the parameters (frozen layers, a detached graph, a zero learning rate)",
            )
        } else {
            (
                "falls slowly and steadily",
                "raise the learning rate (try 3x) or shorten the warmup; a learning-rate range test \
                 finds the largest stable value",
            )
        };
        (
            format!(
                "{metric} {what}: {:+.1}% across the last {n} values, only {:.1}% below where it \
                 started",
                100.0 * self.rel_change,
                100.0 * self.progress
            ),
            advice.to_owned(),
            self.rel_change,
            -t.slow_drop,
        )
    }
}

fn nan() -> f64 {
    f64::NAN
}
