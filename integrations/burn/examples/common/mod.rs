//! Shared by the Burn examples: a noisy synthetic classification task with few training samples,
//! and a small multilayer perceptron that has the capacity to memorise the noise.
#![allow(dead_code)]

use std::sync::Arc;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataloader::{DataLoader, DataLoaderBuilder};
use burn::data::dataset::InMemDataset;
use burn::module::Module;
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Int, Tensor, TensorData};
use burn::train::{ClassificationOutput, InferenceStep, TrainOutput, TrainStep};

/// Training samples: few, so that the network can memorise them.
pub const TRAIN_SAMPLES: usize = 64;
/// Held-out samples.
pub const VALID_SAMPLES: usize = 1024;
/// Share of training and validation labels flipped at random.
pub const LABEL_NOISE: f64 = 0.2;
/// Training batch size.
pub const BATCH: usize = 16;
/// Hidden units per layer.
pub const HIDDEN: usize = 128;
/// Input features: the first two decide the class, the rest are noise the network can use to
/// memorise individual samples.
pub const FEATURES: usize = 4;

/// A small deterministic generator (xorshift64*), so that runs are reproducible.
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One point and its (possibly flipped) class.
#[derive(Clone, Debug)]
pub struct Sample {
    pub x: [f32; FEATURES],
    pub label: i64,
}

/// `n` points of the cube [-1, 1]^FEATURES, class 1 where `x1 > 0.6 sin(3 x0)`, with `LABEL_NOISE`
/// of the labels flipped.
pub fn samples(n: usize, rng: &mut Rng) -> Vec<Sample> {
    (0..n)
        .map(|_| {
            let mut x = [0f32; FEATURES];
            for v in x.iter_mut() {
                *v = (rng.uniform() * 2.0 - 1.0) as f32;
            }
            let clean = f64::from(x[1]) > 0.6 * (3.0 * f64::from(x[0])).sin();
            let flip = rng.uniform() < LABEL_NOISE;
            Sample {
                x,
                label: i64::from(clean != flip),
            }
        })
        .collect()
}

/// A batch as tensors.
#[derive(Clone, Debug)]
pub struct Batch {
    pub inputs: Tensor<2>,
    pub targets: Tensor<1, Int>,
}

/// Stacks samples into a [`Batch`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SampleBatcher;

impl Batcher<Sample, Batch> for SampleBatcher {
    fn batch(&self, items: Vec<Sample>, device: &Device) -> Batch {
        let n = items.len();
        let xs: Vec<f32> = items.iter().flat_map(|s| s.x).collect();
        let ys: Vec<i64> = items.iter().map(|s| s.label).collect();
        Batch {
            inputs: Tensor::from_data(TensorData::new(xs, [n, FEATURES]), device),
            targets: Tensor::from_data(TensorData::new(ys, [n]), device),
        }
    }
}

/// The training and validation sets (seeded).
pub fn datasets(seed: u64) -> (Vec<Sample>, Vec<Sample>) {
    let mut rng = Rng::new(seed);
    let train = samples(TRAIN_SAMPLES, &mut rng);
    let valid = samples(VALID_SAMPLES, &mut rng);
    (train, valid)
}

/// Burn data loaders over the two sets: shuffled training batches of `BATCH`, validation in
/// batches of 256.
pub fn loaders(
    train: Vec<Sample>,
    valid: Vec<Sample>,
) -> (Arc<dyn DataLoader<Batch>>, Arc<dyn DataLoader<Batch>>) {
    let train = DataLoaderBuilder::new(SampleBatcher)
        .batch_size(BATCH)
        .shuffle(11)
        .build(InMemDataset::new(train));
    let valid = DataLoaderBuilder::new(SampleBatcher)
        .batch_size(256)
        .build(InMemDataset::new(valid));
    (train, valid)
}

/// A FEATURES → HIDDEN → HIDDEN → 2 perceptron with ReLU.
#[derive(Module, Debug)]
pub struct Mlp {
    l1: Linear,
    l2: Linear,
    l3: Linear,
}

impl Mlp {
    /// A freshly initialised network on `device`.
    pub fn new(device: &Device) -> Self {
        Mlp {
            l1: LinearConfig::new(FEATURES, HIDDEN).init(device),
            l2: LinearConfig::new(HIDDEN, HIDDEN).init(device),
            l3: LinearConfig::new(HIDDEN, 2).init(device),
        }
    }

    /// Class logits.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let h = relu(self.l1.forward(x));
        let h = relu(self.l2.forward(h));
        self.l3.forward(h)
    }

    /// Logits, cross-entropy loss and targets of a batch.
    pub fn classify(&self, batch: Batch) -> ClassificationOutput {
        let logits = self.forward(batch.inputs);
        let loss = CrossEntropyLossConfig::new()
            .init(&logits.device())
            .forward(logits.clone(), batch.targets.clone());
        ClassificationOutput::new(loss, logits, batch.targets)
    }
}

impl TrainStep for Mlp {
    type Input = Batch;
    type Output = ClassificationOutput;

    fn step(&self, batch: Batch) -> TrainOutput<ClassificationOutput> {
        let out = self.classify(batch);
        TrainOutput::new(self, out.loss.backward(), out)
    }
}

impl InferenceStep for Mlp {
    type Input = Batch;
    type Output = ClassificationOutput;

    fn step(&self, batch: Batch) -> ClassificationOutput {
        self.classify(batch)
    }
}

/// `--out DIR` from the command line, or `default`.
pub fn out_dir(default: &str) -> std::path::PathBuf {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--out" {
            if let Some(dir) = args.next() {
                return dir.into();
            }
        }
    }
    default.into()
}

/// Evaluations without improvement of valid/loss before early stopping ends the run.
pub const PATIENCE: u32 = 20;

/// The bus of the `learner` and `custom_loop` examples: the standard preset (patience
/// [`PATIENCE`]) and annotated charts titled `title`, drawn off-thread into `out` (PNG and SVG, log
/// y); returns the charts' handle too, to wait for the last frame.
pub fn watched_bus(
    out: &std::path::Path,
    title: &str,
) -> Result<(curvewatch::Bus, curvewatch::render::worker::RenderHandle), Box<dyn std::error::Error>>
{
    use curvewatch::callbacks::{PlotCallback, Preset};
    use curvewatch::render::charts::ChartOptions;
    use curvewatch::render::CurveRenderer;
    let mut bus = curvewatch::Bus::new();
    Preset::standard().with_patience(PATIENCE).install(&mut bus);
    let renderer = CurveRenderer::new()
        .with_svg(true)
        .with_options(ChartOptions::new().with_title(title).with_log_y(true));
    let plot = PlotCallback::new(out, Box::new(renderer))?;
    let charts = plot.handle();
    bus.add(plot);
    Ok((bus, charts))
}

/// Logs curvewatch's events (diagnoses, the stop) at INFO and everything else (Burn's per-batch
/// `log` lines) at WARN.
pub fn init_tracing() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    let filter = Targets::new()
        .with_target("curvewatch", tracing::Level::INFO)
        .with_default(tracing::Level::WARN);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_target(true)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout())),
        )
        .with(filter)
        .init();
}
