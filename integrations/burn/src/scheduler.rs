//! [`CurvewatchLrScheduler`]: lets the callbacks' learning-rate requests reach Burn's optimizer.

use burn::optim::lr_scheduler::{LrScheduler, LrSchedulerRecord};
use burn::optim::LearningRate;

use crate::handle::CurvewatchHandle;

/// A Burn [`LrScheduler`] around the user's, which applies the learning rates that curvewatch
/// callbacks ask for (e.g. `ReduceLrOnPlateau`, a spike guard that cuts the rate).
///
/// Make it with [`CurvewatchHandle::lr_scheduler`]. A request of rate `r` made while the wrapped
/// schedule gave `b` scales the schedule by `r / b` from the next optimizer step on: a constant
/// schedule then gives exactly `r`, and a decaying one keeps its shape at the new level. Each later
/// request replaces the scale. If the schedule gives 0 or a non-finite rate when a request arrives,
/// the request is used as a fixed rate until the next one.
///
/// `step` runs on the training thread once per optimizer step and takes no lock (requests arrive
/// through an atomic). The record is the wrapped scheduler's; the scale is not saved in it.
#[derive(Clone)]
pub struct CurvewatchLrScheduler<S> {
    inner: S,
    handle: CurvewatchHandle,
    adjust: Adjust,
    last_base: Option<f64>,
}

/// How a request changes the wrapped schedule.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Adjust {
    None,
    Scale(f64),
    Fixed(f64),
}

impl<S: LrScheduler + Clone + 'static> CurvewatchLrScheduler<S> {
    pub(crate) fn new(inner: S, handle: CurvewatchHandle) -> Self {
        CurvewatchLrScheduler {
            inner,
            handle,
            adjust: Adjust::None,
            last_base: None,
        }
    }

    /// The wrapped scheduler.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

/// The adjustment after a request of `requested` when the schedule last gave `base`.
fn adjust_for(requested: f64, base: Option<f64>) -> Adjust {
    match base {
        Some(b) if b.is_finite() && b > 0.0 => Adjust::Scale(requested / b),
        _ => Adjust::Fixed(requested),
    }
}

/// The rate for one step: the schedule's `base`, adjusted.
fn apply(adjust: Adjust, base: f64) -> f64 {
    match adjust {
        Adjust::None => base,
        Adjust::Scale(s) => base * s,
        Adjust::Fixed(r) => r,
    }
}

impl<S: LrScheduler + Clone + 'static> LrScheduler for CurvewatchLrScheduler<S> {
    fn step(&mut self) -> LearningRate {
        if let Some(requested) = self.handle.shared.lr.take() {
            self.adjust = adjust_for(requested, self.last_base);
        }
        let base = self.inner.step();
        self.last_base = Some(base);
        apply(self.adjust, base)
    }

    fn to_record(&self) -> LrSchedulerRecord {
        self.inner.to_record()
    }

    fn load_record(&mut self, record: LrSchedulerRecord) {
        self.inner.load_record(record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curvewatch::Bus;

    #[test]
    fn requests_rescale_the_schedule() {
        let cases: &[(f64, Option<f64>, f64, f64, &str)] = &[
            (
                0.01,
                Some(0.1),
                0.1,
                0.01,
                "constant schedule: exactly the request",
            ),
            (
                0.01,
                Some(0.1),
                0.05,
                0.005,
                "decaying schedule keeps its shape, scaled by 0.1",
            ),
            (
                0.02,
                Some(0.0),
                0.0,
                0.02,
                "a zero schedule takes the request as a fixed rate",
            ),
            (0.02, None, 0.3, 0.02, "no step yet: fixed rate"),
            (
                0.02,
                Some(f64::NAN),
                0.3,
                0.02,
                "a NaN schedule: fixed rate",
            ),
        ];
        for (req, last, next_base, want, why) in cases {
            let got = apply(adjust_for(*req, *last), *next_base);
            assert!((got - want).abs() < 1e-15, "{why}: got {got}, want {want}");
        }
    }

    #[test]
    fn a_request_applies_from_the_next_step() {
        let handle = CurvewatchHandle::new(Bus::new());
        let mut s = handle.lr_scheduler(0.1);
        assert_eq!(s.step(), 0.1);
        handle.shared.lr.request(0.025);
        assert_eq!(s.step(), 0.025, "the step after the request");
        assert_eq!(s.step(), 0.025, "and the steps after it");
        handle.shared.lr.request(0.2);
        assert_eq!(s.step(), 0.2, "a later request replaces the scale");
    }
}
