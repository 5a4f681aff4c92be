//! Round trips through an independent decoder: a minimal inflater for fixed-Huffman blocks and the
//! PNG un-filter, written from RFC 1950/1951 and the PNG specification.

use super::*;

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    bit: u32,
}

impl Reader<'_> {
    fn bit(&mut self) -> u32 {
        let b = (self.data[self.pos] >> self.bit) & 1;
        self.bit += 1;
        if self.bit == 8 {
            self.bit = 0;
            self.pos += 1;
        }
        u32::from(b)
    }
    fn bits(&mut self, n: u32) -> u32 {
        (0..n).fold(0, |acc, k| acc | (self.bit() << k))
    }
    /// Huffman codes arrive most-significant bit first.
    fn code(&mut self, n: u32) -> u32 {
        (0..n).fold(0, |acc, _| (acc << 1) | self.bit())
    }
    fn symbol(&mut self) -> u32 {
        let mut c = self.code(7);
        if c <= 0x17 {
            return c + 256;
        }
        c = (c << 1) | self.bit();
        if (0x30..=0xBF).contains(&c) {
            return c - 0x30;
        }
        if (0xC0..=0xC7).contains(&c) {
            return c - 0xC0 + 280;
        }
        c = (c << 1) | self.bit();
        c - 0x190 + 144
    }
}

fn inflate_zlib(z: &[u8]) -> Vec<u8> {
    assert_eq!(
        (u32::from(z[0]) * 256 + u32::from(z[1])) % 31,
        0,
        "zlib header check"
    );
    let mut r = Reader {
        data: &z[2..z.len() - 4],
        pos: 0,
        bit: 0,
    };
    assert_eq!(r.bits(1), 1, "single final block");
    assert_eq!(r.bits(2), 1, "fixed Huffman");
    let mut out: Vec<u8> = Vec::new();
    loop {
        let s = r.symbol();
        match s {
            0..=255 => out.push(s as u8),
            256 => break,
            _ => {
                let l = (s - 257) as usize;
                let len = usize::from(LEN_BASE[l]) + r.bits(u32::from(LEN_EXTRA[l])) as usize;
                let d = r.code(5) as usize;
                let dist = usize::from(DIST_BASE[d]) + r.bits(u32::from(DIST_EXTRA[d])) as usize;
                for _ in 0..len {
                    out.push(out[out.len() - dist]);
                }
            }
        }
    }
    let stored = u32::from_be_bytes(z[z.len() - 4..].try_into().unwrap());
    assert_eq!(stored, adler32(&out), "Adler-32 of the decoded data");
    out
}

fn decode_png(png: &[u8]) -> (u32, u32, Vec<u8>) {
    assert_eq!(&png[..8], &SIGNATURE);
    let mut pos = 8;
    let (mut w, mut h, mut idat) = (0, 0, Vec::new());
    while pos < png.len() {
        let len = u32::from_be_bytes(png[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &png[pos + 4..pos + 8];
        let data = &png[pos + 8..pos + 8 + len];
        let crc = u32::from_be_bytes(png[pos + 8 + len..pos + 12 + len].try_into().unwrap());
        assert_eq!(crc, crc32(&png[pos + 4..pos + 8 + len]), "chunk CRC");
        match kind {
            b"IHDR" => {
                w = u32::from_be_bytes(data[0..4].try_into().unwrap());
                h = u32::from_be_bytes(data[4..8].try_into().unwrap());
                assert_eq!(&data[8..], &[8, 2, 0, 0, 0]);
            }
            b"IDAT" => idat.extend_from_slice(data),
            _ => {}
        }
        pos += 12 + len;
    }
    let raw = inflate_zlib(&idat);
    let row = w as usize * 3;
    let mut rgb = vec![0u8; row * h as usize];
    for y in 0..h as usize {
        let f = raw[y * (row + 1)];
        for i in 0..row {
            let v = raw[y * (row + 1) + 1 + i];
            let left = if i >= 3 { rgb[y * row + i - 3] } else { 0 };
            let up = if y > 0 { rgb[(y - 1) * row + i] } else { 0 };
            rgb[y * row + i] = match f {
                0 => v,
                1 => v.wrapping_add(left),
                2 => v.wrapping_add(up),
                other => panic!("unexpected filter {other}"),
            };
        }
    }
    (w, h, rgb)
}

#[test]
fn known_checksums() {
    // Published check values: CRC-32("123456789") = 0xCBF43926, Adler-32("Wikipedia") = 0x11E60398.
    assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    // The IEND chunk of every PNG carries CRC 0xAE426082.
    assert_eq!(crc32(b"IEND"), 0xAE42_6082);
}

#[test]
fn zlib_round_trips() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![], "empty"),
        (b"a".to_vec(), "one byte"),
        (b"abcabcabcabcabcabc".to_vec(), "short repeats"),
        (
            vec![0u8; 100_000],
            "a long run (matches of 258 at distance 1)",
        ),
        (
            (0..70_000u32).map(|i| (i * 7919 % 251) as u8).collect(),
            "pseudo-random bytes",
        ),
        (
            (0..300_000u32).map(|i| (i % 40_000 % 256) as u8).collect(),
            "repeats beyond the window",
        ),
    ];
    for (data, why) in cases {
        assert_eq!(inflate_zlib(&zlib(&data)), data, "{why}");
    }
}

#[test]
fn png_round_trips_and_compresses_flat_images() {
    let (w, h) = (97u32, 61u32);
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    for x in 0..w as usize {
        let y = (x * 37) % h as usize;
        rgb[(y * w as usize + x) * 3] = 31; // a scatter of blue-ish pixels
    }
    let png = encode_rgb(w, h, &rgb);
    assert_eq!(decode_png(&png), (w, h, rgb.clone()));
    assert!(
        png.len() < rgb.len() / 5,
        "flat image compresses: {} of {}",
        png.len(),
        rgb.len()
    );
}
