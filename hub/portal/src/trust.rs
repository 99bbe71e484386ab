//! The network's health of trust, public: the fingerprint of the CA that
//! certifies every institution (to compare with an enrollment token or a
//! provenance bundle), the institutions enrolled with their certificates'
//! periods, and the head of the hub's audit chain with how many
//! institutions' nodes hold it (each keeps the heads the hub showed it, so
//! a rewritten chain would not go unseen). `/confiance` in French, and
//! `/api/trust` typed for machines.

use std::sync::Arc;

use axum::{extract::State, response::Html, routing::get, Json, Router};
use maud::html;
use passerelle_hub_core::{federation, french};
use passerelle_link::output::rfc3339;
use passerelle_protocol::hex;
use serde::Serialize;

use crate::{layout::page, state::Ctx};

/// `/confiance` and `/api/trust`.
pub fn router() -> Router<Arc<Ctx>> {
    Router::new().route("/confiance", get(trust_page)).route(
        "/api/trust",
        get(|State(ctx): State<Arc<Ctx>>| async move { Json(facts(&ctx)) }),
    )
}

/// What the page shows.
#[derive(Debug, Serialize)]
pub struct Trust {
    /// SHA-256 of each CA certificate the network trusts (hex), the one
    /// that issues first.
    pub ca_fingerprints: Vec<String>,
    /// Institutions enrolled and not revoked.
    pub institutions: Vec<Institution>,
    /// The hub's audit chain.
    pub hub_chain: Chain,
}

/// An enrolled institution.
#[derive(Debug, Serialize)]
pub struct Institution {
    /// Node id.
    pub node_id: String,
    /// Name.
    pub name: String,
    /// Its certificate's start (RFC 3339), when known.
    pub certificate_from: Option<String>,
    /// Its certificate's end (RFC 3339).
    pub certificate_until: String,
    /// Records of the hub chain's head its node keeps, if any.
    pub keeps_hub_head: Option<u64>,
}

/// The head of the hub's audit chain and who holds it.
#[derive(Debug, Serialize)]
pub struct Chain {
    /// Records.
    pub records: u64,
    /// Hash of the last (hex).
    pub hash: String,
    /// Institutions whose node keeps this very head.
    pub held_by: usize,
    /// Institutions whose node keeps an earlier head.
    pub behind: usize,
}

/// A fingerprint as the page shows it: hex in groups of four.
fn grouped(hex: &str) -> String {
    hex.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// One institution as the store knows it, before formatting: read once
/// for both the JSON and the page.
struct Enrolled {
    name: String,
    node_id: String,
    issued_at: Option<u64>,
    not_after: u64,
}

/// The enrolled, unrevoked institutions, by name.
fn enrolled(ctx: &Ctx) -> Vec<Enrolled> {
    let store = &ctx.hub.store;
    let mut all: Vec<Enrolled> = store
        .nodes()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.revoked_at.is_none())
        .map(|n| Enrolled {
            issued_at: store.serial(&n.serial).ok().flatten().map(|s| s.issued_at),
            not_after: n.cert_not_after,
            node_id: n.node_id.to_string(),
            name: n.name,
        })
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    all
}

/// Gathers the facts (from the store; nothing a node says about itself).
pub fn facts(ctx: &Ctx) -> Trust {
    facts_of(ctx, &enrolled(ctx))
}

fn facts_of(ctx: &Ctx, enrolled: &[Enrolled]) -> Trust {
    let store = &ctx.hub.store;
    let kept: std::collections::HashMap<String, u64> = federation::hub_heads_kept(store)
        .unwrap_or_default()
        .into_iter()
        .map(|(id, h)| (id, h.records))
        .collect();
    let head = federation::hub_head(store, None).ok();
    let institutions: Vec<Institution> = enrolled
        .iter()
        .map(|n| Institution {
            certificate_from: n.issued_at.map(rfc3339),
            certificate_until: rfc3339(n.not_after),
            keeps_hub_head: kept.get(n.node_id.as_str()).copied(),
            node_id: n.node_id.clone(),
            name: n.name.clone(),
        })
        .collect();
    let records = head.as_ref().map_or(0, |h| h.records);
    let held_by = institutions
        .iter()
        .filter(|i| i.keeps_hub_head == Some(records))
        .count();
    let behind = institutions
        .iter()
        .filter(|i| i.keeps_hub_head.is_some_and(|k| k < records))
        .count();
    Trust {
        // As the verifier prints them and the sheets show them.
        ca_fingerprints: crate::proof::ca_fingerprints(ctx),
        institutions,
        hub_chain: Chain {
            records,
            hash: head.map_or_else(String::new, |h| hex::encode(&h.hash)),
            held_by,
            behind,
        },
    }
}

async fn trust_page(State(ctx): State<Arc<Ctx>>) -> Html<String> {
    let enrolled = enrolled(&ctx);
    let t = facts_of(&ctx, &enrolled);
    // The same institutions, with their certificates' periods in French.
    let periods: Vec<(&str, String, String)> = enrolled
        .iter()
        .map(|n| {
            let from = n.issued_at.map_or_else(|| "—".to_string(), french::date);
            (n.name.as_str(), from, french::date(n.not_after))
        })
        .collect();
    let body = html! {
        h1 { "La confiance dans le réseau" }
        p {
            "Chaque institution partenaire est reconnue par un certificat délivré par l'autorité du réseau. "
            "Ses réponses sont signées : on peut vérifier d'où vient chaque chiffre."
        }
        h2 { "Empreinte de l'autorité du réseau" }
        p { "Comparez-la avec celle d'une preuve téléchargée ou d'un jeton d'inscription : elles doivent être identiques." }
        @for (i, f) in t.ca_fingerprints.iter().enumerate() {
            p {
                @if i > 0 { "Autorité précédente, encore reconnue : " }
                code.empreinte { (f) }
            }
        }
        h2 { "Institutions inscrites" }
        @if t.institutions.is_empty() {
            p { "Aucune institution n'est inscrite pour l'instant." }
        } @else {
            table {
                thead { tr { th { "Institution" } th { "Certificat valable du" } th { "au" } } }
                tbody {
                    @for (name, from, until) in &periods {
                        tr { td { (name) } td { (from) } td { (until) } }
                    }
                }
            }
        }
        h2 { "Le journal des accès du coffre-fort" }
        p {
            "Chaque consultation d'un document est inscrite dans un journal que personne ne peut modifier sans que cela se voie. "
            "Le journal compte " strong { (t.hub_chain.records) " inscription(s)" } "."
        }
        p {
            "Les serveurs de " strong { (t.hub_chain.held_by) " institution(s)" }
            " gardent la dernière version de ce journal : si on le modifiait, elles le verraient."
            @if t.hub_chain.behind > 0 {
                " " (t.hub_chain.behind) " autre(s) en gardent une version plus ancienne, qui doit toujours y figurer."
            }
        }
        p { "Empreinte de la dernière inscription : " code.empreinte { (grouped(&t.hub_chain.hash)) } }
        p { "Ces informations existent aussi pour les machines : " a href="/api/trust" { "/api/trust" } " (JSON)." }
    };
    Html(page(&ctx, "La confiance dans le réseau", body))
}
