//! The adapter against real tch tensors and optimizers: a stop halts the loop, a learning-rate request
//! changes what the optimizer does, and a NaN loss is caught. Needs libtorch (see the crate README).

use std::cell::Cell;
use std::rc::Rc;

use curvewatch::callbacks::spike_guard::SpikeAction;
use curvewatch::callbacks::{Monitor, Preset, ReduceLrOnPlateau, SpikeGuard};
use curvewatch::{Bus, Callback, CallbackResult, Context, DiagnosisKind, Split, StepEnd};
use tch::nn::{self, Init, VarStore};
use tch::{Device, Kind, Tensor};

use curvewatch_tch::{Fit, Task, TchError, TchRun, TrackedOptimizer};

/// Gradient of the toy loss `G * w` with respect to `w`.
const G: f64 = 3.0;

/// One parameter `w` (starting at 1) and the loss `G * w`, whose gradient is `G` whatever `w` is, so
/// plain SGD moves `w` by exactly `-lr * G` per step.
fn one_param() -> (VarStore, Tensor) {
    let vs = VarStore::new(Device::Cpu);
    let w = vs.root().var("w", &[1], Init::Const(1.0));
    (vs, w)
}

fn value(t: &Tensor) -> f64 {
    t.double_value(&[0])
}

fn sgd(vs: &VarStore, lr: f64) -> TrackedOptimizer {
    TrackedOptimizer::build(nn::sgd(0.0, 0.0, 0.0, false), vs, lr).unwrap()
}

/// Asks, at the end of one step, for a learning rate or a stop.
struct Ask {
    at_step: u64,
    lr: Option<f64>,
}

impl Callback for Ask {
    fn name(&self) -> Option<String> {
        Some("ask".into())
    }
    fn on_step_end(&mut self, ctx: &mut Context<'_>, ev: &StepEnd<'_>) -> CallbackResult {
        if ev.step == self.at_step {
            match self.lr {
                Some(lr) => ctx.set_lr(lr),
                None => ctx.stop("test_stop", format!("asked at step {}", ev.step)),
            }
        }
        Ok(())
    }
}

/// `batches` losses `G * w` per epoch (NaN from step `nan_at` on, if set); validation loss
/// `valid[epoch]` (the last value repeated). Counts the calls it gets.
struct Toy {
    w: Tensor,
    batches: usize,
    nan_at: Option<u64>,
    valid: Vec<f64>,
    train_calls: Rc<Cell<u64>>,
    valid_calls: Rc<Cell<u64>>,
}

impl Toy {
    fn new(w: Tensor, batches: usize) -> Self {
        Toy {
            w,
            batches,
            nan_at: None,
            valid: vec![1.0],
            train_calls: Rc::default(),
            valid_calls: Rc::default(),
        }
    }
}

impl Task for Toy {
    fn train_loss(&mut self, _epoch: u32, batch: usize) -> Result<Option<Tensor>, TchError> {
        if batch >= self.batches {
            return Ok(None);
        }
        self.train_calls.set(self.train_calls.get() + 1);
        let loss = (&self.w * G).sum(Kind::Float);
        Ok(Some(match self.nan_at {
            Some(at) if self.train_calls.get() >= at => loss * f64::NAN,
            _ => loss,
        }))
    }

    fn valid_loss(&mut self, epoch: u32) -> Result<Option<Tensor>, TchError> {
        self.valid_calls.set(self.valid_calls.get() + 1);
        let i = (epoch as usize).min(self.valid.len() - 1);
        Ok(Some(Tensor::from(self.valid[i])))
    }
}

#[test]
fn a_stop_request_halts_the_loop_at_that_step() {
    let (vs, w) = one_param();
    let bus = Bus::new().with(Ask {
        at_step: 7,
        lr: None,
    });
    let mut run = TchRun::new(bus, sgd(&vs, 0.1));
    let mut task = Toy::new(w.shallow_clone(), 3);
    let outcome = Fit::new(100).run(&mut run, &mut task).unwrap();

    let stop = outcome.stop.expect("the callback asked to stop");
    assert_eq!((stop.rule.as_ref(), stop.step), ("test_stop", 7));
    assert_eq!(outcome.steps, 7, "no step after the stop");
    assert_eq!(task.train_calls.get(), 7, "no forward pass after the stop");
    assert_eq!(
        outcome.epochs, 2,
        "epochs 0 and 1 (steps 1-6) completed, epoch 2 cut short"
    );
    assert_eq!(
        task.valid_calls.get(),
        2,
        "validation after epochs 0 and 1 only"
    );
    // 7 SGD steps of -0.1 * 3 each, then nothing: w = 1 - 2.1.
    assert!(
        (value(&w) - (1.0 - 7.0 * 0.3)).abs() < 1e-6,
        "w = {}",
        value(&w)
    );
}

#[test]
fn the_standard_preset_stops_on_a_rising_validation_loss() {
    let (vs, w) = one_param();
    let mut run = TchRun::with_preset(Preset::standard().with_patience(3), sgd(&vs, 0.01));
    let mut task = Toy::new(w, 4);
    // Best at epoch 1; epochs 2, 3, 4 are worse: patience 3 runs out at epoch 4's evaluation.
    task.valid = vec![1.0, 0.8, 0.9, 1.0, 1.1, 1.2];
    let outcome = Fit::new(50).run(&mut run, &mut task).unwrap();

    let stop = outcome.stop.expect("early stopping fires");
    assert_eq!(stop.rule, "patience_exhausted", "{stop}");
    assert_eq!((stop.epoch, stop.step), (4, 20), "{stop}");
    assert_eq!(
        task.train_calls.get(),
        20,
        "5 epochs of 4 batches, then nothing"
    );
    assert_eq!(task.valid_calls.get(), 5);
    assert_eq!(outcome.last_valid_loss, Some(1.1));
}

#[test]
fn an_lr_request_changes_the_sgd_update() {
    let (vs, w) = one_param();
    let bus = Bus::new().with(Ask {
        at_step: 2,
        lr: Some(0.01),
    });
    let mut run = TchRun::new(bus, sgd(&vs, 0.1));
    let mut deltas = Vec::new();
    for _ in 0..4 {
        let before = value(&w);
        let loss = (&w * G).sum(Kind::Float);
        let d = run.train_step(&loss).unwrap();
        deltas.push((value(&w) - before, d.new_lr()));
    }
    let cases = [
        (-0.1 * G, None, "step 1 at the initial rate 0.1"),
        (
            -0.1 * G,
            Some(0.01),
            "step 2 still at 0.1; its decision asks for 0.01",
        ),
        (
            -0.01 * G,
            None,
            "step 3 moves w by 0.01 * grad: the optimizer's rate changed",
        ),
        (-0.01 * G, None, "step 4 keeps the new rate"),
    ];
    for ((delta, asked), (want, want_asked, why)) in deltas.iter().zip(cases) {
        assert!((delta - want).abs() < 1e-6, "{why}: moved by {delta}");
        assert_eq!(*asked, want_asked, "{why}");
    }
    assert_eq!(run.optimizer().lr(), 0.01);
    let lr = run.bus().history().series(run.bus().lr_key()).unwrap();
    assert_eq!(
        lr.values(),
        &[0.1, 0.1, 0.01, 0.01],
        "train/lr records the rate of each step"
    );
}

#[test]
fn reduce_lr_on_plateau_halves_the_rate_through_the_loop() {
    let (vs, w) = one_param();
    let plateau = ReduceLrOnPlateau::new(Monitor::new(Split::Valid, "loss"), 0.5)
        .unwrap()
        .with_patience(1);
    let mut run = TchRun::new(Bus::new().with(plateau), sgd(&vs, 0.2));
    let mut task = Toy::new(w.shallow_clone(), 1);
    task.valid = vec![1.0]; // flat: no improvement after epoch 0
    Fit::new(4).run(&mut run, &mut task).unwrap();
    let lr = run.bus().history().series(run.bus().lr_key()).unwrap();
    let rates = lr.values().to_vec();
    // One step per epoch. Epoch 0 sets the best; each later evaluation without improvement exhausts
    // patience 1 and halves the rate, which the optimizer uses from the next step on.
    assert_eq!(rates, [0.2, 0.2, 0.1, 0.05], "rate of each step");
    assert_eq!(
        run.optimizer().lr(),
        0.025,
        "halved again after the last evaluation"
    );
    // w moved by exactly sum(rate) * G: each step used the rate the optimizer reported.
    let moved: f64 = rates.iter().map(|r| r * G).sum();
    assert!(
        (value(&w) - (1.0 - moved)).abs() < 1e-6,
        "w = {}",
        value(&w)
    );
}

#[test]
fn a_request_rescales_the_schedule_instead_of_being_overwritten() {
    let (vs, w) = one_param();
    let bus = Bus::new().with(Ask {
        at_step: 2,
        lr: Some(0.05),
    });
    let mut run = TchRun::new(bus, sgd(&vs, 0.0));
    let mut task = Toy::new(w, 1);
    // Scheduled 0.1 per step; the request at step 2 halves it from step 3 on.
    Fit::new(4)
        .with_schedule(|_| 0.1)
        .run(&mut run, &mut task)
        .unwrap();
    let lr = run.bus().history().series(run.bus().lr_key()).unwrap();
    assert_eq!(lr.values(), &[0.1, 0.1, 0.05, 0.05]);
}

#[test]
fn a_nan_loss_stops_the_run_without_touching_the_parameters() {
    let (vs, w) = one_param();
    let mut run = TchRun::with_preset(Preset::standard(), sgd(&vs, 0.1));
    let mut task = Toy::new(w.shallow_clone(), 4);
    task.nan_at = Some(6);
    let outcome = Fit::new(10).run(&mut run, &mut task).unwrap();

    let stop = outcome.stop.expect("a NaN loss stops the standard preset");
    assert_eq!((stop.rule.as_ref(), stop.step), ("non_finite", 6), "{stop}");
    assert!(
        stop.message.to_lowercase().contains("nan"),
        "{}",
        stop.message
    );
    assert_eq!(task.train_calls.get(), 6, "the loop ends at the NaN step");
    assert!(outcome.last_loss.is_nan());
    // Five finite steps moved w; the NaN step was not back-propagated.
    assert!(
        (value(&w) - (1.0 - 5.0 * 0.3)).abs() < 1e-6,
        "w = {}",
        value(&w)
    );
    let kinds: Vec<_> = run.bus().diagnoses().iter().map(|d| d.kind).collect();
    assert!(kinds.contains(&DiagnosisKind::NonFinite), "{kinds:?}");
}

#[test]
fn with_a_report_policy_a_nan_loss_is_reported_and_training_goes_on() {
    let (vs, w) = one_param();
    let guard = SpikeGuard::loss().with_non_finite_action(SpikeAction::Report);
    let mut run = TchRun::new(Bus::new().with(guard), sgd(&vs, 0.1));
    let mut task = Toy::new(w.shallow_clone(), 4);
    task.nan_at = Some(3);
    let outcome = Fit::new(2).run(&mut run, &mut task).unwrap();

    assert_eq!(outcome.stop, None, "reported, not stopped");
    assert_eq!(outcome.steps, 8, "both epochs ran");
    assert!(
        (value(&w) - (1.0 - 2.0 * 0.3)).abs() < 1e-6,
        "only the 2 finite steps moved w"
    );
    let non_finite = run
        .bus()
        .diagnoses()
        .iter()
        .filter(|d| d.kind == DiagnosisKind::NonFinite);
    assert_eq!(
        non_finite.count(),
        1,
        "one episode of consecutive NaNs, reported once"
    );
    let epoch_loss = run.bus().history().series(run.epoch_loss_key()).unwrap();
    // Epoch 0's finite losses: 3 * 1.0 and 3 * 0.7 (after one step of 0.3); epoch 1 had none.
    let means = epoch_loss.values();
    assert_eq!(
        means.len(),
        1,
        "no epoch_loss for an epoch without a finite loss: {means:?}"
    );
    assert!((means[0] - 2.55).abs() < 1e-6, "mean {}", means[0]);
}
