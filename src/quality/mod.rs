//! Diagnostic quality: how well the standard preset's diagnoses match runs whose trouble is known.
//!
//! Two kinds of evidence, each analysed with [`report::analyze`](crate::report::analyze) (the
//! offline replay through the standard preset, as `curvewatch analyze` does):
//!
//! - **Generated runs** ([`generate`]): for each [`Family`] (healthy epoch-level and LLM runs,
//!   explosions, a loss stuck from the start, three kinds of overfitting, a warmup that overshoots,
//!   loss and gradient-norm spikes, NaNs, a plateau that resumes), runs drawn from seeds with every
//!   parameter random, and the step where the pathology begins ([`Onset`]) with a tolerance window.
//!   [`expectation`] says which diagnosis kinds detect each family and which may be said without
//!   being a false alarm; [`score_run`] compares a run's diagnoses with it; [`evaluate_family`]
//!   gathers a family's runs into a [`FamilyScore`] (recall, onset located, false alarms, delay).
//! - **Real logs** ([`REAL_LOGS`]): the logs in `tests/data` with the verdicts a careful human
//!   reading gives them (what must be said, what must not, how many warnings at most);
//!   [`evaluate_real_logs`] imports and scores each into a [`RealLogScore`].
//!
//! [`QualityReport`] holds both, renders them as markdown tables (its `Display`) and checks the
//! targets ([`QualityReport::targets_met`]): recall ≥ [`TARGET_RECALL`] and onset located ≥
//! [`TARGET_ONSET_LOCATED`] per pathology family, false alarms ≤ [`TARGET_FALSE_ALARMS`] per
//! healthy family, every real-log expectation met, no healthy real run with more than
//! [`TARGET_REAL_WARNINGS`] warnings. `curvewatch quality` prints it.
//!
//! ```
//! use curvewatch::quality::{evaluate_family, generate, Family};
//! let run = generate(Family::OverfitFew, 0);
//! assert!(run.onset.is_some(), "a pathology has an onset");
//! let score = evaluate_family(Family::OverfitFew, 0..3);
//! println!("recall {:.0}%", 100.0 * score.recall());
//! ```

mod evaluate;
mod expect;
mod generate;
mod quality_report;
mod real;
mod rng;
mod score;
mod table;

pub use evaluate::{evaluate_family, FamilyScore};
pub use expect::{expectation, FamilyExpectation, RealLogExpectation, REAL_LOGS};
pub use generate::{generate, Family, GeneratedRun, Onset};
pub use quality_report::{
    QualityReport, TARGET_FALSE_ALARMS, TARGET_ONSET_LOCATED, TARGET_REAL_WARNINGS, TARGET_RECALL,
};
pub use real::{evaluate_real_log, evaluate_real_logs, RealLogScore};
pub use rng::Rng;
pub use score::{covers, score_real_log, score_run, RunOutcome};
