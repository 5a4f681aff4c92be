//! Files that cannot be imported: exit code 1, a message naming the file and the line, no panic;
//! and usage errors: exit code 2.

use crate::support::{curvewatch, data, TempDir};

/// Runs `analyze --json` on `path`; asserts exit 1, nothing on stdout, no panic; returns stderr.
fn fails(path: &std::path::Path) -> String {
    let run = curvewatch(&["analyze".as_ref(), "--json".as_ref(), path.as_os_str()]);
    assert_eq!(run.code, Some(1), "{}: {}", path.display(), run.stderr);
    assert!(
        run.stdout.is_empty(),
        "no output for a bad file: {}",
        run.stdout
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert!(
        run.stderr.contains(path.to_str().unwrap()),
        "names the file: {}",
        run.stderr
    );
    run.stderr
}

#[test]
fn malformed_files_name_file_line_and_expectation() {
    let dir = TempDir::new("malformed");
    // The first 40 lines of a real trainer state: the JSON ends at the start of line 41.
    let real = std::fs::read_to_string(data("aigoncharov__trainer_state_viz__trainer_state.json"))
        .unwrap();
    let head: String = real.split_inclusive('\n').take(40).collect();
    let cases: [(&str, Vec<u8>, &[&str], &str); 5] = [
        (
            "truncated.json",
            head.into_bytes(),
            &["line 41", "expected"],
            "truncated JSON",
        ),
        (
            "too_many.csv",
            b"epoch,loss,val_loss\n0,1.0,1.1\n1,0.9,1.0,7\n2,0.8,0.9\n".to_vec(),
            &["line 3", "4 fields; expected 3 fields"],
            "a row with a fourth field",
        ),
        (
            "garbage.csv",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe".to_vec(),
            &["line 1, column 1", "not text"],
            "binary garbage",
        ),
        (
            "nul.csv",
            b"step,loss\n1,0.5\n\x00\x01\x02\x03".to_vec(),
            &["line 3, column 1", "not text"],
            "text, then binary",
        ),
        (
            "empty.csv",
            Vec::new(),
            &["the file is empty"],
            "an empty file",
        ),
    ];
    for (name, bytes, wants, why) in cases {
        let path = dir.file(name, &bytes);
        let stderr = fails(&path);
        for want in wants {
            assert!(stderr.contains(want), "{why}: `{want}` in {stderr}");
        }
    }
}

#[test]
fn a_missing_file_fails_and_the_others_go_on() {
    let dir = TempDir::new("missing");
    let good = dir.file("good.csv", "epoch,loss\n0,1.0\n1,0.5\n2,0.4\n");
    let missing = dir.0.join("missing.csv");
    let run = curvewatch(&[
        "analyze".as_ref(),
        "--json".as_ref(),
        missing.as_os_str(),
        good.as_os_str(),
    ]);
    assert_eq!(run.code, Some(1));
    assert_eq!(run.json_lines().len(), 1, "the good file is still analysed");
    assert!(
        run.stderr.contains("missing.csv: cannot read"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("1 of 2 files could not be analysed"));
}

#[test]
fn every_command_reports_a_bad_file_with_exit_1() {
    let dir = TempDir::new("bad-commands");
    let bad = dir.file("bad.csv", "step,loss\n1,0.5\n2,0.4,9\n");
    let bad = bad.to_str().unwrap();
    let commands: [&[&str]; 4] = [
        &["replay", bad, "--monitor", "loss"],
        &["predict", bad, "--metric", "loss", "--horizon", "10"],
        &["compare", bad, bad],
        &["cluster", bad, bad],
    ];
    for args in commands {
        let run = curvewatch(args);
        assert_eq!(run.code, Some(1), "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("bad.csv: line 3"),
            "{args:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn usage_errors_exit_with_2() {
    let dir = TempDir::new("usage");
    let log = dir.file("log.csv", "epoch,val_loss\n0,1.0\n1,0.9\n");
    let log = log.to_str().unwrap();
    let cases: [(&[&str], &str); 8] = [
        (&[], "no command"),
        (&["frobnicate"], "unknown command"),
        (&["analyze"], "no file"),
        (&["replay", log], "--monitor is required"),
        (
            &[
                "replay",
                log,
                "--monitor",
                "val_loss",
                "--check-finite",
                "--no-check-finite",
            ],
            "exclusive flags",
        ),
        (
            &["replay", log, "--monitor", "val_loss", "--min-delta", "nan"],
            "a NaN threshold",
        ),
        (&["cluster", log, log, "--k", "0"], "k of 0"),
        (&["analyze", log, "--format", "xml"], "unknown format"),
    ];
    for (args, why) in cases {
        let run = curvewatch(args);
        assert_eq!(run.code, Some(2), "{why}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{why}");
    }
    let run = curvewatch(&["analyze", log, "--format", "xml"]);
    assert!(
        run.stderr.contains("unknown log format `xml`"),
        "{}",
        run.stderr
    );
}
