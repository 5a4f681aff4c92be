//! [`CurvewatchLogger`]: Burn's metric logger that feeds the bus.

use burn::train::logger::{InMemoryMetricLogger, MetricLogger};
use burn::train::metric::store::{EpochSummary, MetricsUpdate, Split as BurnSplit};
use burn::train::metric::{MetricDefinition, MetricId, NumericEntry};
use curvewatch::{MetricKey, Split};

use crate::handle::CurvewatchHandle;
use crate::names::curvewatch_name;
use crate::session::{Session, TrainBatch};
use crate::step_metric::{decode, StepInfo, STEP_METRIC_NAME};

/// The metric name the early-stopping bridge asks Burn's event store for, so that its answer comes
/// after every update sent before it (the store serves requests in order). No metric has it.
pub(crate) const BARRIER_NAME: &str = "curvewatch sync barrier";

/// A Burn [`MetricLogger`] that turns Burn's metric updates into bus events (see the crate docs for
/// the mapping), and keeps a copy of every entry in memory so that Burn's own metric-based early
/// stopping and checkpointing can read them back.
///
/// Registering a logger replaces Burn's default file logger; add
/// `.with_metric_logger(FileMetricLogger::new(dir))` to keep Burn's metric files as well.
///
/// Runs on Burn's event-store thread; takes the handle's lock once per update.
pub struct CurvewatchLogger {
    handle: CurvewatchHandle,
    memory: InMemoryMetricLogger,
    slots: Vec<Slot>,
    step_metric: Option<MetricId>,
    values: Vec<(MetricKey, f64)>,
}

/// A Burn metric and its bus keys, resolved on first use per use.
struct Slot {
    id: MetricId,
    name: String,
    /// Burn's own learning-rate metric: the rate is recorded from the step metric instead.
    is_lr: bool,
    /// Keys for: training batches, the training epoch value, validation, validation batches.
    keys: [Option<MetricKey>; 4],
}

#[derive(Clone, Copy)]
enum Use {
    TrainBatch = 0,
    TrainEpoch = 1,
    Valid = 2,
    ValidBatch = 3,
}

impl CurvewatchLogger {
    /// A logger feeding the handle's bus.
    pub fn new(handle: CurvewatchHandle) -> Self {
        CurvewatchLogger {
            handle,
            memory: InMemoryMetricLogger::new(),
            slots: Vec::new(),
            step_metric: None,
            values: Vec::new(),
        }
    }

    /// What the step metric says about this update, if it is registered.
    fn step_info(&self, update: &MetricsUpdate) -> Option<StepInfo> {
        let id = self.step_metric.as_ref()?;
        update
            .entries
            .iter()
            .find(|e| &e.metric_id == id)
            .and_then(|e| decode(&e.serialized_entry.serialized))
    }

    fn log_train(&mut self, update: &MetricsUpdate, epoch: usize) {
        let info = self.step_info(update);
        let epoch_end = match info {
            Some(StepInfo::EpochEnd) => true,
            Some(StepInfo::Batch { .. }) => false,
            None => has_final(update),
        };
        let mut session = self.handle.lock();
        if epoch_end {
            collect(
                &mut self.slots,
                &mut self.values,
                &mut session,
                update,
                Use::TrainEpoch,
            );
            session.train_epoch_values(epoch, &self.values);
            return;
        }
        collect(
            &mut self.slots,
            &mut self.values,
            &mut session,
            update,
            Use::TrainBatch,
        );
        let (lr, fraction) = match info {
            Some(StepInfo::Batch { lr, fraction }) => (lr, fraction),
            _ => (None, None),
        };
        let batch = TrainBatch {
            burn_epoch: epoch,
            metrics: &self.values,
            lr,
            fraction,
        };
        session.train_batch(&batch, &self.handle.shared.lr);
    }

    fn log_valid(&mut self, update: &MetricsUpdate, epoch: usize) {
        let mut session = self.handle.lock();
        if has_final(update) {
            collect(
                &mut self.slots,
                &mut self.values,
                &mut session,
                update,
                Use::Valid,
            );
            session.valid_epoch_values(epoch, &self.values, &self.handle.shared.lr);
        } else {
            collect(
                &mut self.slots,
                &mut self.values,
                &mut session,
                update,
                Use::ValidBatch,
            );
            session.valid_batch(epoch, &self.values);
        }
    }
}

/// Collects the numeric values of `update` for `usage` into `values`, resolving bus keys on first use.
fn collect(
    slots: &mut [Slot],
    values: &mut Vec<(MetricKey, f64)>,
    session: &mut Session,
    update: &MetricsUpdate,
    usage: Use,
) {
    values.clear();
    for n in &update.entries_numeric {
        let Some(entry) = &n.numeric_entry else {
            continue;
        };
        let Some(slot) = slots.iter_mut().find(|s| s.id == n.entry.metric_id) else {
            continue;
        };
        if slot.is_lr {
            continue;
        }
        let key = *slot.keys[usage as usize].get_or_insert_with(|| {
            let (split, name) = match usage {
                Use::TrainBatch => (Split::Train, slot.name.clone()),
                Use::TrainEpoch => (Split::Train, format!("epoch_{}", slot.name)),
                Use::Valid => (Split::Valid, slot.name.clone()),
                Use::ValidBatch => (Split::Valid, format!("batch_{}", slot.name)),
            };
            session.bus.metric(split, &name)
        });
        values.push((key, entry.current()));
    }
}

/// Whether any numeric entry of `update` is an epoch's final value.
fn has_final(update: &MetricsUpdate) -> bool {
    update
        .entries_numeric
        .iter()
        .any(|n| matches!(n.numeric_entry, Some(NumericEntry::Final(_))))
}

impl MetricLogger for CurvewatchLogger {
    fn log(&mut self, update: MetricsUpdate, epoch: usize, split: &BurnSplit) {
        match split {
            BurnSplit::Train => self.log_train(&update, epoch),
            BurnSplit::Valid => self.log_valid(&update, epoch),
            BurnSplit::Test(_) => {}
        }
        self.memory.log(update, epoch, split);
    }

    fn read_numeric(
        &mut self,
        name: &str,
        epoch: usize,
        split: &BurnSplit,
    ) -> Result<Vec<NumericEntry>, String> {
        if name == BARRIER_NAME || epoch == 0 {
            return Ok(Vec::new());
        }
        self.memory.read_numeric(name, epoch, split)
    }

    fn log_metric_definition(&mut self, definition: MetricDefinition) {
        if definition.name.as_str() == STEP_METRIC_NAME {
            self.step_metric = Some(definition.metric_id.clone());
        } else if !self.slots.iter().any(|s| s.id == definition.metric_id) {
            let name = curvewatch_name(&definition.name);
            self.slots.push(Slot {
                id: definition.metric_id.clone(),
                is_lr: name == "lr",
                name,
                keys: [None; 4],
            });
        }
        self.memory.log_metric_definition(definition);
    }

    fn log_epoch_summary(&mut self, summary: EpochSummary) {
        if summary.split == BurnSplit::Valid {
            self.handle
                .lock()
                .epoch_done(summary.epoch_number, &self.handle.shared.lr);
        }
        self.memory.log_epoch_summary(summary);
    }
}

impl Drop for CurvewatchLogger {
    /// Burn drops its loggers when training ends, before `launch` returns: send `TrainEnd`.
    fn drop(&mut self) {
        self.handle.finish();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use burn::train::metric::store::NumericMetricUpdate;
    use burn::train::metric::{LossMetric, MetricEntry, SerializedEntry};
    use curvewatch::{
        Bus, Callback, CallbackResult, Context, EpochBegin, EpochEnd, EvalEnd, StepEnd, TrainBegin,
        TrainEnd,
    };

    use super::*;
    use crate::step_metric::StepInfoMetric;

    /// Writes down every event it receives.
    struct Tape(Arc<Mutex<Vec<String>>>);

    impl Tape {
        fn push(&self, s: String) {
            self.0.lock().unwrap().push(s);
        }
    }

    impl Callback for Tape {
        fn on_train_begin(&mut self, _: &mut Context<'_>, ev: &TrainBegin) -> CallbackResult {
            self.push(format!("begin max={:?}", ev.max_epochs));
            Ok(())
        }
        fn on_epoch_begin(&mut self, _: &mut Context<'_>, ev: &EpochBegin) -> CallbackResult {
            self.push(format!("epoch {} at {}", ev.epoch, ev.step));
            Ok(())
        }
        fn on_step_end(&mut self, _: &mut Context<'_>, ev: &StepEnd<'_>) -> CallbackResult {
            let v: Vec<f64> = ev.metrics.iter().map(|m| m.1).collect();
            self.push(format!(
                "step {} e{} lr={:?} {v:?}",
                ev.step, ev.epoch, ev.lr
            ));
            Ok(())
        }
        fn on_eval_end(&mut self, _: &mut Context<'_>, ev: &EvalEnd<'_>) -> CallbackResult {
            let v: Vec<f64> = ev.metrics.iter().map(|m| m.1).collect();
            self.push(format!("eval {} e{} {v:?}", ev.step, ev.epoch));
            Ok(())
        }
        fn on_epoch_end(&mut self, _: &mut Context<'_>, ev: &EpochEnd<'_>) -> CallbackResult {
            let v: Vec<f64> = ev.metrics.iter().map(|m| m.1).collect();
            self.push(format!("end {} at {} {v:?}", ev.epoch, ev.step));
            Ok(())
        }
        fn on_train_end(&mut self, _: &mut Context<'_>, ev: &TrainEnd) -> CallbackResult {
            self.push(format!("train_end {} e{}", ev.step, ev.epoch));
            Ok(())
        }
    }

    fn loss_update(id: &MetricId, entry: NumericEntry, step: Option<&str>) -> MetricsUpdate {
        let mut entries = Vec::new();
        if let Some(s) = step {
            let step_id = MetricId::new(Arc::new(STEP_METRIC_NAME.to_owned()));
            entries.push(MetricEntry::new(
                step_id,
                SerializedEntry::new(String::new(), s.into()),
            ));
        }
        let serialized = SerializedEntry::new(String::new(), entry.serialize());
        let e = MetricEntry::new(id.clone(), serialized);
        MetricsUpdate::new(
            entries,
            vec![NumericMetricUpdate::new(e, Some(entry), None)],
        )
    }

    fn batch(v: f64) -> NumericEntry {
        NumericEntry::Aggregated {
            aggregated_value: v,
            count: 4,
        }
    }

    /// Burn's order for one epoch: train batches, train final, train summary, valid batches, valid
    /// final, valid summary.
    fn epoch(logger: &mut CurvewatchLogger, id: &MetricId, e: usize, valid_batches: usize) {
        let lr = format!("{:e} ", 0.1 / e as f64);
        logger.log(
            loss_update(id, batch(1.0), Some(&format!("{lr}1 2"))),
            e,
            &BurnSplit::Train,
        );
        logger.log(
            loss_update(id, batch(0.5), Some(&format!("{lr}2 2"))),
            e,
            &BurnSplit::Train,
        );
        logger.log(
            loss_update(id, NumericEntry::Final(0.75), Some("end")),
            e,
            &BurnSplit::Train,
        );
        logger.log_epoch_summary(EpochSummary::new(e, BurnSplit::Train));
        for _ in 0..valid_batches {
            logger.log(loss_update(id, batch(0.9), None), e, &BurnSplit::Valid);
        }
        logger.log(
            loss_update(id, NumericEntry::Final(0.8), None),
            e,
            &BurnSplit::Valid,
        );
        logger.log_epoch_summary(EpochSummary::new(e, BurnSplit::Valid));
    }

    #[test]
    fn burn_updates_become_bus_events_in_order() {
        let tape = Arc::new(Mutex::new(Vec::new()));
        let mut bus = Bus::new();
        bus.add(Tape(tape.clone()));
        let handle = CurvewatchHandle::new(bus).with_max_epochs(2);
        let mut logger = handle.metric_logger();
        let loss = LossMetric::new();
        let id = MetricId::new(Arc::new("Loss".to_owned()));
        logger.log_metric_definition(MetricDefinition::new(id.clone(), &loss));
        let step_id = MetricId::new(Arc::new(STEP_METRIC_NAME.to_owned()));
        logger.log_metric_definition(MetricDefinition::new(step_id, &StepInfoMetric::new()));
        epoch(&mut logger, &id, 1, 1);
        epoch(&mut logger, &id, 2, 0);
        drop(logger);
        let want = [
            "begin max=Some(2)",
            "epoch 0 at 0",
            "step 1 e0 lr=Some(0.1) [1.0]",
            "step 2 e0 lr=Some(0.1) [0.5]",
            "eval 2 e0 [0.8]",
            "end 0 at 2 [0.75]",
            "epoch 1 at 2",
            "step 3 e1 lr=Some(0.05) [1.0]",
            "step 4 e1 lr=Some(0.05) [0.5]",
            "end 1 at 4 [0.75]",
            "train_end 4 e1",
        ];
        assert_eq!(
            *tape.lock().unwrap(),
            want,
            "epoch 2 had no validation batch: no EvalEnd"
        );
        let bus = handle.into_bus().expect("the logger was dropped");
        let names: Vec<String> = bus.history().iter().map(|(_, s)| s.label()).collect();
        assert_eq!(
            names,
            [
                "train/lr",
                "train/loss",
                "train/epoch_loss",
                "valid/batch_loss",
                "valid/loss"
            ]
        );
        // The one validation batch is in the history, sent to no callback (not on the tape).
        let batches = bus.history().get(Split::Valid, "batch_loss").unwrap();
        assert_eq!(
            (batches.steps(), batches.epochs(), batches.values()),
            (&[2u64][..], &[0.999f32][..], &[0.9][..])
        );
    }

    #[test]
    fn reads_answer_burn_and_the_barrier() {
        let handle = CurvewatchHandle::new(Bus::new());
        let mut logger = handle.metric_logger();
        let id = MetricId::new(Arc::new("Loss".to_owned()));
        logger.log_metric_definition(MetricDefinition::new(id.clone(), &LossMetric::new()));
        let step_id = MetricId::new(Arc::new(STEP_METRIC_NAME.to_owned()));
        logger.log_metric_definition(MetricDefinition::new(step_id, &StepInfoMetric::new()));
        epoch(&mut logger, &id, 1, 1);
        let got = logger.read_numeric("Loss", 1, &BurnSplit::Valid).unwrap();
        assert_eq!(
            got.len(),
            2,
            "one validation batch and the final value, for Burn's own readers"
        );
        assert!(matches!(got[1], NumericEntry::Final(v) if v == 0.8));
        let barrier = logger
            .read_numeric(BARRIER_NAME, 1, &BurnSplit::Valid)
            .unwrap();
        assert!(barrier.is_empty(), "the barrier is answered, with nothing");
        assert!(
            logger
                .read_numeric("Loss", 0, &BurnSplit::Valid)
                .unwrap()
                .is_empty(),
            "epoch 0"
        );
    }
}
