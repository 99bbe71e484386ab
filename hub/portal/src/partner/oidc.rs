//! Partner sign-in with an OpenID Connect provider (ProConnect).
//!
//! `/partenaires/oidc/connexion/{provider}` starts a sign-in (code flow
//! with PKCE, state and nonce, kept in memory and bound to a short-lived
//! cookie) and sends the browser to the provider; the provider sends it
//! back to `/partenaires/oidc/retour`, which takes the sign-in once (a
//! replayed callback finds nothing), has the ID token checked by the
//! library, and either opens a session (an account approved for this
//! provider, e-mail and organisation) or records a request for the
//! operator. Every refusal is logged with its reason.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use maud::{html, Markup};
use passerelle_hub_core::partners::{oidc as requests, Step};
use passerelle_link::now;
use passerelle_oidc::OidcError;

use super::{client_ip, client_key, cookies, institution_active, private, steps};
use crate::{
    layout::{alert, page},
    signin::{clear_cookie, flow_cookie},
    state::Ctx,
};

const FLOW: &str = "pl_oidc";
const FLOW_PATH: &str = "/partenaires/oidc";
/// Longest authorization code or state accepted.
const MAX_PARAM: usize = 2048;

/// The providers' buttons of the sign-in page (nothing when none).
pub(super) fn buttons(ctx: &Ctx) -> Markup {
    html! {
        @if !ctx.oidc.partners.is_empty() {
            h2 { "Avec votre compte professionnel" }
            @for p in ctx.oidc.partners.all() {
                p {
                    a.bouton href={ "/partenaires/oidc/connexion/" (p.config.name) } {
                        "Se connecter avec " (p.config.label)
                    }
                }
            }
            h2 { "Avec un mot de passe" }
        }
    }
}

fn failure(ctx: &Ctx, status: StatusCode, message: &str) -> Response {
    let body = html! {
        h1 { "Connexion des partenaires" }
        (alert(message))
        p { a href="/partenaires/connexion" { "Revenir à la page de connexion" } }
    };
    let mut res = private(status, page(ctx, "Connexion des partenaires", body));
    if let Ok(v) = HeaderValue::from_str(&clear_cookie(FLOW, FLOW_PATH)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

const FAILED: &str = "La connexion n'a pas abouti. Recommencez depuis la page de connexion.";

/// GET `/partenaires/oidc/connexion/{provider}`: to the provider.
pub async fn start(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let Some(provider) = ctx.oidc.partners.get(&name) else {
        return crate::PortalError::NotFound.into_response();
    };
    let client = client_ip(&ctx, peer.ip(), &headers);
    if !ctx.login_limiter.handle_attempt(client_key(client), now()) {
        return failure(
            &ctx,
            StatusCode::TOO_MANY_REQUESTS,
            "Trop de tentatives. Attendez une minute avant de réessayer.",
        );
    }
    let (url, pending) = match provider.begin().await {
        Ok(x) => x,
        Err(error) => {
            tracing::error!(%error, provider = %name, "partner sign-in: provider unavailable");
            return failure(
                &ctx,
                StatusCode::BAD_GATEWAY,
                "Le service de connexion ne répond pas. Réessayez plus tard, ou connectez-vous avec votre mot de passe.",
            );
        }
    };
    let Some(token) = ctx.oidc.flows.start(pending, now()) else {
        tracing::warn!(ip = %client, "partner sign-in: too many sign-ins under way");
        return failure(
            &ctx,
            StatusCode::SERVICE_UNAVAILABLE,
            "Le service est très sollicité. Réessayez dans un instant.",
        );
    };
    let mut res = steps::redirect(&url);
    if let Ok(v) = HeaderValue::from_str(&flow_cookie(FLOW, &token, FLOW_PATH)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// GET `/partenaires/oidc/retour`: the provider's answer.
pub async fn callback(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<crate::signin::Callback>,
) -> Response {
    let client = client_ip(&ctx, peer.ip(), &headers);
    // Taken first, whatever follows: a sign-in is used once.
    let pending = cookies(&headers)
        .remove(FLOW)
        .and_then(|t| ctx.oidc.flows.take(&t, now()));
    let Some(pending) = pending else {
        tracing::warn!(ip = %client, "partner sign-in refused: no sign-in under way for this state (replayed, expired or forged)");
        return failure(&ctx, StatusCode::BAD_REQUEST, FAILED);
    };
    let state = q.state.unwrap_or_default();
    if state.len() > MAX_PARAM
        || !passerelle_protocol::sign::constant_time_eq(state.as_bytes(), pending.state.as_bytes())
    {
        tracing::warn!(ip = %client, provider = %pending.provider, "partner sign-in refused: state does not match");
        return failure(&ctx, StatusCode::BAD_REQUEST, FAILED);
    }
    if let Some(error) = q.error {
        let error: String = error.chars().take(64).collect();
        tracing::warn!(ip = %client, provider = %pending.provider, %error, "partner sign-in refused by the provider");
        return failure(&ctx, StatusCode::UNAUTHORIZED, FAILED);
    }
    let Some(code) = q.code.filter(|c| !c.is_empty() && c.len() <= MAX_PARAM) else {
        tracing::warn!(ip = %client, provider = %pending.provider, "partner sign-in refused: no code");
        return failure(&ctx, StatusCode::BAD_REQUEST, FAILED);
    };
    let Some(provider) = ctx.oidc.partners.get(&pending.provider) else {
        return failure(&ctx, StatusCode::BAD_REQUEST, FAILED);
    };
    let name = pending.provider.clone();
    let identity = match provider.finish(pending, &code).await {
        Ok(i) => i,
        Err(OidcError::Token(refusal)) => {
            tracing::warn!(ip = %client, provider = %name, reason = refusal.kind(), error = %refusal, "partner sign-in refused: ID token");
            return failure(&ctx, StatusCode::UNAUTHORIZED, FAILED);
        }
        Err(error) => {
            tracing::warn!(ip = %client, provider = %name, %error, "partner sign-in failed");
            return failure(&ctx, StatusCode::BAD_GATEWAY, FAILED);
        }
    };
    let (Some(email), Some(organisation)) = (&identity.email, &identity.organisation) else {
        tracing::warn!(ip = %client, provider = %name, "partner sign-in refused: the e-mail or organisation claim is missing");
        return failure(
            &ctx,
            StatusCode::UNAUTHORIZED,
            "Le service de connexion n'a pas transmis votre adresse e-mail ou le SIRET de votre organisation.",
        );
    };
    let account = requests::find_account(&ctx.hub, &name, email, organisation)
        .ok()
        .flatten()
        .filter(|a| institution_active(&ctx, a));
    let Some(account) = account else {
        return requested(&ctx, &identity, email, organisation, client);
    };
    let t = now();
    let step = steps::next_step(&ctx, &account, false);
    let ttl = steps::ttl(&ctx, step);
    let (token, _) = ctx.sessions.open_at(&account.email, step, t, ttl);
    ctx.oidc.logouts.keep(
        &token,
        &name,
        &identity.id_token,
        t,
        t + ctx.hub.config.session_ttl.as_secs(),
    );
    if step == Step::Ready {
        tracing::info!(account = %account.email, provider = %name, "partner signed in with a provider");
    } else {
        tracing::info!(account = %account.email, provider = %name, ?step, "partner signed in with a provider, a step is left");
    }
    // A page of ours goes on: the navigation to the partner pages is then
    // the portal's own, and the session's `SameSite=Strict` cookie comes
    // with it (it would not after the provider's cross-site redirect).
    let to = steps::step_path(step);
    let body = html! {
        meta http-equiv="refresh" content={ "0;url=" (to) };
        h1 { "Connexion des partenaires" }
        p { "Vous êtes connecté." }
        p { a href=(to) { "Continuer" } }
    };
    let res = private(
        StatusCode::OK,
        page(&ctx, "Connexion des partenaires", body),
    );
    let mut res = steps::with_session(res, &token, ttl);
    if let Ok(v) = HeaderValue::from_str(&clear_cookie(FLOW, FLOW_PATH)) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// An unknown professional: the request for the operator, and the page
/// saying so.
fn requested(
    ctx: &Ctx,
    identity: &passerelle_oidc::Identity,
    email: &str,
    organisation: &str,
    client: std::net::IpAddr,
) -> Response {
    let name = identity.name.clone().unwrap_or_default();
    match requests::request(
        &ctx.hub,
        &identity.provider,
        &identity.subject,
        email,
        &name,
        organisation,
        now(),
    ) {
        Ok(id) => {
            tracing::info!(request = %id, account = %email, provider = %identity.provider, ip = %client, "partner request recorded (first sign-in)");
            let body = html! {
                h1 { "Demande d'accès transmise" }
                p { "Votre identité a bien été vérifiée, mais vous n'avez pas encore de compte sur l'espace des partenaires." }
                p { "Votre demande (numéro " strong { (id) } ") est transmise à l'administrateur de la plateforme, qui vérifie que votre institution participe au réseau. Une fois votre demande acceptée, reconnectez-vous de la même façon." }
                p { a href="/" { "Retour à l'accueil" } }
            };
            let mut res = private(StatusCode::OK, page(ctx, "Demande d'accès transmise", body));
            if let Ok(v) = HeaderValue::from_str(&clear_cookie(FLOW, FLOW_PATH)) {
                res.headers_mut().append(header::SET_COOKIE, v);
            }
            res
        }
        Err(error) => {
            tracing::warn!(%error, account = %email, "partner request not recorded");
            failure(
                ctx,
                StatusCode::SERVICE_UNAVAILABLE,
                "Votre demande n'a pas pu être enregistrée. Réessayez plus tard.",
            )
        }
    }
}

/// Where a partner goes after signing out: the provider's logout (which
/// sends them back home) when the session was opened with one.
pub(super) async fn after_logout(ctx: &Ctx, token: &str) -> String {
    let Some((name, id_token)) = ctx.oidc.logouts.take(token) else {
        return "/".into();
    };
    let Some(provider) = ctx.oidc.partners.get(&name) else {
        return "/".into();
    };
    let back = format!("{}/", ctx.hub.config.public_url());
    provider
        .logout_url(&id_token, &back)
        .await
        .unwrap_or_else(|| "/".into())
}
