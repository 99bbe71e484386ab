//! Partner professionals' accounts and sessions.
//!
//! Accounts are created by the hub administrator, at most
//! `partner_accounts_per_institution` per institution (an enrolled node).
//! Passwords are stored as argon2id hashes. Sessions live in memory (a hub
//! restart signs everyone out) on a hub with a store of its own, and in the
//! store when several hub instances share it (PostgreSQL), so a session
//! opened on one instance is served by any; the cookie carries a random token of which
//! the hub keeps only the SHA-256, and each session has its own CSRF token
//! that every form must return.
//!
//! An account created by the administrator must change its first password
//! at its first sign-in; with a second factor ([`totp`]) the sign-in asks a
//! code after the password. Until those steps are done a session is
//! [`Step`]-limited: it reaches their pages only.

pub mod oidc;
pub mod totp;

use crate::refusal::Refusal;
use std::{collections::HashMap, sync::Mutex};

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use passerelle_protocol::{hex, ids::NodeId, sign::sha256, UnixTime};
use serde::{Deserialize, Serialize};

use crate::{
    ops::Hub,
    store::{Keyspace, SessionSpace, Store},
    HubError,
};

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
    /// The password must be changed before anything else (a first
    /// password, printed once to the administrator).
    pub must_change_password: bool,
    /// The TOTP secret, once enrolment started.
    pub totp_secret: Option<Vec<u8>>,
    /// Enrolment confirmed by a first code: a code is asked at sign-in.
    pub totp_enabled: bool,
    /// The last TOTP step used (a code of it or before is refused).
    pub totp_last_step: u64,
}

/// An account as stored before the first-password change and TOTP.
#[derive(Deserialize)]
struct AccountV1 {
    email: String,
    name: String,
    institution: NodeId,
    password_hash: String,
    created_at: UnixTime,
}

/// Reads a stored account, of this version or of one before the
/// first-password change and TOTP (read as not having to change it, and
/// without second factor).
///
/// # Errors
/// When the bytes are neither.
pub fn decode_account(bytes: &[u8]) -> Result<Account, passerelle_protocol::codec::CodecError> {
    use passerelle_protocol::codec;
    codec::decode::<Account>(bytes).or_else(|e| {
        codec::decode::<AccountV1>(bytes)
            .map(|v1| Account {
                email: v1.email,
                name: v1.name,
                institution: v1.institution,
                password_hash: v1.password_hash,
                created_at: v1.created_at,
                must_change_password: false,
                totp_secret: None,
                totp_enabled: false,
                totp_last_step: 0,
            })
            .map_err(|_| e)
    })
}

/// Shortest new password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Why a new password is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NewPasswordError {
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    #[error("shorter than {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    /// The two copies differ.
    #[error("the two copies differ")]
    Mismatch,
    /// The same as the current one.
    #[error("same as the current password")]
    Unchanged,
}

/// Checks a new password (typed twice) against the rules.
///
/// # Errors
/// The first rule broken.
pub fn check_new_password(current: &str, new: &str, again: &str) -> Result<(), NewPasswordError> {
    if new.chars().count() < MIN_PASSWORD_CHARS {
        Err(NewPasswordError::TooShort)
    } else if new != again {
        Err(NewPasswordError::Mismatch)
    } else if new == current {
        Err(NewPasswordError::Unchanged)
    } else {
        Ok(())
    }
}

/// How long a session with a step left lasts (seconds): the time to
/// give a code or change a password, not a working day.
pub const PENDING_TTL: u64 = 15 * 60;

/// What a signed-in partner must do before reaching the partner pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    /// Nothing: the session is open.
    Ready,
    /// Give the second factor's code.
    Code,
    /// Change the first password.
    ChangePassword,
    /// Enrol a second factor (required by the hub).
    Enrol,
}

impl Step {
    /// The next step of an account after the password (`code_given`
    /// false) or after the code, given whether the hub requires TOTP.
    pub fn after(account: &Account, totp_required: bool, code_given: bool) -> Self {
        if account.totp_enabled && !code_given {
            Self::Code
        } else if account.must_change_password {
            Self::ChangePassword
        } else if totp_required && !account.totp_enabled {
            Self::Enrol
        } else {
            Self::Ready
        }
    }
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

/// Forgets an account's second factor (a lost phone): the secret is
/// erased, and the holder enrols again at the next sign-in wherever
/// `partner_totp` requires it. The caller closes the account's sessions.
///
/// # Errors
/// [`Refusal::UnknownAccount`] when there is no such account; on a store
/// failure.
pub fn reset_totp(hub: &Hub, email: &str) -> Result<(), HubError> {
    let email = email.trim().to_lowercase();
    let Some(mut a) = hub.store.account(&email)? else {
        return Err(Refusal::UnknownAccount { email }.into());
    };
    a.totp_secret = None;
    a.totp_enabled = false;
    hub.store.put_account(&a)?;
    tracing::warn!(account = %email, "partner second factor reset by the operator");
    Ok(())
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
        must_change_password: true,
        totp_secret: None,
        totp_enabled: false,
        totp_last_step: 0,
    })?;
    Ok(password)
}

/// A signed-in partner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Account login.
    pub email: String,
    /// The token every form of this session must carry.
    pub csrf: String,
    /// End of validity.
    pub expires_at: UnixTime,
    /// What is left to do before the partner pages open.
    pub step: Step,
}

/// Partner sessions, keyed by the SHA-256 of their cookie token: in
/// memory, or in the store's `PartnerSessions` keyspace when the store
/// is shared by several hub instances ([`Sessions::for_store`]).
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
    shared: Option<Keyspace<Session>>,
}

impl Sessions {
    /// Sessions in memory for a hub of its own, in the store for a store
    /// that several instances share.
    pub fn for_store(store: &Store) -> Self {
        Self {
            map: Mutex::default(),
            shared: store
                .is_shared()
                .then(|| store.keyspace(SessionSpace::Partners)),
        }
    }

    /// Opens a session; returns the cookie token.
    pub fn open(&self, email: &str, now: UnixTime, ttl: u64) -> (String, Session) {
        self.open_at(email, Step::Ready, now, ttl)
    }

    /// Opens a session with a step left to do; returns the cookie token.
    pub fn open_at(&self, email: &str, step: Step, now: UnixTime, ttl: u64) -> (String, Session) {
        let token =
            hex::encode(&[passerelle_link::random16(), passerelle_link::random16()].concat());
        let session = Session {
            email: email.to_string(),
            csrf: hex::encode(&passerelle_link::random16()),
            expires_at: now + ttl,
            step,
        };
        let key = sha256(token.as_bytes());
        match &self.shared {
            None => {
                let mut map = self.map.lock().expect("sessions lock");
                map.retain(|_, s| s.expires_at > now);
                map.insert(key, session.clone());
            }
            Some(space) => {
                shared_retain(space, |s| s.expires_at > now);
                if let Err(error) = space.insert(&key, &session) {
                    // The token is refused at the next request: signed out.
                    tracing::warn!(%error, "partner session not recorded");
                }
            }
        }
        (token, session)
    }

    /// The live session of a cookie token.
    pub fn get(&self, token: &str, now: UnixTime) -> Option<Session> {
        let key = sha256(token.as_bytes());
        let session = match &self.shared {
            None => self.map.lock().expect("sessions lock").get(&key).cloned(),
            Some(space) => space.get(&key).unwrap_or_else(|error| {
                tracing::warn!(%error, "partner session unreadable");
                None
            }),
        };
        session.filter(|s| s.expires_at > now)
    }

    /// Moves a session to its next step, valid until `expires_at`;
    /// whether it was live.
    pub fn set_step(&self, token: &str, step: Step, expires_at: UnixTime) -> bool {
        let key = sha256(token.as_bytes());
        match &self.shared {
            None => match self.map.lock().expect("sessions lock").get_mut(&key) {
                Some(s) => {
                    s.step = step;
                    s.expires_at = expires_at;
                    true
                }
                None => false,
            },
            Some(space) => match space.get(&key) {
                Ok(Some(mut s)) => {
                    s.step = step;
                    s.expires_at = expires_at;
                    space.insert(&key, &s).is_ok()
                }
                _ => false,
            },
        }
    }

    /// Ends every session of an account.
    pub fn close_all(&self, email: &str) {
        match &self.shared {
            None => self
                .map
                .lock()
                .expect("sessions lock")
                .retain(|_, s| s.email != email),
            Some(space) => shared_retain(space, |s| s.email != email),
        }
    }

    /// Ends a session.
    pub fn close(&self, token: &str) {
        let key = sha256(token.as_bytes());
        match &self.shared {
            None => {
                self.map.lock().expect("sessions lock").remove(&key);
            }
            Some(space) => {
                if let Err(error) = space.remove(&key) {
                    tracing::warn!(%error, "partner session not closed");
                }
            }
        }
    }
}

/// Removes the sessions of a shared keyspace that `keep` refuses (and
/// those that no longer decode).
pub fn shared_retain<V>(space: &Keyspace<V>, keep: impl Fn(&V) -> bool)
where
    crate::store::keyspace::Bincode: crate::store::keyspace::Encoding<V>,
{
    let Ok(entries) = space.iter() else { return };
    let gone: Vec<Vec<u8>> = entries
        .filter_map(Result::ok)
        .filter(|e| e.value().map_or(true, |v| !keep(&v)))
        .map(|e| e.key().to_vec())
        .collect();
    for key in gone {
        let _ = space.remove(&key);
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
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let in_store = || Sessions {
            map: Mutex::default(),
            shared: Some(store.keyspace(SessionSpace::Partners)),
        };
        for s in [Sessions::default(), in_store()] {
            sessions_behave(&s);
        }
        // Kept in the store, a session opened by one instance is read,
        // moved on and closed by another.
        let (a, b) = (in_store(), in_store());
        let (token, session) = a.open("c@d.fr", 100, 60);
        assert_eq!(b.get(&token, 110), Some(session));
        assert!(b.set_step(&token, Step::Enrol, 500));
        assert_eq!(a.get(&token, 400).map(|s| s.step), Some(Step::Enrol));
        b.close_all("c@d.fr");
        assert_eq!(a.get(&token, 110), None);
    }

    fn sessions_behave(s: &Sessions) {
        let (token, session) = s.open("a@b.fr", 100, 60);
        assert_eq!(s.get(&token, 120), Some(session));
        assert_eq!(s.get(&token, 161), None);
        assert_eq!(s.get("forged", 120), None);
        let (token, _) = s.open("a@b.fr", 100, 60);
        s.close(&token);
        assert_eq!(s.get(&token, 101), None);
        let (token, session) = s.open_at("a@b.fr", Step::Code, 100, 60);
        assert_eq!(session.step, Step::Code);
        assert!(s.set_step(&token, Step::Ready, 1000));
        assert_eq!(s.get(&token, 999).map(|s| s.step), Some(Step::Ready));
        assert!(!s.set_step("forged", Step::Ready, 1000));
    }

    #[test]
    fn old_accounts_read_and_steps() {
        #[derive(Serialize)]
        struct V1<'a>(&'a str, &'a str, NodeId, &'a str, UnixTime);
        let inst = NodeId::new("caf-976").unwrap();
        let old =
            passerelle_protocol::codec::encode(&V1("a@b.fr", "A", inst.clone(), "h", 7)).unwrap();
        let a = decode_account(&old).unwrap();
        assert_eq!((a.email.as_str(), a.created_at), ("a@b.fr", 7));
        assert!(!a.must_change_password && !a.totp_enabled && a.totp_secret.is_none());
        let new = passerelle_protocol::codec::encode(&a).unwrap();
        assert_eq!(decode_account(&new).unwrap(), a);
        assert!(decode_account(b"\xff").is_err());

        let mut a = Account {
            must_change_password: true,
            ..a
        };
        assert_eq!(Step::after(&a, true, false), Step::ChangePassword);
        a.must_change_password = false;
        assert_eq!(Step::after(&a, true, false), Step::Enrol);
        assert_eq!(Step::after(&a, false, false), Step::Ready);
        a.totp_enabled = true;
        assert_eq!(Step::after(&a, false, false), Step::Code);
        assert_eq!(Step::after(&a, false, true), Step::Ready);
    }

    #[test]
    fn new_password_rules() {
        use NewPasswordError::*;
        assert_eq!(check_new_password("old", "court", "court"), Err(TooShort));
        assert_eq!(
            check_new_password("old", "douze-lettres", "douze-lettrez"),
            Err(Mismatch)
        );
        assert_eq!(
            check_new_password("douze-lettres", "douze-lettres", "douze-lettres"),
            Err(Unchanged)
        );
        assert_eq!(
            check_new_password("old", "douze-lettres", "douze-lettres"),
            Ok(())
        );
    }
}
