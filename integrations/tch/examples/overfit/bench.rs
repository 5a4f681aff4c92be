//! `--bench N`: the cost of curvewatch in this loop. Runs, alternating, N times each: the adapter's
//! loop with the preset ([`Fit`] + [`TchRun`]), the same with charts drawn on a background thread,
//! and the same training written by hand with no curvewatch at all (a plain `nn::Optimizer`; the loss
//! is still read each step, as any loop that logs it does). All three do the same tensor work: same
//! seed, same batches, and the hand-written loop runs as many epochs as the watched run did before it
//! stopped. Prints the median loop time of each and the overhead.

use std::time::{Duration, Instant};

use curvewatch::callbacks::PlotCallback;
use curvewatch::render::CurveRenderer;
use curvewatch::{replay, Bus, History, ReplayOptions};
use curvewatch_tch::{Fit, TchRun, TrackedOptimizer};
use tch::nn::OptimizerConfig;

use crate::model::{Data, Regression, LR};

/// Epochs per timed run: early stopping is given unlimited patience, so that every run trains this
/// long with every callback of the preset active.
pub const BENCH_EPOCHS: u32 = 1000;
use crate::preset;

/// One run of the adapter's loop; returns its time and the epochs it ran (including the stopped one).
fn watched(
    charts: bool,
    epochs: u32,
) -> Result<(Sample, u32, History), Box<dyn std::error::Error>> {
    let data = Data::generate(7);
    let (vs, mut task) = Regression::new(&data);
    let mut bus = Bus::new();
    preset(u32::MAX).install(&mut bus);
    let dir = std::env::temp_dir().join("curvewatch-tch-bench");
    let handle = if charts {
        let plot = PlotCallback::new(&dir, Box::new(CurveRenderer::new()))?;
        let handle = plot.handle();
        bus.add(plot);
        Some(handle)
    } else {
        None
    };
    let mut run = TchRun::new(
        bus,
        TrackedOptimizer::build(tch::nn::Adam::default(), &vs, LR)?,
    );
    let t = Timer::start();
    let outcome = Fit::new(epochs).run(&mut run, &mut task)?;
    let elapsed = t.stop();
    if let Some(h) = handle {
        h.finish()?;
    }
    let epochs = outcome.epochs + u32::from(outcome.stop.is_some());
    Ok((elapsed, epochs, run.bus().history().clone()))
}

/// The same training without curvewatch, for `epochs` epochs.
fn bare(epochs: u32) -> Result<Sample, Box<dyn std::error::Error>> {
    let data = Data::generate(7);
    let (vs, mut task) = Regression::new(&data);
    let mut opt = tch::nn::Adam::default().build(&vs, LR)?;
    let t = Timer::start();
    let mut sink = 0.0;
    for _ in 0..epochs {
        let mut batch = 0;
        while let Some(loss) = task.batch_loss(batch) {
            sink += loss.double_value(&[]);
            opt.backward_step(&loss);
            batch += 1;
        }
        sink += tch::no_grad(|| task.valid()).double_value(&[]);
    }
    let elapsed = t.stop();
    std::hint::black_box(sink);
    Ok(elapsed)
}

/// CPU time of the calling thread so far (Linux: `/proc/thread-self/schedstat`, nanoseconds on the
/// CPU), so that time the thread spent preempted by other processes does not count; `None` elsewhere.
fn thread_cpu() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Wall-clock and training-thread CPU time of `f`.
struct Timer {
    wall: Instant,
    cpu: Option<Duration>,
}

impl Timer {
    fn start() -> Self {
        Timer {
            cpu: thread_cpu(),
            wall: Instant::now(),
        }
    }

    fn stop(&self) -> Sample {
        let wall = self.wall.elapsed();
        let cpu = match (thread_cpu(), self.cpu) {
            (Some(end), Some(start)) => end.saturating_sub(start),
            _ => wall,
        };
        Sample { wall, cpu }
    }
}

#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    cpu: Duration,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// Runs one variant once (`preset`, `bare` or `charts`) for `epochs` epochs, for an instruction
/// counter (`valgrind --tool=callgrind`), which noise on a shared machine does not move.
pub fn run_one(variant: &str, epochs: u32) -> Result<(), Box<dyn std::error::Error>> {
    let (time, epochs) = match variant {
        "bare" => (bare(epochs)?, epochs),
        "charts" => {
            let (t, e, _) = watched(true, epochs)?;
            (t, e)
        }
        _ => {
            let (t, e, _) = watched(false, epochs)?;
            (t, e)
        }
    };
    println!(
        "{variant}: {epochs} epochs, {:.3} s",
        time.wall.as_secs_f64()
    );
    Ok(())
}

/// Runs the comparison `n` times and prints it.
pub fn run(n: usize) -> Result<(), Box<dyn std::error::Error>> {
    // The watched run fixes the epoch count (and the history to replay) once.
    let (_, epochs, history) = watched(false, BENCH_EPOCHS)?;
    let samples = measure(n.max(1), epochs)?;
    println!("{n} rounds of {epochs} epochs; columns: median wall, median training-thread CPU, minimum wall, minimum CPU:");
    let base = stats(&samples[1]);
    for (i, label) in [
        (1, "without curvewatch"),
        (0, "adapter + preset"),
        (2, "adapter + preset + charts"),
    ] {
        let st = stats(&samples[i]);
        let cells: Vec<String> = st
            .iter()
            .zip(base)
            .map(|(x, b)| {
                let pct = 100.0 * (x.as_secs_f64() / b.as_secs_f64() - 1.0);
                format!("{:.3} s ({pct:+.1}%)", x.as_secs_f64())
            })
            .collect();
        println!("  {label:<26} {}", cells.join("  "));
    }
    let bus_only = median((0..n.max(1)).map(|_| replay_time(&history)).collect());
    println!(
        "  the preset's own work on these {epochs} epochs (replayed without tch): {:.2} ms, {:.2} us per epoch ({:.2}% of the bare loop's CPU time)",
        bus_only.as_secs_f64() * 1e3,
        bus_only.as_secs_f64() * 1e6 / f64::from(epochs.max(1)),
        100.0 * bus_only.as_secs_f64() / base[1].as_secs_f64()
    );
    Ok(())
}

/// `n` rounds of the three variants (preset, bare, preset + charts), the order rotating each round
/// so that none always runs after another.
fn measure(n: usize, epochs: u32) -> Result<[Vec<Sample>; 3], Box<dyn std::error::Error>> {
    let mut samples: [Vec<Sample>; 3] = Default::default();
    for i in 0..n {
        for k in 0..3 {
            let v = (i + k) % 3;
            samples[v].push(match v {
                0 => watched(false, BENCH_EPOCHS)?.0,
                1 => bare(epochs)?,
                _ => watched(true, BENCH_EPOCHS)?.0,
            });
        }
        let show = |v: usize| {
            let s = samples[v][i];
            format!("{:.3}/{:.3}", s.wall.as_secs_f64(), s.cpu.as_secs_f64())
        };
        eprintln!(
            "round {i} (wall/cpu s): preset {}, bare {}, preset+charts {}",
            show(0),
            show(1),
            show(2)
        );
    }
    Ok(samples)
}

/// Median wall, median CPU, minimum wall, minimum CPU.
fn stats(samples: &[Sample]) -> [Duration; 4] {
    let wall: Vec<Duration> = samples.iter().map(|s| s.wall).collect();
    let cpu: Vec<Duration> = samples.iter().map(|s| s.cpu).collect();
    let min = |v: &[Duration]| v.iter().min().copied().unwrap_or_default();
    let (min_wall, min_cpu) = (min(&wall), min(&cpu));
    [median(wall), median(cpu), min_wall, min_cpu]
}

/// Wall-clock time (short, and all on this thread) to send `history` through a fresh bus with the example's preset: every event the live run
/// sent, with no tensor work around it.
fn replay_time(history: &History) -> Duration {
    let mut bus = Bus::new();
    preset(u32::MAX).install(&mut bus);
    let t = Timer::start();
    let outcome = replay(history, &mut bus, ReplayOptions::faithful());
    let elapsed = t.stop().wall;
    match outcome {
        Ok(o) => {
            std::hint::black_box(o);
        }
        Err(e) => eprintln!("replay failed: {e}"),
    }
    elapsed
}
