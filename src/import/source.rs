//! The entry points: open a file (or take bytes), check it is text, detect or force the format,
//! and stream it through the right reader.

use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::{Path, PathBuf};

use super::builder::{Builder, Built};
use super::csv::CsvReader;
use super::detect::{detect, sniff_delimiter, HEAD_BYTES};
use super::error::{Ctx, ImportError};
use super::lines::{check_head, LineReader};
use super::{display_path, hf_trainer, jsonl, lcdb, table, text};
use super::{ImportFormat, ImportOptions, Imported};

/// Reads a training log into a [`History`](crate::History).
///
/// The format is detected from the content ([`detect`](super::detect)) unless `format` forces one.
/// Line formats (CSV, JSON lines, text) are streamed line by line; a `trainer_state.json` is read
/// whole and its rows streamed through serde. Errors name the file, the place (line and column, or
/// key) and what was expected; a file with no metric at all is an error, never an empty result.
///
/// ```
/// use curvewatch::import::{import_file, ImportFormat, ImportOptions};
/// use curvewatch::Split;
/// let dir = std::env::temp_dir().join(format!("cw-import-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("metrics.csv");
/// std::fs::write(&path, "epoch,step,train_loss,val_loss\n0,49,0.63,\n0,99,,0.52\n").unwrap();
/// let imported = import_file(&path, None, &ImportOptions::default()).unwrap();
/// assert_eq!(imported.format, ImportFormat::LightningCsv);
/// assert_eq!(imported.history.get(Split::Valid, "loss").unwrap().steps(), &[99]);
/// std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn import_file(
    path: impl AsRef<Path>,
    format: Option<ImportFormat>,
    opts: &ImportOptions,
) -> Result<Imported, ImportError> {
    let path = path.as_ref();
    let ctx = Ctx::new(display_path(path));
    let mut file = File::open(path).map_err(|e| ctx.io(e))?;
    let size = file.metadata().ok().map(|m| m.len());
    let mut head = Vec::with_capacity(HEAD_BYTES);
    (&mut file)
        .take(HEAD_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| ctx.io(e))?;
    let complete = head.len() < HEAD_BYTES;
    let (format, detected) = choose(&head, complete, format, &ctx)?;
    let delim = sniff_delimiter(&head);
    let reader = BufReader::with_capacity(1 << 16, Cursor::new(head).chain(file));
    let built = read(reader, format, delim, size, &ctx, opts)?;
    Ok(assemble(path.to_owned(), format, detected, built))
}

/// Reads a log held in memory; `name` stands for the file in messages and in
/// [`Imported::source`]. Otherwise the same as [`import_file`].
///
/// ```
/// use curvewatch::import::{import_bytes, ImportOptions};
/// let err = import_bytes(b"", "empty.csv", None, &ImportOptions::default()).unwrap_err();
/// assert!(err.to_string().starts_with("empty.csv: the file is empty"));
/// ```
pub fn import_bytes(
    bytes: &[u8],
    name: &str,
    format: Option<ImportFormat>,
    opts: &ImportOptions,
) -> Result<Imported, ImportError> {
    let ctx = Ctx::new(name);
    let head = &bytes[..bytes.len().min(HEAD_BYTES)];
    let (format, detected) = choose(head, head.len() == bytes.len(), format, &ctx)?;
    let size = Some(bytes.len() as u64);
    let built = read(bytes, format, sniff_delimiter(head), size, &ctx, opts)?;
    Ok(assemble(PathBuf::from(name), format, detected, built))
}

/// Refuses binary and empty input, then detects the format unless it is forced.
fn choose(
    head: &[u8],
    complete: bool,
    forced: Option<ImportFormat>,
    ctx: &Ctx,
) -> Result<(ImportFormat, bool), ImportError> {
    check_head(head, ctx)?;
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    if complete && body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ImportError::Empty {
            path: ctx.path.clone(),
        });
    }
    Ok(match forced {
        Some(f) => (f, false),
        None => (detect(head), true),
    })
}

/// Streams `reader` through the format's reader. A trainer state is read whole (its rows are then
/// streamed through serde); every other format line by line.
fn read<R: BufRead>(
    mut reader: R,
    format: ImportFormat,
    delim: u8,
    size: Option<u64>,
    ctx: &Ctx,
    opts: &ImportOptions,
) -> Result<Built, ImportError> {
    let mut b = Builder::new(opts, size);
    if format == ImportFormat::HfTrainerState {
        let mut all = Vec::with_capacity(size.unwrap_or(0).min(1 << 30) as usize);
        reader.read_to_end(&mut all).map_err(|e| ctx.io(e))?;
        hf_trainer::import(&all, ctx, &mut b)?;
        return b.finish(ctx, format);
    }
    let lines = LineReader::new(reader, ctx.clone());
    match format {
        ImportFormat::JsonLines => jsonl::import(lines, &mut b)?,
        ImportFormat::PlainText => text::import(lines, &mut b)?,
        ImportFormat::LcdbResults => lcdb::import(CsvReader::new(lines, delim), &mut b)?,
        _ => table::import(CsvReader::new(lines, delim), format, &mut b)?,
    }
    b.finish(ctx, format)
}

fn assemble(source: PathBuf, format: ImportFormat, detected: bool, b: Built) -> Imported {
    Imported {
        source,
        format,
        detected,
        history: b.history,
        segments: b.segments,
        restarts: b.restarts,
        warnings: b.warnings,
        summary: b.summary,
        skipped: b.skipped,
        epochs_known: b.epochs_known,
        records: b.records,
    }
}
