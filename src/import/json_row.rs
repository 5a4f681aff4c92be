//! One flat JSON object read without building a DOM: keys are interned in the [`Builder`], values
//! classified on the fly (number, null, numeric string, other). Shared by JSON lines and HF rows.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::builder::Builder;
use super::value::{mark_value, parse_cell, Cell};

/// A value as far as metrics care.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum JVal {
    /// A number (or a numeric string, or a bare NaN/Infinity stand-in).
    Num(f64),
    /// A percentage string, already divided by 100.
    Percent(f64),
    /// `null`, or a missing marker in a string.
    Null,
    /// A string that is not a number.
    Text,
    /// A boolean, array or object.
    Other,
}

/// Reads one JSON object into `out` as `(name id, value)` pairs.
pub(crate) struct RowSeed<'a, 'o> {
    pub(crate) builder: &'a mut Builder<'o>,
    pub(crate) out: &'a mut Vec<(usize, JVal)>,
    /// Whether bare NaN/Infinity were replaced by stand-ins in this text.
    pub(crate) marks: bool,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object of metric names and values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(id) = map.next_key_seed(KeySeed {
            builder: &mut *self.builder,
            pos: self.out.len(),
        })? {
            let v = map.next_value_seed(ValueSeed { marks: self.marks })?;
            self.out.push((id, v));
        }
        Ok(())
    }
}

struct KeySeed<'a, 'o> {
    builder: &'a mut Builder<'o>,
    pos: usize,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_, '_> {
    type Value = usize;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_, '_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<usize, E> {
        Ok(self.builder.intern_at(self.pos, v))
    }
}

struct ValueSeed {
    marks: bool,
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = JVal;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<JVal, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = JVal;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<JVal, E> {
        Ok(JVal::Num(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<JVal, E> {
        Ok(JVal::Num(v as f64))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<JVal, E> {
        Ok(JVal::Num(v as f64))
    }

    fn visit_unit<E: de::Error>(self) -> Result<JVal, E> {
        Ok(JVal::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<JVal, E> {
        Ok(JVal::Null)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<JVal, E> {
        Ok(JVal::Other)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<JVal, E> {
        if self.marks {
            if let Some(x) = mark_value(v) {
                return Ok(JVal::Num(x));
            }
        }
        Ok(match parse_cell(v) {
            Cell::Number(x) => JVal::Num(x),
            Cell::Percent(x) => JVal::Percent(x),
            Cell::Missing => JVal::Null,
            Cell::Text => JVal::Text,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JVal, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(JVal::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JVal, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(JVal::Other)
    }
}

/// What a key of a JSON row is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// A step key, with its rank among [`STEP_KEYS`](super::names::STEP_KEYS) (lower is preferred).
    Step(usize),
    /// An epoch key.
    Epoch,
    /// Progress bookkeeping, not a metric (`total_steps`, `percentage`, timestamps).
    Bookkeeping,
    /// A metric.
    Metric,
}

/// Keys that describe progress rather than learning (LLaMA-Factory, W&B exports).
const BOOKKEEPING: [&str; 6] = [
    "total_steps",
    "percentage",
    "_timestamp",
    "timestamp",
    "_runtime",
    "max_steps",
];

/// The role of each interned key, computed once per key.
#[derive(Default)]
pub(crate) struct Roles {
    roles: Vec<Option<Role>>,
}

impl Roles {
    pub(crate) fn get(&mut self, builder: &Builder<'_>, id: usize) -> Role {
        if self.roles.len() <= id {
            self.roles.resize(id + 1, None);
        }
        *self.roles[id].get_or_insert_with(|| {
            let raw = builder.raw(id);
            if let Some(rank) = super::names::step_rank(raw) {
                Role::Step(rank)
            } else if super::names::is_epoch_key(raw) {
                Role::Epoch
            } else if BOOKKEEPING.iter().any(|k| k.eq_ignore_ascii_case(raw)) {
                Role::Bookkeeping
            } else {
                Role::Metric
            }
        })
    }

    /// The best-ranked step key's `(id, value)` and the epoch value of a row.
    pub(crate) fn step_epoch(
        &mut self,
        builder: &Builder<'_>,
        row: &[(usize, JVal)],
    ) -> (Option<(usize, JVal)>, Option<JVal>) {
        let mut step: Option<(usize, usize, JVal)> = None;
        let mut epoch = None;
        for &(id, v) in row {
            match self.get(builder, id) {
                Role::Step(rank) if step.is_none_or(|(r, _, _)| rank < r) => {
                    step = Some((rank, id, v));
                }
                Role::Epoch => epoch = Some(v),
                _ => {}
            }
        }
        (step.map(|(_, id, v)| (id, v)), epoch)
    }
}

/// Records a row's metrics at `step`: numbers and numeric strings become points, percentages too
/// (with a warning), nulls are skipped, text and nested values are listed as skipped names.
pub(crate) fn push_metrics(
    builder: &mut Builder<'_>,
    roles: &mut Roles,
    row: &[(usize, JVal)],
    step: u64,
    epoch: f64,
) {
    for &(id, v) in row {
        match roles.get(builder, id) {
            Role::Metric => {}
            Role::Bookkeeping => {
                builder.skip_id(id);
                continue;
            }
            Role::Step(_) | Role::Epoch => continue,
        }
        match v {
            JVal::Num(x) => builder.push_raw(id, step, epoch, x),
            JVal::Percent(x) => {
                builder.push_raw(id, step, epoch, x);
                let raw = builder.raw(id).to_owned();
                builder.note(&format!("percent:{raw}"), || {
                    format!("`{raw}` is written as a percentage; values were divided by 100")
                });
            }
            JVal::Null => {}
            JVal::Text | JVal::Other => builder.skip_id(id),
        }
    }
}

/// serde_json's message without its " at line L column C" tail (the caller reports the place).
pub(crate) fn bare_message(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::ImportOptions;

    #[test]
    fn values_are_classified_without_a_dom() {
        let opts = ImportOptions::default();
        let mut b = Builder::new(&opts, None);
        let mut out = Vec::new();
        let text = br#"{"step": 5, "loss": 1.5, "eval_loss": null, "t": "0:03:29", "acc": "93%", "n": "nan", "x": [1, {"a": 2}], "f": true}"#;
        let mut de = serde_json::Deserializer::from_slice(text);
        RowSeed {
            builder: &mut b,
            out: &mut out,
            marks: false,
        }
        .deserialize(&mut de)
        .unwrap();
        let got: Vec<(String, JVal)> = out
            .iter()
            .map(|&(id, v)| (b.raw(id).to_owned(), v))
            .collect();
        let want = [
            ("step", JVal::Num(5.0)),
            ("loss", JVal::Num(1.5)),
            ("eval_loss", JVal::Null),
            ("t", JVal::Text),
            ("acc", JVal::Percent(0.93)),
        ];
        for (i, (k, v)) in want.iter().enumerate() {
            assert_eq!(got[i].0, *k);
            assert_eq!(got[i].1, *v, "{k}");
        }
        assert!(
            matches!(got[5].1, JVal::Num(x) if x.is_nan()),
            "numeric string nan"
        );
        assert_eq!(got[6].1, JVal::Other, "arrays are not metrics");
        assert_eq!(got[7].1, JVal::Other, "booleans are not metrics");
        let (step, epoch) = Roles::default().step_epoch(&b, &out);
        assert_eq!(step.map(|(_, v)| v), Some(JVal::Num(5.0)));
        assert_eq!(epoch, None);
    }

    #[test]
    fn a_non_object_is_refused_with_a_position() {
        let opts = ImportOptions::default();
        let mut b = Builder::new(&opts, None);
        let mut out = Vec::new();
        let mut de = serde_json::Deserializer::from_slice(b"[1, 2]");
        let err = RowSeed {
            builder: &mut b,
            out: &mut out,
            marks: false,
        }
        .deserialize(&mut de)
        .unwrap_err();
        assert!(err.to_string().contains("expected a JSON object"), "{err}");
    }
}
