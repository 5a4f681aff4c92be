//! [`PlotCallback`]: draws the learning curves on a background thread while training runs.

use std::any::Any;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::callback::{Callback, CallbackResult};
use crate::context::Context;
use crate::diagnosis::Diagnosis;
use crate::event::{EpochEnd, StepEnd, TrainBegin, TrainEnd};
use crate::render::worker::{self, Feed, RenderHandle, Renderer, WorkerError};

/// How often the [`PlotCallback`] draws, and how it reads the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlotOptions {
    interval: Duration,
    check_every: NonZeroU32,
    flush_timeout: Duration,
}

impl Default for PlotOptions {
    /// A render at most every 2 s, the clock read every 64 steps, up to 60 s to hand over the last frame.
    fn default() -> Self {
        PlotOptions {
            interval: Duration::from_secs(2),
            check_every: NonZeroU32::new(64).unwrap_or(NonZeroU32::MIN),
            flush_timeout: Duration::from_secs(60),
        }
    }
}

impl PlotOptions {
    /// At most one render per `interval`, at steps or epoch ends, whichever comes first after the
    /// interval has passed (the end of training always renders). `Duration::ZERO` renders whenever
    /// the worker is free.
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// Reads the clock only every `steps` steps (a clock read costs 20-40 ns; a counter, about 1 ns).
    pub fn with_check_every(mut self, steps: NonZeroU32) -> Self {
        self.check_every = steps;
        self
    }

    /// How long the end of training may wait for a busy renderer to take the last data; after that
    /// the data is drawn at [`RenderHandle::finish`] instead.
    pub fn with_flush_timeout(mut self, timeout: Duration) -> Self {
        self.flush_timeout = timeout;
        self
    }

    /// The minimum time between two renders within an epoch.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Steps between clock reads.
    pub fn check_every(&self) -> NonZeroU32 {
        self.check_every
    }

    /// The longest wait at the end of training.
    pub fn flush_timeout(&self) -> Duration {
        self.flush_timeout
    }
}

/// Sends the run to a background render thread, which draws it with a [`Renderer`] into an output
/// folder: at most once per interval (at a step or an epoch end), and at the end of training.
///
/// The training thread never waits: on a step it decrements a counter, reads the clock every
/// [`check_every`](PlotOptions::with_check_every) steps, and when the interval has passed offers the
/// points added since the last accepted offer (see [`render::worker`](crate::render::worker)). A busy
/// renderer only means fewer, fresher frames. Diagnoses and the stop reason go with the next offer.
/// At the end of training the last data is handed over (waiting at most the
/// [flush timeout](PlotOptions::with_flush_timeout)); then call [`RenderHandle::finish`] to wait for
/// the last frame and collect errors. A bad folder or a full disk is logged (target
/// `curvewatch::render`), counted and returned by `finish`; training goes on.
///
/// ```
/// use curvewatch::callbacks::plot::PlotCallback;
/// use curvewatch::render::worker::{Frame, RenderedFile};
/// use curvewatch::{Bus, Split, StepEnd, TrainBegin, TrainEnd};
///
/// let dir = std::env::temp_dir().join(format!("curvewatch-doc-plot-{}", std::process::id()));
/// let renderer = |f: &Frame| -> Result<Vec<RenderedFile>, String> {
///     Ok(vec![RenderedFile::new("points.txt", f.history().points().to_string().into_bytes())])
/// };
/// let plot = PlotCallback::new(&dir, Box::new(renderer)).unwrap();
/// let handle = plot.handle();
/// let mut bus = Bus::new().with(plot);
/// let loss = bus.metric(Split::Train, "loss");
/// bus.train_begin(&TrainBegin::new()).unwrap();
/// for step in 1..=100 {
///     bus.step_end(&StepEnd::new(step, &[(loss, 1.0 / step as f64)])).unwrap();
/// }
/// bus.train_end(&TrainEnd::new(100, 0)).unwrap();
/// let stats = handle.finish().unwrap();
/// assert!(stats.renders >= 1);
/// assert_eq!(std::fs::read_to_string(dir.join("points.txt")).unwrap(), "100");
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub struct PlotCallback {
    feed: Feed,
    handle: RenderHandle,
    out_dir: PathBuf,
    options: PlotOptions,
    every: EveryN,
    last_offer: Instant,
}

/// Fires on every `n`th call: a countdown, about 1 ns per call.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EveryN {
    n: u32,
    left: u32,
}

impl EveryN {
    /// Fires on calls `n`, `2n`, `3n`...
    pub(crate) fn new(n: NonZeroU32) -> Self {
        EveryN {
            n: n.get(),
            left: n.get(),
        }
    }

    /// Counts one call; `true` on every `n`th.
    #[inline]
    pub(crate) fn tick(&mut self) -> bool {
        self.left -= 1;
        if self.left == 0 {
            self.left = self.n;
            true
        } else {
            false
        }
    }

    /// Starts a new round: the next firing is `n` calls away.
    pub(crate) fn restart(&mut self) {
        self.left = self.n;
    }
}

impl std::fmt::Debug for PlotCallback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlotCallback")
            .field("out_dir", &self.out_dir)
            .field("options", &self.options)
            .field("handle", &self.handle)
            .finish()
    }
}

impl PlotCallback {
    /// Starts a render thread drawing with `renderer` into `out_dir` (created when first written),
    /// with [`PlotOptions::default`]. Fails only if the thread cannot be started.
    pub fn new(
        out_dir: impl AsRef<Path>,
        renderer: Box<dyn Renderer>,
    ) -> Result<Self, WorkerError> {
        Self::with_options(out_dir, renderer, PlotOptions::default())
    }

    /// Like [`new`](PlotCallback::new), with `options`.
    pub fn with_options(
        out_dir: impl AsRef<Path>,
        renderer: Box<dyn Renderer>,
        options: PlotOptions,
    ) -> Result<Self, WorkerError> {
        let out_dir = out_dir.as_ref().to_owned();
        let (feed, handle) = worker::spawn(out_dir.clone(), renderer)?;
        Ok(PlotCallback {
            feed,
            handle,
            out_dir,
            options,
            every: EveryN::new(options.check_every),
            last_offer: Instant::now(),
        })
    }

    /// A handle on the worker (counters and `finish`); cheap to clone, usable after the bus is gone.
    pub fn handle(&self) -> RenderHandle {
        self.handle.clone()
    }

    /// The folder the files are written into.
    pub fn out_dir(&self) -> &Path {
        &self.out_dir
    }

    /// The options in force.
    pub fn options(&self) -> &PlotOptions {
        &self.options
    }

    /// Offers the data now; an accepted offer restarts the interval.
    fn offer(&mut self, ctx: &Context<'_>, forced: bool) {
        if self.feed.offer(ctx, forced) {
            self.last_offer = Instant::now();
        }
    }
}

impl Callback for PlotCallback {
    fn name(&self) -> Option<String> {
        Some("plot".to_owned())
    }

    fn on_train_begin(&mut self, ctx: &mut Context<'_>, _ev: &TrainBegin) -> CallbackResult {
        self.feed.restart(ctx);
        self.last_offer = Instant::now();
        self.every.restart();
        Ok(())
    }

    #[inline]
    fn on_step_end(&mut self, ctx: &mut Context<'_>, _ev: &StepEnd<'_>) -> CallbackResult {
        if !self.every.tick() {
            return Ok(());
        }
        if self.feed.wants_retry() || self.last_offer.elapsed() >= self.options.interval {
            self.offer(ctx, false);
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, ctx: &mut Context<'_>, _ev: &EpochEnd<'_>) -> CallbackResult {
        // An epoch end is a good moment for a frame, but still at most one per interval: with
        // epochs of a few milliseconds, a frame per epoch would keep the render thread (and a
        // core) busy all the time.
        if self.feed.wants_retry() || self.last_offer.elapsed() >= self.options.interval {
            self.offer(ctx, true);
        }
        Ok(())
    }

    fn on_train_end(&mut self, ctx: &mut Context<'_>, _ev: &TrainEnd) -> CallbackResult {
        self.feed.flush(ctx, self.options.flush_timeout);
        Ok(())
    }

    fn on_diagnosis(&mut self, _ctx: &mut Context<'_>, diagnosis: &Diagnosis) -> CallbackResult {
        self.feed.push_diagnosis(diagnosis);
        Ok(())
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_n_fires_on_each_nth_call() {
        let cases = [
            (1, 5, vec![1, 2, 3, 4, 5], "n = 1 fires on every call"),
            (2, 5, vec![2, 4], "n = 2 fires on even calls"),
            (
                4,
                9,
                vec![4, 8],
                "n = 4: the 9th call is one into the next round",
            ),
        ];
        for (n, calls, expected, why) in cases {
            let mut every = EveryN::new(NonZeroU32::new(n).unwrap());
            let fired: Vec<u32> = (1..=calls).filter(|_| every.tick()).collect();
            assert_eq!(fired, expected, "{why}");
        }
    }

    #[test]
    fn every_n_restarts_its_round() {
        let mut every = EveryN::new(NonZeroU32::new(3).unwrap());
        assert!(!every.tick());
        assert!(!every.tick());
        every.restart();
        let fired: Vec<u32> = (1..=3).filter(|_| every.tick()).collect();
        assert_eq!(fired, vec![3], "a restart starts a full round");
    }

    #[test]
    fn default_options_match_their_documentation() {
        let o = PlotOptions::default();
        assert_eq!(o.interval(), Duration::from_secs(2));
        assert_eq!(o.check_every().get(), 64);
        assert_eq!(o.flush_timeout(), Duration::from_secs(60));
    }
}
