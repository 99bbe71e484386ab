//! What the OpenID Connect sign-ins share: the providers of `hub.toml`
//! (partners' `[[partner_oidc]]`, the vault's `[[vault_oidc]]`), the
//! sign-ins under way and the ID tokens kept for logout. The pages are in
//! [`crate::partner`] and [`crate::vault`]; the protocol and the token
//! checks are `passerelle_oidc`'s (the `openidconnect` crate).

use passerelle_oidc::{Flows, Logouts, Providers};

/// The partners' callback, under the portal's public address.
pub const PARTNER_CALLBACK: &str = "/partenaires/oidc/retour";
/// The vault's callback.
pub const VAULT_CALLBACK: &str = "/coffre/oidc/retour";

/// A provider's answer at a callback (partners' and the vault's alike).
#[derive(Debug, serde::Deserialize)]
pub struct Callback {
    /// The authorization code.
    #[serde(default)]
    pub code: Option<String>,
    /// The state the sign-in was started with.
    #[serde(default)]
    pub state: Option<String>,
    /// The provider's error, when it refused.
    #[serde(default)]
    pub error: Option<String>,
}

/// The OpenID Connect state of the portal.
#[derive(Debug, Default)]
pub struct Oidc {
    /// Providers of partner professionals (ProConnect).
    pub partners: Providers,
    /// Providers a beneficiary may attach (FranceConnect).
    pub persons: Providers,
    /// Sign-ins under way (both kinds).
    pub flows: Flows,
    /// ID tokens of sessions opened with a provider.
    pub logouts: Logouts,
    /// Vault attachments under way, by state: the person and their data
    /// key (the callback comes without the session's `Strict` cookie).
    pub attaching: Attaching,
}

/// Vault attachments under way: `state` → person and data key, for
/// [`passerelle_oidc::flows::FLOW_TTL`] at most.
#[derive(Debug, Default)]
pub struct Attaching {
    map: std::sync::Mutex<
        std::collections::HashMap<String, (String, passerelle_protocol::seal::Key, u64)>,
    >,
}

impl Attaching {
    /// Keeps the person and key of an attachment under way.
    pub fn keep(&self, state: &str, person: &str, key: passerelle_protocol::seal::Key, now: u64) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, _, at)| *at + passerelle_oidc::flows::FLOW_TTL > now);
        if map.len() < passerelle_oidc::flows::MAX_FLOWS {
            map.insert(state.to_string(), (person.to_string(), key, now));
        }
    }

    /// Takes the attachment of a state, once.
    pub fn take(&self, state: &str, now: u64) -> Option<(String, passerelle_protocol::seal::Key)> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(state)
            .filter(|(_, _, at)| *at + passerelle_oidc::flows::FLOW_TTL > now)
            .map(|(p, k, _)| (p, k))
    }
}

impl Oidc {
    /// The providers of a hub's configuration, calling back to its public
    /// address.
    pub fn new(config: &passerelle_config::HubConfig) -> Self {
        let base = config.public_url();
        Self {
            partners: Providers::new(&config.partner_oidc, &format!("{base}{PARTNER_CALLBACK}")),
            persons: Providers::new(&config.vault_oidc, &format!("{base}{VAULT_CALLBACK}")),
            flows: Flows::default(),
            logouts: Logouts::default(),
            attaching: Attaching::default(),
        }
    }
}

/// The `Set-Cookie` value of a sign-in under way: `SameSite=Lax`, since
/// the provider's redirect back is a navigation from another site (a
/// `Strict` cookie would not come with it); short-lived; limited to the
/// callback's folder.
pub fn flow_cookie(name: &str, token: &str, path: &str) -> String {
    format!(
        "{name}={token}; HttpOnly; Secure; SameSite=Lax; Path={path}; Max-Age={}",
        passerelle_oidc::flows::FLOW_TTL
    )
}

/// The `Set-Cookie` value that forgets a sign-in cookie.
pub fn clear_cookie(name: &str, path: &str) -> String {
    format!("{name}=; HttpOnly; Secure; SameSite=Lax; Path={path}; Max-Age=0")
}
