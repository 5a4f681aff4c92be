//! The render worker driven by scripted loops: it never slows training, coalesces without losing
//! data, renders when it should, writes atomically, and reports failures without stopping training.
//! Also the progress callback's non-terminal output.

//!
//! Split by subject: `timing` (latency, coalescing, when renders happen), `files` (folders, atomic
//! writes, failures), `progress` (the progress callback's lines). Helpers live here.

mod files;
mod progress;
mod timing;

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use curvewatch::callbacks::plot::{PlotCallback, PlotOptions};
use curvewatch::render::worker::{Frame, RenderHandle, RenderedFile, Renderer};
use curvewatch::{
    Bus, Callback, CallbackResult, Context, Diagnosis, DiagnosisKind, EpochEnd, EvalEnd, History,
    Severity, Split, StepEnd, TrainBegin, TrainEnd,
};

/// What a recording renderer saw of one frame.
#[derive(Clone, Debug)]
struct Seen {
    step: u64,
    is_final: bool,
    history: History,
    diagnoses: Vec<Diagnosis>,
    stop_rule: Option<String>,
    thread: Option<String>,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// A renderer that records each frame, sleeps `delay`, and writes `frame.txt`.
fn recorder(delay: Duration) -> (Box<dyn Renderer>, Log) {
    let log: Log = Arc::default();
    let out = Arc::clone(&log);
    let r = move |f: &Frame| -> Result<Vec<RenderedFile>, String> {
        std::thread::sleep(delay);
        out.lock().unwrap().push(Seen {
            step: f.step(),
            is_final: f.is_final(),
            history: f.history().clone(),
            diagnoses: f.diagnoses().to_vec(),
            stop_rule: f.stop().map(|s| s.rule.to_string()),
            thread: std::thread::current().name().map(str::to_owned),
        });
        Ok(vec![RenderedFile::new(
            "frame.txt",
            f.step().to_string().into_bytes(),
        )])
    };
    (Box::new(r), log)
}

/// Runs this file's tests one at a time (timings must not compete with busy loops), with one
/// capturing tracing subscriber for every thread. Returns the lock guard and the captured output.
fn serial() -> (MutexGuard<'static, ()>, Captured) {
    static LOCK: Mutex<()> = Mutex::new(());
    static LOG: OnceLock<Captured> = OnceLock::new();
    let log = LOG.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        captured
    });
    (LOCK.lock().unwrap_or_else(|e| e.into_inner()), log.clone())
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("curvewatch-rw-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn options(interval: Duration, check_every: u32) -> PlotOptions {
    PlotOptions::default()
        .with_interval(interval)
        .with_check_every(NonZeroU32::new(check_every).unwrap())
}

/// A bus with the plot callback (and `extra` callbacks before it), `train/loss` and `valid/loss`.
fn plot_bus(
    dir: &Path,
    renderer: Box<dyn Renderer>,
    opts: PlotOptions,
    extra: Vec<Box<dyn Callback>>,
) -> (Bus, RenderHandle) {
    let plot = PlotCallback::with_options(dir, renderer, opts).unwrap();
    let handle = plot.handle();
    let mut bus = Bus::new();
    for (i, cb) in extra.into_iter().enumerate() {
        bus.add_named(format!("extra{i}"), cb);
    }
    bus.add(plot);
    (bus, handle)
}

/// Median, 99.9th percentile and maximum of a non-empty sample.
fn quantiles(mut v: Vec<Duration>) -> [Duration; 3] {
    v.sort();
    let n = v.len();
    [v[n / 2], v[(n * 999 / 1000).min(n - 1)], v[n - 1]]
}

/// Emits an overfitting diagnosis and stops when the validation loss rises.
struct Watcher {
    best: f64,
}

impl Callback for Watcher {
    fn on_eval_end(&mut self, ctx: &mut Context<'_>, ev: &EvalEnd<'_>) -> CallbackResult {
        let v = ev.metrics[0].1;
        if v > self.best {
            ctx.emit(Diagnosis::new(
                DiagnosisKind::Overfitting,
                Severity::Warning,
                "rose",
            ));
            ctx.stop("val_rose", format!("{v} > {}", self.best));
        }
        self.best = self.best.min(v);
        Ok(())
    }
}

/// Runs `epochs` epochs of `steps` steps, with a validation loss per epoch from `val`, waiting
/// `pause` after each step; stops when asked. Returns the bus for inspection.
fn run(bus: &mut Bus, epochs: u32, steps: u64, val: &[f64], pause: Duration) {
    let loss = bus.metric(Split::Train, "loss");
    let vloss = bus.metric(Split::Valid, "loss");
    bus.train_begin(&TrainBegin::new().with_max_epochs(epochs))
        .unwrap();
    let mut step = 0;
    for epoch in 0..epochs {
        for _ in 0..steps {
            step += 1;
            let metrics = [(loss, 1.0 / step as f64)];
            let ev = StepEnd::new(step, &metrics).with_epoch(epoch);
            assert!(!bus.step_end(&ev).unwrap().should_stop());
            if !pause.is_zero() {
                std::thread::sleep(pause);
            }
        }
        let v = val[epoch as usize];
        let stop = bus
            .eval_end(&EvalEnd::new(step, epoch, &[(vloss, v)]))
            .unwrap();
        bus.epoch_end(&EpochEnd::new(epoch, step, &[])).unwrap();
        if stop.should_stop() {
            bus.train_end(&TrainEnd::new(step, epoch)).unwrap();
            return;
        }
    }
    bus.train_end(&TrainEnd::new(step, epochs - 1)).unwrap();
}

/// Captures tracing output (the global subscriber of this test binary).
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
