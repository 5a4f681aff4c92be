//! Smoothing for the learning-curve grid: a weight chosen from a series' noise, and the spacing-aware
//! debiased EMA over a panel's x column.

use super::panel::Xs;
use crate::analysis::smoothing::Ema;
use crate::analysis::trend::median_in_place;

/// Series with fewer points are drawn plain (a sparse validation curve is not noise).
pub(crate) const MIN_POINTS: usize = 30;
/// Noise is estimated on at most this many evenly spread samples (a 10M-point series costs the same).
const SAMPLES: usize = 20_000;
/// The smoothed curve should wobble by at most this fraction of the series' spread.
const TARGET_RATIO: f64 = 1.0 / 150.0;
/// Lightest weight worth drawing a second line for.
const MIN_WEIGHT: f64 = 0.3;

/// The EMA weight for `ys`, or `None` when the series is smooth enough (or too short) to draw plain.
///
/// Noise is the median absolute second difference (robust to trend and to spikes) scaled to a
/// standard deviation; spread is the 5–95% range of the values. The weight is the one whose EMA
/// brings white noise of that size down to [`TARGET_RATIO`] of the spread (an EMA of weight `w`
/// divides a variance by `(1+w)/(1-w)`), at most the one whose time constant is a thirtieth of the
/// series (so the curve does not lag far behind), rounded down to two significant digits of `1 - w`.
pub(crate) fn auto_weight(ys: &[f64]) -> Option<f64> {
    let n = ys.len();
    if n < MIN_POINTS {
        return None;
    }
    let stride = (n / SAMPLES).max(1);
    let mut curvature = Vec::with_capacity(n / stride);
    let mut values = Vec::with_capacity(n / stride);
    for i in (1..n - 1).step_by(stride) {
        let (a, b, c) = (ys[i - 1], ys[i], ys[i + 1]);
        if a.is_finite() && b.is_finite() && c.is_finite() {
            curvature.push((a - 2.0 * b + c).abs());
            values.push(b);
        }
    }
    // |a - 2b + c| of white noise has standard deviation sqrt(6)·σ; its median is 0.6745 of that.
    let noise = median_in_place(&mut curvature)? / (0.6745 * 6f64.sqrt());
    let spread = quantile(&mut values, 0.95)? - quantile(&mut values, 0.05)?;
    if !(noise > 0.0 && spread > 0.0) {
        return None;
    }
    let t = (spread * TARGET_RATIO / noise).powi(2);
    if t >= 1.0 {
        return None;
    }
    let w = ((1.0 - t) / (1.0 + t)).min(1.0 - 30.0 / n as f64);
    (w >= MIN_WEIGHT).then(|| round_weight(w))
}

/// `w` rounded down so that `1 - w` keeps about two significant digits (0.9734 → 0.973,
/// 0.99612 → 0.9961).
fn round_weight(w: f64) -> f64 {
    let digits = (-(1.0 - w).log10()).floor().max(0.0) as i32 + 2;
    let scale = 10f64.powi(digits);
    (w * scale).floor() / scale
}

/// The `q`-quantile of `values` (nearest rank; reorders them), `None` when empty.
pub(crate) fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let k = ((values.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize;
    let (_, v, _) = values.select_nth_unstable_by(k, f64::total_cmp);
    Some(*v)
}

/// The debiased EMA of `ys` with the past decayed by `weight` per median gap of `xs` (so a gap twice
/// as long decays it twice as much); non-finite values pass through uncounted. x values that do not
/// increase (a restarted run) count as one gap.
pub(crate) fn spaced(xs: &Xs<'_>, ys: &[f64], weight: f64) -> Vec<f64> {
    if !(0.0..1.0).contains(&weight) {
        // Outside what the charts accept; the streaming EMA defines these limits.
        let mut ema = Ema::new(weight);
        return ys.iter().map(|&y| ema.update(y).unwrap_or(y)).collect();
    }
    let mut stream = Stream::new(xs, ys.len(), weight);
    match xs {
        Xs::U64(v) => collect(ys, &mut stream, |i| v[i] as f64),
        Xs::F32(v) => collect(ys, &mut stream, |i| f64::from(v[i])),
        Xs::F64(v) => collect(ys, &mut stream, |i| v[i]),
    }
}

fn collect(ys: &[f64], stream: &mut Stream, x: impl Fn(usize) -> f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(ys.len());
    out.extend(ys.iter().enumerate().map(|(i, &y)| stream.push(x(i), y)));
    out
}

/// The spaced EMA one point at a time, in input order: the arithmetic of [`Ema::update_with_gap`]
/// (same numbers, bit for bit) in plain fields, so that 10 million points take tens of
/// milliseconds. Lets a chart smooth and decimate in one pass without holding the smoothed series.
pub(crate) struct Stream {
    weight: f64,
    unit: f64,
    acc: f64,
    bias: f64,
    previous: Option<f64>,
}

impl Stream {
    /// A stream for `n` points at `xs` with `weight` in `[0, 1)`; the unit gap is the median gap of
    /// (at most ~20k samples of) `xs`.
    pub(crate) fn new(xs: &Xs<'_>, n: usize, weight: f64) -> Self {
        let n = n.min(xs.len());
        let stride = (n / SAMPLES).max(1);
        let mut gaps: Vec<f64> = (1..n)
            .step_by(stride)
            .map(|i| xs.at(i) - xs.at(i - 1))
            .filter(|g| *g > 0.0 && g.is_finite())
            .collect();
        Stream {
            weight,
            unit: median_in_place(&mut gaps).unwrap_or(1.0),
            acc: 0.0,
            bias: 1.0,
            previous: None,
        }
    }

    /// The smoothed value at the next point `(x, y)`; a non-finite `y` is returned as is.
    #[inline]
    pub(crate) fn push(&mut self, x: f64, y: f64) -> f64 {
        if !y.is_finite() {
            return y;
        }
        let w = self.weight;
        let decay = match self.previous {
            // Evenly logged points (the common case) skip the division.
            Some(p) if x - p == self.unit => w,
            Some(p) => {
                let gap = (x - p) / self.unit;
                if gap == 1.0 || !(gap > 0.0 && gap.is_finite()) {
                    w
                } else {
                    w.powf(gap)
                }
            }
            None => w,
        };
        self.previous = Some(x);
        self.acc = self.acc * decay + (1.0 - decay) * y;
        self.bias *= decay;
        if self.bias < NEGLIGIBLE_BIAS {
            self.bias = 0.0;
        }
        if self.bias == 0.0 {
            self.acc
        } else {
            self.acc / (1.0 - self.bias)
        }
    }
}

/// Below this the debiasing divides by exactly 1 (as in [`Ema`]), and the product is flushed to 0.
const NEGLIGIBLE_BIAS: f64 = 1.0 / (1u64 << 60) as f64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::smoothing::debiased_ema;

    /// Deterministic noise in [-1, 1).
    fn noise(i: usize) -> f64 {
        let mut h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x2545_F491_4F6C_DD1D;
        h ^= h >> 33;
        h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^= h >> 33;
        (h >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    #[test]
    fn weight_follows_the_noise() {
        let curve = |amp: f64| -> Vec<f64> {
            (0..2000)
                .map(|i| 2.0 / (1.0 + i as f64 / 200.0) + amp * noise(i))
                .collect()
        };
        let smooth = auto_weight(&curve(0.0));
        let light = auto_weight(&curve(0.02)).unwrap();
        let heavy = auto_weight(&curve(0.2)).unwrap();
        assert_eq!(smooth, None, "a clean curve is drawn plain");
        assert_eq!(
            auto_weight(&curve(0.0005)),
            None,
            "faint noise needs no second line"
        );
        assert!(
            light < heavy,
            "noisier series smooth harder: {light} {heavy}"
        );
        assert!(heavy <= 0.995, "capped by a thirtieth of the run: {heavy}");
        assert_eq!(auto_weight(&curve(0.2)[..20]), None, "too short to judge");
        assert_eq!(auto_weight(&[f64::NAN; 100]), None, "nothing finite");
    }

    #[test]
    fn weights_round_down_to_two_significant_digits_of_the_complement() {
        let cases = [
            (0.9734, 0.973, "three decimals"),
            (0.99612, 0.9961, "four decimals nearer 1"),
            (0.456, 0.45, "light"),
        ];
        for (w, want, why) in cases {
            assert!((round_weight(w) - want).abs() < 1e-12, "{why}");
        }
    }

    #[test]
    fn spaced_equals_debiased_on_even_steps_and_decays_more_over_gaps() {
        let ys: Vec<f64> = (0..50).map(noise).collect();
        let even: Vec<u64> = (0..50).map(|i| 10 * i).collect();
        assert_eq!(spaced(&Xs::U64(&even), &ys, 0.8), debiased_ema(&ys, 0.8));
        // A long gap before the last point lets it weigh more.
        let mut gapped = even.clone();
        gapped[49] = 10_000;
        let (a, b) = (
            spaced(&Xs::U64(&even), &ys, 0.8)[49],
            spaced(&Xs::U64(&gapped), &ys, 0.8)[49],
        );
        assert!((b - ys[49]).abs() < (a - ys[49]).abs());
        // The same numbers as the streaming EMA fed the gaps, NaN passed through.
        let mut with_nan = ys.clone();
        with_nan[7] = f64::NAN;
        let got = spaced(&Xs::U64(&gapped), &with_nan, 0.8);
        let mut ema = Ema::new(0.8);
        let mut prev: Option<f64> = None;
        for (i, &y) in with_nan.iter().enumerate() {
            let x = gapped[i] as f64;
            let gap = prev.map_or(1.0, |p| (x - p) / 10.0);
            match ema.update_with_gap(y, gap) {
                Some(v) => {
                    assert_eq!(got[i], v, "point {i}");
                    prev = Some(x);
                }
                None => assert!(got[i].is_nan()),
            }
        }
    }

    #[test]
    fn quantiles() {
        let mut v = vec![5.0, 1.0, 3.0, 2.0, 4.0];
        assert_eq!(quantile(&mut v, 0.0), Some(1.0));
        assert_eq!(quantile(&mut v, 0.5), Some(3.0));
        assert_eq!(quantile(&mut v, 1.0), Some(5.0));
        assert_eq!(quantile(&mut [], 0.5), None);
    }
}
