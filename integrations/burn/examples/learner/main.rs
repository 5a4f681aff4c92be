//! Burn's Learner with curvewatch attached in one call.
//!
//! A small MLP (4 → 128 → 128 → 2) learns a two-class task from 64 noisy points (4 features, two of
//! which decide the class; a fifth of the labels flipped) with Adam, validated on 1024 held-out points. The network can memorise the flipped
//! labels, and after a while it does: the validation loss turns up while the training loss keeps
//! falling. The standard preset diagnoses it through `tracing`, early stopping halts Burn's training
//! well before the 400 configured epochs, and the charts are written to `curvewatch-out/burn-learner/`.
//!
//! Run: `cargo run --release -p curvewatch-burn --example learner` (add `-- --out DIR` to choose
//! where files go).

#[path = "../common/mod.rs"]
mod common;

use std::time::Instant;

use burn::optim::AdamConfig;
use burn::tensor::Device;
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{Learner, SupervisedTraining};
use curvewatch::callbacks::PresetSummary;
use curvewatch::Split;
use curvewatch_burn::{CurvewatchHandle, CurvewatchLearnerExt, QuietRenderer};

const EPOCHS: u32 = 400;
const LR: f64 = 1.0e-3;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    let out = common::out_dir("curvewatch-out/burn-learner");
    std::fs::create_dir_all(&out)?;

    let (bus, charts) = common::watched_bus(&out, "Burn Learner: MLP on 64 noisy points")?;
    let handle = CurvewatchHandle::new(bus).with_max_epochs(EPOCHS);

    let device = Device::flex().autodiff();
    let (train, valid) = common::datasets(7);
    let (train, valid) = common::loaders(train, valid);
    let model = common::Mlp::new(&device);
    let learner = Learner::new(model, AdamConfig::new().init(), handle.lr_scheduler(LR));
    let started = Instant::now();
    let result = SupervisedTraining::new(out.join("burn"), train, valid)
        .metrics((LossMetric::new(), AccuracyMetric::new()))
        .num_epochs(EPOCHS as usize)
        .renderer(Box::new(QuietRenderer))
        .with_application_logger(None)
        .with_curvewatch(&handle)
        .launch(learner);
    let took = started.elapsed();

    let bus = handle
        .into_bus()
        .map_err(|_| "Burn kept a clone of the curvewatch handle")?;
    let stats = charts.finish()?;
    bus.history().save_json(out.join("history.json"))?;
    println!("\n{}", bus.summary());
    println!("{}", PresetSummary::from_bus(&bus));
    let epochs_run = bus.summary().epochs;
    println!("Burn ran {epochs_run} of {EPOCHS} epochs in {took:.2?}");
    if let Some(i) = result.interrupted {
        println!(
            "Burn's LearningResult: interrupted: {}",
            i.reason.unwrap_or_default()
        );
    }
    if let Some(v) = bus.history().get(Split::Valid, "loss") {
        if let Some((_, step, best)) = v.min() {
            println!("best valid/loss {best:.4} at step {step}");
        }
    }
    println!(
        "charts ({} renders): {}, {}",
        stats.renders,
        out.join("learning_curves.png").display(),
        out.join("learning_curves.svg").display()
    );
    Ok(())
}
