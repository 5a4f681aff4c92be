//! Helpers shared by the unit tests: a deterministic noise source, so tests need no random crate.

/// A 64-bit linear congruential generator (Knuth's MMIX constants).
pub(crate) struct Lcg(pub u64);

impl Lcg {
    /// The next value, uniform in `[0, 1)` (the top 53 bits of the state).
    pub(crate) fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform noise in `[−amp, amp]` (standard deviation `amp/√3`).
    pub(crate) fn noise(&mut self, amp: f64) -> f64 {
        (2.0 * self.uniform() - 1.0) * amp
    }
}
