//! What the portal's handlers share. It holds the loaded hub without its
//! CA (the CA key is never loaded where the web is served), the areas'
//! services, and the web layer's own state: sessions, limits, the page
//! cache and the map.

use std::sync::Arc;

use passerelle_hub_core::{
    federation::Federation, ops::Hub, partners::Sessions, ratelimit::RateLimiter,
    registry::Registry,
};
use passerelle_observatory::{IndicatorResult, Observatory, Reader};
use passerelle_vault::{accounts::PersonSessions, notify::Senders, Vault};

use crate::{cache::PageCache, map::Geometry};

/// Codes sent to one identifier per minute (and at once).
pub const CODES_PER_MINUTE: u32 = 2;

/// The portal's state.
pub struct Ctx {
    /// The loaded hub (store, configuration, signing key; no CA).
    pub hub: Arc<Hub>,
    /// Connected nodes.
    pub registry: Arc<Registry>,
    /// Indicators and their latest results.
    pub observatory: Arc<Observatory>,
    /// The vault service.
    pub vault: Vault<Federation>,
    /// The map's geometry.
    pub geometry: Geometry,
    /// Whether the portal shows demonstration data.
    pub demo: bool,
    /// Partner sessions.
    pub sessions: Sessions,
    /// Sign-in attempts per address.
    pub login_limiter: RateLimiter,
    /// Sign-in attempts per account (partner e-mail or vault login), so
    /// guesses spread over many addresses still meet a limit.
    pub account_limiter: RateLimiter<String>,
    /// Password checks running at once (argon2id is costly by design).
    pub password_checks: tokio::sync::Semaphore,
    /// Rendered public pages, valid while no result changes.
    pub pages: PageCache,
    /// Beneficiaries' sessions (each holds the person's data key).
    pub person_sessions: PersonSessions,
    /// Who sends codes and notices (e-mail, text messages).
    pub senders: Senders,
    /// Codes sent per identifier (a phone number or an address receives
    /// few, whoever asks).
    pub code_limiter: RateLimiter<String>,
    /// Sign-ins waiting for a code from a new device (each holds the
    /// person's data key until the code comes, or expires).
    pub device_checks: crate::vault::identify::DeviceChecks,
    /// Professionals' private keys for shared uploads, per session.
    pub pro_keys: crate::pro_keys::ProKeys,
    /// OpenID Connect providers and sign-ins under way.
    pub oidc: crate::signin::Oidc,
}

impl Ctx {
    /// The portal's state over the hub's areas.
    pub fn new(
        fed: Federation,
        observatory: Arc<Observatory>,
        geometry: Geometry,
        demo: bool,
    ) -> Self {
        let hub = fed.hub.clone();
        let registry = fed.registry.clone();
        let base_url = hub.config.public_url();
        let show_codes = demo || hub.config.messages.danger_show_codes;
        let vault = Vault::new(
            passerelle_vault::store::VaultStore::new(hub.store.clone()),
            fed,
            &hub.key,
            base_url,
        );
        let oidc = crate::signin::Oidc::new(&hub.config);
        Self {
            oidc,
            login_limiter: RateLimiter::new(hub.config.login_per_minute.get()),
            account_limiter: RateLimiter::new(hub.config.login_per_minute.get()),
            hub,
            registry,
            observatory,
            vault,
            geometry,
            demo,
            sessions: Sessions::default(),
            password_checks: tokio::sync::Semaphore::new(2),
            pages: PageCache::default(),
            person_sessions: PersonSessions::default(),
            senders: Senders::new(None, None, show_codes),
            code_limiter: RateLimiter::new(CODES_PER_MINUTE),
            device_checks: Default::default(),
            pro_keys: crate::pro_keys::ProKeys::default(),
        }
    }

    /// The same state with the senders `hub.toml` names.
    #[must_use]
    pub fn with_senders(mut self, senders: Senders) -> Self {
        self.senders = senders;
        self
    }

    /// The words of codes and notices, with the portal's address.
    pub fn words(&self) -> crate::notices::French {
        crate::notices::French {
            base_url: self.vault.base_url().to_string(),
        }
    }

    /// The public indicator catalog (partner-only entries left out, see
    /// [`passerelle_observatory::view`]).
    pub fn catalog(&self) -> Vec<&passerelle_observatory::catalog::Indicator> {
        self.observatory.catalog_for(Reader::Public)
    }

    /// The catalog a reader may read (a partner: every indicator).
    pub fn catalog_for(&self, reader: Reader) -> Vec<&passerelle_observatory::catalog::Indicator> {
        self.observatory.catalog_for(reader)
    }

    /// A public indicator by id.
    pub fn indicator(&self, id: &str) -> Option<&passerelle_observatory::catalog::Indicator> {
        self.observatory.indicator_for(Reader::Public, id)
    }

    /// The latest published result of a public indicator, without
    /// provenance.
    pub fn latest(&self, id: &str) -> Option<Arc<IndicatorResult>> {
        self.observatory.latest_for(Reader::Public, id)
    }

    /// The latest published result of an indicator this reader may read.
    pub fn latest_for(&self, reader: Reader, id: &str) -> Option<Arc<IndicatorResult>> {
        self.observatory.latest_for(reader, id)
    }

    /// The draft of a public indicator's latest refresh, when that refresh
    /// was not published (so the published result is older).
    pub fn pending_draft(&self, id: &str) -> Option<Arc<passerelle_observatory::Draft>> {
        self.observatory.pending_draft_for(Reader::Public, id)
    }

    /// The pending draft of an indicator this reader may read.
    pub fn pending_draft_for(
        &self,
        reader: Reader,
        id: &str,
    ) -> Option<Arc<passerelle_observatory::Draft>> {
        self.observatory.pending_draft_for(reader, id)
    }
}
