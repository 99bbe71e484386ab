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
            p { a.gros.clair href={ "/coffre/oidc/connexion/" (p.config.name) } { (with_provider("oidc-me-connecter-avec", &p.config.label)) } }
        }
    }
}

/// The link to the attachment page, for the signed-in home (nothing when
/// no provider is configured).
pub(super) fn link(ctx: &Ctx) -> Markup {
    html! {
        @if let Some(p) = ctx.oidc.persons.all().first() {
            p { a href="/coffre/franceconnect" { (with_provider("oidc-me-connecter-avec", &p.config.label)) } }
        }
    }
}

/// A message naming a provider (`$fournisseur`), in the reader's language.
fn with_provider(key: &str, label: &str) -> String {
    Tr::current().a(key, &[("fournisseur", label.into())])
}

/// The failure of a sign-in with a provider, in the reader's language.
fn failed() -> String {
    Tr::current().t("oidc-echec")
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
        p { a.gros href=(to) { (Tr::current().t("oidc-continuer")) } }
    };
    page(ctx, title, body)
}

fn failure(ctx: &Ctx, status: StatusCode, message: &str) -> Response {
    let tr = Tr::current();
    let body = html! {
        h1 { (tr.t("oidc-connexion")) }
        p.demo role="alert" { (message) }
        p { a.gros href="/coffre/connexion" { (tr.t("oidc-avec-mot-de-passe")) } }
    };
    with_cookie(
        private(status, page(ctx, &tr.t("oidc-connexion"), body)),
        &clear_cookie(FLOW, FLOW_PATH),
    )
}

/// GET `/coffre/franceconnect`: attach a provider.
pub async fn attach_page(State(ctx): State<Arc<Ctx>>, s: Person) -> Response {
    let have = attach::attached(&ctx.hub.store, &s.person).unwrap_or_default();
    let tr = Tr::current();
    let body = html! {
        h1 { (tr.t("oidc-titre")) }
        @for p in ctx.oidc.persons.all() {
            @if have.contains(&p.config.name) {
                p { (with_provider("oidc-deja-relie", &p.config.label)) }
            } @else {
                p { (with_provider("oidc-reliez", &p.config.label)) }
                form method="post" action="/coffre/oidc/relier" {
                    input type="hidden" name="csrf" value=(s.csrf);
                    input type="hidden" name="fournisseur" value=(p.config.name);
                    p { button.gros type="submit" { (with_provider("oidc-relier", &p.config.label)) } }
                }
            }
        }
        p.note { (tr.t("oidc-autre-appareil")) }
        p { a href="/coffre" { (tr.t("coffre-retour")) } }
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
            &Tr::current().t("compte-trop-de-tentatives"),
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
                &Tr::current().t("oidc-injoignable"),
            );
        }
    };
    let state = pending.state.clone();
    let Some(token) = ctx.oidc.flows.start(pending, now()) else {
        return failure(
            ctx,
            StatusCode::SERVICE_UNAVAILABLE,
            &Tr::current().t("compte-service-occupe"),
        );
    };
    if let Some((person, key)) = attaching {
        ctx.oidc.attaching.keep(&state, person, key, now());
    }
    with_cookie(redirect(&url), &flow_cookie(FLOW, &token, FLOW_PATH))
}

/// GET `/coffre/oidc/retour`.
pub async fn callback(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<crate::signin::Callback>,
) -> Response {
    let client = client_ip(&ctx, peer.ip(), &headers);
    let jar = crate::partner::cookies(&headers);
    let Some(pending) = jar.get(FLOW).and_then(|t| ctx.oidc.flows.take(t, now())) else {
        tracing::warn!(ip = %client, "vault sign-in refused: no sign-in under way for this state (replayed, expired or forged)");
        return failure(&ctx, StatusCode::BAD_REQUEST, &failed());
    };
    let attaching = ctx.oidc.attaching.take(&pending.state, now());
    let state = q.state.unwrap_or_default();
    if state.len() > MAX_PARAM || !token_ok(&pending.state, &state) {
        tracing::warn!(ip = %client, provider = %pending.provider, "vault sign-in refused: state does not match");
        return failure(&ctx, StatusCode::BAD_REQUEST, &failed());
    }
    if q.error.is_some() {
        tracing::warn!(ip = %client, provider = %pending.provider, "vault sign-in refused by the provider");
        return failure(&ctx, StatusCode::UNAUTHORIZED, &failed());
    }
    let (Some(code), Some(provider)) = (
        q.code.filter(|c| !c.is_empty() && c.len() <= MAX_PARAM),
        ctx.oidc.persons.get(&pending.provider),
    ) else {
        return failure(&ctx, StatusCode::BAD_REQUEST, &failed());
    };
    let name = pending.provider.clone();
    let identity = match provider.finish(pending, &code).await {
        Ok(i) => i,
        Err(OidcError::Token(r)) => {
            tracing::warn!(ip = %client, provider = %name, reason = r.kind(), error = %r, "vault sign-in refused: ID token");
            return failure(&ctx, StatusCode::UNAUTHORIZED, &failed());
        }
        Err(error) => {
            tracing::warn!(ip = %client, provider = %name, %error, "vault sign-in failed");
            return failure(&ctx, StatusCode::BAD_GATEWAY, &failed());
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
                &Tr::current().t("oidc-compte-inconnu"),
            );
        }
        Err(error) => {
            tracing::error!(%error, "vault sign-in: store");
            return failure(&ctx, StatusCode::SERVICE_UNAVAILABLE, &failed());
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
            &Tr::current().t("oidc-nouvel-appareil"),
        );
    };
    let ttl = ctx.hub.config.session_ttl.as_secs();
    super::rights::seen(&ctx, &account.id);
    let (token, _) = ctx.person_sessions.open(&account, key, t, ttl);
    tracing::info!(provider = %name, "vault sign-in with a provider");
    let res = private(
        StatusCode::OK,
        onward(
            &ctx,
            &Tr::current().t("oidc-connexion"),
            &Tr::current().t("oidc-connecte"),
            "/coffre",
        ),
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
                onward(ctx, label, &with_provider("oidc-relie", label), "/coffre"),
            );
            with_cookie(
                with_cookie(res, &device_cookie(&device)),
                &clear_cookie(FLOW, FLOW_PATH),
            )
        }
        Err(error) => {
            tracing::error!(%error, "vault attachment not recorded");
            failure(ctx, StatusCode::SERVICE_UNAVAILABLE, &failed())
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
