//! LCDB 2.0 `results.csv`: one learning curve over training-set sizes per row, its anchors and
//! scores written as Python list literals inside CSV cells.

use std::io::BufRead;

use super::builder::{Builder, Pos};
use super::csv::{CsvReader, Record};
use super::error::{Ctx, ImportError, Location};
use super::value::step_from_f64;
use super::RestartKind;
use crate::Split;

mod pylit;

use pylit::{parse_py, Py};

const FIDELITY: &str = "m:fidelity_values";
const TYPES: &str = "m:score_types";
const SCORES: &str = "m:score_values";
const EXPECT_HEADER: &str = "an LCDB results.csv header with m:fidelity_values, m:score_types and \
                             m:score_values columns";

/// Column positions.
struct Cols {
    fidelity: usize,
    types: usize,
    scores: usize,
    job: Option<usize>,
    count: usize,
    line: usize,
}

/// Reads every row into `b`, each as a new run.
pub(crate) fn import<R: BufRead>(
    mut csv: CsvReader<R>,
    b: &mut Builder<'_>,
) -> Result<(), ImportError> {
    let ctx = csv.lines().ctx().clone();
    let mut cols: Option<Cols> = None;
    loop {
        let consumed = csv.lines().consumed();
        let Some(rec) = csv.next_record()? else {
            return Ok(());
        };
        if rec.is_blank() {
            continue;
        }
        let Some(c) = &cols else {
            cols = Some(header(&rec, &ctx, b)?);
            continue;
        };
        if rec.len() != c.count {
            return Err(ctx.malformed(
                Location::line(rec.line),
                format!("{} fields", rec.len()),
                format!("{} fields, as in the header at line {}", c.count, c.line),
            ));
        }
        b.begin(Pos::Line(rec.line), consumed);
        row(&rec, c, &ctx, b)?;
    }
}

fn header(rec: &Record<'_>, ctx: &Ctx, b: &mut Builder<'_>) -> Result<Cols, ImportError> {
    let names: Vec<&str> = rec.iter().map(str::trim).collect();
    let find = |want: &str| names.iter().position(|n| *n == want);
    let need = |want: &str| {
        find(want).ok_or_else(|| {
            ctx.malformed(
                Location::line(rec.line),
                format!("no `{want}` column"),
                EXPECT_HEADER,
            )
        })
    };
    let cols = Cols {
        fidelity: need(FIDELITY)?,
        types: need(TYPES)?,
        scores: need(SCORES)?,
        job: find("job_id"),
        count: names.len(),
        line: rec.line,
    };
    for (i, n) in names.iter().enumerate() {
        if ![cols.fidelity, cols.types, cols.scores].contains(&i) {
            b.skip(n);
        }
    }
    Ok(cols)
}

/// One row's parsed cells.
struct Cells {
    anchors: Vec<u64>,
    types: Vec<String>,
    per_anchor: Vec<Py>,
}

fn row(rec: &Record<'_>, c: &Cols, ctx: &Ctx, b: &mut Builder<'_>) -> Result<(), ImportError> {
    let cells = read_cells(rec, c, ctx)?;
    let label = c.job.map(|j| format!("job_id={}", rec.get(j).trim()));
    b.new_run(RestartKind::NewRun, label);
    if cells.per_anchor.len() < cells.anchors.len() {
        b.note("lcdb:short", || {
            "a row has scores for fewer anchors than it lists".to_owned()
        });
    }
    for (anchor, entry) in cells.anchors.iter().zip(&cells.per_anchor) {
        if !record_anchor(*anchor, entry, &cells.types, b) {
            let n = cells.types.len();
            let expected = format!("[train, valid, test] lists of {n} scores each");
            return Err(bad(rec, c.scores, c, ctx, &expected));
        }
    }
    Ok(())
}

fn read_cells(rec: &Record<'_>, c: &Cols, ctx: &Ctx) -> Result<Cells, ImportError> {
    let cell = |i: usize| -> Result<Py, ImportError> {
        parse_py(rec.get(i)).map_err(|(col, problem)| {
            let mut at = rec.location(i);
            at.column = at.column.map(|c| c + col);
            ctx.malformed(
                at.with_key(column_name(c, i)),
                problem,
                "a Python list literal",
            )
        })
    };
    let expect_anchors = "a list of whole training-set sizes";
    let anchors =
        anchors(&cell(c.fidelity)?).ok_or_else(|| bad(rec, c.fidelity, c, ctx, expect_anchors))?;
    let types = strings(&cell(c.types)?)
        .ok_or_else(|| bad(rec, c.types, c, ctx, "a list of score names"))?;
    let Py::List(per_anchor) = cell(c.scores)? else {
        return Err(bad(rec, c.scores, c, ctx, "a list of per-anchor scores"));
    };
    if per_anchor.len() > anchors.len() {
        let problem = format!(
            "{} anchors but {} score entries",
            anchors.len(),
            per_anchor.len()
        );
        let at = rec.location(c.scores).with_key(SCORES);
        return Err(ctx.malformed(at, problem, "one score entry per anchor"));
    }
    Ok(Cells {
        anchors,
        types,
        per_anchor,
    })
}

/// Records `[[train scores], [valid scores], [test scores]]` at `anchor`; `false` if malformed.
fn record_anchor(anchor: u64, entry: &Py, types: &[String], b: &mut Builder<'_>) -> bool {
    let Py::List(splits) = entry else {
        return false;
    };
    if splits.len() > 3 {
        return false;
    }
    for (s, scores) in splits.iter().enumerate() {
        let Py::List(values) = scores else {
            return false;
        };
        if values.len() != types.len() {
            return false;
        }
        for (t, v) in types.iter().zip(values) {
            let Py::Num(x) = v else { return false };
            let (split, name) = match s {
                0 => (Split::Train, t.clone()),
                1 => (Split::Valid, t.clone()),
                _ => (Split::Valid, format!("test/{t}")),
            };
            let key = b.key(split, &name);
            b.push(key, anchor, 0.0, *x);
        }
    }
    true
}

/// The name of column `i`, for error locations.
fn column_name(c: &Cols, i: usize) -> String {
    match i {
        _ if i == c.fidelity => FIDELITY.to_owned(),
        _ if i == c.types => TYPES.to_owned(),
        _ if i == c.scores => SCORES.to_owned(),
        _ => format!("column {}", i + 1),
    }
}

fn bad(rec: &Record<'_>, i: usize, c: &Cols, ctx: &Ctx, expected: &str) -> ImportError {
    let key = column_name(c, i);
    let found: String = rec.get(i).chars().take(40).collect();
    ctx.malformed(
        rec.location(i).with_key(key),
        format!("found `{found}`"),
        expected,
    )
}

fn anchors(v: &Py) -> Option<Vec<u64>> {
    let Py::List(items) = v else { return None };
    items
        .iter()
        .map(|x| match x {
            Py::Num(n) => step_from_f64(*n),
            _ => None,
        })
        .collect()
}

fn strings(v: &Py) -> Option<Vec<String>> {
    let Py::List(items) = v else { return None };
    items
        .iter()
        .map(|x| match x {
            Py::Str(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::builder::Built;
    use crate::import::lines::LineReader;
    use crate::import::{ImportFormat, ImportOptions, Restarts};

    fn run(input: &str) -> Result<Built, ImportError> {
        let opts = ImportOptions::default().with_restarts(Restarts::Segments);
        let mut b = Builder::new(&opts, None);
        let ctx = Ctx::new("results.csv");
        import(
            CsvReader::new(LineReader::new(input.as_bytes(), ctx.clone()), b','),
            &mut b,
        )?;
        b.finish(&ctx, ImportFormat::LcdbResults)
    }

    const HEADER: &str = "p:C,objective,job_id,m:fidelity_values,m:score_types,m:score_values\n";

    #[test]
    fn each_row_is_a_curve_over_training_set_sizes() {
        let input = format!(
            "{HEADER}1e-6,0.6,1,\"[16, 32]\",\"['accuracy', 'loss']\",\"[[[0.5, 0.5], [0.4, 0.6], [0.45, 0.55]], [[0.7, 0.3], [0.6, 0.4], [0.65, 0.35]]]\"\n\
             2e-6,0.9,5,\"[16, 32]\",\"['accuracy', 'loss']\",\"[[[0.8, 0.2], [0.85, 0.15], [0.8, 0.2]], [[0.9, 0.1], [0.9, 0.1], [nan, nan]]]\"\n"
        );
        let built = run(&input).unwrap();
        assert_eq!(built.segments.len(), 2);
        assert_eq!(built.segments[1].label.as_deref(), Some("job_id=5"));
        let first = &built.segments[0].history;
        let va = first.get(Split::Valid, "accuracy").unwrap();
        assert_eq!(
            (va.steps(), va.values()),
            (&[16u64, 32][..], &[0.4, 0.6][..])
        );
        assert_eq!(
            first.get(Split::Valid, "test/loss").unwrap().values(),
            &[0.55, 0.35]
        );
        let second = &built.segments[1].history;
        assert!(second.get(Split::Valid, "test/accuracy").unwrap().values()[1].is_nan());
        assert_eq!(built.restarts.len(), 1, "the second row starts a new run");
        assert!(built.skipped.contains(&"p:C".to_owned()));
    }

    #[test]
    fn malformed_rows_name_the_column() {
        let input = format!("{HEADER}1,0.5,1,\"[16, 32]\",\"['accuracy']\",\"[[[0.5, 0.5]]]\"\n");
        let err = run(&input).unwrap_err();
        let at = err.location().unwrap();
        assert_eq!(
            (at.line, at.key.as_deref()),
            (Some(2), Some(SCORES)),
            "{err}"
        );
        let err = run("a,b\n1,2\n").unwrap_err();
        assert!(
            err.to_string().contains("no `m:fidelity_values` column"),
            "{err}"
        );
    }
}
