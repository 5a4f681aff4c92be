//! A small PNG encoder for 8-bit RGB images: per-row filter (None, Sub or Up, whichever has the smallest
//! sum of absolute bytes), then zlib with one fixed-Huffman deflate block and a one-entry hash LZ77.
//!
//! plotters' bitmap encoder writes only to files; charts need the bytes in memory, so this file does the
//! encoding. Charts are mostly flat colour, so even this simple compressor shrinks them 20-50 fold.

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];
const WINDOW: usize = 32 * 1024;
const MAX_MATCH: usize = 258;
const HASH_BITS: u32 = 15;

/// Encodes `rgb` (`width * height * 3` bytes, rows top to bottom) as a PNG file.
///
/// The caller guarantees the length (the chart code sizes the buffer); a short buffer is padded with
/// black rather than panicking.
pub(crate) fn encode_rgb(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    let row = width as usize * 3;
    let raw = filter_rows(rgb, row, height as usize);
    let mut out = Vec::with_capacity(raw.len() / 16 + 1024);
    out.extend_from_slice(&SIGNATURE);
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // depth 8, truecolour, deflate, adaptive filter, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn filter_rows(rgb: &[u8], row: usize, height: usize) -> Vec<u8> {
    let mut raw = Vec::with_capacity((row + 1) * height);
    let zero = vec![0u8; row];
    let mut candidates = [vec![0u8; row], vec![0u8; row], vec![0u8; row]];
    for y in 0..height {
        let line = rgb.get(y * row..(y + 1) * row).unwrap_or(&zero);
        let above = if y == 0 {
            &zero[..]
        } else {
            &rgb[(y - 1) * row..y * row]
        };
        for i in 0..row {
            let left = if i >= 3 { line[i - 3] } else { 0 };
            candidates[0][i] = line[i];
            candidates[1][i] = line[i].wrapping_sub(left);
            candidates[2][i] = line[i].wrapping_sub(above[i]);
        }
        let cost = |c: &[u8]| {
            c.iter()
                .map(|&b| u64::from((b as i8).unsigned_abs()))
                .sum::<u64>()
        };
        let best = (0..3).min_by_key(|&k| cost(&candidates[k])).unwrap_or(0);
        raw.push(best as u8); // filter types 0 (None), 1 (Sub), 2 (Up)
        raw.extend_from_slice(&candidates[best]);
    }
    raw
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

fn crc32(bytes: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (n, entry) in t.iter_mut().enumerate() {
            let mut c = n as u32;
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
            *entry = c;
        }
        t
    });
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c = table[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
    }
    c ^ 0xFFFF_FFFF
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for block in bytes.chunks(5552) {
        for &x in block {
            a += u32::from(x);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

/// Writes bits least-significant first, as deflate wants.
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    #[inline]
    fn put(&mut self, value: u32, count: u32) {
        self.acc |= u64::from(value) << self.n;
        self.n += count;
        while self.n >= 8 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// A Huffman code, which deflate stores most-significant bit first.
    #[inline]
    fn code(&mut self, code: u32, len: u32) {
        self.put(code.reverse_bits() >> (32 - len), len);
    }

    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push(self.acc as u8);
        }
        self.out
    }
}

const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
    2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];

/// The fixed Huffman code of a literal/length symbol (RFC 1951, 3.2.6).
#[inline]
fn literal(bits: &mut Bits, symbol: u32) {
    match symbol {
        0..=143 => bits.code(0x30 + symbol, 8),
        144..=255 => bits.code(0x190 + symbol - 144, 9),
        256..=279 => bits.code(symbol - 256, 7),
        _ => bits.code(0xC0 + symbol - 280, 8),
    }
}

fn back_reference(bits: &mut Bits, len: usize, dist: usize) {
    let l = LEN_BASE.partition_point(|&b| usize::from(b) <= len) - 1;
    literal(bits, 257 + l as u32);
    bits.put(
        (len - usize::from(LEN_BASE[l])) as u32,
        u32::from(LEN_EXTRA[l]),
    );
    let d = DIST_BASE.partition_point(|&b| usize::from(b) <= dist) - 1;
    bits.code(d as u32, 5);
    bits.put(
        (dist - usize::from(DIST_BASE[d])) as u32,
        u32::from(DIST_EXTRA[d]),
    );
}

#[inline]
fn hash(data: &[u8], i: usize) -> usize {
    let v = u32::from(data[i]) | u32::from(data[i + 1]) << 8 | u32::from(data[i + 2]) << 16;
    (v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
}

/// LZ77 match finder: the last position seen for each 3-byte hash.
struct Matcher {
    head: Vec<usize>,
}

impl Matcher {
    /// The longest match (length, distance) for position `i` with the one candidate the hash table
    /// holds, and records `i` as the newest position for its hash.
    fn find(&mut self, data: &[u8], i: usize) -> (usize, usize) {
        if i + 3 > data.len() {
            return (0, 0);
        }
        let h = hash(data, i);
        let candidate = std::mem::replace(&mut self.head[h], i);
        if candidate == usize::MAX || i - candidate > WINDOW {
            return (0, 0);
        }
        let limit = MAX_MATCH.min(data.len() - i);
        let mut len = 0;
        while len < limit && data[candidate + len] == data[i + len] {
            len += 1;
        }
        (len, i - candidate)
    }

    /// Indexes the positions inside a match at `i` of length `len`; for long matches (runs of white)
    /// the last few are enough and save most of the hashing.
    fn skip(&mut self, data: &[u8], i: usize, len: usize) {
        let end = (i + len).min(data.len().saturating_sub(2));
        let from = if len > 32 {
            end.saturating_sub(4).max(i + 1)
        } else {
            i + 1
        };
        for j in from..end {
            self.head[hash(data, j)] = j;
        }
    }
}

/// zlib stream (RFC 1950) holding one final fixed-Huffman deflate block.
pub(crate) fn zlib(data: &[u8]) -> Vec<u8> {
    let mut bits = Bits {
        out: vec![0x78, 0x01],
        acc: 0,
        n: 0,
    };
    bits.put(1, 1); // BFINAL
    bits.put(1, 2); // BTYPE = 01, fixed Huffman
    let mut matcher = Matcher {
        head: vec![usize::MAX; 1 << HASH_BITS],
    };
    let mut i = 0;
    while i < data.len() {
        let (len, dist) = matcher.find(data, i);
        if len >= 3 {
            back_reference(&mut bits, len, dist);
            matcher.skip(data, i, len);
            i += len;
        } else {
            literal(&mut bits, u32::from(data[i]));
            i += 1;
        }
    }
    literal(&mut bits, 256);
    let mut out = bits.finish();
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

#[cfg(test)]
mod tests;
