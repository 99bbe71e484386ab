//! Partner professionals' accounts and sessions.
//!
//! Accounts are created by the hub administrator, at most
//! `partner_accounts_per_institution` per institution (an enrolled node).
//! Passwords are stored as argon2id hashes. Sessions live in memory (a hub
//! restart signs everyone out); the cookie carries a random token of which
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

use passerelle_protocol::{ids::NodeId, UnixTime};
use passerelle_web::session::{infallible, Backend, Entry, Memory};
use serde::{Deserialize, Serialize};

// Passwords and the steps of a sign-in are shared with the node's console
// (`passerelle-web`).
pub use passerelle_web::password::{
    check_new_password, dummy_hash, generate_password, verify_password, NewPasswordError,
    MIN_PASSWORD_CHARS,
};
pub use passerelle_web::signin::{Step, PENDING_TTL};

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

impl passerelle_web::signin::Credentials for Account {
    fn totp_enabled(&self) -> bool {
        self.totp_enabled
    }
    fn must_change_password(&self) -> bool {
        self.must_change_password
    }
}

/// Hashes a password with argon2id and a fresh salt.
///
/// # Errors
/// Only if the hasher fails.
pub fn hash_password(password: &str) -> Result<String, HubError> {
    passerelle_web::password::hash_password(password)
        .map_err(|e| Refusal::Hashing { why: e.0 }.into())
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

impl Entry for Session {
    fn expires_at(&self) -> UnixTime {
        self.expires_at
    }
    fn account(&self) -> &str {
        &self.email
    }
}

/// Where partner sessions are kept: in memory for a hub of its own, in
/// the store's `PartnerSessions` keyspace when several hub instances
/// share the store. A store failure is logged and reads as no session
/// (the partner signs in again), never as an open one.
#[derive(Debug)]
pub enum SessionStore {
    /// In this process.
    Memory(Memory<Session>),
    /// In the shared store.
    Shared(Keyspace<Session>),
}

impl Default for SessionStore {
    fn default() -> Self {
        Self::Memory(Memory::default())
    }
}

impl Backend<Session> for SessionStore {
    type Error = std::convert::Infallible;

    fn put(&self, key: [u8; 32], session: &Session) -> Result<(), Self::Error> {
        match self {
            Self::Memory(m) => m.put(key, session),
            Self::Shared(space) => {
                if let Err(error) = space.insert(&key, session) {
                    // The token is refused at the next request: signed out.
                    tracing::warn!(%error, "partner session not recorded");
                }
                Ok(())
            }
        }
    }

    fn get(&self, key: &[u8; 32]) -> Result<Option<Session>, Self::Error> {
        match self {
            Self::Memory(m) => m.get(key),
            Self::Shared(space) => Ok(space.get(key).unwrap_or_else(|error| {
                tracing::warn!(%error, "partner session unreadable");
                None
            })),
        }
    }

    fn remove(&self, key: &[u8; 32]) -> Result<(), Self::Error> {
        match self {
            Self::Memory(m) => m.remove(key),
            Self::Shared(space) => {
                if let Err(error) = space.remove(key) {
                    tracing::warn!(%error, "partner session not closed");
                }
                Ok(())
            }
        }
    }

    fn retain(&self, keep: &mut dyn FnMut(&Session) -> bool) -> Result<(), Self::Error> {
        match self {
            Self::Memory(m) => m.retain(keep),
            Self::Shared(space) => {
                let keep = std::cell::RefCell::new(keep);
                shared_retain(space, |s| (keep.borrow_mut())(s));
                Ok(())
            }
        }
    }
}

/// Partner sessions, keyed by the SHA-256 of their cookie token
/// (`passerelle_web::session`), in memory or in the shared store
/// ([`Sessions::for_store`]).
#[derive(Debug, Default)]
pub struct Sessions {
    inner: passerelle_web::session::Sessions<Session, SessionStore>,
}

impl Sessions {
    /// Sessions in memory for a hub of its own, in the store for a store
    /// that several instances share.
    pub fn for_store(store: &Store) -> Self {
        let backend = if store.is_shared() {
            SessionStore::Shared(store.keyspace(SessionSpace::Partners))
        } else {
            SessionStore::default()
        };
        Self {
            inner: passerelle_web::session::Sessions::new(backend),
        }
    }

    /// Opens a session; returns the cookie token.
    pub fn open(&self, email: &str, now: UnixTime, ttl: u64) -> (String, Session) {
        self.open_at(email, Step::Ready, now, ttl)
    }

    /// Opens a session with a step left to do; returns the cookie token.
    pub fn open_at(&self, email: &str, step: Step, now: UnixTime, ttl: u64) -> (String, Session) {
        let session = Session {
            email: email.to_string(),
            csrf: passerelle_web::csrf::token(),
            expires_at: now + ttl,
            step,
        };
        (infallible(self.inner.open(&session, now)), session)
    }

    /// The live session of a cookie token.
    pub fn get(&self, token: &str, now: UnixTime) -> Option<Session> {
        infallible(self.inner.get(token, now))
    }

    /// Moves a session to its next step, valid until `expires_at`;
    /// whether it was live.
    pub fn set_step(&self, token: &str, step: Step, expires_at: UnixTime) -> bool {
        infallible(self.inner.update(token, |s| {
            s.step = step;
            s.expires_at = expires_at;
        }))
    }

    /// Ends every session of an account.
    pub fn close_all(&self, email: &str) {
        infallible(self.inner.close_all(email));
    }

    /// Ends a session.
    pub fn close(&self, token: &str) {
        infallible(self.inner.close(token));
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
    fn sessions_expire_and_close() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let in_store = || Sessions {
            inner: passerelle_web::session::Sessions::new(SessionStore::Shared(
                store.keyspace(SessionSpace::Partners),
            )),
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
}
