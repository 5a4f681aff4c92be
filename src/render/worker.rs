//! The background render worker: a named thread (`curvewatch-render`) that keeps its own copy of the
//! run, draws it with a [`Renderer`] when asked, and writes the files atomically into an output folder.
//!
//! The training side (the [`PlotCallback`](crate::callbacks::plot::PlotCallback)) never blocks on it
//! and never copies the whole history per render. It sends *deltas*: the points appended to each series
//! since the last delta the worker accepted, the new diagnoses, a changed stop reason, and the names of
//! new series. The channel holds one delta and is offered with `try_send`. When it is full (the worker
//! is busy and one delta already waits), the offer is refused and counted as a *dropped (coalesced)
//! snapshot*; the sender keeps the refused delta and appends later points to it, so the next accepted
//! delta carries everything since the last accepted one. No point is ever lost, each point is copied
//! once, and a busy worker only means fewer frames. Before drawing, the worker applies every delta
//! that is waiting, so it draws the newest state it has.
//!
//! Failures (a bad output folder, a full disk, a renderer that errs or panics) are logged through
//! `tracing` (target `curvewatch::render`), counted, and returned by [`RenderHandle::finish`]; they
//! never reach the training thread.

use std::fmt;

use crate::control::StopReason;
use crate::diagnosis::Diagnosis;
use crate::history::History;

mod feed;
mod handle;
mod thread;

pub(crate) use feed::Feed;
pub(crate) use handle::spawn;
pub use handle::{RenderFailed, RenderHandle, RenderStats, WorkerError};

/// Draws a [`Frame`] into files (PNG, SVG, ...). Runs on the render thread, never on the training
/// thread, so it may take its time; while it works, the training side coalesces its updates.
///
/// An error is a message saying what went wrong; the worker logs it, counts it and goes on. A panic is
/// caught and handled the same way. Any `FnMut(&Frame) -> Result<Vec<RenderedFile>, String>` closure
/// that is `Send + 'static` is a renderer.
///
/// ```
/// use curvewatch::render::worker::{Frame, RenderedFile, Renderer};
///
/// /// Writes the number of recorded points as text.
/// struct Count;
///
/// impl Renderer for Count {
///     fn render(&mut self, frame: &Frame) -> Result<Vec<RenderedFile>, String> {
///         let text = format!("{} points\n", frame.history().points());
///         Ok(vec![RenderedFile::new("count.txt", text.into_bytes())])
///     }
/// }
///
/// let files = Count.render(&Frame::default()).unwrap();
/// assert_eq!(files[0].bytes, b"0 points\n");
/// ```
pub trait Renderer: Send + 'static {
    /// Draws `frame`; each returned file is written atomically into the output folder.
    fn render(&mut self, frame: &Frame) -> Result<Vec<RenderedFile>, String>;
}

impl<F> Renderer for F
where
    F: FnMut(&Frame) -> Result<Vec<RenderedFile>, String> + Send + 'static,
{
    fn render(&mut self, frame: &Frame) -> Result<Vec<RenderedFile>, String> {
        self(frame)
    }
}

impl fmt::Debug for dyn Renderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Renderer")
    }
}

/// One file a [`Renderer`] produced: a plain file name (no folder) and its contents.
///
/// The worker rejects (and reports) an empty name, `.`, `..`, or a name with `/`, `\` or NUL in it,
/// so a renderer can never write outside the output folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedFile {
    /// File name inside the output folder, e.g. `curves.png`.
    pub path_name: String,
    /// The file's contents.
    pub bytes: Vec<u8>,
}

impl RenderedFile {
    /// A file named `path_name` holding `bytes`.
    pub fn new(path_name: impl Into<String>, bytes: Vec<u8>) -> Self {
        RenderedFile {
            path_name: path_name.into(),
            bytes,
        }
    }

    /// Whether the name is a plain file name the worker accepts (see the type's documentation).
    pub fn has_valid_name(&self) -> bool {
        let n = self.path_name.as_str();
        !n.is_empty() && n != "." && n != ".." && !n.contains(['/', '\\', '\0'])
    }
}

/// What a [`Renderer`] draws: the worker's own copy of the run's history, the diagnoses delivered so
/// far, the stop reason, and where the run was when the frame was taken.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Frame {
    history: History,
    diagnoses: Vec<Diagnosis>,
    stop: Option<StopReason>,
    step: u64,
    epoch: u32,
    is_final: bool,
}

impl Frame {
    /// A frame of `history` with no diagnoses and no stop, at step 0, epoch 0 (for drawing a saved
    /// history, or testing a renderer).
    pub fn new(history: History) -> Self {
        Frame {
            history,
            ..Frame::default()
        }
    }

    /// Sets the diagnoses.
    pub fn with_diagnoses(mut self, diagnoses: Vec<Diagnosis>) -> Self {
        self.diagnoses = diagnoses;
        self
    }

    /// Sets the stop reason.
    pub fn with_stop(mut self, stop: Option<StopReason>) -> Self {
        self.stop = stop;
        self
    }

    /// Sets the position (global step, 0-based epoch).
    pub fn with_position(mut self, step: u64, epoch: u32) -> Self {
        self.step = step;
        self.epoch = epoch;
        self
    }

    /// Marks the frame as the last one of the run.
    pub fn with_final(mut self, is_final: bool) -> Self {
        self.is_final = is_final;
        self
    }

    /// Every metric recorded so far.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The diagnoses delivered so far, in order.
    pub fn diagnoses(&self) -> &[Diagnosis] {
        &self.diagnoses
    }

    /// Why training was asked to stop, if it was.
    pub fn stop(&self) -> Option<&StopReason> {
        self.stop.as_ref()
    }

    /// Global step of the event at which the frame's data was sent.
    pub fn step(&self) -> u64 {
        self.step
    }

    /// Epoch (0-based) of that event.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// Whether this is the run's final frame (drawn at the end of training or at
    /// [`RenderHandle::finish`]).
    pub fn is_final(&self) -> bool {
        self.is_final
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_must_stay_inside_the_folder() {
        let cases = [
            ("curves.png", true, "a plain name is fine"),
            (".hidden.svg", true, "a leading dot is still a plain name"),
            ("", false, "an empty name names the folder itself"),
            (".", false, "`.` is the folder"),
            ("..", false, "`..` leaves the folder"),
            ("a/b.png", false, "a slash would write into a subfolder"),
            ("../x.png", false, "a relative path escapes the folder"),
            ("a\\b.png", false, "a backslash is a separator on Windows"),
            ("a\0b", false, "NUL cannot be in a file name"),
        ];
        for (name, ok, why) in cases {
            assert_eq!(
                RenderedFile::new(name, Vec::new()).has_valid_name(),
                ok,
                "{why}"
            );
        }
    }

    #[test]
    fn closures_are_renderers() {
        let mut calls = 0;
        let mut r = move |f: &Frame| {
            calls += 1;
            Ok(vec![RenderedFile::new(
                format!("{calls}-{}.txt", f.step()),
                Vec::new(),
            )])
        };
        let frame = Frame::default().with_position(7, 1);
        assert_eq!(r.render(&frame).unwrap()[0].path_name, "1-7.txt");
        assert_eq!(r.render(&frame).unwrap()[0].path_name, "2-7.txt");
    }

    #[allow(dead_code)]
    fn public_types_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Frame>();
        check::<RenderedFile>();
        check::<RenderHandle>();
        check::<RenderStats>();
        check::<RenderFailed>();
    }
}
