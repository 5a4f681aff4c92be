//! The CSV formats (Lightning `metrics.csv`, Keras `CSVLogger` / `history.csv`, plain CSV): a
//! header, then rows; they differ only in where the step comes from.

use std::io::BufRead;

use super::builder::{Builder, Pos};
use super::csv::{CsvReader, Record};
use super::error::{Ctx, ImportError, Location};
use super::value::{parse_cell, parse_step_str, Cell};
use super::{ImportFormat, RestartKind};
use crate::{MetricKey, Split};

mod columns;

use columns::columns;

/// What a column holds.
#[derive(Clone, Debug)]
enum Col {
    Step,
    Epoch,
    /// pandas' unnamed index column.
    Index,
    Metric(MetricCol),
    Skip,
}

/// A metric column: its series (created on the first number) and whether it turned out to be text.
#[derive(Clone, Debug)]
struct MetricCol {
    split: Split,
    name: String,
    key: Option<MetricKey>,
    text: bool,
}

/// The header's meaning, and state carried from row to row.
struct Table {
    format: ImportFormat,
    header: Vec<String>,
    header_line: usize,
    cols: Vec<Col>,
    prev_step: Option<u64>,
    prev_epoch: f64,
    row_in_run: u64,
}

/// Reads a whole CSV table into `b`.
pub(crate) fn import<R: BufRead>(
    mut csv: CsvReader<R>,
    format: ImportFormat,
    b: &mut Builder<'_>,
) -> Result<(), ImportError> {
    let ctx = csv.lines().ctx().clone();
    let mut table: Option<Table> = None;
    let mut short: Option<ImportError> = None;
    loop {
        let consumed = csv.lines().consumed();
        let Some(rec) = csv.next_record()? else {
            break;
        };
        if rec.is_blank() {
            continue;
        }
        let Some(t) = table.as_mut() else {
            table = Some(Table::new(&rec, format, b));
            continue;
        };
        if let Some(e) = short.take() {
            return Err(e);
        }
        b.begin(Pos::Line(rec.line), consumed);
        if t.is_header(&rec) {
            b.new_run(RestartKind::RepeatedHeader, None);
            t.row_in_run = 0;
        } else if let Some(e) = t.check_width(&rec, &ctx)? {
            short = Some(e);
        } else {
            t.row(&rec, b, &ctx)?;
        }
    }
    if let Some(ImportError::Malformed { at, problem, .. }) = short {
        b.warn(
            Some(at),
            format!("the last row is cut short ({problem}); skipped"),
        );
    }
    Ok(())
}

impl Table {
    fn new(header: &Record<'_>, format: ImportFormat, b: &mut Builder<'_>) -> Self {
        let names: Vec<String> = header.iter().map(|s| s.trim().to_owned()).collect();
        let cols = columns(&names, format, b);
        if cols.iter().any(|c| matches!(c, Col::Epoch)) || format == ImportFormat::KerasCsv {
            b.epochs_known();
        }
        Table {
            format,
            header: names,
            header_line: header.line,
            cols,
            prev_step: None,
            prev_epoch: 0.0,
            row_in_run: 0,
        }
    }

    /// Too many fields is an error; too few is returned, to be an error unless it is the last row
    /// (a log cut off mid-write).
    fn check_width(&self, rec: &Record<'_>, ctx: &Ctx) -> Result<Option<ImportError>, ImportError> {
        let n = self.cols.len();
        let expected = || format!("{n} fields, as in the header at line {}", self.header_line);
        if rec.len() > n {
            return Err(ctx.malformed(
                rec.location(n).with_key(format!("field {}", n + 1)),
                format!("{} fields", rec.len()),
                expected(),
            ));
        }
        Ok((rec.len() < n).then(|| {
            ctx.malformed(
                Location::line(rec.line),
                format!("{} fields", rec.len()),
                expected(),
            )
        }))
    }

    fn is_header(&self, rec: &Record<'_>) -> bool {
        rec.len() == self.header.len() && rec.iter().zip(&self.header).all(|(a, b)| a.trim() == b)
    }

    fn row(&mut self, rec: &Record<'_>, b: &mut Builder<'_>, ctx: &Ctx) -> Result<(), ImportError> {
        let step = self.step(rec, b, ctx)?;
        let epoch = self.epoch(rec, step);
        for i in 0..self.cols.len() {
            if let Col::Metric(m) = &mut self.cols[i] {
                let raw = &self.header[i];
                metric_cell(m, raw, rec.get(i), step, epoch, b);
            }
        }
        self.prev_step = Some(step);
        self.prev_epoch = epoch;
        self.row_in_run += 1;
        Ok(())
    }

    /// The row's step: the step column; else (Keras, plain CSV without one) a whole epoch or pandas
    /// index; else the row's number in its run, from 0.
    fn step(&self, rec: &Record<'_>, b: &mut Builder<'_>, ctx: &Ctx) -> Result<u64, ImportError> {
        let find = |want: fn(&Col) -> bool| self.cols.iter().position(want);
        if let Some(i) = find(|c| matches!(c, Col::Step)) {
            let cell = rec.get(i);
            if let Some(s) = parse_step_str(cell) {
                return Ok(s);
            }
            if matches!(parse_cell(cell), Cell::Missing) {
                b.note("csv:no-step", || {
                    "a row without a step took the previous row's step".to_owned()
                });
                return Ok(self.prev_step.unwrap_or(0));
            }
            return Err(ctx.malformed(
                rec.location(i).with_key(self.header[i].clone()),
                format!("the step is `{}`", cell.trim()),
                "a whole number ≥ 0",
            ));
        }
        let fallback = find(|c| matches!(c, Col::Epoch)).or(find(|c| matches!(c, Col::Index)));
        Ok(fallback
            .and_then(|i| parse_step_str(rec.get(i)))
            .unwrap_or(self.row_in_run))
    }

    fn epoch(&self, rec: &Record<'_>, step: u64) -> f64 {
        let col = self.cols.iter().position(|c| matches!(c, Col::Epoch));
        match col.map(|i| parse_cell(rec.get(i))) {
            Some(Cell::Number(e)) if e.is_finite() => e,
            Some(_) => self.prev_epoch,
            None if self.format == ImportFormat::KerasCsv => step as f64,
            None => 0.0,
        }
    }
}

/// Records one metric cell.
fn metric_cell(
    m: &mut MetricCol,
    raw: &str,
    cell: &str,
    step: u64,
    epoch: f64,
    b: &mut Builder<'_>,
) {
    let (value, percent) = match parse_cell(cell) {
        Cell::Missing => return,
        Cell::Number(v) => (v, false),
        Cell::Percent(v) => (v, true),
        Cell::Text if m.key.is_none() && !m.text => {
            m.text = true;
            b.skip(raw);
            return;
        }
        Cell::Text => {
            if !m.text {
                b.note(&format!("csv:text:{raw}"), || {
                    format!("text in the numeric column `{raw}` was skipped")
                });
            }
            return;
        }
    };
    if m.text {
        return;
    }
    let key = *m.key.get_or_insert_with(|| b.key(m.split, &m.name));
    b.push(key, step, epoch, value);
    if percent {
        b.note(&format!("csv:percent:{raw}"), || {
            format!("column `{raw}` is written as a percentage; values were divided by 100")
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::builder::Built;
    use crate::import::error::Ctx;
    use crate::import::lines::LineReader;
    use crate::import::{ImportOptions, Restarts};

    fn run(input: &str, format: ImportFormat, policy: Restarts) -> Result<Built, ImportError> {
        let opts = ImportOptions::default().with_restarts(policy);
        let mut b = Builder::new(&opts, None);
        let ctx = Ctx::new("t.csv");
        let csv = CsvReader::new(LineReader::new(input.as_bytes(), ctx.clone()), b',');
        import(csv, format, &mut b)?;
        b.finish(&ctx, format)
    }

    #[test]
    fn lightning_sparse_rows() {
        let input = "epoch,step,train_loss_step,train_loss_epoch,val_loss,epoch_time\n\
                     0,49,7.6,,,\n0,99,7.5,,,\n0,99,,,6.1,\n0,99,,7.55,,2417.5\n1,149,7.2,,,\n";
        let h = run(input, ImportFormat::LightningCsv, Restarts::KeepAll)
            .unwrap()
            .history;
        let tr = h.get(Split::Train, "loss").unwrap();
        assert_eq!(
            (tr.steps(), tr.values()),
            (&[49u64, 99, 149][..], &[7.6, 7.5, 7.2][..])
        );
        assert_eq!(tr.epochs(), &[0.0f32, 0.0, 1.0]);
        assert_eq!(h.get(Split::Train, "loss_epoch").unwrap().values(), &[7.55]);
        assert_eq!(h.get(Split::Valid, "loss").unwrap().steps(), &[99]);
        assert!(
            h.get(Split::Train, "epoch_time").is_none(),
            "timing skipped"
        );
    }

    #[test]
    fn keras_appended_runs_and_messy_values() {
        let input = "epoch,loss,val_acc\r\n0,\"0.9\",81.5%\r\n1,nan,90%\r\n\
                     epoch,loss,val_acc\r\n0,0.8,NaN\r\n";
        let built = run(input, ImportFormat::KerasCsv, Restarts::Segments).unwrap();
        let loss = built.history.get(Split::Train, "loss").unwrap();
        assert_eq!(loss.steps(), &[0, 1, 0]);
        assert!(loss.values()[1].is_nan());
        let acc = built
            .history
            .get(Split::Valid, "acc")
            .unwrap()
            .values()
            .to_vec();
        assert_eq!(acc[..2], [0.815, 0.9]);
        assert_eq!(built.restarts.len(), 1);
        assert_eq!(built.restarts[0].kind, RestartKind::RepeatedHeader);
        assert_eq!(built.segments.len(), 2);
        assert_eq!(built.segments[1].history.points(), 2);
    }

    #[test]
    fn keras_without_epoch_column_counts_rows() {
        let h = run(
            "loss,val_loss\n3,4\n2,3\n",
            ImportFormat::KerasCsv,
            Restarts::KeepAll,
        )
        .unwrap()
        .history;
        let v = h.get(Split::Valid, "loss").unwrap();
        assert_eq!(
            (v.steps(), v.epochs()),
            (&[0u64, 1][..], &[0.0f32, 1.0][..])
        );
    }

    #[test]
    fn text_columns_are_skipped_and_clashes_keep_raw_names() {
        let input = "iter,lr,learning_rate,note,loss\n1,0.1,0.2,warmup,2\n2,0.1,0.2,x,oops\n";
        let built = run(input, ImportFormat::PlainCsv, Restarts::KeepAll).unwrap();
        let h = &built.history;
        assert_eq!(h.get(Split::Train, "lr").unwrap().values(), &[0.1, 0.1]);
        assert_eq!(
            h.get(Split::Train, "learning_rate").unwrap().values(),
            &[0.2, 0.2]
        );
        assert_eq!(built.skipped, ["note"]);
        assert_eq!(h.get(Split::Train, "loss").unwrap().values(), &[2.0]);
        assert!(built
            .warnings
            .iter()
            .any(|w| w.message.contains("text in the numeric column")));
    }

    #[test]
    fn field_count_errors() {
        let err = run(
            "a,b\n1,2\n1,2,3\n",
            ImportFormat::PlainCsv,
            Restarts::KeepAll,
        )
        .unwrap_err();
        assert_eq!(
            err.location(),
            Some(&Location::line_column(3, 5).with_key("field 3"))
        );
        assert!(
            err.to_string().contains("3 fields; expected 2 fields"),
            "{err}"
        );
        let err = run("a,b\n1\n1,2\n", ImportFormat::PlainCsv, Restarts::KeepAll).unwrap_err();
        assert_eq!(
            err.location(),
            Some(&Location::line(2)),
            "a short row inside the file"
        );
        let ok = run("a,b\n1,2\n3", ImportFormat::PlainCsv, Restarts::KeepAll).unwrap();
        assert_eq!(ok.warnings.len(), 1, "a cut last row is only a warning");
    }

    #[test]
    fn a_bad_step_names_its_cell() {
        let err = run(
            "step,loss\n1,2\nx,3\n",
            ImportFormat::PlainCsv,
            Restarts::KeepAll,
        )
        .unwrap_err();
        assert_eq!(
            err.location(),
            Some(&Location::line_column(3, 1).with_key("step"))
        );
    }
}
