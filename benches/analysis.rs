//! The whole-run report on 1 million steps, and one prediction fit on 1,000 points.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use curvewatch::analysis::prediction::{predict, PredictOptions};
use curvewatch::{History, Split};

/// A 1M-step run: train loss and lr every step, validation every 1,000 steps.
fn run(steps: u64) -> History {
    let mut h = History::new();
    let (loss, lr, val) = (
        h.key(Split::Train, "loss"),
        h.key(Split::Train, "lr"),
        h.key(Split::Valid, "loss"),
    );
    for s in 1..=steps {
        let x = s as f64;
        let epoch = x / 10_000.0;
        h.record(
            loss,
            s,
            epoch,
            2.0 / (1.0 + x / 5e4) + 0.02 * ((x * 0.618).fract() - 0.5),
        );
        h.record(lr, s, epoch, 3e-4);
        if s % 1000 == 0 {
            h.record(
                val,
                s,
                epoch,
                2.1 / (1.0 + x / 5e4) + 1e-7 * (x - 6e5).max(0.0),
            );
        }
    }
    h
}

fn benches(c: &mut Criterion) {
    let h = run(1_000_000);
    let mut g = c.benchmark_group("report");
    g.sample_size(10);
    g.bench_function("analyze_1M_steps", |b| {
        b.iter(|| black_box(curvewatch::report::analyze(&h).unwrap()))
    });
    g.finish();

    let xs: Vec<f64> = (1..=1000).map(|i| i as f64).collect();
    let ys: Vec<f64> = xs
        .iter()
        .map(|x| 0.5 + 2.0 * x.powf(-0.4) + 0.005 * ((x * 0.618).fract() - 0.5))
        .collect();
    let mut g = c.benchmark_group("prediction");
    g.sample_size(20);
    g.bench_function("predict_1000_points", |b| {
        b.iter(|| black_box(predict(&xs, &ys, &PredictOptions::default()).unwrap()))
    });
    g.finish();
}

criterion_group!(benches_group, benches);
criterion_main!(benches_group);
