//! [`TrackedOptimizer`]: a tch optimizer that remembers its learning rate and obeys the bus.
//!
//! `tch::nn::Optimizer` can set a learning rate but not report one, so this wrapper owns the optimizer
//! and every change of rate goes through it: the rate it reports is the rate in force.

use curvewatch::Decision;
use tch::nn::{Optimizer, OptimizerConfig, VarStore};
use tch::Tensor;

use crate::error::TchError;
use crate::scalar::scalar;

/// A `tch::nn::Optimizer` plus the learning rate it was last given.
///
/// ```
/// use curvewatch_tch::TrackedOptimizer;
/// use tch::nn::{self, OptimizerConfig};
///
/// let vs = nn::VarStore::new(tch::Device::Cpu);
/// let mut opt = TrackedOptimizer::build(nn::Adam::default(), &vs, 1e-3)?;
/// assert_eq!(opt.lr(), 1e-3);
/// opt.set_lr(5e-4)?;
/// assert_eq!(opt.lr(), 5e-4);
/// # Ok::<(), curvewatch_tch::TchError>(())
/// ```
pub struct TrackedOptimizer {
    opt: Optimizer,
    lr: f64,
}

impl TrackedOptimizer {
    /// Builds an optimizer from a tch config over `vs`'s trainable variables, at learning rate `lr`.
    ///
    /// # Errors
    /// [`TchError::Lr`] for a negative or non-finite rate; [`TchError::Torch`] if libtorch refuses.
    pub fn build<C: OptimizerConfig>(config: C, vs: &VarStore, lr: f64) -> Result<Self, TchError> {
        check_lr(lr)?;
        Ok(TrackedOptimizer {
            opt: config.build(vs, lr)?,
            lr,
        })
    }

    /// Wraps an existing optimizer and sets its learning rate to `lr`, so that the tracked rate is
    /// the real one whatever the optimizer held before.
    ///
    /// # Errors
    /// [`TchError::Lr`] for a negative or non-finite rate.
    pub fn new(mut opt: Optimizer, lr: f64) -> Result<Self, TchError> {
        check_lr(lr)?;
        opt.set_lr(lr);
        Ok(TrackedOptimizer { opt, lr })
    }

    /// The learning rate in force.
    pub fn lr(&self) -> f64 {
        self.lr
    }

    /// Sets the learning rate of every parameter group (no-op when it is already `lr`).
    ///
    /// # Errors
    /// [`TchError::Lr`] for a negative or non-finite rate (the optimizer keeps its rate).
    pub fn set_lr(&mut self, lr: f64) -> Result<(), TchError> {
        check_lr(lr)?;
        if lr != self.lr {
            self.opt.set_lr(lr);
            self.lr = lr;
        }
        Ok(())
    }

    /// Applies the decision's learning-rate request, if it has one; returns the rate applied.
    ///
    /// # Errors
    /// [`TchError::Lr`] if a callback asked for a negative or non-finite rate (nothing changes).
    pub fn apply(&mut self, decision: &Decision) -> Result<Option<f64>, TchError> {
        match decision.new_lr() {
            Some(lr) => self.set_lr(lr).map(|()| Some(lr)),
            None => Ok(None),
        }
    }

    /// Zeroes the gradients.
    pub fn zero_grad(&mut self) {
        self.opt.zero_grad();
    }

    /// Updates the parameters from their gradients.
    pub fn step(&mut self) {
        self.opt.step();
    }

    /// Zeroes the gradients, back-propagates `loss`, and updates the parameters.
    pub fn backward_step(&mut self, loss: &Tensor) {
        self.opt.backward_step(loss);
    }

    /// The L2 norm of all gradients together (as if concatenated); 0 when there are none.
    ///
    /// Costs one small reduction per parameter and one read of the result.
    ///
    /// # Errors
    /// [`TchError::Torch`] if libtorch cannot compute it.
    pub fn grad_norm(&self) -> Result<f64, TchError> {
        tch::no_grad(|| {
            let norms: Vec<Tensor> = self
                .opt
                .trainable_variables()
                .iter()
                .map(Tensor::grad)
                .filter(Tensor::defined)
                .map(|g| g.norm())
                .collect();
            if norms.is_empty() {
                return Ok(0.0);
            }
            scalar(&Tensor::f_stack(&norms, 0)?.norm(), "gradient norm")
        })
    }

    /// Scales the gradients down so that their global L2 norm is at most `max`; returns the norm
    /// before clipping (a `train/grad_norm` value, computed once for both uses). A non-finite norm
    /// leaves the gradients as they are.
    ///
    /// # Errors
    /// [`TchError::Torch`] if libtorch cannot compute the norm.
    pub fn clip_grad_norm(&mut self, max: f64) -> Result<f64, TchError> {
        let norm = self.grad_norm()?;
        let coef = max / (norm + 1e-6);
        if norm.is_finite() && coef < 1.0 {
            tch::no_grad(|| {
                for v in self.opt.trainable_variables() {
                    let mut g = v.grad();
                    if g.defined() {
                        let _ = g.f_mul_scalar_(coef)?;
                    }
                }
                Ok::<(), TchError>(())
            })?;
        }
        Ok(norm)
    }

    /// The wrapped optimizer, for what this wrapper does not offer. Change the learning rate through
    /// [`TrackedOptimizer::set_lr`], not here, or [`TrackedOptimizer::lr`] goes stale.
    pub fn inner_mut(&mut self) -> &mut Optimizer {
        &mut self.opt
    }

    /// The wrapped optimizer and its learning rate.
    pub fn into_inner(self) -> (Optimizer, f64) {
        (self.opt, self.lr)
    }
}

fn check_lr(lr: f64) -> Result<(), TchError> {
    if lr.is_finite() && lr >= 0.0 {
        Ok(())
    } else {
        Err(TchError::Lr(lr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::{Init, Sgd};
    use tch::Device;

    fn one_var() -> (VarStore, Tensor) {
        let vs = VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[2], Init::Const(1.0));
        (vs, w)
    }

    #[test]
    fn unusable_rates_are_refused_and_the_rate_stays() {
        let (vs, _w) = one_var();
        let mut opt = TrackedOptimizer::build(Sgd::default(), &vs, 0.1).unwrap();
        let cases = [
            (-0.1, "a negative rate"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "infinity"),
        ];
        for (lr, why) in cases {
            assert!(matches!(opt.set_lr(lr), Err(TchError::Lr(_))), "{why}");
            assert_eq!(opt.lr(), 0.1, "{why}: the rate in force is unchanged");
        }
        assert!(TrackedOptimizer::build(Sgd::default(), &vs, f64::NAN).is_err());
        opt.set_lr(0.0).unwrap();
        assert_eq!(opt.lr(), 0.0, "0 is a valid rate (a frozen step)");
    }

    #[test]
    fn grad_norm_and_clipping_follow_the_l2_norm() {
        let (vs, w) = one_var();
        let mut opt = TrackedOptimizer::build(Sgd::default(), &vs, 0.1).unwrap();
        assert_eq!(opt.grad_norm().unwrap(), 0.0, "no gradients yet");
        // loss = 3*w0 + 4*w1: gradient (3, 4), norm 5.
        let loss = (&w * Tensor::from_slice(&[3.0f32, 4.0])).sum(tch::Kind::Float);
        opt.zero_grad();
        loss.backward();
        assert!((opt.grad_norm().unwrap() - 5.0).abs() < 1e-6);
        let before = opt.clip_grad_norm(1.0).unwrap();
        assert!(
            (before - 5.0).abs() < 1e-6,
            "the norm before clipping is returned"
        );
        assert!(
            (opt.grad_norm().unwrap() - 1.0).abs() < 1e-5,
            "clipped to 1"
        );
        let g = w.grad();
        let (g0, g1) = (g.double_value(&[0]), g.double_value(&[1]));
        assert!(
            (g0 - 0.6).abs() < 1e-5 && (g1 - 0.8).abs() < 1e-5,
            "direction kept: {g0}, {g1}"
        );
    }
}
