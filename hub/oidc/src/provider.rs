//! One configured provider: discovery (kept an hour, so a key rotation is
//! seen), the authorization request and the code exchange, with every
//! token check done by the `openidconnect` crate.

use std::{collections::HashMap, sync::Arc, time::Instant};

use openidconnect::{
    core::{
        CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
        CoreClientAuthMethod, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
        CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreResponseMode,
        CoreResponseType, CoreSubjectIdentifierType,
    },
    AccessTokenHash, AdditionalClaims, AdditionalProviderMetadata, AuthType,
    AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata, RedirectUrl, Scope, TokenResponse,
    UserInfoClaims,
};
use passerelle_config::OidcProvider;
use serde::{Deserialize, Serialize};

use crate::{transport::Transport, OidcError, TokenRefusal};

/// How long discovered metadata (and the provider's keys) are kept.
const DISCOVERY_TTL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Longest claim value kept (e-mail, organisation, name).
const MAX_CLAIM: usize = 254;

/// Claims beyond the standard ones (ProConnect's `siret`, `usual_name`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Extra {
    #[serde(flatten)]
    map: HashMap<String, serde_json::Value>,
}
impl AdditionalClaims for Extra {}

/// Metadata beyond the core: the logout endpoint (RP-initiated logout).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogoutMetadata {
    #[serde(default)]
    end_session_endpoint: Option<String>,
}
impl AdditionalProviderMetadata for LogoutMetadata {}

type Metadata = ProviderMetadata<
    LogoutMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

struct Discovered {
    client: Client,
    end_session: Option<String>,
    at: Instant,
}

/// A sign-in under way: what the callback needs, kept by the portal (in
/// memory, bound to a short-lived cookie, used once).
#[derive(Debug, Clone)]
pub struct Pending {
    /// The provider's name.
    pub provider: String,
    /// The `state` sent.
    pub state: String,
    /// The `nonce` sent.
    pub nonce: String,
    /// The PKCE verifier.
    pub verifier: String,
}

/// Who the provider says signed in, after every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider's name.
    pub provider: String,
    /// The subject (`sub`): stable per provider and client.
    pub subject: String,
    /// The e-mail claim, lower-case, when given.
    pub email: Option<String>,
    /// The organisation claim (SIRET), when given.
    pub organisation: Option<String>,
    /// Given and family (or usual) names, when given.
    pub name: Option<String>,
    /// The ID token, for the logout request's `id_token_hint`.
    pub id_token: String,
}

/// A provider of the configuration, discovered on first use.
pub struct Provider {
    /// Its configuration.
    pub config: OidcProvider,
    redirect: String,
    transport: Transport,
    discovered: tokio::sync::Mutex<Option<Arc<Discovered>>>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.config.name)
            .field("issuer", &self.config.issuer)
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// A provider whose callback is `redirect` (an absolute URL of the
    /// portal).
    ///
    /// # Errors
    /// When the transport cannot be built.
    pub fn new(config: OidcProvider, redirect: String) -> Result<Self, OidcError> {
        let transport = Transport::new(config.allow_insecure_loopback_issuer)?;
        Ok(Self {
            config,
            redirect,
            transport,
            discovered: tokio::sync::Mutex::new(None),
        })
    }

    async fn discovered(&self) -> Result<Arc<Discovered>, OidcError> {
        let mut held = self.discovered.lock().await;
        if let Some(d) = held.as_ref().filter(|d| d.at.elapsed() < DISCOVERY_TTL) {
            return Ok(d.clone());
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone())
            .map_err(|e| OidcError::Config(e.to_string()))?;
        let meta = Metadata::discover_async(issuer, &self.transport)
            .await
            .map_err(|e| OidcError::Discovery(e.to_string()))?;
        let secret = passerelle_certs::files::read_secret(&self.config.client_secret_file)
            .map_err(|e| OidcError::Secret(e.to_string()))?;
        let secret = String::from_utf8_lossy(&secret).trim().to_string();
        let basic = meta
            .token_endpoint_auth_methods_supported()
            .is_none_or(|m| m.contains(&CoreClientAuthMethod::ClientSecretBasic));
        let end_session = meta.additional_metadata().end_session_endpoint.clone();
        let client = CoreClient::from_provider_metadata(
            meta,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(secret)),
        )
        .set_redirect_uri(
            RedirectUrl::new(self.redirect.clone())
                .map_err(|e| OidcError::Config(e.to_string()))?,
        )
        .set_auth_type(if basic {
            AuthType::BasicAuth
        } else {
            AuthType::RequestBody
        });
        let d = Arc::new(Discovered {
            client,
            end_session,
            at: Instant::now(),
        });
        *held = Some(d.clone());
        Ok(d)
    }

    /// Starts a sign-in: the provider's authorization URL (code flow with
    /// PKCE, a fresh state and nonce) and what the callback will need.
    ///
    /// # Errors
    /// When discovery fails.
    pub async fn begin(&self) -> Result<(String, Pending), OidcError> {
        let d = self.discovered().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut req = d.client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        );
        for s in self.config.scopes.iter().filter(|s| *s != "openid") {
            req = req.add_scope(Scope::new(s.clone()));
        }
        for acr in self
            .config
            .acr_values
            .iter()
            .flat_map(|a| a.split_whitespace())
        {
            req = req.add_auth_context_value(AuthenticationContextClass::new(acr.to_string()));
        }
        let (url, state, nonce) = req.set_pkce_challenge(challenge).url();
        Ok((
            url.to_string(),
            Pending {
                provider: self.config.name.clone(),
                state: state.secret().clone(),
                nonce: nonce.secret().clone(),
                verifier: verifier.secret().clone(),
            },
        ))
    }

    /// Ends a sign-in: exchanges the code (with the PKCE verifier), has
    /// the library check the ID token (signature from the provider's keys,
    /// issuer, audience, expiry, nonce) and the access token's hash, then
    /// reads the user info (signed or not, its subject checked against the
    /// token's).
    ///
    /// # Errors
    /// [`OidcError`]; [`OidcError::Token`] for a refused ID token.
    pub async fn finish(&self, pending: Pending, code: &str) -> Result<Identity, OidcError> {
        let d = self.discovered().await?;
        let exchange = d
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| OidcError::Config(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier));
        let token = exchange
            .request_async(&self.transport)
            .await
            .map_err(|e| OidcError::TokenEndpoint(e.to_string()))?;
        let id_token = token.id_token().ok_or(OidcError::NoIdToken)?;
        let verifier = d.client.id_token_verifier();
        let claims = match id_token.claims(&verifier, &Nonce::new(pending.nonce)) {
            Ok(c) => c,
            Err(e) => {
                let refusal = TokenRefusal::from_library(e);
                if matches!(refusal, TokenRefusal::Signature(_)) {
                    // Perhaps the provider rotated its keys: the next
                    // sign-in reads them again.
                    *self.discovered.lock().await = None;
                }
                return Err(refusal.into());
            }
        };
        if let Some(expected) = claims.access_token_hash() {
            let alg = id_token
                .signing_alg()
                .map_err(|e| TokenRefusal::Other(e.to_string()))?;
            let key = id_token
                .signing_key(&verifier)
                .map_err(|e| TokenRefusal::Other(e.to_string()))?;
            let actual = AccessTokenHash::from_token(token.access_token(), alg, key)
                .map_err(|e| TokenRefusal::Other(e.to_string()))?;
            if actual != *expected {
                return Err(TokenRefusal::AccessTokenHash.into());
            }
        }
        let subject = claims.subject().clone();
        let info: Option<UserInfoClaims<Extra, CoreGenderClaim>> = match d
            .client
            .user_info(token.access_token().clone(), Some(subject.clone()))
        {
            Ok(req) => Some(
                req.request_async(&self.transport)
                    .await
                    .map_err(|e| OidcError::UserInfo(e.to_string()))?,
            ),
            Err(_) => None,
        };
        let email_claim = self.config.email_claim.as_str();
        let email = if email_claim == "email" {
            info.as_ref()
                .and_then(|i| i.email().map(|e| e.as_str().to_string()))
                .or_else(|| claims.email().map(|e| e.as_str().to_string()))
        } else {
            info.as_ref().and_then(|i| extra(i, email_claim))
        }
        .map(|e| e.trim().to_lowercase())
        .filter(|e| e.len() <= MAX_CLAIM && e.contains('@'));
        let organisation = info
            .as_ref()
            .and_then(|i| extra(i, &self.config.organisation_claim))
            .filter(|o| o.len() <= MAX_CLAIM);
        let name = info.as_ref().and_then(|i| {
            let given = i
                .given_name()
                .and_then(|n| n.get(None))
                .map(|n| n.to_string());
            let family = i
                .family_name()
                .and_then(|n| n.get(None))
                .map(|n| n.to_string())
                .or_else(|| extra(i, "usual_name"));
            let full = [given, family]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            (!full.is_empty() && full.len() <= MAX_CLAIM).then_some(full)
        });
        Ok(Identity {
            provider: self.config.name.clone(),
            subject: subject.as_str().to_string(),
            email,
            organisation,
            name,
            id_token: id_token.to_string(),
        })
    }

    /// The provider's logout address for a session signed in with
    /// `id_token`, sending the person back to `back` (registered with the
    /// provider); `None` when the provider has no logout endpoint.
    pub async fn logout_url(&self, id_token: &str, back: &str) -> Option<String> {
        let d = self.discovered().await.ok()?;
        let end = d.end_session.as_deref()?;
        let sep = if end.contains('?') { '&' } else { '?' };
        let q = |v: &str| {
            v.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                        (b as char).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>()
        };
        Some(format!(
            "{end}{sep}id_token_hint={}&post_logout_redirect_uri={}&client_id={}",
            q(id_token),
            q(back),
            q(&self.config.client_id)
        ))
    }
}

/// A claim beyond the standard ones, as text (strings and numbers).
fn extra(info: &UserInfoClaims<Extra, CoreGenderClaim>, name: &str) -> Option<String> {
    match info.additional_claims().map.get(name)? {
        serde_json::Value::String(s) => Some(s.trim().to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
    .filter(|s| !s.is_empty())
}
