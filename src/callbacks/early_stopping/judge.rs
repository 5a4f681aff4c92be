//! One check of early stopping: the rules in order, the log entry, and the stop with its diagnosis.

use crate::callbacks::monitor::Direction;
use crate::context::Context;
use crate::diagnosis::{Diagnosis, DiagnosisKind, Severity};

use super::record::{num, BestPoint, CheckOutcome, StopCheck, StopInfo, StopRule};
use super::EarlyStopping;

/// Where a value was reported.
#[derive(Clone, Copy)]
struct At {
    index: u64,
    step: u64,
    epoch: u32,
}

impl EarlyStopping {
    /// Takes one value of the monitored metric: warm-up, smoothing, cadence, then a check.
    pub(super) fn observe(&mut self, ctx: &mut Context<'_>, value: f64, step: u64, epoch: u32) {
        let s = &mut self.state;
        let at = At {
            index: s.seen,
            step,
            epoch,
        };
        s.seen += 1;
        s.new_best = false;
        if epoch < self.start_from_epoch || step < self.start_from_step {
            return;
        }
        s.counted += 1;
        let smoothed = s.ema.as_mut().and_then(|e| e.update(value));
        let score = smoothed.unwrap_or(value);
        let on_cadence = s.counted % u64::from(self.check_every.get()) == 0;
        let urgent = self.check_finite && !value.is_finite();
        if !(on_cadence || urgent) {
            return;
        }
        self.check(ctx, at, value, score);
    }

    /// Applies the rules in order to the judged `score` and records the decision.
    fn check(&mut self, ctx: &mut Context<'_>, at: At, value: f64, score: f64) {
        let outcome = match self.threshold_rule(score) {
            Some(rule) => CheckOutcome::Stop(rule),
            None => self.patience_rule(at, score),
        };
        let s = &mut self.state;
        let entry = StopCheck {
            index: at.index,
            step: at.step,
            epoch: at.epoch,
            value,
            score,
            best: s.best,
            wait: s.wait,
            outcome,
        };
        if let Some(limit) = self.log_limit {
            if s.log.len() >= limit.get() {
                s.log.pop_front();
                s.dropped += 1;
            }
        }
        s.log.push_back(entry);
        if let CheckOutcome::Stop(rule) = outcome {
            self.stop(ctx, rule, at, score);
        }
    }

    /// Lightning's first three rules: non-finite, stopping threshold, divergence threshold.
    fn threshold_rule(&self, score: f64) -> Option<StopRule> {
        let dir = self.monitor.direction();
        if self.check_finite && !score.is_finite() {
            Some(StopRule::NonFinite)
        } else if self
            .stopping_threshold
            .is_some_and(|t| dir.better(score, t))
        {
            Some(StopRule::StoppingThreshold)
        } else if self
            .divergence_threshold
            .is_some_and(|t| dir.better(t, score))
        {
            Some(StopRule::DivergenceThreshold)
        } else {
            None
        }
    }

    /// Improvement (with Keras's baseline) or one more check of waiting, and the patience stop.
    fn patience_rule(&mut self, at: At, score: f64) -> CheckOutcome {
        let beats_best = self.improves(score, self.state.best);
        let beats_baseline = self.baseline.is_none_or(|b| self.improves(score, b));
        let s = &mut self.state;
        if beats_best {
            s.best = score;
            s.best_at = Some(BestPoint {
                index: at.index,
                step: at.step,
                epoch: at.epoch,
                value: score,
            });
            s.new_best = true;
            if beats_baseline {
                s.wait = 0;
                return CheckOutcome::Improved;
            }
            s.wait = s.wait.saturating_add(1);
            return CheckOutcome::ImprovedBelowBaseline;
        }
        s.wait = s.wait.saturating_add(1);
        if s.wait < self.patience || (self.epoch_zero_guard && at.epoch == 0) {
            return CheckOutcome::NoImprovement;
        }
        let best = s.best;
        let reached = self.baseline.is_none_or(|b| self.improves(best, b));
        CheckOutcome::Stop(if reached {
            StopRule::PatienceExhausted
        } else {
            StopRule::BaselineNotReached
        })
    }

    /// Keras's and Lightning's improvement test: `current` beats `reference` by more than the margin,
    /// with IEEE comparisons (`current + margin < reference` when minimising; NaN never improves, and
    /// with `check_finite` off, `-inf` is a new best of a minimised metric, as in both frameworks).
    fn improves(&self, current: f64, reference: f64) -> bool {
        let margin = self.monitor.margin(reference);
        match self.monitor.direction() {
            Direction::Minimize => current + margin < reference,
            Direction::Maximize => current - margin > reference,
        }
    }

    /// Asks the loop to stop, records the first stop, and emits the `EarlyStop` diagnosis.
    #[cold]
    fn stop(&mut self, ctx: &mut Context<'_>, rule: StopRule, at: At, score: f64) {
        let message = self.stop_message(rule, at, score);
        let restore = self.state.best_at;
        ctx.stop(rule.as_str(), message.clone());
        let severity = match rule {
            StopRule::NonFinite | StopRule::DivergenceThreshold | StopRule::BaselineNotReached => {
                Severity::Warning
            }
            StopRule::PatienceExhausted | StopRule::StoppingThreshold => Severity::Info,
        };
        let mut d = Diagnosis::new(DiagnosisKind::EarlyStop, severity, message.clone())
            .with_metric(self.monitor.label())
            .with_value(score);
        if let Some(t) = self.rule_threshold(rule) {
            d = d.with_threshold(t);
        }
        if let Some(b) = restore {
            d = d
                .with_evidence("best_value", b.value)
                .with_evidence("best_step", b.step as f64)
                .with_evidence("best_epoch", f64::from(b.epoch))
                .with_evidence("best_index", b.index as f64);
        }
        d = d
            .with_evidence("index", at.index as f64)
            .with_evidence("wait", f64::from(self.state.wait))
            .with_evidence("patience", f64::from(self.patience))
            .with_recommendation(self.recommendation(rule, restore));
        ctx.emit(d);
        if self.state.stop.is_none() {
            self.state.stop = Some(StopInfo {
                rule,
                index: at.index,
                step: at.step,
                epoch: at.epoch,
                value: score,
                message,
                restore,
            });
        }
    }

    fn rule_threshold(&self, rule: StopRule) -> Option<f64> {
        match rule {
            StopRule::StoppingThreshold => self.stopping_threshold,
            StopRule::DivergenceThreshold => self.divergence_threshold,
            StopRule::BaselineNotReached => self.baseline,
            StopRule::NonFinite | StopRule::PatienceExhausted => None,
        }
    }

    fn stop_message(&self, rule: StopRule, at: At, score: f64) -> String {
        let label = self.monitor.label();
        let where_ = format!("at step {} (epoch {})", at.step, at.epoch);
        let best = match self.state.best_at {
            Some(b) => format!("best {} at step {}", num(b.value), b.step),
            None => "no best yet".to_owned(),
        };
        let t = |x: Option<f64>| num(x.unwrap_or(f64::NAN));
        match rule {
            StopRule::NonFinite => format!("{label} is {} {where_}; {best}", num(score)),
            StopRule::StoppingThreshold => format!(
                "{label} = {} {where_} beat the stopping threshold {}; {best}",
                num(score),
                t(self.stopping_threshold)
            ),
            StopRule::DivergenceThreshold => format!(
                "{label} = {} {where_} is worse than the divergence threshold {}; {best}",
                num(score),
                t(self.divergence_threshold)
            ),
            StopRule::PatienceExhausted => format!(
                "{label} did not improve for {} checks (patience {}) {where_}; {best}",
                self.state.wait, self.patience
            ),
            StopRule::BaselineNotReached => format!(
                "{label} did not beat the baseline {} in {} checks (patience {}) {where_}; {best}",
                t(self.baseline),
                self.state.wait,
                self.patience
            ),
        }
    }

    fn recommendation(&self, rule: StopRule, restore: Option<BestPoint>) -> String {
        let restore = match restore {
            Some(b) => format!(
                "restore the weights saved at step {} (epoch {}), where {} was {}",
                b.step,
                b.epoch,
                self.monitor.label(),
                num(b.value)
            ),
            None => "no check improved, so there are no better weights to restore".to_owned(),
        };
        let advice = match rule {
            StopRule::NonFinite => {
                "; lower the learning rate, clip gradients, or look for bad data before retrying"
            }
            StopRule::DivergenceThreshold => "; lower the learning rate before retrying",
            StopRule::BaselineNotReached => {
                "; the model never reached the baseline: revisit the model or the data"
            }
            StopRule::PatienceExhausted | StopRule::StoppingThreshold => "",
        };
        format!("{restore}{advice}")
    }
}
