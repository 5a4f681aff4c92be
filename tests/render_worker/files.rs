//! Output folders and files: failures are reported without stopping training; writes are atomic.

use std::sync::Arc;
use std::time::{Duration, Instant};

use curvewatch::render::worker::{Frame, RenderedFile, WorkerError};
use curvewatch::{Split, StepEnd};

use super::{options, plot_bus, recorder, run, serial, temp_dir};

#[test]
fn a_bad_output_folder_is_reported_and_training_goes_on() {
    let base = temp_dir("badfolder");
    std::fs::create_dir_all(&base).unwrap();
    let file = base.join("not-a-folder");
    std::fs::write(&file, b"x").unwrap();
    let out_dir = file.join("charts"); // a folder under a regular file cannot exist
    let (_serial, captured) = serial();
    let (renderer, _log) = recorder(Duration::ZERO);
    let (mut bus, handle) = plot_bus(&out_dir, renderer, options(Duration::ZERO, 1), vec![]);
    run(&mut bus, 3, 100, &[0.5, 0.4, 0.3], Duration::ZERO);
    let result = handle.finish();
    assert_eq!(bus.summary().steps, 300, "every step ran");
    assert!(bus.faults().is_empty(), "the bus saw no callback failure");
    let failed = result.unwrap_err();
    assert_eq!(failed.stats.renders, 0);
    assert!(failed.stats.errors >= 1);
    match &failed.errors[0] {
        WorkerError::Write { path, .. } => assert_eq!(path, &out_dir),
        other => panic!("expected a write error, got {other:?}"),
    }
    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("curvewatch::render") && l.contains(&*out_dir.to_string_lossy()))
        .unwrap_or_else(|| panic!("no render error logged:\n{text}"));
    assert!(line.contains("ERROR"), "{line}");
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn files_are_replaced_atomically_and_no_temporary_file_is_left() {
    let _serial = serial();
    const SIZE: usize = 256 * 1024;
    let dir = temp_dir("atomic");
    let mut n = 0u8;
    let r = move |_: &Frame| -> Result<Vec<RenderedFile>, String> {
        n = n.wrapping_add(1);
        Ok(vec![
            RenderedFile::new("curves.png", vec![n; SIZE]),
            RenderedFile::new("curves.svg", vec![n; 10]),
        ])
    };
    let (mut bus, handle) = plot_bus(&dir, Box::new(r), options(Duration::ZERO, 1), vec![]);
    let reader_dir = dir.clone();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = Arc::clone(&done);
    let reader = std::thread::spawn(move || {
        let mut reads = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            if let Ok(bytes) = std::fs::read(reader_dir.join("curves.png")) {
                assert_eq!(bytes.len(), SIZE, "a reader never sees a partial file");
                assert!(
                    bytes.iter().all(|&b| b == bytes[0]),
                    "nor a mix of two renders"
                );
                reads += 1;
            }
        }
        reads
    });
    run(&mut bus, 2, 2000, &[0.5, 0.4], Duration::from_micros(20));
    let stats = handle.finish().unwrap();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads = reader.join().unwrap();
    eprintln!(
        "atomic: {} renders, {reads} concurrent reads",
        stats.renders
    );
    assert!(stats.renders >= 2);
    assert_eq!(stats.files_written, 2 * stats.renders);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec!["curves.png", "curves.svg"],
        "no temporary file left"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_file_name_outside_the_folder_is_refused() {
    let _serial = serial();
    let dir = temp_dir("escape");
    let r = |_: &Frame| Ok(vec![RenderedFile::new("../escaped.txt", b"x".to_vec())]);
    let (mut bus, handle) = plot_bus(&dir, Box::new(r), options(Duration::ZERO, 1), vec![]);
    run(&mut bus, 1, 10, &[0.5], Duration::ZERO);
    let failed = handle.finish().unwrap_err();
    assert_eq!(
        failed.errors[0],
        WorkerError::FileName {
            name: "../escaped.txt".into()
        }
    );
    assert!(!dir.parent().unwrap().join("escaped.txt").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn finish_can_give_up_on_a_stuck_renderer_and_try_again() {
    let _serial = serial();
    let dir = temp_dir("timeout");
    let (renderer, _log) = recorder(Duration::from_millis(700));
    let (mut bus, handle) = plot_bus(&dir, renderer, options(Duration::ZERO, 1), vec![]);
    let loss = bus.metric(Split::Train, "loss");
    // Step until an offer is accepted (the thread may not be waiting yet): a 0.7 s render starts.
    let mut step = 0;
    while handle.stats().snapshots_sent == 0 {
        step += 1;
        bus.step_end(&StepEnd::new(step, &[(loss, 1.0)])).unwrap();
    }
    let t = Instant::now();
    let failed = handle.finish_within(Duration::from_millis(50)).unwrap_err();
    assert!(t.elapsed() < Duration::from_millis(600), "gave up early");
    assert!(matches!(
        failed.errors.last(),
        Some(WorkerError::Timeout { .. })
    ));
    let stats = handle.finish().unwrap();
    assert!(stats.renders >= 1, "the render in progress completed");
    drop(bus);
    let _ = std::fs::remove_dir_all(&dir);
}
