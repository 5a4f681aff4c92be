//! Tick labels: compact (`1.5M`, `200k`, `0.25`, `1e-4`) and with the digits their spacing needs, so
//! that neighbouring ticks never read the same.

/// Compact tick labels: `1.5M`, `200k`, `0.25`, `1e-4`.
pub(crate) fn tick(v: &f64) -> String {
    tick_at(*v, 0.0)
}

/// A tick label for `v` on an axis whose ticks are `step` apart (0: unknown): enough digits that
/// neighbouring ticks read differently (`1.02e-5`, `1.04e-5` rather than `1e-5` twice).
pub(crate) fn tick_at(v: f64, step: f64) -> String {
    let a = v.abs();
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        }
    };
    // Decimals needed so that a difference of `step` shows at `scale`.
    let decimals = |scale: f64, min: usize| {
        if step > 0.0 && step.is_finite() {
            ((scale / step).log10().ceil().max(0.0) as usize).clamp(min, 8)
        } else {
            min
        }
    };
    if a >= 1e9 || (a > 0.0 && a < 1e-3) {
        let mantissa = 10f64.powf(a.log10().floor());
        let d = decimals(mantissa, 0);
        let text = format!("{v:.d$e}");
        match text.split_once('e') {
            Some((m, e)) => format!("{}e{e}", trim(m.to_owned())),
            None => text,
        }
    } else if a >= 1e6 {
        trim(format!("{:.*}", decimals(1e6, 2), v / 1e6)) + "M"
    } else if a >= 1e4 {
        trim(format!("{:.*}", decimals(1e3, 1), v / 1e3)) + "k"
    } else {
        trim(format!("{:.*}", decimals(1.0, 4), v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels() {
        let cases = [
            (0.0, "0", "zero"),
            (0.25, "0.25", "plain fraction, zeros trimmed"),
            (3.0, "3", "integer without a dot"),
            (2500.0, "2500", "below 10k written out"),
            (200_000.0, "200k", "thousands"),
            (1_500_000.0, "1.5M", "millions"),
            (0.0001, "1e-4", "tiny values in exponent form"),
            (-20_000.0, "-20k", "negative thousands"),
        ];
        for (v, want, why) in cases {
            assert_eq!(tick(&v), want, "{why}");
        }
    }

    #[test]
    fn neighbouring_ticks_read_differently() {
        let cases = [
            (1.02e-5, 2e-7, "1.02e-5", "a narrow range of small values"),
            (0.44, 0.02, "0.44", "two decimals for steps of 0.02"),
            (12_500.0, 2500.0, "12.5k", "thousands with a half"),
            (3.25, 0.05, "3.25", "a zoomed loss"),
        ];
        for (v, step, want, why) in cases {
            assert_eq!(tick_at(v, step), want, "{why}");
        }
        assert_ne!(tick_at(1.02e-5, 2e-7), tick_at(1.04e-5, 2e-7));
    }
}
