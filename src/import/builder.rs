//! The sink every format writes into: resolves names to series once, records points, notices
//! restarts, gathers warnings, and applies the [`Restarts`] policy at the end.

use std::collections::{BTreeSet, HashMap};

use super::error::Location;
use super::names::{map_name, Mapped};
use super::{ImportOptions, ImportWarning, Restart, RestartKind, SummaryValue};
use crate::{History, MetricKey, Split};

mod finish;

pub(crate) use finish::Built;

/// Where a record is: a line of a line-oriented file, or a row of HF's `log_history`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pos {
    Line(usize),
    Row(usize),
}

impl Pos {
    pub(crate) fn location(self) -> Location {
        match self {
            Pos::Line(l) => Location::line(l),
            Pos::Row(r) => Location::key(format!("log_history[{r}]")),
        }
    }
}

/// A raw name and what it resolved to; the series is created on the first point.
struct Resolved {
    raw: String,
    mapped: Mapped,
    key: Option<MetricKey>,
    skipped: bool,
}

/// A run boundary: where it starts and how long each series was before it.
struct Mark {
    start: Pos,
    lens: Vec<usize>,
    label: Option<String>,
}

/// A warning that may happen many times: counted, reported once with its first place.
struct Note {
    message: String,
    first: Pos,
    count: usize,
}

/// Collects one file's points.
pub(crate) struct Builder<'o> {
    opts: &'o ImportOptions,
    history: History,
    last_step: Vec<Option<u64>>,
    ids: HashMap<Box<str>, usize>,
    resolved: Vec<Resolved>,
    /// The id interned at each position of the previous record (see [`Builder::intern_at`]).
    recent: Vec<usize>,
    touched: Vec<(MetricKey, usize)>,
    pos: Pos,
    rewound: bool,
    marks: Vec<Mark>,
    restarts: Vec<Restart>,
    notes: Vec<Note>,
    note_ids: HashMap<String, usize>,
    warnings: Vec<ImportWarning>,
    summary: Vec<SummaryValue>,
    skipped: BTreeSet<String>,
    epochs_known: bool,
    records: usize,
    size_hint: Option<u64>,
}

/// After this many records the builder estimates each series' final length from the bytes read and
/// reserves it, so a long file grows each column once instead of doubling (memory stays near 1×).
const RESERVE_AFTER: usize = 4096;

impl<'o> Builder<'o> {
    pub(crate) fn new(opts: &'o ImportOptions, size_hint: Option<u64>) -> Self {
        Builder {
            opts,
            history: History::new(),
            last_step: Vec::new(),
            ids: HashMap::new(),
            resolved: Vec::new(),
            recent: Vec::new(),
            touched: Vec::new(),
            pos: Pos::Line(0),
            rewound: false,
            marks: Vec::new(),
            restarts: Vec::new(),
            notes: Vec::new(),
            note_ids: HashMap::new(),
            warnings: Vec::new(),
            summary: Vec::new(),
            skipped: BTreeSet::new(),
            epochs_known: false,
            records: 0,
            size_hint,
        }
    }

    /// Starts a record at `pos`; `consumed` is the number of input bytes read so far.
    pub(crate) fn begin(&mut self, pos: Pos, consumed: u64) {
        self.records += 1;
        self.pos = pos;
        self.rewound = false;
        self.touched.clear();
        if self.marks.is_empty() {
            self.marks.push(Mark {
                start: pos,
                lens: Vec::new(),
                label: None,
            });
        }
        if self.records == RESERVE_AFTER {
            self.reserve_estimate(consumed);
        }
    }

    fn reserve_estimate(&mut self, consumed: u64) {
        let Some(total) = self.size_hint.filter(|_| consumed > 0) else {
            return;
        };
        let scale = total as f64 / consumed as f64;
        let keys: Vec<(MetricKey, usize)> =
            self.history.iter().map(|(k, s)| (k, s.len())).collect();
        for (k, len) in keys {
            let want = (len as f64 * scale * 1.03) as usize + 16;
            if want > len {
                self.history.reserve(k, want - len);
            }
        }
    }

    /// The id of a raw metric name (interned; the series is created on its first point).
    pub(crate) fn intern(&mut self, raw: &str) -> usize {
        if let Some(&id) = self.ids.get(raw) {
            return id;
        }
        let id = self.resolved.len();
        self.resolved.push(Resolved {
            raw: raw.to_owned(),
            mapped: map_name(raw),
            key: None,
            skipped: false,
        });
        self.ids.insert(raw.into(), id);
        id
    }

    /// [`Builder::intern`] for the name at position `pos` of a record: most records of a log have
    /// the same names in the same order, so comparing with the previous record's name at `pos`
    /// usually replaces a hash lookup.
    pub(crate) fn intern_at(&mut self, pos: usize, raw: &str) -> usize {
        if let Some(&id) = self.recent.get(pos) {
            if self.resolved.get(id).is_some_and(|r| r.raw == raw) {
                return id;
            }
        }
        let id = self.intern(raw);
        if pos < self.recent.len() {
            self.recent[pos] = id;
        } else if pos == self.recent.len() {
            self.recent.push(id);
        }
        id
    }

    /// The raw name behind an id.
    pub(crate) fn raw(&self, id: usize) -> &str {
        self.resolved.get(id).map_or("", |r| r.raw.as_str())
    }

    /// Records a value of raw name `id`. Timing names are skipped unless asked for; when another
    /// name of this record already wrote the same series, this one keeps its raw name.
    pub(crate) fn push_raw(&mut self, id: usize, step: u64, epoch: f64, value: f64) {
        let Some(key) = self.key_of(id) else {
            return;
        };
        let clash = self
            .touched
            .iter()
            .any(|&(k, other)| k == key && other != id);
        let key = if clash { self.rekey_raw(id) } else { key };
        self.push_as(key, id, step, epoch, value);
    }

    /// The series of raw name `id`, created on first use; `None` for a skipped timing name.
    fn key_of(&mut self, id: usize) -> Option<MetricKey> {
        let r = self.resolved.get(id)?;
        if let Some(k) = r.key {
            return Some(k);
        }
        let (split, name) = match &r.mapped {
            Mapped::Timing(..) if !self.opts.keep_timing => {
                self.skip_id(id);
                return None;
            }
            Mapped::Timing(s, n) | Mapped::Metric(s, n) => (*s, n.clone()),
        };
        let k = self.history.key(split, &name);
        self.resolved[id].key = Some(k);
        Some(k)
    }

    /// Moves raw name `id` to a series under its raw name (its mapped name clashed with another).
    fn rekey_raw(&mut self, id: usize) -> MetricKey {
        let r = &self.resolved[id];
        let split = match &r.mapped {
            Mapped::Timing(s, _) | Mapped::Metric(s, _) => *s,
        };
        let raw = r.raw.clone();
        let k = self.history.key(split, &raw);
        self.resolved[id].key = Some(k);
        k
    }

    /// Whether timing series are kept.
    pub(crate) fn keep_timing(&self) -> bool {
        self.opts.keep_timing
    }

    /// The key of `(split, name)` for formats that resolve their columns themselves.
    pub(crate) fn key(&mut self, split: Split, name: &str) -> MetricKey {
        self.history.key(split, name)
    }

    /// Records a point, noticing a step that repeats or goes back.
    pub(crate) fn push(&mut self, key: MetricKey, step: u64, epoch: f64, value: f64) {
        self.push_as(key, usize::MAX, step, epoch, value);
    }

    /// Records a point written under raw name `id` (`usize::MAX`: resolved by the caller).
    fn push_as(&mut self, key: MetricKey, id: usize, step: u64, epoch: f64, value: f64) {
        let i = key.index();
        if self.last_step.len() <= i {
            self.last_step.resize(i + 1, None);
        }
        if let Some(prev) = self.last_step[i] {
            if step <= prev && !self.rewound {
                self.rewind(key, step, prev);
            }
        }
        self.last_step[i] = Some(step);
        self.history.record(key, step, epoch, value);
        self.touched.push((key, id));
    }

    fn rewind(&mut self, key: MetricKey, step: u64, previous_step: u64) {
        self.rewound = true;
        let series = self
            .history
            .series(key)
            .map_or_else(String::new, |s| format!("{}/{}", s.split(), s.name()));
        self.restarts.push(Restart {
            at: self.pos.location(),
            kind: RestartKind::Rewind {
                series,
                step,
                previous_step,
            },
        });
        let lens = self.lens_before_record();
        self.marks.push(Mark {
            start: self.pos,
            lens,
            label: None,
        });
    }

    /// Each series' length before the current record's points.
    fn lens_before_record(&self) -> Vec<usize> {
        let mut lens: Vec<usize> = self.history.iter().map(|(_, s)| s.len()).collect();
        for (k, _) in &self.touched {
            if let Some(l) = lens.get_mut(k.index()) {
                *l = l.saturating_sub(1);
            }
        }
        lens
    }

    /// Starts a new run at the current record (a repeated header, a new LCDB row); steps start over
    /// without being flagged as going back.
    pub(crate) fn new_run(&mut self, kind: RestartKind, label: Option<String>) {
        let lens = self.lens_before_record();
        let same = self.marks.last().is_some_and(|m| {
            (0..lens.len()).all(|i| m.lens.get(i).copied().unwrap_or(0) == lens[i])
        });
        if same {
            if let Some(m) = self.marks.last_mut() {
                m.start = self.pos;
                m.label = label;
            }
        } else {
            self.restarts.push(Restart {
                at: self.pos.location(),
                kind,
            });
            self.marks.push(Mark {
                start: self.pos,
                lens,
                label,
            });
        }
        self.last_step.iter_mut().for_each(|s| *s = None);
    }

    /// Marks the file as giving epoch numbers.
    pub(crate) fn epochs_known(&mut self) {
        self.epochs_known = true;
    }

    /// Lists the raw name behind `id` as not imported.
    pub(crate) fn skip_id(&mut self, id: usize) {
        if let Some(r) = self.resolved.get_mut(id) {
            if !r.skipped {
                r.skipped = true;
                self.skipped.insert(r.raw.clone());
            }
        }
    }

    /// Lists a raw name as not imported.
    pub(crate) fn skip(&mut self, raw: &str) {
        if !self.skipped.contains(raw) {
            self.skipped.insert(raw.to_owned());
        }
    }

    /// A warning that may repeat: reported once, with its count and first place. `code` groups them.
    pub(crate) fn note(&mut self, code: &str, message: impl FnOnce() -> String) {
        match self.note_ids.get(code) {
            Some(&i) => self.notes[i].count += 1,
            None => {
                self.note_ids.insert(code.to_owned(), self.notes.len());
                self.notes.push(Note {
                    message: message(),
                    first: self.pos,
                    count: 1,
                });
            }
        }
    }

    /// A one-off warning.
    pub(crate) fn warn(&mut self, at: Option<Location>, message: String) {
        self.warnings.push(ImportWarning { at, message });
    }

    /// Keeps a summary value.
    pub(crate) fn summary(&mut self, name: &str, step: Option<u64>, value: f64) {
        self.summary.push(SummaryValue {
            name: name.to_owned(),
            step,
            value,
        });
    }

    /// Whether any point was recorded.
    pub(crate) fn has_points(&self) -> bool {
        self.history.points() > 0
    }
}
