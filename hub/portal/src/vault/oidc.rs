//! FranceConnect (any `[[vault_oidc]]` provider) for the vault: a
//! signed-in person attaches it (`/coffre/franceconnect`), then signs in
//! with it. The data key is wrapped per device
//! ([`passerelle_vault::oidc`]): a sign-in with the provider opens the
//! vault on a device the person used with their password since attaching;
//! on a new device they type their password once. People without it are
//! unaffected.

use axum::{extract::Query, response::IntoResponse};
use passerelle_oidc::OidcError;
use passerelle_vault::oidc as attach;
use serde::Deserialize;

use super::*;
use crate::signin::{clear_cookie, flow_cookie};

const FLOW: &str = "pv_oidc";
const FLOW_PATH: &str = "/coffre/oidc";
/// The device cookie: the secret that unwraps the data key here.
const DEVICE: &str = "pv_appareil";
const DEVICE_TTL: u64 = 365 * 86_400;
const MAX_PARAM: usize = 2048;

/// The routes.
pub fn routes(router: axum::Router<Arc<Ctx>>) -> axum::Router<Arc<Ctx>> {
    use axum::routing::{get, post};
    router
        .route("/coffre/franceconnect", get(attach_page))
        .route("/coffre/oidc/relier", post(attach_start))
        .route("/coffre/oidc/connexion/{provider}", get(signin_start))
        .route("/coffre/oidc/retour", get(callback))
}

/// The sign-in buttons of the providers (nothing when none).
pub(super) fn buttons(ctx: &Ctx) -> Markup {
    html! {
        @for p in ctx.oidc.persons.all() {
            p { a.gros.clair href={ "/coffre/oidc/connexion/" (p.config.name) } { "Me connecter avec " (p.config.label) } }
        }
    }
}

/// The link to the attachment page, for the signed-in home (nothing when
/// no provider is configured).
pub(super) fn link(ctx: &Ctx) -> Markup {
    html! {
        @if let Some(p) = ctx.oidc.persons.all().first() {
            p { a href="/coffre/franceconnect" { "Me connecter avec " (p.config.label) } }
        }
    }
}

fn with_cookie(mut res: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

fn device_cookie(value: &str) -> String {
    format!("{DEVICE}={value}; HttpOnly; Secure; SameSite=Lax; Path=/coffre; Max-Age={DEVICE_TTL}")
}

/// A page that goes on to `to` by itself: after the provider's redirect,
/// a navigation of ours, so the session's `Strict` cookie comes along.
fn onward(ctx: &Ctx, title: &str, message: &str, to: &str) -> String {
    let body = html! {
        meta http-equiv="refresh" content={ "0;url=" (to) };
        h1 { (title) }
        p { (message) }
        p { a.gros href=(to) { "Continuer" } }
    };
    page(ctx, title, body)
}

fn failure(ctx: &Ctx, status: StatusCode, message: &str) -> Response {
    let body = html! {
        h1 { "Connexion" }
        p.demo role="alert" { (message) }
        p { a.gros href="/coffre/connexion" { "Me connecter avec mon mot de passe" } }
    };
    with_cookie(
        private(status, page(ctx, "Connexion", body)),
        &clear_cookie(FLOW, FLOW_PATH),
    )
}

const FAILED: &str =
    "La connexion n'a pas abouti. Recommencez, ou connectez-vous avec votre mot de passe.";

/// GET `/coffre/franceconnect`: attach a provider.
pub async fn attach_page(State(ctx): State<Arc<Ctx>>, s: Person) -> Response {
    let have = attach::attached(&ctx.hub.store, &s.person).unwrap_or_default();
    let body = html! {
        h1 { "Me connecter avec FranceConnect" }
        @for p in ctx.oidc.persons.all() {
            @if have.contains(&p.config.name) {
                p { (p.config.label) " est relié à votre coffre. Sur cet appareil, vous pouvez vous connecter avec " (p.config.label) "." }
            } @else {
                p { "Reliez " (p.config.label) " à votre coffre : vous pourrez ensuite vous connecter avec " (p.config.label) " sur cet appareil." }
                form method="post" action="/coffre/oidc/relier" {
                    input type="hidden" name="csrf" value=(s.csrf);
                    input type="hidden" name="fournisseur" value=(p.config.name);
                    p { button.gros type="submit" { "Relier " (p.config.label) } }
                }
            }
        }
        p.note { "Sur un autre appareil, tapez une fois votre mot de passe : " "la connexion avec FranceConnect suffira ensuite sur cet appareil. Votre mot de passe et votre code de secours restent valables." }
        p { a href="/coffre" { "Retour" } }
    };
    private(
        StatusCode::OK,
        vault_page(&ctx, "FranceConnect", Some(&s), body),
    )
}

/// POST `/coffre/oidc/relier`: to the provider, to attach it.
pub async fn attach_start(
    State(ctx): State<Arc<Ctx>>,
    Checked { by, fields }: Checked<Person>,
) -> Response {
    let Some(provider) = ctx.oidc.persons.get(fields.get("fournisseur")) else {
        return crate::PortalError::NotFound.into_response();
    };
    start(&ctx, &provider, Some((&by.person, by.key.clone()))).await
}

/// GET `/coffre/oidc/connexion/{provider}`: to the provider, to sign in.
pub async fn signin_start(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let Some(provider) = ctx.oidc.persons.get(&name) else {
        return crate::PortalError::NotFound.into_response();
    };
    if !ctx
        .login_limiter
        .handle_attempt(client_key(client_ip(&ctx, peer.ip(), &headers)), now())
    {
        return failure(
            &ctx,
            StatusCode::TOO_MANY_REQUESTS,
            "Trop de tentatives. Attendez une minute.",
        );
    }
    start(&ctx, &provider, None).await
}

async fn start(
    ctx: &Ctx,
    provider: &passerelle_oidc::Provider,
    attaching: Option<(&str, passerelle_protocol::seal::Key)>,
) -> Response {
    let (url, pending) = match provider.begin().await {
        Ok(x) => x,
        Err(error) => {
            tracing::error!(%error, provider = %provider.config.name, "vault sign-in: provider unavailable");
            return failure(
                ctx,
                StatusCode::BAD_GATEWAY,
                "Le service de connexion ne répond pas. Réessayez plus tard.",
            );
        }
    };
    let state = pending.state.clone();
    let Some(token) = ctx.oidc.flows.start(pending, now()) else {
        return failure(
            ctx,
            StatusCode::SERVICE_UNAVAILABLE,
            "Le service est très sollicité. Réessayez dans un instant.",
        );
    };
    if let Some((person, key)) = attaching {
        ctx.oidc.attaching.keep(&state, person, key, now());
    }
    with_cookie(redirect(&url), &flow_cookie(FLOW, &token, FLOW_PATH))
}

/// The provider's answer.
#[derive(Debug, Deserialize)]
pub struct Callback {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// GET `/coffre/oidc/retour`.
pub async fn callback(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<Callback>,
) -> Response {
    let client = client_ip(&ctx, peer.ip(), &headers);
    let jar = crate::partner::cookies(&headers);
    let Some(pending) = jar.get(FLOW).and_then(|t| ctx.oidc.flows.take(t, now())) else {
        tracing::warn!(ip = %client, "vault sign-in refused: no sign-in under way for this state (replayed, expired or forged)");
        return failure(&ctx, StatusCode::BAD_REQUEST, FAILED);
    };
    let attaching = ctx.oidc.attaching.take(&pending.state, now());
    let state = q.state.unwrap_or_default();
    if state.len() > MAX_PARAM || !token_ok(&pending.state, &state) {
        tracing::warn!(ip = %client, provider = %pending.provider, "vault sign-in refused: state does not match");
        return failure(&ctx, StatusCode::BAD_REQUEST, FAILED);
    }
    if q.error.is_some() {
        tracing::warn!(ip = %client, provider = %pending.provider, "vault sign-in refused by the provider");
        return failure(&ctx, StatusCode::UNAUTHORIZED, FAILED);
    }
    let (Some(code), Some(provider)) = (
        q.code.filter(|c| !c.is_empty() && c.len() <= MAX_PARAM),
        ctx.oidc.persons.get(&pending.provider),
    ) else {
        return failure(&ctx, StatusCode::BAD_REQUEST, FAILED);
    };
    let name = pending.provider.clone();
    let identity = match provider.finish(pending, &code).await {
        Ok(i) => i,
        Err(OidcError::Token(r)) => {
            tracing::warn!(ip = %client, provider = %name, reason = r.kind(), error = %r, "vault sign-in refused: ID token");
            return failure(&ctx, StatusCode::UNAUTHORIZED, FAILED);
        }
        Err(error) => {
            tracing::warn!(ip = %client, provider = %name, %error, "vault sign-in failed");
            return failure(&ctx, StatusCode::BAD_GATEWAY, FAILED);
        }
    };
    let t = now();
    if let Some((person, key)) = attaching {
        return attached(
            &ctx,
            &name,
            &identity.subject,
            &person,
            &key,
            &provider.config.label,
            t,
        );
    }
    let person = match attach::person_for(&ctx.hub.store, &name, &identity.subject) {
        Ok(Some(p)) => p,
        Ok(None) => {
            tracing::warn!(ip = %client, provider = %name, "vault sign-in refused: provider identity attached to no account");
            return failure(
                &ctx,
                StatusCode::UNAUTHORIZED,
                "Ce compte n'est relié à aucun coffre. Connectez-vous avec votre mot de passe, puis reliez-le depuis votre coffre.",
            );
        }
        Err(error) => {
            tracing::error!(%error, "vault sign-in: store");
            return failure(&ctx, StatusCode::SERVICE_UNAVAILABLE, FAILED);
        }
    };
    let key = jar
        .get(DEVICE)
        .and_then(|c| attach::unlock(&ctx.hub.store, &person, c).ok().flatten());
    let account = ctx.vault.store.person(&person).ok().flatten();
    let (Some(key), Some(account)) = (key, account) else {
        tracing::info!(provider = %name, "vault sign-in with a provider on a new device: password asked once");
        return failure(
            &ctx,
            StatusCode::UNAUTHORIZED,
            "Sur ce nouvel appareil, connectez-vous une fois avec votre mot de passe (ou votre code de secours) : ensuite, la connexion avec FranceConnect suffira ici.",
        );
    };
    let ttl = ctx.hub.config.session_ttl.as_secs();
    let (token, _) = ctx.person_sessions.open(&account, key, t, ttl);
    tracing::info!(provider = %name, "vault sign-in with a provider");
    let res = private(
        StatusCode::OK,
        onward(&ctx, "Connexion", "Vous êtes connecté.", "/coffre"),
    );
    with_cookie(
        with_session(res, &token, ttl),
        &clear_cookie(FLOW, FLOW_PATH),
    )
}

/// The attachment's end: the subject bound, this device remembered.
fn attached(
    ctx: &Ctx,
    provider: &str,
    subject: &str,
    person: &str,
    key: &passerelle_protocol::seal::Key,
    label: &str,
    t: u64,
) -> Response {
    let done = attach::attach(&ctx.hub.store, provider, subject, person, t)
        .and_then(|()| attach::remember_device(&ctx.hub.store, person, key, t));
    match done {
        Ok(device) => {
            tracing::info!(%provider, "vault account attached to a provider");
            person_did(
                ctx,
                person,
                Action::Other("provider_attach".into()),
                provider,
                String::new(),
            );
            let res = private(
                StatusCode::OK,
                onward(
                    ctx,
                    label,
                    &format!("{label} est relié à votre coffre."),
                    "/coffre",
                ),
            );
            with_cookie(
                with_cookie(res, &device_cookie(&device)),
                &clear_cookie(FLOW, FLOW_PATH),
            )
        }
        Err(error) => {
            tracing::error!(%error, "vault attachment not recorded");
            failure(ctx, StatusCode::SERVICE_UNAVAILABLE, FAILED)
        }
    }
}

/// After a password sign-in: remembers this device when the account has a
/// provider attached and the device is not known yet (the password asked
/// once per device).
pub(super) fn after_password(
    ctx: &Ctx,
    headers: &HeaderMap,
    person: &str,
    key: &passerelle_protocol::seal::Key,
    res: Response,
) -> Response {
    if attach::attached(&ctx.hub.store, person)
        .unwrap_or_default()
        .is_empty()
    {
        return res;
    }
    let known = crate::partner::cookies(headers)
        .get(DEVICE)
        .is_some_and(|c| {
            attach::unlock(&ctx.hub.store, person, c)
                .ok()
                .flatten()
                .is_some()
        });
    if known {
        return res;
    }
    match attach::remember_device(&ctx.hub.store, person, key, now()) {
        Ok(device) => with_cookie(res, &device_cookie(&device)),
        Err(error) => {
            tracing::error!(%error, "device not remembered");
            res
        }
    }
}

/// After a password reset: the data key may have changed, every device is
/// forgotten.
pub(super) fn after_reset(ctx: &Ctx, person: &str) {
    if let Err(error) = attach::forget_devices(&ctx.hub.store, person) {
        tracing::error!(%error, "devices not forgotten after a reset");
    }
}
