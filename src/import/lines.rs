//! Streaming lines out of any reader: one reused buffer, `\n` or `\r\n` endings, a UTF-8 byte-order
//! mark dropped, and text that is not UTF-8 reported with its line and column.

use std::io::BufRead;

use super::error::{Ctx, ImportError, Location};

/// What every text format expects of its bytes.
pub(crate) const EXPECT_TEXT: &str = "UTF-8 text (a training log), not binary data";

/// Reads one line at a time into a reused buffer.
pub(crate) struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    line: usize,
    consumed: u64,
    ctx: Ctx,
}

impl<R: BufRead> LineReader<R> {
    pub(crate) fn new(inner: R, ctx: Ctx) -> Self {
        LineReader {
            inner,
            buf: Vec::with_capacity(256),
            line: 0,
            consumed: 0,
            ctx,
        }
    }

    /// 1-based number of the line last returned (0 before the first).
    pub(crate) fn line_no(&self) -> usize {
        self.line
    }

    /// Bytes read so far.
    pub(crate) fn consumed(&self) -> u64 {
        self.consumed
    }

    pub(crate) fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    /// The next line without its ending, or `None` at the end of the input.
    pub(crate) fn next_line(&mut self) -> Result<Option<&str>, ImportError> {
        self.buf.clear();
        let n = self
            .inner
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| self.ctx.io(e))?;
        if n == 0 {
            return Ok(None);
        }
        self.consumed += n as u64;
        self.line += 1;
        let mut bytes: &[u8] = &self.buf;
        if self.line == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        check_text(bytes, self.line, &self.ctx)
    }
}

/// `bytes` as text, or an error naming the first byte that is not text.
fn check_text<'a>(bytes: &'a [u8], line: usize, ctx: &Ctx) -> Result<Option<&'a str>, ImportError> {
    match std::str::from_utf8(bytes) {
        Ok(s) => match s.find('\0') {
            Some(at) => Err(not_text(ctx, line, s, at, 0)),
            None => Ok(Some(s)),
        },
        Err(e) => {
            let good = e.valid_up_to();
            let prefix = std::str::from_utf8(&bytes[..good]).unwrap_or("");
            Err(not_text(ctx, line, prefix, good, bytes[good]))
        }
    }
}

fn not_text(ctx: &Ctx, line: usize, prefix: &str, at: usize, byte: u8) -> ImportError {
    let column = prefix[..at.min(prefix.len())].chars().count() + 1;
    ctx.malformed(
        Location::line_column(line, column),
        format!("byte 0x{byte:02X} is not text"),
        EXPECT_TEXT,
    )
}

/// Checks the first bytes of a file: binary data (NUL bytes, invalid UTF-8) and UTF-16 text are
/// refused with their position. A multi-byte character cut off at the end of `head` is fine.
pub(crate) fn check_head(head: &[u8], ctx: &Ctx) -> Result<(), ImportError> {
    if head.starts_with(b"\xFF\xFE") || head.starts_with(b"\xFE\xFF") {
        return Err(ctx.malformed(
            Location::line(1),
            "the file is UTF-16 text",
            "UTF-8 text; convert it first (e.g. `iconv -f UTF-16 -t UTF-8`)",
        ));
    }
    let (valid, bad) = match std::str::from_utf8(head) {
        Ok(s) => (s, None),
        Err(e) => {
            let valid = std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or("");
            (valid, e.error_len().map(|_| head[e.valid_up_to()]))
        }
    };
    let (offset, byte) = match (valid.find('\0'), bad) {
        (Some(at), _) => (at, 0u8),
        (None, Some(b)) => (valid.len(), b),
        (None, None) => return Ok(()),
    };
    let before = &valid[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    Err(ctx.malformed(
        Location::line_column(line, column),
        format!("byte 0x{byte:02X} is not text"),
        EXPECT_TEXT,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Result<Vec<String>, ImportError> {
        let mut r = LineReader::new(input, Ctx::new("t"));
        let mut out = Vec::new();
        while let Some(l) = r.next_line()? {
            out.push(l.to_owned());
        }
        Ok(out)
    }

    #[test]
    fn endings_and_bom() {
        let cases: &[(&[u8], &[&str], &str)] = &[
            (b"a\nb\n", &["a", "b"], "unix endings"),
            (b"a\r\nb\r\n", &["a", "b"], "windows endings"),
            (
                b"\xEF\xBB\xBFa,b\nc",
                &["a,b", "c"],
                "BOM dropped, last line unterminated",
            ),
            (b"", &[], "empty input"),
        ];
        for (input, want, why) in cases {
            assert_eq!(lines(input).unwrap(), *want, "{why}");
        }
    }

    #[test]
    fn binary_is_reported_with_line_and_column() {
        let err = lines(b"ok\nab\xFFcd\n").unwrap_err().to_string();
        assert_eq!(
            err,
            format!("t: line 2, column 3: byte 0xFF is not text; expected {EXPECT_TEXT}")
        );
        let err = check_head(b"x,y\n1,\x002\n", &Ctx::new("g")).unwrap_err();
        assert_eq!(err.location(), Some(&Location::line_column(2, 3)));
    }

    #[test]
    fn a_cut_multibyte_char_at_the_end_of_the_head_is_fine() {
        let head = "loss é".as_bytes();
        assert!(check_head(&head[..head.len() - 1], &Ctx::new("h")).is_ok());
        assert!(check_head(b"\xFF\xFEl\0", &Ctx::new("h"))
            .unwrap_err()
            .to_string()
            .contains("UTF-16"));
    }
}
