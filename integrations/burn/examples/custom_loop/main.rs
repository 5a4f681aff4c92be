//! A hand-written Burn training loop with curvewatch attached through `BurnLoop`.
//!
//! The same task and network as the `learner` example (64 noisy points, a 4 → 128 → 128 → 2 MLP,
//! Adam), but the loop is ours: forward, backward, `optimizer.step(run.lr(), ..)`, then
//! `run.step_loss(&loss)` hands the loss tensor to curvewatch (it reads the scalar) and
//! `run.end_epoch(..)` the validation values. The learning rate lives in the driver, so a rate asked
//! by a callback reaches the optimizer at the next step. The overfitting diagnosis and the early
//! stop appear in the tracing output; charts go to `curvewatch-out/burn-custom_loop/`.
//!
//! Run: `cargo run --release -p curvewatch-burn --example custom_loop`.

#[path = "../common/mod.rs"]
mod common;

use burn::data::dataloader::batcher::Batcher;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::Device;
use curvewatch::callbacks::PresetSummary;
use curvewatch_burn::{scalar, BurnLoop, DriverError};

const EPOCHS: u32 = 400;
const LR: f64 = 1.0e-3;

/// Loss and accuracy of `model` on one validation batch.
fn evaluate(model: &common::Mlp, batch: &common::Batch) -> Result<(f64, f64), DriverError> {
    let out = model.classify(batch.clone());
    let hits = out
        .output
        .argmax(1)
        .squeeze_dim::<1>(1)
        .equal(out.targets.clone())
        .int()
        .float()
        .mean();
    Ok((scalar(&out.loss)?, scalar(&hits)?))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    common::init_tracing();
    let out = common::out_dir("curvewatch-out/burn-custom_loop");
    std::fs::create_dir_all(&out)?;

    let (bus, charts) = common::watched_bus(&out, "Burn custom loop: MLP on 64 noisy points")?;

    let device = Device::flex().autodiff();
    let (train, valid) = common::datasets(7);
    let (train, _) = common::loaders(train, Vec::new());
    let valid = common::SampleBatcher.batch(valid, &device.clone().inner());
    let mut model = common::Mlp::new(&device);
    let mut optimizer = AdamConfig::new().init();
    let batches = common::TRAIN_SAMPLES.div_ceil(common::BATCH) as u64;
    let mut run = BurnLoop::new(bus, LR)
        .with_max_epochs(EPOCHS)
        .with_steps_per_epoch(batches);

    'training: for _ in 0..EPOCHS {
        for batch in train.iter() {
            let out = model.classify(batch?);
            let grads = GradientsParams::from_grads(out.loss.backward(), &model);
            model = optimizer.step(run.lr(), model, grads);
            if run.step_loss(&out.loss)?.should_stop() {
                break 'training;
            }
        }
        let (loss, accuracy) = evaluate(&model.valid(), &valid)?;
        if run
            .end_epoch(&[("loss", loss), ("accuracy", accuracy)])?
            .should_stop()
        {
            break;
        }
    }
    let epochs_run = run.epoch();
    let bus = run.into_bus()?;

    let stats = charts.finish()?;
    bus.history().save_json(out.join("history.json"))?;
    println!("\n{}", bus.summary());
    println!("{}", PresetSummary::from_bus(&bus));
    println!("ran {epochs_run} of {EPOCHS} epochs");
    println!(
        "charts ({} renders): {}, {}",
        stats.renders,
        out.join("learning_curves.png").display(),
        out.join("learning_curves.svg").display()
    );
    Ok(())
}
