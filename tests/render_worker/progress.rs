//! The progress callback without a terminal: one compact line per epoch.

use std::time::Duration;

use curvewatch::callbacks::progress::ProgressCallback;
use curvewatch::Bus;

use super::{run, serial, Captured, Watcher};

#[test]
fn progress_without_a_terminal_writes_one_line_per_epoch() {
    let _serial = serial();
    let out = Captured::default();
    let mut bus = Bus::new()
        .with(Watcher {
            best: f64::INFINITY,
        })
        .with(ProgressCallback::lines(Box::new(out.clone())));
    run(&mut bus, 4, 100, &[0.6, 0.5, 0.7, 0.1], Duration::ZERO);
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    // train/loss is 1/step: 1/100, 1/200, 1/300. The third validation loss rises: overfitting, stop.
    assert_eq!(
        text,
        "epoch=0 step=100 train/loss=0.0100 valid/loss=0.6000 diagnosis=none\n\
         epoch=1 step=200 train/loss=0.0050 valid/loss=0.5000 diagnosis=none\n\
         epoch=2 step=300 train/loss=0.0033 valid/loss=0.7000 diagnosis=overfitting\n\
         done step=300 epoch=2 train/loss=0.0033 valid/loss=0.7000 diagnosis=overfitting \
         stop=Watcher/val_rose\n"
    );
}
