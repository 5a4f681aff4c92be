//! Hugging Face Trainer `trainer_state.json`: rows of `log_history`, streamed through serde without
//! building a DOM of the document (one row at a time).

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::builder::{Builder, Pos};
use super::error::{Ctx, ImportError, Location};
use super::json_row::{bare_message, push_metrics, JVal, Role, Roles, RowSeed};
use super::names::is_timing;
use super::value::{fix_bare_non_finite, step_from_f64};

const EXPECT_STATE: &str =
    "a Hugging Face trainer_state.json object with a `log_history` array of log rows";
const EXPECT_STEP: &str = "a whole number ≥ 0";

/// Keys that only the end-of-training summary row has.
const SUMMARY_KEYS: [&str; 4] = [
    "train_runtime",
    "total_flos",
    "train_samples_per_second",
    "train_steps_per_second",
];

/// Everything the row visitor needs, shared by the nested seeds.
struct State<'b, 'o> {
    b: &'b mut Builder<'o>,
    ctx: &'b Ctx,
    roles: Roles,
    row: Vec<(usize, JVal)>,
    renamed: Vec<(usize, JVal)>,
    marks: bool,
    index: usize,
    prev_step: Option<u64>,
    prev_epoch: f64,
    found: bool,
    depth: Depth,
    failure: Option<ImportError>,
}

/// How deep the parser is, for naming the key of a syntax error.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Depth {
    Outside,
    Array,
    Row,
}

/// Reads a whole trainer state into `b`.
pub(crate) fn import(bytes: &[u8], ctx: &Ctx, b: &mut Builder<'_>) -> Result<(), ImportError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let fixed = fix_bare_non_finite(bytes);
    let text = fixed.as_deref().unwrap_or(bytes);
    let state = RefCell::new(State {
        b,
        ctx,
        roles: Roles::default(),
        row: Vec::new(),
        renamed: Vec::new(),
        marks: fixed.is_some(),
        index: 0,
        prev_step: None,
        prev_epoch: 0.0,
        found: false,
        depth: Depth::Outside,
        failure: None,
    });
    let mut de = serde_json::Deserializer::from_slice(text);
    let result = Top(&state).deserialize(&mut de).and_then(|_| de.end());
    let mut st = state.into_inner();
    if let Some(e) = st.failure.take() {
        return Err(e);
    }
    if let Err(e) = result {
        let mut at = Location::line_column(e.line(), e.column().max(1));
        match st.depth {
            Depth::Row => at = at.with_key(format!("log_history[{}]", st.index)),
            Depth::Array => at = at.with_key("log_history"),
            Depth::Outside => {}
        }
        return Err(ctx.malformed(at, bare_message(&e), EXPECT_STATE));
    }
    if !st.found {
        return Err(ctx.malformed(
            Location::key("log_history"),
            "the key is missing",
            EXPECT_STATE,
        ));
    }
    Ok(())
}

struct Top<'s, 'b, 'o>(&'s RefCell<State<'b, 'o>>);

impl<'de> DeserializeSeed<'de> for Top<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object with a `log_history` array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "log_history" {
                {
                    let mut st = self.0.borrow_mut();
                    st.found = true;
                    st.depth = Depth::Array;
                }
                map.next_value_seed(Rows(self.0))?;
                self.0.borrow_mut().depth = Depth::Outside;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }

    /// A bare array is a saved `log_history`.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        {
            let mut st = self.0.borrow_mut();
            st.found = true;
            st.depth = Depth::Array;
        }
        Rows(self.0).visit_seq(seq)?;
        self.0.borrow_mut().depth = Depth::Outside;
        Ok(())
    }
}

struct Rows<'s, 'b, 'o>(&'s RefCell<State<'b, 'o>>);

impl<'de> DeserializeSeed<'de> for Rows<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Rows<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of log rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        loop {
            let mut guard = self.0.borrow_mut();
            let st = &mut *guard;
            st.row.clear();
            st.depth = Depth::Row;
            let seed = RowSeed {
                builder: &mut *st.b,
                out: &mut st.row,
                marks: st.marks,
            };
            if seq.next_element_seed(seed)?.is_none() {
                st.depth = Depth::Array;
                return Ok(());
            }
            st.depth = Depth::Array;
            st.b.begin(Pos::Row(st.index), 0);
            if let Err(e) = st.process_row() {
                st.failure = Some(e);
                return Err(de::Error::custom("row rejected"));
            }
            st.index += 1;
        }
    }
}

impl State<'_, '_> {
    fn process_row(&mut self) -> Result<(), ImportError> {
        let (step_kv, epoch_v) = self.roles.step_epoch(self.b, &self.row);
        let step = self.row_step(step_kv)?;
        let epoch = match epoch_v {
            Some(JVal::Num(x)) if x.is_finite() => {
                self.b.epochs_known();
                x
            }
            _ => self.prev_epoch,
        };
        self.prev_step = Some(step);
        self.prev_epoch = epoch;
        if self.is_summary() {
            for i in 0..self.row.len() {
                let (id, v) = self.row[i];
                if let (Role::Metric, JVal::Num(x)) = (self.roles.get(self.b, id), v) {
                    let name = self.b.raw(id).to_owned();
                    self.b.summary(&name, Some(step), x);
                }
            }
            return Ok(());
        }
        self.rename_eval_sets();
        push_metrics(self.b, &mut self.roles, &self.renamed, step, epoch);
        Ok(())
    }

    fn row_step(&mut self, step_kv: Option<(usize, JVal)>) -> Result<u64, ImportError> {
        let at = || Location::key(format!("log_history[{}].step", self.index));
        match step_kv {
            Some((_, JVal::Num(x))) => step_from_f64(x).ok_or_else(|| {
                self.ctx
                    .malformed(at(), format!("the step is {x}"), EXPECT_STEP)
            }),
            Some((_, JVal::Text | JVal::Other | JVal::Percent(_))) => {
                Err(self
                    .ctx
                    .malformed(at(), "the step is not a number", EXPECT_STEP))
            }
            Some((_, JVal::Null)) | None => {
                self.b.note("hf:no-step", || {
                    "a log row without `step` took the previous row's step (HF writes \
                     predict rows without one)"
                        .to_owned()
                });
                Ok(self.prev_step.unwrap_or(0))
            }
        }
    }

    fn is_summary(&self) -> bool {
        self.row
            .iter()
            .any(|&(id, _)| SUMMARY_KEYS.contains(&self.b.raw(id)))
    }

    /// With several eval sets, `eval_<set>_<metric>` becomes `eval_<set>/<metric>`, so the set
    /// stays a visible prefix (`g0/loss`) once `eval_` is stripped.
    fn rename_eval_sets(&mut self) {
        self.renamed.clear();
        let set = eval_set(self.row.iter().map(|&(id, _)| self.b.raw(id)));
        for i in 0..self.row.len() {
            let (id, v) = self.row[i];
            let id = match &set {
                Some(set) => {
                    let raw = self.b.raw(id);
                    let prefix = format!("eval_{set}_");
                    match raw.strip_prefix(&prefix) {
                        Some(metric) if !metric.is_empty() && !is_timing(metric) => {
                            let renamed = format!("eval_{set}/{metric}");
                            self.b.intern(&renamed)
                        }
                        _ => id,
                    }
                }
                None => id,
            };
            self.renamed.push((id, v));
        }
    }
}

/// The eval set of a row: with no `eval_loss` / `eval_runtime`, the `<set>` of an
/// `eval_<set>_loss` or `eval_<set>_runtime` key.
fn eval_set<'a>(keys: impl Iterator<Item = &'a str> + Clone) -> Option<String> {
    if keys
        .clone()
        .any(|k| k == "eval_loss" || k == "eval_runtime")
    {
        return None;
    }
    keys.filter_map(|k| k.strip_prefix("eval_"))
        .find_map(|rest| {
            rest.strip_suffix("_loss")
                .or_else(|| rest.strip_suffix("_runtime"))
        })
        .filter(|set| !set.is_empty())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{ImportFormat, ImportOptions};
    use crate::Split;

    fn run(input: &str) -> Result<super::super::builder::Built, ImportError> {
        let opts = ImportOptions::default();
        let mut b = Builder::new(&opts, None);
        let ctx = Ctx::new("trainer_state.json");
        import(input.as_bytes(), &ctx, &mut b)?;
        b.finish(&ctx, ImportFormat::HfTrainerState)
    }

    #[test]
    fn train_eval_predict_and_summary_rows() {
        let input = r#"{"log_history": [
            {"epoch": 0.5, "grad_norm": NaN, "learning_rate": 5e-05, "loss": 1.14, "step": 500},
            {"epoch": 1.0, "eval_loss": 0.66, "eval_rouge-1": 46.5, "eval_runtime": 2725.7, "step": 549},
            {"epoch": 1.0, "predict_loss": 0.65, "predict_runtime": 2766.9},
            {"epoch": 1.0, "step": 549, "total_flos": 3.7e16, "train_loss": 0.45, "train_runtime": 64358.1}
        ], "global_step": 549}"#;
        let built = run(input).unwrap();
        let h = &built.history;
        assert!(h.get(Split::Train, "grad_norm").unwrap().values()[0].is_nan());
        assert_eq!(h.get(Split::Train, "lr").unwrap().values(), &[5e-5]);
        assert_eq!(h.get(Split::Valid, "rouge-1").unwrap().values(), &[46.5]);
        let test = h.get(Split::Valid, "test/loss").unwrap();
        assert_eq!(
            test.steps(),
            &[549],
            "a row without step takes the previous one"
        );
        assert!(h.get(Split::Valid, "runtime").is_none(), "timing skipped");
        let names: Vec<&str> = built.summary.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["total_flos", "train_loss", "train_runtime"]);
        assert_eq!(
            h.get(Split::Train, "loss").unwrap().len(),
            1,
            "summary is not a point"
        );
        assert!(built.skipped.contains(&"eval_runtime".to_owned()));
    }

    #[test]
    fn a_byte_order_mark_and_crlf_are_fine() {
        let input = "\u{feff}{\"log_history\": [\r\n{\"loss\": 2.5, \"step\": 3}\r\n]}\r\n";
        let h = run(input).unwrap().history;
        assert_eq!(h.get(Split::Train, "loss").unwrap().steps(), &[3]);
    }

    #[test]
    fn several_eval_sets_get_set_prefixes() {
        let input = r#"{"log_history": [
            {"epoch": 0, "eval_g0_accuracy": 0.7, "eval_g0_loss": 5.7, "eval_g0_runtime": 5.7, "step": 0},
            {"epoch": 0, "eval_g1_accuracy": 0.4, "eval_g1_loss": 8.2, "step": 0}
        ]}"#;
        let h = run(input).unwrap().history;
        assert_eq!(h.get(Split::Valid, "g0/loss").unwrap().values(), &[5.7]);
        assert_eq!(h.get(Split::Valid, "g1/accuracy").unwrap().values(), &[0.4]);
        assert!(h.get(Split::Valid, "g0/runtime").is_none());
    }

    #[test]
    fn eval_set_detection() {
        let cases: &[(&[&str], Option<&str>, &str)] = &[
            (
                &["eval_loss", "eval_mlm_loss"],
                None,
                "a plain eval row with a loss part",
            ),
            (
                &["eval_g0_loss", "eval_g0_accuracy"],
                Some("g0"),
                "one named set",
            ),
            (
                &["eval_my_set_runtime", "eval_my_set_wer"],
                Some("my_set"),
                "set found by runtime",
            ),
            (&["eval_cer", "eval_wer"], None, "no loss, no runtime"),
        ];
        for (keys, want, why) in cases {
            assert_eq!(eval_set(keys.iter().copied()).as_deref(), *want, "{why}");
        }
    }

    #[test]
    fn errors_name_the_key_or_the_place() {
        let cases: &[(&str, Location, &str)] = &[
            (
                r#"{"a": 1}"#,
                Location::key("log_history"),
                "not a trainer state",
            ),
            (
                r#"{"log_history": [{"loss": 1, "step": -3}]}"#,
                Location::key("log_history[0].step"),
                "negative step",
            ),
            (
                "{\"log_history\": [{\"loss\": 1, \"step\": 1},\n {\"loss\": ",
                Location::line_column(2, 10).with_key("log_history[1]"),
                "truncated",
            ),
            (
                r#"{"log_history": 5}"#,
                Location::line_column(1, 17).with_key("log_history"),
                "log_history not an array",
            ),
        ];
        for (input, want, why) in cases {
            let err = run(input)
                .err()
                .unwrap_or_else(|| panic!("{why}: no error"));
            assert_eq!(err.location(), Some(want), "{why}: {err}");
        }
    }
}
