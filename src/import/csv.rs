//! A small streaming CSV tokenizer shared by the CSV formats: RFC 4180 quoting (`""` inside quotes,
//! quoted fields across lines), any one-byte delimiter, CRLF and a BOM (through [`LineReader`]).

use std::io::BufRead;

use super::error::{ImportError, Location};
use super::lines::LineReader;

/// One field: a byte range in the record's unescaped text, and where it starts in the file.
#[derive(Clone, Copy, Debug)]
struct Field {
    start: usize,
    end: usize,
    line: usize,
    column: usize,
}

/// One record (a row), borrowed from the reader until the next call.
pub(crate) struct Record<'a> {
    /// 1-based line where the record starts.
    pub(crate) line: usize,
    text: &'a str,
    fields: &'a [Field],
}

impl<'a> Record<'a> {
    /// Number of fields.
    pub(crate) fn len(&self) -> usize {
        self.fields.len()
    }

    /// Field `i` with quotes removed, or `""` past the end.
    pub(crate) fn get(&self, i: usize) -> &'a str {
        self.fields
            .get(i)
            .map_or("", |f| &self.text[f.start..f.end])
    }

    /// Where field `i` starts.
    pub(crate) fn location(&self, i: usize) -> Location {
        match self.fields.get(i) {
            // Column 0: a one-line record read by the fast path; count the characters before it.
            Some(f) if f.column == 0 => {
                Location::line_column(f.line, self.text[..f.start].chars().count() + 1)
            }
            Some(f) => Location::line_column(f.line, f.column),
            None => Location::line(self.line),
        }
    }

    /// Whether the record is a blank line.
    pub(crate) fn is_blank(&self) -> bool {
        self.fields.len() == 1 && self.get(0).trim().is_empty()
    }

    /// The fields, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// Reads CSV records one at a time.
pub(crate) struct CsvReader<R> {
    lines: LineReader<R>,
    delim: char,
    text: String,
    fields: Vec<Field>,
}

/// Tokenizer state carried from one physical line to the next.
struct Cursor {
    in_quotes: bool,
    field_start: usize,
    field_line: usize,
    field_column: usize,
}

impl<R: BufRead> CsvReader<R> {
    pub(crate) fn new(lines: LineReader<R>, delim: u8) -> Self {
        CsvReader {
            lines,
            delim: delim as char,
            text: String::new(),
            fields: Vec::new(),
        }
    }

    /// The underlying line reader (for byte counts and the error context).
    pub(crate) fn lines(&self) -> &LineReader<R> {
        &self.lines
    }

    /// The next record, or `None` at the end of the input.
    pub(crate) fn next_record(&mut self) -> Result<Option<Record<'_>>, ImportError> {
        self.text.clear();
        self.fields.clear();
        let mut cur: Option<Cursor> = None;
        loop {
            let line_no = self.lines.line_no() + 1;
            let Some(line) = self.lines.next_line()? else {
                return match cur {
                    None => Ok(None),
                    Some(c) => Err(self.lines.ctx().malformed(
                        Location::line_column(c.field_line, c.field_column),
                        "a quoted field is never closed",
                        "a closing `\"` before the end of the file",
                    )),
                };
            };
            if cur.is_none() && !line.contains('"') {
                split_plain(line, line_no, self.delim, &mut self.text, &mut self.fields);
                break;
            }
            let c = cur.take().unwrap_or_else(|| Cursor::new(line_no));
            let (text, fields) = (&mut self.text, &mut self.fields);
            match tokenize(line, line_no, self.delim, c, text, fields) {
                Some(c) => {
                    self.text.push('\n');
                    cur = Some(c);
                }
                None => break,
            }
        }
        Ok(Some(Record {
            line: self.fields.first().map_or(self.lines.line_no(), |f| f.line),
            text: &self.text,
            fields: &self.fields,
        }))
    }
}

impl Cursor {
    fn new(line: usize) -> Self {
        Cursor {
            in_quotes: false,
            field_start: 0,
            field_line: line,
            field_column: 1,
        }
    }

    /// A field begins at byte `start` of the text, at `line` and `column` of the file.
    fn begin(&mut self, start: usize, line: usize, column: usize) {
        self.field_start = start;
        self.field_line = line;
        self.field_column = column;
    }

    fn field(&self, end: usize) -> Field {
        Field {
            start: self.field_start,
            end,
            line: self.field_line,
            column: self.field_column,
        }
    }
}

/// The fast path for a line without quotes: the text is the line, fields split at the delimiter
/// (their columns are counted only if an error needs one).
fn split_plain(
    line: &str,
    line_no: usize,
    delim: char,
    text: &mut String,
    fields: &mut Vec<Field>,
) {
    text.push_str(line);
    let mut start = 0;
    for (i, _) in line.match_indices(delim) {
        fields.push(Field {
            start,
            end: i,
            line: line_no,
            column: 0,
        });
        start = i + delim.len_utf8();
    }
    fields.push(Field {
        start,
        end: line.len(),
        line: line_no,
        column: 0,
    });
}

/// Splits one physical line into fields, appending unescaped text. Returns the cursor when the line
/// ends inside quotes (the field goes on on the next line).
fn tokenize(
    line: &str,
    line_no: usize,
    delim: char,
    mut c: Cursor,
    text: &mut String,
    fields: &mut Vec<Field>,
) -> Option<Cursor> {
    let mut chars = line.chars().peekable();
    let mut column = 0usize;
    let mut at_start = !c.in_quotes;
    while let Some(ch) = chars.next() {
        column += 1;
        if at_start {
            at_start = false;
            c.begin(text.len(), line_no, column);
            if ch == '"' {
                c.in_quotes = true;
                continue;
            }
        }
        if c.in_quotes && ch == '"' && chars.peek() == Some(&'"') {
            chars.next();
            column += 1;
            text.push('"');
        } else if c.in_quotes && ch == '"' {
            c.in_quotes = false;
        } else if !c.in_quotes && ch == delim {
            fields.push(c.field(text.len()));
            at_start = true;
        } else {
            text.push(ch);
        }
    }
    if c.in_quotes {
        return Some(c);
    }
    if at_start {
        // An empty last field: the line is empty or ends with the delimiter.
        c.begin(text.len(), line_no, column + 1);
    }
    fields.push(c.field(text.len()));
    None
}

/// Counts the fields of one line, splitting on `delim` outside quotes (for format sniffing).
pub(crate) fn count_fields(line: &str, delim: u8) -> usize {
    split_fields(line, delim).len()
}

/// The fields of one line, split on `delim` outside quotes, each trimmed of surrounding quotes
/// (doubled quotes inside are left as written: this is for sniffing, not for reading values).
pub(crate) fn split_fields(line: &str, delim: u8) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut in_quotes, mut start) = (false, 0);
    for (i, b) in line.bytes().enumerate() {
        if b == b'"' {
            in_quotes = !in_quotes;
        } else if b == delim && !in_quotes {
            out.push(&line[start..i]);
            start = i + 1;
        }
    }
    out.push(&line[start..]);
    out.into_iter()
        .map(|f| {
            let t = f.trim();
            t.strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .unwrap_or(t)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::error::Ctx;

    fn records(input: &str) -> Result<Vec<(usize, Vec<String>)>, ImportError> {
        let mut r = CsvReader::new(LineReader::new(input.as_bytes(), Ctx::new("t.csv")), b',');
        let mut out = Vec::new();
        while let Some(rec) = r.next_record()? {
            out.push((rec.line, rec.iter().map(str::to_owned).collect()));
        }
        Ok(out)
    }

    #[test]
    fn quoting_rules() {
        let cases: &[(&str, &[&[&str]], &str)] = &[
            ("a,b\n1,2\n", &[&["a", "b"], &["1", "2"]], "plain"),
            ("\"x,y\",2\n", &[&["x,y", "2"]], "delimiter inside quotes"),
            (
                "\"say \"\"hi\"\"\",1\n",
                &[&["say \"hi\"", "1"]],
                "doubled quotes",
            ),
            ("a,,\n", &[&["a", "", ""]], "empty trailing fields"),
            (
                "\"two\nlines\",3\n",
                &[&["two\nlines", "3"]],
                "quoted newline",
            ),
            ("1,2\r\n3,4\r\n", &[&["1", "2"], &["3", "4"]], "CRLF"),
        ];
        for (input, want, why) in cases {
            let got = records(input).unwrap();
            let fields: Vec<Vec<String>> = got.into_iter().map(|(_, f)| f).collect();
            let want: Vec<Vec<String>> = want
                .iter()
                .map(|r| r.iter().map(|s| s.to_string()).collect())
                .collect();
            assert_eq!(fields, want, "{why}");
        }
    }

    #[test]
    fn records_know_their_line_and_columns() {
        let input = "h1,h2\n\"a\nb\",c\nx,yy\n";
        let mut r = CsvReader::new(LineReader::new(input.as_bytes(), Ctx::new("t")), b',');
        r.next_record().unwrap();
        let rec = r.next_record().unwrap().unwrap();
        assert_eq!(rec.line, 2, "a multi-line record starts on its first line");
        let rec = r.next_record().unwrap().unwrap();
        assert_eq!(rec.line, 4);
        assert_eq!(rec.location(1), Location::line_column(4, 3));
    }

    #[test]
    fn an_unclosed_quote_is_an_error_at_its_start() {
        let err = records("a,b\n1,\"open\n").unwrap_err();
        assert_eq!(err.location(), Some(&Location::line_column(2, 3)));
        assert!(err.to_string().contains("never closed"), "{err}");
    }

    #[test]
    fn sniffing_counts_fields_outside_quotes() {
        assert_eq!(count_fields("a,\"b,c\",d", b','), 3);
        assert_eq!(count_fields("a\tb", b'\t'), 2);
        assert_eq!(count_fields("", b','), 1);
        assert_eq!(split_fields(" \"[1, 2]\" ,x", b','), ["[1, 2]", "x"]);
    }
}
