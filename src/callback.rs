//! The [`Callback`] trait: one method per lifecycle event, each a no-op by default.

use std::any::Any;
use std::fmt;

use crate::context::Context;
use crate::diagnosis::Diagnosis;
use crate::event::{EpochBegin, EpochEnd, EvalEnd, Split, StepEnd, TrainBegin, TrainEnd};

/// What a hook returns: `Ok(())`, or an error the bus reports and handles by its
/// [`FaultPolicy`](crate::FaultPolicy).
pub type CallbackResult = Result<(), CallbackError>;

/// A callback's failure, reported by the bus with the callback's name and the event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CallbackError {
    message: String,
}

impl CallbackError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        CallbackError {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<serde_json::Error> for CallbackError {
    fn from(e: serde_json::Error) -> Self {
        CallbackError::new(format!("state (de)serialisation failed: {e}"))
    }
}

impl From<std::io::Error> for CallbackError {
    fn from(e: std::io::Error) -> Self {
        CallbackError::new(e.to_string())
    }
}

/// Something that watches the training loop. Every hook has a no-op default; implement the ones you need.
///
/// Hooks run synchronously on the training thread, in the order callbacks were added to the
/// [`Bus`](crate::Bus), after the event's metrics were recorded into the history. Keep them cheap (O(1)
/// per step); move I/O and heavy work to another thread. Read the run through
/// [`Context::history`](crate::Context::history); ask for a stop or a new learning rate through the
/// context; report findings with [`Context::emit`](crate::Context::emit).
///
/// A callback whose state matters for its decisions (a patience counter, a best value, an EMA) implements
/// [`save_state`](Callback::save_state) and [`load_state`](Callback::load_state), so that a resumed run
/// decides exactly as an uninterrupted one.
///
/// ```
/// use curvewatch::{Bus, Callback, CallbackResult, Context, Split, StepEnd};
///
/// /// Stops when the loss drops below a target.
/// struct Target(f64);
///
/// impl Callback for Target {
///     fn on_step_end(&mut self, ctx: &mut Context<'_>, ev: &StepEnd<'_>) -> CallbackResult {
///         let loss = ctx.key(Split::Train, "loss");
///         if ev.metric(loss).is_some_and(|l| l < self.0) {
///             ctx.stop("target_reached", format!("loss below {}", self.0));
///         }
///         Ok(())
///     }
/// }
///
/// let mut bus = Bus::new();
/// bus.add(Target(0.5));
/// let loss = bus.metric(Split::Train, "loss");
/// assert!(!bus.step_end(&StepEnd::new(1, &[(loss, 0.9)])).unwrap().should_stop());
/// assert!(bus.step_end(&StepEnd::new(2, &[(loss, 0.4)])).unwrap().should_stop());
/// assert_eq!(bus.stop_reason().unwrap().rule, "target_reached");
/// ```
pub trait Callback: Send {
    /// The name used in stop reasons, fault reports and checkpoints; `None` uses the type's name.
    fn name(&self) -> Option<String> {
        None
    }

    /// Notifies this callback that training begins (or resumes).
    fn on_train_begin(&mut self, _ctx: &mut Context<'_>, _ev: &TrainBegin) -> CallbackResult {
        Ok(())
    }

    /// Notifies this callback that an epoch begins.
    fn on_epoch_begin(&mut self, _ctx: &mut Context<'_>, _ev: &EpochBegin) -> CallbackResult {
        Ok(())
    }

    /// Which step events this callback needs; the bus skips the others without calling it. Asked once,
    /// when the callback is added to a bus (so it must follow from the configuration, not the state).
    /// The default, [`StepFilter::Every`], is always correct; a narrower filter saves a call per step
    /// for callbacks that only act on steps carrying their metric.
    fn step_filter(&self) -> StepFilter {
        StepFilter::Every
    }

    /// Notifies this callback that a training step ended; its metrics are already in the history.
    fn on_step_end(&mut self, _ctx: &mut Context<'_>, _ev: &StepEnd<'_>) -> CallbackResult {
        Ok(())
    }

    /// Notifies this callback that an evaluation ended; its metrics are already in the history.
    fn on_eval_end(&mut self, _ctx: &mut Context<'_>, _ev: &EvalEnd<'_>) -> CallbackResult {
        Ok(())
    }

    /// Notifies this callback that an epoch ended.
    fn on_epoch_end(&mut self, _ctx: &mut Context<'_>, _ev: &EpochEnd<'_>) -> CallbackResult {
        Ok(())
    }

    /// Notifies this callback that training ended (finished, stopped, or abandoned).
    fn on_train_end(&mut self, _ctx: &mut Context<'_>, _ev: &TrainEnd) -> CallbackResult {
        Ok(())
    }

    /// Notifies this callback of a diagnosis emitted by any callback (itself included).
    fn on_diagnosis(&mut self, _ctx: &mut Context<'_>, _diagnosis: &Diagnosis) -> CallbackResult {
        Ok(())
    }

    /// The state this callback needs to resume, or `None` if it keeps none.
    fn save_state(&self) -> Result<Option<serde_json::Value>, CallbackError> {
        Ok(None)
    }

    /// Restores state written by [`save_state`](Callback::save_state).
    fn load_state(&mut self, _state: serde_json::Value) -> CallbackResult {
        Ok(())
    }

    /// This callback as `Any`, so that [`Bus::callback`](crate::Bus::callback) can hand it back by type
    /// after the run (to read a verdict, a best value). Implement as `Some(self)`; `None` by default.
    fn as_any(&self) -> Option<&dyn Any> {
        None
    }
}

impl fmt::Debug for dyn Callback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Callback({:?})", self.name())
    }
}

/// A boxed callback is a callback.
impl<C: Callback + ?Sized> Callback for Box<C> {
    fn name(&self) -> Option<String> {
        (**self).name()
    }
    fn on_train_begin(&mut self, ctx: &mut Context<'_>, ev: &TrainBegin) -> CallbackResult {
        (**self).on_train_begin(ctx, ev)
    }
    fn on_epoch_begin(&mut self, ctx: &mut Context<'_>, ev: &EpochBegin) -> CallbackResult {
        (**self).on_epoch_begin(ctx, ev)
    }
    fn step_filter(&self) -> StepFilter {
        (**self).step_filter()
    }
    fn on_step_end(&mut self, ctx: &mut Context<'_>, ev: &StepEnd<'_>) -> CallbackResult {
        (**self).on_step_end(ctx, ev)
    }
    fn on_eval_end(&mut self, ctx: &mut Context<'_>, ev: &EvalEnd<'_>) -> CallbackResult {
        (**self).on_eval_end(ctx, ev)
    }
    fn on_epoch_end(&mut self, ctx: &mut Context<'_>, ev: &EpochEnd<'_>) -> CallbackResult {
        (**self).on_epoch_end(ctx, ev)
    }
    fn on_train_end(&mut self, ctx: &mut Context<'_>, ev: &TrainEnd) -> CallbackResult {
        (**self).on_train_end(ctx, ev)
    }
    fn on_diagnosis(&mut self, ctx: &mut Context<'_>, d: &Diagnosis) -> CallbackResult {
        (**self).on_diagnosis(ctx, d)
    }
    fn save_state(&self) -> Result<Option<serde_json::Value>, CallbackError> {
        (**self).save_state()
    }
    fn load_state(&mut self, state: serde_json::Value) -> CallbackResult {
        (**self).load_state(state)
    }
    fn as_any(&self) -> Option<&dyn Any> {
        (**self).as_any()
    }
}

/// Which step events a callback needs ([`Callback::step_filter`]); the bus skips the others.
///
/// A skipped step costs the bus one integer test instead of a call. The filter only narrows
/// [`Callback::on_step_end`]: every other event reaches every callback.
///
/// ```
/// use curvewatch::{Bus, Callback, CallbackResult, Context, Split, StepEnd, StepFilter};
///
/// #[derive(Default)]
/// struct CountLossSteps(u32);
/// impl Callback for CountLossSteps {
///     fn step_filter(&self) -> StepFilter {
///         StepFilter::carrying(Split::Train, "loss")
///     }
///     fn on_step_end(&mut self, _: &mut Context<'_>, _: &StepEnd<'_>) -> CallbackResult {
///         self.0 += 1;
///         Ok(())
///     }
///     fn as_any(&self) -> Option<&dyn std::any::Any> {
///         Some(self)
///     }
/// }
///
/// let mut bus = Bus::new().with(CountLossSteps::default());
/// let (loss, tokens) = (bus.metric(Split::Train, "loss"), bus.metric(Split::Train, "tokens"));
/// bus.step_end(&StepEnd::new(1, &[(tokens, 512.0)])).unwrap(); // skipped: no loss
/// bus.step_end(&StepEnd::new(2, &[(tokens, 512.0), (loss, 2.5)])).unwrap();
/// assert_eq!(bus.callback::<CountLossSteps>().unwrap().0, 1);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum StepFilter {
    /// Every step event (the default).
    #[default]
    Every,
    /// Only the steps whose metrics include at least one of these `(split, name)` metrics.
    Carrying(Vec<(Split, String)>),
    /// No step event: the callback acts on evaluations, epochs and the ends of the run only.
    Never,
}

impl StepFilter {
    /// Only the steps that carry `split/name`.
    pub fn carrying(split: Split, name: &str) -> Self {
        StepFilter::Carrying(vec![(split, name.to_owned())])
    }
}

/// Serialises a callback's state for [`Callback::save_state`].
pub fn state_to_value<T: serde::Serialize>(
    state: &T,
) -> Result<Option<serde_json::Value>, CallbackError> {
    Ok(Some(serde_json::to_value(state)?))
}

/// Deserialises a callback's state for [`Callback::load_state`].
pub fn state_from_value<T: serde::de::DeserializeOwned>(
    state: serde_json::Value,
) -> Result<T, CallbackError> {
    Ok(serde_json::from_value(state)?)
}
