//! The vault's service API: what a person or a professional under consent
//! may see and open of the documents institutions hold, every access
//! logged in the hub's chain. Errors are typed; the web layer words them.
//!
//! The service reaches nodes through [`Nodes`], which the core's
//! [`Federation`] implements over the link; tests give it a fake.

use std::future::Future;

use passerelle_hub_core::{
    federation::{self, Federation, Incoming},
    HubError,
};
use passerelle_protocol::{
    audit::{Action, Actor, Event},
    ids::NodeId,
    message::Refusal,
    sign::SigningKey,
    vault::{procedure_label, DocSummary, Pseudonym, Requester},
};

use crate::{links, store::VaultStore};

/// Why an institution's documents cannot be listed or opened now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// The institution cannot be reached (not connected, its link cut, or
    /// its reply did not verify).
    #[error("unreachable")]
    Unreachable,
    /// The institution did not answer in time.
    #[error("timed_out")]
    TimedOut,
    /// The institution runs a version of the node too old for the query.
    #[error("outdated")]
    Outdated,
    /// The person is not linked to that institution, or the document is
    /// not theirs.
    #[error("not_linked")]
    NotLinked,
    /// The node refused, with its reason.
    #[error("refused: {0}")]
    Refused(Refusal),
    /// The access could not be written in the audit chain, so it did not
    /// happen.
    #[error("unrecorded")]
    Unrecorded,
}

/// Why a node gave no reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// No live link, a cut one, or a reply that did not verify.
    Unreachable,
    /// No reply in time.
    TimedOut,
    /// The node speaks an older protocol than the query needs.
    Outdated,
}

impl From<Unavailable> for AccessError {
    fn from(u: Unavailable) -> Self {
        match u {
            Unavailable::Unreachable => Self::Unreachable,
            Unavailable::TimedOut => Self::TimedOut,
            Unavailable::Outdated => Self::Outdated,
        }
    }
}

fn unavailable(e: &HubError) -> Unavailable {
    match e {
        HubError::Outdated { .. } => Unavailable::Outdated,
        HubError::TimedOut { .. } => Unavailable::TimedOut,
        _ => Unavailable::Unreachable,
    }
}

/// The nodes, as the vault needs them.
pub trait Nodes: Send + Sync {
    /// A document on its way from a node.
    type Download: Send;

    /// The institution's name (its id when unknown).
    fn name(&self, node: &NodeId) -> String;

    /// The documents a node holds about a person that the requester may see.
    fn documents(
        &self,
        node: &NodeId,
        person: Pseudonym,
        requester: Requester,
    ) -> impl Future<Output = Result<Result<Vec<DocSummary>, Refusal>, Unavailable>> + Send;

    /// Opens one document.
    fn fetch(
        &self,
        node: &NodeId,
        person: Pseudonym,
        document: String,
        requester: Requester,
    ) -> impl Future<Output = Result<Result<Self::Download, Refusal>, Unavailable>> + Send;

    /// What a download says it carries.
    fn described(download: &Self::Download) -> &DocSummary;
}

impl Nodes for Federation {
    type Download = Incoming;

    fn name(&self, node: &NodeId) -> String {
        self.node_name(node)
    }

    async fn documents(
        &self,
        node: &NodeId,
        person: Pseudonym,
        requester: Requester,
    ) -> Result<Result<Vec<DocSummary>, Refusal>, Unavailable> {
        let live = self.live(node).ok_or(Unavailable::Unreachable)?;
        federation::documents(&live, &self.hub.key, person, requester, self.timeout())
            .await
            .map_err(|e| unavailable(&e))
    }

    async fn fetch(
        &self,
        node: &NodeId,
        person: Pseudonym,
        document: String,
        requester: Requester,
    ) -> Result<Result<Incoming, Refusal>, Unavailable> {
        let live = self.live(node).ok_or(Unavailable::Unreachable)?;
        federation::fetch(
            &live,
            &self.hub.key,
            person,
            document,
            requester,
            self.timeout(),
            self.stall(),
        )
        .await
        .map_err(|e| unavailable(&e))
    }

    fn described(download: &Incoming) -> &DocSummary {
        &download.doc
    }
}

/// What one linked institution says.
#[derive(Debug)]
pub struct Holding {
    /// The node.
    pub node: NodeId,
    /// Its name.
    pub name: String,
    /// Its documents, or why they cannot be shown now.
    pub documents: Result<Vec<DocSummary>, AccessError>,
}

/// The vault: its part of the store, the nodes, and the hub's public key
/// that consents verify under.
pub struct Vault<N = Federation> {
    /// The vault's trees in the hub store.
    pub store: VaultStore,
    nodes: N,
    key: passerelle_protocol::sign::PublicKey,
    base_url: String,
}

impl<N: Nodes> Vault<N> {
    /// The vault over its store and the nodes; `hub_key` signs consents,
    /// `base_url` is the portal's public address (printed on copies).
    pub fn new(store: VaultStore, nodes: N, hub_key: &SigningKey, base_url: String) -> Self {
        Self {
            store,
            nodes,
            key: hub_key.public(),
            base_url: base_url.trim_end_matches('/').to_string(),
        }
    }

    /// The nodes.
    pub fn nodes(&self) -> &N {
        &self.nodes
    }

    /// The name of an enrolled institution.
    pub fn node_name(&self, node: &NodeId) -> String {
        self.nodes.name(node)
    }

    /// The base address of the portal, for links printed on copies.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Appends to the hub's chain; a failure is logged, never hidden, and
    /// returned: an access that cannot be recorded does not happen.
    pub fn log(&self, event: Event) -> bool {
        match self.store.audit(passerelle_link::now(), event) {
            Ok(_) => true,
            Err(error) => {
                tracing::error!(%error, "vault audit record not written");
                false
            }
        }
    }

    fn procedure_of(&self, requester: &Requester) -> Option<String> {
        match requester {
            Requester::Person => None,
            Requester::Professional { consent, .. } => consent
                .verify(&self.key)
                .ok()
                .map(|c| procedure_label(&c.procedure).to_string()),
        }
    }

    /// Asks every institution linked to the person for the documents the
    /// requester may see (for a professional: the consent's holder only).
    /// Each listing is logged; one that cannot be logged is not shown.
    pub async fn holdings(&self, person: &str, requester: &Requester) -> Vec<Holding> {
        let nodes: Vec<NodeId> = match requester {
            Requester::Person => self
                .store
                .links(person)
                .unwrap_or_default()
                .into_iter()
                .map(|(n, _)| n)
                .collect(),
            Requester::Professional { consent, .. } => consent
                .verify(&self.key)
                .map(|c| vec![c.holder])
                .unwrap_or_default(),
        };
        let mut out = Vec::new();
        for node in nodes {
            let name = self.node_name(&node);
            let documents = match links::pseudonym(&self.store, person, &node) {
                Ok(p) => match self.nodes.documents(&node, p, requester.clone()).await {
                    Ok(Ok(d)) => Ok(d),
                    Ok(Err(r)) => Err(AccessError::Refused(r)),
                    Err(u) => Err(u.into()),
                },
                Err(_) => Err(AccessError::Unreachable),
            };
            let recorded = self.log(Event {
                actor: Actor::from(requester),
                action: if documents.is_ok() {
                    Action::List
                } else {
                    Action::ListFailed
                },
                person: Some(person.to_string()),
                subject: node.to_string(),
                procedure: self.procedure_of(requester),
                detail: match &documents {
                    Ok(d) => format!("{name}: {} document(s)", d.len()),
                    Err(e) => format!("{name}: {e}"),
                },
            });
            let documents = if recorded {
                documents
            } else {
                Err(AccessError::Unrecorded)
            };
            out.push(Holding {
                node,
                name,
                documents,
            });
        }
        out
    }

    /// Opens a document held by a node, for the person or a professional
    /// under consent; logged either way.
    ///
    /// # Errors
    /// Why not.
    pub async fn open(
        &self,
        person: &str,
        node: &NodeId,
        document: &str,
        requester: &Requester,
    ) -> Result<N::Download, AccessError> {
        let name = self.node_name(node);
        let linked = self
            .store
            .links(person)
            .unwrap_or_default()
            .iter()
            .any(|(n, _)| n == node);
        let result = match (linked, links::pseudonym(&self.store, person, node)) {
            (true, Ok(p)) => match self
                .nodes
                .fetch(node, p, document.to_string(), requester.clone())
                .await
            {
                Ok(Ok(i)) => Ok(i),
                Ok(Err(r)) => Err(AccessError::Refused(r)),
                Err(u) => Err(u.into()),
            },
            (false, Ok(_)) => Err(AccessError::NotLinked),
            _ => Err(AccessError::Unreachable),
        };
        let recorded = self.log(Event {
            actor: Actor::from(requester),
            action: if result.is_ok() {
                Action::Download
            } else {
                Action::DownloadRefused
            },
            person: Some(person.to_string()),
            subject: format!("{node}/{document}"),
            procedure: self.procedure_of(requester),
            detail: match &result {
                Ok(i) => {
                    let d = N::described(i);
                    format!("{name}: {} — {}", d.category.label(), d.name)
                }
                Err(e) => format!("{name}: {e}"),
            },
        });
        if !recorded && result.is_ok() {
            return Err(AccessError::Unrecorded);
        }
        result
    }
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
