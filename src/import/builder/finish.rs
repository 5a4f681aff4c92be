//! Finishing an import: the "nothing found" check, counted warnings, and the [`Restarts`] policy
//! (keep every point, keep the newest run, or cut into segments).

use super::{Builder, Mark};
use crate::import::error::{Ctx, ImportError};
use crate::import::{ImportFormat, ImportWarning, Restart, Restarts, Segment, SummaryValue};
use crate::History;

/// What a finished import holds, before the caller adds source and format.
#[derive(Debug)]
pub(crate) struct Built {
    pub(crate) history: History,
    pub(crate) segments: Vec<Segment>,
    pub(crate) restarts: Vec<Restart>,
    pub(crate) warnings: Vec<ImportWarning>,
    pub(crate) summary: Vec<SummaryValue>,
    pub(crate) skipped: Vec<String>,
    pub(crate) epochs_known: bool,
    pub(crate) records: usize,
}

impl Builder<'_> {
    /// Finishes: an error if nothing at all was found, else the history under the restart policy.
    pub(crate) fn finish(mut self, ctx: &Ctx, format: ImportFormat) -> Result<Built, ImportError> {
        if !self.has_points() && self.summary.is_empty() {
            return Err(ctx.no_metrics(format, crate::import::expected_content(format)));
        }
        if !self.has_points() {
            let msg = "no per-step metric; only an end-of-training summary (see `summary`)";
            self.warn(None, msg.to_owned());
        }
        self.finish_warnings();
        let history = std::mem::take(&mut self.history);
        let (history, segments) = match self.opts.restarts {
            Restarts::KeepAll => (history, Vec::new()),
            Restarts::KeepLast if self.restarts.is_empty() => (history, Vec::new()),
            Restarts::KeepLast => (keep_last(&history), Vec::new()),
            Restarts::Segments => {
                let segments = split_segments(&history, &self.marks);
                (history, segments)
            }
        };
        Ok(Built {
            history,
            segments,
            restarts: self.restarts,
            warnings: self.warnings,
            summary: self.summary,
            skipped: self.skipped.into_iter().collect(),
            epochs_known: self.epochs_known,
            records: self.records,
        })
    }

    fn finish_warnings(&mut self) {
        for n in std::mem::take(&mut self.notes) {
            let message = match n.count {
                1 => n.message,
                c => format!("{} ({c} times)", n.message),
            };
            self.warnings.push(ImportWarning {
                at: Some(n.first.location()),
                message,
            });
        }
        if let Some(first) = self.restarts.first() {
            let message = format!(
                "{} restart(s), the first at {}; {}",
                self.restarts.len(),
                first,
                match self.opts.restarts {
                    Restarts::KeepAll =>
                        "every point is kept in file order (choose keep-last or segments)",
                    Restarts::KeepLast => "the newest run wins from each restart on",
                    Restarts::Segments => "each run is a segment",
                }
            );
            self.warnings.push(ImportWarning { at: None, message });
        }
        self.warn_percent_like();
    }

    /// Accuracy-like series with values in (1, 100] were probably written as percentages.
    fn warn_percent_like(&mut self) {
        let mut found = Vec::new();
        for (_, s) in self.history.iter() {
            let name = s.name().to_ascii_lowercase();
            let max = s.max().map(|(_, _, v)| v);
            if name.contains("acc") && max.is_some_and(|m| m > 1.0 && m <= 100.0) {
                found.push(format!(
                    "{}/{} reaches {} > 1: it looks like a percentage; kept as written",
                    s.split(),
                    s.name(),
                    max.unwrap_or(0.0)
                ));
            }
        }
        for message in found {
            self.warn(None, message);
        }
    }
}

/// The newest run wins: a point at step `s` drops the series' earlier points at steps ≥ `s`.
pub(crate) fn keep_last(history: &History) -> History {
    let mut out = History::new();
    let mut keep: Vec<usize> = Vec::new();
    for (_, s) in history.iter() {
        let key = out.key(s.split(), s.name());
        let steps = s.steps();
        keep.clear();
        for i in 0..steps.len() {
            while keep.last().is_some_and(|&j| steps[j] >= steps[i]) {
                keep.pop();
            }
            keep.push(i);
        }
        out.reserve(key, keep.len());
        for &i in &keep {
            out.record(key, steps[i], s.epochs()[i] as f64, s.values()[i]);
        }
    }
    out
}

/// One history per run between marks; a run holds only the series it has points of.
fn split_segments(history: &History, marks: &[Mark]) -> Vec<Segment> {
    let mut segments = Vec::with_capacity(marks.len());
    for (j, mark) in marks.iter().enumerate() {
        let next = marks.get(j + 1);
        let mut h = History::new();
        for (k, s) in history.iter() {
            let a = mark.lens.get(k.index()).copied().unwrap_or(0);
            let b = match next {
                Some(n) => n.lens.get(k.index()).copied().unwrap_or(0),
                None => s.len(),
            };
            if b <= a {
                continue;
            }
            let key = h.key(s.split(), s.name());
            h.reserve(key, b - a);
            for i in a..b {
                h.record(key, s.steps()[i], s.epochs()[i] as f64, s.values()[i]);
            }
        }
        segments.push(Segment {
            history: h,
            start: mark.start.location(),
            label: mark.label.clone(),
        });
    }
    segments
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::builder::Pos;
    use crate::import::error::Location;
    use crate::import::{ImportOptions, RestartKind};
    use crate::Split;

    /// Feeds `(line, step, value)` points of `train/loss` and returns the builder's result.
    fn run(points: &[(usize, u64, f64)], policy: Restarts) -> Built {
        let opts = ImportOptions::default().with_restarts(policy);
        let mut b = Builder::new(&opts, None);
        let id = b.intern("loss");
        for &(line, step, v) in points {
            b.begin(Pos::Line(line), 0);
            b.push_raw(id, step, 0.0, v);
        }
        b.finish(&Ctx::new("t"), ImportFormat::JsonLines).unwrap()
    }

    fn steps(h: &History) -> Vec<u64> {
        h.get(Split::Train, "loss").unwrap().steps().to_vec()
    }

    const RESUMED: [(usize, u64, f64); 6] = [
        (1, 10, 5.0),
        (2, 20, 4.0),
        (3, 30, 3.0),
        (4, 20, 3.9), // resumed from step 20
        (5, 30, 2.9),
        (6, 40, 2.0),
    ];

    #[test]
    fn policies_on_a_resumed_run() {
        let all = run(&RESUMED, Restarts::KeepAll);
        assert_eq!(
            steps(&all.history),
            [10, 20, 30, 20, 30, 40],
            "keep all keeps file order"
        );
        assert_eq!(all.restarts.len(), 1);
        assert_eq!(all.restarts[0].at, Location::line(4));
        let last = run(&RESUMED, Restarts::KeepLast);
        assert_eq!(steps(&last.history), [10, 20, 30, 40], "newest run wins");
        let v = last
            .history
            .get(Split::Train, "loss")
            .unwrap()
            .values()
            .to_vec();
        assert_eq!(
            v,
            [5.0, 3.9, 2.9, 2.0],
            "the resumed values replace the old ones"
        );
        let seg = run(&RESUMED, Restarts::Segments);
        assert_eq!(seg.segments.len(), 2);
        assert_eq!(steps(&seg.segments[0].history), [10, 20, 30]);
        assert_eq!(steps(&seg.segments[1].history), [20, 30, 40]);
        assert_eq!(seg.segments[1].start, Location::line(4));
    }

    #[test]
    fn keep_last_drops_an_abandoned_branch() {
        // The old run reached 50; the new one restarted at 20 and stopped at 30.
        let pts = [(1, 10, 1.0), (2, 50, 0.5), (3, 20, 0.9), (4, 30, 0.8)];
        assert_eq!(steps(&run(&pts, Restarts::KeepLast).history), [10, 20, 30]);
    }

    #[test]
    fn a_repeated_step_is_a_restart_and_last_write_wins() {
        let pts = [(1, 20, 8.5604), (2, 20, 8.5604_1), (3, 40, 7.9)];
        let all = run(&pts, Restarts::KeepAll);
        assert!(matches!(
            all.restarts[0].kind,
            RestartKind::Rewind {
                step: 20,
                previous_step: 20,
                ..
            }
        ));
        let v = run(&pts, Restarts::KeepLast).history;
        assert_eq!(
            v.get(Split::Train, "loss").unwrap().values(),
            &[8.5604_1, 7.9]
        );
    }

    #[test]
    fn a_name_clash_within_one_record_keeps_the_raw_name() {
        let opts = ImportOptions::default();
        let mut b = Builder::new(&opts, None);
        let (lr, learning_rate) = (b.intern("lr"), b.intern("learning_rate"));
        b.begin(Pos::Line(1), 0);
        b.push_raw(lr, 1, 0.0, 0.1);
        b.push_raw(learning_rate, 1, 0.0, 0.2);
        let built = b.finish(&Ctx::new("t"), ImportFormat::JsonLines).unwrap();
        assert_eq!(
            built.history.get(Split::Train, "lr").unwrap().values(),
            &[0.1]
        );
        let other = built.history.get(Split::Train, "learning_rate").unwrap();
        assert_eq!(other.values(), &[0.2]);
        assert!(
            built.restarts.is_empty(),
            "two names at one step are not a restart"
        );
    }

    #[test]
    fn nothing_found_is_an_error_and_timing_is_skipped() {
        let opts = ImportOptions::default();
        let mut b = Builder::new(&opts, None);
        let t = b.intern("eval_runtime");
        b.begin(Pos::Line(1), 0);
        b.push_raw(t, 1, 0.0, 3.0);
        let err = b.finish(&Ctx::new("x.jsonl"), ImportFormat::JsonLines);
        assert!(matches!(err, Err(ImportError::NoMetrics { .. })));
        let opts = ImportOptions::default().with_timing(true);
        let mut b = Builder::new(&opts, None);
        let t = b.intern("eval_runtime");
        b.begin(Pos::Line(1), 0);
        b.push_raw(t, 1, 0.0, 3.0);
        let built = b.finish(&Ctx::new("x"), ImportFormat::JsonLines).unwrap();
        assert_eq!(built.history.get(Split::Valid, "runtime").unwrap().len(), 1);
    }
}
