//! Splitting a text-log line into words, numbers (with units) and separators.

/// The name of a pair from the words before its value.
pub(super) fn pair_name(words: &[&str], name: &mut String) {
    name.clear();
    let Some((last, before)) = words.split_last() else {
        return;
    };
    if let Some(prev) = before.last() {
        let qualifiers = [
            "train",
            "training",
            "val",
            "valid",
            "validation",
            "eval",
            "test",
        ];
        let phrases = [("learning", "rate"), ("grad", "norm"), ("gradient", "norm")];
        let qualifier = qualifiers.iter().any(|q| prev.eq_ignore_ascii_case(q));
        let phrase = phrases
            .iter()
            .any(|(a, b)| prev.eq_ignore_ascii_case(a) && last.eq_ignore_ascii_case(b));
        if qualifier || phrase {
            push_lower(name, prev);
            name.push('_');
        }
    }
    push_lower(name, last);
}

fn push_lower(name: &mut String, word: &str) {
    name.extend(word.chars().map(|c| c.to_ascii_lowercase()));
}

/// A token of a text line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Tok<'a> {
    /// A word that may name a value.
    Word(&'a str),
    /// A number: its value (divided by 100 for `%`), whether it had `%`, whether it was whole.
    Num {
        value: f64,
        percent: bool,
        int: bool,
    },
    /// Anything that ends a name: separators, dashes, progress bars, timestamps.
    Sep,
}

/// Splits on whitespace, `:` and `=` (which join a name to its value) and on `|,;[](){}<>` (which
/// end a pair); each of those comes out as an empty token.
pub(super) fn tokens(text: &str) -> Tokens<'_> {
    Tokens {
        text,
        pos: 0,
        strong: false,
    }
}

/// The iterator behind [`tokens`].
pub(super) struct Tokens<'a> {
    text: &'a str,
    pos: usize,
    /// A strong separator was met and its empty token is still due.
    strong: bool,
}

impl<'a> Iterator for Tokens<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        loop {
            if self.strong {
                self.strong = false;
                return Some("");
            }
            let rest = &self.text[self.pos..];
            if rest.is_empty() {
                return None;
            }
            let (end, sep_len, strong) = split_point(rest);
            self.pos += end + sep_len;
            self.strong = strong;
            if end > 0 {
                return Some(&rest[..end]);
            }
        }
    }
}

/// Where the first token of `rest` ends: its length, the separator's length, and whether the
/// separator is a strong one. Scans bytes; only non-ASCII bytes are decoded (Unicode spaces).
fn split_point(rest: &str) -> (usize, usize, bool) {
    let bytes = rest.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            let strong = is_strong(b as char);
            if strong || b.is_ascii_whitespace() || b == b':' || b == b'=' {
                return (i, 1, strong);
            }
            i += 1;
        } else {
            let c = rest[i..].chars().next().unwrap_or(' ');
            if c.is_whitespace() {
                return (i, c.len_utf8(), false);
            }
            i += c.len_utf8();
        }
    }
    (bytes.len(), 0, false)
}

fn is_strong(c: char) -> bool {
    matches!(
        c,
        '|' | ',' | ';' | '[' | ']' | '(' | ')' | '{' | '}' | '<' | '>'
    )
}

/// Sorts a token: a number (with its unit), a word that may name a value, or a separator.
pub(super) fn classify(tok: &str) -> Tok<'_> {
    let Some(&first) = tok.as_bytes().first() else {
        return Tok::Sep;
    };
    if first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.') {
        if let Some((value, percent, int)) = number_token(tok) {
            return Tok::Num {
                value,
                percent,
                int,
            };
        }
    }
    if let Some(value) = non_finite(tok) {
        return Tok::Num {
            value,
            percent: false,
            int: false,
        };
    }
    let starts =
        first == b'_' || first.is_ascii_alphabetic() || tok.starts_with(char::is_alphabetic);
    let body = tok
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'/' | b'-'))
        || tok
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'));
    if starts && body {
        Tok::Word(tok.trim_end_matches(['.', '-', '/']))
    } else {
        Tok::Sep
    }
}

/// `nan`, `inf`, `infinity` with an optional minus sign, in any case.
fn non_finite(tok: &str) -> Option<f64> {
    if tok.len() > 9 {
        return None;
    }
    let words = ["nan", "-nan", "inf", "-inf", "infinity", "-infinity"];
    let word = words.iter().find(|w| tok.eq_ignore_ascii_case(w))?;
    Some(word.parse::<f64>().unwrap_or(f64::NAN))
}

/// A number with an optional unit: `2.31`, `3e-4`, `31ms`, `3/10`, `45it/s`, `93.5%`. Returns the
/// value (divided by 100 for `%`), whether it was a percentage, and whether it was whole.
pub(super) fn number_token(tok: &str) -> Option<(f64, bool, bool)> {
    let (end, whole) = numeric_prefix(tok.as_bytes())?;
    let value: f64 = tok[..end].parse().ok()?;
    let unit = &tok[end..];
    let percent = unit == "%";
    let unit_ok = unit.is_empty()
        || percent
        || (unit.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/')
            && unit.chars().all(|c| c.is_ascii_alphanumeric() || c == '/'));
    if !unit_ok {
        return None;
    }
    Some((if percent { value / 100.0 } else { value }, percent, whole))
}

/// The length of the decimal number that starts `b` (sign, digits, fraction, exponent), and whether
/// it is a whole number (no fraction, no exponent).
fn numeric_prefix(b: &[u8]) -> Option<(usize, bool)> {
    let digits = |from: usize| from + b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let start = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let mut i = digits(start);
    let int_digits = i - start;
    let mut fraction = false;
    if b.get(i) == Some(&b'.') {
        let j = digits(i + 1);
        fraction = true;
        if int_digits == 0 && j == i + 1 {
            return None;
        }
        i = j;
    } else if int_digits == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let sign = usize::from(matches!(b.get(i + 1), Some(b'+' | b'-')));
        let j = digits(i + 1 + sign);
        if j > i + 1 + sign {
            return Some((j, false));
        }
    }
    Some((i, !fraction))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_tokens() {
        type Case = (&'static str, Option<(f64, bool, bool)>, &'static str);
        let cases: &[Case] = &[
            ("2.31", Some((2.31, false, false)), "decimal"),
            ("100", Some((100.0, false, true)), "integer"),
            ("3e-4", Some((3e-4, false, false)), "exponent"),
            ("31ms", Some((31.0, false, true)), "unit"),
            ("3/10", Some((3.0, false, true)), "fraction of total"),
            ("45.2it/s", Some((45.2, false, false)), "rate"),
            ("93.5%", Some((0.935, true, false)), "percent"),
            ("2024-05-01", None, "date"),
            ("1e", Some((1.0, false, true)), "a lone e is a unit"),
            ("abc", None, "word"),
        ];
        for (tok, want, why) in cases {
            assert_eq!(number_token(tok), *want, "{why}");
        }
    }

    #[test]
    fn tokens_keep_strong_separators() {
        let got: Vec<&str> = tokens("s:5 | loss=2.5, lr 1e-3").collect();
        assert_eq!(got, ["s", "5", "", "loss", "2.5", "", "lr", "1e-3"]);
        let kinds: Vec<Tok> = ["val_loss", "-", "[==>", "nan"]
            .into_iter()
            .map(classify)
            .collect();
        assert_eq!(kinds[0], Tok::Word("val_loss"));
        assert_eq!(kinds[1..3], [Tok::Sep, Tok::Sep]);
        assert!(matches!(kinds[3], Tok::Num { value, .. } if value.is_nan()));
    }
}
