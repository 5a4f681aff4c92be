//! The HTML report opens in headless Chromium and a screenshot shows the charts: the pixels of the
//! training (blue) and validation (orange) curves are on screen, and they are not on a screenshot of
//! the same page with its images taken out.
//!
//! The interactive charts of the same report are driven in the page itself: `?selftest=STEP` runs a
//! scripted drag, pan, reset, smoothing change, hover, log and series toggles and a diagnosis click,
//! and writes what it saw into `<pre id="cw-selftest">`, read back with `--dump-dom`.
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
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("curvewatch-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

/// The flags of every headless run, with its own profile folder.
fn headless_flags(profile: &Path) -> Vec<String> {
    let fixed = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ];
    let mut flags: Vec<String> = fixed.iter().map(|f| f.to_string()).collect();
    flags.push(format!("--user-data-dir={}", profile.display()));
    flags
}

/// Screenshots `page` (1280 × 2000) into `png`, giving Chromium a minute at most.
fn screenshot(dir: &Path, page: &Path, png: &Path) {
    let profile = dir.join(format!(
        "profile-{}",
        png.file_stem().unwrap().to_string_lossy()
    ));
    let mut child = Command::new(CHROMIUM)
        .args(headless_flags(&profile))
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

/// Whether the test must be skipped for want of Chromium (says so; never under CI).
fn chromium_missing() -> bool {
    if Path::new(CHROMIUM).exists() {
        return false;
    }
    println!("skipped: no chromium");
    assert!(
        !in_ci(),
        "CI must install chromium (apt-get install chromium)"
    );
    true
}

#[test]
fn the_report_opens_in_chromium_and_shows_the_charts() {
    if chromium_missing() {
        return;
    }
    let (dir, out) = overfitting_report("screenshot");
    let report = out.join("report.html");
    let html = std::fs::read_to_string(&report).unwrap();
    // The control: the same page with every image turned into an empty element.
    let bare = dir.join("bare.html");
    // Interactive charts are left out too (the script finds no chart to draw).
    let bare_html = html
        .replace("<img ", "<span ")
        .replace("class=\"cw-chart\"", "class=\"cw-off\"");
    std::fs::write(&bare, bare_html).unwrap();

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

/// A fresh folder `name` holding the overfitting run's log and, in `out/`, its analysis with
/// `report.html`: `(folder, out)`.
fn overfitting_report(name: &str) -> (PathBuf, PathBuf) {
    let dir = temp_dir(name);
    let log_path = dir.join("run.csv");
    std::fs::write(&log_path, log()).unwrap();
    let out = dir.join("out");
    analyze(&log_path, &out);
    (dir, out)
}

/// Writes a `step,loss` CSV of `rows` at `path` and returns the path.
fn write_log(path: &Path, rows: impl Iterator<Item = (u64, f64)>) -> PathBuf {
    let mut text = String::from("step,loss\n");
    for (step, loss) in rows {
        text.push_str(&format!("{step},{loss}\n"));
    }
    std::fs::write(path, text).unwrap();
    path.to_owned()
}

/// Runs `curvewatch analyze LOG --out OUT`; panics if it fails.
fn analyze(log: &Path, out: &Path) {
    analyze_with(log, out, &[]);
}

/// [`analyze`] with more arguments.
fn analyze_with(log: &Path, out: &Path, extra: &[&str]) {
    let status = Command::new(env!("CARGO_BIN_EXE_curvewatch"))
        .arg("analyze")
        .args(extra)
        .arg(log)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("curvewatch runs");
    assert!(status.success());
}

/// Loads `url` headless and returns the DOM after the page's scripts ran, and Chromium's log.
fn dump_dom(dir: &Path, url: &str) -> (String, String) {
    let child = Command::new(CHROMIUM)
        .args(headless_flags(&dir.join("profile-dom")))
        .args(["--enable-logging=stderr", "--v=0", "--dump-dom"])
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("chromium starts");
    // Read the (large) DOM while Chromium writes it, on a thread, so a full pipe cannot stall it.
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let Ok(out) = rx.recv_timeout(Duration::from_secs(90)) else {
        let _ = Command::new("kill").arg(pid.to_string()).status();
        panic!("chromium took more than 90 s");
    };
    let out = out.expect("chromium output");
    assert!(out.status.success(), "chromium failed: {}", out.status);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The JSON the page's self-test wrote into `<pre id="cw-selftest">`.
fn selftest_result(dom: &str) -> serde_json::Value {
    let start = dom
        .find("<pre id=\"cw-selftest\">")
        .expect("the self-test ran and wrote its result")
        + "<pre id=\"cw-selftest\">".len();
    let end = start + dom[start..].find("</pre>").expect("result closes");
    let text = dom[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("the result is JSON ({e}): {}", &text[..text.len().min(300)]))
}

#[test]
fn the_interactive_chart_of_a_million_points_zooms_hovers_and_smooths_in_chromium() {
    if chromium_missing() {
        return;
    }
    let dir = temp_dir("interactive");
    // A sawtooth with known values: at step s the loss is 1 + (s mod 1000) / 1000.
    let rows = (1..=1_000_000u64).map(|s| (s, 1.0 + (s % 1000) as f64 / 1000.0));
    let log_path = write_log(&dir.join("million.csv"), rows);
    let out = dir.join("out");
    analyze(&log_path, &out);
    let page = out.join("report.html");
    let url = format!("file://{}?selftest=250123", page.display());
    let (dom, log) = dump_dom(&dir, &url);
    let result = selftest_result(&dom);
    println!("{result:#}");
    let console: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") && l.contains("Uncaught"))
        .collect();
    assert!(console.is_empty(), "console errors: {console:?}");
    assert_eq!(
        result["errors"],
        serde_json::json!([]),
        "no errors in the page"
    );
    assert_eq!(
        result["points"], 1_000_000,
        "the whole series is in the page"
    );
    let checks = result["checks"].as_object().expect("checks");
    for name in [
        "drag zooms",
        "shift-drag pans",
        "reset",
        "slider redraws the smoothed curve",
        "hover reads the point",
        "log toggle",
        "series toggle",
    ] {
        assert_eq!(checks[name]["ok"], true, "{name}: {}", checks[name]);
    }
    let readout = checks["hover reads the point"]["detail"]["readout"]
        .as_str()
        .unwrap();
    assert!(
        readout.contains("@250123: raw 1.123"),
        "the value logged at step 250123 (1 + 123/1000): {readout}"
    );
    let after = &checks["drag zooms"]["detail"]["after"];
    let (x0, x1) = (after["x0"].as_f64().unwrap(), after["x1"].as_f64().unwrap());
    assert!(
        (x0 - 250_000.0).abs() < 20_000.0 && (x1 - 500_000.0).abs() < 20_000.0,
        "dragging over the second quarter of the plot shows steps 250k..500k: {x0} {x1}"
    );
    let ms = result["interactiveMs"].as_f64().unwrap();
    println!("1M-point report interactive after {ms:.0} ms");
    assert!(ms < 2000.0, "interactive within 2 s: {ms} ms");
    assert_eq!(result["ok"], true);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_self_test_fails_on_a_page_error() {
    if chromium_missing() {
        return;
    }
    let (dir, out) = overfitting_report("selftest-control");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    // The control: a page that logs an error after the error collector and before the charts.
    let broken = html.replacen(
        "</head>",
        "<script>console.error('injected failure');</script></head>",
        1,
    );
    let page = dir.join("broken.html");
    std::fs::write(&page, broken).unwrap();
    let (dom, _) = dump_dom(&dir, &format!("file://{}?selftest", page.display()));
    let result = selftest_result(&dom);
    assert_eq!(result["ok"], false, "{result}");
    assert_eq!(result["errors"], serde_json::json!(["injected failure"]));
    let (clean, _) = dump_dom(
        &dir,
        &format!("file://{}?selftest", out.join("report.html").display()),
    );
    assert_eq!(
        selftest_result(&clean)["ok"],
        true,
        "the same page without the error passes"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_restarted_run_is_interactive_too() {
    if chromium_missing() {
        return;
    }
    let dir = temp_dir("restarted");
    // Steps 1..=20000, then the run restarts at 10000 with other values (x no longer sorted).
    let first = (1..=20_000u64).map(|s| (s, 2.0 + (s % 97) as f64 / 100.0));
    let second = (10_000..=30_000u64).map(|s| (s, 1.0 + (s % 89) as f64 / 100.0));
    let log_path = write_log(&dir.join("restarted.csv"), first.chain(second));
    let out = dir.join("out");
    analyze_with(&log_path, &out, &["--restarts", "keep-all"]);
    let url = format!(
        "file://{}?selftest=15000",
        out.join("report.html").display()
    );
    let (dom, _) = dump_dom(&dir, &url);
    let result = selftest_result(&dom);
    assert_eq!(result["ok"], true, "{result}");
    let readout = result["checks"]["hover reads the point"]["detail"]["readout"]
        .as_str()
        .unwrap();
    // 15000 was logged twice; the later value (after the restart) is 1 + (15000 mod 89) / 100.
    assert!(readout.contains("@15000: raw 1.48"), "{readout}");
    let _ = std::fs::remove_dir_all(&dir);
}
