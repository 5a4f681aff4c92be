//! The underfitting detector's points, rules and diagnoses.

use super::{UnderfittingDetector, UnderfittingRule, UnderfittingVerdict};
use crate::callbacks::overfitting::window::Trend;
use crate::callbacks::Direction;
use crate::context::Context;
use crate::diagnosis::{Diagnosis, DiagnosisKind, Severity};
use crate::event::MetricKey;

/// The curves at one point, read once.
#[derive(Clone, Copy, Debug, Default)]
struct Snapshot {
    train: Option<Trend>,
    valid: Option<Trend>,
    accuracy: Option<Trend>,
    train_mean: Option<f64>,
    valid_mean: Option<f64>,
    accuracy_mean: Option<f64>,
    improvement: Option<f64>,
}

/// How many points in a row the curve must move before an episode ends.
const CLEAR_AFTER: u32 = 3;

fn full(t: Option<Trend>) -> Option<Trend> {
    t.filter(|t| t.full)
}

impl UnderfittingDetector {
    /// Records the epoch- or evaluation-level values of an event's metrics.
    pub(super) fn note_epoch_level(&mut self, ctx: &mut Context<'_>, metrics: &[(MetricKey, f64)]) {
        if let Some(t) = self.train.value_in(ctx, metrics).filter(|v| v.is_finite()) {
            self.state.initial.get_or_insert(t);
            self.state.pending.epoch_train = Some(t);
        }
        if let Some(valid) = self.valid.as_mut() {
            if let Some(v) = valid.value_in(ctx, metrics).filter(|v| v.is_finite()) {
                self.state.pending.valid = Some(v);
            }
        }
        if let Some(acc) = self.accuracy.as_mut() {
            if let Some(a) = acc.value_in(ctx, metrics).filter(|v| v.is_finite()) {
                self.state.pending.accuracy = Some(a);
            }
        }
    }

    /// Closes the current point, pushes its values and applies the rules.
    pub(super) fn take_point(&mut self, ctx: &mut Context<'_>) {
        let s = &mut self.state;
        let p = std::mem::take(&mut s.pending);
        let (train, valid, acc) = (p.train(), p.valid, p.accuracy());
        if train.is_none() && valid.is_none() && acc.is_none() {
            return;
        }
        s.points += 1;
        if let Some(t) = train {
            if !s.start_settled {
                // The start: the worse of the first value and the first point (a mean, which one
                // lucky batch cannot drag down).
                s.start_settled = true;
                let first = s.initial.unwrap_or(t);
                s.initial = Some(match self.train.direction() {
                    Direction::Minimize => first.max(t),
                    Direction::Maximize => first.min(t),
                });
            }
            s.trains.push(t);
        }
        if let Some(v) = valid {
            s.valids.push(v);
        }
        if let Some(a) = acc {
            s.accs.push(a);
        }
        let snap = self.snapshot();
        self.state.last_improvement = snap.improvement;
        self.state.last_relative_slope = full(snap.train).map(|t| t.relative_slope());
        self.decide(ctx, &snap);
    }

    fn snapshot(&mut self) -> Snapshot {
        let s = &mut self.state;
        let mut snap = Snapshot {
            train: s.trains.trend(),
            valid: s.valids.trend(),
            accuracy: s.accs.trend(),
            train_mean: s.trains.mean(),
            valid_mean: s.valids.mean(),
            accuracy_mean: s.accs.mean(),
            improvement: None,
        };
        let sign = match self.train.direction() {
            Direction::Minimize => 1.0,
            Direction::Maximize => -1.0,
        };
        if let (Some(initial), Some(current)) = (s.initial, snap.train_mean) {
            let r = sign * (initial - current) / initial.abs();
            snap.improvement = (full(snap.train).is_some() && r.is_finite()).then_some(r);
        }
        snap
    }

    fn flat(&self, t: Option<Trend>) -> bool {
        full(t).is_some_and(|t| t.relative_slope().abs() <= self.flat_tolerance)
    }

    fn accuracy_rule(&self, snap: &Snapshot) -> Option<UnderfittingRule> {
        let acc = self.accuracy.as_ref()?;
        let mean = snap
            .accuracy_mean
            .filter(|_| full(snap.accuracy).is_some())?;
        if acc.direction() != Direction::Maximize {
            return None;
        }
        if let Some(chance) = self.chance {
            if mean - chance <= self.chance_margin * (1.0 - chance) {
                return Some(UnderfittingRule::AccuracyAtChance);
            }
        }
        let below = self.target.is_some_and(|t| mean < t);
        (below && self.flat(snap.accuracy)).then_some(UnderfittingRule::AccuracyBelowTarget)
    }

    /// Whether validation is flat and within `close_tolerance` of training.
    fn valid_flat_and_close(&self, snap: &Snapshot) -> bool {
        let (Some(v), Some(t)) = (snap.valid_mean, snap.train_mean) else {
            return false;
        };
        self.flat(snap.valid) && (v - t).abs() <= self.close_tolerance * v.abs()
    }

    /// The point rules: accuracy only. The training-loss rules (stuck from the start, plateau)
    /// read the curve by progress instead (see `curve.rs`): a window of points is a count of
    /// epochs or logged values, which says nothing about how far the run has come.
    fn find(&self, snap: &Snapshot) -> Option<UnderfittingRule> {
        self.accuracy_rule(snap)
    }

    fn decide(&mut self, ctx: &mut Context<'_>, snap: &Snapshot) {
        // Moving again: beyond twice the tolerance, and significantly (noise on a flat curve
        // must not end an episode only for the next point to start a new one).
        let moving = full(snap.train).is_none_or(|t| {
            t.relative_slope().abs() > 2.0 * self.flat_tolerance && t.t.abs() >= self.t_crit
        });
        let s = &mut self.state;
        s.moving_points = if moving {
            s.moving_points.saturating_add(1)
        } else {
            0
        };
        let cleared = s.moving_points >= CLEAR_AFTER;
        let verdict = s.verdict;
        match self.find(snap) {
            Some(UnderfittingRule::Converged) if verdict == UnderfittingVerdict::None => {
                self.start(UnderfittingVerdict::Plateau, UnderfittingRule::Converged);
                ctx.emit(self.diagnosis(UnderfittingRule::Converged, snap));
            }
            Some(UnderfittingRule::Converged) => {}
            Some(rule) if verdict != UnderfittingVerdict::Underfitting => {
                self.start(UnderfittingVerdict::Underfitting, rule);
                ctx.emit(self.diagnosis(rule, snap));
            }
            Some(_) => {}
            // Only the point rules' own (accuracy) verdicts clear here; the progress curve's
            // verdicts (stuck, plateau) end by its own rules.
            None if cleared && self.state.rule.is_some_and(UnderfittingRule::is_accuracy) => {
                self.state.verdict = UnderfittingVerdict::None
            }
            None => {}
        }
    }

    fn start(&mut self, verdict: UnderfittingVerdict, rule: UnderfittingRule) {
        let s = &mut self.state;
        s.verdict = verdict;
        s.rule = Some(rule);
        s.episodes = s.episodes.saturating_add(1);
    }

    fn diagnosis(&self, rule: UnderfittingRule, snap: &Snapshot) -> Diagnosis {
        let nan = f64::NAN;
        let d = match rule {
            UnderfittingRule::AccuracyAtChance | UnderfittingRule::AccuracyBelowTarget => {
                self.accuracy_diagnosis(rule, snap)
            }
            _ => self.train_diagnosis(rule, snap),
        };
        let d = d
            .with_evidence("points", self.window as f64)
            .with_evidence("initial", self.state.initial.unwrap_or(nan))
            .with_evidence("train_mean", snap.train_mean.unwrap_or(nan))
            .with_evidence("improvement", snap.improvement.unwrap_or(nan))
            .with_evidence(
                "train_relative_slope",
                full(snap.train).map_or(nan, |t| t.relative_slope()),
            );
        match (self.valid.as_ref(), snap.valid_mean) {
            (Some(_), Some(v)) => d.with_evidence("valid_mean", v).with_evidence(
                "valid_relative_slope",
                full(snap.valid).map_or(nan, |t| t.relative_slope()),
            ),
            _ => d,
        }
    }

    fn train_diagnosis(&self, rule: UnderfittingRule, snap: &Snapshot) -> Diagnosis {
        let label = self.train.label();
        let current = snap.train_mean.unwrap_or(f64::NAN);
        let initial = self.state.initial.unwrap_or(f64::NAN);
        let improvement = snap.improvement.unwrap_or(f64::NAN);
        let flat = format!(
            "{label} has been flat for {} points at {current:.4}, {:.1}% below where it started \
             ({initial:.4})",
            self.window,
            100.0 * improvement
        );
        let valid = self.valid.as_ref().map_or(String::new(), |v| v.label());
        let (kind, severity, message, advice) = match rule {
            UnderfittingRule::Converged => (
                DiagnosisKind::Plateau,
                Severity::Info,
                format!("{flat}: it has converged"),
                self.plateau_advice(snap),
            ),
            UnderfittingRule::TrainAndValidFlat => (
                DiagnosisKind::Underfitting,
                Severity::Warning,
                format!("{flat}, and {valid} is flat and close to it: the model fits neither"),
                UNDERFIT_ADVICE.to_owned(),
            ),
            _ => (
                DiagnosisKind::Underfitting,
                Severity::Warning,
                format!("{flat}: the model does not fit its training data"),
                UNDERFIT_ADVICE.to_owned(),
            ),
        };
        Diagnosis::new(kind, severity, message)
            .with_metric(label)
            .with_value(improvement)
            .with_threshold(self.min_improvement)
            .with_recommendation(advice)
    }

    fn plateau_advice(&self, snap: &Snapshot) -> String {
        match self.valid.as_ref() {
            Some(valid) if self.valid_flat_and_close(snap) => format!(
                "{} is flat and close to it too: the model generalises as well as it fits, so \
                 more epochs will not help; if the loss is still higher than you need, a larger \
                 model (more capacity) is the lever",
                valid.label()
            ),
            _ => "More epochs at this learning rate will not help: decay the learning rate to go \
                  lower, or add capacity or data; if the loss is good enough, stop here"
                .to_owned(),
        }
    }

    fn accuracy_diagnosis(&self, rule: UnderfittingRule, snap: &Snapshot) -> Diagnosis {
        let label = self.accuracy.as_ref().map_or(String::new(), |a| a.label());
        let mean = snap.accuracy_mean.unwrap_or(f64::NAN);
        let (message, threshold, advice) = match (rule, self.chance) {
            (UnderfittingRule::AccuracyAtChance, Some(chance)) => (
                format!(
                    "{label} has stayed at {mean:.4} over {} points: chance level is {chance:.4} \
                     ({:.0} classes)",
                    self.window,
                    1.0 / chance
                ),
                chance + self.chance_margin * (1.0 - chance),
                CHANCE_ADVICE,
            ),
            _ => (
                format!(
                    "{label} is flat at {mean:.4} over {} points, below the target {:.4}",
                    self.window,
                    self.target.unwrap_or(f64::NAN)
                ),
                self.target.unwrap_or(f64::NAN),
                UNDERFIT_ADVICE,
            ),
        };
        let mut d = Diagnosis::new(DiagnosisKind::Underfitting, Severity::Warning, message)
            .with_metric(label)
            .with_value(mean)
            .with_threshold(threshold)
            .with_evidence("accuracy", mean)
            .with_recommendation(advice);
        if let Some(chance) = self.chance {
            d = d.with_evidence("chance", chance);
        }
        if let Some(target) = self.target {
            d = d.with_evidence("target", target);
        }
        d
    }
}

const UNDERFIT_ADVICE: &str =
    "Give the model more capacity (a larger architecture: more layers or \
     width) or more training time if the curve still creeps down; check the data (labels matched \
     to inputs, preprocessing, normalisation); check the learning rate (too low crawls, too high \
     keeps the loss from settling)";

const CHANCE_ADVICE: &str =
    "Accuracy at chance means the model ignores its inputs: check the data \
     first (labels shuffled or misaligned with inputs, preprocessing, the loss and output layer), \
     then the learning rate; only then add capacity";
