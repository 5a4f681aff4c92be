//! An MLP trained for real with tch on CPU, on 16 noisy samples of `sin(3x)` generated here. It has
//! far more capacity than 16 points support: after the validation loss bottoms out, the network fits
//! the noise, validation turns up while training keeps falling, the overfitting detector says so, and
//! early stopping ends the run. Diagnoses and the stop reason are `tracing` events; charts are written
//! to `curvewatch-out/tch-overfit/`.
//!
//! Run (after `eval "$(scripts/setup-libtorch.sh)"`):
//! `cargo run --release -p curvewatch-tch --example overfit` (add `-- --out DIR` to choose where files
//! go). `-- --bench N` times N alternating runs of the same loop with and without curvewatch instead;
//! `-- --bench-one preset|bare|charts [--epochs N]` runs one of them once (for a profiler).

mod bench;
mod model;

use std::path::PathBuf;

use curvewatch::callbacks::{PlotCallback, Preset, PresetSummary};
use curvewatch::render::charts::ChartOptions;
use curvewatch::render::CurveRenderer;
use curvewatch::Bus;
use curvewatch_tch::{Fit, TchRun, TrackedOptimizer};
use model::{Data, Regression, EPOCHS, LR};

/// Evaluations without improvement of valid/loss before early stopping ends the run.
const PATIENCE: u32 = 100;

fn arg(name: &str) -> Option<String> {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == name {
            return args.next();
        }
    }
    None
}

/// The standard preset with a longer patience than its default 5: an epoch is one full-batch step,
/// and validation wobbles for a few dozen of them before it turns for good.
fn preset(patience: u32) -> Preset {
    Preset::standard().with_patience(patience)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tch::set_num_threads(1);
    if let Some(n) = arg("--bench") {
        return bench::run(n.parse()?);
    }
    if let Some(variant) = arg("--bench-one") {
        let epochs = arg("--epochs").and_then(|e| e.parse().ok());
        return bench::run_one(&variant, epochs.unwrap_or(bench::BENCH_EPOCHS));
    }
    tracing_subscriber::fmt()
        .with_target(true)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_max_level(tracing::Level::INFO)
        .init();
    let out = PathBuf::from(arg("--out").unwrap_or_else(|| "curvewatch-out/tch-overfit".into()));
    std::fs::create_dir_all(&out)?;

    let data = Data::generate(7);
    let (vs, mut task) = Regression::new(&data);
    let mut bus = Bus::new();
    let patience = arg("--patience")
        .and_then(|p| p.parse().ok())
        .unwrap_or(PATIENCE);
    preset(patience).install(&mut bus);
    let renderer = CurveRenderer::new().with_svg(true).with_options(
        ChartOptions::new()
            .with_title("tch MLP (1-256-256-1) on 16 noisy samples of sin(3x)")
            .with_log_y(true),
    );
    let plot = PlotCallback::new(&out, Box::new(renderer))?;
    let charts = plot.handle();
    bus.add(plot);
    let opt = TrackedOptimizer::build(tch::nn::Adam::default(), &vs, LR)?;
    let mut run = TchRun::new(bus, opt);

    let started = std::time::Instant::now();
    let outcome = Fit::new(EPOCHS).run(&mut run, &mut task)?;
    let elapsed = started.elapsed();
    let stats = charts.finish()?;

    let bus = run.bus();
    bus.history().save_json(out.join("history.json"))?;
    println!("\n{}", bus.summary());
    println!("{}", PresetSummary::from_bus(bus));
    match &outcome.stop {
        Some(reason) => println!("stopped early: {reason}"),
        None => println!("ran all {EPOCHS} epochs without a stop"),
    }
    println!(
        "{} steps, {} epochs in {:.2} s; last train loss {:.4}, last valid loss {:.4}",
        outcome.steps,
        outcome.epochs,
        elapsed.as_secs_f64(),
        outcome.last_loss,
        outcome.last_valid_loss.unwrap_or(f64::NAN)
    );
    println!(
        "charts ({} renders): {}",
        stats.renders,
        out.join("learning_curves.png").display()
    );
    Ok(())
}
