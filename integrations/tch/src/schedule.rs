//! [`WarmupCosine`]: linear warmup then cosine decay, the learning-rate shape of LLM pretraining.

use std::f64::consts::PI;

/// Linear warmup from 0 to `peak` over `warmup` steps, then cosine decay to `floor` at step `total`,
/// and `floor` after it. Steps are 1-based (step 1 is the first optimizer step).
///
/// `lr(s) = peak * s / warmup` for `s <= warmup`, then
/// `floor + (peak - floor) * (1 + cos(pi * p)) / 2` with `p = (s - warmup) / (total - warmup)`.
///
/// ```
/// use curvewatch_tch::WarmupCosine;
/// let s = WarmupCosine::new(1e-3, 1e-4, 10, 110);
/// assert_eq!(s.lr(5), 5e-4);                      // halfway through warmup
/// assert_eq!(s.lr(10), 1e-3);                     // peak
/// assert!((s.lr(60) - 5.5e-4).abs() < 1e-12);     // halfway through decay: (peak + floor) / 2
/// assert_eq!(s.lr(500), 1e-4);                    // floor after the end
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WarmupCosine {
    peak: f64,
    floor: f64,
    warmup: u64,
    total: u64,
}

impl WarmupCosine {
    /// The schedule. Non-finite or negative rates are taken as 0; a `total` below `warmup` is raised
    /// to it (no decay phase).
    pub fn new(peak: f64, floor: f64, warmup: u64, total: u64) -> Self {
        let clean = |x: f64| if x.is_finite() && x > 0.0 { x } else { 0.0 };
        WarmupCosine {
            peak: clean(peak),
            floor: clean(floor),
            warmup,
            total: total.max(warmup),
        }
    }

    /// The rate at 1-based `step` (step 0 is treated as 1).
    pub fn lr(&self, step: u64) -> f64 {
        let step = step.max(1);
        if step <= self.warmup {
            return self.peak * step as f64 / self.warmup as f64;
        }
        if step >= self.total {
            return self.floor;
        }
        let p = (step - self.warmup) as f64 / (self.total - self.warmup) as f64;
        self.floor + (self.peak - self.floor) * 0.5 * (1.0 + (PI * p).cos())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follows_the_formula_at_hand_computed_points() {
        // peak 0.1, floor 0, warmup 4, total 12: decay over 8 steps.
        let s = WarmupCosine::new(0.1, 0.0, 4, 12);
        let cases = [
            (0, 0.025, "step 0 counts as the first warmup step"),
            (1, 0.025, "1/4 of the peak"),
            (4, 0.1, "end of warmup is the peak"),
            (
                6,
                0.1 * 0.5 * (1.0 + (PI / 4.0).cos()),
                "p = 2/8: cos(pi/4)",
            ),
            (8, 0.05, "p = 1/2: half the peak"),
            (12, 0.0, "the floor at the end"),
            (1000, 0.0, "the floor after the end"),
        ];
        for (step, want, why) in cases {
            assert!((s.lr(step) - want).abs() < 1e-12, "{why}: {}", s.lr(step));
        }
    }

    #[test]
    fn degenerate_settings_give_defined_rates() {
        let cases = [
            (
                WarmupCosine::new(0.1, 0.01, 0, 0),
                5,
                0.01,
                "no warmup, no decay: the floor",
            ),
            (
                WarmupCosine::new(0.1, 0.01, 10, 3),
                10,
                0.1,
                "total raised to warmup",
            ),
            (
                WarmupCosine::new(f64::NAN, 0.0, 2, 4),
                1,
                0.0,
                "a NaN peak is 0",
            ),
            (
                WarmupCosine::new(0.1, -1.0, 0, 2),
                2,
                0.0,
                "a negative floor is 0",
            ),
        ];
        for (s, step, want, why) in cases {
            assert!((s.lr(step) - want).abs() < 1e-12, "{why}: {}", s.lr(step));
        }
    }
}
