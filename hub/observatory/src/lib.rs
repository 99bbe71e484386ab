//! # passerelle-observatory
//!
//! The observatory's domain: which indicators exist and how each is
//! composed from node datasets, refreshing them from the network, their
//! history and provenance, and the resource centre. It asks nodes only
//! through the core's [`Federation`] handle and writes no web page: the
//! portal renders what this crate computes.
//!
//! ## Layout
//! - [`catalog`]: the indicator catalog (TOML; shipped and local).
//! - [`compose`]: indicators composed from node answers (pure).
//! - [`breakdown`]: the same figures by category (`by` in the catalog).
//! - [`refresh`]: plan, fan-out, fold; history and offline verification.
//! - [`population`]: reference populations from the operator's INSEE file.
//! - [`publish`]: the publishing rules (published, or kept as a draft).
//! - [`provenance`]: signed provenance bundles of published results.
//! - [`retention`]: what each indicator keeps of its history.
//! - [`resources`]: the resource centre's documents.
//! - [`view`]: who reads what (public or partners): the one place the
//!   catalog's `audience` is enforced for the portal.
//! - [`programme`]: social-action programmes, their targets and the
//!   written part of their reports.

pub mod breakdown;
pub mod catalog;
pub mod compose;
pub mod population;
pub mod programme;
pub mod provenance;
pub mod publish;
pub mod refresh;
pub mod resources;
pub mod retention;
mod stored;
pub mod view;

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, RwLock,
    },
};

use passerelle_hub_core::{
    federation::Federation,
    store::{History, Store},
    HubError,
};

pub use publish::Draft;
pub use refresh::IndicatorResult;
pub use view::{PartnerPass, Reader};

/// The observatory's state: the catalog, the latest published result of
/// each indicator and the draft of a more recent refresh, if any (both
/// without provenance), for pages read far more often than results change.
pub struct Observatory {
    /// The whole indicator catalog (public and partner-only entries): for
    /// the operator and the refresh. Pages read through [`view`].
    pub catalog: Vec<catalog::Indicator>,
    themes: Vec<catalog::Theme>,
    populations: population::Populations,
    /// The programmes declared with the catalog (none until set).
    pub programmes: Vec<programme::Programme>,
    store: Store,
    latest: RwLock<HashMap<String, Arc<IndicatorResult>>>,
    /// Per indicator: the draft newer than the published result (`None`
    /// once known to be none).
    drafts: RwLock<HashMap<String, Option<Arc<Draft>>>>,
    generation: AtomicU64,
}

impl Observatory {
    /// The observatory over a catalog and the hub's store.
    pub fn new(catalog: Vec<catalog::Indicator>, store: Store) -> Self {
        Self {
            catalog,
            themes: catalog::theme::shipped(),
            populations: population::Populations::default(),
            programmes: Vec::new(),
            store,
            latest: RwLock::default(),
            drafts: RwLock::default(),
            generation: AtomicU64::new(0),
        }
    }

    /// The observatory over a loaded catalog (its themes and indicators).
    pub fn with_catalog(catalog: catalog::Catalog, store: Store) -> Self {
        let mut obs = Self::new(catalog.indicators, store);
        obs.themes = catalog.themes;
        obs
    }

    /// The same observatory dividing by these reference populations.
    #[must_use]
    pub fn with_populations(mut self, populations: population::Populations) -> Self {
        self.populations = populations;
        self
    }

    /// The reference populations (empty: the built-in 2017 figures).
    pub fn populations(&self) -> &population::Populations {
        &self.populations
    }

    /// The themes, in display order.
    pub fn themes(&self) -> &[catalog::Theme] {
        &self.themes
    }

    /// A catalog entry by id, whatever its audience (operator use; pages
    /// use [`Observatory::indicator_for`]).
    pub fn indicator(&self, id: &str) -> Option<&catalog::Indicator> {
        self.catalog.iter().find(|i| i.id == id)
    }

    /// The latest result of an indicator, without provenance, from memory
    /// (loaded from the store on first use).
    pub fn latest(&self, id: &str) -> Option<Arc<IndicatorResult>> {
        if let Some(r) = self.latest.read().expect("results cache lock").get(id) {
            return Some(r.clone());
        }
        let mut r: IndicatorResult = self.store.latest_result(id).ok().flatten()?;
        r.provenance.clear();
        r.breakdowns.iter_mut().for_each(|b| b.provenance.clear());
        let r = Arc::new(r);
        self.latest
            .write()
            .expect("results cache lock")
            .insert(id.to_string(), r.clone());
        Some(r)
    }

    /// Makes `r` the latest published result of its indicator (no draft
    /// is then more recent).
    pub fn remember(&self, r: &IndicatorResult) {
        let mut light = r.clone();
        light.provenance.clear();
        light
            .breakdowns
            .iter_mut()
            .for_each(|b| b.provenance.clear());
        self.latest
            .write()
            .expect("results cache lock")
            .insert(r.indicator.clone(), Arc::new(light));
        self.drafts
            .write()
            .expect("drafts cache lock")
            .insert(r.indicator.clone(), None);
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// Makes `d` the draft of a refresh more recent than the published
    /// result of its indicator.
    pub fn remember_draft(&self, d: &Draft) {
        let mut light = d.clone();
        light.result.provenance.clear();
        light
            .result
            .breakdowns
            .iter_mut()
            .for_each(|b| b.provenance.clear());
        self.drafts
            .write()
            .expect("drafts cache lock")
            .insert(d.result.indicator.clone(), Some(Arc::new(light)));
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The draft of the latest refresh of an indicator when that refresh
    /// was not published (so the published result is older), without
    /// provenance, from memory (loaded from the store on first use).
    pub fn pending_draft(&self, id: &str) -> Option<Arc<Draft>> {
        if let Some(d) = self.drafts.read().expect("drafts cache lock").get(id) {
            return d.clone();
        }
        let d = self
            .store
            .pending_draft::<Draft>(id)
            .ok()
            .flatten()
            .map(|mut d| {
                d.result.provenance.clear();
                d.result
                    .breakdowns
                    .iter_mut()
                    .for_each(|b| b.provenance.clear());
                Arc::new(d)
            });
        // A refresh that finished meanwhile knows better than the store read.
        self.drafts
            .write()
            .expect("drafts cache lock")
            .entry(id.to_string())
            .or_insert(d)
            .clone()
    }

    /// An indicator's history, published results and drafts, oldest
    /// first (with provenance).
    ///
    /// # Errors
    /// On a store failure.
    pub fn history(&self, id: &str) -> Result<Vec<History<IndicatorResult, Draft>>, HubError> {
        self.store.history(id)
    }

    /// A number that changes whenever a result does: what was rendered
    /// from results under an older generation is stale.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Refreshes every indicator of the catalog from the network.
    pub async fn refresh_all(&self, fed: &Federation) {
        refresh::refresh_all(self, fed).await;
    }
}
