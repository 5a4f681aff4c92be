//! The HTML report opens in headless Chromium and a screenshot shows the charts: the pixels of the
//! training (blue) and validation (orange) curves are on screen, and they are not on a screenshot of
//! the same page with its images taken out.
//!
//! Needs Debian's `chromium` at /usr/bin/chromium (CI installs it). Without it the test prints
//! "skipped: no chromium" and passes, except under CI (`CI` set), where it fails.

// The binary exists only with the `cli` feature (on by default).
#![cfg(feature = "cli")]

// The crate root of an integration test looks for modules beside it in tests/; keep them in a
// folder of their own so that cargo does not build each as a test target.
#[path = "html_screenshot/png.rs"]
mod png;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use curvewatch::render::charts::palette;

const CHROMIUM: &str = "/usr/bin/chromium";

/// A run that overfits: train loss falls, validation loss turns up after epoch 8.
fn log() -> String {
    let mut text = String::from("epoch,loss,val_loss\n");
    for e in 0..40 {
        let t = f64::from(e);
        let train = 0.2 + 2.0 * (-t / 5.0).exp();
        let valid = 0.6 + 1.6 * (-t / 5.0).exp() + 0.004 * (t - 8.0).max(0.0).powi(2);
        text.push_str(&format!("{e},{train:.6},{valid:.6}\n"));
    }
    text
}

/// A fresh directory under the system's temporary directory.
fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("curvewatch-screenshot-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

/// Screenshots `page` (1280 × 2000) into `png`, giving Chromium a minute at most.
fn screenshot(dir: &Path, page: &Path, png: &Path) {
    let profile = dir.join(format!(
        "profile-{}",
        png.file_stem().unwrap().to_string_lossy()
    ));
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1280,2000")
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromium starts");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            assert!(status.success(), "chromium failed: {status}");
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("chromium took more than a minute");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(png.exists(), "chromium wrote no screenshot");
}

/// Pixels within 8 per channel of `colour`.
fn count(img: &png::Image, colour: (u8, u8, u8)) -> usize {
    let near = |a: u8, b: u8| a.abs_diff(b) <= 8;
    img.rgb
        .chunks(3)
        .filter(|p| near(p[0], colour.0) && near(p[1], colour.1) && near(p[2], colour.2))
        .count()
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

#[test]
fn the_report_opens_in_chromium_and_shows_the_charts() {
    if !Path::new(CHROMIUM).exists() {
        println!("skipped: no chromium");
        assert!(
            !in_ci(),
            "CI must install chromium (apt-get install chromium)"
        );
        return;
    }
    let dir = temp_dir();
    let log_path = dir.join("run.csv");
    std::fs::write(&log_path, log()).unwrap();
    let out = dir.join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_curvewatch"))
        .arg("analyze")
        .arg(&log_path)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("curvewatch runs");
    assert!(status.success());
    let report = out.join("report.html");
    let html = std::fs::read_to_string(&report).unwrap();
    // The control: the same page with every image turned into an empty element.
    let bare = dir.join("bare.html");
    std::fs::write(&bare, html.replace("<img ", "<span ")).unwrap();

    let (shot, bare_shot) = (dir.join("report.png"), dir.join("bare.png"));
    screenshot(&dir, &report, &shot);
    screenshot(&dir, &bare, &bare_shot);
    let img = png::decode(&std::fs::read(&shot).unwrap()).expect("a PNG screenshot");
    let bare_img = png::decode(&std::fs::read(&bare_shot).unwrap()).expect("a PNG screenshot");
    assert_eq!((img.width, img.height), (1280, 2000));

    let (train, valid) = (count(&img, palette::TRAIN), count(&img, palette::VALID));
    let (bare_train, bare_valid) = (
        count(&bare_img, palette::TRAIN),
        count(&bare_img, palette::VALID),
    );
    println!(
        "curve pixels: train {train}, valid {valid}; without images: {bare_train}, {bare_valid}"
    );
    assert!(
        train >= 300 && valid >= 300,
        "both curves on screen: {train}, {valid}"
    );
    assert!(
        bare_train < 20 && bare_valid < 20,
        "the colours come from the charts"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
