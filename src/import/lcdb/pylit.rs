//! The Python literals LCDB writes into CSV cells (`[16, 23]`, `['accuracy', 'loss']`, nested
//! lists of scores with `nan`), parsed without an interpreter.

use crate::import::value::parse_number;

/// A Python literal as LCDB writes them: numbers, strings, lists.
#[derive(Clone, Debug, PartialEq)]
pub(super) enum Py {
    /// A number; `None`, `nan` and `inf` included.
    Num(f64),
    /// A quoted string.
    Str(String),
    /// A list.
    List(Vec<Py>),
}

/// Parses a Python literal of numbers (`nan`, `inf` included), quoted strings and nested lists.
/// Errors give the 0-based character offset and what was wrong.
pub(super) fn parse_py(s: &str) -> Result<Py, (usize, String)> {
    let chars: Vec<char> = s.chars().collect();
    let mut p = PyParser {
        chars: &chars,
        i: 0,
    };
    let v = p.value(0)?;
    p.space();
    if p.i < chars.len() {
        return Err((p.i, format!("unexpected `{}` after the value", chars[p.i])));
    }
    Ok(v)
}

struct PyParser<'a> {
    chars: &'a [char],
    i: usize,
}

/// Lists nested deeper than this are refused (LCDB nests three deep).
const MAX_DEPTH: usize = 16;

impl PyParser<'_> {
    fn space(&mut self) {
        while self.chars.get(self.i).is_some_and(|c| c.is_whitespace()) {
            self.i += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Py, (usize, String)> {
        self.space();
        match self.chars.get(self.i) {
            None => Err((self.i, "the value ends early".to_owned())),
            Some('[') if depth < MAX_DEPTH => self.list(depth),
            Some('[') => Err((self.i, "lists nested too deep".to_owned())),
            Some(&q) if q == '\'' || q == '"' => self.string(q),
            Some(_) => self.number(),
        }
    }

    fn list(&mut self, depth: usize) -> Result<Py, (usize, String)> {
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.space();
            if self.chars.get(self.i) == Some(&']') {
                self.i += 1;
                return Ok(Py::List(items));
            }
            items.push(self.value(depth + 1)?);
            self.space();
            match self.chars.get(self.i) {
                Some(',') => self.i += 1,
                Some(']') => {}
                Some(c) => return Err((self.i, format!("`{c}` where `,` or `]` belongs"))),
                None => return Err((self.i, "a list is never closed".to_owned())),
            }
        }
    }

    fn string(&mut self, quote: char) -> Result<Py, (usize, String)> {
        let start = self.i;
        self.i += 1;
        let from = self.i;
        while self.chars.get(self.i).is_some_and(|&c| c != quote) {
            self.i += 1;
        }
        if self.i >= self.chars.len() {
            return Err((start, "a string is never closed".to_owned()));
        }
        let s: String = self.chars[from..self.i].iter().collect();
        self.i += 1;
        Ok(Py::Str(s))
    }

    fn number(&mut self) -> Result<Py, (usize, String)> {
        let start = self.i;
        while self
            .chars
            .get(self.i)
            .is_some_and(|c| !matches!(c, ',' | ']' | '[') && !c.is_whitespace())
        {
            self.i += 1;
        }
        let word: String = self.chars[start..self.i].iter().collect();
        if word == "None" {
            return Ok(Py::Num(f64::NAN));
        }
        parse_number(&word)
            .map(Py::Num)
            .ok_or((start, format!("`{word}` is not a number")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_literals() {
        let cases: &[(&str, Result<Py, usize>, &str)] = &[
            (
                "[1, 2.5]",
                Ok(Py::List(vec![Py::Num(1.0), Py::Num(2.5)])),
                "numbers",
            ),
            (
                "['a', \"b\"]",
                Ok(Py::List(vec![Py::Str("a".into()), Py::Str("b".into())])),
                "strings",
            ),
            ("[[]]", Ok(Py::List(vec![Py::List(vec![])])), "empty nested"),
            ("[1, 2", Err(5), "unclosed list"),
            ("[1; 2]", Err(1), "bad number"),
            ("[1] x", Err(4), "trailing text"),
        ];
        for (input, want, why) in cases {
            let got = parse_py(input).map_err(|(i, _)| i);
            assert_eq!(got, *want, "{why}");
        }
        let deep = "[".repeat(100);
        assert!(
            parse_py(&deep).is_err(),
            "deep nesting is refused, not a stack overflow"
        );
    }
}
