//! [`CurvewatchLearnerExt`]: one call attaches curvewatch to Burn's `SupervisedTraining`.

use burn::train::{LearnerModel, SupervisedTraining};

use crate::handle::CurvewatchHandle;
use crate::step_metric::StepInfoMetric;

/// Attaches curvewatch to Burn's `SupervisedTraining` in one call.
pub trait CurvewatchLearnerExt: Sized {
    /// Registers what curvewatch needs, all sharing `handle`'s bus:
    ///
    /// - a [`CurvewatchLogger`](crate::CurvewatchLogger): every numeric train and valid metric, per
    ///   batch and per epoch, becomes bus events (names lower-cased: `Loss` → `loss`);
    /// - a [`StepInfoMetric`]: the learning rate the optimizer used at each batch (`train/lr`) and
    ///   the epoch fraction;
    /// - the builder's `Interrupter`, attached to the bus: a stop asked by any callback halts
    ///   training at Burn's next per-batch check;
    /// - a [`CurvewatchEarlyStopping`](crate::CurvewatchEarlyStopping): a stop asked during an epoch's
    ///   validation or end ends training at that epoch, deterministically.
    ///
    /// The logger replaces Burn's default file logger, and the early-stopping strategy replaces one
    /// set earlier with `.early_stopping(..)` (put a Burn strategy in a curvewatch callback instead).
    /// For learning-rate requests to reach the optimizer, build the `Learner` with
    /// [`CurvewatchHandle::lr_scheduler`]. After `launch`, read the results through the handle
    /// ([`CurvewatchHandle::into_bus`], [`CurvewatchHandle::stop_reason`]).
    fn with_curvewatch(self, handle: &CurvewatchHandle) -> Self;
}

impl<M: LearnerModel> CurvewatchLearnerExt for SupervisedTraining<M> {
    fn with_curvewatch(self, handle: &CurvewatchHandle) -> Self {
        handle.attach_interrupter(self.interrupter());
        self.with_metric_logger(handle.metric_logger())
            .metric_train(StepInfoMetric::new())
            .early_stopping(handle.early_stopping())
    }
}
