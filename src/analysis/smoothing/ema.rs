//! The streaming, debiased exponential moving average.

use serde::{Deserialize, Serialize};

/// A streaming debiased exponential moving average (TensorBoard's smoothing), O(1) per point.
///
/// Each finite point `y` updates `last = last*w + (1-w)*y` and `n += 1`, and the smoothed value is
/// `last / (1 - w^n)`, so the first output equals the first point instead of being pulled towards zero.
/// Non-finite points are not admitted: they change nothing and [`Ema::update`] returns `None`.
///
/// The weight is clamped to `[0, 1]`; a NaN weight counts as 0 (no smoothing). At `w = 1` the formula
/// is 0/0, so the output is defined as its limit as `w -> 1`: the mean of all finite points so far.
///
/// The state serialises with serde (non-finite fields included), so a resumed run goes on with the
/// same values as an uninterrupted one.
///
/// ```
/// use curvewatch::analysis::smoothing::Ema;
///
/// let mut ema = Ema::new(0.6);
/// assert_eq!(ema.update(10.0), Some(10.0)); // debiased: the first value comes back unchanged
/// let second = ema.update(0.0).unwrap(); // (0.6*4 + 0) / (1 - 0.36)
/// assert!((second - 3.75).abs() < 1e-12);
/// assert_eq!(ema.update(f64::NAN), None); // not counted
/// assert_eq!(ema.count(), 2);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "EmaState")]
pub struct Ema {
    weight: f64,
    #[serde(with = "crate::persist::float")]
    last: f64,
    /// The product of the decays applied so far (`w^n` on an evenly spaced series).
    decay: f64,
    count: u64,
}

impl Ema {
    /// An empty average with smoothing weight `weight` (clamped to `[0, 1]`, NaN counts as 0).
    ///
    /// 0 means no smoothing (the output is the input); values near 1 smooth hard.
    pub fn new(weight: f64) -> Self {
        Ema {
            weight: clamp_weight(weight),
            last: 0.0,
            decay: 1.0,
            count: 0,
        }
    }

    /// The smoothing weight in use, after clamping.
    pub fn weight(&self) -> f64 {
        self.weight
    }

    /// Admits the point `y` one unit after the previous one and returns the new smoothed value.
    ///
    /// Returns `None`, and changes nothing, when `y` is not finite. O(1), no allocation.
    pub fn update(&mut self, y: f64) -> Option<f64> {
        if !y.is_finite() {
            return None;
        }
        Some(self.admit(y, self.weight))
    }

    /// Admits the point `y`, `gap` units after the previous admitted point, with decay `w^gap`.
    ///
    /// This is the spacing-aware form for uneven steps: a point logged after a long pause forgets more
    /// of the past. With `gap == 1` it is exactly [`Ema::update`]. The gap of the first point plays no
    /// part. A gap that is NaN or not positive is treated as 1 unit (a repeated or out-of-order step is
    /// smoothed like a regular one); an infinite gap forgets the past entirely (when `w < 1`).
    /// Returns `None`, and changes nothing, when `y` is not finite.
    pub fn update_with_gap(&mut self, y: f64, gap: f64) -> Option<f64> {
        if !y.is_finite() {
            return None;
        }
        let decay = if self.count == 0 || gap.is_nan() || gap <= 0.0 || gap == 1.0 {
            self.weight
        } else {
            self.weight.powf(gap)
        };
        Some(self.admit(y, decay))
    }

    /// The current smoothed value, or `None` before the first finite point.
    pub fn value(&self) -> Option<f64> {
        match self.count {
            0 => None,
            _ if self.weight >= 1.0 => Some(self.last),
            _ => Some(self.last / (1.0 - self.decay)),
        }
    }

    /// How many finite points have been admitted.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Forgets every point, keeping the weight.
    pub fn reset(&mut self) {
        *self = Ema::new(self.weight);
    }

    fn admit(&mut self, y: f64, decay: f64) -> f64 {
        self.count += 1;
        if self.weight >= 1.0 {
            // Limit of the debiased average as w -> 1: the running mean.
            self.last += (y - self.last) / self.count as f64;
            return self.last;
        }
        self.last = self.last * decay + (1.0 - decay) * y;
        self.decay *= decay;
        if self.decay < NEGLIGIBLE_DECAY {
            // 1 - decay is exactly 1 from here on; flushing to 0 keeps the product out of the
            // subnormal range (where 0.6 * 5e-324 rounds back to 5e-324 and every multiply is slow).
            self.decay = 0.0;
        }
        self.last / (1.0 - self.decay)
    }
}

/// 2^-60: below this, `1.0 - decay == 1.0` in f64, so the debiasing no longer changes anything.
const NEGLIGIBLE_DECAY: f64 = 1.0 / (1u64 << 60) as f64;

fn clamp_weight(weight: f64) -> f64 {
    if weight.is_nan() {
        0.0
    } else {
        weight.clamp(0.0, 1.0)
    }
}

/// The serialised form of [`Ema`], checked before it becomes one.
#[derive(Deserialize)]
struct EmaState {
    weight: f64,
    #[serde(with = "crate::persist::float")]
    last: f64,
    decay: f64,
    count: u64,
}

impl TryFrom<EmaState> for Ema {
    type Error = String;

    fn try_from(s: EmaState) -> Result<Self, String> {
        if !(0.0..=1.0).contains(&s.weight) {
            return Err(format!("EMA weight {} is outside [0, 1]", s.weight));
        }
        if !(0.0..=1.0).contains(&s.decay) || (s.count > 0 && s.weight < 1.0 && s.decay >= 1.0) {
            return Err(format!(
                "EMA decay product {} does not fit {} admitted points at weight {}",
                s.decay, s.count, s.weight
            ));
        }
        Ok(Ema {
            weight: s.weight,
            last: s.last,
            decay: s.decay,
            count: s.count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (weight, inputs, expected outputs, reason)
    type Case<'a> = (f64, &'a [f64], &'a [Option<f64>], &'a str);

    #[test]
    fn hand_computed_updates() {
        let cases: &[Case] = &[
            (
                0.5,
                &[1.0, 2.0, 3.0],
                &[Some(1.0), Some(1.25 / 0.75), Some(2.125 / 0.875)],
                "w=0.5: last 0.5, 1.25, 2.125 over 1-w^n = 0.5, 0.75, 0.875",
            ),
            (
                0.6,
                &[10.0, 0.0],
                &[Some(10.0), Some(3.75)],
                "TensorBoard default: (0.6*4 + 0.4*0) / (1 - 0.36) = 3.75",
            ),
            (
                0.5,
                &[1.0, f64::NAN, 2.0],
                &[Some(1.0), None, Some(1.25 / 0.75)],
                "a NaN is refused and does not count",
            ),
            (
                0.0,
                &[4.0, -1.0, 7.0],
                &[Some(4.0), Some(-1.0), Some(7.0)],
                "w=0 is no smoothing",
            ),
            (
                1.0,
                &[1.0, 2.0, 6.0],
                &[Some(1.0), Some(1.5), Some(3.0)],
                "w=1 is the limit: the running mean",
            ),
            (
                7.0,
                &[1.0, 2.0, 6.0],
                &[Some(1.0), Some(1.5), Some(3.0)],
                "a weight above 1 is clamped to 1",
            ),
            (
                f64::NAN,
                &[4.0, -1.0],
                &[Some(4.0), Some(-1.0)],
                "a NaN weight counts as 0",
            ),
        ];
        for (w, ys, want, why) in cases {
            let mut ema = Ema::new(*w);
            for (y, expected) in ys.iter().zip(*want) {
                let got = ema.update(*y);
                match (got, expected) {
                    (Some(g), Some(e)) => assert!((g - e).abs() < 1e-12, "{why}: {g} vs {e}"),
                    _ => assert_eq!(got, *expected, "{why}"),
                }
            }
        }
    }

    #[test]
    fn value_and_count_follow_updates() {
        let mut ema = Ema::new(0.5);
        assert_eq!(ema.value(), None, "nothing admitted yet");
        ema.update(1.0);
        ema.update(f64::INFINITY);
        ema.update(2.0);
        assert_eq!(ema.count(), 2, "the infinity is not counted");
        assert!((ema.value().unwrap() - 1.25 / 0.75).abs() < 1e-12);
        ema.reset();
        assert_eq!((ema.count(), ema.value(), ema.weight()), (0, None, 0.5));
    }

    #[test]
    fn gap_weights_the_past_by_w_to_the_gap() {
        // w=0.5, points 1, 2, 3 one unit apart, then 4 two units later: decay 0.25.
        // last: 0.5, 1.25, 2.125, 2.125*0.25 + 0.75*4 = 3.53125; product 0.5^5 = 0.03125.
        let mut ema = Ema::new(0.5);
        for y in [1.0, 2.0, 3.0] {
            ema.update_with_gap(y, 1.0);
        }
        let got = ema.update_with_gap(4.0, 2.0).unwrap();
        assert!((got - 3.53125 / 0.96875).abs() < 1e-12, "{got}");
        let mut plain = Ema::new(0.5);
        let mut gapped = Ema::new(0.5);
        for (y, gap) in [(1.0, 5.0), (2.0, f64::NAN), (3.0, -2.0), (4.0, 0.0)] {
            assert_eq!(
                plain.update(y),
                gapped.update_with_gap(y, gap),
                "gap {gap} counts as 1"
            );
        }
        assert_eq!(
            gapped.update_with_gap(9.0, f64::INFINITY),
            Some(9.0),
            "infinite gap forgets"
        );
    }

    #[test]
    fn decay_product_never_goes_subnormal() {
        // 0.6^n reaches the smallest subnormal, 5e-324, and 0.6 * 5e-324 rounds back to it: without
        // the flush the product would stay there, and each multiply would run ~15x slower.
        let mut ema = Ema::new(0.6);
        for i in 0..2000 {
            ema.update(1.0 + (i % 7) as f64);
        }
        assert_eq!(ema.decay, 0.0);
        assert_eq!(
            ema.update(3.0),
            Some(ema.last),
            "fully debiased: the output is `last`"
        );
    }

    #[test]
    fn serde_round_trip_continues_identically() {
        let mut a = Ema::new(0.9);
        for y in [3.0, 1.0, 4.0, 1.0, 5.0] {
            a.update(y);
        }
        let json = serde_json::to_string(&a).unwrap();
        let mut b: Ema = serde_json::from_str(&json).unwrap();
        assert_eq!(a, b);
        for y in [9.0, 2.0, 6.0] {
            assert_eq!(
                a.update(y),
                b.update(y),
                "resumed EMA must match bit for bit"
            );
        }
    }

    #[test]
    fn invalid_state_is_refused() {
        let cases = [
            (
                r#"{"weight":1.5,"last":0.0,"decay":1.0,"count":0}"#,
                "weight above 1",
            ),
            (
                r#"{"weight":0.5,"last":2.0,"decay":1.0,"count":3}"#,
                "decay 1 after 3 points",
            ),
            (
                r#"{"weight":0.5,"last":2.0,"decay":-0.1,"count":3}"#,
                "negative decay",
            ),
        ];
        for (json, why) in cases {
            assert!(serde_json::from_str::<Ema>(json).is_err(), "{why}");
        }
    }
}
