//! [`ImportError`] and [`Location`]: every failure names the file, the place in it, and what was expected.

use std::fmt;

use super::ImportFormat;

/// A place in an imported file: a line (1-based) and column (1-based, in characters), a key path in a
/// JSON document (`log_history[12].step`), or both.
///
/// ```
/// use curvewatch::import::Location;
/// assert_eq!(Location::line_column(3, 7).to_string(), "line 3, column 7");
/// assert_eq!(Location::key("log_history[2]").to_string(), "key `log_history[2]`");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Location {
    /// 1-based line, where the format is line-oriented or the parser knows it.
    pub line: Option<usize>,
    /// 1-based column (in characters) on that line.
    pub column: Option<usize>,
    /// A column name (CSV) or key path (JSON).
    pub key: Option<String>,
}

impl Location {
    /// A whole line.
    pub fn line(line: usize) -> Self {
        Location {
            line: Some(line),
            ..Self::default()
        }
    }

    /// A line and column.
    pub fn line_column(line: usize, column: usize) -> Self {
        Location {
            line: Some(line),
            column: Some(column),
            key: None,
        }
    }

    /// A key path or column name, without a line.
    pub fn key(key: impl Into<String>) -> Self {
        Location {
            key: Some(key.into()),
            ..Self::default()
        }
    }

    /// The same place, naming a column or key as well.
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(l) = self.line {
            parts.push(format!("line {l}"));
        }
        if let Some(c) = self.column {
            parts.push(format!("column {c}"));
        }
        if let Some(k) = &self.key {
            parts.push(format!("key `{k}`"));
        }
        if parts.is_empty() {
            f.write_str("start of file")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// Why a file could not be imported. Every variant names the file; parse failures also say where and
/// what was expected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The file.
        path: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file holds nothing but whitespace (or a byte-order mark).
    #[error("{path}: the file is empty; expected a training log (trainer_state.json, metrics.csv, JSON lines or a text log)")]
    Empty {
        /// The file.
        path: String,
    },
    /// The content breaks the format's rules at a known place.
    #[error("{path}: {at}: {problem}; expected {expected}")]
    Malformed {
        /// The file.
        path: String,
        /// Where the problem is.
        at: Location,
        /// What was found.
        problem: String,
        /// What the format requires there.
        expected: String,
    },
    /// The file parsed, but not a single metric value was found in it.
    #[error("{path}: no metric found in this {format} file; expected {expected}")]
    NoMetrics {
        /// The file.
        path: String,
        /// The format the file was read as.
        format: ImportFormat,
        /// What a usable file of that format holds.
        expected: String,
    },
}

impl ImportError {
    /// The place of a [`ImportError::Malformed`] error, if that is what this is.
    pub fn location(&self) -> Option<&Location> {
        match self {
            ImportError::Malformed { at, .. } => Some(at),
            _ => None,
        }
    }
}

/// Builds errors for one source file.
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    pub(crate) path: String,
}

impl Ctx {
    pub(crate) fn new(path: impl Into<String>) -> Self {
        Ctx { path: path.into() }
    }

    pub(crate) fn malformed(
        &self,
        at: Location,
        problem: impl Into<String>,
        expected: impl Into<String>,
    ) -> ImportError {
        ImportError::Malformed {
            path: self.path.clone(),
            at,
            problem: problem.into(),
            expected: expected.into(),
        }
    }

    pub(crate) fn io(&self, source: std::io::Error) -> ImportError {
        ImportError::Io {
            path: self.path.clone(),
            source,
        }
    }

    pub(crate) fn no_metrics(&self, format: ImportFormat, expected: &str) -> ImportError {
        ImportError::NoMetrics {
            path: self.path.clone(),
            format,
            expected: expected.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_render_every_part_given() {
        let cases = [
            (Location::line(4), "line 4", "a bare line"),
            (
                Location::line_column(2, 9).with_key("loss"),
                "line 2, column 9, key `loss`",
                "line, column and column name",
            ),
            (Location::default(), "start of file", "nothing known"),
        ];
        for (loc, want, why) in cases {
            assert_eq!(loc.to_string(), want, "{why}");
        }
    }

    #[test]
    fn malformed_message_names_file_place_and_expectation() {
        let e = Ctx::new("a.csv").malformed(Location::line(5), "4 fields", "3 fields");
        assert_eq!(e.to_string(), "a.csv: line 5: 4 fields; expected 3 fields");
        assert_eq!(e.location(), Some(&Location::line(5)));
    }
}
