//! A fixed-capacity ring buffer of finite values, shared by the rolling statistics.

use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

use super::{TrendError, MAX_WINDOW};

/// The last `cap` values pushed, oldest first from `head` once full. Allocates only in `new` (and
/// when deserialised).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RingState")]
pub(super) struct Ring {
    /// Storage order; `buf.len() < cap` until the ring is first full.
    #[serde(with = "crate::persist::floats")]
    buf: Vec<f64>,
    cap: usize,
    /// Index of the oldest value once full; 0 before.
    head: usize,
}

impl Ring {
    pub(super) fn new(capacity: NonZeroUsize) -> Result<Self, TrendError> {
        let cap = capacity.get();
        if cap > MAX_WINDOW {
            return Err(TrendError::WindowTooLarge {
                requested: cap,
                max: MAX_WINDOW,
            });
        }
        let mut buf = Vec::new();
        buf.try_reserve_exact(cap)
            .map_err(|_| TrendError::OutOfMemory { capacity: cap })?;
        Ok(Ring { buf, cap, head: 0 })
    }

    /// Appends `x`, returning the value it pushed out when the ring was already full.
    #[inline]
    pub(super) fn push(&mut self, x: f64) -> Option<f64> {
        if self.buf.len() < self.cap {
            self.buf.push(x); // capacity reserved in `new`: no allocation
            return None;
        }
        let old = std::mem::replace(&mut self.buf[self.head], x);
        self.head += 1;
        if self.head == self.cap {
            self.head = 0;
        }
        Some(old)
    }

    pub(super) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(super) fn capacity(&self) -> usize {
        self.cap
    }

    pub(super) fn is_full(&self) -> bool {
        self.buf.len() == self.cap
    }

    /// The oldest value, if any.
    pub(super) fn oldest(&self) -> Option<f64> {
        self.buf.get(self.head).copied()
    }

    /// The values, oldest first.
    pub(super) fn iter(&self) -> impl Iterator<Item = f64> + Clone + '_ {
        let (newer, older) = self.buf.split_at(self.head);
        older.iter().chain(newer).copied()
    }

    /// The stored values in storage order (not oldest first): for sums, which do not care.
    pub(super) fn unordered(&self) -> &[f64] {
        &self.buf
    }

    pub(super) fn clear(&mut self) {
        self.buf.clear();
        self.head = 0;
    }
}

/// The serialised form of [`Ring`], checked before it becomes one.
#[derive(Deserialize)]
struct RingState {
    #[serde(with = "crate::persist::floats")]
    buf: Vec<f64>,
    cap: usize,
    head: usize,
}

impl TryFrom<RingState> for Ring {
    type Error = TrendError;

    fn try_from(s: RingState) -> Result<Self, TrendError> {
        let bad = |message: &'static str| Err(TrendError::InvalidState { message });
        if s.cap == 0 || s.cap > MAX_WINDOW {
            return bad("window capacity must be between 1 and MAX_WINDOW");
        }
        if s.buf.len() > s.cap {
            return bad("window holds more values than its capacity");
        }
        if s.head != 0 && (s.buf.len() < s.cap || s.head >= s.cap) {
            return bad("window head lies outside the stored values");
        }
        if s.buf.iter().any(|v| !v.is_finite()) {
            return bad("window holds a non-finite value");
        }
        let mut buf = s.buf;
        buf.try_reserve_exact(s.cap - buf.len())
            .map_err(|_| TrendError::OutOfMemory { capacity: s.cap })?;
        Ok(Ring {
            buf,
            cap: s.cap,
            head: s.head,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(cap: usize) -> Ring {
        Ring::new(NonZeroUsize::new(cap).unwrap()).unwrap()
    }

    #[test]
    fn keeps_the_last_values_in_order() {
        let mut r = ring(3);
        let evicted: Vec<Option<f64>> = (1..=5).map(|i| r.push(i as f64)).collect();
        assert_eq!(evicted, [None, None, None, Some(1.0), Some(2.0)]);
        assert_eq!(r.iter().collect::<Vec<_>>(), [3.0, 4.0, 5.0]);
        assert_eq!(r.oldest(), Some(3.0));
        r.clear();
        assert_eq!((r.len(), r.oldest()), (0, None));
    }

    #[test]
    fn never_reallocates_after_new() {
        let mut r = ring(100);
        let before = r.buf.as_ptr();
        for i in 0..1000 {
            r.push(i as f64);
        }
        assert_eq!(
            r.buf.as_ptr(),
            before,
            "the buffer must stay where `new` put it"
        );
    }

    #[test]
    fn refuses_oversized_and_inconsistent_state() {
        let too_big = NonZeroUsize::new(MAX_WINDOW + 1).unwrap();
        assert!(matches!(
            Ring::new(too_big),
            Err(TrendError::WindowTooLarge { .. })
        ));
        let cases = [
            (r#"{"buf":[1.0,2.0],"cap":0,"head":0}"#, "zero capacity"),
            (
                r#"{"buf":[1.0,2.0,3.0],"cap":2,"head":0}"#,
                "more values than capacity",
            ),
            (r#"{"buf":[1.0,2.0],"cap":2,"head":2}"#, "head past the end"),
            (
                r#"{"buf":[1.0,2.0],"cap":3,"head":1}"#,
                "head moved before the ring filled",
            ),
            (r#"{"buf":[1.0,"NaN"],"cap":3,"head":0}"#, "NaN stored"),
        ];
        for (json, why) in cases {
            assert!(serde_json::from_str::<Ring>(json).is_err(), "{why}");
        }
        let ok: Ring = serde_json::from_str(r#"{"buf":[1.0,2.0],"cap":2,"head":1}"#).unwrap();
        assert_eq!(
            ok.iter().collect::<Vec<_>>(),
            [2.0, 1.0],
            "head 1: oldest is index 1"
        );
    }
}
