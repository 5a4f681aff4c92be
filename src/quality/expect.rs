//! What each generated family should be diagnosed with ([`expectation`]), and what each real log
//! should ([`REAL_LOGS`]).

mod real_logs;

use serde::Serialize;

use super::generate::Family;
use crate::diagnosis::DiagnosisKind::{
    self, Divergence, EarlyStop, GeneralizationGap, GradNormSpike, LossSpike, LrTooHigh, LrTooLow,
    NonFinite, Overfitting, Plateau, Underfitting,
};
use crate::diagnosis::Severity;

pub use real_logs::{RealLogExpectation, REAL_LOGS};

/// What counts for one family: the kinds that detect its pathology, the kinds that may be said at
/// warning or above without being a false alarm, and the severity a detection needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FamilyExpectation {
    /// The family.
    pub family: Family,
    /// A diagnosis of one of these kinds, at `threshold` or above, detects the pathology (empty for
    /// healthy families: nothing is to be detected).
    pub expected: &'static [DiagnosisKind],
    /// Kinds that may be reported at warning or above; any other warning or critical is a false
    /// alarm (empty for healthy families: every warning is one).
    pub allowed: &'static [DiagnosisKind],
    /// The lowest severity that counts as a detection.
    pub threshold: Severity,
    /// [`Family::PlateauThenResume`]'s condition: a detection must stand for an episode that closed
    /// within the onset's tolerance window (the loss resumed), and any expected-kind diagnosis
    /// reported before the resume must be such a closed episode.
    pub episode_closes: bool,
}

impl FamilyExpectation {
    /// Whether `kind` at `severity` detects the pathology (ignoring where).
    pub fn detects(&self, kind: DiagnosisKind, severity: Severity) -> bool {
        severity >= self.threshold && self.expected.contains(&kind)
    }

    /// Whether `kind` at `severity` is a false alarm: a warning or critical of a kind not allowed.
    pub fn is_false_alarm(&self, kind: DiagnosisKind, severity: Severity) -> bool {
        severity >= Severity::Warning && !self.allowed.contains(&kind)
    }
}

/// The expectation for `family`.
///
/// Early stopping's own warning (a stop at a NaN with `check_finite`, or past a divergence threshold)
/// is allowed where the run does go NaN or diverge: stopping there is the right answer.
///
/// ```
/// use curvewatch::quality::{expectation, Family};
/// use curvewatch::{DiagnosisKind, Severity};
/// let e = expectation(Family::OverfitFew);
/// assert!(e.detects(DiagnosisKind::Overfitting, Severity::Warning));
/// assert!(!e.detects(DiagnosisKind::Overfitting, Severity::Info));
/// assert!(e.is_false_alarm(DiagnosisKind::LrTooHigh, Severity::Warning));
/// assert!(!e.is_false_alarm(DiagnosisKind::GeneralizationGap, Severity::Warning));
/// ```
pub fn expectation(family: Family) -> FamilyExpectation {
    let (expected, allowed): (&'static [DiagnosisKind], &'static [DiagnosisKind]) = match family {
        Family::HealthyEpoch | Family::HealthyLlm => (&[], &[]),
        Family::Exploding => (
            &[Divergence],
            &[Divergence, LrTooHigh, NonFinite, EarlyStop],
        ),
        Family::StuckFromStart => (&[Underfitting], &[Underfitting, Plateau, LrTooLow]),
        Family::OverfitMany | Family::OverfitFew | Family::OverfitNoisy => {
            (&[Overfitting], &[Overfitting, GeneralizationGap])
        }
        Family::WarmupTooHigh => (&[LrTooHigh], &[LrTooHigh, Divergence, LossSpike]),
        Family::LossSpike => (&[LossSpike], &[LossSpike]),
        Family::GradSpikeEarly | Family::GradSpikeLate => (&[GradNormSpike], &[GradNormSpike]),
        Family::NonFinite => (&[NonFinite], &[NonFinite, LossSpike, Divergence, EarlyStop]),
        Family::PlateauThenResume => (&[Plateau], &[]),
    };
    let plateau = family == Family::PlateauThenResume;
    FamilyExpectation {
        family,
        expected,
        allowed,
        threshold: if plateau {
            Severity::Info
        } else {
            Severity::Warning
        },
        episode_closes: plateau,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_has_a_consistent_expectation() {
        for f in Family::ALL {
            let e = expectation(f);
            assert_eq!(e.family, f);
            assert_eq!(
                f.is_healthy(),
                e.expected.is_empty(),
                "{f}: only healthy runs expect nothing"
            );
            if !e.episode_closes {
                for k in e.expected {
                    assert!(e.allowed.contains(k), "{f}: {k} is expected, so allowed");
                }
            }
        }
    }

    #[test]
    fn severities_decide_what_counts() {
        let cases = [
            (
                Family::LossSpike,
                LossSpike,
                Severity::Info,
                false,
                false,
                "an info detects nothing and alarms nobody",
            ),
            (
                Family::LossSpike,
                LossSpike,
                Severity::Critical,
                true,
                false,
                "critical counts",
            ),
            (
                Family::LossSpike,
                GradNormSpike,
                Severity::Warning,
                false,
                true,
                "the wrong kind is a false alarm",
            ),
            (
                Family::HealthyLlm,
                Plateau,
                Severity::Info,
                false,
                false,
                "an info on a healthy run is fine",
            ),
            (
                Family::HealthyLlm,
                Plateau,
                Severity::Warning,
                false,
                true,
                "any warning on a healthy run is not",
            ),
            (
                Family::PlateauThenResume,
                Plateau,
                Severity::Info,
                true,
                false,
                "a plateau note detects the plateau",
            ),
            (
                Family::PlateauThenResume,
                Plateau,
                Severity::Warning,
                true,
                true,
                "but not as a warning",
            ),
        ];
        for (family, kind, severity, detects, alarm, why) in cases {
            let e = expectation(family);
            assert_eq!(e.detects(kind, severity), detects, "{why}");
            assert_eq!(e.is_false_alarm(kind, severity), alarm, "{why}");
        }
    }
}
