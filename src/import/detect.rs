//! Format detection from content: JSON shape, CSV header, or else text.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::csv::{count_fields, split_fields};
use super::error::Ctx;
use super::names::step_rank;
use super::value::{fix_bare_non_finite, parse_cell, Cell};
use super::{display_path, ImportFormat};

/// How many bytes detection looks at.
pub(crate) const HEAD_BYTES: usize = 64 * 1024;

/// Lines of the head that CSV sniffing compares.
const SNIFF_LINES: usize = 50;

/// Guesses the format of a log from its first 64 KiB.
///
/// - A JSON object on the first line (without a `log_history` key) is [`ImportFormat::JsonLines`];
///   any other JSON document (pretty-printed, or a top-level array) is
///   [`ImportFormat::HfTrainerState`].
/// - A table whose header is made of names and at least half of whose rows have the header's
///   field count (comma, tab or semicolon separated; the CSV reader reports the others), or whose
///   header names a step, epoch, `loss` or `val_*` column, is CSV: [`ImportFormat::LcdbResults`] when it has LCDB's
///   `m:fidelity_values` and `m:score_values` columns, [`ImportFormat::LightningCsv`] with `step`
///   and `epoch` columns, [`ImportFormat::PlainCsv`] with another step column (`iter`,
///   `global_step`...), [`ImportFormat::KerasCsv`] with an `epoch`, `loss` or `val_*` column and no
///   step column, else [`ImportFormat::PlainCsv`].
/// - Anything else is [`ImportFormat::PlainText`].
///
/// ```
/// use curvewatch::import::{detect, ImportFormat};
/// assert_eq!(detect(b"epoch,step,train_loss,val_loss\n0,49,0.6,\n"), ImportFormat::LightningCsv);
/// assert_eq!(detect(b"{\"step\": 20, \"loss\": 8.56}\n"), ImportFormat::JsonLines);
/// assert_eq!(detect(b"{\n  \"log_history\": []\n}\n"), ImportFormat::HfTrainerState);
/// assert_eq!(detect(b"s:0 trl:11.0116 lr:0.000001 norm:14.96\n"), ImportFormat::PlainText);
/// ```
pub fn detect(bytes: &[u8]) -> ImportFormat {
    let head = &bytes[..bytes.len().min(HEAD_BYTES)];
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let text = String::from_utf8_lossy(head);
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return json_kind(trimmed);
    }
    let lines = sample_lines(&text, bytes.len() > head.len());
    match csv_delimiter(&lines) {
        Some(delim) => classify_csv(lines[0], delim),
        None => ImportFormat::PlainText,
    }
}

/// Reads the first 64 KiB of `path` and calls [`detect`].
pub fn detect_file(path: impl AsRef<Path>) -> Result<ImportFormat, super::ImportError> {
    let path = path.as_ref();
    let ctx = Ctx::new(display_path(path));
    let file = File::open(path).map_err(|e| ctx.io(e))?;
    let mut head = Vec::with_capacity(HEAD_BYTES);
    file.take(HEAD_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| ctx.io(e))?;
    Ok(detect(&head))
}

/// The delimiter of a CSV head: the one [`detect`] would find, else a comma.
pub(crate) fn sniff_delimiter(head: &[u8]) -> u8 {
    let head = &head[..head.len().min(HEAD_BYTES)];
    let text = String::from_utf8_lossy(head);
    let lines = sample_lines(&text, false);
    csv_delimiter(&lines).unwrap_or(b',')
}

fn json_kind(trimmed: &str) -> ImportFormat {
    if trimmed.starts_with('[') {
        return ImportFormat::HfTrainerState;
    }
    let first = trimmed.lines().next().unwrap_or("").trim();
    let bytes = first.as_bytes();
    let fixed = fix_bare_non_finite(bytes);
    let parsed: Result<serde_json::Map<String, serde_json::Value>, _> =
        serde_json::from_slice(fixed.as_deref().unwrap_or(bytes));
    match parsed {
        Ok(map) if map.contains_key("log_history") => ImportFormat::HfTrainerState,
        Ok(_) => ImportFormat::JsonLines,
        // A broken object on one line is still meant as a JSON line; the importer says what broke.
        Err(_) if first.len() > 1 && first.ends_with('}') => ImportFormat::JsonLines,
        Err(_) => ImportFormat::HfTrainerState,
    }
}

/// Non-blank lines of the head, without a last line that may be cut off.
fn sample_lines(text: &str, truncated: bool) -> Vec<&str> {
    let mut lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    if truncated && lines.len() > 1 {
        lines.pop();
    }
    lines.truncate(SNIFF_LINES);
    lines
}

fn csv_delimiter(lines: &[&str]) -> Option<u8> {
    let header = lines.first()?;
    [b',', b'\t', b';'].into_iter().find(|&d| {
        let n = count_fields(header, d);
        if n < 2 || !header_like(header, d) {
            return false;
        }
        let rows = &lines[1..];
        let same = rows.iter().filter(|l| count_fields(l, d) == n).count();
        (same * 2 >= rows.len() && mostly_numbers(rows, d)) || known_columns(header, d)
    })
}

/// A header naming a step, epoch or loss column is a table even when its rows are broken (the CSV
/// reader then says where).
fn known_columns(header: &str, delim: u8) -> bool {
    split_fields(header, delim).iter().any(|c| {
        let c = c.to_ascii_lowercase();
        step_rank(&c).is_some() || c == "epoch" || c == "loss" || c.starts_with("val_")
    })
}

/// A header is names: no field is a number, and no field holds a number after a space or `:`
/// (which would make it a text log line such as `step 100, loss 2.3`).
fn header_like(line: &str, delim: u8) -> bool {
    let mut empty = 0;
    for f in split_fields(line, delim) {
        if f.is_empty() {
            empty += 1;
            continue;
        }
        if !matches!(parse_cell(f), Cell::Text) {
            return false;
        }
        let numeric_word = f
            .split([' ', ':', '='])
            .skip(1)
            .any(|w| !matches!(parse_cell(w), Cell::Text | Cell::Missing));
        if numeric_word {
            return false;
        }
    }
    empty <= 1
}

/// At least 30 % of the data cells are numbers or empty (an LCDB row has many text cells).
fn mostly_numbers(rows: &[&str], delim: u8) -> bool {
    let (mut numeric, mut total) = (0usize, 0usize);
    for row in rows {
        for field in split_fields(row, delim) {
            total += 1;
            if !matches!(parse_cell(field), Cell::Text) {
                numeric += 1;
            }
        }
    }
    total == 0 || numeric * 10 >= total * 3
}

fn classify_csv(header: &str, delim: u8) -> ImportFormat {
    let cols: Vec<String> = split_fields(header, delim)
        .into_iter()
        .map(str::to_ascii_lowercase)
        .collect();
    let has = |name: &str| cols.iter().any(|c| c == name);
    if has("m:fidelity_values") && has("m:score_values") {
        return ImportFormat::LcdbResults;
    }
    if has("step") && has("epoch") {
        return ImportFormat::LightningCsv;
    }
    if cols.iter().any(|c| step_rank(c).is_some()) {
        return ImportFormat::PlainCsv;
    }
    if has("epoch") || has("loss") || cols.iter().any(|c| c.starts_with("val_")) {
        return ImportFormat::KerasCsv;
    }
    ImportFormat::PlainCsv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_shapes_of_the_real_logs() {
        let cases: &[(&str, ImportFormat, &str)] = &[
            (
                "{\n  \"best_metric\": null,\n  \"log_history\": [\n",
                ImportFormat::HfTrainerState,
                "pretty trainer state",
            ),
            (
                "[{\"loss\": 1.0, \"step\": 1}]",
                ImportFormat::HfTrainerState,
                "saved log_history array",
            ),
            (
                "{\"current_steps\": 5, \"loss\": 1.7, \"eval_loss\": null}\n",
                ImportFormat::JsonLines,
                "LLaMA-Factory",
            ),
            (
                "{\"step\": 1, \"loss\": NaN}\n",
                ImportFormat::JsonLines,
                "bare NaN in a JSON line",
            ),
            (
                "epoch,epoch_time,step,train_loss_step,val_loss\n0,,49,7.6,\n",
                ImportFormat::LightningCsv,
                "Lightning",
            ),
            (
                "train_loss,out_tensor([0.]),epoch,step\n0.15,0.29,24,49\n",
                ImportFormat::LightningCsv,
                "odd Lightning names",
            ),
            (
                "epoch,accuracy,loss,val_loss\n0,0.98,0.05,0.05\n",
                ImportFormat::KerasCsv,
                "Keras CSVLogger",
            ),
            (
                "loss,val_loss\n0.0087,0.0013\n",
                ImportFormat::KerasCsv,
                "Keras history without epoch",
            ),
            (
                "step\tloss\n10\t8.46\n20\t7.68\n",
                ImportFormat::PlainCsv,
                "tab-separated step/loss",
            ),
            (
                "iter,loss,lr\n1,2.0,0.1\n",
                ImportFormat::PlainCsv,
                "plain CSV",
            ),
            (
                "p:C,objective,m:fidelity_values,m:score_values\n1e-6,0.5,\"[16]\",\"[[[0.5]]]\"\n",
                ImportFormat::LcdbResults,
                "LCDB",
            ),
            (
                "s:0 tel:11.0095\ns:0 trl:11.0116 lr:0.000001 norm:14.96\n",
                ImportFormat::PlainText,
                "llm.c",
            ),
            (
                "step 100, loss 2.31, lr 3e-4\nstep 200, loss 2.2, lr 3e-4\n",
                ImportFormat::PlainText,
                "comma text log",
            ),
            (
                "Epoch 3/10\n1875/1875 - 5s - loss: 0.2 - val_loss: 0.3\n",
                ImportFormat::PlainText,
                "Keras console",
            ),
            (
                "10\t2.5\n20\t2.4\n",
                ImportFormat::PlainText,
                "headerless numbers",
            ),
        ];
        for (input, want, why) in cases {
            assert_eq!(detect(input.as_bytes()), *want, "{why}");
        }
    }

    #[test]
    fn delimiter_sniffing() {
        assert_eq!(sniff_delimiter(b"a;b\n1;2\n"), b';');
        assert_eq!(sniff_delimiter(b"a\tb\n1\t2\n"), b'\t');
        assert_eq!(sniff_delimiter(b"just words"), b',');
    }
}
