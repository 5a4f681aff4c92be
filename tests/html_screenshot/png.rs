//! A small PNG reader for screenshots: zlib/DEFLATE (stored, fixed and dynamic Huffman blocks, from
//! RFC 1950/1951) and the five PNG row filters, for 8-bit RGB and RGBA images without interlacing.

/// Bits of a DEFLATE stream, least significant first.
struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    bit: u32,
}

impl Bits<'_> {
    fn bit(&mut self) -> Result<u32, String> {
        let byte = *self.data.get(self.pos).ok_or("deflate data ends early")?;
        let b = u32::from(byte >> self.bit) & 1;
        self.bit += 1;
        if self.bit == 8 {
            self.bit = 0;
            self.pos += 1;
        }
        Ok(b)
    }

    fn bits(&mut self, n: u32) -> Result<u32, String> {
        let mut v = 0;
        for k in 0..n {
            v |= self.bit()? << k;
        }
        Ok(v)
    }
}

/// A canonical Huffman code: how many codes of each length, and the symbols in code order.
struct Huffman {
    counts: [u16; 16],
    symbols: Vec<u16>,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Self {
        let mut counts = [0u16; 16];
        for &l in lengths {
            counts[usize::from(l)] += 1;
        }
        counts[0] = 0;
        let mut offsets = [0u16; 16];
        for len in 1..15 {
            offsets[len + 1] = offsets[len] + counts[len];
        }
        let mut symbols = vec![0u16; lengths.len()];
        for (sym, &l) in lengths.iter().enumerate() {
            if l != 0 {
                symbols[usize::from(offsets[usize::from(l)])] = sym as u16;
                offsets[usize::from(l)] += 1;
            }
        }
        Huffman { counts, symbols }
    }

    /// Codes arrive most significant bit first; walk the lengths until the code falls in range.
    fn decode(&self, bits: &mut Bits<'_>) -> Result<u16, String> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..16 {
            code |= bits.bit()? as i32;
            let count = i32::from(self.counts[len]);
            if code - first < count {
                return Ok(self.symbols[(index + code - first) as usize]);
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        Err("invalid Huffman code".into())
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

/// Inflates a zlib stream (the two-byte header is checked, the Adler-32 trailer ignored).
pub fn inflate_zlib(z: &[u8]) -> Result<Vec<u8>, String> {
    if z.len() < 2 || (u32::from(z[0]) * 256 + u32::from(z[1])) % 31 != 0 || z[0] & 0x0f != 8 {
        return Err("not a zlib stream".into());
    }
    let mut bits = Bits {
        data: &z[2..],
        pos: 0,
        bit: 0,
    };
    let mut out = Vec::new();
    loop {
        let last = bits.bit()?;
        match bits.bits(2)? {
            0 => stored(&mut bits, &mut out)?,
            1 => {
                let (lit, dist) = fixed_codes();
                codes(&mut bits, &mut out, &lit, &dist)?;
            }
            2 => {
                let (lit, dist) = dynamic_codes(&mut bits)?;
                codes(&mut bits, &mut out, &lit, &dist)?;
            }
            _ => return Err("invalid block type".into()),
        }
        if last == 1 {
            return Ok(out);
        }
    }
}

fn stored(bits: &mut Bits<'_>, out: &mut Vec<u8>) -> Result<(), String> {
    if bits.bit != 0 {
        bits.bit = 0;
        bits.pos += 1;
    }
    let header = bits
        .data
        .get(bits.pos..bits.pos + 4)
        .ok_or("stored block header")?;
    let len = usize::from(u16::from_le_bytes([header[0], header[1]]));
    let body = bits
        .data
        .get(bits.pos + 4..bits.pos + 4 + len)
        .ok_or("stored block body")?;
    out.extend_from_slice(body);
    bits.pos += 4 + len;
    Ok(())
}

fn fixed_codes() -> (Huffman, Huffman) {
    let mut lengths = [0u8; 288];
    for (i, l) in lengths.iter_mut().enumerate() {
        *l = match i {
            0..=143 => 8,
            144..=255 => 9,
            256..=279 => 7,
            _ => 8,
        };
    }
    (Huffman::new(&lengths), Huffman::new(&[5u8; 30]))
}

fn dynamic_codes(bits: &mut Bits<'_>) -> Result<(Huffman, Huffman), String> {
    const ORDER: [usize; 19] = [
        16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
    ];
    let nlen = bits.bits(5)? as usize + 257;
    let ndist = bits.bits(5)? as usize + 1;
    let ncode = bits.bits(4)? as usize + 4;
    let mut code_lengths = [0u8; 19];
    for &i in ORDER.iter().take(ncode) {
        code_lengths[i] = bits.bits(3)? as u8;
    }
    let code = Huffman::new(&code_lengths);
    let mut lengths = Vec::with_capacity(nlen + ndist);
    while lengths.len() < nlen + ndist {
        let (value, repeat) = match code.decode(bits)? {
            s @ 0..=15 => (s as u8, 1),
            16 => {
                let prev = *lengths.last().ok_or("repeat with no previous length")?;
                (prev, 3 + bits.bits(2)?)
            }
            17 => (0, 3 + bits.bits(3)?),
            18 => (0, 11 + bits.bits(7)?),
            _ => return Err("invalid code-length symbol".into()),
        };
        lengths.extend(std::iter::repeat_n(value, repeat as usize));
    }
    if lengths.len() != nlen + ndist {
        return Err("code lengths overrun".into());
    }
    Ok((
        Huffman::new(&lengths[..nlen]),
        Huffman::new(&lengths[nlen..]),
    ))
}

fn codes(
    bits: &mut Bits<'_>,
    out: &mut Vec<u8>,
    lit: &Huffman,
    dist: &Huffman,
) -> Result<(), String> {
    loop {
        let s = usize::from(lit.decode(bits)?);
        match s {
            0..=255 => out.push(s as u8),
            256 => return Ok(()),
            257..=285 => {
                let l = s - 257;
                let len = usize::from(LEN_BASE[l]) + bits.bits(u32::from(LEN_EXTRA[l]))? as usize;
                let d = usize::from(dist.decode(bits)?);
                if d >= 30 {
                    return Err("invalid distance symbol".into());
                }
                let back =
                    usize::from(DIST_BASE[d]) + bits.bits(u32::from(DIST_EXTRA[d]))? as usize;
                if back > out.len() {
                    return Err("distance before the start".into());
                }
                for _ in 0..len {
                    out.push(out[out.len() - back]);
                }
            }
            _ => return Err("invalid length symbol".into()),
        }
    }
}

/// A decoded image: `width * height` RGB pixels, rows top to bottom.
pub struct Image {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// 3 bytes per pixel (alpha dropped).
    pub rgb: Vec<u8>,
}

/// Decodes an 8-bit RGB or RGBA, non-interlaced PNG.
pub fn decode(png: &[u8]) -> Result<Image, String> {
    if png.get(..8) != Some(b"\x89PNG\r\n\x1a\n".as_slice()) {
        return Err("not a PNG".into());
    }
    let (mut header, mut idat, mut pos) = (None, Vec::new(), 8);
    while pos + 8 <= png.len() {
        let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
        let data = png
            .get(pos + 8..pos + 8 + len)
            .ok_or("chunk runs past the end")?;
        match &png[pos + 4..pos + 8] {
            b"IHDR" => header = Some(data.to_vec()),
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        pos += 12 + len;
    }
    let h = header.ok_or("no IHDR")?;
    let width = u32::from_be_bytes(h[0..4].try_into().unwrap()) as usize;
    let height = u32::from_be_bytes(h[4..8].try_into().unwrap()) as usize;
    let channels = match (h[8], h[9], h[12]) {
        (8, 2, 0) => 3,
        (8, 6, 0) => 4,
        other => {
            return Err(format!(
                "unsupported depth, colour type, interlace: {other:?}"
            ))
        }
    };
    let raw = inflate_zlib(&idat)?;
    let pixels = unfilter(&raw, width, height, channels)?;
    let rgb = pixels
        .chunks(channels)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    Ok(Image { width, height, rgb })
}

fn unfilter(raw: &[u8], width: usize, height: usize, bpp: usize) -> Result<Vec<u8>, String> {
    let row = width * bpp;
    if raw.len() < height * (row + 1) {
        return Err("image data too short".into());
    }
    let mut out = vec![0u8; row * height];
    for y in 0..height {
        let filter = raw[y * (row + 1)];
        for i in 0..row {
            let x = raw[y * (row + 1) + 1 + i];
            let a = if i >= bpp { out[y * row + i - bpp] } else { 0 };
            let b = if y > 0 { out[(y - 1) * row + i] } else { 0 };
            let c = if y > 0 && i >= bpp {
                out[(y - 1) * row + i - bpp]
            } else {
                0
            };
            out[y * row + i] = match filter {
                0 => x,
                1 => x.wrapping_add(a),
                2 => x.wrapping_add(b),
                3 => x.wrapping_add(((u16::from(a) + u16::from(b)) / 2) as u8),
                4 => x.wrapping_add(paeth(a, b, c)),
                f => return Err(format!("unknown filter {f}")),
            };
        }
    }
    Ok(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

#[test]
fn decodes_curvewatchs_own_chart_pixel_for_pixel() {
    // The renderer's PNG and its raw pixels come from the same drawing: decoding the PNG here must
    // give the pixels back exactly (fixed-Huffman, the path curvewatch's encoder uses).
    use curvewatch::render::charts::{learning_curves_image, ChartOptions};
    use curvewatch::{History, Split};
    let mut h = History::new();
    let loss = h.key(Split::Train, "loss");
    for s in 1..=50u64 {
        h.record(loss, s, 0.0, 1.0 / s as f64);
    }
    let img =
        learning_curves_image(&h, &[], None, &ChartOptions::new().with_size(300, 200)).unwrap();
    let decoded = decode(&img.to_png()).unwrap();
    assert_eq!((decoded.width, decoded.height), (300, 200));
    assert_eq!(decoded.rgb, img.pixels);
}

#[test]
fn inflates_stored_and_dynamic_blocks() {
    // A stored block of "abc", written by hand from RFC 1951 section 3.2.4.
    let stored = [
        0x78, 0x01, 0x01, 0x03, 0x00, 0xfc, 0xff, b'a', b'b', b'c', 0, 0, 0, 0,
    ];
    assert_eq!(inflate_zlib(&stored).unwrap(), b"abc");
    // CPython's zlib.compress(text, 9) of 120 letters drawn by an LCG from a skewed alphabet, for
    // which zlib chooses a dynamic-Huffman block (block type bits 10 in the first byte, 0x35).
    let dynamic = [
        0x78, 0xda, 0x35, 0x8c, 0xc1, 0x0d, 0x00, 0x41, 0x08, 0x02, 0x6b, 0x1d, 0x90, 0xfe, 0x5b,
        0x38, 0x59, 0x73, 0x3e, 0x88, 0x61, 0x00, 0x06, 0x49, 0x08, 0x1c, 0x1b, 0x08, 0x53, 0xd9,
        0x5b, 0xdf, 0x8b, 0xca, 0x90, 0x8f, 0x34, 0xba, 0xbf, 0x98, 0x48, 0xc9, 0xb3, 0x6c, 0x4d,
        0x43, 0x63, 0x79, 0xae, 0x99, 0xbf, 0xb4, 0x03, 0x9d, 0xc0, 0x44, 0xb7, 0xd9, 0xdc, 0xd2,
        0x0f, 0xdf, 0xc3, 0x2d, 0xfd,
    ];
    assert_eq!((dynamic[2] >> 1) & 3, 2, "a dynamic block");
    let mut x: u64 = 1;
    let want: Vec<u8> = (0..120)
        .map(|_| {
            x = (x * 1_103_515_245 + 12_345) % (1 << 31);
            b"aaaaaaaabbbbccde"[((x >> 16) % 16) as usize]
        })
        .collect();
    assert_eq!(inflate_zlib(&dynamic).unwrap(), want);
}
