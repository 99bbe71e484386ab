//! The digital vault (coffre-fort numérique): beneficiaries' accounts,
//! links to the institutions that hold their records, documents listed and
//! streamed from the nodes (the hub keeps none of their bytes), the
//! person's own uploads sealed under their key, consents, verifiable
//! duplicates, and the access log.
//!
//! - [`accounts`]: accounts, keys, password reset, sessions.
//! - [`links`]: link codes and per-node pseudonyms.
//! - [`uploads`]: the person's own documents.
//! - [`consent`]: grants and revocations.
//! - [`duplicate`]: verifiable copies, [`pdf`]: the copy's file.
//! - [`zip`]: the export archive.
//! - [`store`]: the vault's trees in the hub store.

pub mod accounts;
pub mod consent;
pub mod duplicate;
pub mod links;
pub mod pdf;
pub mod store;
pub mod uploads;
pub mod zip;

use passerelle_protocol::{
    audit::Event,
    ids::NodeId,
    message::Refusal,
    vault::{procedure_label, DocSummary, Requester},
};

use crate::{federation::Incoming, server::Ctx};

/// What one linked institution says.
#[derive(Debug)]
pub struct Holding {
    /// The node.
    pub node: NodeId,
    /// Its name.
    pub name: String,
    /// Its documents, or why they cannot be shown now (French).
    pub documents: Result<Vec<DocSummary>, String>,
}

/// The name of an enrolled institution.
pub fn node_name(ctx: &Ctx, node: &NodeId) -> String {
    ctx.hub
        .store
        .node(node)
        .ok()
        .flatten()
        .map_or_else(|| node.to_string(), |n| n.name)
}

/// A node refusal in plain French.
pub fn french(r: &Refusal) -> String {
    match r {
        Refusal::Access(a) => a.french().to_string(),
        _ => "L'institution n'a pas pu répondre. Réessayez plus tard.".to_string(),
    }
}

fn outdated() -> String {
    "Cette institution doit mettre à jour son logiciel Passerelle pour montrer ses documents. Réessayez plus tard.".to_string()
}

fn unreachable() -> String {
    "Cette institution ne répond pas pour le moment. Réessayez plus tard.".to_string()
}

/// Who acts, for the log.
pub fn actor(requester: &Requester) -> String {
    passerelle_node::vault::actor(requester)
}

/// Appends to the hub's chain; a failure is logged, never hidden, and
/// returned: an access that cannot be recorded does not happen.
pub fn log(ctx: &Ctx, event: Event) -> bool {
    match ctx.vault.audit(passerelle_link::now(), event) {
        Ok(_) => true,
        Err(error) => {
            tracing::error!(%error, "vault audit record not written");
            false
        }
    }
}

/// Why an access that could not be recorded is refused.
pub fn unrecorded() -> String {
    "L'accès n'a pas pu être enregistré dans le journal ; il est donc refusé. Réessayez plus tard."
        .to_string()
}

/// Asks every institution linked to the person for the documents the
/// requester may see (for a professional: the consent's holder only).
pub async fn holdings(ctx: &Ctx, person: &str, requester: &Requester) -> Vec<Holding> {
    let nodes: Vec<NodeId> = match requester {
        Requester::Person => ctx
            .vault
            .links(person)
            .unwrap_or_default()
            .into_iter()
            .map(|(n, _)| n)
            .collect(),
        Requester::Professional { consent, .. } => consent
            .verify(&ctx.hub.key.public())
            .map(|c| vec![c.holder])
            .unwrap_or_default(),
    };
    let mut out = Vec::new();
    for node in nodes {
        let name = node_name(ctx, &node);
        let documents = match (
            ctx.registry.get(&node),
            links::pseudonym(&ctx.vault, person, &node),
        ) {
            (Some(live), Ok(p)) => {
                match crate::federation::documents(
                    &live,
                    &ctx.hub.key,
                    p,
                    requester.clone(),
                    ctx.hub.config.query_timeout,
                )
                .await
                {
                    Ok(Ok(d)) => Ok(d),
                    Ok(Err(r)) => Err(french(&r)),
                    Err(crate::HubError::Outdated { .. }) => Err(outdated()),
                    Err(_) => Err(unreachable()),
                }
            }
            _ => Err(unreachable()),
        };
        let recorded = log(
            ctx,
            Event {
                actor: actor(requester),
                action: if documents.is_ok() {
                    "list"
                } else {
                    "list_failed"
                }
                .into(),
                person: Some(person.to_string()),
                subject: node.to_string(),
                procedure: procedure_of(ctx, requester),
                detail: match &documents {
                    Ok(d) => format!("{name}: {} document(s)", d.len()),
                    Err(e) => format!("{name}: {e}"),
                },
            },
        );
        let documents = if recorded {
            documents
        } else {
            Err(unrecorded())
        };
        out.push(Holding {
            node,
            name,
            documents,
        });
    }
    out
}

fn procedure_of(ctx: &Ctx, requester: &Requester) -> Option<String> {
    match requester {
        Requester::Person => None,
        Requester::Professional { consent, .. } => consent
            .verify(&ctx.hub.key.public())
            .ok()
            .map(|c| procedure_label(&c.procedure).to_string()),
    }
}

/// Opens a document held by a node, for the person or a professional
/// under consent; logged either way.
///
/// # Errors
/// Why not, in French.
pub async fn open(
    ctx: &Ctx,
    person: &str,
    node: &NodeId,
    document: &str,
    requester: &Requester,
) -> Result<Incoming, String> {
    let name = node_name(ctx, node);
    let linked = ctx
        .vault
        .links(person)
        .unwrap_or_default()
        .iter()
        .any(|(n, _)| n == node);
    let result = match (
        linked,
        ctx.registry.get(node),
        links::pseudonym(&ctx.vault, person, node),
    ) {
        (true, Some(live), Ok(p)) => {
            match crate::federation::fetch(
                &live,
                &ctx.hub.key,
                p,
                document.to_string(),
                requester.clone(),
                ctx.hub.config.query_timeout,
            )
            .await
            {
                Ok(Ok(i)) => Ok(i),
                Ok(Err(r)) => Err(french(&r)),
                Err(crate::HubError::Outdated { .. }) => Err(outdated()),
                Err(_) => Err(unreachable()),
            }
        }
        (false, _, Ok(_)) => {
            Err("Ce document n'existe pas, ou il ne vous concerne pas.".to_string())
        }
        _ => Err(unreachable()),
    };
    let recorded = log(
        ctx,
        Event {
            actor: actor(requester),
            action: if result.is_ok() {
                "download"
            } else {
                "download_refused"
            }
            .into(),
            person: Some(person.to_string()),
            subject: format!("{node}/{document}"),
            procedure: procedure_of(ctx, requester),
            detail: match &result {
                Ok(i) => format!("{name}: {} — {}", i.doc.category.label(), i.doc.name),
                Err(e) => format!("{name}: {e}"),
            },
        },
    );
    if !recorded && result.is_ok() {
        return Err(unrecorded());
    }
    result
}

/// The base address of the portal, for links printed on copies.
pub fn base_url(ctx: &Ctx) -> String {
    match &ctx.hub.config.portal_url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => format!("http://{}", ctx.hub.config.http_listen),
    }
}
