//! The second factor of partners (hub) and agents (node console):
//! time-based one-time codes (RFC 6238 with
//! the usual parameters: HMAC-SHA-1, 6 digits, 30-second steps), as
//! authenticator apps compute them.
//!
//! A code is accepted for the current step and the steps just before and
//! after (clocks drift); a step once used is never accepted again for the
//! account, so a code seen over a shoulder or replayed is refused.

use passerelle_protocol::UnixTime;
use totp_rs::{Algorithm, TOTP};

/// Seconds per step.
pub const STEP: u64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;

/// Why a code was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    /// Not the code of any step in the window (or not 6 digits).
    #[error("wrong code")]
    Wrong,
    /// The code of a step already used.
    #[error("code already used")]
    Replayed,
}

/// A fresh 160-bit secret.
pub fn new_secret() -> Vec<u8> {
    let mut s = passerelle_link::random16().to_vec();
    s.extend_from_slice(&passerelle_link::random16()[..4]);
    s
}

fn totp(secret: &[u8]) -> TOTP {
    TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 1, STEP, secret.to_vec())
}

/// The secret in base32 (no padding), as typed into an authenticator app.
pub fn secret_base32(secret: &[u8]) -> String {
    totp(secret).get_secret_base32()
}

/// The `otpauth://` URI an authenticator app reads from a QR code.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &[u8]) -> String {
    let issuer = crate::cookie::percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP}",
        crate::cookie::percent_encode(account),
        secret_base32(secret)
    )
}

/// Checks `code` at `now` against `secret`, given the last step used;
/// returns the step it belongs to (to record as the new last step).
///
/// # Errors
/// [`CodeError::Wrong`] for a code of no step in the window,
/// [`CodeError::Replayed`] for the code of a step already used.
pub fn check(secret: &[u8], code: &str, now: UnixTime, last_step: u64) -> Result<u64, CodeError> {
    let code = code.trim();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CodeError::Wrong);
    }
    let t = totp(secret);
    let current = now / STEP;
    let matched = [current.saturating_sub(1), current, current + 1]
        .into_iter()
        .find(|step| {
            passerelle_protocol::sign::constant_time_eq(
                t.generate(step * STEP).as_bytes(),
                code.as_bytes(),
            )
        })
        .ok_or(CodeError::Wrong)?;
    if matched <= last_step {
        return Err(CodeError::Replayed);
    }
    Ok(matched)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6238_vector_and_window() {
        // RFC 6238 appendix B, SHA-1 secret, T = 59 s: 94287082 (8 digits),
        // whose last 6 are the 6-digit code.
        let secret = b"12345678901234567890";
        assert_eq!(totp(secret).generate(59), "287082");
        assert_eq!(check(secret, "287082", 59, 0), Ok(1));
        // The next step still accepts it; two steps later, no more.
        assert_eq!(check(secret, "287082", 89, 0), Ok(1));
        assert_eq!(check(secret, "287082", 120, 0), Err(CodeError::Wrong));
        assert_eq!(check(secret, "287082", 59, 1), Err(CodeError::Replayed));
        assert_eq!(check(secret, "28708", 59, 0), Err(CodeError::Wrong));
        assert_eq!(check(secret, "abcdef", 59, 0), Err(CodeError::Wrong));
    }

    #[test]
    fn uri_and_base32() {
        let secret = b"12345678901234567890";
        assert_eq!(secret_base32(secret), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let uri = otpauth_uri("DEETS Mayotte", "ana@cd976.fr", secret);
        assert!(uri.starts_with("otpauth://totp/DEETS%20Mayotte:ana%40cd976.fr?secret=GEZDG"));
        assert_eq!(new_secret().len(), 20);
    }
}
