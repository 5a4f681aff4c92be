//! [`CurvewatchHandle`]: the one bus shared by every piece of the Burn adapter.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use burn::optim::lr_scheduler::LrScheduler;
use burn::train::Interrupter;
use curvewatch::{Bus, BusError, StopReason};

use crate::early_stopping::CurvewatchEarlyStopping;
use crate::logger::CurvewatchLogger;
use crate::scheduler::CurvewatchLrScheduler;
use crate::session::Session;

/// A cheap, cloneable handle on one curvewatch [`Bus`], shared between Burn's metric logger, the
/// interrupter, the early-stopping bridge and the learning-rate scheduler wrapper.
///
/// Burn's `SupervisedTraining` runs these pieces on different threads: metrics reach the logger on
/// Burn's event-store thread, the scheduler and the early-stopping strategy run on the training
/// thread. The handle keeps the bus behind one mutex:
///
/// - the **logger** holds the lock while it turns one Burn metrics update into one bus event
///   (recording plus the callbacks, a few microseconds);
/// - the **early-stopping bridge** holds it once per epoch, to read the stop request;
/// - the **caller** holds it inside [`with_bus`](Self::with_bus);
/// - the **scheduler wrapper** and the interrupter never take it: learning-rate requests travel
///   through an atomic, so the training thread never waits on the bus for an optimizer step.
///
/// Use one handle per training run: the handle counts steps and epochs, and sends `TrainBegin` and
/// `TrainEnd` once.
///
/// Do not call [`with_bus`](Self::with_bus) from inside a curvewatch callback: the lock is not
/// re-entrant and the call would wait forever. A poisoned lock (a panic while it was held, outside
/// the bus's own panic isolation) is recovered: the bus is used as it was left, and a warning is
/// logged once through `tracing` (target `curvewatch_burn`).
///
/// ```
/// use curvewatch::Bus;
/// use curvewatch_burn::CurvewatchHandle;
///
/// let handle = CurvewatchHandle::new(Bus::new()).with_max_epochs(10);
/// let clone = handle.clone(); // what Burn's components hold
/// assert_eq!(clone.with_bus(|bus| bus.history().len()), handle.with_bus(|bus| bus.history().len()));
/// drop(clone);
/// let bus = handle.into_bus().expect("no other clone is left");
/// assert!(bus.stop_reason().is_none());
/// ```
#[derive(Clone)]
pub struct CurvewatchHandle {
    pub(crate) shared: Arc<Shared>,
}

/// State shared by every clone of a handle.
pub(crate) struct Shared {
    session: Mutex<Session>,
    pub(crate) lr: LrChannel,
    poison_reported: AtomicBool,
}

/// Learning-rate requests from the control to the scheduler wrapper, without a lock.
pub(crate) struct LrChannel {
    /// The requested rate as `f64` bits; [`NO_REQUEST`] when none is pending.
    requested: AtomicU64,
    /// Whether a scheduler wrapper was made (so that a request nobody applies can be reported).
    pub(crate) wrapped: AtomicBool,
}

/// The bits of a NaN that no valid request can take (requests are finite).
const NO_REQUEST: u64 = f64::NAN.to_bits();

impl LrChannel {
    fn new() -> Self {
        LrChannel {
            requested: AtomicU64::new(NO_REQUEST),
            wrapped: AtomicBool::new(false),
        }
    }

    /// Posts a request; a later request replaces one not yet applied.
    pub(crate) fn request(&self, lr: f64) {
        if lr.is_finite() && lr >= 0.0 {
            self.requested.store(lr.to_bits(), Ordering::Release);
        }
    }

    /// Takes the pending request, if any.
    pub(crate) fn take(&self) -> Option<f64> {
        let bits = self.requested.swap(NO_REQUEST, Ordering::AcqRel);
        (bits != NO_REQUEST).then(|| f64::from_bits(bits))
    }
}

impl CurvewatchHandle {
    /// Wraps `bus` (with its callbacks already installed) for use by Burn's components.
    pub fn new(bus: Bus) -> Self {
        CurvewatchHandle {
            shared: Arc::new(Shared {
                session: Mutex::new(Session::new(bus)),
                lr: LrChannel::new(),
                poison_reported: AtomicBool::new(false),
            }),
        }
    }

    /// Records the planned number of epochs, sent to the callbacks in `TrainBegin` (Burn does not
    /// tell its loggers; pass the same number as to `SupervisedTraining::num_epochs`).
    pub fn with_max_epochs(self, epochs: u32) -> Self {
        self.lock().max_epochs = Some(epochs);
        self
    }

    /// Runs `f` on the bus under the lock and returns its result: read the history, the diagnoses,
    /// the stop reason, or add callbacks before training starts.
    pub fn with_bus<R>(&self, f: impl FnOnce(&mut Bus) -> R) -> R {
        f(&mut self.lock().bus)
    }

    /// The stop asked by a callback so far, if any (a copy).
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.lock().bus.stop_reason().cloned()
    }

    /// The first error the bus returned while Burn was training (only with
    /// [`FaultPolicy::Propagate`](curvewatch::FaultPolicy::Propagate)); taking it clears it. Such an
    /// error also stops training through the interrupter, since Burn's logger cannot return it.
    pub fn take_error(&self) -> Option<BusError> {
        self.lock().error.take()
    }

    /// Sends `TrainEnd` if training began and it was not sent yet; later calls do nothing.
    ///
    /// The Learner extension calls this when Burn drops its logger, before `launch` returns, so a
    /// caller rarely needs it.
    pub fn finish(&self) {
        self.lock().finish();
    }

    /// The bus back, once every other clone of this handle is gone (after `launch` returns, Burn has
    /// dropped its own). Sends `TrainEnd` first if it was not sent. Returns the handle unchanged if
    /// other clones are still alive.
    pub fn into_bus(self) -> Result<Bus, CurvewatchHandle> {
        self.finish();
        match Arc::try_unwrap(self.shared) {
            Ok(shared) => {
                let session = shared
                    .session
                    .into_inner()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                Ok(session.bus)
            }
            Err(shared) => Err(CurvewatchHandle { shared }),
        }
    }

    /// A Burn metric logger that feeds this bus (what
    /// [`with_curvewatch`](crate::CurvewatchLearnerExt::with_curvewatch) registers).
    pub fn metric_logger(&self) -> CurvewatchLogger {
        CurvewatchLogger::new(self.clone())
    }

    /// A Burn early-stopping strategy that ends training after the epoch at which a callback asked
    /// to stop.
    pub fn early_stopping(&self) -> CurvewatchEarlyStopping {
        CurvewatchEarlyStopping::new(self.clone())
    }

    /// Wraps a Burn learning-rate scheduler so that learning-rate requests from the callbacks (e.g.
    /// `ReduceLrOnPlateau`) reach the optimizer. Pass the result to `Learner::new`.
    pub fn lr_scheduler<S: LrScheduler + Clone + 'static>(
        &self,
        inner: S,
    ) -> CurvewatchLrScheduler<S> {
        self.shared.lr.wrapped.store(true, Ordering::Relaxed);
        CurvewatchLrScheduler::new(inner, self.clone())
    }

    /// Makes `interrupter` stop training whenever a callback asks to stop (it is added to those
    /// already attached).
    pub fn attach_interrupter(&self, interrupter: Interrupter) {
        let mut session = self.lock();
        if let Some(reason) = session.bus.stop_reason() {
            interrupter.stop(Some(&reason.to_string()));
        }
        session.interrupters.push(interrupter);
    }

    /// Locks the session, recovering a poisoned lock.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Session> {
        match self.shared.session.lock() {
            Ok(guard) => guard,
            Err(poisoned) => {
                if !self.shared.poison_reported.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        target: "curvewatch_burn",
                        "the curvewatch bus lock was poisoned by a panic; going on with the bus as it was left"
                    );
                }
                poisoned.into_inner()
            }
        }
    }
}

impl std::fmt::Debug for CurvewatchHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CurvewatchHandle")
            .field("clones", &Arc::strong_count(&self.shared))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lr_channel_keeps_the_last_valid_request_once() {
        let ch = LrChannel::new();
        assert_eq!(ch.take(), None, "nothing asked yet");
        ch.request(0.1);
        ch.request(0.05);
        assert_eq!(
            ch.take(),
            Some(0.05),
            "the later request replaces the earlier"
        );
        assert_eq!(ch.take(), None, "a request is taken once");
        ch.request(f64::NAN);
        ch.request(-1.0);
        assert_eq!(ch.take(), None, "NaN and negative rates are not requests");
        ch.request(0.0);
        assert_eq!(ch.take(), Some(0.0), "zero is a valid rate");
    }

    #[test]
    fn into_bus_waits_for_the_last_clone() {
        let handle = CurvewatchHandle::new(Bus::new());
        let other = handle.clone();
        let handle = match handle.into_bus() {
            Ok(_) => panic!("a clone is alive, the bus cannot be taken"),
            Err(h) => h,
        };
        drop(other);
        assert!(
            handle.into_bus().is_ok(),
            "the last clone gives the bus back"
        );
    }

    #[test]
    fn a_poisoned_lock_is_recovered() {
        let handle = CurvewatchHandle::new(Bus::new());
        let clone = handle.clone();
        let joined = std::thread::spawn(move || {
            let _guard = clone.lock();
            panic!("poison the lock on purpose");
        })
        .join();
        assert!(
            joined.is_err(),
            "the thread panicked while holding the lock"
        );
        assert!(handle.shared.session.is_poisoned());
        assert_eq!(
            handle.with_bus(|b| b.history().len()),
            1,
            "train/lr is still there"
        );
    }
}
