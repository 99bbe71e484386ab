//! Verifying an identifier before an account exists.
//!
//! The person types a phone number or an e-mail address; [`start`]
//! answers the same way whether or not an account already has it: a
//! random step token (kept by the browser in a cookie) and a record of
//! the step. For a new identifier the record holds the HMAC of a 6-digit
//! code under that token, and the code goes out in a message; for a
//! taken one it holds no code, and the message says an account exists
//! and how to sign in. [`check`] counts every try ([`MAX_ATTEMPTS`]) and
//! accepts the code for [`TTL`] seconds; the portal then creates the
//! account and takes the step ([`finish`]).
//!
//! The code is hashed at rest with the step's token, which the store
//! does not hold (only the token's SHA-256 names the record): reading
//! the store gives neither a code nor a way to guess one offline.

use passerelle_protocol::{hex, seal, sign::constant_time_eq, sign::sha256, UnixTime};

use crate::{
    error::VaultError,
    store::{VaultStore, Verification, VerifyAttempt},
};

/// How long a code stays valid (15 minutes).
pub const TTL: u64 = 15 * 60;
/// Tries with one code.
pub const MAX_ATTEMPTS: u32 = 5;
/// Verifications waiting at once, all identifiers together; more are
/// refused until some expire (bounds the store against a flood).
pub const MAX_PENDING: usize = 10_000;
/// Digits in a code.
pub const DIGITS: usize = 6;

/// A random code of [`DIGITS`] digits, every value equally likely.
pub fn new_code() -> String {
    // The largest multiple of 10^6 under 2^32: draws above it are
    // redrawn so that no code is likelier than another.
    const BOUND: u32 = 4_294_000_000;
    loop {
        let mut b = [0u8; 4];
        seal::random(&mut b);
        let n = u32::from_le_bytes(b);
        if n < BOUND {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

/// The digits of a code as typed (spaces and dashes dropped).
pub fn digits(typed: &str) -> String {
    typed.chars().filter(char::is_ascii_digit).collect()
}

fn mac(token: &str, code: &str) -> [u8; 32] {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, token.as_bytes());
    let tag = ring::hmac::sign(&key, digits(code).as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

fn token_hash(token: &str) -> [u8; 32] {
    sha256(token.as_bytes())
}

/// A verification started.
#[derive(Debug)]
pub struct Started {
    /// The step's token, for the browser's cookie.
    pub token: String,
    /// The code to send, or `None` when an account already has the
    /// identifier (the message then says so).
    pub code: Option<String>,
}

/// Starts verifying `login` (normalised); `None` when too many
/// verifications are waiting.
///
/// # Errors
/// On a store failure.
pub fn start(
    store: &VaultStore,
    login: &str,
    now: UnixTime,
) -> Result<Option<Started>, VaultError> {
    let token = hex::encode(&[passerelle_link::random16(), passerelle_link::random16()].concat());
    let taken = store.person_by_login(login)?.is_some();
    let code = (!taken).then(new_code);
    let record = Verification {
        login: login.to_string(),
        code_mac: code.as_deref().map(|c| mac(&token, c)),
        expires_at: now + TTL,
        attempts: 0,
    };
    if !store.put_verification(&token_hash(&token), &record, MAX_PENDING, now)? {
        return Ok(None);
    }
    Ok(Some(Started { token, code }))
}

/// What a try with a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// The code is right: the login it verified.
    Verified(String),
    /// The code is wrong; tries left with this step.
    Wrong {
        /// Tries left (0: the step is over).
        attempts_left: u32,
    },
    /// The step expired.
    Expired,
    /// No such step (used, replaced by a newer one, or out of tries).
    Unknown,
}

/// Checks a code typed for the step of `token`; the try is counted first.
///
/// # Errors
/// On a store failure.
pub fn check(
    store: &VaultStore,
    token: &str,
    code: &str,
    now: UnixTime,
) -> Result<Checked, VaultError> {
    let hash = token_hash(token);
    let v = match store.attempt_verification(&hash, MAX_ATTEMPTS, now)? {
        VerifyAttempt::Unknown => return Ok(Checked::Unknown),
        VerifyAttempt::Expired => return Ok(Checked::Expired),
        VerifyAttempt::Counted(v) => v,
    };
    let right = v
        .code_mac
        .is_some_and(|m| digits(code).len() == DIGITS && constant_time_eq(&m, &mac(token, code)));
    if right {
        return Ok(Checked::Verified(v.login));
    }
    let attempts_left = MAX_ATTEMPTS.saturating_sub(v.attempts);
    if attempts_left == 0 {
        store.take_verification(&hash)?;
    }
    Ok(Checked::Wrong { attempts_left })
}

/// Ends the step of `token` (the account was created): its code cannot
/// serve again. Whether it was still there.
///
/// # Errors
/// On a store failure.
pub fn finish(store: &VaultStore, token: &str) -> Result<bool, VaultError> {
    Ok(store.take_verification(&token_hash(token))?.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, VaultStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = passerelle_hub_core::store::Store::open(&dir.path().join("store")).unwrap();
        (dir, VaultStore::new(s))
    }

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let c = new_code();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
        assert_eq!(digits(" 123-456 "), "123456");
    }

    #[test]
    fn the_right_code_verifies_once_and_wrong_ones_are_counted() {
        let (_d, s) = store();
        let st = start(&s, "0639123456", 100).unwrap().unwrap();
        let code = st.code.unwrap();
        let wrong = if code == "000000" { "111111" } else { "000000" };
        assert_eq!(
            check(&s, &st.token, wrong, 101).unwrap(),
            Checked::Wrong { attempts_left: 4 }
        );
        // Nothing at rest reveals the code.
        let v = s
            .take_verification(&token_hash(&st.token))
            .unwrap()
            .unwrap();
        assert_ne!(v.code_mac, Some(sha256(code.as_bytes())));
        s.put_verification(&token_hash(&st.token), &v, 10, 101)
            .unwrap();
        assert_eq!(
            check(&s, &st.token, &format!(" {code} "), 102).unwrap(),
            Checked::Verified("0639123456".into())
        );
        assert!(finish(&s, &st.token).unwrap());
        assert_eq!(check(&s, &st.token, &code, 103).unwrap(), Checked::Unknown);
    }

    #[test]
    fn tries_run_out_and_codes_expire() {
        let (_d, s) = store();
        let st = start(&s, "a@b.fr", 100).unwrap().unwrap();
        let code = st.code.unwrap();
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for left in (0..MAX_ATTEMPTS).rev() {
            assert_eq!(
                check(&s, &st.token, wrong, 101).unwrap(),
                Checked::Wrong {
                    attempts_left: left
                }
            );
        }
        assert_eq!(check(&s, &st.token, &code, 102).unwrap(), Checked::Unknown);
        let st = start(&s, "a@b.fr", 100).unwrap().unwrap();
        assert_eq!(
            check(&s, &st.token, &st.code.unwrap(), 100 + TTL).unwrap(),
            Checked::Expired
        );
    }

    #[test]
    fn a_taken_login_gets_a_step_no_code_can_pass_and_a_new_step_replaces_the_old() {
        let (_d, s) = store();
        crate::accounts::create(&s, "a@b.fr", "mot de passe", None, 1).unwrap();
        let st = start(&s, "a@b.fr", 100).unwrap().unwrap();
        assert!(st.code.is_none());
        assert!(matches!(
            check(&s, &st.token, "123456", 101).unwrap(),
            Checked::Wrong { .. }
        ));
        let first = start(&s, "0639000000", 100).unwrap().unwrap();
        let second = start(&s, "0639000000", 100).unwrap().unwrap();
        assert_eq!(
            check(&s, &first.token, &first.code.unwrap(), 101).unwrap(),
            Checked::Unknown
        );
        assert!(matches!(
            check(&s, &second.token, &second.code.unwrap(), 101).unwrap(),
            Checked::Verified(_)
        ));
    }

    #[test]
    fn waiting_verifications_are_bounded() {
        let (_d, s) = store();
        let v = |login: &str| Verification {
            login: login.into(),
            code_mac: None,
            expires_at: 200,
            attempts: 0,
        };
        assert!(s.put_verification(&[1; 32], &v("a"), 2, 100).unwrap());
        assert!(s.put_verification(&[2; 32], &v("b"), 2, 100).unwrap());
        assert!(!s.put_verification(&[3; 32], &v("c"), 2, 100).unwrap());
        // Once they expire there is room again.
        assert!(s.put_verification(&[3; 32], &v("c"), 2, 200).unwrap());
        assert_eq!(s.purge_verifications(300).unwrap(), 1);
    }
}
