//! Quickstart: a real training loop in plain Rust (a small MLP fitted by backpropagation and Adam to 24
//! noisy samples of a sine) with curvewatch attached. The network has far more capacity than the data
//! supports, so after a while it starts fitting the noise: the validation loss turns up while the training
//! loss keeps falling. The bus records every metric, the callbacks diagnose it through `tracing`, and
//! early stopping ends the run with its reason; a background thread draws the learning curves.
//!
//! Run: `cargo run --release --example quickstart` (add `-- --out DIR` to choose where files go).

mod mlp;

use std::path::PathBuf;

use curvewatch::callbacks::lr_diagnosis::LossGranularity;
use curvewatch::callbacks::{LrDiagnosis, Monitor, PlotCallback, Preset, PresetSummary};
use curvewatch::render::charts::ChartOptions;
use curvewatch::render::CurveRenderer;
use curvewatch::{Bus, EpochBegin, EpochEnd, EvalEnd, Split, StepEnd, TrainBegin, TrainEnd};
use mlp::{Mlp, Rng};

const EPOCHS: u32 = 3000;
const BATCH: usize = 8;
const LR: f64 = 0.01;
/// Evaluations without improvement of valid/loss before early stopping ends the run.
const PATIENCE: u32 = 20;

/// `(x, y)` samples.
type Samples = Vec<(f64, f64)>;

/// 24 training and 400 validation samples of `sin(3x) + noise` on [-1, 1].
fn data(rng: &mut Rng) -> (Samples, Samples) {
    let mut sample = |n: usize| -> Samples {
        (0..n)
            .map(|_| {
                let x = rng.uniform() * 2.0 - 1.0;
                (x, (3.0 * x).sin() + 0.3 * rng.normal())
            })
            .collect()
    };
    (sample(24), sample(400))
}

fn out_dir() -> PathBuf {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--out" {
            if let Some(dir) = args.next() {
                return PathBuf::from(dir);
            }
        }
    }
    PathBuf::from("curvewatch-out/quickstart")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_target(true)
        // Colours on a terminal only: a log file or a pipe gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_max_level(tracing::Level::INFO)
        .init();
    let out = out_dir();
    std::fs::create_dir_all(&out)?;

    let mut rng = Rng::new(7);
    let (train, valid) = data(&mut rng);
    let mut model = Mlp::new(48, &mut rng);

    let mut bus = Bus::new();
    // Batches of 8 samples differ more from each other than any learning rate explains, so the
    // learning rate is judged on the epoch's mean training loss rather than on single batches.
    let lr_diagnosis = LrDiagnosis::new()
        .with_monitor(Monitor::new(Split::Train, "epoch_loss"))
        .with_granularity(LossGranularity::Epochs);
    Preset::standard()
        .with_patience(PATIENCE)
        .with_lr_diagnosis(lr_diagnosis)
        .install(&mut bus);
    // Charts are drawn on a background thread; the loop only hands over new points.
    let renderer = CurveRenderer::new().with_svg(true).with_options(
        ChartOptions::new()
            .with_title("quickstart: MLP on 24 noisy samples of sin(3x)")
            .with_log_y(true),
    );
    let plot = PlotCallback::new(&out, Box::new(renderer))?;
    let charts = plot.handle();
    bus.add(plot);
    let loss = bus.metric(Split::Train, "loss");
    let grad_norm = bus.metric(Split::Train, "grad_norm");
    let epoch_loss = bus.metric(Split::Train, "epoch_loss");
    let val_loss = bus.metric(Split::Valid, "loss");
    bus.reserve_points(EPOCHS as usize * train.len().div_ceil(BATCH));

    let mut lr = LR;
    let mut step = 0u64;
    let mut epoch = 0u32;
    bus.train_begin(&TrainBegin::new().with_max_epochs(EPOCHS))?;
    'training: while epoch < EPOCHS {
        bus.epoch_begin(&EpochBegin::new(epoch, step))?;
        let mut sum = 0.0;
        let batches = train.chunks(BATCH);
        let n_batches = batches.len();
        for (i, batch) in batches.enumerate() {
            step += 1;
            let (l, g) = model.train_step(batch, lr);
            sum += l;
            let metrics = [(loss, l), (grad_norm, g)];
            let ev = StepEnd::new(step, &metrics)
                .with_epoch(epoch)
                .with_epoch_fraction((i + 1) as f32 / n_batches as f32)
                .with_lr(lr);
            let d = bus.step_end(&ev)?;
            if let Some(new_lr) = d.new_lr() {
                lr = new_lr;
            }
            if d.should_stop() {
                break 'training;
            }
        }
        let val = model.mse(&valid);
        let d = bus.eval_end(&EvalEnd::new(step, epoch, &[(val_loss, val)]))?;
        let e = bus.epoch_end(&EpochEnd::new(
            epoch,
            step,
            &[(epoch_loss, sum / n_batches as f64)],
        ))?;
        if let Some(new_lr) = d.new_lr().or(e.new_lr()) {
            lr = new_lr;
        }
        if d.should_stop() || e.should_stop() {
            break;
        }
        epoch += 1;
    }
    bus.train_end(&TrainEnd::new(step, epoch.min(EPOCHS - 1)))?;

    let stats = charts.finish()?;
    let history_path = out.join("history.json");
    bus.history().save_json(&history_path)?;
    bus.history().save_csv(out.join("history.csv"))?;
    println!("\n{}", bus.summary());
    println!("{}", PresetSummary::from_bus(&bus));
    let val_series = bus.history().series(val_loss).expect("registered above");
    if let Some((_, best_step, best)) = val_series.min() {
        println!(
            "best valid/loss {best:.4} at step {best_step}; final {:.4}",
            val_series.last().unwrap_or(f64::NAN)
        );
    }
    println!("history: {}", history_path.display());
    println!(
        "charts ({} renders, {} snapshots coalesced): {}, {}",
        stats.renders,
        stats.snapshots_dropped,
        out.join("learning_curves.png").display(),
        out.join("learning_curves.svg").display()
    );
    Ok(())
}
