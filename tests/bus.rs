//! The bus driven by scripted loops: order, stops, faults, diagnoses, learning-rate requests.

use std::sync::{Arc, Mutex};

use curvewatch::{
    Bus, BusError, Callback, CallbackError, CallbackResult, Context, Diagnosis, DiagnosisKind,
    EpochBegin, EpochEnd, EvalEnd, FaultPolicy, Severity, Split, StepEnd, StepFilter, TrainBegin,
    TrainEnd,
};

type Log = Arc<Mutex<Vec<String>>>;

/// Writes `<name>:<event>` for every hook into a shared log.
struct Recorder {
    name: &'static str,
    log: Log,
}

impl Recorder {
    fn push(&self, event: &str) {
        self.log
            .lock()
            .unwrap()
            .push(format!("{}:{event}", self.name));
    }
}

impl Callback for Recorder {
    fn name(&self) -> Option<String> {
        Some(self.name.to_owned())
    }
    fn on_train_begin(&mut self, _: &mut Context<'_>, _: &TrainBegin) -> CallbackResult {
        self.push("train_begin");
        Ok(())
    }
    fn on_epoch_begin(&mut self, _: &mut Context<'_>, _: &EpochBegin) -> CallbackResult {
        self.push("epoch_begin");
        Ok(())
    }
    fn on_step_end(&mut self, _: &mut Context<'_>, ev: &StepEnd<'_>) -> CallbackResult {
        self.push(&format!("step{}", ev.step));
        Ok(())
    }
    fn on_eval_end(&mut self, _: &mut Context<'_>, _: &EvalEnd<'_>) -> CallbackResult {
        self.push("eval_end");
        Ok(())
    }
    fn on_epoch_end(&mut self, _: &mut Context<'_>, _: &EpochEnd<'_>) -> CallbackResult {
        self.push("epoch_end");
        Ok(())
    }
    fn on_train_end(&mut self, _: &mut Context<'_>, ev: &TrainEnd) -> CallbackResult {
        self.push(&format!("train_end(stopped={})", ev.stopped));
        Ok(())
    }
    fn on_diagnosis(&mut self, _: &mut Context<'_>, d: &Diagnosis) -> CallbackResult {
        self.push(&format!("diagnosis({} from {})", d.kind, d.source));
        Ok(())
    }
}

fn recorder(name: &'static str, log: &Log) -> Recorder {
    Recorder {
        name,
        log: log.clone(),
    }
}

#[test]
fn callbacks_run_in_the_order_added_for_every_event() {
    let log = Log::default();
    let mut bus = Bus::new();
    bus.add(recorder("a", &log)).add(recorder("b", &log));
    let loss = bus.metric(Split::Train, "loss");
    let val = bus.metric(Split::Valid, "loss");
    bus.train_begin(&TrainBegin::new()).unwrap();
    bus.epoch_begin(&EpochBegin::new(0, 0)).unwrap();
    bus.step_end(&StepEnd::new(1, &[(loss, 1.0)])).unwrap();
    bus.eval_end(&EvalEnd::new(1, 0, &[(val, 1.1)])).unwrap();
    bus.epoch_end(&EpochEnd::new(0, 1, &[])).unwrap();
    bus.train_end(&TrainEnd::new(1, 0)).unwrap();
    let expected: Vec<String> = [
        "train_begin",
        "epoch_begin",
        "step1",
        "eval_end",
        "epoch_end",
        "train_end(stopped=false)",
    ]
    .iter()
    .flat_map(|e| [format!("a:{e}"), format!("b:{e}")])
    .collect();
    assert_eq!(*log.lock().unwrap(), expected);
}

/// Stops when the training loss goes below a target.
struct StopBelow(f64);

impl Callback for StopBelow {
    fn on_step_end(&mut self, ctx: &mut Context<'_>, ev: &StepEnd<'_>) -> CallbackResult {
        let key = ctx.key(Split::Train, "loss");
        if let Some(v) = ev.metric(key).filter(|v| *v < self.0) {
            ctx.stop("below_target", format!("loss {v} < {}", self.0));
        }
        Ok(())
    }
}

#[test]
fn a_stop_reaches_the_loop_with_its_reason_and_stays() {
    let log = Log::default();
    let mut bus = Bus::new()
        .with(StopBelow(0.25))
        .with(recorder("after", &log));
    let loss = bus.metric(Split::Train, "loss");
    let mut stopped_at = None;
    for step in 1..=100u64 {
        let d = bus
            .step_end(&StepEnd::new(step, &[(loss, 1.0 / step as f64)]).with_epoch(2))
            .unwrap();
        if d.should_stop() {
            stopped_at = Some(step);
            break;
        }
    }
    assert_eq!(
        stopped_at,
        Some(5),
        "1/5 = 0.2 is the first loss below 0.25"
    );
    let reason = bus.stop_reason().unwrap();
    assert_eq!(reason.callback, "StopBelow");
    assert_eq!(reason.rule, "below_target");
    assert_eq!((reason.step, reason.epoch), (5, 2));
    assert!(reason.message.contains("0.2"), "{}", reason.message);
    assert!(
        log.lock().unwrap().contains(&"after:step5".to_owned()),
        "callbacks after the stopping one still see the event"
    );
    let later = bus.step_end(&StepEnd::new(6, &[(loss, 9.0)])).unwrap();
    assert!(later.should_stop(), "a stop is sticky");
    bus.clear_stop();
    assert!(!bus
        .step_end(&StepEnd::new(7, &[(loss, 9.0)]))
        .unwrap()
        .should_stop());
}

struct Panicker {
    from_step: u64,
}

impl Callback for Panicker {
    fn on_step_end(&mut self, _: &mut Context<'_>, ev: &StepEnd<'_>) -> CallbackResult {
        if ev.step >= self.from_step {
            panic!("boom at step {}", ev.step);
        }
        Ok(())
    }
}

struct Failer;

impl Callback for Failer {
    fn on_eval_end(&mut self, _: &mut Context<'_>, _: &EvalEnd<'_>) -> CallbackResult {
        Err(CallbackError::new("disk full"))
    }
}

fn run_faulty(policy: FaultPolicy) -> (Bus, Log, Result<(), BusError>) {
    let log = Log::default();
    let mut bus = Bus::new()
        .with_fault_policy(policy)
        .with(recorder("first", &log))
        .with(Panicker { from_step: 3 })
        .with(Failer)
        .with(recorder("last", &log));
    let loss = bus.metric(Split::Train, "loss");
    let val = bus.metric(Split::Valid, "loss");
    let result = (|| {
        for step in 1..=6u64 {
            bus.step_end(&StepEnd::new(step, &[(loss, 1.0)]))?;
        }
        bus.eval_end(&EvalEnd::new(6, 0, &[(val, 1.0)]))?;
        Ok(())
    })();
    (bus, log, result)
}

#[test]
fn a_panicking_callback_does_not_stop_training_and_others_still_run() {
    let (bus, log, result) = run_faulty(FaultPolicy::Warn);
    assert!(result.is_ok(), "the default policy keeps training going");
    let log = log.lock().unwrap();
    for step in 1..=6 {
        assert!(
            log.contains(&format!("last:step{step}")),
            "step {step} reached the last callback"
        );
    }
    let faults = bus.faults();
    assert_eq!(faults.len(), 5, "4 panics (steps 3..=6) and 1 error");
    assert!(faults[0].panicked && faults[0].message.contains("boom at step 3"));
    assert_eq!(
        (faults[0].callback.as_str(), faults[0].event),
        ("Panicker", "step_end")
    );
    assert!(!faults[4].panicked && faults[4].message == "disk full");
    assert_eq!(bus.history().get(Split::Train, "loss").unwrap().len(), 6);
    assert!(bus.summary().to_string().contains("callback faults: 5"));
}

#[test]
fn the_disable_policy_stops_calling_a_faulty_callback() {
    let (bus, log, result) = run_faulty(FaultPolicy::Disable);
    assert!(result.is_ok());
    assert_eq!(
        bus.faults().len(),
        2,
        "one panic, then disabled; one error, then disabled"
    );
    assert_eq!(bus.summary().disabled, vec!["Panicker", "Failer"]);
    assert!(log.lock().unwrap().contains(&"last:step6".to_owned()));
}

#[test]
fn the_propagate_policy_returns_the_error_to_the_loop() {
    let (bus, log, result) = run_faulty(FaultPolicy::Propagate);
    match result {
        Err(BusError::Callback {
            callback,
            event,
            step,
            message,
        }) => {
            assert_eq!(
                (callback.as_str(), event, step),
                ("Panicker", "step_end", 3)
            );
            assert!(message.contains("boom"));
        }
        other => panic!("expected a callback error, got {other:?}"),
    }
    assert!(
        !log.lock().unwrap().contains(&"last:step3".to_owned()),
        "the rest of that event is skipped"
    );
    assert_eq!(bus.faults().len(), 1);
}

/// Emits one diagnosis when the validation loss rises, and asks for a lower LR.
struct Watcher {
    last: Option<f64>,
}

impl Callback for Watcher {
    fn on_eval_end(&mut self, ctx: &mut Context<'_>, ev: &EvalEnd<'_>) -> CallbackResult {
        let key = ctx.key(Split::Valid, "loss");
        let v = ev.metric(key).unwrap_or(f64::NAN);
        if self.last.is_some_and(|last| v > last) {
            ctx.emit(
                Diagnosis::new(
                    DiagnosisKind::Overfitting,
                    Severity::Warning,
                    "val loss rose",
                )
                .with_metric("valid/loss")
                .with_value(v)
                .with_recommendation("stop soon"),
            );
            let lr = ctx.lr().unwrap_or(1.0);
            ctx.set_lr(lr / 10.0);
        }
        self.last = Some(v);
        Ok(())
    }
}

#[test]
fn diagnoses_reach_every_callback_and_the_summary() {
    let log = Log::default();
    let mut bus = Bus::new()
        .with(recorder("a", &log))
        .with(Watcher { last: None });
    let val = bus.metric(Split::Valid, "loss");
    let loss = bus.metric(Split::Train, "loss");
    bus.step_end(&StepEnd::new(1, &[(loss, 1.0)]).with_lr(0.5))
        .unwrap();
    assert_eq!(
        bus.eval_end(&EvalEnd::new(1, 0, &[(val, 1.0)]))
            .unwrap()
            .new_lr(),
        None
    );
    let d = bus.eval_end(&EvalEnd::new(2, 1, &[(val, 1.2)])).unwrap();
    assert_eq!(
        d.new_lr(),
        Some(0.05),
        "LR request from the watcher, based on the reported 0.5"
    );
    let next = bus.step_end(&StepEnd::new(3, &[(loss, 1.0)])).unwrap();
    assert_eq!(next.new_lr(), None, "an LR request lasts one event");
    assert_eq!(bus.lr(), Some(0.05), "the requested LR is the one in force");
    bus.step_end(&StepEnd::new(4, &[(loss, 1.0)]).with_lr(0.2))
        .unwrap();
    assert_eq!(bus.lr(), Some(0.2), "the loop's next report wins");

    let diagnoses = bus.diagnoses();
    assert_eq!(diagnoses.len(), 1);
    assert_eq!((diagnoses[0].step, diagnoses[0].epoch), (2, 1));
    assert_eq!(diagnoses[0].source, "Watcher");
    assert!(log
        .lock()
        .unwrap()
        .contains(&"a:diagnosis(overfitting from Watcher)".to_owned()));
    let summary = bus.summary();
    assert_eq!(summary.diagnoses.len(), 1);
    assert!(summary.to_string().contains("overfitting at step 2"));
}

#[test]
fn metrics_at_different_frequencies_keep_their_own_steps() {
    let mut bus = Bus::new();
    let loss = bus.metric(Split::Train, "loss");
    let gnorm = bus.metric(Split::Train, "grad_norm");
    let val = bus.metric(Split::Valid, "loss");
    let acc = bus.metric(Split::Valid, "accuracy");
    for epoch in 0..3u32 {
        for i in 1..=10u64 {
            let step = epoch as u64 * 10 + i;
            let metrics = [(loss, 1.0 / step as f64), (gnorm, f64::NAN)];
            let n = if step % 5 == 0 { 2 } else { 1 };
            let ev = StepEnd::new(step, &metrics[..n])
                .with_epoch(epoch)
                .with_epoch_fraction(i as f32 / 10.0)
                .with_lr(1e-3);
            bus.step_end(&ev).unwrap();
        }
        let step = (epoch as u64 + 1) * 10;
        bus.eval_end(&EvalEnd::new(step, epoch, &[(val, 0.5), (acc, 0.9)]))
            .unwrap();
    }
    let h = bus.history();
    let l = h.series(loss).unwrap();
    assert_eq!(l.len(), 30);
    assert_eq!(l.steps()[29], 30);
    assert!(
        (l.epochs()[14] - 1.5).abs() < 1e-6,
        "step 15 is half-way through epoch 1"
    );
    let g = h.series(gnorm).unwrap();
    assert_eq!(g.steps(), &[5, 10, 15, 20, 25, 30]);
    assert!(
        g.values().iter().all(|v| v.is_nan()),
        "NaN is stored, not dropped"
    );
    let v = h.get(Split::Valid, "loss").unwrap();
    assert_eq!(v.steps(), &[10, 20, 30]);
    assert_eq!(v.epochs(), &[0.0, 1.0, 2.0]);
    assert_eq!(h.get(Split::Train, "lr").unwrap().len(), 30);
    assert_eq!(h.series(acc).unwrap().values(), &[0.9, 0.9, 0.9]);
}

#[test]
fn history_round_trips_through_json_and_csv_files() {
    let mut bus = Bus::new();
    let loss = bus.metric(Split::Train, "loss");
    let val = bus.metric(Split::Valid, "loss");
    let values = [2.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e-300, 0.1];
    for (i, v) in values.iter().enumerate() {
        bus.step_end(&StepEnd::new(i as u64 + 1, &[(loss, *v)]))
            .unwrap();
    }
    bus.eval_end(&EvalEnd::new(6, 0, &[(val, 0.7)])).unwrap();
    let dir = std::env::temp_dir().join(format!("cw-history-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("history.json");
    bus.history().save_json(&path).unwrap();
    let back = curvewatch::History::load_json(&path).unwrap();
    let got = back.series(loss).unwrap().values();
    assert_eq!(got[0], 2.5);
    assert!(got[1].is_nan());
    assert_eq!(&got[2..], &values[2..]);
    assert_eq!(
        back.find(Split::Valid, "loss"),
        Some(val),
        "keys survive save and load"
    );
    assert_eq!(back.series(val).unwrap().values(), &[0.7]);

    bus.history().save_csv(dir.join("history.csv")).unwrap();
    let csv = std::fs::read_to_string(dir.join("history.csv")).unwrap();
    assert!(
        csv.contains("train,loss,2,0,NaN\n") && csv.contains("train,loss,3,0,inf\n"),
        "{csv}"
    );
    assert!(csv.contains("valid,loss,6,0,0.7\n"));

    std::fs::write(&path, "{\"series\": [ {\"split\": \"train\"").unwrap();
    let err = curvewatch::History::load_json(&path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("history.json") && err.contains("line 1"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A writer into a shared buffer, for capturing tracing output.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn diagnoses_are_tracing_events_with_structured_fields_and_level_by_severity() {
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let mut bus = Bus::new().with(Watcher { last: None });
        let val = bus.metric(Split::Valid, "loss");
        bus.eval_end(&EvalEnd::new(10, 0, &[(val, 1.0)])).unwrap();
        bus.eval_end(&EvalEnd::new(20, 1, &[(val, 1.5)])).unwrap();
    });
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("curvewatch::diagnosis"))
        .unwrap_or_else(|| panic!("no diagnosis event in:\n{text}"));
    assert!(
        line.contains("WARN"),
        "a warning diagnosis logs at WARN: {line}"
    );
    for field in [
        "kind=\"overfitting\"",
        "step=20",
        "epoch=1",
        "metric=\"valid/loss\"",
        "value=1.5",
        "recommendation=\"stop soon\"",
        "val loss rose",
    ] {
        assert!(line.contains(field), "missing {field} in {line}");
    }
}

#[test]
fn step_timing_is_opt_in() {
    struct SeesTime(Arc<Mutex<Vec<bool>>>);
    impl Callback for SeesTime {
        fn on_step_end(&mut self, _: &mut Context<'_>, ev: &StepEnd<'_>) -> CallbackResult {
            self.0.lock().unwrap().push(ev.time.is_some());
            Ok(())
        }
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut off = Bus::new().with(SeesTime(seen.clone()));
    let mut on = Bus::new()
        .with_step_timing(true)
        .with(SeesTime(seen.clone()));
    off.step_end(&StepEnd::new(1, &[])).unwrap();
    on.step_end(&StepEnd::new(1, &[])).unwrap();
    off.step_end(&StepEnd::new(2, &[]).with_time(std::time::Duration::from_millis(5)))
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![false, true, true]);
}

#[test]
fn without_recording_callbacks_still_see_the_metrics() {
    let log = Log::default();
    let mut bus = Bus::new()
        .with_recording(false)
        .with(StopBelow(0.3))
        .with(recorder("r", &log));
    let loss = bus.metric(Split::Train, "loss");
    for step in 1..=5u64 {
        let _ = bus.step_end(&StepEnd::new(step, &[(loss, 1.0 / step as f64)]).with_lr(0.1));
    }
    assert_eq!(bus.history().points(), 0, "nothing recorded");
    assert_eq!(
        bus.stop_reason().unwrap().step,
        4,
        "the stop still sees 1/4 < 0.3"
    );
    assert_eq!(log.lock().unwrap().len(), 5);
}

/// Logs its steps; asks the bus for a given step filter; panics on the steps listed.
struct Filtered {
    name: &'static str,
    filter: StepFilter,
    panic_on: &'static [u64],
    log: Log,
}

impl Callback for Filtered {
    fn name(&self) -> Option<String> {
        Some(self.name.to_owned())
    }
    fn step_filter(&self) -> StepFilter {
        self.filter.clone()
    }
    fn on_step_end(&mut self, _: &mut Context<'_>, ev: &StepEnd<'_>) -> CallbackResult {
        self.log
            .lock()
            .unwrap()
            .push(format!("{}:step{}", self.name, ev.step));
        assert!(!self.panic_on.contains(&ev.step), "boom");
        Ok(())
    }
    fn on_eval_end(&mut self, _: &mut Context<'_>, _: &EvalEnd<'_>) -> CallbackResult {
        self.log.lock().unwrap().push(format!("{}:eval", self.name));
        Ok(())
    }
}

#[test]
fn step_filters_skip_only_the_steps_a_callback_does_not_want() {
    let log = Log::default();
    let filtered = |name, filter, panic_on| Filtered {
        name,
        filter,
        panic_on,
        log: log.clone(),
    };
    let mut bus = Bus::new();
    bus.add(filtered(
        "loss",
        StepFilter::carrying(Split::Train, "loss"),
        &[2],
    ));
    bus.add(filtered("never", StepFilter::Never, &[]));
    // Registered by nobody until step 3: the gate must find it when it appears.
    bus.add(filtered(
        "late",
        StepFilter::carrying(Split::Train, "late"),
        &[],
    ));
    bus.add(filtered("every", StepFilter::Every, &[]));
    let loss = bus.metric(Split::Train, "loss");
    let tokens = bus.metric(Split::Train, "tokens");
    bus.step_end(&StepEnd::new(1, &[(tokens, 1.0)])).unwrap();
    bus.step_end(&StepEnd::new(2, &[(tokens, 1.0), (loss, 2.0)]))
        .unwrap();
    let late = bus.metric(Split::Train, "late");
    bus.step_end(&StepEnd::new(3, &[(late, 1.0)])).unwrap();
    bus.step_end(&StepEnd::new(4, &[])).unwrap();
    // Recorded without an event: in the history, seen by no callback (not even `every`).
    bus.record(4, 0.5, &[(loss, 9.0)]);
    assert_eq!(
        bus.history().get(Split::Train, "loss").unwrap().values(),
        [2.0, 9.0]
    );
    let val = bus.metric(Split::Valid, "loss");
    bus.eval_end(&EvalEnd::new(4, 0, &[(val, 1.0)])).unwrap();
    let expected = [
        "every:step1",
        "loss:step2", // panics; the pass goes on with the next callback
        "every:step2",
        "late:step3",
        "every:step3",
        "every:step4", // a step without metrics reaches only `Every`
        "loss:eval",   // other events reach every callback
        "never:eval",
        "late:eval",
        "every:eval",
    ];
    assert_eq!(*log.lock().unwrap(), expected);
    let faults = bus.faults();
    assert_eq!(faults.len(), 1);
    assert_eq!((faults[0].callback.as_str(), faults[0].step), ("loss", 2));
}
