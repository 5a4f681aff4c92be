//! Per-step cost of the full default stack: recording 4 metrics + lr, the standard preset (spike
//! guards, LR diagnosis, overfitting, underfitting, early stopping) and the plot feed.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use curvewatch::callbacks::{PlotCallback, Preset};
use curvewatch::render::worker::{Frame, RenderedFile};
use curvewatch::{Bus, MetricKey, Split, StepEnd, TrainBegin};

/// A renderer that draws nothing: the bench measures the training thread, not the pictures.
fn null_renderer(_: &Frame) -> Result<Vec<RenderedFile>, String> {
    Ok(Vec::new())
}

fn stack(plot: bool) -> (Bus, Vec<(MetricKey, f64)>) {
    let mut bus = Bus::new();
    Preset::standard().install(&mut bus);
    if plot {
        let dir = std::env::temp_dir().join("curvewatch-bench-plot");
        let cb = PlotCallback::new(&dir, Box::new(null_renderer)).expect("render thread");
        bus.add(cb);
    }
    let metrics = ["loss", "grad_norm", "acc", "tokens_per_s"]
        .iter()
        .map(|n| (bus.metric(Split::Train, n), 0.0))
        .collect();
    bus.train_begin(&TrainBegin::new()).unwrap();
    (bus, metrics)
}

/// Length of the noise table (a power of two).
const NOISE: usize = 4096;

/// Deterministic noise for the loss (±0.005) and the gradient norm (±0.05).
fn noise_table() -> Vec<(f64, f64)> {
    (0..NOISE)
        .map(|i| {
            let s = i as f64;
            (
                0.01 * ((s * 0.618).fract() - 0.5),
                0.1 * ((s * 0.414).fract() - 0.5),
            )
        })
        .collect()
}

fn per_step(c: &mut Criterion, name: &str, plot: bool) {
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let (mut bus, mut m) = stack(plot);
            bus.reserve_points(iters as usize);
            // The noise comes from a table made before the clock starts: `fract` is a libm call
            // here, and two of them per step cost ~10 ns that belong to the harness, not the stack.
            let noise = noise_table();
            let start = Instant::now();
            for step in 1..=iters {
                let s = step as f64;
                let (n0, n1) = noise[step as usize % NOISE];
                // A falling, slightly noisy loss: the detectors do their real work.
                m[0].1 = 2.0 / (1.0 + s * 1e-3) + n0;
                m[1].1 = 1.0 + n1;
                m[2].1 = 0.5;
                m[3].1 = 1e5;
                let ev = StepEnd::new(step, &m).with_lr(3e-4);
                black_box(bus.step_end(&ev).unwrap());
            }
            start.elapsed()
        })
    });
}

fn benches(c: &mut Criterion) {
    per_step(c, "preset/step", false);
    per_step(c, "preset/step_with_plot_feed", true);
}

criterion_group!(benches_group, benches);
criterion_main!(benches_group);
