//! The partner professionals' side of the portal: sign-in, the network's
//! coverage and freshness, the institution's own contributions, and the
//! printable quarterly activity report.
//!
//! Every partner page needs a session; every form carries a CSRF token
//! (the session's, or for sign-in a double-submit token in a cookie) and is
//! refused without it; failed sign-ins are limited per address.

use std::{collections::HashMap, fmt::Write as _, net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, Form, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
};
use passerelle_link::now;
use passerelle_protocol::{
    geo::{self, Level},
    period::Period,
};
use serde::Deserialize;

use super::layout::{date, esc, number, page};
use passerelle_hub_core::partners::Session;
use passerelle_observatory::compose::Status;

use crate::state::Ctx;

const SESSION: &str = "pl_session";
const LOGIN: &str = "pl_login";

pub(super) fn cookies(headers: &HeaderMap) -> HashMap<String, String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(super) fn session(ctx: &Ctx, headers: &HeaderMap) -> Option<(String, Session)> {
    let token = cookies(headers).remove(SESSION)?;
    let s = ctx.sessions.get(&token, now())?;
    // An account removed, or of a revoked institution, has no session left.
    match ctx.hub.store.account(&s.email).ok().flatten() {
        Some(a) if institution_active(ctx, &a) => Some((token, s)),
        _ => {
            ctx.sessions.close(&token);
            None
        }
    }
}

/// Whether the account's institution is enrolled and not revoked.
fn institution_active(ctx: &Ctx, a: &passerelle_hub_core::partners::Account) -> bool {
    ctx.hub
        .store
        .node(&a.institution)
        .ok()
        .flatten()
        .is_some_and(|n| n.revoked_at.is_none())
}

/// The client's address: the peer, or behind the configured reverse proxy
/// the last address that proxy appended to `X-Forwarded-For`.
pub(super) fn client_ip(
    ctx: &Ctx,
    peer: std::net::IpAddr,
    headers: &HeaderMap,
) -> std::net::IpAddr {
    if ctx.hub.config.trusted_proxy != Some(peer) {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .next_back()
        .and_then(|ip| ip.trim().parse().ok())
        .unwrap_or(peer)
}

/// The rate-limit key of a client: its IPv4 address, or its IPv6 /64
/// (one subscriber usually holds a whole /64).
pub(super) fn client_key(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip {
        std::net::IpAddr::V6(v6) => {
            let mut o = v6.octets();
            o[8..].fill(0);
            std::net::IpAddr::V6(o.into())
        }
        v4 => v4,
    }
}

pub(super) fn private(status: StatusCode, html: String) -> Response {
    (
        status,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Html(html),
    )
        .into_response()
}

pub(super) fn to_login() -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, "/partenaires/connexion")],
    )
        .into_response()
}

pub(super) fn forbidden(ctx: &Ctx) -> Response {
    private(
        StatusCode::FORBIDDEN,
        page(ctx, "Formulaire refusé", maud::PreEscaped(("<h1>Formulaire refusé</h1><p>Ce formulaire a expiré ou ne vient pas de ce site. <a href=\"/partenaires\">Recommencer</a>.</p>").to_string())),
    )
}

fn login_form(ctx: &Ctx, message: Option<&str>) -> (String, String) {
    let token = passerelle_protocol::hex::encode(&passerelle_link::random16());
    let msg = message
        .map(|m| format!("<p class=\"demo\" role=\"alert\">{}</p>", esc(m)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Espace des partenaires</h1>{msg}<form method=\"post\" action=\"/partenaires/connexion\">\
<input type=\"hidden\" name=\"csrf\" value=\"{token}\">\
<p><label for=\"email\">Adresse e-mail</label><br><input id=\"email\" name=\"email\" type=\"email\" autocomplete=\"username\" required></p>\
<p><label for=\"password\">Mot de passe</label><br><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required></p>\
<p><button type=\"submit\">Se connecter</button></p></form>\
<p class=\"note\">Les comptes sont créés par l'administrateur de la plateforme, sur demande de votre institution.</p>"
    );
    (
        page(
            ctx,
            "Connexion des partenaires",
            maud::PreEscaped(body.to_string()),
        ),
        token,
    )
}

fn with_login_cookie(status: StatusCode, html: String, token: &str) -> Response {
    let cookie = format!(
        "{LOGIN}={token}; HttpOnly; Secure; SameSite=Strict; Path=/partenaires; Max-Age=1800"
    );
    let mut res = private(status, html);
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// GET the sign-in form.
pub async fn login_page(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Response {
    if session(&ctx, &headers).is_some() {
        return (StatusCode::SEE_OTHER, [(header::LOCATION, "/partenaires")]).into_response();
    }
    let (html, token) = login_form(&ctx, None);
    with_login_cookie(StatusCode::OK, html, &token)
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    #[serde(default)]
    csrf: String,
}

/// POST the sign-in form.
pub async fn login(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let expected = cookies(&headers).remove(LOGIN).unwrap_or_default();
    if f.csrf.is_empty()
        || !passerelle_protocol::sign::constant_time_eq(expected.as_bytes(), f.csrf.as_bytes())
    {
        return forbidden(&ctx);
    }
    let t = now();
    // Every attempt counts, before any work: a burst cannot outrun the limit.
    let client = client_ip(&ctx, peer.ip(), &headers);
    if !ctx.login_limiter.handle_attempt(client_key(client), t) {
        let (html, token) = login_form(
            &ctx,
            Some("Trop de tentatives. Attendez une minute avant de réessayer."),
        );
        return with_login_cookie(StatusCode::TOO_MANY_REQUESTS, html, &token);
    }
    // Password hashing is costly by design: at most two at a time.
    let Ok(_permit) = ctx.password_checks.try_acquire() else {
        let (html, token) = login_form(
            &ctx,
            Some("Le service est très sollicité. Réessayez dans un instant."),
        );
        return with_login_cookie(StatusCode::SERVICE_UNAVAILABLE, html, &token);
    };
    let email = f.email.trim().to_lowercase();
    let account = ctx
        .hub
        .store
        .account(&email)
        .ok()
        .flatten()
        .filter(|a| institution_active(&ctx, a));
    let hash = account.as_ref().map(|a| a.password_hash.clone());
    let password = f.password;
    // Verify even for unknown accounts, so timing does not tell which exist.
    let ok = tokio::task::spawn_blocking(move || {
        let checked = hash
            .as_deref()
            .unwrap_or(passerelle_hub_core::partners::dummy_hash());
        passerelle_hub_core::partners::verify_password(&password, checked) && hash.is_some()
    })
    .await
    .unwrap_or(false);
    if !ok {
        tracing::warn!(ip = %client, "partner sign-in failed");
        let (html, token) = login_form(&ctx, Some("Adresse ou mot de passe incorrect."));
        return with_login_cookie(StatusCode::UNAUTHORIZED, html, &token);
    }
    let ttl = ctx.hub.config.session_ttl.as_secs();
    let (token, _) = ctx.sessions.open(&email, t, ttl);
    tracing::info!(account = %email, "partner signed in");
    let cookie =
        format!("{SESSION}={token}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={ttl}");
    let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, "/partenaires")]).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// The sign-out form's field.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// POST sign-out.
pub async fn logout(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    let Some((token, s)) = session(&ctx, &headers) else {
        return to_login();
    };
    if !passerelle_protocol::sign::constant_time_eq(s.csrf.as_bytes(), f.csrf.as_bytes()) {
        return forbidden(&ctx);
    }
    ctx.sessions.close(&token);
    let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "pl_session=; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age=0",
        ),
    );
    res
}

/// GET the partners' home.
pub async fn home(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_login();
    };
    let Some(account) = ctx.hub.store.account(&s.email).ok().flatten() else {
        return to_login();
    };
    let nodes = ctx.hub.store.nodes().unwrap_or_default();
    let live = ctx.registry.connected();
    let institution = nodes
        .iter()
        .find(|n| n.node_id == account.institution)
        .map(|n| n.name.clone())
        .unwrap_or_default();
    let mut body = format!(
        "<h1>Espace des partenaires</h1><p>Bonjour {} ({}).</p>\
<form method=\"post\" action=\"/partenaires/deconnexion\"><input type=\"hidden\" name=\"csrf\" value=\"{}\"><button type=\"submit\">Se déconnecter</button></form>\
<p><a href=\"/partenaires/coffre\">Coffre-fort : documents partagés avec vous, aide à la création de compte</a></p>\
<h2>Le réseau</h2><table><thead><tr><th scope=\"col\">Partenaire</th><th scope=\"col\">Connecté</th><th scope=\"col\">Dernier contact</th>\
<th scope=\"col\">Jeux de données</th><th scope=\"col\">Certificat valable jusqu'au</th></tr></thead><tbody>",
        esc(&account.name),
        esc(&institution),
        s.csrf
    );
    for n in nodes.iter().filter(|n| n.revoked_at.is_none()) {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&n.name),
            if live.contains(&n.node_id) {
                "oui"
            } else {
                "non"
            },
            n.last_seen.map(date).unwrap_or_else(|| "jamais".into()),
            esc(&n.datasets.join(", ")),
            date(n.cert_not_after)
        );
    }
    body.push_str("</tbody></table><h2>Les contributions de votre institution</h2><table><thead><tr><th scope=\"col\">Indicateur</th><th scope=\"col\">Jeu de données</th><th scope=\"col\">Données du</th><th scope=\"col\">Calculé le</th></tr></thead><tbody>");
    let mut any = false;
    for ind in ctx.catalog() {
        let Some(r) = ctx.latest(&ind.id) else {
            continue;
        };
        for a in r
            .coverage
            .answered
            .iter()
            .filter(|a| a.node_id == account.institution.as_str())
        {
            any = true;
            let _ = write!(
                body,
                "<tr><td><a href=\"/indicateur/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&ind.id),
                esc(&ind.title),
                esc(&a.dataset),
                a.data_as_of.map(date).unwrap_or_else(|| "—".into()),
                date(r.computed_at)
            );
        }
    }
    if !any {
        body.push_str("<tr><td colspan=\"4\">Aucune contribution pour l'instant.</td></tr>");
    }
    body.push_str("</tbody></table><h2>Bilans d'activité trimestriels</h2><ul>");
    for (code, name) in std::iter::once((geo::DEPARTMENT_CODE, geo::DEPARTMENT_NAME))
        .chain(geo::EPCIS.iter().map(|e| (e.siren, e.name)))
    {
        let _ = write!(
            body,
            "<li><a href=\"/partenaires/rapport?territoire={code}\">{}</a></li>",
            esc(name)
        );
    }
    body.push_str("</ul><h2>Centre de ressources</h2><p><a href=\"/partenaires/ressources\">Publier une étude ou un rapport (PDF)</a></p>");
    private(
        StatusCode::OK,
        page(
            &ctx,
            "Espace des partenaires",
            maud::PreEscaped(body.to_string()),
        ),
    )
}

/// The report's query.
#[derive(Debug, Deserialize)]
pub struct ReportParams {
    territoire: Option<String>,
    periode: Option<String>,
    /// Node id of the programme's institution; `tous` for every programme.
    programme: Option<String>,
}

/// GET a printable quarterly activity report for a territory.
pub async fn report(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    Query(q): Query<ReportParams>,
) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_login();
    };
    let own = ctx
        .hub
        .store
        .account(&s.email)
        .ok()
        .flatten()
        .map(|a| a.institution.to_string())
        .unwrap_or_default();
    let programme = q.programme.clone().unwrap_or(own);
    let code = q.territoire.unwrap_or_else(|| geo::DEPARTMENT_CODE.into());
    let level = if code == geo::DEPARTMENT_CODE {
        Level::Department
    } else if geo::epci_index(&code).is_some() {
        Level::Epci
    } else if geo::commune_index(&code).is_some() {
        Level::Commune
    } else {
        return private(
            StatusCode::NOT_FOUND,
            page(
                &ctx,
                "Territoire inconnu",
                maud::PreEscaped(("<h1>Territoire inconnu</h1>").to_string()),
            ),
        );
    };
    let name = geo::name(level, &code).unwrap_or_default();
    // The programme's activity indicators: those its institution contributes to.
    let (activity, results): (Vec<_>, Vec<_>) = ctx
        .catalog()
        .iter()
        .filter(|i| i.theme == "activite")
        .map(|i| (i, ctx.latest(&i.id)))
        .filter(|(_, r)| {
            programme == "tous"
                || r.as_ref()
                    .is_some_and(|r| r.coverage.answered.iter().any(|a| a.node_id == programme))
        })
        .unzip();
    let programme_name = if programme == "tous" {
        "tous les programmes".to_string()
    } else {
        let nodes = ctx.hub.store.nodes().unwrap_or_default();
        nodes
            .into_iter()
            .find(|n| n.node_id.as_str() == programme)
            .map(|n| n.name)
            .unwrap_or_else(|| programme.clone())
    };
    let mut periods: Vec<Period> = results
        .iter()
        .flatten()
        .flat_map(|r| r.cells.iter().map(|c| c.period))
        .collect();
    periods.sort();
    periods.dedup();
    let Some(period) = q
        .periode
        .and_then(|p| p.parse().ok())
        .filter(|p| periods.contains(p))
        .or_else(|| periods.last().copied())
    else {
        return private(StatusCode::OK, page(&ctx, "Bilan d'activité", maud::PreEscaped(("<h1>Bilan d'activité</h1><p>Aucun indicateur d'activité n'a encore été calculé.</p>").to_string())));
    };
    let previous = periods.iter().rev().find(|p| **p < period).copied();
    let mut body = format!(
        "<h1>Bilan d'activité — {} — {period}</h1><p><strong>Programme :</strong> {} — les indicateurs d'activité auxquels il contribue ; \
les chiffres sont les totaux de tous les partenaires qui y contribuent. \
<a href=\"/partenaires/rapport?territoire={code}&amp;programme=tous\">Voir tous les programmes</a></p><p class=\"note\">Établi le {} à partir des indicateurs d'activité de l'observatoire. \
Chiffres agrégés ; les chiffres trop petits sont masqués (secret statistique).</p>\
<p><button type=\"button\" id=\"imprimer\">Imprimer ou enregistrer en PDF</button></p>\
<table><thead><tr><th scope=\"col\">Indicateur</th><th scope=\"col\" class=\"n\">{period}</th><th scope=\"col\" class=\"n\">{}</th><th scope=\"col\">Unité</th></tr></thead><tbody>",
        esc(name),
        esc(&programme_name),
        date(now()),
        previous.map(|p| p.to_string()).unwrap_or_else(|| "période précédente".into())
    );
    for (ind, r) in activity.iter().zip(&results) {
        let value = |p: Option<Period>| {
            let c = p.and_then(|p| {
                r.as_ref()?
                    .cells
                    .iter()
                    .find(|c| c.level == level && c.code == code && c.period == p)
                    .cloned()
            });
            match c {
                Some(c) if c.status == Status::Released => {
                    c.value.map(|v| number(v, ind.decimals)).unwrap_or_default()
                }
                Some(c) if c.status == Status::Suppressed => "secret statistique".into(),
                _ => "—".into(),
            }
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&ind.title),
            value(Some(period)),
            value(previous),
            esc(&ind.unit)
        );
    }
    body.push_str("</tbody></table><script src=\"/static/imprimer.js\"></script>");
    private(
        StatusCode::OK,
        page(&ctx, "Bilan d'activité", maud::PreEscaped(body.to_string())),
    )
}

/// The one script of the portal: the print button. Pages work without it.
pub const PRINT_JS: &str =
    "document.getElementById('imprimer')?.addEventListener('click',()=>window.print());\n";
