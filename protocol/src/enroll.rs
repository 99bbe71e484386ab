//! Enrollment: the one-time token and the exchange that turns a CSR into a
//! node certificate.
//!
//! A token reads `PSL1-<secret>-<ca fingerprint>`: 16 random bytes and the
//! SHA-256 of the hub CA certificate, in hex. The node uses the fingerprint
//! to authenticate the hub on first contact (it trusts the presented chain
//! only if its root hashes to it), then proves knowledge of the secret. The
//! hub stores only the SHA-256 of the secret.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{hex, ids::NodeId, sign, UnixTime};

const PREFIX: &str = "PSL1-";

/// A parsed enrollment token.
#[derive(Clone, PartialEq, Eq)]
pub struct Token {
    /// The one-time secret.
    pub secret: [u8; 16],
    /// SHA-256 of the hub CA certificate (DER).
    pub ca_fingerprint: [u8; 32],
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        f.debug_struct("Token")
            .field("ca_fingerprint", &hex::encode(&self.ca_fingerprint))
            .finish()
    }
}

/// Why a token text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed enrollment token: {0} (copy the whole line printed by `passerelle-hub enroll`, it starts with PSL1-)")]
pub struct TokenFormatError(&'static str);

impl Token {
    /// The token's text form.
    pub fn encode(&self) -> String {
        format!(
            "{PREFIX}{}-{}",
            hex::encode(&self.secret),
            hex::encode(&self.ca_fingerprint)
        )
    }

    /// Parses the text form, tolerating surrounding whitespace.
    ///
    /// # Errors
    /// When the text is not a token of this version.
    pub fn parse(text: &str) -> Result<Self, TokenFormatError> {
        let rest = text
            .trim()
            .strip_prefix(PREFIX)
            .ok_or(TokenFormatError("missing PSL1- prefix"))?;
        let (secret, fp) = rest
            .split_once('-')
            .ok_or(TokenFormatError("missing '-' separator"))?;
        Ok(Self {
            secret: hex::decode_array(secret)
                .ok_or(TokenFormatError("secret is not 32 hex digits"))?,
            ca_fingerprint: hex::decode_array(fp)
                .ok_or(TokenFormatError("CA fingerprint is not 64 hex digits"))?,
        })
    }

    /// What the hub stores to recognise this token.
    pub fn secret_hash(&self) -> [u8; 32] {
        sign::sha256(&self.secret)
    }
}

/// The hub's record of an issued token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Node the token enrolls.
    pub node_id: NodeId,
    /// Institution named in the certificate.
    pub name: String,
    /// SHA-256 of the secret.
    pub secret_hash: [u8; 32],
    /// When the token was issued.
    pub issued_at: UnixTime,
    /// After this, the token is refused.
    pub expires_at: UnixTime,
    /// Set when the token has been used.
    pub used_at: Option<UnixTime>,
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum TokenError {
    /// No token with this secret was ever issued.
    #[error(
        "unknown enrollment token: ask the hub administrator for a new one (passerelle-hub enroll)"
    )]
    Unknown,
    /// The token has been used already.
    #[error("enrollment token already used: a token works once; ask the hub administrator for a new one (passerelle-hub enroll)")]
    Used {
        /// When it was used.
        at: UnixTime,
    },
    /// The token has expired.
    #[error(
        "enrollment token expired: ask the hub administrator for a new one (passerelle-hub enroll)"
    )]
    Expired {
        /// When it expired.
        at: UnixTime,
    },
}

/// Checks a presented token against the hub's record, if any.
///
/// # Errors
/// The [`TokenError`] explaining the refusal.
pub fn check_token(
    record: Option<&TokenRecord>,
    presented: &[u8; 16],
    now: UnixTime,
) -> Result<(), TokenError> {
    let record = record.ok_or(TokenError::Unknown)?;
    if !sign::constant_time_eq(&record.secret_hash, &sign::sha256(presented)) {
        return Err(TokenError::Unknown);
    }
    if let Some(at) = record.used_at {
        return Err(TokenError::Used { at });
    }
    if now > record.expires_at {
        return Err(TokenError::Expired {
            at: record.expires_at,
        });
    }
    Ok(())
}

/// The node's request on the enrollment ALPN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollRequest {
    /// Protocol version of the node.
    pub version: u16,
    /// The token's secret.
    pub secret: [u8; 16],
    /// PKCS#10 request made with the node's own key.
    pub csr_der: Vec<u8>,
}

/// The hub's reply on the enrollment ALPN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EnrollResponse {
    /// A certificate was issued.
    Issued {
        /// The node id the certificate names.
        node_id: NodeId,
        /// The institution it names.
        name: String,
        /// The node certificate (DER).
        cert_der: Vec<u8>,
        /// The hub CA certificate (DER).
        ca_der: Vec<u8>,
    },
    /// The request was refused, with a message for the operator.
    Refused(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(secret: &[u8; 16]) -> TokenRecord {
        TokenRecord {
            node_id: NodeId::new("caf-976").unwrap(),
            name: "CAF".into(),
            secret_hash: sign::sha256(secret),
            issued_at: 0,
            expires_at: 100,
            used_at: None,
        }
    }

    #[test]
    fn token_text_round_trips_and_hides_secret() {
        let t = Token {
            secret: [7; 16],
            ca_fingerprint: [9; 32],
        };
        let text = t.encode();
        assert_eq!(Token::parse(&format!("  {text}\n")), Ok(t.clone()));
        assert!(!format!("{t:?}").contains("0707"));
        for bad in [
            "",
            "PSL1-",
            "PSL2-00-00",
            &text[..text.len() - 1],
            &text.replace('-', ""),
        ] {
            assert!(Token::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn token_checks() {
        let secret = [7; 16];
        let mut rec = record(&secret);
        assert_eq!(check_token(Some(&rec), &secret, 50), Ok(()));
        assert_eq!(check_token(None, &secret, 50), Err(TokenError::Unknown));
        assert_eq!(
            check_token(Some(&rec), &[8; 16], 50),
            Err(TokenError::Unknown)
        );
        assert_eq!(
            check_token(Some(&rec), &secret, 101),
            Err(TokenError::Expired { at: 100 })
        );
        rec.used_at = Some(60);
        assert_eq!(
            check_token(Some(&rec), &secret, 70),
            Err(TokenError::Used { at: 60 })
        );
    }
}
