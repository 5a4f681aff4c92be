//! [`ProgressCallback`]: a progress bar on a terminal, one compact line per epoch elsewhere.

use std::any::Any;
use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::num::NonZeroU32;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::plot::EveryN;
use crate::callback::{Callback, CallbackResult};
use crate::context::Context;
use crate::diagnosis::{Diagnosis, DiagnosisKind};
use crate::event::{EpochBegin, EpochEnd, MetricKey, Split, StepEnd, TrainBegin, TrainEnd};
use crate::history::History;

/// The bar's message is refreshed on every this-many position updates.
const MESSAGES_PER_UPDATES: u32 = 16;

/// Shows the run's progress: epoch, step, the watched metric (`train/loss` by default, with its
/// validation counterpart when there is one) and the latest diagnosis.
///
/// On a terminal (stderr is a TTY) it draws an [`indicatif`] bar, redrawn at most 20 times a second:
/// the position is set every [`update_every`](ProgressCallback::with_update_every) steps (16 by
/// default) and the message every 16th update, so a step costs a counter decrement and, now and then,
/// an atomic store. Each epoch end also prints a line above the bar. Without a terminal (a log file,
/// CI) nothing is redrawn: it writes one line per epoch and one at the end of training:
///
/// ```text
/// epoch=0 step=100 train/loss=0.0100 valid/loss=0.6000 diagnosis=none
/// epoch=1 step=200 train/loss=0.0050 valid/loss=0.7000 diagnosis=overfitting
/// done step=200 epoch=1 train/loss=0.0050 valid/loss=0.7000 diagnosis=overfitting stop=none
/// ```
///
/// Epochs are 0-based, as everywhere in curvewatch. Values print with 4 decimals, or in scientific
/// notation below 0.001 or from 100 000 up; a metric not recorded yet prints as `-`. A failed write is
/// logged once (target `curvewatch::progress`) and later lines are skipped.
///
/// ```
/// use curvewatch::callbacks::progress::ProgressCallback;
/// use curvewatch::{Bus, EpochEnd, Split, StepEnd, TrainBegin, TrainEnd};
/// use std::sync::{Arc, Mutex};
///
/// #[derive(Clone, Default)]
/// struct Buf(Arc<Mutex<Vec<u8>>>);
/// impl std::io::Write for Buf {
///     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().extend_from_slice(b); Ok(b.len()) }
///     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
/// }
///
/// let buf = Buf::default();
/// let mut bus = Bus::new().with(ProgressCallback::lines(Box::new(buf.clone())));
/// let loss = bus.metric(Split::Train, "loss");
/// bus.train_begin(&TrainBegin::new()).unwrap();
/// bus.step_end(&StepEnd::new(1, &[(loss, 0.5)])).unwrap();
/// bus.epoch_end(&EpochEnd::new(0, 1, &[])).unwrap();
/// let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
/// assert_eq!(text, "epoch=0 step=1 train/loss=0.5000 diagnosis=none\n");
/// ```
pub struct ProgressCallback {
    out: Output,
    watch: Watch,
    updates: EveryN,
    messages: EveryN,
    max_epochs: Option<u32>,
    write_failed: bool,
}

/// What the status text shows: the watched metric (and its counterpart) and the latest diagnosis.
struct Watch {
    split: Split,
    metric: String,
    keys: [Option<MetricKey>; 2],
    last_diagnosis: Option<DiagnosisKind>,
}

enum Output {
    Bar(ProgressBar),
    Lines(Box<dyn Write + Send>),
}

impl Default for ProgressCallback {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ProgressCallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match self.out {
            Output::Bar(_) => "bar",
            Output::Lines(_) => "lines",
        };
        f.debug_struct("ProgressCallback")
            .field("mode", &mode)
            .field(
                "metric",
                &format_args!("{}/{}", self.watch.split, self.watch.metric),
            )
            .finish()
    }
}

impl ProgressCallback {
    /// A bar on stderr if it is a terminal, otherwise one line per epoch on stderr.
    pub fn new() -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            Self::with_output(Output::Bar(bar))
        } else {
            Self::lines(Box::new(std::io::stderr()))
        }
    }

    /// One line per epoch (and one at the end) written to `out`; never a bar.
    pub fn lines(out: Box<dyn Write + Send>) -> Self {
        Self::with_output(Output::Lines(out))
    }

    fn with_output(out: Output) -> Self {
        let every = NonZeroU32::new(16).unwrap_or(NonZeroU32::MIN);
        let messages = NonZeroU32::new(MESSAGES_PER_UPDATES).unwrap_or(NonZeroU32::MIN);
        ProgressCallback {
            out,
            watch: Watch {
                split: Split::Train,
                metric: "loss".to_owned(),
                keys: [None, None],
                last_diagnosis: None,
            },
            updates: EveryN::new(every),
            messages: EveryN::new(messages),
            max_epochs: None,
            write_failed: false,
        }
    }

    /// Watches `name` on `split` (and its counterpart on the other split) instead of `train/loss`.
    pub fn with_metric(mut self, split: Split, name: &str) -> Self {
        self.watch.split = split;
        self.watch.metric = name.to_owned();
        self.watch.keys = [None, None];
        self
    }

    /// Moves the bar every `steps` steps (16 by default); its message changes every 16th move.
    pub fn with_update_every(mut self, steps: NonZeroU32) -> Self {
        self.updates = EveryN::new(steps);
        self
    }

    /// Writes a line to the line output, or above the bar.
    fn emit_line(&mut self, line: &str) {
        match &mut self.out {
            Output::Bar(bar) => bar.println(line),
            Output::Lines(out) => {
                if self.write_failed {
                    return;
                }
                if let Err(e) = writeln!(out, "{line}").and_then(|()| out.flush()) {
                    self.write_failed = true;
                    tracing::warn!(
                        target: "curvewatch::progress",
                        "cannot write progress lines, skipping the rest: {e}"
                    );
                }
            }
        }
    }
}

impl Watch {
    /// `train/loss=0.0100 valid/loss=0.6000 diagnosis=none`: the watched metric, its counterpart
    /// on the other split if recorded, and the latest diagnosis.
    fn status(&mut self, history: &History) -> String {
        let other = match self.split {
            Split::Train => Split::Valid,
            Split::Valid => Split::Train,
        };
        let mut text = String::new();
        for (slot, split) in [(0, self.split), (1, other)] {
            if self.keys[slot].is_none() {
                self.keys[slot] = history.find(split, &self.metric);
            }
            let last = self.keys[slot]
                .and_then(|k| history.series(k))
                .and_then(|s| s.last());
            if slot == 0 || last.is_some() {
                text.push_str(&format!("{split}/{}={} ", self.metric, fmt_value(last)));
            }
        }
        let kind = self.last_diagnosis.map_or("none", DiagnosisKind::as_str);
        text.push_str("diagnosis=");
        text.push_str(kind);
        text
    }
}

impl Callback for ProgressCallback {
    fn name(&self) -> Option<String> {
        Some("progress".to_owned())
    }

    fn on_train_begin(&mut self, ctx: &mut Context<'_>, ev: &TrainBegin) -> CallbackResult {
        self.watch.keys = [None, None];
        self.watch.last_diagnosis = ctx.diagnoses().last().map(|d| d.kind);
        self.max_epochs = ev.max_epochs;
        if let Output::Bar(bar) = &self.out {
            bar.set_style(bar_style(ev.max_steps.is_some()));
            match ev.max_steps {
                Some(n) => bar.set_length(n),
                None => bar.unset_length(),
            }
            bar.set_prefix(epoch_prefix(ev.epoch, ev.max_epochs));
            bar.set_position(ev.step);
            bar.reset_elapsed();
            bar.reset_eta();
        }
        Ok(())
    }

    fn on_epoch_begin(&mut self, _ctx: &mut Context<'_>, ev: &EpochBegin) -> CallbackResult {
        if let Output::Bar(bar) = &self.out {
            bar.set_prefix(epoch_prefix(ev.epoch, self.max_epochs));
        }
        Ok(())
    }

    #[inline]
    fn on_step_end(&mut self, ctx: &mut Context<'_>, ev: &StepEnd<'_>) -> CallbackResult {
        let Output::Bar(bar) = &self.out else {
            return Ok(());
        };
        if self.updates.tick() {
            bar.set_position(ev.step);
            if self.messages.tick() {
                bar.set_message(self.watch.status(ctx.history()));
            }
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, ctx: &mut Context<'_>, ev: &EpochEnd<'_>) -> CallbackResult {
        let line = format!(
            "epoch={} step={} {}",
            ev.epoch,
            ev.step,
            self.watch.status(ctx.history())
        );
        self.emit_line(&line);
        Ok(())
    }

    fn on_train_end(&mut self, ctx: &mut Context<'_>, ev: &TrainEnd) -> CallbackResult {
        let stop = ctx.stop_requested().map_or(Cow::Borrowed("none"), |s| {
            Cow::Owned(format!("{}/{}", s.callback, s.rule))
        });
        let status = self.watch.status(ctx.history());
        let line = format!(
            "done step={} epoch={} {status} stop={stop}",
            ev.step, ev.epoch
        );
        match &self.out {
            Output::Bar(bar) => {
                bar.set_position(ev.step);
                bar.abandon_with_message(format!("{status} stop={stop}"));
            }
            Output::Lines(_) => self.emit_line(&line),
        }
        Ok(())
    }

    fn on_diagnosis(&mut self, ctx: &mut Context<'_>, diagnosis: &Diagnosis) -> CallbackResult {
        self.watch.last_diagnosis = Some(diagnosis.kind);
        if let Output::Bar(bar) = &self.out {
            bar.set_message(self.watch.status(ctx.history()));
        }
        Ok(())
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

fn bar_style(known_length: bool) -> ProgressStyle {
    let template = if known_length {
        "{prefix} {wide_bar} {pos}/{len} [{elapsed_precise}<{eta_precise}] {msg}"
    } else {
        "{prefix} {spinner} step {pos} [{elapsed_precise}] {msg}"
    };
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn epoch_prefix(epoch: u32, max_epochs: Option<u32>) -> String {
    match max_epochs {
        Some(max) => format!("epoch {epoch} of {max}"),
        None => format!("epoch {epoch}"),
    }
}

/// 4 decimals in [0.001, 100 000), scientific notation outside, `-` for no value.
fn fmt_value(v: Option<f64>) -> String {
    match v {
        None => "-".to_owned(),
        Some(v) if v.is_nan() => "NaN".to_owned(),
        Some(v) if v.is_infinite() => if v > 0.0 { "inf" } else { "-inf" }.to_owned(),
        Some(0.0) => "0".to_owned(),
        Some(v) if (1e-3..1e5).contains(&v.abs()) => format!("{v:.4}"),
        Some(v) => format!("{v:.3e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_print_compactly() {
        let cases = [
            (None, "-", "not recorded yet"),
            (Some(0.0), "0", "zero has no digits to show"),
            (
                Some(2.345678),
                "2.3457",
                "an LLM-sized loss, rounded to 4 decimals",
            ),
            (Some(0.001), "0.0010", "the smallest value in decimal form"),
            (
                Some(0.000_123_4),
                "1.234e-4",
                "small losses keep their digits",
            ),
            (Some(123_456.0), "1.235e5", "large values go scientific"),
            (Some(-0.5), "-0.5000", "negative metrics (a log-likelihood)"),
            (Some(f64::NAN), "NaN", "a diverged loss"),
            (Some(f64::NEG_INFINITY), "-inf", "an infinite value"),
        ];
        for (v, expected, why) in cases {
            assert_eq!(fmt_value(v), expected, "{why}");
        }
    }

    #[test]
    fn the_bar_moves_every_n_steps_and_its_message_every_16th_move() {
        let bar = ProgressBar::hidden();
        let cb = ProgressCallback::with_output(Output::Bar(bar.clone()))
            .with_update_every(NonZeroU32::new(2).unwrap());
        let mut bus = crate::Bus::new().with(cb);
        let loss = bus.metric(Split::Train, "loss");
        bus.train_begin(&TrainBegin::new().with_max_steps(100))
            .unwrap();
        for step in 1..=33u64 {
            bus.step_end(&StepEnd::new(step, &[(loss, step as f64)]))
                .unwrap();
            let moved_at = step - step % 2;
            assert_eq!(bar.position(), moved_at, "position set on even steps only");
        }
        // Moves at steps 2, 4, ..., 32: the 16th move (step 32) sets the message.
        assert_eq!(bar.message(), "train/loss=32.0000 diagnosis=none");
        assert_eq!(bar.length(), Some(100), "the length comes from max_steps");
        bus.train_end(&TrainEnd::new(33, 0)).unwrap();
        assert!(bar.is_finished());
        assert_eq!(bar.position(), 33, "the end shows the last step");
    }

    #[test]
    fn prefixes_name_the_epoch() {
        assert_eq!(epoch_prefix(2, Some(10)), "epoch 2 of 10");
        assert_eq!(epoch_prefix(0, None), "epoch 0");
    }
}
