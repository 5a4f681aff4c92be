//! The overfitting detector's rules, run once per evaluation, and the diagnoses they emit.

use super::state::{curve_noise, median, push_capped, Mark, NOISE_SPAN, RECENT};
use super::timing::onset_fraction;
use super::window::Trend;
use super::{OverfittingDetector, OverfittingVerdict, Timing};
use crate::analysis::trend::median_in_place;
use crate::callbacks::Direction;
use crate::context::Context;
use crate::diagnosis::{Diagnosis, DiagnosisKind, Episode, Severity};

/// How many noise standard deviations above its best validation must stand to count as worse.
/// The best of a noisy curve is itself a low draw, about two deviations under the level it wanders
/// around (more after dozens of flat evaluations); 3.5 keeps a converged curve's wander (above it
/// with probability ~7% per evaluation) from being read as a rise. Measured: at 3.0, 3 of 100
/// generated healthy epoch-level runs got an overfitting warning (each later closed by a new
/// best); at 3.5 none, with the same recall on the overfitting families.
pub(super) const NOISE_SIGMAS: f64 = 3.5;

/// Training must have improved since the validation best by more than this fraction of its value
/// there (by the median of the latest values) for a worse validation to be overfitting.
const TRAIN_PROGRESS: f64 = 0.01;

/// The fewest of the later evaluations read (when there are that many since the best): three in
/// a row above a lucky-low best happen by chance on a flat noisy curve (about one run in 30 over
/// 40 epochs); five do not.
const MIN_LATER: usize = 5;

/// How many standard errors the later evaluations' mean must stand above the level around the
/// best ([`OverfittingDetector::worse_on_average`]).
const AVERAGE_SIGMAS: f64 = 4.0;

/// The fewest validation values the curve's noise is measured over.
const NOISE_FLOOR: usize = 24;

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
        // The noise of the curve where it is judged: from the best on (or the last NOISE_FLOOR
        // values if fewer), not from the steep descent before it, whose curvature second
        // differences would read as noise and so widen the margin of "worse".
        let from = (s.since_best as usize + 2)
            .max(NOISE_FLOOR)
            .min(s.noise_vals.len());
        s.noise = curve_noise(&s.noise_vals[s.noise_vals.len() - from..], &mut s.scratch);
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
            s.above_later = 0;
            s.worse_on_average = false;
            s.counted_since_best = 0;
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
        // Recounted at every evaluation with today's margin: the margin shrinks as the curve's
        // noise estimate leaves the steep early descent behind, and the evaluations just after the
        // best must not stay counted "not worse" by the larger margin of their day.
        let counted = (s.since_best as usize).min(s.noise_vals.len());
        let since = &s.noise_vals[s.noise_vals.len() - counted..];
        let worse = |v: &&f64| sign * (**v - s.best) > margin;
        s.above_best = u32::try_from(since.iter().filter(worse).count()).unwrap_or(u32::MAX);
        // The rule reads the later half of them (at least `patience`): a validation loss that
        // turns up slowly (a convex rise) spends its first evaluations within the margin.
        let later = counted
            .div_ceil(2)
            .max(self.patience as usize)
            .max(MIN_LATER)
            .min(counted);
        let above_later = since[counted - later..].iter().filter(worse).count();
        s.above_later = u32::try_from(above_later).unwrap_or(u32::MAX);
        s.counted_since_best = u32::try_from(later).unwrap_or(u32::MAX);
        let averaged = self.worse_on_average(counted, later);
        let s = &mut self.state;
        s.worse_on_average = averaged;
        if s.worst.is_none_or(|(w, _)| sign * (val - w) > 0.0) {
            s.worst = Some((val, mark));
        }
    }

    /// The averaged form of "worse", for noisy curves: the mean of the later evaluations since the
    /// best stands above the level around the best (the median of the best and up to two
    /// evaluations each side) by [`AVERAGE_SIGMAS`] standard errors of that difference (and by the
    /// monitor's margin). One noisy evaluation says little, twenty say a lot: a validation curve
    /// with 10% swings that sits 3 swings above its minimum for many epochs is overfitting even
    /// when a quarter of its evaluations dip back within three swings of the (lucky) best.
    fn worse_on_average(&self, counted: usize, later: usize) -> bool {
        let s = &self.state;
        let n = s.noise_vals.len();
        if later < self.patience as usize || counted != s.since_best as usize || counted >= n {
            return false;
        }
        let best_at = n - counted - 1;
        let around = &s.noise_vals[best_at.saturating_sub(2)..(best_at + 3).min(n)];
        let mut sorted = around.to_vec();
        let Some(anchor) = median_in_place(&mut sorted) else {
            return false;
        };
        let tail = &s.noise_vals[n - later..];
        let mean = tail.iter().sum::<f64>() / later as f64;
        let se = s.noise * (1.0 / later as f64 + 1.0 / around.len() as f64).sqrt();
        let sign = worse_sign(self.valid.direction());
        let rise = sign * (mean - anchor);
        rise > AVERAGE_SIGMAS * se && rise > self.valid.margin(s.best) && se > 0.0
    }

    /// How far above its best validation must stand to count as worse: the validation monitor's
    /// margin, or [`NOISE_SIGMAS`] times the curve's own noise (second differences, robust) if larger, so
    /// that a noisy curve wandering around a converged level is not called worse.
    pub(super) fn worse_margin(&self) -> f64 {
        let s = &self.state;
        self.valid.margin(s.best).max(NOISE_SIGMAS * s.noise)
    }

    /// Starts (or escalates) an overfitting episode: since the best evaluation, at least `patience`
    /// evaluations, three quarters of the later half of them clearly above the best (by
    /// [`worse_margin`](Self::worse_margin)) or worse on average
    /// ([`worse_on_average`](Self::worse_on_average)), the median of the latest ones above it too,
    /// while training is better than it was at the best.
    fn check_overfitting(&mut self, ctx: &mut Context<'_>, val: f64, train: f64) {
        let sign = worse_sign(self.valid.direction());
        let train_sign = worse_sign(self.train.direction());
        let margin = self.worse_margin();
        let s = &self.state;
        let enough = s.since_best >= self.patience
            && ((4 * u64::from(s.above_later) >= 3 * u64::from(s.counted_since_best)
                && s.above_later >= self.patience)
                || s.worse_on_average);
        let recent_above = sign * (median(&s.recent_vals) - s.best) > margin;
        // Training better than at the best, by the median since and by the latest value: a
        // training loss that turned up too (a divergence) is not overfitting.
        // Better by more than TRAIN_PROGRESS of its value at the best: a training loss that has
        // flattened too (a converged run, both curves wandering) is not memorising anything.
        let latest_train = s.recent_trains.last().copied().unwrap_or(f64::NAN);
        let progress = TRAIN_PROGRESS * s.train_at_best.abs();
        let training_better = train_sign * (median(&s.recent_trains) - s.train_at_best) < -progress
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
