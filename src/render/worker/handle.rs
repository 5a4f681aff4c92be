//! Starting the render thread, the counters it shares, and the [`RenderHandle`] that finishes it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Sender};

use super::feed::{Delta, Feed};
use super::thread::{self, Worker};
use super::Renderer;

/// Errors kept for [`RenderFailed`]; later ones are only counted.
const KEPT_ERRORS: usize = 16;

/// Name of the render thread.
const THREAD_NAME: &str = "curvewatch-render";

/// What went wrong on the render side. None of these stops training.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerError {
    /// The operating system refused to start the render thread.
    #[error("could not start the render thread: {message}")]
    Spawn {
        /// The operating system's error.
        message: String,
    },
    /// The renderer returned an error.
    #[error("the renderer failed at step {step}: {message}")]
    Renderer {
        /// Step of the frame being drawn.
        step: u64,
        /// The renderer's message.
        message: String,
    },
    /// The renderer panicked (the thread survives it).
    #[error("the renderer panicked at step {step}: {message}")]
    Panicked {
        /// Step of the frame being drawn.
        step: u64,
        /// The panic message.
        message: String,
    },
    /// The renderer returned a file name that is not a plain name inside the output folder.
    #[error("the renderer returned an invalid file name {name:?} (a plain name without separators is required)")]
    FileName {
        /// The rejected name.
        name: String,
    },
    /// The output folder could not be created or a file could not be written (bad path, full disk).
    #[error("could not write {}: {message}", path.display())]
    Write {
        /// The folder or file involved.
        path: PathBuf,
        /// The operating system's error.
        message: String,
    },
    /// [`RenderHandle::finish_within`] gave up waiting for the thread.
    #[error("the render thread did not finish within {waited:?}")]
    Timeout {
        /// How long it waited.
        waited: Duration,
    },
}

/// Counters of the render worker, read at any time through [`RenderHandle::stats`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RenderStats {
    /// Frames drawn and written without error.
    pub renders: u64,
    /// Deltas the worker accepted.
    pub snapshots_sent: u64,
    /// Offers refused because the worker was busy; their data went with a later delta.
    pub snapshots_dropped: u64,
    /// Render, panic and write errors.
    pub errors: u64,
    /// Files written.
    pub files_written: u64,
}

/// The render side failed at least once: the errors (the first 16) and the final counters.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} render error(s){}", stats.errors.max(errors.len() as u64), first_error(errors))]
pub struct RenderFailed {
    /// The counters at the end.
    pub stats: RenderStats,
    /// The first errors, in order (a timeout comes last).
    pub errors: Vec<WorkerError>,
}

fn first_error(errors: &[WorkerError]) -> String {
    errors
        .first()
        .map_or_else(String::new, |e| format!("; first: {e}"))
}

/// State shared by the feed, the thread and the handles.
#[derive(Default)]
pub(crate) struct Shared {
    pub renders: AtomicU64,
    pub sent: AtomicU64,
    pub dropped: AtomicU64,
    pub errors: AtomicU64,
    pub files: AtomicU64,
    pub finish_requested: AtomicBool,
    kept: Mutex<Vec<WorkerError>>,
    /// Changes that could not be sent after training ended; drawn at finish.
    leftover: Mutex<Option<Delta>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// Counts an error, keeps it if there is room, and logs it (1st-3rd, then every power of ten).
    pub fn record_error(&self, error: WorkerError) {
        let count = self.errors.fetch_add(1, Ordering::Relaxed) + 1;
        if should_log(count) {
            tracing::error!(target: "curvewatch::render", count, "{error}");
        }
        let mut kept = lock(&self.kept);
        if kept.len() < KEPT_ERRORS {
            kept.push(error);
        }
    }

    /// Adds a delta to the leftover, drawn when the worker finishes.
    pub fn stash(&self, delta: Delta) {
        let mut slot = lock(&self.leftover);
        match slot.as_mut() {
            Some(old) => old.merge(delta),
            None => *slot = Some(delta),
        }
    }

    /// Takes the leftover, if any.
    pub fn take_leftover(&self) -> Option<Delta> {
        lock(&self.leftover).take()
    }

    fn stats(&self) -> RenderStats {
        RenderStats {
            renders: self.renders.load(Ordering::Relaxed),
            snapshots_sent: self.sent.load(Ordering::Relaxed),
            snapshots_dropped: self.dropped.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            files_written: self.files.load(Ordering::Relaxed),
        }
    }
}

/// The 1st, 2nd, 3rd, 10th, 100th... error is logged.
fn should_log(count: u64) -> bool {
    let mut c = count;
    while c >= 10 && c % 10 == 0 {
        c /= 10;
    }
    count <= 3 || c == 1
}

/// A cheap, cloneable handle on the render worker: its counters, and [`finish`](RenderHandle::finish).
///
/// The worker also ends by itself, after a last render, when its
/// [`PlotCallback`](crate::callbacks::plot::PlotCallback) is dropped.
#[derive(Clone)]
pub struct RenderHandle {
    shared: Arc<Shared>,
    ctrl: Sender<()>,
}

impl std::fmt::Debug for RenderHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderHandle")
            .field("stats", &self.stats())
            .finish()
    }
}

impl RenderHandle {
    /// The counters now (renders, snapshots sent and dropped, errors, files written).
    pub fn stats(&self) -> RenderStats {
        self.shared.stats()
    }

    /// Asks the worker to draw what it has not drawn yet (a final frame), waits for the thread to end,
    /// and returns the counters, or every error the render side met. Waits for a render in progress;
    /// see [`finish_within`](RenderHandle::finish_within) to bound the wait.
    ///
    /// Calling it again returns the same outcome without waiting. Call it after training: the worker
    /// stops accepting data once it finished.
    pub fn finish(&self) -> Result<RenderStats, RenderFailed> {
        self.finish_inner(None)
    }

    /// Like [`finish`](RenderHandle::finish), but gives up after `timeout` with
    /// [`WorkerError::Timeout`] (the thread is left to end on its own).
    pub fn finish_within(&self, timeout: Duration) -> Result<RenderStats, RenderFailed> {
        self.finish_inner(Some(timeout))
    }

    fn finish_inner(&self, timeout: Option<Duration>) -> Result<RenderStats, RenderFailed> {
        self.shared.finish_requested.store(true, Ordering::Relaxed);
        // Capacity 1: a second request finds it full, which is fine.
        let _ = self.ctrl.try_send(());
        let joined = lock(&self.shared.thread).take();
        let mut timed_out = None;
        if let Some(thread) = joined {
            match timeout {
                None => self.join(thread),
                Some(t) => match wait_until_finished(thread, t) {
                    Ok(thread) => self.join(thread),
                    Err(thread) => {
                        *lock(&self.shared.thread) = Some(thread);
                        timed_out = Some(WorkerError::Timeout { waited: t });
                    }
                },
            }
        }
        let stats = self.shared.stats();
        let mut errors = lock(&self.shared.kept).clone();
        errors.extend(timed_out);
        if errors.is_empty() && stats.errors == 0 {
            Ok(stats)
        } else {
            Err(RenderFailed { stats, errors })
        }
    }

    fn join(&self, thread: JoinHandle<()>) {
        if thread.join().is_err() {
            self.shared.record_error(WorkerError::Panicked {
                step: 0,
                message: "the render thread itself panicked".into(),
            });
        }
    }
}

/// Polls the thread until it ended (`Ok`) or `timeout` passed (`Err`, handing the thread back).
fn wait_until_finished(
    thread: JoinHandle<()>,
    timeout: Duration,
) -> Result<JoinHandle<()>, JoinHandle<()>> {
    let deadline = Instant::now() + timeout;
    while !thread.is_finished() {
        if Instant::now() >= deadline {
            return Err(thread);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(thread)
}

/// Starts the render thread writing into `out_dir`; returns the feed (for the training side) and a
/// handle. The thread logs through the subscriber that was current where it was spawned.
pub(crate) fn spawn(
    out_dir: PathBuf,
    renderer: Box<dyn Renderer>,
) -> Result<(Feed, RenderHandle), WorkerError> {
    // One delta may wait while the worker draws; later offers are refused and coalesced.
    let (data_tx, data_rx) = bounded::<Delta>(1);
    let (ctrl_tx, ctrl_rx) = bounded::<()>(1);
    let shared = Arc::new(Shared::default());
    let worker = Worker::new(renderer, out_dir, Arc::clone(&shared));
    let dispatch = tracing::dispatcher::get_default(|d| d.clone());
    let thread = std::thread::Builder::new()
        .name(THREAD_NAME.to_owned())
        .spawn(move || {
            tracing::dispatcher::with_default(&dispatch, || thread::run(worker, data_rx, ctrl_rx))
        })
        .map_err(|e| WorkerError::Spawn {
            message: e.to_string(),
        })?;
    *lock(&shared.thread) = Some(thread);
    let feed = Feed::new(data_tx, Arc::clone(&shared));
    Ok((
        feed,
        RenderHandle {
            shared,
            ctrl: ctrl_tx,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_logging_thins_out() {
        let logged: Vec<u64> = (1..=2000).filter(|&c| should_log(c)).collect();
        assert_eq!(logged, vec![1, 2, 3, 10, 100, 1000]);
    }

    #[test]
    fn only_the_first_errors_are_kept_but_all_are_counted() {
        let shared = Shared::default();
        for step in 0..20 {
            shared.record_error(WorkerError::Renderer {
                step,
                message: "x".into(),
            });
        }
        assert_eq!(shared.stats().errors, 20);
        let kept = lock(&shared.kept);
        assert_eq!(kept.len(), KEPT_ERRORS);
        assert_eq!(
            kept[0],
            WorkerError::Renderer {
                step: 0,
                message: "x".into()
            },
            "the first error is kept"
        );
    }

    #[test]
    fn failure_message_counts_and_names_the_first_error() {
        let f = RenderFailed {
            stats: RenderStats {
                errors: 3,
                ..RenderStats::default()
            },
            errors: vec![WorkerError::FileName { name: "a/b".into() }],
        };
        assert_eq!(
            f.to_string(),
            "3 render error(s); first: the renderer returned an invalid file name \"a/b\" \
             (a plain name without separators is required)"
        );
    }
}
