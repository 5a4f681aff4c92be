//! Scenario tests for the fit detectors (overfitting, underfitting): scripted curves driven through
//! a real `Bus`, noise robustness over many seeds, resume equivalence, and property tests.

// The crate root of an integration test looks for modules beside it in tests/; keep them in a
// folder of their own so that cargo does not build each as a test target.
#[path = "fit_detectors/common.rs"]
mod common;
#[path = "fit_detectors/overfitting.rs"]
mod overfitting;
#[path = "fit_detectors/underfitting.rs"]
mod underfitting;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::num::NonZeroU64;

use curvewatch::callbacks::overfitting::OverfittingDetector;
use curvewatch::callbacks::underfitting::{Cadence, UnderfittingDetector};
use curvewatch::{Bus, Checkpoint, EvalEnd, Split, StepEnd, TrainBegin};

use common::{overfitting, underfitting};

#[test]
fn a_checkpoint_in_the_middle_of_an_epoch_keeps_the_running_means() {
    // Steps 1..=10 then an evaluation; a checkpoint after step `cut` must not lose the partial
    // sums.
    fn go(cut: Option<u64>) -> (Option<f64>, Option<f64>, u64) {
        let make = || {
            Bus::new()
                .with(OverfittingDetector::new())
                .with(UnderfittingDetector::new().with_cadence(Cadence::Eval))
        };
        let mut bus = make();
        for epoch in 0..3u32 {
            for i in 1..=10u64 {
                let step = u64::from(epoch) * 10 + i;
                if cut == Some(step) {
                    let json = bus.checkpoint().unwrap().to_json();
                    bus = make();
                    bus.restore(Checkpoint::from_json(&json).unwrap()).unwrap();
                }
                let t = bus.metric(Split::Train, "loss");
                let x = 1.0 / step as f64 + 0.01 * i as f64;
                bus.step_end(&StepEnd::new(step, &[(t, x)]).with_epoch(epoch))
                    .unwrap();
            }
            let v = bus.metric(Split::Valid, "loss");
            bus.eval_end(&EvalEnd::new(u64::from(epoch + 1) * 10, epoch, &[(v, 0.5)]))
                .unwrap();
        }
        let over = overfitting(&bus);
        let under = underfitting(&bus);
        (over.gap(), under.initial_value(), under.points())
    }
    let reference = go(None);
    assert_eq!(reference.1, Some(1.01), "the first step: 1/1 + 0.01");
    for cut in [1, 4, 11, 17, 25] {
        assert_eq!(go(Some(cut)), reference, "checkpoint before step {cut}");
    }
}

thread_local! {
    /// Allocations made by the current thread (tests run on parallel threads).
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

struct Counting;

fn count() {
    // `try_with`: the thread-local may be gone while a thread shuts down.
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn steps_and_quiet_evaluations_allocate_nothing() {
    let every_1000 = Cadence::Steps(NonZeroU64::new(1000).unwrap());
    let mut bus = Bus::new()
        .with(OverfittingDetector::new())
        .with(UnderfittingDetector::new().with_cadence(every_1000));
    let t = bus.metric(Split::Train, "loss");
    let v = bus.metric(Split::Valid, "loss");
    bus.reserve_points(120_000);
    bus.train_begin(&TrainBegin::new()).unwrap();
    // A healthy run (falling linearly from 3 to 0.5, constant gap): the detectors judge at every
    // evaluation and every 1000 steps but have nothing to report, so nothing is allocated once
    // their windows are full.
    let run = |from: u64, to: u64, bus: &mut Bus| {
        for step in from..=to {
            let loss = 3.0 - 2.5 * step as f64 / 100_000.0;
            bus.step_end(&StepEnd::new(step, &[(t, loss)])).unwrap();
            if step % 500 == 0 {
                let epoch = (step / 500) as u32;
                bus.eval_end(&EvalEnd::new(step, epoch, &[(v, loss + 0.05)]))
                    .unwrap();
            }
        }
    };
    run(1, 10_000, &mut bus);
    let before = ALLOCATIONS.with(Cell::get);
    run(10_001, 100_000, &mut bus);
    let allocated = ALLOCATIONS.with(Cell::get) - before;
    assert_eq!(allocated, 0, "90,000 steps, 180 evaluations, 90 points");
    let probe = ALLOCATIONS.with(Cell::get);
    drop(std::hint::black_box(vec![1u8; 8]));
    assert_eq!(ALLOCATIONS.with(Cell::get), probe + 1, "the counter counts");
    assert!(bus.diagnoses().is_empty(), "{:?}", bus.diagnoses());
}
