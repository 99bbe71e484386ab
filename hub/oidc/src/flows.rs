//! Sign-ins under way, and the ID tokens kept for logout. Both live in
//! memory (a restart forgets them) and are keyed by the SHA-256 of a
//! random cookie token, as sessions are.
//!
//! A sign-in under way is bound to its browser by a short-lived cookie and
//! can be taken once: the callback removes it before anything else, so a
//! replayed callback (the same state, code or cookie) finds nothing.

use std::{collections::HashMap, sync::Mutex};

use passerelle_protocol::{hex, sign::sha256, UnixTime};

use crate::Pending;

/// How long a sign-in may stay at the provider (seconds).
pub const FLOW_TTL: u64 = 10 * 60;
/// Sign-ins under way at most, all browsers together.
pub const MAX_FLOWS: usize = 10_000;

/// Sign-ins under way.
#[derive(Debug, Default)]
pub struct Flows {
    map: Mutex<HashMap<[u8; 32], (Pending, UnixTime)>>,
}

impl Flows {
    /// Records a sign-in; returns its cookie token, or `None` when
    /// [`MAX_FLOWS`] are under way.
    pub fn start(&self, pending: Pending, now: UnixTime) -> Option<String> {
        let token =
            hex::encode(&[passerelle_link::random16(), passerelle_link::random16()].concat());
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, at)| *at + FLOW_TTL > now);
        if map.len() >= MAX_FLOWS {
            return None;
        }
        map.insert(sha256(token.as_bytes()), (pending, now));
        Some(token)
    }

    /// Takes the sign-in of a cookie token (once: it is removed), if it
    /// has not expired.
    pub fn take(&self, token: &str, now: UnixTime) -> Option<Pending> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&sha256(token.as_bytes()))
            .filter(|(_, at)| *at + FLOW_TTL > now)
            .map(|(p, _)| p)
    }
}

/// The ID token (and provider) of each session signed in with a provider,
/// for the logout request.
#[derive(Debug, Default)]
pub struct Logouts {
    map: Mutex<HashMap<[u8; 32], (String, String, UnixTime)>>,
}

impl Logouts {
    /// Remembers `id_token` of `provider` for the session `token` until
    /// `expires_at`.
    pub fn keep(
        &self,
        token: &str,
        provider: &str,
        id_token: &str,
        now: UnixTime,
        expires_at: UnixTime,
    ) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, _, until)| *until > now);
        map.insert(
            sha256(token.as_bytes()),
            (provider.to_string(), id_token.to_string(), expires_at),
        );
    }

    /// Takes the provider and ID token of a session that ends.
    pub fn take(&self, token: &str) -> Option<(String, String)> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&sha256(token.as_bytes()))
            .map(|(p, t, _)| (p, t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> Pending {
        Pending {
            provider: "p".into(),
            state: "s".into(),
            nonce: "n".into(),
            verifier: "v".into(),
        }
    }

    #[test]
    fn a_flow_is_taken_once_and_expires() {
        let f = Flows::default();
        let t = f.start(pending(), 100).unwrap();
        assert_eq!(f.take(&t, 101).map(|p| p.state), Some("s".into()));
        assert!(f.take(&t, 102).is_none(), "taken twice");
        let t = f.start(pending(), 100).unwrap();
        assert!(f.take(&t, 100 + FLOW_TTL).is_none(), "expired");
        assert!(f.take("forged", 100).is_none());
    }

    #[test]
    fn logouts_are_taken_once() {
        let l = Logouts::default();
        l.keep("tok", "pc", "idt", 1, 100);
        assert_eq!(l.take("tok"), Some(("pc".into(), "idt".into())));
        assert_eq!(l.take("tok"), None);
    }
}
