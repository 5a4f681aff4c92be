//! The underfitting detector's progress-scaled rules on the training loss: stuck from the start
//! (underfitting, warning), a plateau (info) re-judged when the loss resumes falling, and "too few
//! points" said at the end instead of guessed.

use super::progress::{CurveEvent, CurveMeasures, MIN_BUCKETS};
use super::{UnderfittingDetector, UnderfittingRule, UnderfittingVerdict};
use crate::context::Context;
use crate::diagnosis::{Diagnosis, DiagnosisKind, Episode, Severity};

impl UnderfittingDetector {
    /// Feeds one training value at `step` into the progress curve and reports what it says.
    pub(super) fn feed_curve(&mut self, ctx: &mut Context<'_>, step: u64, value: f64) {
        let Some((event, m)) = self.state.curve.push(step, value) else {
            return;
        };
        match event {
            CurveEvent::Stuck => {
                let s = &mut self.state;
                if s.verdict != UnderfittingVerdict::Underfitting {
                    s.verdict = UnderfittingVerdict::Underfitting;
                    s.rule = Some(UnderfittingRule::StuckFromStart);
                    s.episodes = s.episodes.saturating_add(1);
                    let d = self.stuck(&m);
                    ctx.emit(d);
                }
            }
            CurveEvent::Plateau => {
                let s = &mut self.state;
                if s.verdict == UnderfittingVerdict::None {
                    s.verdict = UnderfittingVerdict::Plateau;
                    s.rule = Some(UnderfittingRule::Converged);
                    s.episodes = s.episodes.saturating_add(1);
                    s.plateau_start = Some(m.span_start);
                    let d = self.plateau(&m, None);
                    ctx.emit(d);
                }
            }
            CurveEvent::Learning => {
                if self.state.verdict == UnderfittingVerdict::Underfitting {
                    self.state.verdict = UnderfittingVerdict::None;
                    let mut d = self.stuck(&m);
                    if let Some(e) = d.episode.as_mut() {
                        e.closed = true;
                    }
                    d.message = format!(
                        "{} was flat from the start, then began to learn: {:.4} at step {step}, \
                         {:.1}% below where it started",
                        self.train.label(),
                        m.level,
                        100.0 * m.improvement
                    );
                    ctx.revise(d);
                }
            }
            CurveEvent::Resumed => {
                if self.state.verdict == UnderfittingVerdict::Plateau {
                    self.state.verdict = UnderfittingVerdict::None;
                    let d = self.plateau(&m, Some(step));
                    ctx.revise(d);
                }
            }
        }
    }

    /// At the end of the run: a curve too short to judge is said to be so.
    pub(super) fn judge_end(&mut self, ctx: &mut Context<'_>) {
        let curve = &self.state.curve;
        let points = curve.points();
        if points == 0 || curve.buckets() >= MIN_BUCKETS {
            return;
        }
        let label = self.train.label();
        let d = Diagnosis::new(
            DiagnosisKind::NotJudged,
            Severity::Info,
            format!(
                "{label} has only {points} point(s) over {} span(s) of the run: too few to judge \
                 underfitting or a plateau (at least {MIN_BUCKETS} are needed)",
                curve.buckets()
            ),
        )
        .with_metric(label)
        .with_value(points as f64)
        .with_threshold(MIN_BUCKETS as f64)
        .with_recommendation("log the loss more often (every few steps) to have it judged");
        ctx.emit(d);
    }

    fn stuck(&self, m: &CurveMeasures) -> Diagnosis {
        let label = self.train.label();
        let mut episode = Episode::at(m.span_start);
        episode.end_step = m.step;
        Diagnosis::new(
            DiagnosisKind::Underfitting,
            Severity::Warning,
            format!(
                "{label} has not come down from where it started: {:.4} now against {:.4} at the \
                 start ({:+.2}%, noise {:.4}) between steps {} and {}: the model is not learning",
                m.level,
                m.initial,
                -100.0 * m.improvement,
                m.noise,
                m.span_start,
                m.step
            ),
        )
        .with_metric(label)
        .with_value(m.improvement)
        .with_threshold(super::progress::STUCK_DROP)
        .with_evidence("initial", m.initial)
        .with_evidence("level", m.level)
        .with_evidence("noise", m.noise)
        .with_evidence("improvement", m.improvement)
        .with_episode(episode)
        .with_recommendation(
            "check that gradients reach the parameters (frozen layers, a detached graph, a zero or \
             tiny learning rate: try 10x), that labels match inputs, and that the loss is wired to \
             the outputs; only then add capacity",
        )
    }

    /// The plateau diagnosis; `resumed` is the step where the loss fell again (closing it).
    fn plateau(&self, m: &CurveMeasures, resumed: Option<u64>) -> Diagnosis {
        let label = self.train.label();
        let start = self.state.curve.plateau_start().unwrap_or(m.span_start);
        let mut episode = Episode::at(start);
        episode.end_step = m.step;
        let message = match resumed {
            None => format!(
                "{label} has been flat since step {start} (the last quarter of the run so far) at \
                 {:.4}, {:.1}% below where it started ({:.4}); not necessarily converged: it will \
                 be re-judged if it falls again",
                m.level,
                100.0 * m.improvement,
                m.initial
            ),
            Some(step) => {
                episode.closed = true;
                episode.start_step = self.plateau_started_at(start);
                episode.peak_step = episode.start_step;
                format!(
                    "{label} was flat from step {} and resumed falling at step {step}: now \
                     {:.4}, {:.1}% below where it started; the plateau was not convergence",
                    episode.start_step,
                    m.level,
                    100.0 * m.improvement
                )
            }
        };
        Diagnosis::new(DiagnosisKind::Plateau, Severity::Info, message)
            .with_metric(label)
            .with_value(m.level)
            .with_threshold(m.initial)
            .with_evidence("initial", m.initial)
            .with_evidence("level", m.level)
            .with_evidence("improvement", m.improvement)
            .with_evidence("noise", m.noise)
            .with_episode(episode)
            .with_recommendation(
                "if the loss is good enough, stop here; otherwise decay the learning rate (or \
                 wait for the schedule to), or add capacity or data",
            )
    }

    /// Where the plateau being closed began (kept in the last plateau diagnosis' extent).
    fn plateau_started_at(&self, fallback: u64) -> u64 {
        self.state.plateau_start.unwrap_or(fallback)
    }
}
