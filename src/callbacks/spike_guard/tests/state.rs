//! Spike guard tests of configuration, state (resume, mismatched windows) and arbitrary input.

use proptest::prelude::*;

use super::{bus_with, feed, guard, noisy};
use crate::callbacks::spike_guard::{SpikeAction, SpikeGuard, SpikeGuardError};
use crate::{Bus, Checkpoint, Split, StepEnd};
use std::num::NonZeroUsize;

#[test]
fn configuration_is_checked() {
    let g = SpikeGuard::loss;
    assert_eq!(g().with_k(0.0).err(), Some(SpikeGuardError::K(0.0)));
    assert!(g().with_k(f64::NAN).is_err());
    assert!(g().with_k(f64::INFINITY).is_err());
    assert_eq!(
        g().with_min_ratio(0.99).err(),
        Some(SpikeGuardError::MinRatio(0.99)),
        "a floor below the level would flag values under it"
    );
    assert!(g().with_min_ratio(f64::NAN).is_err() && g().with_min_ratio(f64::INFINITY).is_err());
    assert!(
        g().with_min_ratio(1.0).is_ok(),
        "1: the z-score alone decides"
    );
    assert_eq!(SpikeAction::cut_lr(1.0), Err(SpikeGuardError::Factor(1.0)));
    assert!(SpikeAction::cut_lr(0.0).is_err() && SpikeAction::cut_lr(f64::NAN).is_err());
    let w = |n| NonZeroUsize::new(n).unwrap();
    assert!(g().with_min_fill(1).is_err(), "a std needs two values");
    assert!(g().with_min_fill(129).is_err(), "more than the window");
    let small = g().with_window(w(10)).unwrap();
    assert_eq!(small.min_fill, 10, "min_fill follows a smaller window down");
    assert!(g().with_window(w(usize::MAX)).is_err());
    let action: SpikeAction = serde_json::from_str(r#"{"cut_lr":0.25}"#).unwrap();
    assert_eq!(action, SpikeAction::cut_lr(0.25).unwrap());
    assert!(
        serde_json::from_str::<SpikeAction>(r#"{"cut_lr":4.0}"#).is_err(),
        "checked on load"
    );
    let msg = g().with_min_fill(200).err().unwrap().to_string();
    assert!(msg.contains("200") && msg.contains("128"), "{msg}");
}

#[test]
fn a_resumed_run_decides_exactly_like_an_uninterrupted_one() {
    let mut values = noisy(7, 300, 2.0, 0.02);
    values[5] = 200.0; // early: judged when step 7 arrives
    values[90] = 5.0;
    values[94] = 5.5; // joins the episode of step 91
    values[150] = f64::NAN;
    values[151] = 4.0;
    values[240] = 6.0;
    let make = || {
        SpikeGuard::loss()
            .with_non_finite_action(SpikeAction::Report)
            .with_spike_action(SpikeAction::cut_lr(0.3).unwrap())
    };
    let (mut full, key) = bus_with(make(), Split::Train, "loss");
    let full_cuts = feed(&mut full, key, &values, Some(1e-3));
    // Cut while an early candidate waits (6), inside an episode (93), around the NaN (151).
    for cut in [6, 10, 91, 93, 151, 200] {
        let (mut half, key) = bus_with(make(), Split::Train, "loss");
        let mut cuts = feed(&mut half, key, &values[..cut], Some(1e-3));
        let json = half.checkpoint().unwrap().to_json();
        let mut resumed = Bus::new();
        resumed.add(make());
        resumed
            .restore(Checkpoint::from_json(&json).unwrap())
            .unwrap();
        let key = resumed.metric(Split::Train, "loss");
        for (i, &v) in values.iter().enumerate().skip(cut) {
            let m = [(key, v)];
            let ev = StepEnd::new(i as u64 + 1, &m).with_lr(1e-3);
            cuts.push(resumed.step_end(&ev).unwrap().new_lr());
        }
        assert_eq!(cuts, full_cuts, "cut at {cut}");
        assert_eq!(
            guard(&resumed).counts(),
            guard(&full).counts(),
            "cut at {cut}"
        );
        assert_eq!(
            guard(&resumed).baseline(),
            guard(&full).baseline(),
            "cut at {cut}"
        );
        assert_eq!(
            serde_json::to_string(resumed.diagnoses()).unwrap(),
            serde_json::to_string(full.diagnoses()).unwrap(),
            "cut at {cut}"
        );
    }
    let c = guard(&full).counts();
    assert_eq!(
        (c.spikes, c.episodes, c.non_finite, c.lr_cuts),
        (5, 4, 1, 4),
        "steps 6, 91 + 95, 152 and 241: four episodes, one cut each"
    );
}

#[test]
fn a_state_for_another_window_is_refused() {
    let (bus, _) = bus_with(SpikeGuard::loss(), Split::Train, "loss");
    let cp = bus.checkpoint().unwrap();
    let mut other = Bus::new();
    other.add(
        SpikeGuard::loss()
            .with_window(NonZeroUsize::new(64).unwrap())
            .unwrap(),
    );
    let err = other.restore(cp).unwrap_err().to_string();
    assert!(err.contains("128") && err.contains("64"), "{err}");
}

fn any_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => 0.0..10.0f64,
        1 => any::<f64>(),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(f64::MAX),
        1 => Just(-f64::MAX),
    ]
}

proptest! {
    #[test]
    fn never_panics_counts_every_value_and_stops_at_the_first_non_finite(
        values in prop::collection::vec(any_value(), 0..300),
        k in 0.5..10.0f64,
        lr in prop_oneof![Just(None), (1e-6..1.0f64).prop_map(Some)],
    ) {
        let g = SpikeGuard::loss()
            .with_k(k).unwrap()
            .with_window(NonZeroUsize::new(16).unwrap()).unwrap()
            .with_min_fill(4).unwrap()
            .with_spike_action(SpikeAction::cut_lr(0.5).unwrap());
        let (mut bus, key) = bus_with(g, Split::Train, "loss");
        feed(&mut bus, key, &values, lr);
        prop_assert!(bus.faults().is_empty(), "{:?}", bus.faults());
        let c = guard(&bus).counts();
        let first_bad = values.iter().position(|v| !v.is_finite());
        prop_assert_eq!(c.non_finite as usize, values.iter().filter(|v| !v.is_finite()).count());
        prop_assert_eq!(bus.stop_reason().map(|s| s.step), first_bad.map(|i| i as u64 + 1));
        prop_assert!(c.spikes as usize + c.non_finite as usize <= values.len());
        prop_assert!(c.episodes <= c.spikes);
        let spike_diagnoses = bus.diagnoses().iter().filter(|d| d.kind == guard(&bus).kind()).count();
        prop_assert_eq!(spike_diagnoses as u64, c.episodes, "one diagnosis per episode");
        // One cut per episode where the learning rate is known, none without it.
        prop_assert_eq!(c.lr_cuts, if lr.is_some() { c.episodes } else { 0 });
    }
}
