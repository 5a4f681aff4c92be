//! [`CurvewatchEarlyStopping`]: Burn's epoch-level stop check, answered by the bus.

use burn::train::metric::store::{Aggregate, EventStoreClient, Split};
use burn::train::EarlyStoppingStrategy;

use crate::handle::CurvewatchHandle;
use crate::logger::BARRIER_NAME;

/// A Burn [`EarlyStoppingStrategy`] that says stop once a curvewatch callback has asked to.
///
/// Burn consults it on the training thread after each epoch's validation, while the bus is fed on
/// Burn's event-store thread. Before it reads the bus, it asks the event store for a metric nobody
/// logs: the store answers requests in order, so the answer comes after every update of the epoch
/// has reached the bus, and a stop asked at the epoch's `EvalEnd` or `EpochEnd` ends training at
/// that epoch, every time. When it says stop it also stops the attached interrupters, so Burn's
/// `LearningResult::interrupted` carries curvewatch's reason.
#[derive(Clone, Debug)]
pub struct CurvewatchEarlyStopping {
    handle: CurvewatchHandle,
}

impl CurvewatchEarlyStopping {
    /// The strategy for the handle's bus.
    pub fn new(handle: CurvewatchHandle) -> Self {
        CurvewatchEarlyStopping { handle }
    }
}

impl EarlyStoppingStrategy for CurvewatchEarlyStopping {
    fn should_stop(&mut self, epoch: usize, store: &EventStoreClient) -> bool {
        // The answer is always `None`; what matters is that it comes after the epoch's updates.
        let _ = store.find_metric(BARRIER_NAME, epoch, Aggregate::Mean, &Split::Valid);
        let session = self.handle.lock();
        let stop = session.bus.stop_reason().is_some() || session.error.is_some();
        if stop {
            session.interrupt();
        }
        stop
    }
}
