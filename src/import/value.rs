//! Reading one written value: numbers as loggers write them (`nan`, `inf`, `93.5%`, `"0.5"`,
//! `tensor(0.25)`), missing markers, whole-number steps, and Python's bare `NaN`/`Infinity` in JSON.

/// What one cell or JSON string holds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Cell {
    /// Empty, or a missing marker (`null`, `None`, `NA`, `N/A`, `-`).
    Missing,
    /// A number, non-finite ones included.
    Number(f64),
    /// A percentage, already divided by 100 (`93.5%` gives 0.935).
    Percent(f64),
    /// Anything else.
    Text,
}

/// Classifies a written value. Surrounding whitespace and one pair of quotes are ignored.
pub(crate) fn parse_cell(raw: &str) -> Cell {
    let s = unquote(raw.trim()).trim();
    if s.is_empty() || is_missing_marker(s) {
        return Cell::Missing;
    }
    if let Some(v) = parse_number(s) {
        return Cell::Number(v);
    }
    if let Some(body) = s.strip_suffix('%') {
        if let Some(v) = parse_number(body.trim_end()) {
            return Cell::Percent(v / 100.0);
        }
    }
    if let Some(inner) = s.strip_prefix("tensor(") {
        let first = inner.split([',', ')']).next().unwrap_or("");
        if let Some(v) = parse_number(first.trim()) {
            return Cell::Number(v);
        }
    }
    Cell::Text
}

fn unquote(s: &str) -> &str {
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

fn is_missing_marker(s: &str) -> bool {
    ["null", "none", "na", "n/a", "-", "nil", "undefined"]
        .iter()
        .any(|m| s.eq_ignore_ascii_case(m))
}

/// A decimal number, or a NaN / infinity spelled as C, Python, R or MSVC print them.
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    if let Ok(v) = s.parse::<f64>() {
        return Some(v);
    }
    let unsigned = s.trim_start_matches(['+', '-']);
    let lower = unsigned.to_ascii_lowercase();
    if lower.starts_with("nan(") || lower == "1.#qnan" || lower == "1.#ind" {
        return Some(f64::NAN);
    }
    if lower == "1.#inf" {
        return Some(if s.starts_with('-') {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    None
}

/// A step: a whole number ≥ 0, written as an integer or as an integral float (`100`, `100.0`, `1e3`).
pub(crate) fn parse_step_str(s: &str) -> Option<u64> {
    let s = unquote(s.trim()).trim();
    if let Ok(v) = s.parse::<u64>() {
        return Some(v);
    }
    s.parse::<f64>().ok().and_then(step_from_f64)
}

/// A step from a float: finite, ≥ 0, whole, and below 2^64.
pub(crate) fn step_from_f64(v: f64) -> Option<u64> {
    // 2^64 as f64; anything at or above it does not fit.
    const LIMIT: f64 = 18_446_744_073_709_551_616.0;
    (v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < LIMIT).then_some(v as u64)
}

/// Same-length stand-ins for Python's bare JSON tokens, so serde_json accepts the text and error
/// columns stay true. Each is a JSON string no logger writes as a metric value.
pub(crate) const NAN_MARK: &str = "!";
/// Stand-in for `Infinity` (8 bytes with its quotes, like the token).
pub(crate) const INF_MARK: &str = "!inf++";
/// Stand-in for `-Infinity` (9 bytes with its quotes, like the token).
pub(crate) const NEG_INF_MARK: &str = "!-inf++";

/// The value of a stand-in written by [`fix_bare_non_finite`].
pub(crate) fn mark_value(s: &str) -> Option<f64> {
    match s {
        NAN_MARK => Some(f64::NAN),
        INF_MARK => Some(f64::INFINITY),
        NEG_INF_MARK => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

/// Python's `json.dump` writes `NaN`, `Infinity` and `-Infinity` bare, which is not JSON. Returns a
/// copy with each such token (outside strings) replaced by a quoted stand-in of the same byte length,
/// or `None` when there is none.
pub(crate) fn fix_bare_non_finite(bytes: &[u8]) -> Option<Vec<u8>> {
    const TOKENS: [(&[u8], &str); 3] = [
        (b"-Infinity", NEG_INF_MARK),
        (b"Infinity", INF_MARK),
        (b"NaN", NAN_MARK),
    ];
    let mut out: Option<Vec<u8>> = None;
    let (mut in_string, mut escaped) = (false, false);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        if b == b'"' {
            in_string = true;
            i += 1;
            continue;
        }
        let hit = TOKENS.iter().find(|(t, _)| bytes[i..].starts_with(t));
        match hit {
            Some((token, mark)) => {
                let buf = out.get_or_insert_with(|| bytes.to_vec());
                let quoted = format!("\"{mark}\"");
                buf[i..i + token.len()].copy_from_slice(quoted.as_bytes());
                i += token.len();
            }
            None => i += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_as_loggers_write_them() {
        let cases: &[(&str, Cell, &str)] = &[
            ("0.25", Cell::Number(0.25), "plain decimal"),
            (" 1e-3 ", Cell::Number(0.001), "exponent with spaces"),
            ("\"2.5\"", Cell::Number(2.5), "quoted number"),
            ("'3'", Cell::Number(3.0), "single-quoted number"),
            ("93.5%", Cell::Percent(0.935), "percent sign divides by 100"),
            (
                "tensor(0.5000, device='cuda:0')",
                Cell::Number(0.5),
                "torch repr",
            ),
            ("", Cell::Missing, "empty cell"),
            ("null", Cell::Missing, "JSON-ish null"),
            ("N/A", Cell::Missing, "missing marker"),
            ("squared_hinge", Cell::Text, "a word"),
            ("[16, 23]", Cell::Text, "a list"),
        ];
        for (raw, want, why) in cases {
            assert_eq!(parse_cell(raw), *want, "{why}: {raw:?}");
        }
    }

    #[test]
    fn non_finite_spellings() {
        let cases: &[(&str, f64, &str)] = &[
            ("nan", f64::NAN, "C and Python"),
            ("NaN", f64::NAN, "JavaScript and pandas"),
            ("-nan(ind)", f64::NAN, "MSVC"),
            ("inf", f64::INFINITY, "lower case"),
            ("-Infinity", f64::NEG_INFINITY, "JavaScript"),
            ("1.#INF", f64::INFINITY, "old MSVC"),
        ];
        for (raw, want, why) in cases {
            let Cell::Number(v) = parse_cell(raw) else {
                panic!("{why}: {raw:?} not a number")
            };
            assert!(
                v == *want || (v.is_nan() && want.is_nan()),
                "{why}: {raw:?} gave {v}"
            );
        }
    }

    #[test]
    fn steps_must_be_whole_and_non_negative() {
        let cases: &[(&str, Option<u64>, &str)] = &[
            ("100", Some(100), "integer"),
            ("100.0", Some(100), "integral float"),
            ("1e3", Some(1000), "exponent"),
            ("2.5", None, "fraction"),
            ("-1", None, "negative"),
            ("nan", None, "not a number"),
            ("inf", None, "infinite"),
        ];
        for (raw, want, why) in cases {
            assert_eq!(parse_step_str(raw), *want, "{why}: {raw:?}");
        }
    }

    #[test]
    fn bare_python_tokens_are_quoted_in_place() {
        let src = br#"{"a": NaN, "b": -Infinity, "c": "NaN text", "d": Infinity}"#;
        let fixed = fix_bare_non_finite(src).expect("tokens present");
        assert_eq!(fixed.len(), src.len(), "same length keeps error columns");
        let text = String::from_utf8(fixed).unwrap();
        assert_eq!(
            text,
            r#"{"a": "!", "b": "!-inf++", "c": "NaN text", "d": "!inf++"}"#
        );
        assert!(fix_bare_non_finite(br#"{"a": 1, "s": "NaN"}"#).is_none());
    }

    #[test]
    fn escaped_quotes_do_not_end_strings() {
        let src = br#"{"k\"NaN": NaN}"#;
        let text = String::from_utf8(fix_bare_non_finite(src).unwrap()).unwrap();
        assert_eq!(text, r#"{"k\"NaN": "!"}"#);
    }
}
