//! Standard base64 (RFC 4648, with `=` padding), for PNG charts inlined as `data:` URIs.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `bytes` in standard base64 with padding.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextet = |shift: u32| char::from(ALPHABET[((n >> shift) & 0x3f) as usize]);
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn rfc_4648_test_vectors() {
        // RFC 4648, section 10.
        let cases = [
            ("", "", "empty input"),
            ("f", "Zg==", "one byte: two pads"),
            ("fo", "Zm8=", "two bytes: one pad"),
            ("foo", "Zm9v", "three bytes: no pad"),
            ("foob", "Zm9vYg==", "four bytes"),
            ("fooba", "Zm9vYmE=", "five bytes"),
            ("foobar", "Zm9vYmFy", "six bytes"),
        ];
        for (input, want, why) in cases {
            assert_eq!(encode(input.as_bytes()), want, "{why}");
        }
    }

    #[test]
    fn high_bytes_use_the_last_letters() {
        // 0xFF 0xFF 0xFF is 24 one-bits: four sextets of 63, the letter '/'.
        assert_eq!(encode(&[0xff, 0xff, 0xff]), "////");
        // 0xFB 0xEF 0xBE: 111110 111110 111110 111110 = 62 each, the letter '+'.
        assert_eq!(encode(&[0xfb, 0xef, 0xbe]), "++++");
    }
}
