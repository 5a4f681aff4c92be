//! The overfitting detector's rules, run once per evaluation, and the diagnoses they emit.

use super::state::Mark;
use super::timing::onset_fraction;
use super::window::Trend;
use super::{OverfittingDetector, OverfittingVerdict, Timing};
use crate::callbacks::Direction;
use crate::context::Context;
use crate::diagnosis::{Diagnosis, DiagnosisKind, Severity};

/// +1 when lower is better, -1 when higher is: multiplies a difference so that positive means
/// "worse".
pub(super) fn worse_sign(direction: Direction) -> f64 {
    match direction {
        Direction::Minimize => 1.0,
        Direction::Maximize => -1.0,
    }
}

/// The trends over the window, read once per evaluation.
#[derive(Clone, Copy)]
struct Trends {
    gap: Option<Trend>,
    val: Option<Trend>,
    train: Option<Trend>,
}

impl Trends {
    /// The slope of the gap per evaluation, relative to the mean |validation| over the window.
    fn gap_growth(&self) -> Option<f64> {
        let (gap, val) = (self.gap?, self.val?);
        Some(gap.slope / val.level).filter(|g| val.level > 0.0 && g.is_finite())
    }
}

fn significant(trend: Option<Trend>, sign: f64, t_crit: f64) -> bool {
    trend.is_some_and(|t| t.significant(sign, t_crit))
}

impl OverfittingDetector {
    /// The training value paired with this evaluation: a fresh epoch-level value, else the step
    /// mean since the last evaluation, else the last one used.
    fn take_train(&mut self) -> Option<f64> {
        let s = &mut self.state;
        let fresh = s.epoch_train.take().or_else(|| {
            let mean = s.train_sum / s.train_count as f64;
            (s.train_count > 0 && mean.is_finite()).then_some(mean)
        });
        s.train_sum = 0.0;
        s.train_count = 0;
        if fresh.is_some() {
            s.last_train = fresh;
        }
        s.last_train
    }

    /// Judges one evaluation whose validation value is `val`.
    pub(super) fn judge(&mut self, ctx: &mut Context<'_>, val: f64, epoch: u32, step: u64) {
        if self.state.last_judged == Some((step, epoch)) || !val.is_finite() {
            return;
        }
        self.state.last_judged = Some((step, epoch));
        let Some(train) = self.take_train() else {
            return;
        };
        let gap = worse_sign(self.valid.direction()) * (val - train);
        let s = &mut self.state;
        s.evals += 1;
        let mark = Mark {
            epoch,
            step,
            eval: s.evals,
        };
        s.gaps.push(gap);
        s.vals.push(val);
        s.trains.push(train);
        s.last_gap = Some(gap);
        s.last_relative_gap = Some(if val != 0.0 { gap / val.abs() } else { 0.0 });
        let trends = Trends {
            gap: s.gaps.trend(),
            val: s.vals.trend(),
            train: s.trains.trend(),
        };
        self.track_best(val, train, mark);
        self.check_overfitting(ctx, val, train, trends);
        if self.state.verdict != OverfittingVerdict::Overfitting {
            self.check_gap(ctx, val, train, mark, trends);
        }
    }

    /// Updates the best validation value and the streak of evaluations worse than it.
    fn track_best(&mut self, val: f64, train: f64, mark: Mark) {
        let s = &mut self.state;
        if self.valid.is_improvement(val, s.best) {
            s.best = val;
            s.best_mark = Some(mark);
            s.train_at_best = train;
            s.worse_streak = 0;
            s.worse_onset = None;
            if s.verdict == OverfittingVerdict::Overfitting {
                s.verdict = OverfittingVerdict::None;
                s.critical_sent = false;
            }
            return;
        }
        let rise = worse_sign(self.valid.direction()) * (val - s.best);
        if rise > self.valid.margin(s.best) {
            s.worse_onset.get_or_insert(mark);
            s.worse_streak = s.worse_streak.saturating_add(1);
        } else {
            s.worse_streak = 0;
            s.worse_onset = None;
        }
    }

    /// Starts (or escalates) an overfitting episode.
    fn check_overfitting(&mut self, ctx: &mut Context<'_>, val: f64, train: f64, trends: Trends) {
        let s = &self.state;
        if s.worse_streak < self.patience || !self.train.is_improvement(train, s.train_at_best) {
            return;
        }
        let critical = s.worse_streak >= self.critical_after();
        match s.verdict {
            OverfittingVerdict::Overfitting => {
                if critical && !s.critical_sent {
                    self.state.critical_sent = true;
                    self.emit_overfitting(ctx, val, train, Severity::Critical);
                }
            }
            _ => {
                let t_crit = self.t_crit;
                let rising = significant(trends.val, worse_sign(self.valid.direction()), t_crit);
                let falling =
                    significant(trends.train, -worse_sign(self.train.direction()), t_crit);
                if rising && falling {
                    self.start_episode(OverfittingVerdict::Overfitting, s.worse_onset);
                    self.state.critical_sent = critical;
                    let severity = if critical {
                        Severity::Critical
                    } else {
                        Severity::Warning
                    };
                    self.emit_overfitting(ctx, val, train, severity);
                }
            }
        }
    }

    /// Starts or ends a generalization-gap episode.
    fn check_gap(
        &mut self,
        ctx: &mut Context<'_>,
        val: f64,
        train: f64,
        mark: Mark,
        trends: Trends,
    ) {
        let sign = worse_sign(self.valid.direction());
        let growth = trends.gap_growth();
        let s = &mut self.state;
        let holds = s
            .last_relative_gap
            .is_some_and(|r| r >= self.min_relative_gap)
            && growth.is_some_and(|g| g >= self.min_gap_growth)
            && significant(trends.gap, 1.0, self.t_crit)
            && trends.val.is_some_and(|t| sign * t.slope < 0.0);
        if !holds {
            s.gap_streak = 0;
            s.gap_onset = None;
            if s.verdict == OverfittingVerdict::GeneralizationGap {
                s.gap_misses += 1;
                if s.gap_misses >= self.patience {
                    s.verdict = OverfittingVerdict::None;
                }
            }
            return;
        }
        s.gap_misses = 0;
        s.gap_onset.get_or_insert(mark);
        s.gap_streak = s.gap_streak.saturating_add(1);
        if s.gap_streak >= self.patience && s.verdict == OverfittingVerdict::None {
            let onset = s.gap_onset;
            self.start_episode(OverfittingVerdict::GeneralizationGap, onset);
            self.emit_gap(ctx, val, train, growth.unwrap_or(0.0));
        }
    }

    fn start_episode(&mut self, verdict: OverfittingVerdict, onset: Option<Mark>) {
        let s = &mut self.state;
        s.verdict = verdict;
        s.onset = onset;
        s.episodes = s.episodes.saturating_add(1);
        s.gap_streak = 0;
        s.gap_onset = None;
        s.gap_misses = 0;
        s.timing = onset.map(|m| {
            let f = onset_fraction(
                (m.epoch, m.step, m.eval),
                s.max_epochs,
                s.max_steps,
                s.evals,
            );
            Timing::from_fraction(f)
        });
    }

    /// A diagnosis with the evidence both kinds share and the timing-based recommendation.
    fn base(&self, kind: DiagnosisKind, severity: Severity, message: String) -> Diagnosis {
        let s = &self.state;
        let onset = s.onset.map_or(f64::NAN, |m| f64::from(m.epoch));
        let best = s.best_mark.map_or(f64::NAN, |m| f64::from(m.epoch));
        let timing = s.timing.unwrap_or(Timing::Middle);
        Diagnosis::new(kind, severity, message)
            .with_metric(self.valid.label())
            .with_evidence("gap", s.last_gap.unwrap_or(f64::NAN))
            .with_evidence("relative_gap", s.last_relative_gap.unwrap_or(f64::NAN))
            .with_evidence("onset_epoch", onset)
            .with_evidence("best_epoch", best)
            .with_evidence("best_valid", s.best)
            .with_recommendation(format!(
                "{} (best {} at epoch {best}).",
                timing.recommendation(),
                self.valid.label()
            ))
    }

    fn emit_gap(&self, ctx: &mut Context<'_>, val: f64, train: f64, growth: f64) {
        let s = &self.state;
        let rel = s.last_relative_gap.unwrap_or(f64::NAN);
        let message = format!(
            "{} still improves ({val:.4}) but its gap to {} ({train:.4}) widens: {:.1}% of the \
             validation value, growing {:.2}% of it per evaluation since epoch {}",
            self.valid.label(),
            self.train.label(),
            100.0 * rel,
            100.0 * growth,
            s.onset.map_or(0, |m| m.epoch)
        );
        let d = self
            .base(DiagnosisKind::GeneralizationGap, Severity::Warning, message)
            .with_value(rel)
            .with_threshold(self.min_relative_gap)
            .with_evidence("gap_growth", growth)
            .with_evidence("train", train)
            .with_evidence("valid", val);
        ctx.emit(d);
    }

    fn emit_overfitting(&self, ctx: &mut Context<'_>, val: f64, train: f64, severity: Severity) {
        let s = &self.state;
        let message = format!(
            "{} worsened from its best {:.4} to {val:.4} over {} evaluations (since epoch {}) \
             while {} improved from {:.4} to {train:.4}",
            self.valid.label(),
            s.best,
            s.worse_streak,
            s.onset.map_or(0, |m| m.epoch),
            self.train.label(),
            s.train_at_best
        );
        let sign = worse_sign(self.valid.direction());
        let d = self
            .base(DiagnosisKind::Overfitting, severity, message)
            .with_value(val)
            .with_threshold(s.best + sign * self.valid.margin(s.best))
            .with_evidence("worse_evaluations", f64::from(s.worse_streak))
            .with_evidence("train", train)
            .with_evidence("train_at_best", s.train_at_best)
            .with_evidence("valid", val);
        ctx.emit(d);
    }
}
