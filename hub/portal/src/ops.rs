//! Operations pages: `/metrics` (Prometheus) and `/sante`, the network's
//! health at a glance for the hub administrator: links, certificates (as
//! the certificates say), what each node reports about itself (labelled
//! so), datasets claimed and not approved, and alerts about node
//! identities (connections fighting over one node id, older certificates
//! cut off while in use). Both are served to the hub machine itself and
//! to `metrics_allow`, judged by the socket's peer address; behind the
//! `trusted_proxy`, by the address that proxy appended to
//! `X-Forwarded-For`, and never when it appended none.

use std::{collections::BTreeMap, net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderMap, StatusCode},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};
use maud::{html, Markup};
use passerelle_hub_core::{
    contest::Contest,
    providers::{Approvals, Decision, ProviderRow},
    store::{AuditAnchor, NodeRecord},
};

use super::{
    layout::{column_heads, date, page},
    partner::forwarded_for,
};
use crate::state::Ctx;

/// Liveness, metrics and the network health page.
pub fn router() -> axum::Router<Arc<Ctx>> {
    use axum::routing::get;
    axum::Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/sante", get(health))
}

/// Whether a request from the socket peer `peer` may read operations
/// pages: its client is the hub machine (loopback) or in `metrics_allow`.
///
/// The client is `peer` itself, except when `peer` is the
/// `trusted_proxy`: then it is the address the proxy appended to
/// `X-Forwarded-For`, and a request without one is refused (its client is
/// unknown). From any other peer a forwarding header means a proxy that
/// was not declared, whose client is unknown too: refused.
pub fn allowed(ctx: &Ctx, peer: std::net::IpAddr, headers: &HeaderMap) -> bool {
    let config = &ctx.hub.config;
    let client = if config.trusted_proxy == Some(peer) {
        match forwarded_for(headers) {
            Some(ip) => ip,
            None => return false,
        }
    } else if headers.contains_key("x-forwarded-for") || headers.contains_key(header::FORWARDED) {
        return false;
    } else {
        peer
    };
    config.metrics_allow.contains(&client) || client.is_loopback()
}

/// The guard of the operations pages ([`allowed`]). Refused with
/// [`PortalError::OpsForbidden`].
pub struct Operator;

impl axum::extract::FromRequestParts<Arc<Ctx>> for Operator {
    type Rejection = crate::PortalError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        ctx: &Arc<Ctx>,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or(crate::PortalError::OpsForbidden)?;
        if allowed(ctx, peer, &parts.headers) {
            Ok(Self)
        } else {
            Err(crate::PortalError::OpsForbidden)
        }
    }
}

/// GET `/metrics`.
pub async fn metrics(State(ctx): State<Arc<Ctx>>, _: Operator) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render_metrics(&ctx),
    )
        .into_response()
}

/// The exposition text: the core's counters and gauges, with each
/// indicator's coverage at its last refresh.
fn render_metrics(ctx: &Ctx) -> String {
    // The operator's view: every indicator, partner-only ones included.
    let coverage: Vec<passerelle_hub_core::metrics::Coverage> = ctx
        .observatory
        .catalog
        .iter()
        .filter_map(|ind| {
            let r = ctx.observatory.latest(&ind.id)?;
            let (a, f) = (r.coverage.answered.len(), r.coverage.failed.len());
            Some(passerelle_hub_core::metrics::Coverage {
                indicator: ind.id.clone(),
                ratio: if a + f == 0 {
                    0.0
                } else {
                    a as f64 / (a + f) as f64
                },
                computed_at: r.computed_at,
            })
        })
        .collect();
    if let Ok(d) = passerelle_vault::debris::scan(
        &ctx.hub.dir.vault(),
        &ctx.vault.store,
        std::time::Duration::ZERO,
    ) {
        passerelle_hub_core::metrics::global().debris_present(d.count());
    }
    passerelle_hub_core::metrics::render(&ctx.hub.store, &ctx.registry, &coverage)
}

/// GET `/healthz`: 200 `ok` while storage works, 503 `degraded: REASON`
/// while writes fail (a full or failing disk); for probes, so open to all
/// and without detail beyond the reason.
pub async fn healthz(State(ctx): State<Arc<Ctx>>) -> Response {
    match ctx.hub.store.health().degraded() {
        None => "ok".into_response(),
        Some(d) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("degraded: {}", d.reason),
        )
            .into_response(),
    }
}

/// GET `/sante`: every node, its link, version, certificate and the
/// freshness of each dataset it contributed.
pub async fn health(State(ctx): State<Arc<Ctx>>, _: Operator) -> Response {
    let now = passerelle_link::now();
    let fresh = freshness(&ctx);
    let live = ctx.registry.connected();
    let approvals = passerelle_hub_core::providers::approvals(&ctx.hub.store).unwrap_or_default();
    let pending = passerelle_hub_core::providers::pending(&ctx.hub.store).unwrap_or_default();
    let rows: Vec<NodeHealth> = ctx
        .hub
        .store
        .nodes()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.revoked_at.is_none())
        .map(|n| NodeHealth {
            connected: live.contains(&n.node_id),
            anchor: ctx.hub.store.audit_anchor(&n.node_id).ok().flatten(),
            days_left: n.cert_not_after.saturating_sub(now) / 86400,
            expired: n.cert_not_after <= now,
            issuer: ctx.hub.store.serial_issuer(&n.serial).ok().flatten(),
            contest: ctx.registry.contest(&n.node_id),
            pending: pending
                .iter()
                .filter(|p| p.node_id == n.node_id.as_str())
                .count(),
            node: n,
        })
        .collect();
    let problems = rows.iter().filter(|r| r.needs_attention()).count();
    let body = html! {
        @if problems == 0 {
            p.ok role="status" { "Tous les partenaires sont connectés et leurs certificats sont valables." }
        } @else {
            p.demo role="alert" { (problems) " partenaire(s) demandent votre attention." }
        }
        h1 { "Santé du réseau" }
        (alerts(&rows, &pending))
        table {
            (column_heads(&[
                "Partenaire",
                "Lien",
                "Dernier contact",
                "Version (déclarée par le partenaire)",
                "Certificat (d'après le certificat)",
                "Données déclarées par le partenaire (fraîcheur)",
                "Journal d'accès",
            ]))
            tbody { @for r in &rows { (r.render(&fresh, &approvals)) } }
        }
        p.note { "La version et les jeux de données sont ceux que le partenaire déclare ; "
            "seuls les jeux de données que vous avez autorisés (passerelle-hub datasets allow) "
            "entrent dans les indicateurs. L'identifiant, la validité et l'autorité de "
            "certification viennent du certificat." }
        (senders_note(&ctx))
        p.note { "Métriques Prometheus : " a href="/metrics" { "/metrics" } "." }
    };
    let html = page(&ctx, "Santé du réseau", body);
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// Who sends codes and notices to people (`[mail]`, `[sms]`), or that
/// nobody does.
fn senders_note(ctx: &Ctx) -> Markup {
    let (mail, sms) = ctx.senders.describe();
    html! {
        h2 { "Envoi des codes et des avis aux personnes" }
        @if mail.is_none() && sms.is_none() {
            p.demo role="alert" #envois {
                "Aucun envoi n'est configuré ([mail] et [sms] dans hub.toml) : "
                @if ctx.senders.show {
                    "les codes sont affichés à l'écran et dans le journal du hub (démonstration seulement)."
                } @else {
                    "personne ne peut créer son compte en ligne ; seuls les guichets le peuvent."
                }
            }
        } @else {
            ul #envois {
                li { "E-mail : " (mail.as_deref().unwrap_or("non configuré")) }
                li { "SMS : " (sms.as_deref().unwrap_or("non configuré")) }
            }
        }
    }
}

/// Newest data each node contributed, per (node, dataset), from the
/// latest results.
fn freshness(ctx: &Ctx) -> BTreeMap<(String, String), u64> {
    let mut fresh: BTreeMap<(String, String), u64> = BTreeMap::new();
    for ind in &ctx.observatory.catalog {
        if let Some(r) = ctx.observatory.latest(&ind.id) {
            for a in &r.coverage.answered {
                if let Some(t) = a.data_as_of {
                    let e = fresh
                        .entry((a.node_id.clone(), a.dataset.clone()))
                        .or_default();
                    *e = (*e).max(t);
                }
            }
        }
    }
    fresh
}

/// The alerts above the table: datasets claimed and not approved, and
/// node identities in dispute.
fn alerts(rows: &[NodeHealth], pending: &[ProviderRow]) -> Markup {
    html! {
        @if !pending.is_empty() {
            h2 { "Jeux de données en attente de votre approbation" }
            p { "Ces partenaires déclarent fournir un jeu de données que vous n'avez pas "
                "encore autorisé : ils ne sont pas interrogés pour lui, et leurs chiffres "
                "n'entrent dans aucun indicateur." }
            ul {
                @for p in pending {
                    li {
                        (p.name) " (" (p.node_id) ") déclare " strong { (p.dataset) }
                        @if let Some(t) = p.first_claimed { " depuis le " (date(t)) }
                        " — pour l'autoriser : " code { "passerelle-hub datasets allow --node-id "
                            (p.node_id) " --dataset " (p.dataset) }
                    }
                }
            }
        }
        @for r in rows.iter().filter(|r| r.contest.as_ref().is_some_and(Contest::alarming)) {
            @if let Some(c) = &r.contest {
                p.demo role="alert" {
                    strong { (r.node.name) } " (" (r.node.node_id.as_str()) ") : "
                    @if c.total_fights > 0 {
                        (c.total_fights) " connexion(s) concurrente(s) pour cet identifiant"
                        @if let Some(t) = c.last_fight { ", la dernière le " (date(t)) }
                        @if c.held_off > 0 { " ; " (c.held_off) " reconnexion(s) retenue(s)" }
                        ". "
                    }
                    @if c.certs_cut > 0 {
                        "Un ancien certificat encore en usage a été coupé " (c.certs_cut) " fois"
                        @if let Some(t) = c.last_cert_cut { ", la dernière le " (date(t)) }
                        ". "
                    }
                    "Sa clé est peut-être entre d'autres mains : révoquez-le "
                    code { "passerelle-hub revoke --node-id " (r.node.node_id.as_str()) }
                    " puis inscrivez-le à nouveau."
                }
            }
        }
    }
}

/// One enrolled node's state on the health page.
struct NodeHealth {
    node: NodeRecord,
    connected: bool,
    anchor: Option<AuditAnchor>,
    days_left: u64,
    expired: bool,
    /// SHA-256 of the CA that issued its current certificate.
    issuer: Option<[u8; 32]>,
    contest: Option<Contest>,
    /// Its claims not decided yet.
    pending: usize,
}

impl NodeHealth {
    /// Disconnected, a certificate near its end, a broken access log,
    /// datasets waiting for approval, or its identity in dispute.
    fn needs_attention(&self) -> bool {
        !self.connected
            || self.days_left < 14
            || self.anchor.as_ref().is_some_and(|a| a.broken.is_some())
            || self.pending > 0
            || self.contest.as_ref().is_some_and(Contest::alarming)
    }

    fn render(&self, fresh: &BTreeMap<(String, String), u64>, approvals: &Approvals) -> Markup {
        let n = &self.node;
        let left = self.days_left;
        html! {
            tr {
                td { (n.name) br; span.note { (n.node_id.as_str()) } }
                td { @if self.connected { "connecté" } @else { strong { "déconnecté" } } }
                td { (n.last_seen.map(date).unwrap_or_else(|| "jamais".into())) }
                td { (n.version.as_deref().unwrap_or("—")) }
                td {
                    @if self.expired { strong { "expiré" } }
                    @else if left < 14 { strong { "expire dans " (left) " jour(s)" } }
                    @else { "valable " (left) " jour(s)" }
                    @if let Some(fp) = &self.issuer {
                        br; span.note { "AC émettrice " (passerelle_protocol::hex::encode(&fp[..6])) }
                    }
                }
                td {
                    @for (i, d) in n.datasets.iter().enumerate() {
                        @if i > 0 { br; }
                        (d) " "
                        @match approvals.decision(&n.node_id, d) {
                            Some(Decision::Allowed) => {
                                @match fresh.get(&(n.node_id.to_string(), d.clone())) {
                                    Some(t) => { "(importé le " (date(*t)) ")" }
                                    None => "(pas encore utilisé)",
                                }
                            }
                            Some(Decision::Denied) => "(refusé : non interrogé)",
                            None => strong { "(en attente de votre approbation : non interrogé)" },
                        }
                    }
                    @if n.datasets.is_empty() { "—" }
                }
                td { (self.journal()) }
            }
        }
    }

    /// The state of the node's access log as last seen by the hub.
    fn journal(&self) -> Markup {
        html! {
            @match &self.anchor {
                Some(a) => {
                    @match &a.broken {
                        Some((at, why)) => {
                            strong { "altéré" } " (constaté le " (date(*at)) " : " (why) ")"
                        }
                        None => { (a.records) " enregistrement(s), vu le " (date(a.seen_at)) }
                    }
                }
                None => "pas encore vu",
            }
        }
    }
}

/// Counts every portal response by area and status class.
pub async fn track(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let res = next.run(req).await;
    passerelle_hub_core::metrics::global().portal(&path, res.status().as_u16());
    res
}
