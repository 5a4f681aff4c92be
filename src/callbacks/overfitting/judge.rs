//! The overfitting detector's rules, run once per evaluation, and the diagnoses they emit.

use super::state::{curve_noise, median, push_capped, Mark, NOISE_SPAN, RECENT};
use super::timing::onset_fraction;
use super::window::Trend;
use super::{OverfittingDetector, OverfittingVerdict, Timing};
use crate::callbacks::Direction;
use crate::context::Context;
use crate::diagnosis::{Diagnosis, DiagnosisKind, Episode, Severity};

/// How many noise standard deviations above its best validation must stand to count as worse.
/// The best of a noisy curve is itself a low draw, about two deviations under the level it wanders
/// around; three more keeps a converged curve's wander (above it with probability ~10% per
/// evaluation) from being read as a rise.
pub(super) const NOISE_SIGMAS: f64 = 3.0;

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
        s.has_epochs |= epoch > 0;
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
        };
        self.track_best(ctx, val, train, mark);
        self.check_overfitting(ctx, val, train);
        if self.state.verdict != OverfittingVerdict::Overfitting {
            self.check_gap(ctx, val, train, mark, trends);
        }
    }

    /// Updates the best validation value (the raw best: the same notion as early stopping with no
    /// `min_delta`) and the evaluations since it; a new best ends an overfitting episode.
    fn track_best(&mut self, ctx: &mut Context<'_>, val: f64, train: f64, mark: Mark) {
        let sign = worse_sign(self.valid.direction());
        let s = &mut self.state;
        push_capped(&mut s.noise_vals, val, NOISE_SPAN);
        s.noise = curve_noise(&s.noise_vals, &mut s.scratch);
        push_capped(&mut s.recent_vals, val, RECENT);
        push_capped(&mut s.recent_trains, train, RECENT);
        if s.best_mark.is_none() || sign * (val - s.best) < 0.0 {
            if s.verdict == OverfittingVerdict::Overfitting {
                // Closed with the episode's own numbers, before the new best resets them.
                self.close_overfitting(ctx, mark, val);
            }
            let s = &mut self.state;
            s.best = val;
            s.best_mark = Some(mark);
            s.train_at_best = train;
            s.since_best = 0;
            s.above_best = 0;
            s.recent_vals.clear();
            s.recent_trains.clear();
            s.worst = None;
            if s.verdict == OverfittingVerdict::Overfitting {
                s.verdict = OverfittingVerdict::None;
                s.critical_sent = false;
            }
            return;
        }
        let margin = self.worse_margin();
        let s = &mut self.state;
        s.since_best = s.since_best.saturating_add(1);
        if sign * (val - s.best) > margin {
            s.above_best = s.above_best.saturating_add(1);
        }
        if s.worst.is_none_or(|(w, _)| sign * (val - w) > 0.0) {
            s.worst = Some((val, mark));
        }
    }

    /// How far above its best validation must stand to count as worse: the validation monitor's
    /// margin, or three times the curve's own noise (second differences, robust) if larger, so
    /// that a noisy curve wandering around a converged level is not called worse.
    pub(super) fn worse_margin(&self) -> f64 {
        let s = &self.state;
        self.valid.margin(s.best).max(NOISE_SIGMAS * s.noise)
    }

    /// Starts (or escalates) an overfitting episode: since the best evaluation, at least `patience`
    /// evaluations, at least three quarters of them clearly above the best (by
    /// [`worse_margin`](Self::worse_margin)), the median of the latest ones above it too, while
    /// training is better than it was at the best.
    fn check_overfitting(&mut self, ctx: &mut Context<'_>, val: f64, train: f64) {
        let sign = worse_sign(self.valid.direction());
        let train_sign = worse_sign(self.train.direction());
        let margin = self.worse_margin();
        let s = &self.state;
        let enough = s.since_best >= self.patience
            && 4 * s.above_best >= 3 * s.since_best
            && s.above_best >= self.patience;
        let recent_above = sign * (median(&s.recent_vals) - s.best) > margin;
        // Training better than at the best, by the median since and by the latest value: a
        // training loss that turned up too (a divergence) is not overfitting.
        let latest_train = s.recent_trains.last().copied().unwrap_or(f64::NAN);
        let training_better = train_sign * (median(&s.recent_trains) - s.train_at_best) < 0.0
            && train_sign * (latest_train - s.train_at_best) < 0.0;
        if !(enough && recent_above && training_better) {
            return;
        }
        let critical = s.above_best >= self.critical_after();
        let open = s.verdict == OverfittingVerdict::Overfitting;
        if !open {
            self.start_episode(OverfittingVerdict::Overfitting, s.best_mark);
        }
        // Critical once sustained; the same diagnosis is revised as the episode grows.
        self.state.critical_sent |= critical;
        let d = self.overfitting(val, train, self.episode_severity(), false);
        if open {
            ctx.revise(d);
        } else {
            ctx.emit(d);
        }
    }

    /// The severity of the current overfitting episode: critical once it has been sustained.
    fn episode_severity(&self) -> Severity {
        if self.state.critical_sent {
            Severity::Critical
        } else {
            Severity::Warning
        }
    }

    /// Closes the overfitting episode: validation set a new best `val` at `mark`.
    fn close_overfitting(&mut self, ctx: &mut Context<'_>, mark: Mark, val: f64) {
        let s = &self.state;
        let severity = if s.critical_sent {
            Severity::Critical
        } else {
            Severity::Warning
        };
        let worst = s.worst.map_or(s.best, |(w, _)| w);
        let train = s.recent_trains.last().copied().unwrap_or(s.train_at_best);
        let mut d = self.overfitting(worst, train, severity, true);
        if let Some(e) = d.episode.as_mut() {
            e.end_step = mark.step;
        }
        d.message.push_str(&format!(
            "; it ended at step {}{}, where {} set a new best {val:.4}",
            mark.step,
            self.epoch_words(Some(mark)),
            self.valid.label(),
        ));
        ctx.revise(d);
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
        let best_step = s.best_mark.map_or(0, |m| m.step);
        Diagnosis::new(kind, severity, message)
            .with_metric(self.valid.label())
            .with_evidence("gap", s.last_gap.unwrap_or(f64::NAN))
            .with_evidence("relative_gap", s.last_relative_gap.unwrap_or(f64::NAN))
            .with_evidence("onset_epoch", onset)
            .with_evidence("onset_step", s.onset.map_or(f64::NAN, |m| m.step as f64))
            .with_evidence("best_epoch", best)
            .with_evidence("best_step", best_step as f64)
            .with_evidence("best_valid", s.best)
            .with_recommendation(format!(
                "{} (best {} at step {best_step}{}).",
                timing.recommendation(),
                self.valid.label(),
                self.epoch_words(s.best_mark)
            ))
    }

    fn emit_gap(&self, ctx: &mut Context<'_>, val: f64, train: f64, growth: f64) {
        let s = &self.state;
        let rel = s.last_relative_gap.unwrap_or(f64::NAN);
        let message = format!(
            "{} still improves ({val:.4}) but its gap to {} ({train:.4}) widens: {:.1}% of the \
             validation value, growing {:.2}% of it per evaluation since step {}{}",
            self.valid.label(),
            self.train.label(),
            100.0 * rel,
            100.0 * growth,
            s.onset.map_or(0, |m| m.step),
            self.epoch_words(s.onset)
        );
        let mut episode = Episode::at(s.onset.map_or(0, |m| m.step));
        episode.end_step = s.last_judged.map_or(episode.start_step, |(step, _)| step);
        // Info: validation still improves, so nothing is wrong yet; a warning comes with overfitting.
        let d = self
            .base(DiagnosisKind::GeneralizationGap, Severity::Info, message)
            .with_episode(episode)
            .with_value(rel)
            .with_threshold(self.min_relative_gap)
            .with_evidence("gap_growth", growth)
            .with_evidence("train", train)
            .with_evidence("valid", val);
        ctx.emit(d);
    }

    /// The overfitting diagnosis of the current episode (`closing`: the episode just ended).
    fn overfitting(&self, val: f64, train: f64, severity: Severity, closing: bool) -> Diagnosis {
        let s = &self.state;
        let best_step = s.best_mark.map_or(0, |m| m.step);
        let message = format!(
            "{} worsened from its best {:.4} (step {best_step}{}) to {val:.4}: {} of the {} \
             evaluations since stood more than {:.4} above it, while {} improved from {:.4} to \
             {train:.4}",
            self.valid.label(),
            s.best,
            self.epoch_words(s.best_mark),
            s.above_best,
            s.since_best,
            self.worse_margin(),
            self.train.label(),
            s.train_at_best
        );
        let sign = worse_sign(self.valid.direction());
        let mut episode = Episode::at(best_step);
        episode.end_step = s.last_judged.map_or(best_step, |(step, _)| step);
        episode.count = s.since_best;
        episode.peak_step = s.worst.map_or(best_step, |(_, m)| m.step);
        episode.closed = closing;
        self.base(DiagnosisKind::Overfitting, severity, message)
            .with_value(val)
            .with_threshold(s.best + sign * self.worse_margin())
            .with_evidence("worse_evaluations", f64::from(s.above_best))
            .with_evidence("evaluations_since_best", f64::from(s.since_best))
            .with_evidence("noise", s.noise)
            .with_evidence("train", train)
            .with_evidence("train_at_best", s.train_at_best)
            .with_evidence("valid", val)
            .with_episode(episode)
    }

    /// ", epoch N" where the run has epochs (a step-level run's marks all sit in epoch 0).
    pub(super) fn epoch_words(&self, mark: Option<Mark>) -> String {
        match mark {
            Some(m) if self.state.has_epochs => format!(", epoch {}", m.epoch),
            _ => String::new(),
        }
    }
}
