//! The performance target of `analyze`: a 1-million-row log in under 2 s (release build) and in
//! under 3× the file size of memory. Ignored by default (it writes a 16 MB file); run with
//! `cargo test --release --test cli -- --ignored --nocapture`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::TempDir;

/// The peak resident set size of process `pid` so far, in bytes (Linux's `VmHWM`).
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
#[ignore = "writes a 16 MB log; run in release with --ignored"]
fn analyze_a_million_rows_fast_and_small() {
    let dir = TempDir::new("perf");
    let mut text = String::with_capacity(17_000_000);
    text.push_str("step,loss\n");
    let mut x: u64 = 7;
    for s in 0..1_000_000u64 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let noise = (x >> 11) as f64 / (1u64 << 53) as f64;
        let loss = 0.5 + 2.0 * (-(s as f64) / 200_000.0).exp() + 0.01 * noise;
        text.push_str(&format!("{s},{loss:.6}\n"));
    }
    let path = dir.file("big.csv", &text);
    let size = text.len() as u64;
    drop(text);
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_curvewatch"))
        .arg("analyze")
        .arg("--json")
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut peak = 0;
    let status = loop {
        if let Some(p) = peak_rss(child.id()) {
            peak = peak.max(p);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    assert!(status.success());
    let ratio = peak as f64 / size as f64;
    println!(
        "analyze of {size} bytes (1,000,000 rows): {elapsed:?}, peak RSS at least {} MB ({ratio:.2}x the file)",
        peak / 1_000_000
    );
    if !cfg!(debug_assertions) {
        assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
        assert!(ratio < 3.0, "{ratio:.2}x");
    }
}
