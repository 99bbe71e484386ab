//! Operations pages: `/metrics` (Prometheus) and `/sante`, the network's
//! health at a glance for the hub administrator. Both are served to the
//! hub machine itself (not through a proxy) and to `metrics_allow`.

use std::{collections::BTreeMap, fmt::Write as _, net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderMap, StatusCode},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};

use super::{
    layout::{date, esc, page},
    partner::client_ip,
};
use crate::state::Ctx;

/// Whether a request may read operations pages.
pub fn allowed(ctx: &Ctx, peer: std::net::IpAddr, headers: &HeaderMap) -> bool {
    let forwarded =
        headers.contains_key("x-forwarded-for") || headers.contains_key(header::FORWARDED);
    let ip = client_ip(ctx, peer, headers);
    ctx.hub.config.metrics_allow.contains(&ip) || (ip.is_loopback() && !forwarded)
}

fn refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        "forbidden: add this address to metrics_allow in hub.toml\n",
    )
        .into_response()
}

/// GET `/metrics`.
pub async fn metrics(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if !allowed(&ctx, peer.ip(), &headers) {
        return refused();
    }
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
    let coverage: Vec<passerelle_hub_core::metrics::Coverage> = ctx
        .catalog()
        .iter()
        .filter_map(|ind| {
            let r = ctx.latest(&ind.id)?;
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
    passerelle_hub_core::metrics::render(&ctx.hub.store, &ctx.registry, &coverage)
}

/// GET `/sante`: every node, its link, version, certificate and the
/// freshness of each dataset it contributed.
pub async fn health(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if !allowed(&ctx, peer.ip(), &headers) {
        return refused();
    }
    let now = passerelle_link::now();
    // Newest data each node contributed, per dataset, from the latest results.
    let mut fresh: BTreeMap<(String, String), u64> = BTreeMap::new();
    for ind in ctx.catalog() {
        if let Some(r) = ctx.latest(&ind.id) {
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
    let live = ctx.registry.connected();
    let mut body = String::from("<h1>Santé du réseau</h1><table><thead><tr><th scope=\"col\">Partenaire</th><th scope=\"col\">Lien</th><th scope=\"col\">Dernier contact</th><th scope=\"col\">Version</th><th scope=\"col\">Certificat</th><th scope=\"col\">Données (fraîcheur)</th><th scope=\"col\">Journal d'accès</th></tr></thead><tbody>");
    let mut problems = 0;
    for n in ctx.hub.store.nodes().unwrap_or_default() {
        if n.revoked_at.is_some() {
            continue;
        }
        let connected = live.contains(&n.node_id);
        let left = n.cert_not_after.saturating_sub(now) / 86400;
        let cert = if n.cert_not_after <= now {
            "<strong>expiré</strong>".to_string()
        } else if left < 14 {
            format!("<strong>expire dans {left} jour(s)</strong>")
        } else {
            format!("valable {left} jour(s)")
        };
        let anchor = ctx.hub.store.audit_anchor(&n.node_id).ok().flatten();
        let journal = match &anchor {
            Some(a) => match &a.broken {
                Some((at, why)) => format!(
                    "<strong>altéré</strong> (constaté le {} : {})",
                    date(*at),
                    esc(why)
                ),
                None => format!("{} enregistrement(s), vu le {}", a.records, date(a.seen_at)),
            },
            None => "pas encore vu".into(),
        };
        if !connected || left < 14 || anchor.as_ref().is_some_and(|a| a.broken.is_some()) {
            problems += 1;
        }
        let data: Vec<String> = n
            .datasets
            .iter()
            .map(|d| match fresh.get(&(n.node_id.to_string(), d.clone())) {
                Some(t) => format!("{} (importé le {})", esc(d), date(*t)),
                None => format!("{} (pas encore utilisé)", esc(d)),
            })
            .collect();
        let _ = write!(
            body,
            "<tr><td>{}<br><span class=\"note\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{cert}</td><td>{}</td><td>{journal}</td></tr>",
            esc(&n.name),
            esc(n.node_id.as_str()),
            if connected { "connecté" } else { "<strong>déconnecté</strong>" },
            n.last_seen.map(date).unwrap_or_else(|| "jamais".into()),
            esc(n.version.as_deref().unwrap_or("—")),
            if data.is_empty() { "—".to_string() } else { data.join("<br>") }
        );
    }
    body.push_str("</tbody></table>");
    let verdict = if problems == 0 {
        "<p class=\"ok\" role=\"status\">Tous les partenaires sont connectés et leurs certificats sont valables.</p>".to_string()
    } else {
        format!("<p class=\"demo\" role=\"alert\">{problems} partenaire(s) demandent votre attention.</p>")
    };
    let html = page(&ctx, "Santé du réseau", maud::PreEscaped((format!("{verdict}{body}<p class=\"note\">Métriques Prometheus : <a href=\"/metrics\">/metrics</a>.</p>")).to_string()));
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

/// Counts every portal response by area and status class.
pub async fn track(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let res = next.run(req).await;
    passerelle_hub_core::metrics::global().portal(&path, res.status().as_u16());
    res
}
