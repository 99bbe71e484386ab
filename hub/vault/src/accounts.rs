//! Beneficiaries' accounts, their keys, and their sessions.
//!
//! A person signs in with a phone number or an e-mail address and a
//! password. One argon2id run over the password gives 64 bytes: the first
//! half is the key that unwraps the person's **data key** (which seals
//! their uploads), the hash of the second half is what the hub keeps to
//! check the password. The hub therefore cannot open an upload unless the
//! person is signed in: the data key exists unwrapped only in the memory
//! of their live session.
//!
//! At creation the person also receives a **rescue code** (code de
//! secours), shown once, that unwraps the data key the same way. If the
//! password is lost, a partner professional who checked the person's
//! identity hands them a one-time **reset code**; with it the person sets a
//! new password. With their rescue code too, their uploads stay readable;
//! without it they are deleted, since nobody, the operator included, can
//! open them any more. Documents institutions hold are never affected.

use crate::error::{Refusal, VaultError};
use std::{collections::HashMap, sync::Mutex};

use argon2::Argon2;
use passerelle_protocol::{
    hex,
    seal::{self, Key},
    sign::{constant_time_eq, sha256},
    UnixTime,
};

use passerelle_hub_core::store::{Keyspace, SessionSpace, Store};

use super::store::{Attempt, CodeKind, PersonAccount, VaultStore};

/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 8;
/// How long a link code or a reset code stays valid.
pub const CODE_TTL: u64 = 30 * 60;
/// Tries with one reset code: a mistyped rescue code does not use the
/// reset code up, but after this many tries it expires.
pub const MAX_RESET_ATTEMPTS: u32 = 5;

/// Unambiguous characters for codes people copy by hand.
const ALPHABET: &[u8] = b"ACDEFGHJKLMNPQRTUVWXY3479";

/// A random code of `groups` groups of four characters.
pub fn code(groups: usize) -> String {
    let mut out = String::new();
    for g in 0..groups {
        if g > 0 {
            out.push('-');
        }
        let mut b = [0u8; 4];
        seal::random(&mut b);
        for x in b {
            out.push(ALPHABET[x as usize % ALPHABET.len()] as char);
        }
    }
    out
}

/// A code as typed: upper case, without spaces or dashes.
pub fn normalise_code(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// The hash a code is stored under.
pub fn code_hash(text: &str) -> [u8; 32] {
    sha256(normalise_code(text).as_bytes())
}

/// A phone number or e-mail address, normalised; or why it is not one
/// (in French, for the form).
///
/// # Errors
/// A French sentence saying what to type.
pub fn normalise_login(text: &str) -> Result<String, &'static str> {
    let t = text.trim();
    if t.contains('@') {
        let e = t.to_lowercase();
        let ok = e
            .split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && d.contains('.'))
            && !e.contains(char::is_whitespace)
            && e.len() <= 254;
        return if ok {
            Ok(e)
        } else {
            Err("Cette adresse e-mail n'est pas valide.")
        };
    }
    let digits: String = t
        .chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')'))
        .collect();
    let national = if let Some(rest) = digits
        .strip_prefix("+262")
        .or_else(|| digits.strip_prefix("00262"))
    {
        format!("0{rest}")
    } else if let Some(rest) = digits
        .strip_prefix("+33")
        .or_else(|| digits.strip_prefix("0033"))
    {
        format!("0{rest}")
    } else {
        digits
    };
    if national.len() == 10
        && national.starts_with('0')
        && national.bytes().all(|b| b.is_ascii_digit())
    {
        Ok(national)
    } else {
        Err("Tapez un numéro de téléphone à 10 chiffres (par exemple 0639 12 34 56) ou une adresse e-mail.")
    }
}

fn derive(secret: &str, salt: &[u8; 16]) -> Result<(Key, [u8; 32]), VaultError> {
    let mut out = [0u8; 64];
    Argon2::default()
        .hash_password_into(secret.as_bytes(), salt, &mut out)
        .map_err(|e| VaultError::KeyDerivation(e.to_string()))?;
    let kek = Key::from_slice(&out[..32]).expect("32 bytes");
    Ok((kek, sha256(&out[32..])))
}

fn salt() -> [u8; 16] {
    let mut s = [0u8; 16];
    seal::random(&mut s);
    s
}

/// A new account's one-time secrets.
#[derive(Debug)]
pub struct Created {
    /// The account.
    pub account: PersonAccount,
    /// Its data key, for the first session.
    pub key: Key,
    /// The rescue code to show once.
    pub rescue_code: String,
}

/// Checks a new password (in French).
///
/// # Errors
/// What is wrong with it.
pub fn check_password(password: &str, again: &str) -> Result<(), &'static str> {
    if password.chars().count() < MIN_PASSWORD {
        return Err("Le mot de passe doit avoir au moins 8 caractères.");
    }
    if password != again {
        return Err("Les deux mots de passe ne sont pas identiques.");
    }
    Ok(())
}

/// Creates an account. `login` must be normalised.
///
/// # Errors
/// When the login is taken (`Refused`), or on a store failure.
pub fn create(
    store: &VaultStore,
    login: &str,
    password: &str,
    assisted_by: Option<String>,
    now: UnixTime,
) -> Result<Created, VaultError> {
    let id = hex::encode(&passerelle_link::random16());
    let key = Key::generate();
    let salt_pw = salt();
    let (kek, verifier) = derive(password, &salt_pw)?;
    let rescue_code = code(6);
    let rescue_salt = salt();
    let (rescue_kek, _) = derive(&normalise_code(&rescue_code), &rescue_salt)?;
    let account = PersonAccount {
        wrapped_by_password: seal::wrap(&kek, id.as_bytes(), &key),
        wrapped_by_rescue: seal::wrap(&rescue_kek, id.as_bytes(), &key),
        id,
        login: login.to_string(),
        salt: salt_pw,
        verifier,
        rescue_salt,
        created_at: now,
        assisted_by,
    };
    store.create_person(&account)?;
    Ok(Created {
        account,
        key,
        rescue_code,
    })
}

/// Signs a person in: their account and unwrapped data key, or `None`.
/// An unknown login costs the same derivation as a known one.
///
/// # Errors
/// On a store failure.
pub fn sign_in(
    store: &VaultStore,
    login: &str,
    password: &str,
) -> Result<Option<(PersonAccount, Key)>, VaultError> {
    let Some(account) = store.person_by_login(login)? else {
        let _ = derive(password, &[0; 16]);
        return Ok(None);
    };
    let (kek, verifier) = derive(password, &account.salt)?;
    if !constant_time_eq(&verifier, &account.verifier) {
        return Ok(None);
    }
    match seal::unwrap(&kek, account.id.as_bytes(), &account.wrapped_by_password) {
        Ok(key) => Ok(Some((account, key))),
        Err(_) => Ok(None),
    }
}

/// What a reset did.
#[derive(Debug)]
pub struct Reset {
    /// The account, with its new password.
    pub account: PersonAccount,
    /// The data key for the new session.
    pub key: Key,
    /// Whether the uploads stayed readable (the rescue code was right).
    pub kept_uploads: bool,
    /// A new rescue code, when the old one was not given.
    pub new_rescue_code: Option<String>,
    /// The professional who handed over the reset code.
    pub code_issued_by: String,
}

/// Sets a new password with a reset code a professional handed over, and
/// the rescue code if the person has it.
///
/// Each try counts against the reset code ([`MAX_RESET_ATTEMPTS`]); a
/// wrong rescue code leaves the reset code usable until then. The code is
/// used up only by the reset that succeeds.
///
/// # Errors
/// `Refused` when the reset code is wrong, or the rescue code (with the
/// tries left).
pub fn reset(
    store: &VaultStore,
    login: &str,
    reset_code: &str,
    rescue_code: Option<&str>,
    new_password: &str,
    now: UnixTime,
) -> Result<Reset, VaultError> {
    let refused = || VaultError::from(Refusal::BadResetCode);
    let account = store.person_by_login(login)?.ok_or_else(refused)?;
    let hash = code_hash(reset_code);
    let attempt = store.attempt_code(CodeKind::Reset, &hash, MAX_RESET_ATTEMPTS, now)?;
    let Attempt::Counted(pending) = attempt else {
        return Err(refused());
    };
    if pending.person != account.id {
        store.code_failed(CodeKind::Reset, &hash, MAX_RESET_ATTEMPTS)?;
        return Err(refused());
    }
    let (key, kept, new_rescue) = match rescue_code.filter(|c| !c.trim().is_empty()) {
        Some(rc) => {
            let (rkek, _) = derive(&normalise_code(rc), &account.rescue_salt)?;
            match seal::unwrap(&rkek, account.id.as_bytes(), &account.wrapped_by_rescue) {
                Ok(key) => (key, true, None),
                Err(_) => {
                    let gone = store.code_failed(CodeKind::Reset, &hash, MAX_RESET_ATTEMPTS)?;
                    let attempts_left = if gone {
                        0
                    } else {
                        MAX_RESET_ATTEMPTS.saturating_sub(pending.attempts)
                    };
                    return Err(Refusal::BadRescueCode { attempts_left }.into());
                }
            }
        }
        None => (Key::generate(), false, Some(code(6))),
    };
    // Used up now: of two resets at once with the same code, one goes on.
    if store.take_code(CodeKind::Reset, &hash)?.is_none() {
        return Err(refused());
    }
    let issued_by = pending.issued_by;
    let mut account = account;
    account.salt = salt();
    let (kek, verifier) = derive(new_password, &account.salt)?;
    account.verifier = verifier;
    account.wrapped_by_password = seal::wrap(&kek, account.id.as_bytes(), &key);
    if let Some(rc) = &new_rescue {
        account.rescue_salt = salt();
        let (rkek, _) = derive(&normalise_code(rc), &account.rescue_salt)?;
        account.wrapped_by_rescue = seal::wrap(&rkek, account.id.as_bytes(), &key);
    }
    store.update_person(&account)?;
    Ok(Reset {
        account,
        key,
        kept_uploads: kept,
        new_rescue_code: new_rescue,
        code_issued_by: issued_by,
    })
}

/// A signed-in person.
#[derive(Debug, Clone)]
pub struct PersonSession {
    /// Person id.
    pub person: String,
    /// Their login, for the page header.
    pub login: String,
    /// The token every form must carry.
    pub csrf: String,
    /// End of validity.
    pub expires_at: UnixTime,
    /// The data key, only while the session lives.
    pub key: Key,
}

/// Persons' sessions, keyed by the SHA-256 of the cookie token: in
/// memory, or in the store when several hub instances share it
/// ([`PersonSessions::for_store`]). In the store, the person's data key
/// is wrapped under a key derived from the cookie token, which the store
/// never sees (it keeps the token's SHA-256 only, a different
/// derivation): reading the database does not open a vault.
#[derive(Debug, Default)]
pub struct PersonSessions {
    map: Mutex<HashMap<[u8; 32], PersonSession>>,
    shared: Option<Keyspace<StoredPersonSession>>,
}

/// A person's session as the shared store keeps it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredPersonSession {
    person: String,
    login: String,
    csrf: String,
    expires_at: UnixTime,
    /// The data key wrapped under [`session_kek`].
    wrapped_key: Vec<u8>,
}

/// The key that wraps a session's data key in the store: from the cookie
/// token, apart from the token's SHA-256 that names the record.
fn session_kek(token: &str) -> Key {
    let mut input = b"passerelle person session key v1\0".to_vec();
    input.extend_from_slice(token.as_bytes());
    Key(sha256(&input))
}

const SESSION_KEY_CONTEXT: &[u8] = b"person session";

impl PersonSessions {
    /// Sessions in memory for a hub of its own, in the store for a store
    /// that several instances share.
    pub fn for_store(store: &Store) -> Self {
        Self {
            map: Mutex::default(),
            shared: store
                .is_shared()
                .then(|| store.keyspace(SessionSpace::Persons)),
        }
    }

    /// Opens a session; returns the cookie token.
    pub fn open(
        &self,
        account: &PersonAccount,
        key: Key,
        now: UnixTime,
        ttl: u64,
    ) -> (String, PersonSession) {
        let token =
            hex::encode(&[passerelle_link::random16(), passerelle_link::random16()].concat());
        let s = PersonSession {
            person: account.id.clone(),
            login: account.login.clone(),
            csrf: hex::encode(&passerelle_link::random16()),
            expires_at: now + ttl,
            key,
        };
        let id = sha256(token.as_bytes());
        match &self.shared {
            None => {
                let mut map = self.map.lock().expect("sessions lock");
                map.retain(|_, s| s.expires_at > now);
                map.insert(id, s.clone());
            }
            Some(space) => {
                passerelle_hub_core::partners::shared_retain(space, |s| s.expires_at > now);
                let stored = StoredPersonSession {
                    person: s.person.clone(),
                    login: s.login.clone(),
                    csrf: s.csrf.clone(),
                    expires_at: s.expires_at,
                    wrapped_key: seal::wrap(&session_kek(&token), SESSION_KEY_CONTEXT, &s.key),
                };
                if let Err(error) = space.insert(&id, &stored) {
                    tracing::warn!(%error, "person session not recorded");
                }
            }
        }
        (token, s)
    }

    /// The live session of a token.
    pub fn get(&self, token: &str, now: UnixTime) -> Option<PersonSession> {
        let id = sha256(token.as_bytes());
        let session = match &self.shared {
            None => self.map.lock().expect("sessions lock").get(&id).cloned(),
            Some(space) => {
                let stored = space.get(&id).unwrap_or_else(|error| {
                    tracing::warn!(%error, "person session unreadable");
                    None
                })?;
                let key = seal::unwrap(
                    &session_kek(token),
                    SESSION_KEY_CONTEXT,
                    &stored.wrapped_key,
                )
                .ok()?;
                Some(PersonSession {
                    person: stored.person,
                    login: stored.login,
                    csrf: stored.csrf,
                    expires_at: stored.expires_at,
                    key,
                })
            }
        };
        session.filter(|s| s.expires_at > now)
    }

    /// Ends a session.
    pub fn close(&self, token: &str) {
        let id = sha256(token.as_bytes());
        match &self.shared {
            None => {
                self.map.lock().expect("sessions lock").remove(&id);
            }
            Some(space) => {
                if let Err(error) = space.remove(&id) {
                    tracing::warn!(%error, "person session not closed");
                }
            }
        }
    }

    /// Ends every session of a person (after a password reset).
    pub fn close_all(&self, person: &str) {
        match &self.shared {
            None => self
                .map
                .lock()
                .expect("sessions lock")
                .retain(|_, s| s.person != person),
            Some(space) => {
                passerelle_hub_core::partners::shared_retain(space, |s| s.person != person);
            }
        }
    }
}

#[cfg(test)]
#[path = "accounts_tests.rs"]
mod tests;
