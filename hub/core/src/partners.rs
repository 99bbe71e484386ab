//! Partner professionals' accounts and sessions.
//!
//! Accounts are created by the hub administrator, at most
//! `partner_accounts_per_institution` per institution (an enrolled node).
//! Passwords are stored as argon2id hashes. Sessions live in memory (a hub
//! restart signs everyone out); the cookie carries a random token of which
//! the hub keeps only the SHA-256, and each session has its own CSRF token
//! that every form must return.

use crate::refusal::Refusal;
use std::{collections::HashMap, sync::Mutex};

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use passerelle_protocol::{hex, ids::NodeId, sign::sha256, UnixTime};
use serde::{Deserialize, Serialize};

use crate::{ops::Hub, HubError};

/// A partner professional's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Login (e-mail address), lower-case.
    pub email: String,
    /// Name shown on pages.
    pub name: String,
    /// The institution (enrolled node) the person works for.
    pub institution: NodeId,
    /// argon2id hash, PHC string.
    pub password_hash: String,
    /// When it was created.
    pub created_at: UnixTime,
}

/// Hashes a password with argon2id and a fresh salt.
///
/// # Errors
/// Only if the hasher fails.
pub fn hash_password(password: &str) -> Result<String, HubError> {
    let salt = SaltString::encode_b64(&passerelle_link::random16())
        .map_err(|e| Refusal::Hashing { why: e.to_string() })?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Refusal::Hashing { why: e.to_string() }.into())
}

/// Checks a password against a stored hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A real argon2id hash of a random password, computed once: checking an
/// unknown login against it costs the same as checking a real one.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&generate_password()).unwrap_or_default())
}

/// A random password of 20 characters from an unambiguous alphabet.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY3479";
    let mut bytes = [0u8; 20];
    for chunk in bytes.chunks_mut(16) {
        let r = passerelle_link::random16();
        chunk.copy_from_slice(&r[..chunk.len()]);
    }
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty() && domain.contains('.') && !e.contains(char::is_whitespace) && e.len() <= 254
}

/// Creates an account and returns its one-time initial password.
///
/// # Errors
/// A malformed address, an unknown or revoked institution, an address
/// already used, or an institution at its maximum.
pub fn add(
    hub: &Hub,
    email: &str,
    name: &str,
    institution: &NodeId,
    now: UnixTime,
) -> Result<String, HubError> {
    let email = email.trim().to_lowercase();
    if !valid_email(&email) {
        return Err(Refusal::BadEmail {
            email: email.clone(),
        }
        .into());
    }
    if name.trim().is_empty() {
        return Err(Refusal::EmptyName.into());
    }
    match hub.store.node(institution)? {
        Some(n) if n.revoked_at.is_none() => {}
        _ => {
            return Err(Refusal::UnknownNode {
                node: institution.clone(),
            }
            .into())
        }
    }
    let accounts = hub.store.accounts()?;
    if accounts.iter().any(|a| a.email == email) {
        return Err(Refusal::AccountExists {
            email: email.clone(),
        }
        .into());
    }
    let max = hub.config.partner_accounts_per_institution;
    if accounts
        .iter()
        .filter(|a| &a.institution == institution)
        .count()
        >= max
    {
        return Err(Refusal::TooManyAccounts {
            institution: institution.clone(),
            max,
        }
        .into());
    }
    let password = generate_password();
    hub.store.put_account(&Account {
        email,
        name: name.trim().to_string(),
        institution: institution.clone(),
        password_hash: hash_password(&password)?,
        created_at: now,
    })?;
    Ok(password)
}

/// A signed-in partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Account login.
    pub email: String,
    /// The token every form of this session must carry.
    pub csrf: String,
    /// End of validity.
    pub expires_at: UnixTime,
}

/// Sessions in memory, keyed by the SHA-256 of their cookie token.
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
}

impl Sessions {
    /// Opens a session; returns the cookie token.
    pub fn open(&self, email: &str, now: UnixTime, ttl: u64) -> (String, Session) {
        let token =
            hex::encode(&[passerelle_link::random16(), passerelle_link::random16()].concat());
        let session = Session {
            email: email.to_string(),
            csrf: hex::encode(&passerelle_link::random16()),
            expires_at: now + ttl,
        };
        let mut map = self.map.lock().expect("sessions lock");
        map.retain(|_, s| s.expires_at > now);
        map.insert(sha256(token.as_bytes()), session.clone());
        (token, session)
    }

    /// The live session of a cookie token.
    pub fn get(&self, token: &str, now: UnixTime) -> Option<Session> {
        let map = self.map.lock().expect("sessions lock");
        map.get(&sha256(token.as_bytes()))
            .filter(|s| s.expires_at > now)
            .cloned()
    }

    /// Ends every session of an account.
    pub fn close_all(&self, email: &str) {
        self.map
            .lock()
            .expect("sessions lock")
            .retain(|_, s| s.email != email);
    }

    /// Ends a session.
    pub fn close(&self, token: &str) {
        self.map
            .lock()
            .expect("sessions lock")
            .remove(&sha256(token.as_bytes()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsf", &h));
        assert!(!verify_password("x", "not a hash"));
        let p = generate_password();
        assert_eq!(p.len(), 20);
        assert_ne!(p, generate_password());
    }

    #[test]
    fn sessions_expire_and_close() {
        let s = Sessions::default();
        let (token, session) = s.open("a@b.fr", 100, 60);
        assert_eq!(s.get(&token, 120), Some(session));
        assert_eq!(s.get(&token, 161), None);
        assert_eq!(s.get("forged", 120), None);
        let (token, _) = s.open("a@b.fr", 100, 60);
        s.close(&token);
        assert_eq!(s.get(&token, 101), None);
    }
}
