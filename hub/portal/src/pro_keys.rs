//! Partner professionals' private keys for shared uploads, in clear only
//! in memory and only for the life of a session: opened with the password
//! at sign-in ([`unlock`]), sealed again at a password change, dropped at
//! sign-out, and never usable without the session they belong to.

use std::{collections::HashMap, sync::Mutex};

use passerelle_hub_core::store::{Keyspace, SessionSpace, Store};
use passerelle_protocol::{
    seal::{self, Key},
    sign::sha256,
    UnixTime,
};
use passerelle_vault::share::{keys, ProSecret};

use crate::state::Ctx;

/// The keys of the live sessions, by the SHA-256 of the session token: in
/// memory, or, when several hub instances share the store, in the store
/// wrapped under a key derived from the session token (which the store
/// never sees), like a person's data key.
#[derive(Debug, Default)]
pub struct ProKeys {
    map: Mutex<HashMap<[u8; 32], (ProSecret, UnixTime)>>,
    shared: Option<Keyspace<StoredProKey>>,
}

/// A professional's private key as the shared store keeps it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StoredProKey {
    account: String,
    until: UnixTime,
    wrapped: Vec<u8>,
}

/// The key that wraps a session's private key in the store.
fn session_kek(token: &str) -> Key {
    let mut input = b"passerelle professional session key v1\0".to_vec();
    input.extend_from_slice(token.as_bytes());
    Key(sha256(&input))
}

const CONTEXT: &[u8] = b"professional session";

impl ProKeys {
    /// In memory for a hub with a store of its own, in the store for a
    /// store that several instances share.
    pub fn for_store(store: &Store) -> Self {
        Self {
            map: Mutex::default(),
            shared: store
                .is_shared()
                .then(|| store.keyspace(SessionSpace::ProKeys)),
        }
    }

    fn put(&self, token: &str, secret: ProSecret, until: UnixTime, now: UnixTime) {
        let id = sha256(token.as_bytes());
        if let Some(space) = &self.shared {
            passerelle_hub_core::partners::shared_retain(space, |k| k.until > now);
            let stored = StoredProKey {
                account: secret.account().to_string(),
                until,
                wrapped: seal::wrap(&session_kek(token), CONTEXT, &Key(secret.private_bytes())),
            };
            if let Err(error) = space.insert(&id, &stored) {
                tracing::warn!(%error, "professional's session key not recorded");
            }
            return;
        }
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, (_, until)| *until > now);
        map.insert(id, (secret, until));
    }

    /// Drops a session's key (sign-out).
    pub fn close(&self, token: &str) {
        let id = sha256(token.as_bytes());
        if let Some(space) = &self.shared {
            if let Err(error) = space.remove(&id) {
                tracing::warn!(%error, "professional's session key not removed");
            }
            return;
        }
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id);
    }

    fn get(&self, token: &str, now: UnixTime) -> Option<ProSecret> {
        let id = sha256(token.as_bytes());
        if let Some(space) = &self.shared {
            let stored = space.get(&id).ok().flatten()?;
            if stored.until <= now {
                return None;
            }
            let key = seal::unwrap(&session_kek(token), CONTEXT, &stored.wrapped).ok()?;
            return ProSecret::from_private_bytes(&stored.account, &key.0);
        }
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&id)
            .filter(|(_, until)| *until > now)
            .map(|(s, _)| s.clone())
    }
}

/// The key of a live, ready partner session, if it has one.
pub fn of_session(ctx: &Ctx, token: &str) -> Option<ProSecret> {
    let t = passerelle_link::now();
    let s = ctx.sessions.get(token, t)?;
    ctx.pro_keys
        .get(token, t)
        .filter(|k| k.account() == s.email)
}

/// After the password was checked at sign-in: opens (or makes) the
/// professional's key pair and keeps the private key with the session
/// for the longest a session lasts. Runs the derivation off the runtime.
pub async fn unlock(ctx: &Ctx, token: &str, email: &str, password: String) {
    let (store, email) = (ctx.vault.store.clone(), email.to_string());
    let t = passerelle_link::now();
    let opened =
        tokio::task::spawn_blocking(move || keys::unlock(&store, &email, &password, t)).await;
    match opened {
        Ok(Ok(secret)) => {
            let until = t + ctx.hub.config.session_ttl.as_secs();
            ctx.pro_keys.put(token, secret, until, t);
        }
        Ok(Err(error)) => tracing::error!(%error, "professional's share key not opened"),
        Err(error) => tracing::error!(%error, "professional's share key task failed"),
    }
}

/// At a password change: the private key is sealed again under the new
/// password and kept with the new session.
pub async fn change(ctx: &Ctx, token: &str, email: &str, current: String, new: String) {
    let (store, email) = (ctx.vault.store.clone(), email.to_string());
    let t = passerelle_link::now();
    let changed = tokio::task::spawn_blocking(move || {
        keys::change_password(&store, &email, &current, &new, t)
    })
    .await;
    match changed {
        Ok(Ok(secret)) => {
            let until = t + ctx.hub.config.session_ttl.as_secs();
            ctx.pro_keys.put(token, secret, until, t);
        }
        Ok(Err(error)) => tracing::error!(%error, "professional's share key not sealed again"),
        Err(error) => tracing::error!(%error, "professional's share key task failed"),
    }
}
