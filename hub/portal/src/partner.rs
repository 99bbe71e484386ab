//! The partner professionals' side of the portal: sign-in, the network's
//! coverage and freshness, the refreshes kept as drafts with their
//! coverage ([`drafts`]), the institution's own contributions, and the
//! printable quarterly activity report ([`report`]), and each programme's
//! report against its targets with its written part ([`programme`]).
//!
//! Every partner page needs a session; every form carries a CSRF token
//! (the session's, or for sign-in a double-submit token in a cookie) and is
//! refused without it; failed sign-ins are limited per address. After the
//! password, a sign-in may have steps left ([`steps`]: the second factor's
//! code, a first password to change, an enrolment), and reaches no other
//! page until they are done. Where providers are configured, a partner
//! may also sign in with one ([`oidc`]: ProConnect).

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, Form, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use maud::{html, Markup};
use passerelle_link::now;
use passerelle_protocol::{geo, ids::NodeId};
use serde::Deserialize;

use super::layout::{alert, column_heads, csrf_field, date, page};
use passerelle_hub_core::{
    partners::{Account, Session, Step},
    store::NodeRecord,
};

use crate::state::Ctx;

mod drafts;
mod oidc;
mod programme;
mod report;
mod reserved;
mod steps;

/// The partner pages: sign-in, home, activity report.
pub fn router() -> axum::Router<Arc<Ctx>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/partenaires", get(home))
        .route("/partenaires/connexion", get(login_page).post(login))
        .route("/partenaires/deconnexion", post(logout))
        .route("/partenaires/rapport", get(report))
        .route("/partenaires/indicateurs", get(reserved::list))
        .route("/partenaires/indicateur/{id}", get(reserved::sheet))
        .route("/partenaires/programmes", get(programme::list))
        .route(
            "/partenaires/programme/{id}",
            get(programme::report).post(programme::save),
        )
        .route("/partenaires/code", get(steps::code_page).post(steps::code))
        .route(
            "/partenaires/mot-de-passe",
            get(steps::password_page).post(steps::change_password),
        )
        .route(
            "/partenaires/double-facteur",
            get(steps::enrol_page).post(steps::enrol),
        )
        .route("/partenaires/oidc/connexion/{provider}", get(oidc::start))
        .route("/partenaires/oidc/retour", get(oidc::callback))
}

pub use report::{report, ReportParams};

const SESSION: &str = "pl_session";
const LOGIN: &str = "pl_login";

// Cookies, the client's address and private pages are shared with the
// node's console (`passerelle-web`).
pub(super) use passerelle_web::cookie::{client_key, cookies, forwarded_for, private};

/// The session of a signed-in partner with no step left (an account
/// removed, or of a revoked institution, has no session left).
pub(super) fn session(ctx: &Ctx, headers: &HeaderMap) -> Option<(String, Session)> {
    steps::pending(ctx, headers)
        .filter(|(_, s, _)| s.step == Step::Ready)
        .map(|(token, s, _)| (token, s))
}

/// Whether the account's institution is enrolled and not revoked.
fn institution_active(ctx: &Ctx, a: &Account) -> bool {
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
    passerelle_web::cookie::client_ip(peer, ctx.hub.config.trusted_proxy, headers)
}

pub(super) fn to_login() -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, "/partenaires/connexion")],
    )
        .into_response()
}

pub(super) fn forbidden(_ctx: &Ctx) -> Response {
    crate::PortalError::FormExpired {
        back: "/partenaires",
    }
    .into_response()
}

fn login_form(ctx: &Ctx, message: Option<&str>) -> (String, String) {
    let token = passerelle_web::csrf::token();
    let body = html! {
        h1 { "Espace des partenaires" }
        @if let Some(m) = message { (alert(m)) }
        (oidc::buttons(ctx))
        form method="post" action="/partenaires/connexion" {
            (csrf_field(&token))
            p {
                label for="email" { "Adresse e-mail" } br;
                input #email name="email" type="email" autocomplete="username" required;
            }
            p {
                label for="password" { "Mot de passe" } br;
                input #password name="password" type="password" autocomplete="current-password" required;
            }
            p { button type="submit" { "Se connecter" } }
        }
        p.note { "Les comptes sont créés par l'administrateur de la plateforme, sur demande de votre institution." }
    };
    (page(ctx, "Connexion des partenaires", body), token)
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
    if let Some((_, s, _)) = steps::pending(&ctx, &headers) {
        return steps::redirect(steps::step_path(s.step));
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
    if !ctx
        .account_limiter
        .handle_attempt(format!("partner:{email}"), t)
    {
        tracing::warn!(account = %email, ip = %client, "partner sign-in over the per-account limit");
        let (html, token) = login_form(
            &ctx,
            Some("Trop de tentatives pour ce compte. Attendez une minute avant de réessayer."),
        );
        return with_login_cookie(StatusCode::TOO_MANY_REQUESTS, html, &token);
    }
    let account = ctx
        .hub
        .store
        .account(&email)
        .ok()
        .flatten()
        .filter(|a| institution_active(&ctx, a));
    let hash = account.as_ref().map(|a| a.password_hash.clone());
    let password = f.password;
    let for_key = password.clone();
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
    let Some(account) = account else {
        return to_login();
    };
    let step = steps::next_step(&ctx, &account, false);
    let ttl = steps::ttl(&ctx, step);
    let (token, _) = ctx.sessions.open_at(&email, step, t, ttl);
    // The key for uploads people share, open for this session only; not
    // under a first password, which the operator saw (it is made at the
    // change).
    if !account.must_change_password {
        crate::pro_keys::unlock(&ctx, &token, &email, for_key).await;
    }
    if step == Step::Ready {
        tracing::info!(account = %email, "partner signed in");
    } else {
        tracing::info!(account = %email, ?step, "partner password accepted, a step is left");
    }
    steps::with_session(steps::redirect(steps::step_path(step)), &token, ttl)
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
    ctx.pro_keys.close(&token);
    let to = oidc::after_logout(&ctx, &token).await;
    let mut res = steps::redirect(&to);
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
    let body = html! {
        h1 { "Espace des partenaires" }
        p { "Bonjour " (account.name) " (" (institution) ")." }
        form method="post" action="/partenaires/deconnexion" {
            (csrf_field(&s.csrf))
            button type="submit" { "Se déconnecter" }
        }
        p {
            a href="/partenaires/mot-de-passe" { "Changer mon mot de passe" }
            @if ctx.hub.config.partner_totp != passerelle_config::PartnerTotp::Off {
                " · " a href="/partenaires/double-facteur" { "Double authentification" }
            }
        }
        p { a href="/partenaires/coffre" { "Coffre-fort : documents partagés avec vous, aide à la création de compte" } }
        p { a href="/partenaires/indicateurs" { "Indicateurs réservés aux partenaires" } }
        h2 { "Le réseau" }
        (network(&nodes, &live))
        h2 { "Actualisations incomplètes (brouillons)" }
        (drafts::drafts(&ctx, passerelle_observatory::PartnerPass::of(&s).map_or(passerelle_observatory::Reader::Public, passerelle_observatory::Reader::Partner)))
        h2 { "Les contributions de votre institution" }
        (contributions(&ctx, &account))
        h2 { "Bilans d'activité trimestriels" }
        ul {
            @for (code, name) in std::iter::once((geo::DEPARTMENT_CODE, geo::DEPARTMENT_NAME))
                .chain(geo::EPCIS.iter().map(|e| (e.siren, e.name)))
            {
                li { a href={ "/partenaires/rapport?territoire=" (code) } { (name) } }
            }
        }
        p { a href="/partenaires/programmes" { "Bilans des programmes : chiffres et objectifs" } }
        h2 { "Centre de ressources" }
        p { a href="/partenaires/ressources" { "Publier une étude ou un rapport (PDF)" } }
    };
    private(StatusCode::OK, page(&ctx, "Espace des partenaires", body))
}

/// The enrolled institutions: link, last contact, datasets, certificate.
fn network(nodes: &[NodeRecord], live: &std::collections::BTreeSet<NodeId>) -> Markup {
    html! {
        table {
            (column_heads(&[
                "Partenaire",
                "Connecté",
                "Dernier contact",
                "Jeux de données (déclarés par le partenaire)",
                "Certificat valable jusqu'au",
            ]))
            tbody {
                @for n in nodes.iter().filter(|n| n.revoked_at.is_none()) {
                    tr {
                        td { (n.name) }
                        td { @if live.contains(&n.node_id) { "oui" } @else { "non" } }
                        td { (n.last_seen.map(date).unwrap_or_else(|| "jamais".into())) }
                        td { (n.datasets.join(", ")) }
                        td { (date(n.cert_not_after)) }
                    }
                }
            }
        }
    }
}

/// What the account's institution contributed to each indicator's latest
/// result.
fn contributions(ctx: &Ctx, account: &Account) -> Markup {
    let rows: Vec<Markup> = ctx
        .catalog()
        .iter()
        .filter_map(|ind| Some((ind, ctx.latest(&ind.id)?)))
        .flat_map(|(ind, r)| {
            r.coverage
                .answered
                .iter()
                .filter(|a| a.node_id == account.institution.as_str())
                .map(|a| {
                    html! {
                        tr {
                            td { a href={ "/indicateur/" (ind.id) } { (ind.title) } }
                            td { (a.dataset) }
                            td { (a.data_as_of.map(date).unwrap_or_else(|| "—".into())) }
                            td { (date(r.computed_at)) }
                        }
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect();
    html! {
        table {
            (column_heads(&["Indicateur", "Jeu de données", "Données du", "Calculé le"]))
            tbody {
                @for row in &rows { (row) }
                @if rows.is_empty() { tr { td colspan="4" { "Aucune contribution pour l'instant." } } }
            }
        }
    }
}

/// The one script of the portal: the print button. Pages work without it.
pub const PRINT_JS: &str =
    "document.getElementById('imprimer')?.addEventListener('click',()=>window.print());\n";
