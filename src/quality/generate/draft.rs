//! [`Draft`]: the columns of a generated run before they become a [`History`], so that a family can
//! still change a point (a spike, a NaN) after the healthy run is drawn.

use crate::event::Split;
use crate::history::{History, Origin};

/// Most points any one series of a generated run holds: keeps a run cheap to analyse in debug builds.
pub(crate) const MAX_POINTS: u64 = 4000;

/// One series being drawn: where it goes and its points.
#[derive(Clone, Debug, Default)]
pub(crate) struct Column {
    /// `(split, name)`.
    pub key: Option<(Split, &'static str)>,
    /// The event kind that records it.
    pub origin: Option<Origin>,
    /// Global step of each point, strictly increasing.
    pub steps: Vec<u64>,
    /// Fractional epoch position of each point.
    pub positions: Vec<f64>,
    /// The values.
    pub values: Vec<f64>,
}

/// The columns of a run, in the order they were first written.
#[derive(Clone, Debug, Default)]
pub(crate) struct Draft {
    columns: Vec<Column>,
}

impl Draft {
    /// An empty draft.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one point to `(split, name)`, created with `origin` on first use.
    pub fn push(
        &mut self,
        origin: Origin,
        split: Split,
        name: &'static str,
        step: u64,
        position: f64,
        value: f64,
    ) {
        let column = self.column_or_new(origin, split, name);
        column.steps.push(step);
        column.positions.push(position);
        column.values.push(value);
    }

    fn column_or_new(&mut self, origin: Origin, split: Split, name: &'static str) -> &mut Column {
        let at = self.position(split, name).unwrap_or_else(|| {
            self.columns.push(Column {
                key: Some((split, name)),
                origin: Some(origin),
                ..Column::default()
            });
            self.columns.len() - 1
        });
        &mut self.columns[at]
    }

    fn position(&self, split: Split, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.key.is_some_and(|(s, n)| s == split && n == name))
    }

    /// The column of `(split, name)`, if written.
    pub fn column(&self, split: Split, name: &str) -> Option<&Column> {
        self.position(split, name).map(|i| &self.columns[i])
    }

    /// The column of `(split, name)` to change, if written.
    pub fn column_mut(&mut self, split: Split, name: &str) -> Option<&mut Column> {
        self.position(split, name).map(|i| &mut self.columns[i])
    }

    /// The finished history.
    pub fn into_history(self) -> History {
        let mut history = History::new();
        for c in self.columns {
            let (Some((split, name)), Some(origin)) = (c.key, c.origin) else {
                continue;
            };
            let key = history.key(split, name);
            for ((&step, &pos), &v) in c.steps.iter().zip(&c.positions).zip(&c.values) {
                history.record_from(origin, key, step, pos, v);
            }
        }
        history
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_becomes_the_same_history() {
        let mut d = Draft::new();
        d.push(Origin::Step, Split::Train, "loss", 1, 0.0, 2.0);
        d.push(Origin::Eval, Split::Valid, "loss", 2, 0.0, 3.0);
        d.push(Origin::Step, Split::Train, "loss", 2, 0.0, 1.0);
        if let Some(c) = d.column_mut(Split::Train, "loss") {
            c.values[1] = f64::NAN;
        }
        let h = d.into_history();
        let train = h.get(Split::Train, "loss").unwrap();
        assert_eq!(train.steps(), &[1, 2], "points keep their order");
        assert!(
            train.values()[1].is_nan(),
            "a change made in the draft is kept"
        );
        assert_eq!(train.origin(), Some(Origin::Step));
        assert_eq!(
            h.get(Split::Valid, "loss").unwrap().origin(),
            Some(Origin::Eval)
        );
    }
}
