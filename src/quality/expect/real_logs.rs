//! [`REAL_LOGS`]: the verdicts expected on the real logs of `tests/data`, from the human readings in
//! `READINGS.md` (shared with the data) and from reading the files.

use serde::Serialize;

use crate::diagnosis::DiagnosisKind::{
    self, Divergence, EarlyStop, GradNormSpike, LossSpike, LrChange, LrTooHigh, LrTooLow,
    NonFinite, NotJudged, Other, Overfitting, Plateau, Underfitting,
};

/// What the analysis of one real log must and must not say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RealLogExpectation {
    /// The file name in the data folder.
    pub file: &'static str,
    /// The expected verdict, in a few words (for the table).
    pub verdict: &'static str,
    /// Whether the run is healthy (the target: no healthy real run with more than 3 warnings).
    pub healthy: bool,
    /// Kinds that must be said at warning or above, each optionally covering a step range
    /// `(first, last)`: a diagnosis covers it when its onset is at or before `last` and its
    /// episode's end (its step, for a point event) is at or after `first`.
    pub must: &'static [(DiagnosisKind, Option<(u64, u64)>)],
    /// Kinds that must not be said at warning or above.
    pub must_not: &'static [DiagnosisKind],
    /// Kinds that must not be said at all, at any severity.
    pub must_not_any: &'static [DiagnosisKind],
    /// Most warnings and criticals allowed in all, if limited.
    pub max_warnings: Option<usize>,
    /// Kinds that must be said at info or above.
    pub must_info: &'static [DiagnosisKind],
    /// The reading behind it.
    pub why: &'static str,
}

/// What a healthy run must not be told, at warning or above.
const HEALTHY_NOT: &[DiagnosisKind] = &[
    LrTooHigh,
    LrTooLow,
    Divergence,
    Underfitting,
    Overfitting,
    NonFinite,
    LossSpike,
];

/// As [`HEALTHY_NOT`], for runs where overfitting may be said.
const OVERFIT_OK_NOT: &[DiagnosisKind] = &[
    LrTooHigh,
    LrTooLow,
    Divergence,
    Underfitting,
    NonFinite,
    LossSpike,
];

/// Everything but overfitting and the generalisation gap, for runs where only those may be said.
const FIT_ONLY_NOT: &[DiagnosisKind] = &[
    Underfitting,
    Plateau,
    LrTooHigh,
    LrTooLow,
    Divergence,
    NonFinite,
    LossSpike,
    GradNormSpike,
    EarlyStop,
    LrChange,
    Other,
];

/// A healthy run's expectation: [`HEALTHY_NOT`], at most 3 warnings.
const fn healthy(
    file: &'static str,
    verdict: &'static str,
    why: &'static str,
) -> RealLogExpectation {
    RealLogExpectation {
        file,
        verdict,
        healthy: true,
        must: &[],
        must_not: HEALTHY_NOT,
        must_not_any: &[],
        max_warnings: Some(3),
        must_info: &[],
        why,
    }
}

/// Every real log of `tests/data` and what its analysis must say.
pub const REAL_LOGS: &[RealLogExpectation] = &[
    RealLogExpectation {
        file: "aigoncharov__trainer_state_viz__trainer_state.json",
        verdict: "overfitting from epoch 1",
        healthy: false,
        must: &[(Overfitting, Some((401, 802)))],
        must_not: OVERFIT_OK_NOT,
        max_warnings: Some(3),
        why: "\"clear, severe overfitting from epoch 1\": eval loss is lowest at step 401 (epoch 1) \
              for g0-g4 and at 802 for g5, then climbs (g0 1.11 -> 2.75) while train falls 1.107 -> \
              0.055; \"early stopping should have fired at epoch 1-2\". The grad-norm spike of 5.31 \
              at step 8020 may be reported.",
        ..healthy("", "", "")
    },
    RealLogExpectation {
        file: "Jaong__Checkpoint-of-CPT__trainer_state.json",
        verdict: "converged, mild late overfitting",
        healthy: false,
        must_not: FIT_ONLY_NOT,
        why: "\"converged, with mild late overfitting by loss\": eval loss bottoms at 0.4853 (epoch \
              6) and creeps up to 0.4917 while train falls; ROUGE still improves. Overfitting or a \
              widening gap may be said, nothing else.",
        ..healthy("", "", "")
    },
    RealLogExpectation {
        file: "HoseinNasiriShahraki__DeepLearning__lightning_logs_version_17_metrics.csv",
        verdict: "mild overfitting after epoch 10-12",
        healthy: false,
        must_not: OVERFIT_OK_NOT,
        why: "\"mild overfitting after about epoch 10-12\": val loss falls to 0.0728 at epoch 12, \
              then wobbles between 0.077 and 0.087 while train goes to 0.01-0.03. Overfitting may \
              be said; no learning-rate verdict.",
        ..healthy("", "", "")
    },
    RealLogExpectation {
        file: "Mehak-Thakur__Emotion-detection-system__training_history.csv",
        verdict: "flat val loss, gap growing",
        healthy: false,
        must_not: FIT_ONLY_NOT,
        why: "\"loss and accuracy disagree\": val loss almost flat (1.85 -> 1.72, best at epoch \
              26) while val accuracy climbs; \"the gap is growing ... mild overfitting is \
              developing\". Overfitting or a widening gap may be said, nothing else.",
        ..healthy("", "", "")
    },
    RealLogExpectation {
        file: "prestonfrost__AI-Project__checkpoint-10000_trainer_state.json",
        verdict: "grad spike at 300, then plateau",
        must: &[(GradNormSpike, Some((300, 300)))],
        must_info: &[NotJudged],
        why: "\"fast drop, then a plateau\" (3.28 -> 0.30 by step 1,200, then 0.19-0.23): \
              converged. \"An isolated grad-norm spike of 28.3 at step 300 (median about 0.6)\"; \
              smaller ones at 1400 and 3400 may be reported. No eval: generalisation cannot be \
              judged.",
        ..healthy("", "", "")
    },
    RealLogExpectation {
        file: "SiddanthEmani__GPT-2-124M-CUDA__log124M_main.log",
        verdict: "healthy; grad spike at 8715",
        must: &[(GradNormSpike, Some((8715, 8715)))],
        why: "\"a healthy, fully converged pre-training run\"; \"one isolated grad-norm spike: 4.29 \
              at step 8715 against about 0.3 around it\". Its \"one-step loss bump to 3.54\" is \
              within the per-step noise (3.35-3.49 around it), so it is no loss spike; grad norm \
              above 3 only in steps 0-12 (the start), which is no spike either.",
        ..healthy("", "", "")
    },
    RealLogExpectation {
        file: "HangerYang__Star__trainer_state.json",
        verdict: "improving; spiky grad norm",
        must: &[(GradNormSpike, Some((22360, 22360)))],
        must_info: &[NotJudged],
        why: "\"still improving slowly when stopped\" (24.8 -> 3.76). \"Grad norm is spiky: 78 \
              samples exceed 1.8x the rolling median, and the maximum is 82.4 at step 22,360\"; \
              \"those spikes do not show up as loss spikes\". At most 3 warnings: the spikes are \
              to be reported as a few episodes, not one warning each. No eval.",
        ..healthy("", "", "")
    },
    RealLogExpectation {
        file: "Jayant-Guru-Shrivastava__ERAV4-Session11-shakespeare-gpt2-124M__logs_train.log",
        verdict: "memorisation, unverifiable",
        healthy: false,
        must_not: &[LrTooHigh, LrTooLow, Divergence, Underfitting, NonFinite],
        must_info: &[NotJudged],
        max_warnings: None,
        why: "\"memorisation\": loss 8.46 -> 0.13, far below what held-out text allows; \"there is \
              no validation, so the tool should say overfitting is likely but unverified\". \
              Per-step noise of about +-0.3 is no learning-rate trouble, and a falling loss is \
              neither divergence nor underfitting.",
        ..healthy("", "", "")
    },
    RealLogExpectation {
        file: "suzushi-tw__luojiu-7b-base__trainer_log.jsonl",
        verdict: "slow steady decrease",
        must_not_any: &[EarlyStop],
        must_info: &[NotJudged],
        why: "\"slow, steady decrease that is close to a plateau\" (quarter-epoch means 1.539 -> \
              1.347), \"still improving slightly, no sign of overfitting or instability\". Never \
              an eval value; an unfinished run that still improves is not to be stopped.",
        ..healthy("", "", "")
    },
    RealLogExpectation {
        file: "akawslearn-ai__slm_training__metrics.jsonl",
        verdict: "healthy, restarted, unfinished",
        must_not_any: &[EarlyStop],
        must_info: &[NotJudged],
        why: "\"the underlying curve is healthy: loss goes 8.56 -> about 2.2, still decreasing \
              slowly, and the run is unfinished\"; its repeated and rewound steps are restarts, not \
              trouble. No eval.",
        ..healthy("", "", "")
    },
    RealLogExpectation {
        file: "Francis-xsc__BERT_Weibo_Rumor__trainer_state.json",
        verdict: "train only, still falling",
        must_info: &[NotJudged],
        why: "\"train loss only, still decreasing slowly (0.98 -> 0.164), so overfitting cannot be \
              judged\".",
        ..healthy("", "", "")
    },
    RealLogExpectation {
        file: "SeanGormann__llm_recovery__checkpoint-1000_trainer_state.json",
        verdict: "training normally, no eval",
        must_info: &[NotJudged],
        why: "\"training normally; no evaluation present\": DPO loss 0.669 -> 0.114, reward \
              accuracy 0.77 -> 0.93; grad norm large early (20-28) falling to about 1.",
        ..healthy("", "", "")
    },
    RealLogExpectation {
        file: "anonymousgigachad__llm-training__trainer_state.json",
        verdict: "too short to diagnose",
        max_warnings: Some(0),
        must_info: &[NotJudged],
        why: "\"too short to diagnose\": 45 steps, 4 log rows; \"useful as a 'too few points' edge \
              case\".",
        ..healthy("", "", "")
    },
    RealLogExpectation {
        file: "sliderSun__chinese_pytorch_pretrain_lm__output_trainer_state.json",
        verdict: "no curve",
        max_warnings: Some(0),
        why: "\"no curve at all\": only the final summary row; \"the importer should report that \
              there is nothing to analyse rather than crash\".",
        ..healthy("", "", "")
    },
    healthy(
        "0Xero7__slm_training__lightning_logs_version_0_metrics.csv",
        "healthy, still improving",
        "\"healthy and still improving at the end\": val_loss 4.133 -> 3.571, falling every epoch \
         by less each time; val below the train epoch loss (dropout).",
    ),
    healthy(
        "HCDescamps__cv-image-classification__lightning_logs_version_0_metrics.csv",
        "healthy",
        "\"healthy\": val loss 0.071, 0.046, 0.044, 0.047, 0.039 per epoch, still slowly \
         improving; the per-batch train loss is very noisy (down to 0.0002), which is no \
         learning-rate trouble; the post-fit epoch-5 row is no training epoch.",
    ),
    healthy(
        "DiogoFerreira7__LSTM-Implementation__lightning_logs_version_11_metrics.csv",
        "learning, still improving",
        "\"learning and still improving\": loss 0.150 -> 0.0012, smooth and roughly exponential.",
    ),
    healthy(
        "4hmetcakmak__BraTS2020CapstoneProject__training.log",
        "converged (ReduceLROnPlateau)",
        "\"converged; a plateau handled by ReduceLROnPlateau\": val loss 0.0546 -> 0.0345, flat \
         from about epoch 10; \"no overfitting\". A plateau note is fine.",
    ),
    healthy(
        "leopoldmaillard__cnn-landmarks-aflw2000__history.csv",
        "healthy, still improving",
        "\"healthy and still slowly improving\": val loss 0.00135 -> 0.000487 tracking train \
         closely; the tiny values test scale robustness.",
    ),
    healthy(
        "Mohammed20201991__DataSets__trainer_state.json",
        "early, still improving",
        "\"early in training and still improving\" (WER 17.8 -> 12.7); eval loss 0.252 -> 0.265 \
         -> 0.245 -> 0.193 is not monotonic; \"too early to call anything\".",
    ),
    healthy(
        "AkshatSharma5__Brain_Tumor_Image_Classification_using_CNN__training_log.csv",
        "4 short runs, improving",
        "Four runs appended (5, 4, 10, 5 epochs): runs 1, 2 and 4 short and still improving, run \
         3 (lr 1e-5) oscillating (0.47 -> 0.57 -> 0.43 -> 0.54); a restart is no divergence.",
    ),
    RealLogExpectation {
        file: "fmohr__lcdb__publications_2023-neurips_experiments_results.csv",
        verdict: "100 sample-size curves",
        must_not: &[LrTooHigh, LrTooLow, Divergence, Overfitting, NonFinite, LossSpike],
        why: "100 learning curves over training-set sizes (not epochs), one per configuration; 59 \
              are non-monotone and several sit at chance (0.48-0.52) at every size. No learning \
              rate, no training dynamics: no LR, divergence, spike or overfitting verdict; \
              underfitting is not ruled out, since the chance-level configurations do underfit.",
        ..healthy("", "", "")
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_complete_and_unique() {
        for (i, e) in REAL_LOGS.iter().enumerate() {
            assert!(
                !e.file.is_empty() && !e.verdict.is_empty() && !e.why.is_empty(),
                "entry {i}"
            );
            let again = REAL_LOGS.iter().filter(|o| o.file == e.file).count();
            assert_eq!(again, 1, "{} listed once", e.file);
            for (kind, _) in e.must {
                assert!(
                    !e.must_not.contains(kind),
                    "{}: {kind} both required and ruled out",
                    e.file
                );
            }
            for (_, range) in e.must {
                assert!(
                    range.is_none_or(|(a, b)| a <= b),
                    "{}: a range runs forwards",
                    e.file
                );
            }
        }
    }
}
