//! [`History`]: every metric the loop reported, as columnar series per (split, metric).

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::event::{MetricKey, Split};
use crate::persist::{self, PersistError};

/// One metric's recorded points, in the order they arrived: parallel columns of step, epoch and value.
///
/// Non-finite values (NaN, ±infinity) are stored as they came; nothing is dropped. Steps may repeat or go
/// backwards (a restarted run): the series keeps them in arrival order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    split: Split,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    origin: Option<Origin>,
    steps: Vec<u64>,
    epochs: Vec<f32>,
    #[serde(with = "crate::persist::floats")]
    values: Vec<f64>,
}

/// Which kind of event first recorded a series; a replay sends its points back through the same kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Recorded from [`StepEnd`](crate::StepEnd) events.
    Step,
    /// Recorded from [`EvalEnd`](crate::EvalEnd) events.
    Eval,
    /// Recorded from [`EpochEnd`](crate::EpochEnd) events.
    Epoch,
    /// Recorded without an event, by [`Bus::record`](crate::Bus::record): values for the curves that
    /// no callback judges (per-batch validation losses, say). A replay records them again and sends
    /// them to no callback.
    Record,
}

impl Series {
    fn new(split: Split, name: &str) -> Self {
        Series {
            split,
            name: name.to_owned(),
            origin: None,
            steps: Vec::new(),
            epochs: Vec::new(),
            values: Vec::new(),
        }
    }

    /// The split this metric was computed on.
    pub fn split(&self) -> Split {
        self.split
    }

    /// The metric's name, e.g. `loss`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `split/name`, e.g. `valid/loss`.
    pub fn label(&self) -> String {
        format!("{}/{}", self.split, self.name)
    }

    /// The kind of event that recorded this series, if known (imported logs may not say).
    pub fn origin(&self) -> Option<Origin> {
        self.origin
    }

    /// Global step of each point.
    pub fn steps(&self) -> &[u64] {
        &self.steps
    }

    /// Fractional epoch position of each point (epoch + fraction of it done).
    pub fn epochs(&self) -> &[f32] {
        &self.epochs
    }

    /// The recorded values, non-finite ones included.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Number of recorded points.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The most recent value, if any.
    pub fn last(&self) -> Option<f64> {
        self.values.last().copied()
    }

    /// The point with the lowest finite value: `(index, step, value)`.
    pub fn min(&self) -> Option<(usize, u64, f64)> {
        self.best_by(|a, b| a < b)
    }

    /// The point with the highest finite value: `(index, step, value)`.
    pub fn max(&self) -> Option<(usize, u64, f64)> {
        self.best_by(|a, b| a > b)
    }

    fn best_by(&self, better: impl Fn(f64, f64) -> bool) -> Option<(usize, u64, f64)> {
        let mut best: Option<(usize, u64, f64)> = None;
        for (i, &v) in self.values.iter().enumerate() {
            if v.is_finite() && best.is_none_or(|(_, _, b)| better(v, b)) {
                best = Some((i, self.steps[i], v));
            }
        }
        best
    }

    /// Number of non-finite values recorded.
    pub fn non_finite_count(&self) -> usize {
        self.values.iter().filter(|v| !v.is_finite()).count()
    }

    #[inline]
    fn push(&mut self, step: u64, epoch: f32, value: f64) {
        self.steps.push(step);
        self.epochs.push(epoch);
        self.values.push(value);
    }

    fn reserve(&mut self, additional: usize) {
        prefault(&mut self.steps, additional);
        prefault(&mut self.epochs, additional);
        prefault(&mut self.values, additional);
    }

    fn is_consistent(&self) -> bool {
        self.steps.len() == self.values.len() && self.epochs.len() == self.values.len()
    }
}

/// Reserves room for `additional` more elements and touches it (writes zeros, then truncates), so
/// that the operating system maps the pages now rather than on the training thread, one page fault
/// every few hundred points.
fn prefault<T: Copy + Default>(v: &mut Vec<T>, additional: usize) {
    let len = v.len();
    v.reserve(additional);
    v.resize(len + additional, T::default());
    v.truncate(len);
}

/// Every metric of a run, one [`Series`] per (split, metric), each at its own frequency.
///
/// Keys are issued by [`History::key`] in registration order and stay valid through save and load, so a
/// resumed run can keep using the keys it had. Memory per point is 20 bytes (step `u64`, epoch `f32`,
/// value `f64`): ten million steps of four metrics take about 800 MB.
///
/// ```
/// use curvewatch::{History, Split};
/// let mut h = History::new();
/// let loss = h.key(Split::Train, "loss");
/// h.record(loss, 1, 0.0, 2.5);
/// h.record(loss, 2, 0.0, f64::NAN); // kept, never dropped
/// assert_eq!(h.series(loss).unwrap().len(), 2);
/// let restored = History::from_json(&h.to_json()).unwrap();
/// assert!(restored.series(loss).unwrap().values()[1].is_nan());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    series: Vec<Series>,
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// The key of `(split, name)`, registering an empty series on first use.
    pub fn key(&mut self, split: Split, name: &str) -> MetricKey {
        if let Some(k) = self.find(split, name) {
            return k;
        }
        self.series.push(Series::new(split, name));
        MetricKey((self.series.len() - 1) as u32)
    }

    /// The key of `(split, name)` if it was registered.
    pub fn find(&self, split: Split, name: &str) -> Option<MetricKey> {
        self.series
            .iter()
            .position(|s| s.split == split && s.name == name)
            .map(|i| MetricKey(i as u32))
    }

    /// The series behind `key`, or `None` for a key from another history.
    pub fn series(&self, key: MetricKey) -> Option<&Series> {
        self.series.get(key.index())
    }

    /// The series of `(split, name)`, if registered.
    pub fn get(&self, split: Split, name: &str) -> Option<&Series> {
        self.find(split, name).and_then(|k| self.series(k))
    }

    /// All series in registration order (the index is the key).
    pub fn iter(&self) -> impl Iterator<Item = (MetricKey, &Series)> {
        self.series
            .iter()
            .enumerate()
            .map(|(i, s)| (MetricKey(i as u32), s))
    }

    /// Number of registered series.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether no series is registered.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Total number of recorded points over all series.
    pub fn points(&self) -> usize {
        self.series.iter().map(Series::len).sum()
    }

    /// Appends one point. Returns `false` (and records nothing) for a key this history did not issue.
    #[inline]
    pub fn record(&mut self, key: MetricKey, step: u64, epoch: f64, value: f64) -> bool {
        match self.series.get_mut(key.index()) {
            Some(s) => {
                s.push(step, epoch as f32, value);
                true
            }
            None => false,
        }
    }

    /// Appends one point recorded by an event of kind `origin` (kept on the series' first point).
    #[inline]
    pub fn record_from(
        &mut self,
        origin: Origin,
        key: MetricKey,
        step: u64,
        epoch: f64,
        value: f64,
    ) -> bool {
        match self.series.get_mut(key.index()) {
            Some(s) => {
                if s.origin.is_none() {
                    s.origin = Some(origin);
                }
                s.push(step, epoch as f32, value);
                true
            }
            None => false,
        }
    }

    /// Sets the origin of a series (for importers that know which event a metric came from).
    pub fn set_origin(&mut self, key: MetricKey, origin: Origin) {
        if let Some(s) = self.series.get_mut(key.index()) {
            s.origin = Some(origin);
        }
    }

    /// Reserves room for `additional` more points in the series of `key` and maps its memory now
    /// (writing zeros), to keep growth and page faults off the training thread.
    pub fn reserve(&mut self, key: MetricKey, additional: usize) {
        if let Some(s) = self.series.get_mut(key.index()) {
            s.reserve(additional);
        }
    }

    /// Serialises to JSON; non-finite values are written as the strings `"NaN"`, `"inf"`, `"-inf"`.
    pub fn to_json(&self) -> String {
        // Serialising plain vectors, strings and enums cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses JSON written by [`History::to_json`] or [`History::save_json`].
    pub fn from_json(text: &str) -> Result<Self, PersistError> {
        let h: History =
            serde_json::from_str(text).map_err(|e| PersistError::parse("<string>", e))?;
        h.validate("<string>")?;
        Ok(h)
    }

    /// Writes the history as JSON to `path` atomically (temporary file, fsync, rename).
    pub fn save_json(&self, path: impl AsRef<Path>) -> Result<(), PersistError> {
        persist::atomic_write(path.as_ref(), self.to_json().as_bytes())
    }

    /// Reads a history saved with [`History::save_json`]; errors name the file, line and column.
    pub fn load_json(path: impl AsRef<Path>) -> Result<Self, PersistError> {
        let path = path.as_ref();
        let text = persist::read_to_string(path)?;
        let h: History =
            serde_json::from_str(&text).map_err(|e| PersistError::parse(path.display(), e))?;
        h.validate(&path.display().to_string())?;
        Ok(h)
    }

    fn validate(&self, source: &str) -> Result<(), PersistError> {
        match self.series.iter().find(|s| !s.is_consistent()) {
            Some(s) => Err(PersistError::Invalid {
                path: source.to_owned(),
                message: format!(
                    "series {}/{}: steps, epochs and values have different lengths",
                    s.split, s.name
                ),
            }),
            None => Ok(()),
        }
    }

    /// Renders all points as long-format CSV: `split,metric,step,epoch,value` (non-finite as `NaN`, `inf`).
    pub fn to_csv(&self) -> String {
        let mut out = String::from("split,metric,step,epoch,value\n");
        for s in &self.series {
            let name = csv_field(&s.name);
            for i in 0..s.len() {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{}",
                    s.split, name, s.steps[i], s.epochs[i], s.values[i]
                );
            }
        }
        out
    }

    /// Writes [`History::to_csv`] to `path` atomically.
    pub fn save_csv(&self, path: impl AsRef<Path>) -> Result<(), PersistError> {
        persist::atomic_write(path.as_ref(), self.to_csv().as_bytes())
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_and_per_split() {
        let mut h = History::new();
        let a = h.key(Split::Train, "loss");
        let b = h.key(Split::Valid, "loss");
        assert_ne!(a, b);
        assert_eq!(h.key(Split::Train, "loss"), a);
        assert_eq!(h.find(Split::Valid, "loss"), Some(b));
        assert_eq!(h.find(Split::Valid, "acc"), None);
    }

    #[test]
    fn foreign_key_records_nothing() {
        let mut h = History::new();
        assert!(!h.record(MetricKey(5), 1, 0.0, 1.0));
        assert_eq!(h.points(), 0);
    }

    #[test]
    fn best_points_skip_non_finite() {
        let mut h = History::new();
        let k = h.key(Split::Valid, "loss");
        for (i, v) in [3.0, f64::NAN, 1.0, f64::NEG_INFINITY, 2.0]
            .into_iter()
            .enumerate()
        {
            h.record(k, i as u64 * 10, i as f64, v);
        }
        let s = h.series(k).unwrap();
        assert_eq!(s.min(), Some((2, 20, 1.0)));
        assert_eq!(s.max(), Some((0, 0, 3.0)));
        assert_eq!(s.non_finite_count(), 2);
    }

    #[test]
    fn csv_quotes_odd_names_and_writes_nan() {
        let mut h = History::new();
        let k = h.key(Split::Train, "a,b");
        h.record(k, 1, 0.5, f64::NAN);
        assert_eq!(
            h.to_csv(),
            "split,metric,step,epoch,value\ntrain,\"a,b\",1,0.5,NaN\n"
        );
    }

    #[test]
    fn inconsistent_columns_are_rejected() {
        let text = r#"{"series":[{"split":"train","name":"loss","steps":[1,2],"epochs":[0.0],"values":[1.0,2.0]}]}"#;
        let err = History::from_json(text).unwrap_err().to_string();
        assert!(err.contains("train/loss"), "{err}");
    }
}
