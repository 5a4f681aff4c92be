//! Per-step cost of the bus: 0, 1 and 10 no-op callbacks, and recording of 4 metrics.

use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use curvewatch::{Bus, Callback, MetricKey, Split, StepEnd, TrainBegin};

struct Noop;
impl Callback for Noop {}

fn bus_with(n: usize) -> Bus {
    let mut bus = Bus::new();
    for _ in 0..n {
        bus.add(Noop);
    }
    bus.train_begin(&TrainBegin::new()).unwrap();
    bus
}

/// The metric slice of one step: `n` keys with placeholder values.
fn metrics(bus: &mut Bus, n: usize) -> Vec<(MetricKey, f64)> {
    ["loss", "grad_norm", "acc", "tokens_per_s"][..n]
        .iter()
        .map(|name| (bus.metric(Split::Train, name), 0.0))
        .collect()
}

/// Times `iters` consecutive steps on one bus whose history has room reserved (steady state; growth is
/// measured separately by `step/record_4_metrics_growing`).
fn per_step(c: &mut Criterion, name: &str, callbacks: usize, n_metrics: usize, reserve: bool) {
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut bus = bus_with(callbacks);
            let mut m = metrics(&mut bus, n_metrics);
            if reserve {
                bus.reserve_points(iters as usize);
            }
            let start = Instant::now();
            for step in 1..=iters {
                for (_, v) in m.iter_mut() {
                    *v = step as f64 * 1e-6;
                }
                black_box(bus.step_end(&StepEnd::new(step, &m)).unwrap());
            }
            start.elapsed()
        })
    });
}

fn benches(c: &mut Criterion) {
    per_step(c, "step/0_callbacks", 0, 0, true);
    per_step(c, "step/1_noop_callback", 1, 0, true);
    per_step(c, "step/10_noop_callbacks", 10, 0, true);
    per_step(c, "step/record_4_metrics", 0, 4, true);
    per_step(c, "step/record_4_metrics_growing", 0, 4, false);
    per_step(c, "step/record_4_metrics_10_callbacks", 10, 4, true);
}

criterion_group!(benches_group, benches);
criterion_main!(benches_group);
