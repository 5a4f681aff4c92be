//! JSON lines: one object per line with a step key and metrics, read line by line (no whole-file
//! string, no DOM).

use std::io::BufRead;

use serde::de::DeserializeSeed;

use super::builder::{Builder, Pos};
use super::error::{Ctx, ImportError, Location};
use super::json_row::{bare_message, push_metrics, JVal, Roles, RowSeed};
use super::lines::LineReader;
use super::value::{fix_bare_non_finite, step_from_f64};

const EXPECT_LINE: &str = "one JSON object per line (JSON lines)";
const EXPECT_STEP: &str = "a whole number ≥ 0 (or null)";

/// Carried from line to line.
struct State {
    roles: Roles,
    row: Vec<(usize, JVal)>,
    prev_step: Option<u64>,
    prev_epoch: f64,
    metric_lines: u64,
}

/// Reads every line into `b`.
pub(crate) fn import<R: BufRead>(
    mut lines: LineReader<R>,
    b: &mut Builder<'_>,
) -> Result<(), ImportError> {
    let ctx = lines.ctx().clone();
    let mut st = State {
        roles: Roles::default(),
        row: Vec::new(),
        prev_step: None,
        prev_epoch: 0.0,
        metric_lines: 0,
    };
    loop {
        let line_no = lines.line_no() + 1;
        let consumed = lines.consumed();
        let Some(line) = lines.next_line()? else {
            break;
        };
        if line.trim().is_empty() {
            continue;
        }
        b.begin(Pos::Line(line_no), consumed);
        st.row.clear();
        parse_line(line.as_bytes(), line_no, &ctx, b, &mut st.row)?;
        record(&mut st, line_no, &ctx, b)?;
    }
    Ok(())
}

/// Parses one line into `row`, retrying with Python's bare `NaN`/`Infinity` quoted.
fn parse_line(
    bytes: &[u8],
    line_no: usize,
    ctx: &Ctx,
    b: &mut Builder<'_>,
    row: &mut Vec<(usize, JVal)>,
) -> Result<(), ImportError> {
    let first = parse_with(bytes, false, b, row);
    let Err(e) = first else {
        return Ok(());
    };
    if let Some(fixed) = fix_bare_non_finite(bytes) {
        row.clear();
        if parse_with(&fixed, true, b, row).is_ok() {
            return Ok(());
        }
    }
    Err(ctx.malformed(
        Location::line_column(line_no, e.column().max(1)),
        bare_message(&e),
        EXPECT_LINE,
    ))
}

fn parse_with(
    bytes: &[u8],
    marks: bool,
    b: &mut Builder<'_>,
    row: &mut Vec<(usize, JVal)>,
) -> Result<(), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    RowSeed {
        builder: b,
        out: row,
        marks,
    }
    .deserialize(&mut de)?;
    de.end()
}

/// Records one parsed line.
fn record(
    st: &mut State,
    line_no: usize,
    ctx: &Ctx,
    b: &mut Builder<'_>,
) -> Result<(), ImportError> {
    let (step_kv, epoch_v) = st.roles.step_epoch(b, &st.row);
    let step = line_step(st, step_kv, line_no, ctx, b)?;
    let epoch = match epoch_v {
        Some(JVal::Num(x)) if x.is_finite() => {
            b.epochs_known();
            x
        }
        _ => st.prev_epoch,
    };
    push_metrics(b, &mut st.roles, &st.row, step, epoch);
    st.prev_step = Some(step);
    st.prev_epoch = epoch;
    st.metric_lines += 1;
    Ok(())
}

/// The line's step: its step key's whole number; without one (or `null`), the previous line's
/// step, or the line's order before any step was seen.
fn line_step(
    st: &State,
    step_kv: Option<(usize, JVal)>,
    line_no: usize,
    ctx: &Ctx,
    b: &mut Builder<'_>,
) -> Result<u64, ImportError> {
    let bad = |id: usize, problem: String| {
        ctx.malformed(
            Location::line(line_no).with_key(b.raw(id)),
            problem,
            EXPECT_STEP,
        )
    };
    match step_kv {
        Some((id, JVal::Num(x))) => {
            step_from_f64(x).ok_or_else(|| bad(id, format!("the step is {x}")))
        }
        Some((id, JVal::Text | JVal::Other | JVal::Percent(_))) => {
            Err(bad(id, "the step is not a number".to_owned()))
        }
        Some((_, JVal::Null)) | None => {
            b.note("jsonl:no-step", || {
                "a line without a step key (step, global_step, current_steps, iter...) took the \
                 previous line's step, or its line order before any step"
                    .to_owned()
            });
            Ok(st.prev_step.unwrap_or(st.metric_lines))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::{ImportFormat, ImportOptions};
    use crate::Split;

    fn run(input: &str) -> Result<crate::History, ImportError> {
        let opts = ImportOptions::default();
        let mut b = Builder::new(&opts, None);
        let ctx = Ctx::new("m.jsonl");
        import(LineReader::new(input.as_bytes(), ctx.clone()), &mut b)?;
        Ok(b.finish(&ctx, ImportFormat::JsonLines)?.history)
    }

    #[test]
    fn llama_factory_lines() {
        let input = concat!(
            "{\"current_steps\": 5, \"total_steps\": 10, \"loss\": 1.75, \"eval_loss\": null, ",
            "\"learning_rate\": 5e-05, \"epoch\": 0.0, \"percentage\": 50.0, \"elapsed_time\": \"0:03:29\"}\n",
            "{\"current_steps\": 10, \"total_steps\": 10, \"loss\": null, \"eval_loss\": 1.5, \"epoch\": 0.01}\n",
        );
        let h = run(input).unwrap();
        assert_eq!(h.get(Split::Train, "loss").unwrap().values(), &[1.75]);
        assert_eq!(h.get(Split::Train, "lr").unwrap().values(), &[5e-5]);
        let v = h.get(Split::Valid, "loss").unwrap();
        assert_eq!((v.steps(), v.values()), (&[10u64][..], &[1.5][..]));
        assert_eq!(v.epochs(), &[0.01f32]);
        assert!(
            h.get(Split::Train, "percentage").is_none(),
            "bookkeeping skipped"
        );
        assert!(
            h.get(Split::Train, "total_steps").is_none(),
            "bookkeeping skipped"
        );
    }

    #[test]
    fn bare_nan_and_blank_lines() {
        let h =
            run("{\"step\": 1, \"loss\": NaN}\n\n{\"step\": 2, \"loss\": -Infinity}\n").unwrap();
        let v = h.get(Split::Train, "loss").unwrap().values().to_vec();
        assert!(v[0].is_nan() && v[1] == f64::NEG_INFINITY, "{v:?}");
    }

    #[test]
    fn errors_name_line_column_and_expectation() {
        let cases: &[(&str, Location, &str, &str)] = &[
            (
                "{\"step\": 1, \"loss\": 2}\n{\"step\": 2, \"loss\": }\n",
                Location::line_column(2, 21),
                "expected value",
                "a value missing",
            ),
            (
                "{\"step\": 1.5, \"loss\": 2}\n",
                Location::line(1).with_key("step"),
                "the step is 1.5",
                "a fractional step",
            ),
            (
                "{\"step\": \"abc\", \"loss\": 2}\n",
                Location::line(1).with_key("step"),
                "not a number",
                "a text step",
            ),
            (
                "[1, 2]\n",
                Location::line_column(1, 1),
                "expected a JSON object",
                "not an object",
            ),
        ];
        for (input, at, text, why) in cases {
            let err = run(input).unwrap_err();
            assert_eq!(err.location(), Some(at), "{why}: {err}");
            assert!(err.to_string().contains(text), "{why}: {err}");
        }
    }
}
