//! The render thread's loop: apply deltas to its own copy of the run, draw, write files atomically.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crossbeam_channel::{never, select, Receiver};

use super::feed::Delta;
use super::handle::{Shared, WorkerError};
use super::{Frame, RenderedFile, Renderer};
use crate::event::MetricKey;
use crate::persist::atomic_write;

/// The render thread's state: the renderer, its copy of the run, and where files go.
pub(crate) struct Worker {
    renderer: Box<dyn Renderer>,
    out_dir: PathBuf,
    frame: Frame,
    /// The local key of each series of the training history, by its index there.
    keys: Vec<Option<MetricKey>>,
    /// Something changed since the last render.
    dirty: bool,
    shared: Arc<Shared>,
}

/// Runs until `finish` is asked (through `ctrl`) or the feed is dropped, then applies whatever is
/// still waiting and draws a last frame if anything is new.
pub(crate) fn run(mut worker: Worker, data: Receiver<Delta>, ctrl: Receiver<()>) {
    let closed = never::<()>();
    let mut ctrl_open = true;
    loop {
        let ctrl_rx = if ctrl_open { &ctrl } else { &closed };
        select! {
            recv(data) -> msg => match msg {
                Ok(delta) => worker.on_delta(delta, &data),
                Err(_) => break,
            },
            recv(ctrl_rx) -> msg => match msg {
                Ok(()) => break,
                // Every handle is gone: only the feed can end the worker now.
                Err(_) => ctrl_open = false,
            },
        }
    }
    worker.finish(&data);
}

impl Worker {
    pub(crate) fn new(renderer: Box<dyn Renderer>, out_dir: PathBuf, shared: Arc<Shared>) -> Self {
        Worker {
            renderer,
            out_dir,
            frame: Frame::default(),
            keys: Vec::new(),
            dirty: false,
            shared,
        }
    }

    /// Applies a delta (and any other already waiting) and draws if anything changed or training
    /// ended.
    fn on_delta(&mut self, delta: Delta, data: &Receiver<Delta>) {
        let mut is_final = delta.is_final;
        self.apply(delta);
        while let Ok(more) = data.try_recv() {
            is_final |= more.is_final;
            self.apply(more);
        }
        if self.dirty || is_final {
            self.render(is_final);
        }
    }

    /// Applies the deltas still in the channel (`select!` may see `finish` first) and those that could
    /// not be sent, then draws a final frame if anything is new or a final delta came.
    fn finish(&mut self, data: &Receiver<Delta>) {
        let mut is_final = false;
        while let Ok(delta) = data.try_recv() {
            is_final |= delta.is_final;
            self.apply(delta);
        }
        if let Some(delta) = self.shared.take_leftover() {
            self.apply(delta);
        }
        if self.dirty || is_final {
            self.render(true);
        }
    }

    /// Brings the local copy up to date with `delta`.
    fn apply(&mut self, delta: Delta) {
        self.dirty |= delta.changes_anything();
        if delta.reset {
            self.frame = Frame::default();
            self.keys.clear();
        }
        let frame = &mut self.frame;
        for s in delta.new_series {
            if self.keys.len() <= s.index {
                self.keys.resize(s.index + 1, None);
            }
            self.keys[s.index] = Some(frame.history.key(s.split, &s.name));
        }
        for (i, points) in delta.series.into_iter().enumerate() {
            let Some(key) = self.keys.get(i).copied().flatten() else {
                continue; // cannot happen: a series is named in the delta that first has points
            };
            if let Some(origin) = points.origin {
                if frame
                    .history
                    .series(key)
                    .is_some_and(|s| s.origin().is_none())
                {
                    frame.history.set_origin(key, origin);
                }
            }
            frame.history.reserve(key, points.values.len());
            for ((&step, &epoch), &value) in
                points.steps.iter().zip(&points.epochs).zip(&points.values)
            {
                // f32 -> f64 -> f32 is exact, so the copy holds the very same epochs.
                frame.history.record(key, step, f64::from(epoch), value);
            }
        }
        frame.diagnoses.extend(delta.diagnoses);
        if let Some(stop) = delta.stop {
            frame.stop = stop;
        }
        frame.step = delta.step;
        frame.epoch = delta.epoch;
    }

    /// Draws the frame and writes its files; failures are recorded, never raised.
    fn render(&mut self, is_final: bool) {
        self.dirty = false;
        self.frame.is_final = is_final;
        let step = self.frame.step;
        let renderer = &mut self.renderer;
        let frame = &self.frame;
        let outcome = catch_unwind(AssertUnwindSafe(|| renderer.render(frame)));
        let error = match outcome {
            Ok(Ok(files)) => match self.write_all(files) {
                Ok(()) => {
                    self.shared.renders.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(e) => e,
            },
            Ok(Err(message)) => WorkerError::Renderer { step, message },
            Err(payload) => WorkerError::Panicked {
                step,
                message: panic_message(payload.as_ref()),
            },
        };
        self.shared.record_error(error);
    }

    /// Creates the output folder if needed and writes each file atomically; stops at the first error.
    fn write_all(&self, files: Vec<RenderedFile>) -> Result<(), WorkerError> {
        std::fs::create_dir_all(&self.out_dir).map_err(|e| WorkerError::Write {
            path: self.out_dir.clone(),
            message: format!("create folder: {e}"),
        })?;
        for file in files {
            if !file.has_valid_name() {
                return Err(WorkerError::FileName {
                    name: file.path_name,
                });
            }
            let path = self.out_dir.join(&file.path_name);
            atomic_write(&path, &file.bytes).map_err(|e| WorkerError::Write {
                path,
                message: e.to_string(),
            })?;
            self.shared.files.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::super::feed::{NewSeries, SeriesDelta};
    use super::*;
    use crate::event::Split;
    use crate::history::Origin;

    fn worker() -> Worker {
        let r = |_: &Frame| Ok(Vec::new());
        Worker::new(Box::new(r), PathBuf::from("unused"), Arc::default())
    }

    fn named(index: usize, name: &str) -> NewSeries {
        NewSeries {
            index,
            split: Split::Train,
            name: name.to_owned(),
        }
    }

    fn col(steps: &[u64], values: &[f64]) -> SeriesDelta {
        SeriesDelta {
            origin: Some(Origin::Step),
            steps: steps.to_vec(),
            epochs: steps.iter().map(|&s| s as f32 * 0.1).collect(),
            values: values.to_vec(),
        }
    }

    #[test]
    fn deltas_rebuild_the_same_history() {
        let mut w = worker();
        w.apply(Delta {
            new_series: vec![named(0, "lr"), named(1, "loss")],
            series: vec![SeriesDelta::default(), col(&[1, 2], &[3.0, f64::NAN])],
            ..Delta::default()
        });
        w.apply(Delta {
            series: vec![col(&[3], &[0.1]), col(&[3], &[1.0])],
            step: 3,
            ..Delta::default()
        });
        let h = w.frame.history();
        let loss = h.get(Split::Train, "loss").unwrap();
        assert_eq!(loss.steps(), &[1, 2, 3]);
        assert_eq!(
            loss.epochs(),
            &[0.1, 0.2, 0.3f32],
            "f32 epochs round-trip exactly"
        );
        assert_eq!(loss.values()[0], 3.0);
        assert!(loss.values()[1].is_nan(), "NaN travels as it came");
        assert_eq!(loss.origin(), Some(Origin::Step));
        assert_eq!(h.get(Split::Train, "lr").unwrap().values(), &[0.1]);
        assert_eq!(w.frame.step(), 3);
    }

    #[test]
    fn a_reset_drops_the_old_copy() {
        let mut w = worker();
        w.apply(Delta {
            new_series: vec![named(0, "loss")],
            series: vec![col(&[1, 2], &[1.0, 2.0])],
            ..Delta::default()
        });
        w.apply(Delta {
            reset: true,
            new_series: vec![named(0, "acc")],
            series: vec![col(&[5], &[0.9])],
            ..Delta::default()
        });
        let h = w.frame.history();
        assert_eq!(h.len(), 1, "only the new history's series remain");
        assert_eq!(h.get(Split::Train, "acc").unwrap().values(), &[0.9]);
    }

    #[test]
    fn renderer_errors_and_panics_are_counted_not_raised() {
        let mut calls = 0;
        let r = move |_: &Frame| -> Result<Vec<RenderedFile>, String> {
            calls += 1;
            if calls == 1 {
                Err("no ink".into())
            } else {
                panic!("boom")
            }
        };
        let shared = Arc::new(Shared::default());
        let mut w = Worker::new(Box::new(r), PathBuf::from("unused"), Arc::clone(&shared));
        w.render(false);
        w.render(true);
        assert_eq!(shared.errors.load(Ordering::Relaxed), 2);
        assert_eq!(shared.renders.load(Ordering::Relaxed), 0);
    }
}
