//! Malformed input gives an error that names the file, the place, and what was expected; never a
//! panic, never an empty result.

use std::path::PathBuf;

use curvewatch::import::{
    import_bytes, import_file, ImportError, ImportFormat, ImportOptions, Location,
};
use proptest::prelude::*;

fn bytes(input: &[u8], name: &str) -> ImportError {
    match import_bytes(input, name, None, &ImportOptions::default()) {
        Ok(imp) => panic!(
            "{name}: imported {} points instead of failing",
            imp.history.points()
        ),
        Err(e) => e,
    }
}

/// Writes `content` to a fresh file so errors carry a real path.
fn file(name: &str, content: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cw-import-malformed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn real(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read(path).unwrap()
}

#[test]
fn truncated_trainer_state() {
    let full = real("Francis-xsc__BERT_Weibo_Rumor__trainer_state.json");
    // Cut inside row 20 of log_history ("loss": 0.3... on line 132).
    let cut = &full[..full.len() / 2];
    let path = file("trainer_state.json", cut);
    let err = import_file(&path, None, &ImportOptions::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&path.display().to_string()),
        "names the file: {text}"
    );
    let at = err.location().expect("a place");
    let last_line = cut.split(|&b| b == b'\n').count();
    assert_eq!(
        at.line,
        Some(last_line),
        "the line where the text ends: {text}"
    );
    assert!(
        at.key
            .as_deref()
            .is_some_and(|k| k.starts_with("log_history[")),
        "{text}"
    );
    assert!(text.contains("EOF while parsing"), "{text}");
    assert!(
        text.contains("expected a Hugging Face trainer_state.json object"),
        "{text}"
    );
}

#[test]
fn csv_row_with_too_many_fields() {
    let input = b"epoch,loss,val_loss\n0,0.9,1.0\n1,0.8,0.9,0.7\n2,0.7,0.8\n";
    let path = file("history.csv", input);
    let err = import_file(&path, None, &ImportOptions::default()).unwrap_err();
    assert_eq!(
        err.location(),
        Some(&Location::line_column(3, 11).with_key("field 4"))
    );
    let text = err.to_string();
    assert!(text.contains("history.csv: line 3, column 11"), "{text}");
    assert!(
        text.contains("4 fields; expected 3 fields, as in the header at line 1"),
        "{text}"
    );
}

#[test]
fn binary_garbage() {
    let garbage: Vec<u8> = (0u32..512)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let err = bytes(&garbage, "model.bin");
    let text = err.to_string();
    assert!(text.starts_with("model.bin: line "), "{text}");
    assert!(text.contains("is not text; expected UTF-8 text"), "{text}");
    let err = bytes(b"step,loss\n1,2.0\n\x00\x01\x02", "nul.csv");
    assert_eq!(err.location(), Some(&Location::line_column(3, 1)));
}

#[test]
fn empty_files() {
    for (input, why) in [
        (&b""[..], "no bytes"),
        (b"\xEF\xBB\xBF\r\n  \n", "a BOM and blank lines"),
    ] {
        let err = bytes(input, "empty.log");
        assert!(matches!(err, ImportError::Empty { .. }), "{why}: {err}");
        assert!(
            err.to_string().starts_with("empty.log: the file is empty"),
            "{why}"
        );
    }
}

#[test]
fn valid_json_that_is_not_a_trainer_state() {
    let err = bytes(
        b"{\n  \"model\": \"bert\",\n  \"layers\": 12\n}\n",
        "config.json",
    );
    assert_eq!(err.location(), Some(&Location::key("log_history")));
    assert_eq!(
        err.to_string(),
        "config.json: key `log_history`: the key is missing; expected a Hugging Face \
         trainer_state.json object with a `log_history` array of log rows"
    );
    let err = bytes(b"[1, 2, 3]", "list.json");
    assert_eq!(
        err.location(),
        Some(&Location::line_column(1, 2).with_key("log_history[0]"))
    );
    assert!(
        err.to_string()
            .contains("expected a JSON object of metric names"),
        "{err}"
    );
    let err = bytes(b"{\"log_history\": []}\n", "fresh.json");
    assert!(
        matches!(
            err,
            ImportError::NoMetrics {
                format: ImportFormat::HfTrainerState,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn other_malformed_shapes() {
    type Case = (&'static [u8], Option<Location>, &'static str, &'static str);
    let cases: &[Case] = &[
        (
            b"{\"step\": 1, \"loss\": 2}\n{\"step\": 2, \"loss\": 1.5\n",
            Some(Location::line_column(2, 23)),
            "EOF while parsing",
            "a JSON line cut short",
        ),
        (
            b"{\"step\": -1, \"loss\": 2}\n",
            Some(Location::line(1).with_key("step")),
            "a whole number",
            "a negative step",
        ),
        (
            b"epoch,step,loss\n0,\"5,1\n",
            Some(Location::line_column(2, 3)),
            "never closed",
            "an unclosed quote",
        ),
        (
            b"step,loss\n",
            None,
            "no metric found in this csv file",
            "a header only",
        ),
        (
            b"Starting...\nDone.\n",
            None,
            "no metric found in this text file",
            "prose",
        ),
        (
            b"step,loss\n1,abc\n2,def\n",
            None,
            "no metric found",
            "a text column only",
        ),
    ];
    for (input, at, text, why) in cases {
        let err = bytes(input, "x.log");
        assert_eq!(err.location(), at.as_ref(), "{why}: {err}");
        assert!(err.to_string().contains(text), "{why}: {err}");
    }
}

#[test]
fn a_forced_format_that_does_not_fit() {
    let csv = b"epoch,loss\n0,1.0\n";
    let err = import_bytes(
        csv,
        "h.csv",
        Some(ImportFormat::JsonLines),
        &ImportOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.location(), Some(&Location::line_column(1, 1)));
    assert!(
        err.to_string()
            .contains("expected one JSON object per line"),
        "{err}"
    );
}

#[test]
fn a_missing_file_names_itself() {
    let err = import_file("/no/such/dir/metrics.csv", None, &ImportOptions::default()).unwrap_err();
    assert!(matches!(err, ImportError::Io { .. }));
    assert!(
        err.to_string()
            .starts_with("/no/such/dir/metrics.csv: cannot read"),
        "{err}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever the bytes and the format, the importer returns; an `Ok` always holds something.
    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..400), which in 0usize..8) {
        let format = ImportFormat::ALL.get(which).copied();
        if let Ok(imp) = import_bytes(&input, "fuzz", format, &ImportOptions::default()) {
            prop_assert!(imp.history.points() > 0 || !imp.summary.is_empty());
        }
    }

    /// Text made of log-like pieces, in any order, never panics either.
    #[test]
    fn log_like_text_never_panics(
        pieces in proptest::collection::vec(
            prop_oneof![
                Just("step"), Just(" "), Just("1"), Just("-2.5e3"), Just(":"), Just("="), Just(","),
                Just("\""), Just("\n"), Just("\r"), Just("{"), Just("}"), Just("["), Just("NaN"),
                Just("loss"), Just("val_"), Just("%"), Just("\t"), Just("epoch"), Just("Epoch 3/10"),
                Just("log_history"), Just("null"),
            ],
            0..80,
        ),
        which in 0usize..8,
    ) {
        let text: String = pieces.concat();
        let format = ImportFormat::ALL.get(which).copied();
        let _ = import_bytes(text.as_bytes(), "fuzz.log", format, &ImportOptions::default());
    }
}
