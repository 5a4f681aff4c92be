//! A logarithmic y axis with readable ticks inside and across decades.
//!
//! plotters' own log axis labels only exact powers of the base, so a range such as 0.3..1 gets a single
//! label. This one places values on a log scale the same way (linear in `ln v`) and picks ticks from
//! the densest of the mantissa sets {1..9}, {1, 2, 5}, {1, 3}, {1} that fits the requested count, then
//! every k-th decade; a range narrower than one mantissa step falls back to evenly spaced ticks.

use std::ops::Range;

use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;

use super::ticks::tick;

/// Log-scale coordinate over `lo..hi` (both positive and finite; the caller guarantees it).
#[derive(Clone)]
pub(crate) struct LogAxis {
    lo: f64,
    hi: f64,
    linear: RangedCoordf64,
}

impl LogAxis {
    pub(crate) fn new(lo: f64, hi: f64) -> Self {
        LogAxis {
            lo,
            hi,
            linear: (lo.ln()..hi.ln()).into(),
        }
    }
}

const MANTISSAS: [&[f64]; 4] = [
    &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    &[1.0, 2.0, 5.0],
    &[1.0, 3.0],
    &[1.0],
];

/// Every `m * 10^d` in `lo..=hi` for the mantissas given, decade by decade.
fn candidates(lo: f64, hi: f64, mantissas: &[f64], every: i32) -> Vec<f64> {
    let (d0, d1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let mut out = Vec::new();
    for d in (d0..=d1).filter(|d| d.rem_euclid(every) == 0) {
        let p = 10f64.powi(d);
        out.extend(
            mantissas
                .iter()
                .map(|m| m * p)
                .filter(|v| *v >= lo * (1.0 - 1e-12) && *v <= hi * (1.0 + 1e-12)),
        );
    }
    out
}

/// At most `max` evenly spaced round values (steps of 1, 2 or 5 times a power of ten) in `lo..=hi`.
fn linear_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    let raw = (hi - lo) / max.max(1) as f64;
    if !(raw > 0.0 && raw.is_finite()) {
        return vec![lo];
    }
    let p = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// The ticks for a log axis over `lo..hi`, at most `max` of them.
pub(crate) fn log_ticks(lo: f64, hi: f64, max: usize) -> Vec<f64> {
    if max == 0 || !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return Vec::new();
    }
    let densest = candidates(lo, hi, MANTISSAS[0], 1);
    if densest.len() < 2 {
        return linear_ticks(lo, hi, max.min(6));
    }
    for set in MANTISSAS {
        let v = candidates(lo, hi, set, 1);
        if v.len() <= max {
            return v;
        }
    }
    let decades = (hi.log10().ceil() - lo.log10().floor()).max(1.0) as usize;
    let every = decades.div_ceil(max).max(1) as i32;
    candidates(lo, hi, MANTISSAS[3], every)
}

impl Ranged for LogAxis {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        if value.is_nan() || *value <= 0.0 {
            return limit.0;
        }
        self.linear.map(&value.ln(), limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        log_ticks(self.lo, self.hi, hint.max_num_points())
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

impl ValueFormatter<f64> for LogAxis {
    fn format(value: &f64) -> String {
        tick(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: &[f64], b: &[f64]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= 1e-12 * y.abs())
    }

    #[test]
    fn tick_table() {
        #[allow(clippy::type_complexity)]
        let cases: &[(f64, f64, usize, &[f64], &str)] = &[
            (
                0.25,
                1.05,
                10,
                &[0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
                "inside one decade: 1..9",
            ),
            (
                0.25,
                1.05,
                4,
                &[0.5, 1.0],
                "fewer allowed: 1, 2, 5 (0.2 is below the range)",
            ),
            (
                0.01,
                1.0,
                6,
                &[0.01, 0.03, 0.1, 0.3, 1.0],
                "{1, 2, 5} gives 7 > 6: {1, 3}",
            ),
            (
                1e-4,
                1.0,
                6,
                &[1e-4, 1e-3, 1e-2, 1e-1, 1.0],
                "four decades: powers of ten",
            ),
            (
                1e-9,
                1.0,
                4,
                &[1e-9, 1e-6, 1e-3, 1.0],
                "ten powers > 4: every third decade",
            ),
            (
                0.95,
                1.05,
                6,
                &[0.96, 0.98, 1.0, 1.02, 1.04],
                "within a mantissa step: linear",
            ),
            (1.0, 0.5, 6, &[], "reversed range: nothing"),
            (0.0, 1.0, 6, &[], "zero is not on a log axis"),
        ];
        for (lo, hi, max, want, why) in cases {
            let got = log_ticks(*lo, *hi, *max);
            assert!(close(&got, want), "{why}: {got:?}");
        }
    }

    #[test]
    fn maps_like_a_log_scale() {
        let axis = LogAxis::new(0.01, 100.0);
        // Four decades over pixels 0..400: each decade 100 px.
        assert_eq!(axis.map(&0.01, (0, 400)), 0);
        assert_eq!(axis.map(&1.0, (0, 400)), 200);
        assert_eq!(axis.map(&100.0, (0, 400)), 400);
        assert_eq!(
            axis.map(&0.0, (0, 400)),
            0,
            "non-positive values go to the start"
        );
        assert_eq!(axis.map(&f64::NAN, (0, 400)), 0);
    }
}
