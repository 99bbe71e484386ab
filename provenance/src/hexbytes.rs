//! Bytes written as lower-case hexadecimal text, so a bundle is plain JSON
//! a person can open, and a certificate or signature in it can be copied
//! into other tools.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bytes that serialize as hexadecimal text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hex(pub Vec<u8>);

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&passerelle_protocol::hex::encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Hex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        decode(&text)
            .map(Hex)
            .ok_or_else(|| serde::de::Error::custom("not hexadecimal text"))
    }
}

/// Reads hexadecimal text (either case), `None` when it is not.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let pairs = text.trim().as_bytes().chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    pairs
        .map(|p| Some((digit(p[0])? << 4) | digit(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let h = Hex(vec![0, 1, 0xab, 0xff]);
        let text = serde_json::to_string(&h).unwrap();
        assert_eq!(text, "\"0001abff\"");
        assert_eq!(serde_json::from_str::<Hex>(&text).unwrap(), h);
        assert_eq!(decode("0G"), None);
        assert_eq!(decode("abc"), None);
        assert_eq!(decode("ABcd"), Some(vec![0xab, 0xcd]));
    }
}
