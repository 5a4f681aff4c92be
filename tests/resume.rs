//! Resume equivalence: a run interrupted at a random step and resumed from a checkpoint makes the same
//! decisions (stops, LR requests, diagnoses) as one that was never interrupted.

use curvewatch::{
    state_from_value, state_to_value, Bus, Callback, CallbackError, CallbackResult, Checkpoint,
    Context, Diagnosis, DiagnosisKind, EvalEnd, Severity, Split, StepEnd, TrainBegin,
};
use serde::{Deserialize, Serialize};

/// A stateful callback: an EMA of the training loss with patience, plus an LR cut when validation
/// rises. All of its decisions depend on state built up over the run.
#[derive(Default)]
struct EmaPatience {
    state: EmaState,
}

#[derive(Clone, Default, Serialize, Deserialize)]
struct EmaState {
    ema: f64,
    n: u32,
    #[serde(with = "curvewatch::persist::float")]
    best: f64,
    wait: u32,
    last_val: Option<f64>,
}

const PATIENCE: u32 = 40;

impl Callback for EmaPatience {
    fn on_step_end(&mut self, ctx: &mut Context<'_>, ev: &StepEnd<'_>) -> CallbackResult {
        let key = ctx.key(Split::Train, "loss");
        let Some(y) = ev.metric(key) else {
            return Ok(());
        };
        let s = &mut self.state;
        s.n += 1;
        s.ema = 0.9 * s.ema + 0.1 * y;
        let debiased = s.ema / (1.0 - 0.9f64.powi(s.n as i32));
        if s.n == 1 || debiased < s.best - 1e-3 {
            s.best = debiased;
            s.wait = 0;
        } else {
            s.wait += 1;
        }
        if s.wait >= PATIENCE {
            ctx.stop(
                "ema_patience",
                format!("EMA {debiased:.4} not below {:.4}", s.best),
            );
        }
        Ok(())
    }

    fn on_eval_end(&mut self, ctx: &mut Context<'_>, ev: &EvalEnd<'_>) -> CallbackResult {
        let key = ctx.key(Split::Valid, "loss");
        let v = ev.metric(key).unwrap_or(f64::NAN);
        if self.state.last_val.is_some_and(|last| v > last) {
            ctx.emit(Diagnosis::new(
                DiagnosisKind::Overfitting,
                Severity::Warning,
                format!("val loss rose to {v:.4}"),
            ));
            ctx.set_lr(ctx.lr().unwrap_or(1.0) * 0.5);
        }
        self.state.last_val = Some(v);
        Ok(())
    }

    fn save_state(&self) -> Result<Option<serde_json::Value>, CallbackError> {
        state_to_value(&self.state)
    }

    fn load_state(&mut self, state: serde_json::Value) -> CallbackResult {
        self.state = state_from_value(state)?;
        Ok(())
    }
}

/// A small deterministic generator for the scripted curves.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Scripted curves: a noisy falling loss that flattens, validation every 25 steps that rises late.
fn curves(seed: u64, steps: u64) -> (Vec<f64>, Vec<f64>) {
    let mut rng = Lcg(seed);
    let train = (1..=steps)
        .map(|s| 0.3 + 2.0 * (-(s as f64) / 60.0).exp() + 0.05 * (rng.next() - 0.5))
        .collect();
    let val = (1..=steps / 25)
        .map(|e| 0.5 + 1.5 * (-(e as f64) / 2.0).exp() + 0.01 * e as f64 + 0.02 * rng.next())
        .collect();
    (train, val)
}

#[derive(Debug, PartialEq)]
struct Outcome {
    decisions: Vec<(u64, bool, Option<f64>)>,
    stop: Option<(String, u64)>,
    diagnoses: Vec<(DiagnosisKind, u64, String)>,
    history_json: String,
}

fn new_bus() -> Bus {
    Bus::new().with(EmaPatience::default())
}

/// Runs steps `from..` on `bus`, returning at the stop or after `until`.
fn drive(bus: &mut Bus, c: &(Vec<f64>, Vec<f64>), from: u64, until: u64, out: &mut Outcome) {
    let loss = bus.metric(Split::Train, "loss");
    let val = bus.metric(Split::Valid, "loss");
    for step in from..=until {
        let lr = bus.lr().unwrap_or(0.1);
        let metrics = [(loss, c.0[step as usize - 1])];
        let ev = StepEnd::new(step, &metrics)
            .with_epoch(((step - 1) / 25) as u32)
            .with_lr(lr);
        let d = bus.step_end(&ev).unwrap();
        out.decisions.push((step, d.should_stop(), d.new_lr()));
        if step % 25 == 0 {
            let epoch = ((step - 1) / 25) as u32;
            let metrics = [(val, c.1[(step / 25) as usize - 1])];
            let d = bus.eval_end(&EvalEnd::new(step, epoch, &metrics)).unwrap();
            out.decisions.push((step, d.should_stop(), d.new_lr()));
        }
        if bus.stop_reason().is_some() {
            return;
        }
    }
}

fn finish(bus: &Bus, mut out: Outcome) -> Outcome {
    out.stop = bus.stop_reason().map(|r| (r.message.clone(), r.step));
    out.diagnoses = bus
        .diagnoses()
        .iter()
        .map(|d| (d.kind, d.step, d.message.clone()))
        .collect();
    out.history_json = bus.history().to_json();
    out
}

fn empty() -> Outcome {
    Outcome {
        decisions: Vec::new(),
        stop: None,
        diagnoses: Vec::new(),
        history_json: String::new(),
    }
}

const STEPS: u64 = 600;

fn uninterrupted(c: &(Vec<f64>, Vec<f64>)) -> Outcome {
    let mut bus = new_bus();
    bus.train_begin(&TrainBegin::new()).unwrap();
    let mut out = empty();
    drive(&mut bus, c, 1, STEPS, &mut out);
    finish(&bus, out)
}

fn interrupted(c: &(Vec<f64>, Vec<f64>), at: u64, via_file: bool) -> Outcome {
    let mut out = empty();
    let mut bus = new_bus();
    bus.train_begin(&TrainBegin::new()).unwrap();
    drive(&mut bus, c, 1, at, &mut out);
    if bus.stop_reason().is_some() {
        return finish(&bus, out);
    }
    let checkpoint = if via_file {
        let path = std::env::temp_dir().join(format!("cw-resume-{}-{at}.json", std::process::id()));
        bus.save_checkpoint(&path).unwrap();
        let cp = Checkpoint::load(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        cp
    } else {
        Checkpoint::from_json(&bus.checkpoint().unwrap().to_json()).unwrap()
    };
    drop(bus);
    let mut resumed = new_bus();
    resumed.restore(checkpoint).unwrap();
    resumed.train_begin(&TrainBegin::new().at(at, 0)).unwrap();
    drive(&mut resumed, c, at + 1, STEPS, &mut out);
    finish(&resumed, out)
}

#[test]
fn a_resumed_run_decides_exactly_like_an_uninterrupted_one() {
    let mut rng = Lcg(2024);
    for seed in 1..=6u64 {
        let c = curves(seed, STEPS);
        let reference = uninterrupted(&c);
        assert!(
            reference.stop.is_some(),
            "seed {seed}: the scripted run must stop early"
        );
        assert!(
            reference.decisions.iter().any(|d| d.2.is_some()),
            "seed {seed}: the scripted run must request an LR change"
        );
        let stop_step = reference.stop.as_ref().unwrap().1;
        for round in 0..4 {
            let at = 1 + (rng.next() * (stop_step - 1) as f64) as u64;
            let resumed = interrupted(&c, at, round % 2 == 0);
            assert_eq!(resumed, reference, "seed {seed}, interrupted at step {at}");
        }
    }
}

#[test]
fn restoring_into_a_different_bus_is_refused() {
    let mut bus = new_bus();
    bus.train_begin(&TrainBegin::new()).unwrap();
    let cp = bus.checkpoint().unwrap();
    let err = Bus::new().restore(cp.clone()).unwrap_err().to_string();
    assert!(err.contains("1 callbacks, the bus has 0"), "{err}");
    let text = cp.to_json().replace("\"format\":1", "\"format\":99");
    let err = Checkpoint::from_json(&text).unwrap_err().to_string();
    assert!(err.contains("format 99"), "{err}");
}
