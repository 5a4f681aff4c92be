//! A character-level language model (embedding, one LSTM layer, linear read-out) trained with tch on
//! CPU on a short original text shipped beside this file (`curves.txt`), the way LLMs are trained:
//! AdamW with linear warmup and cosine decay, gradient clipping, the per-step training loss and
//! learning rate, and a validation loss every few steps on held-out text. The standard preset
//! watches the run (early stopping on the validation loss, which a run with validation must stop
//! on; spike, non-finite, learning-rate, over- and underfitting diagnoses). A text this short is
//! learnt by heart, so validation turns up while training keeps falling: the overfitting detector
//! says so and early stopping ends the run (restore the weights of the best evaluation).
//!
//! Run (after `eval "$(scripts/setup-libtorch.sh)"`):
//! `cargo run --release -p curvewatch-tch --example charlm` (add `-- --out DIR` to choose where files
//! go; charts go to `curvewatch-out/tch-charlm/` by default).

mod model;

use std::num::NonZeroU64;
use std::path::{Path, PathBuf};

use curvewatch::callbacks::{PlotCallback, Preset, PresetSummary};
use curvewatch::render::charts::ChartOptions;
use curvewatch::render::worker::RenderHandle;
use curvewatch::render::CurveRenderer;
use curvewatch::Bus;
use curvewatch_tch::{Fit, TchRun, TrackedOptimizer, WarmupCosine};
use model::{CharLm, Corpus, BATCH, SEQ, TEXT};

/// Optimizer steps.
const STEPS: u64 = 600;
/// Warmup steps, peak and final learning rate.
const WARMUP: u64 = 40;
const PEAK_LR: f64 = 5e-3;
const FINAL_LR: f64 = 5e-4;
/// Validation every this many steps; the preset's early stopping checks as often.
const EVAL_EVERY: u32 = 20;
/// Global gradient-norm clip.
const CLIP: f64 = 1.0;

fn out_dir() -> PathBuf {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--out" {
            if let Some(dir) = args.next() {
                return PathBuf::from(dir);
            }
        }
    }
    PathBuf::from("curvewatch-out/tch-charlm")
}

/// The bus (standard preset: early stopping on `valid/loss`; charts drawn off-thread) around an
/// AdamW optimizer over `vs`.
fn watched_run(
    vs: &tch::nn::VarStore,
    out: &Path,
) -> Result<(TchRun, RenderHandle), Box<dyn std::error::Error>> {
    let mut bus = Bus::new();
    Preset::standard().install(&mut bus);
    let renderer = CurveRenderer::new().with_svg(true).with_options(
        ChartOptions::new()
            .with_title("tch char-level LSTM: warmup + cosine, step-level curves")
            .with_smoothing(0.9),
    );
    let plot = PlotCallback::new(out, Box::new(renderer))?;
    let charts = plot.handle();
    bus.add(plot);
    // The schedule sets the rate before every step; 0 until then.
    let opt = TrackedOptimizer::build(tch::nn::AdamW::default(), vs, 0.0)?;
    let run = TchRun::new(bus, opt)
        .with_clip_norm(CLIP)
        .with_epoch_loss(false);
    Ok((run, charts))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_target(true)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_max_level(tracing::Level::INFO)
        .init();
    tch::set_num_threads(1);
    tch::manual_seed(11);
    let out = out_dir();
    std::fs::create_dir_all(&out)?;

    let corpus = Corpus::new(TEXT);
    let (n_train, n_valid) = corpus.sizes();
    println!(
        "corpus: {} characters ({n_train} train, {n_valid} valid), vocabulary {}; {STEPS} steps of {BATCH} x {SEQ}",
        n_train + n_valid,
        corpus.vocab()
    );
    let vs = tch::nn::VarStore::new(tch::Device::Cpu);
    let mut task = CharLm::new(&vs, corpus, STEPS);
    let (mut run, charts) = watched_run(&vs, &out)?;

    let schedule = WarmupCosine::new(PEAK_LR, FINAL_LR, WARMUP, STEPS);
    let started = std::time::Instant::now();
    let outcome = Fit::new(1)
        .with_max_steps(STEPS)
        .with_eval_every(NonZeroU64::new(u64::from(EVAL_EVERY)).unwrap_or(NonZeroU64::MIN))
        .with_schedule(move |step| schedule.lr(step))
        .run(&mut run, &mut task)?;
    let elapsed = started.elapsed();
    let stats = charts.finish()?;

    let bus = run.bus();
    bus.history().save_json(out.join("history.json"))?;
    println!("\n{}\n{}", bus.summary(), PresetSummary::from_bus(bus));
    match &outcome.stop {
        Some(reason) => println!("stopped early: {reason}"),
        None => println!("ran all {STEPS} steps"),
    }
    println!(
        "{} steps in {:.1} s; last train loss {:.3} nats/char, last valid loss {:.3}",
        outcome.steps,
        elapsed.as_secs_f64(),
        outcome.last_loss,
        outcome.last_valid_loss.unwrap_or(f64::NAN)
    );
    println!("sample: {:?}", task.sample("The ", 120));
    let png = out.join("learning_curves.png");
    println!("charts ({} renders): {}", stats.renders, png.display());
    Ok(())
}
