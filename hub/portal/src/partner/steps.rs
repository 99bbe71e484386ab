//! The steps of a partner's sign-in after the password: the second
//! factor's code, the change of a first password, the enrolment of an
//! authenticator app; and, once signed in, changing one's password.
//!
//! A session with a step left reaches only that step's page (every other
//! partner page sends to the sign-in form, which sends here). Codes and
//! current passwords count against the per-account limit; a wrong one is
//! logged with the account.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, Form, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use maud::html;
use passerelle_config::PartnerTotp;
use passerelle_hub_core::partners::{
    self,
    totp::{self, CodeError},
    Account, Session, Step,
};
use passerelle_link::now;
use passerelle_web::forms;

use super::{client_ip, cookies, forbidden, institution_active, private, to_login, SESSION};
use crate::{
    layout::{alert, page},
    state::Ctx,
};

/// The page of a step.
pub(super) fn step_path(step: Step) -> &'static str {
    match step {
        Step::Ready => "/partenaires",
        Step::Code => "/partenaires/code",
        Step::ChangePassword => "/partenaires/mot-de-passe",
        Step::Enrol => "/partenaires/double-facteur",
    }
}

pub(super) fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to)]).into_response()
}

/// What an account must do next, after the password (`code_given` false)
/// or after the code, under the hub's `partner_totp`.
pub(super) fn next_step(ctx: &Ctx, account: &Account, code_given: bool) -> Step {
    let policy = ctx.hub.config.partner_totp;
    Step::after(
        account,
        policy == PartnerTotp::Required,
        code_given || policy == PartnerTotp::Off,
    )
}

/// A live session in any step, with its account (removed accounts and
/// revoked institutions have none).
pub(super) fn pending(ctx: &Ctx, headers: &HeaderMap) -> Option<(String, Session, Account)> {
    let token = cookies(headers).remove(SESSION)?;
    let s = ctx.sessions.get(&token, now())?;
    match ctx.hub.store.account(&s.email).ok().flatten() {
        Some(a) if institution_active(ctx, &a) => Some((token, s, a)),
        _ => {
            ctx.sessions.close(&token);
            None
        }
    }
}

/// How long a session at `step` lasts (seconds).
pub(super) fn ttl(ctx: &Ctx, step: Step) -> u64 {
    let full = ctx.hub.config.session_ttl.as_secs();
    if step == Step::Ready {
        full
    } else {
        full.min(partners::PENDING_TTL)
    }
}

/// The session cookie of `token`.
pub(super) fn with_session(mut res: Response, token: &str, ttl: u64) -> Response {
    let cookie =
        format!("{SESSION}={token}; HttpOnly; Secure; SameSite=Strict; Path=/; Max-Age={ttl}");
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

fn csrf_ok(s: &Session, given: &str) -> bool {
    passerelle_protocol::sign::constant_time_eq(s.csrf.as_bytes(), given.as_bytes())
}

/// Serialises the check-and-record of codes, so one code cannot be used
/// twice by two requests at once.
static CODES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Checks a code against the account as stored now and records its step;
/// returns the account updated (`enable`: confirm an enrolment).
async fn use_code(
    ctx: &Ctx,
    email: &str,
    code: &str,
    enable: bool,
) -> Result<Account, Option<CodeError>> {
    let _held = CODES.lock().await;
    let mut a = ctx.hub.store.account(email).ok().flatten().ok_or(None)?;
    let secret = a.totp_secret.clone().ok_or(None)?;
    let step = totp::check(&secret, code, now(), a.totp_last_step).map_err(Some)?;
    a.totp_last_step = step;
    a.totp_enabled |= enable;
    ctx.hub.store.put_account(&a).map_err(|_| None)?;
    Ok(a)
}

/// Counts a code attempt against the account's limit; `None` when over.
fn count(ctx: &Ctx, email: &str, client: std::net::IpAddr) -> Option<()> {
    if ctx
        .account_limiter
        .handle_attempt(format!("partner:{email}"), now())
    {
        Some(())
    } else {
        tracing::warn!(account = %email, ip = %client, "partner code over the per-account limit");
        None
    }
}

const TOO_MANY: &str = "Trop de tentatives pour ce compte. Attendez une minute avant de réessayer.";

fn code_form(ctx: &Ctx, s: &Session, message: Option<&str>, status: StatusCode) -> Response {
    let body = forms::code("/partenaires/code", &s.csrf, message);
    private(status, page(ctx, "Code de vérification", body))
}

/// GET `/partenaires/code`: the second step of a sign-in.
pub async fn code_page(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Response {
    match pending(&ctx, &headers) {
        Some((_, s, _)) if s.step == Step::Code => code_form(&ctx, &s, None, StatusCode::OK),
        Some((_, s, _)) => redirect(step_path(s.step)),
        None => to_login(),
    }
}

/// POST `/partenaires/code`.
pub async fn code(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<forms::CodeFields>,
) -> Response {
    let Some((token, s, _)) = pending(&ctx, &headers) else {
        return to_login();
    };
    if s.step != Step::Code {
        return redirect(step_path(s.step));
    }
    if !csrf_ok(&s, &f.csrf) {
        return forbidden(&ctx);
    }
    let client = client_ip(&ctx, peer.ip(), &headers);
    if count(&ctx, &s.email, client).is_none() {
        return code_form(&ctx, &s, Some(TOO_MANY), StatusCode::TOO_MANY_REQUESTS);
    }
    match use_code(&ctx, &s.email, &f.code, false).await {
        Ok(a) => {
            let next = next_step(&ctx, &a, true);
            let ttl = ttl(&ctx, next);
            ctx.sessions.set_step(&token, next, now() + ttl);
            tracing::info!(account = %s.email, "partner signed in (second factor)");
            with_session(redirect(step_path(next)), &token, ttl)
        }
        Err(e) => {
            tracing::warn!(account = %s.email, ip = %client, reason = ?e, "partner code refused");
            code_form(
                &ctx,
                &s,
                Some(forms::code_message(e)),
                StatusCode::UNAUTHORIZED,
            )
        }
    }
}

fn enrol_form(
    ctx: &Ctx,
    s: &Session,
    a: &Account,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let secret = a.totp_secret.clone().unwrap_or_default();
    let uri = totp::otpauth_uri(&ctx.hub.config.name, &a.email, &secret);
    let body = html! {
        h1 { "Double authentification" }
        @if let Some(m) = message { (alert(m)) }
        @if a.totp_enabled {
            p { "La double authentification est active sur votre compte : un code vous est demandé à chaque connexion." }
            p { a href="/partenaires" { "Retour à l'espace des partenaires" } }
        } @else {
            @if s.step == Step::Enrol {
                p { "Votre compte peut lire des documents du coffre-fort : la connexion demande, en plus du mot de passe, un code à 6 chiffres donné par une application d'authentification sur votre téléphone." }
            }
            (forms::enrol(&uri, &secret, "/partenaires/double-facteur", &s.csrf))
        }
    };
    private(status, page(ctx, "Double authentification", body))
}

/// The session and account allowed on the enrolment page, or where to go.
fn enrolling(ctx: &Ctx, headers: &HeaderMap) -> Result<(String, Session, Account), &'static str> {
    match pending(ctx, headers) {
        None => Err(LOGIN_PAGE),
        Some(_) if ctx.hub.config.partner_totp == PartnerTotp::Off => Err("/partenaires"),
        Some((t, s, a)) if matches!(s.step, Step::Enrol | Step::Ready) => Ok((t, s, a)),
        Some((_, s, _)) => Err(step_path(s.step)),
    }
}

const LOGIN_PAGE: &str = "/partenaires/connexion";

/// GET `/partenaires/double-facteur`: enrol an authenticator app.
pub async fn enrol_page(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Response {
    let (_, s, mut a) = match enrolling(&ctx, &headers) {
        Ok(x) => x,
        Err(to) => return redirect(to),
    };
    if !a.totp_enabled && a.totp_secret.is_none() {
        let _held = CODES.lock().await;
        if let Some(mut fresh) = ctx.hub.store.account(&a.email).ok().flatten() {
            if fresh.totp_secret.is_none() {
                fresh.totp_secret = Some(totp::new_secret());
                if ctx.hub.store.put_account(&fresh).is_err() {
                    return crate::PortalError::Unavailable.into_response();
                }
            }
            a = fresh;
        }
    }
    enrol_form(&ctx, &s, &a, None, StatusCode::OK)
}

/// POST `/partenaires/double-facteur`: confirm with a first code.
pub async fn enrol(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<forms::CodeFields>,
) -> Response {
    let (token, s, a) = match enrolling(&ctx, &headers) {
        Ok(x) => x,
        Err(to) => return redirect(to),
    };
    if !csrf_ok(&s, &f.csrf) {
        return forbidden(&ctx);
    }
    if a.totp_enabled {
        return redirect("/partenaires");
    }
    let client = client_ip(&ctx, peer.ip(), &headers);
    if count(&ctx, &s.email, client).is_none() {
        return enrol_form(&ctx, &s, &a, Some(TOO_MANY), StatusCode::TOO_MANY_REQUESTS);
    }
    match use_code(&ctx, &s.email, &f.code, true).await {
        Ok(a) => {
            tracing::info!(account = %s.email, "partner enrolled a second factor");
            let next = next_step(&ctx, &a, true);
            let ttl = ttl(&ctx, next);
            ctx.sessions.set_step(&token, next, now() + ttl);
            with_session(redirect(step_path(next)), &token, ttl)
        }
        Err(e) => {
            tracing::warn!(account = %s.email, ip = %client, reason = ?e, "partner enrolment code refused");
            enrol_form(
                &ctx,
                &s,
                &a,
                Some(forms::code_message(e)),
                StatusCode::UNAUTHORIZED,
            )
        }
    }
}

mod password;
pub use password::{change_password, password_page};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_french() {
        assert_eq!(
            forms::code_message(Some(CodeError::Wrong)),
            "Code incorrect."
        );
    }
}
