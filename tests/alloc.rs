//! The per-step path allocates nothing once the history has room (amortised growth aside).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use curvewatch::{Bus, Callback, CallbackResult, Context, Split, StepEnd, TrainBegin};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Reads the history and the context on every step, as real callbacks do.
struct Reader {
    seen: f64,
}

impl Callback for Reader {
    fn on_step_end(&mut self, ctx: &mut Context<'_>, ev: &StepEnd<'_>) -> CallbackResult {
        let key = ctx.key(Split::Train, "loss");
        self.seen += ev.metric(key).unwrap_or(0.0);
        self.seen += ctx
            .history()
            .series(key)
            .and_then(|s| s.last())
            .unwrap_or(0.0);
        Ok(())
    }
}

#[test]
fn steps_allocate_nothing_after_warm_up() {
    let mut bus = Bus::new().with(Reader { seen: 0.0 });
    let names = ["loss", "grad_norm", "acc", "tokens_per_s"];
    let mut metrics: Vec<_> = names
        .iter()
        .map(|n| (bus.metric(Split::Train, n), 0.0))
        .collect();
    let steps = 200_000u64;
    bus.train_begin(&TrainBegin::new()).unwrap();
    for step in 1..=1000u64 {
        metrics.iter_mut().for_each(|m| m.1 = 1.0 / step as f64);
        bus.step_end(&StepEnd::new(step, &metrics).with_lr(1e-3))
            .unwrap();
    }
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for step in 1001..=steps {
        metrics.iter_mut().for_each(|m| m.1 = 1.0 / step as f64);
        let d = bus
            .step_end(&StepEnd::new(step, &metrics).with_lr(1e-3))
            .unwrap();
        assert!(!d.should_stop());
    }
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - before;
    // Five series (4 metrics + lr) of three columns each, doubling from 1000 to 200,000 points:
    // at most 8 doublings per column. Anything per step would be ~199,000.
    assert!(
        allocations <= 5 * 3 * 9,
        "{allocations} allocations in {} steps",
        steps - 1000
    );
    assert_eq!(
        bus.history().get(Split::Train, "lr").unwrap().len(),
        steps as usize
    );
}
