//! Partner professionals' private keys for shared uploads, in clear only
//! in memory and only for the life of a session: opened with the password
//! at sign-in ([`unlock`]), sealed again at a password change, dropped at
//! sign-out, and never usable without the session they belong to.

use std::{collections::HashMap, sync::Mutex};

use passerelle_protocol::{sign::sha256, UnixTime};
use passerelle_vault::share::{keys, ProSecret};

use crate::state::Ctx;

/// The keys of the live sessions, by the SHA-256 of the session token.
#[derive(Debug, Default)]
pub struct ProKeys {
    map: Mutex<HashMap<[u8; 32], (ProSecret, UnixTime)>>,
}

impl ProKeys {
    fn put(&self, token: &str, secret: ProSecret, until: UnixTime, now: UnixTime) {
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, (_, until)| *until > now);
        map.insert(sha256(token.as_bytes()), (secret, until));
    }

    /// Drops a session's key (sign-out).
    pub fn close(&self, token: &str) {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&sha256(token.as_bytes()));
    }

    fn get(&self, token: &str, now: UnixTime) -> Option<ProSecret> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&sha256(token.as_bytes()))
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
