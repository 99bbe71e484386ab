//! # passerelle-oidc
//!
//! OpenID Connect sign-in for the portal: partner professionals through
//! ProConnect, beneficiaries through FranceConnect (both OpenID Connect).
//! The protocol and every token check are the `openidconnect` crate's
//! (discovery, authorization code with PKCE, state and nonce, ID token
//! signature from the provider's JWKS, issuer, audience, expiry); this
//! crate adds the HTTP transport over the workspace's hyper and rustls,
//! the sign-ins under way (bound to a cookie, used once, short-lived) and
//! typed errors. It writes no French and keeps no account: matching an
//! identity to an account is the caller's business.
//!
//! ## Layout
//! - [`transport`]: HTTP/1.1 over hyper, rustls (ring) and Mozilla's
//!   roots; `http://` only to loopback when the configuration allows it.
//! - [`provider`]: one provider: discovery, [`Provider::begin`],
//!   [`Provider::finish`], the logout address.
//! - [`flows`]: sign-ins under way, and ID tokens kept for logout.

pub mod flows;
pub mod provider;
pub mod transport;

use std::sync::Arc;

pub use flows::{Flows, Logouts};
pub use provider::{Identity, Pending, Provider};

/// Why an ID token was refused (by the library's checks).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    /// Not for this client (`aud`).
    #[error("wrong audience: {0}")]
    Audience(String),
    /// Not from the configured issuer (`iss`).
    #[error("wrong issuer: {0}")]
    Issuer(String),
    /// Expired (`exp`).
    #[error("expired: {0}")]
    Expired(String),
    /// Not the nonce this sign-in sent.
    #[error("wrong nonce: {0}")]
    Nonce(String),
    /// The signature does not verify with the provider's keys.
    #[error("bad signature: {0}")]
    Signature(String),
    /// The access token's hash (`at_hash`) does not match.
    #[error("access token hash does not match")]
    AccessTokenHash,
    /// Any other check.
    #[error("{0}")]
    Other(String),
}

impl TokenRefusal {
    /// The refusal of a library error.
    pub fn from_library(e: openidconnect::ClaimsVerificationError) -> Self {
        use openidconnect::ClaimsVerificationError as E;
        match e {
            E::InvalidAudience(s) => Self::Audience(s),
            E::InvalidIssuer(s) => Self::Issuer(s),
            E::Expired(s) => Self::Expired(s),
            E::InvalidNonce(s) => Self::Nonce(s),
            E::SignatureVerification(s) => Self::Signature(s.to_string()),
            other => Self::Other(other.to_string()),
        }
    }

    /// A short name for logs (`audience`, `issuer`, `expired`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Audience(_) => "audience",
            Self::Issuer(_) => "issuer",
            Self::Expired(_) => "expired",
            Self::Nonce(_) => "nonce",
            Self::Signature(_) => "signature",
            Self::AccessTokenHash => "at_hash",
            Self::Other(_) => "other",
        }
    }
}

/// Why a sign-in with a provider failed.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider's configuration cannot be used.
    #[error("configuration: {0}")]
    Config(String),
    /// The client secret file cannot be read (or is readable by others).
    #[error("client secret: {0}")]
    Secret(String),
    /// Discovery failed (unreachable, or metadata refused).
    #[error("discovery: {0}")]
    Discovery(String),
    /// The token endpoint refused the code or failed.
    #[error("token endpoint: {0}")]
    TokenEndpoint(String),
    /// The token response had no ID token.
    #[error("no ID token in the token response")]
    NoIdToken,
    /// The ID token was refused.
    #[error("ID token refused: {0}")]
    Token(#[from] TokenRefusal),
    /// The user info request failed or was refused.
    #[error("user info: {0}")]
    UserInfo(String),
    /// The transport failed.
    #[error(transparent)]
    Transport(#[from] transport::TransportError),
}

/// The providers of one list of `hub.toml`, by name.
#[derive(Debug, Default)]
pub struct Providers {
    list: Vec<Arc<Provider>>,
}

impl Providers {
    /// The providers of `configs`, whose callback is `redirect`. A
    /// provider that cannot be built is left out, with an error logged.
    pub fn new(configs: &[passerelle_config::OidcProvider], redirect: &str) -> Self {
        let list = configs
            .iter()
            .filter_map(|c| match Provider::new(c.clone(), redirect.to_string()) {
                Ok(p) => Some(Arc::new(p)),
                Err(error) => {
                    tracing::error!(%error, provider = %c.name, "OpenID Connect provider left out");
                    None
                }
            })
            .collect();
        Self { list }
    }

    /// The provider named `name`.
    pub fn get(&self, name: &str) -> Option<Arc<Provider>> {
        self.list.iter().find(|p| p.config.name == name).cloned()
    }

    /// Every provider, in the configuration's order.
    pub fn all(&self) -> &[Arc<Provider>] {
        &self.list
    }

    /// Whether none is configured.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}
