//! Lower-case hexadecimal text, for fingerprints, ids and tokens.

/// Encodes bytes as lower-case hex.
pub fn encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0x0f) as usize] as char);
    }
    out
}

/// Decodes hex (either case) into exactly `N` bytes; `None` if the text is
/// not `2 * N` hex digits.
pub fn decode_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.as_bytes();
    if text.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in text.chunks_exact(2).enumerate() {
        out[i] = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip_and_rejects() {
        let bytes = [0u8, 1, 0xab, 0xff];
        let text = super::encode(&bytes);
        assert_eq!(text, "0001abff");
        assert_eq!(super::decode_array::<4>(&text), Some(bytes));
        assert_eq!(super::decode_array::<4>("0001ABFF"), Some(bytes));
        assert_eq!(super::decode_array::<4>("0001abf"), None);
        assert_eq!(super::decode_array::<4>("0001abfg"), None);
    }
}
