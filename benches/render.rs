//! Render time of the learning-curve grid as PNG in memory, at 1 thousand, 100 thousand and 10 million
//! points per training series, and of one 10-million-point series alone (the 200 ms budget). Default
//! options: the noisy loss gets its smoothed overlay (weight chosen from its noise) over the faint raw
//! values, and the grid carries three episodes drawn as shaded spans (a plateau, a spike storm, an
//! overfitting phase) and a stop.
//!
//! Grid history: `train/loss` and `train/lr` with `n` points each, `valid/loss` with `n / 100`; the
//! loss is noisy with a spike every ~1000 points and a NaN every 1 000 000, so decimation has work to
//! keep. 1200 x 800 pixels, default options (M4 decimation on).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use curvewatch::render::charts::{learning_curves, ChartOptions, ImageFormat};
use curvewatch::{Diagnosis, DiagnosisKind, Episode, History, Severity, Split};

/// A noisy, spiky loss value for point `i` (xorshift noise, deterministic).
fn loss(i: u64, state: &mut u64) -> f64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    let u = (*state >> 11) as f64 / (1u64 << 53) as f64;
    let spike = if *state % 1000 == 0 { 3.0 * u } else { 0.0 };
    if i % 1_000_000 == 999_999 {
        return f64::NAN;
    }
    2.0 / (1.0 + i as f64 / 50_000.0) + 0.1 * u + spike
}

fn history(n: u64, with_lr_and_valid: bool) -> History {
    let mut h = History::new();
    let t = h.key(Split::Train, "loss");
    h.reserve(t, n as usize);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..n {
        h.record(t, i + 1, i as f64 / 10_000.0, loss(i, &mut state));
    }
    if with_lr_and_valid {
        let lr = h.key(Split::Train, "lr");
        let v = h.key(Split::Valid, "loss");
        h.reserve(lr, n as usize);
        for i in 0..n {
            h.record(
                lr,
                i + 1,
                i as f64 / 10_000.0,
                1e-3 * (1.0 - i as f64 / n as f64),
            );
            if i % 100 == 99 {
                h.record(
                    v,
                    i + 1,
                    i as f64 / 10_000.0,
                    1.0 / (1.0 + i as f64 / 80_000.0),
                );
            }
        }
    }
    h
}

/// Episodes over the run of `n` steps, drawn as shaded spans, and a point event.
fn diagnoses(n: u64) -> Vec<Diagnosis> {
    let span = |kind, metric: &str, a: u64, b: u64| {
        let mut e = Episode::at(a);
        e.end_step = b;
        e.count = 12;
        e.closed = true;
        let mut d = Diagnosis::new(kind, Severity::Warning, "bench").with_metric(metric);
        d.step = b;
        d.episode = Some(e);
        d
    };
    let mut nan = Diagnosis::new(DiagnosisKind::NonFinite, Severity::Critical, "bench")
        .with_metric("train/loss");
    nan.step = n - 1;
    vec![
        span(DiagnosisKind::Plateau, "train/loss", n / 2, 3 * n / 4),
        span(DiagnosisKind::LossSpike, "train/loss", n / 10, n / 5),
        span(DiagnosisKind::Overfitting, "valid/loss", 3 * n / 5, n),
        nan,
    ]
}

fn grid(c: &mut Criterion) {
    let opts = ChartOptions::new().with_title("render benchmark");
    let mut g = c.benchmark_group("learning_curves_png");
    g.sample_size(10);
    for (label, n) in [("1k", 1_000u64), ("100k", 100_000), ("10M", 10_000_000)] {
        let h = history(n, true);
        let d = diagnoses(n);
        g.bench_with_input(BenchmarkId::from_parameter(label), &h, |b, h| {
            b.iter(|| black_box(learning_curves(h, &d, None, &opts, ImageFormat::Png).unwrap()))
        });
    }
    g.finish();
}

fn single(c: &mut Criterion) {
    let opts = ChartOptions::new();
    let h = history(10_000_000, false);
    let mut g = c.benchmark_group("single_series_png");
    g.sample_size(10);
    g.bench_function("10M", |b| {
        b.iter(|| black_box(learning_curves(&h, &[], None, &opts, ImageFormat::Png).unwrap()))
    });
    g.finish();
}

/// The training thread's share of plotting: a bus step with a `PlotCallback` (renderer that draws
/// nothing) against the same bus without it.
fn plot_feed(c: &mut Criterion) {
    use curvewatch::callbacks::PlotCallback;
    use curvewatch::render::worker::{Frame, RenderedFile};
    use curvewatch::{Bus, StepEnd};
    fn null(_: &Frame) -> Result<Vec<RenderedFile>, String> {
        Ok(Vec::new())
    }
    for plot in [false, true] {
        let name = if plot {
            "plot_feed/step_with_feed"
        } else {
            "plot_feed/step_without"
        };
        c.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut bus = Bus::new();
                if plot {
                    let dir = std::env::temp_dir().join("curvewatch-bench-feed");
                    bus.add(PlotCallback::new(&dir, Box::new(null)).expect("render thread"));
                }
                let key = bus.metric(Split::Train, "loss");
                bus.reserve_points(iters as usize);
                let start = std::time::Instant::now();
                for step in 1..=iters {
                    let m = [(key, 1.0 / step as f64)];
                    black_box(bus.step_end(&StepEnd::new(step, &m)).unwrap());
                }
                start.elapsed()
            })
        });
    }
}

criterion_group!(benches, grid, single, plot_feed);
criterion_main!(benches);
