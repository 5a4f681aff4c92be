//! [`TchError`]: what the adapter hands back when a tensor, a learning rate or the bus says no.

use curvewatch::BusError;

/// An error of the tch adapter. Each message says which value was wrong and why.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TchError {
    /// The tensor has no data (it was never assigned, or was moved out).
    #[error("the {what} tensor is undefined")]
    Undefined {
        /// What the tensor was meant to be (`loss`, `metric`).
        what: &'static str,
    },
    /// The tensor holds more or fewer than one element, so it is not a scalar.
    #[error("the {what} tensor must hold exactly one element, but has shape {shape:?}")]
    NotScalar {
        /// What the tensor was meant to be (`loss`, `metric`).
        what: &'static str,
        /// Its shape.
        shape: Vec<i64>,
    },
    /// libtorch refused an operation.
    #[error("libtorch failed: {0}")]
    Torch(#[from] tch::TchError),
    /// A learning rate that no optimizer can use (negative, NaN or infinite).
    #[error("learning rate {0} is not a finite number >= 0")]
    Lr(f64),
    /// The bus failed (a callback failed under `FaultPolicy::Propagate`, or a checkpoint failed).
    #[error(transparent)]
    Bus(#[from] BusError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_offending_value() {
        let cases = [
            (
                TchError::NotScalar {
                    what: "loss",
                    shape: vec![2, 3],
                },
                "the loss tensor must hold exactly one element, but has shape [2, 3]",
                "a non-scalar shape is printed as given",
            ),
            (
                TchError::Lr(-0.5),
                "learning rate -0.5 is not a finite number >= 0",
                "the bad rate is quoted",
            ),
            (
                TchError::Undefined { what: "metric" },
                "the metric tensor is undefined",
                "the role of the tensor is named",
            ),
        ];
        for (err, want, why) in cases {
            assert_eq!(err.to_string(), want, "{why}");
        }
    }
}
