//! # curvewatch-tch
//!
//! [tch-rs](https://github.com/LaurentMazare/tch-rs) (libtorch 2.13.0) adapter for
//! [curvewatch](curvewatch): feeds a training loop's loss tensors, metrics and learning rate into a
//! [`curvewatch::Bus`], applies the bus's learning-rate requests to the optimizer, and stops on its
//! decision.
//!
//! - [`scalar`] reads a one-element tensor as an `f64`, NaN and infinities kept (the guards act on
//!   them).
//! - [`TrackedOptimizer`] wraps a `tch::nn::Optimizer` and knows its learning rate (tch offers
//!   `set_lr` but no getter).
//! - [`TchRun`] owns the bus and the optimizer, counts steps and epochs, and records `train/loss`,
//!   `train/lr`, `train/grad_norm`, `train/epoch_loss` and `valid/loss`; use it from your own loop.
//! - [`Fit`] is a ready loop over a [`Task`] (forward pass per batch, validation loss) that returns
//!   the stop reason; [`WarmupCosine`] is the usual LLM schedule for it.
//!
//! ```
//! use curvewatch::callbacks::Preset;
//! use curvewatch_tch::{Fit, Task, TchError, TchRun, TrackedOptimizer};
//! use tch::nn::{self, Module};
//! use tch::{Kind, Reduction, Tensor};
//!
//! struct Regression { net: nn::Linear, x: Tensor, y: Tensor }
//! impl Task for Regression {
//!     fn train_loss(&mut self, _epoch: u32, batch: usize) -> Result<Option<Tensor>, TchError> {
//!         Ok((batch < 4).then(|| self.net.forward(&self.x).mse_loss(&self.y, Reduction::Mean)))
//!     }
//!     fn valid_loss(&mut self, _epoch: u32) -> Result<Option<Tensor>, TchError> {
//!         Ok(Some(self.net.forward(&self.x).mse_loss(&self.y, Reduction::Mean)))
//!     }
//! }
//!
//! let vs = nn::VarStore::new(tch::Device::Cpu);
//! let net = nn::linear(vs.root(), 3, 1, Default::default());
//! let x = Tensor::randn([32, 3], (Kind::Float, tch::Device::Cpu));
//! let y = x.sum_dim_intlist(1, true, Kind::Float);
//! let opt = TrackedOptimizer::build(nn::Adam::default(), &vs, 1e-2)?;
//! let mut run = TchRun::with_preset(Preset::standard(), opt);
//! let outcome = Fit::new(100).run(&mut run, &mut Regression { net, x, y })?;
//! match outcome.stop {
//!     Some(reason) => println!("stopped early: {reason}"),
//!     None => println!("ran all {} epochs", outcome.epochs),
//! }
//! # Ok::<(), TchError>(())
//! ```
//!
//! Building needs libtorch 2.13.0: run `eval "$(scripts/setup-libtorch.sh)"` at the repository root
//! first (see this crate's README).
#![warn(missing_docs)]

mod error;
mod fit;
mod optimizer;
mod run;
mod scalar;
mod schedule;

pub use error::TchError;
pub use fit::{Fit, FitOutcome, Task};
pub use optimizer::TrackedOptimizer;
pub use run::TchRun;
pub use scalar::scalar;
pub use schedule::WarmupCosine;
