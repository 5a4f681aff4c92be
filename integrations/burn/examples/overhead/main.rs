//! The adapter's cost on the `learner` example's training: the same Burn training (same data, model,
//! seed and number of epochs) run without curvewatch and with it, alternating, several rounds; prints
//! the median wall time of `launch` for each variant.
//!
//! Variants: Burn's defaults (file metric logger), Burn with its in-memory metric logger, curvewatch
//! with the standard preset, the same without the early-stopping bridge (to isolate the cost of the
//! per-epoch synchronisation it brings), and curvewatch with the standard preset plus the chart
//! callback (a render thread, as in the `learner` example). Early stopping's patience is raised above the number
//! of epochs so that every run does the same work.
//!
//! Run: `cargo run --release -p curvewatch-burn --example overhead -- --rounds 7 --epochs 30`.

#[path = "../common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use burn::optim::AdamConfig;
use burn::tensor::Device;
use burn::train::logger::InMemoryMetricLogger;
use burn::train::metric::{AccuracyMetric, LossMetric};
use burn::train::{Learner, SupervisedTraining};
use curvewatch::callbacks::{PlotCallback, Preset};
use curvewatch::render::CurveRenderer;
use curvewatch::Bus;
use curvewatch_burn::{CurvewatchHandle, CurvewatchLearnerExt, QuietRenderer, StepInfoMetric};

const LR: f64 = 1.0e-3;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Variant {
    BurnDefault,
    BurnInMemory,
    Preset,
    PresetNoBridge,
    PresetAndCharts,
}

const VARIANTS: [Variant; 5] = [
    Variant::BurnDefault,
    Variant::BurnInMemory,
    Variant::Preset,
    Variant::PresetNoBridge,
    Variant::PresetAndCharts,
];

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One training run; its wall time and the number of steps curvewatch saw (0 without it).
fn run(variant: Variant, epochs: usize, dir: &std::path::Path) -> Result<(Duration, u64), String> {
    let device = Device::flex().autodiff();
    let (train, valid) = common::datasets(7);
    let (train, valid) = common::loaders(train, valid);
    let model = common::Mlp::new(&device);
    let builder = SupervisedTraining::new(dir, train, valid)
        .metrics((LossMetric::new(), AccuracyMetric::new()))
        .num_epochs(epochs)
        .renderer(Box::new(QuietRenderer))
        .with_application_logger(None);
    let optim = AdamConfig::new().init();
    if matches!(variant, Variant::BurnDefault | Variant::BurnInMemory) {
        let builder = match variant {
            Variant::BurnInMemory => builder.with_metric_logger(InMemoryMetricLogger::new()),
            _ => builder,
        };
        let start = Instant::now();
        let _ = builder.launch(Learner::new(model, optim, LR));
        return Ok((start.elapsed(), 0));
    }
    let mut bus = Bus::new();
    Preset::standard()
        .with_patience(epochs as u32 + 1)
        .install(&mut bus);
    let mut charts = None;
    if variant == Variant::PresetAndCharts {
        let plot = PlotCallback::new(dir.join("charts"), Box::new(CurveRenderer::new()))
            .map_err(|e| e.to_string())?;
        charts = Some(plot.handle());
        bus.add(plot);
    }
    let handle = CurvewatchHandle::new(bus).with_max_epochs(epochs as u32);
    let learner = Learner::new(model, optim, handle.lr_scheduler(LR));
    let builder = if variant == Variant::PresetNoBridge {
        // Everything but the early-stopping bridge (and so without Burn's per-epoch flush).
        handle.attach_interrupter(builder.interrupter());
        builder
            .with_metric_logger(handle.metric_logger())
            .metric_train(StepInfoMetric::new())
    } else {
        builder.with_curvewatch(&handle)
    };
    let start = Instant::now();
    let _ = builder.launch(learner);
    let took = start.elapsed();
    let bus = handle.into_bus().map_err(|_| "handle still shared")?;
    if let Some(c) = charts {
        c.finish().map_err(|e| e.to_string())?;
    }
    Ok((took, bus.summary().steps))
}

/// The adapter's own work per training batch, without Burn's pipeline around it: a Burn metrics
/// update (loss and accuracy, plus the step metric's entry, formatted as `StepInfoMetric` does) fed
/// to the logger, which records it and runs the standard preset. Returns nanoseconds per batch.
fn logger_cost(batches: usize) -> f64 {
    use burn::train::logger::MetricLogger;
    use burn::train::metric::store::{MetricsUpdate, NumericMetricUpdate, Split as BurnSplit};
    use burn::train::metric::{
        MetricDefinition, MetricEntry, MetricId, NumericEntry, SerializedEntry,
    };
    use std::sync::Arc;

    let mut bus = Bus::new();
    Preset::standard().install(&mut bus);
    let handle = CurvewatchHandle::new(bus);
    let mut logger = handle.metric_logger();
    let loss_id = MetricId::new(Arc::new("Loss".to_owned()));
    let acc_id = MetricId::new(Arc::new("Accuracy".to_owned()));
    let step_id = MetricId::new(Arc::new("curvewatch step".to_owned()));
    logger.log_metric_definition(MetricDefinition::new(loss_id.clone(), &LossMetric::new()));
    logger.log_metric_definition(MetricDefinition::new(
        acc_id.clone(),
        &AccuracyMetric::new(),
    ));
    logger.log_metric_definition(MetricDefinition::new(
        step_id.clone(),
        &StepInfoMetric::new(),
    ));
    let numeric = |id: &MetricId, v: f64| {
        let e = NumericEntry::Aggregated {
            aggregated_value: v,
            count: 16,
        };
        let entry = MetricEntry::new(
            id.clone(),
            SerializedEntry::new(format!("{v:.2}"), e.serialize()),
        );
        NumericMetricUpdate::new(entry, Some(e), None)
    };
    let start = Instant::now();
    for i in 0..batches {
        let v = 1.0 / (1.0 + i as f64 * 1e-3) + 0.05 * ((i * 7919) % 13) as f64 / 13.0;
        let step = format!("{:e} {} {}", LR, i % 4 + 1, 4);
        let step = MetricEntry::new(
            step_id.clone(),
            SerializedEntry::new(format!("lr {LR:.3e}"), step),
        );
        let update = MetricsUpdate::new(
            vec![step],
            vec![numeric(&loss_id, v), numeric(&acc_id, 70.0)],
        );
        logger.log(update, 1 + i / 4, &BurnSplit::Train);
    }
    start.elapsed().as_nanos() as f64 / batches as f64
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds = arg("--rounds", 7).max(1);
    let epochs = arg("--epochs", 30).max(1);
    let dir = std::env::temp_dir().join(format!("curvewatch-burn-overhead-{}", std::process::id()));
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); VARIANTS.len()];
    run(Variant::Preset, 2, &dir)?; // warm-up
    for round in 0..rounds {
        // Rotate the order each round so that no variant always runs first.
        for k in 0..VARIANTS.len() {
            let i = (k + round) % VARIANTS.len();
            let (t, steps) = run(VARIANTS[i], epochs, &dir)?;
            times[i].push(t);
            if steps > 0 && steps != (epochs * common::TRAIN_SAMPLES.div_ceil(common::BATCH)) as u64
            {
                return Err(format!("{:?} stopped early ({steps} steps)", VARIANTS[i]).into());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let per_batch = logger_cost(100_000);
    let base = median(times[0].clone());
    let batch_ns = median(times[1].clone()).as_nanos() as f64 / (epochs * 4) as f64;
    println!(
        "{rounds} rounds of {epochs} epochs ({} steps each); median wall time of launch:",
        epochs * 4
    );
    for (v, t) in VARIANTS.iter().zip(&times) {
        let m = median(t.clone());
        // Paired within rounds: each round runs every variant back to back, so slow phases of a
        // shared machine cancel out of the ratio.
        let mut ratios: Vec<f64> = t
            .iter()
            .zip(&times[0])
            .map(|(a, b)| a.as_secs_f64() / b.as_secs_f64())
            .collect();
        ratios.sort_by(f64::total_cmp);
        let paired = 100.0 * (ratios[ratios.len() / 2] - 1.0);
        let rel = 100.0 * (m.as_secs_f64() / base.as_secs_f64() - 1.0);
        let min = t.iter().min().copied().unwrap_or_default();
        println!(
            "  {:<16} median {:>8.1?}  min {:>8.1?}  vs Burn default: medians {:+.1}%, paired {:+.1}%",
            format!("{v:?}"),
            m,
            min,
            rel,
            paired
        );
    }
    println!(
        "adapter work per training batch (logger + standard preset, without Burn around it): \
         {per_batch:.0} ns = {:.2}% of this training's {:.0} µs per batch (validation included)",
        100.0 * per_batch / batch_ns,
        batch_ns / 1000.0
    );
    Ok(())
}
