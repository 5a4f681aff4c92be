//! [`scalar`]: the one number a loss or metric tensor holds, as an `f64`, NaN and infinities included.

use tch::Tensor;

use crate::error::TchError;

/// Reads the single value of a one-element tensor (any shape with one element: `[]`, `[1]`,
/// `[1, 1]`, ...; any numeric kind) as an `f64`, without touching autograd.
///
/// Non-finite values are returned as they are (NaN stays NaN, ±inf stays ±inf), so that the bus's
/// guards see them: the standard preset's spike guard stops the run on one by default (rule
/// `non_finite`). `what` names the tensor in the error (`"loss"`, `"metric"`).
///
/// On a CUDA tensor this waits for the device (like any `.item()`); read each loss once and reuse the
/// number (the `*_value` methods of [`TchRun`](crate::TchRun) take it).
///
/// # Errors
/// [`TchError::Undefined`] for an undefined tensor, [`TchError::NotScalar`] when it does not hold
/// exactly one element, [`TchError::Torch`] when libtorch cannot read it.
///
/// ```
/// use curvewatch_tch::scalar;
/// let loss = tch::Tensor::from(f32::NAN);
/// assert!(scalar(&loss, "loss").unwrap().is_nan());
/// ```
pub fn scalar(t: &Tensor, what: &'static str) -> Result<f64, TchError> {
    if !t.defined() {
        return Err(TchError::Undefined { what });
    }
    let shape = t.size();
    if shape.iter().product::<i64>() != 1 {
        return Err(TchError::NotScalar { what, shape });
    }
    Ok(t.f_double_value(&[])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_element_tensors_of_any_shape_and_kind_are_read() {
        let cases = [
            (Tensor::from(0.25f32), 0.25, "0-d f32"),
            (Tensor::from_slice(&[1.5f64]), 1.5, "shape [1] f64"),
            (
                Tensor::from_slice(&[7i64]).reshape([1, 1]),
                7.0,
                "shape [1, 1] i64",
            ),
            (
                Tensor::from(-3.0f32).set_requires_grad(true),
                -3.0,
                "a tensor that requires grad",
            ),
        ];
        for (t, want, why) in cases {
            assert_eq!(scalar(&t, "loss").unwrap(), want, "{why}");
        }
    }

    #[test]
    fn non_finite_values_pass_through() {
        let nan = scalar(&Tensor::from(f32::NAN), "loss").unwrap();
        assert!(nan.is_nan(), "NaN stays NaN, got {nan}");
        let inf = scalar(&Tensor::from(f64::NEG_INFINITY), "loss").unwrap();
        assert_eq!(inf, f64::NEG_INFINITY, "-inf stays -inf");
    }

    #[test]
    fn tensors_without_exactly_one_element_are_errors() {
        let cases = [
            (Tensor::from_slice(&[1.0f32, 2.0]), vec![2], "two elements"),
            (Tensor::zeros([0], tch::kind::FLOAT_CPU), vec![0], "empty"),
            (
                Tensor::zeros([2, 1], tch::kind::FLOAT_CPU),
                vec![2, 1],
                "a column of two",
            ),
        ];
        for (t, shape, why) in cases {
            match scalar(&t, "metric") {
                Err(TchError::NotScalar { what, shape: s }) => {
                    assert_eq!((what, s), ("metric", shape), "{why}")
                }
                other => panic!("{why}: expected NotScalar, got {other:?}"),
            }
        }
    }

    #[test]
    fn an_undefined_tensor_is_an_error() {
        let err = scalar(&Tensor::new(), "loss").unwrap_err();
        assert!(matches!(err, TchError::Undefined { what: "loss" }), "{err}");
    }
}
