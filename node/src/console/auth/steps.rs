//! The steps of a sign-in after the password, and changing one's
//! password once signed in: the second factor's code (`/code`), the
//! enrolment of an authenticator app (`/double-facteur`), the first
//! password's change (`/mot-de-passe`). Codes and current passwords count
//! against the per-account limit.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, Form, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use maud::html;
use passerelle_config::SecondFactor;
use passerelle_link::now;
use passerelle_web::{
    csrf, forms, password,
    signin::Step,
    totp::{self, CodeError},
};

use super::{next_step, pending, policy, step_path, ttl, with_session, Signed, TOO_MANY};
use crate::{
    agents::{Agent, AgentSession},
    console::{
        page::{self, alert, done, redirect},
        Console,
    },
};

/// Serialises the check-and-record of codes, so a code serves once even
/// to two requests at once.
static CODES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Checks a code against the agent as stored now and records its step
/// (`enable`: confirms an enrolment).
async fn use_code(
    console: &Console,
    login: &str,
    code: &str,
    enable: bool,
) -> Result<Agent, Option<CodeError>> {
    let _held = CODES.lock().await;
    let store = &console.shared.store;
    let mut a = store.agent(login).ok().flatten().ok_or(None)?;
    let secret = a.totp_secret.clone().ok_or(None)?;
    a.totp_last_step = totp::check(&secret, code, now(), a.totp_last_step).map_err(Some)?;
    a.totp_enabled |= enable;
    store.put_agent(&a).map_err(|_| None)?;
    Ok(a)
}

fn code_form(
    console: &Console,
    s: &AgentSession,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let body = forms::code("/code", &s.csrf, message);
    page::public(console, status, "Code de vérification", body)
}

/// GET `/code`.
pub(super) async fn code_page(State(console): State<Arc<Console>>, headers: HeaderMap) -> Response {
    match pending(&console, &headers) {
        Some((_, s, _)) if s.step == Step::Code => code_form(&console, &s, None, StatusCode::OK),
        Some((_, s, _)) => redirect(step_path(s.step)),
        None => redirect("/connexion"),
    }
}

/// Moves a session to its next step and renews its cookie.
fn advance(console: &Console, token: &str, agent: &Agent) -> Response {
    let next = next_step(console, agent, true);
    let ttl = ttl(console, next);
    match console.sessions.update(token, |s| {
        s.step = next;
        s.expires_at = now() + ttl;
    }) {
        Ok(_) => with_session(redirect(step_path(next)), token, ttl),
        Err(e) => page::unavailable(&e),
    }
}

/// POST `/code`.
pub(super) async fn code(
    State(console): State<Arc<Console>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<forms::CodeFields>,
) -> Response {
    let Some((token, s, _)) = pending(&console, &headers) else {
        return redirect("/connexion");
    };
    if s.step != Step::Code {
        return redirect(step_path(s.step));
    }
    if !csrf::matches(&s.csrf, &f.csrf) {
        return page::form_expired();
    }
    if !console
        .account_limiter
        .handle_attempt(s.login.clone(), now())
    {
        return code_form(&console, &s, Some(TOO_MANY), StatusCode::TOO_MANY_REQUESTS);
    }
    match use_code(&console, &s.login, &f.code, false).await {
        Ok(agent) => advance(&console, &token, &agent),
        Err(e) => {
            tracing::warn!(agent = %s.login, ip = %console.client(peer, &headers), reason = ?e, "console code refused");
            code_form(
                &console,
                &s,
                Some(forms::code_message(e)),
                StatusCode::UNAUTHORIZED,
            )
        }
    }
}

/// The session allowed on the enrolment page, or where to go.
fn enrolling(
    console: &Console,
    headers: &HeaderMap,
) -> Result<(String, AgentSession, Agent), &'static str> {
    match pending(console, headers) {
        None => Err("/connexion"),
        Some(_) if policy(console) == SecondFactor::Off => Err("/compte"),
        Some((t, s, a)) if matches!(s.step, Step::Enrol | Step::Ready) => Ok((t, s, a)),
        Some((_, s, _)) => Err(step_path(s.step)),
    }
}

fn enrol_form(
    console: &Console,
    s: &AgentSession,
    a: &Agent,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let secret = a.totp_secret.clone().unwrap_or_default();
    let issuer = format!("Passerelle {}", console.shared.creds().identity.node_id);
    let uri = totp::otpauth_uri(&issuer, &a.login, &secret);
    let body = html! {
        h1 { "Double authentification" }
        @if let Some(m) = message { (alert(m)) }
        @if a.totp_enabled {
            (done("La double authentification est active : un code vous est demandé à chaque connexion."))
            p { a href="/" { "Retour à l'accueil" } }
        } @else {
            @if s.step == Step::Enrol {
                p { "La console demande, en plus du mot de passe, un code à 6 chiffres donné par une application d'authentification sur votre téléphone." }
            }
            (forms::enrol(&uri, &secret, "/double-facteur", &s.csrf))
        }
    };
    page::public(console, status, "Double authentification", body)
}

/// GET `/double-facteur`: enrol an authenticator app.
pub(super) async fn enrol_page(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
) -> Response {
    let (_, s, mut a) = match enrolling(&console, &headers) {
        Ok(x) => x,
        Err(to) => return redirect(to),
    };
    if !a.totp_enabled && a.totp_secret.is_none() {
        let _held = CODES.lock().await;
        if let Some(mut fresh) = console.shared.store.agent(&a.login).ok().flatten() {
            if fresh.totp_secret.is_none() {
                fresh.totp_secret = Some(totp::new_secret());
                if let Err(e) = console.shared.store.put_agent(&fresh) {
                    return page::unavailable(&e);
                }
            }
            a = fresh;
        }
    }
    enrol_form(&console, &s, &a, None, StatusCode::OK)
}

/// POST `/double-facteur`: confirm with a first code.
pub(super) async fn enrol(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    Form(f): Form<forms::CodeFields>,
) -> Response {
    let (token, s, a) = match enrolling(&console, &headers) {
        Ok(x) => x,
        Err(to) => return redirect(to),
    };
    if !csrf::matches(&s.csrf, &f.csrf) {
        return page::form_expired();
    }
    if a.totp_enabled {
        return redirect("/");
    }
    if !console
        .account_limiter
        .handle_attempt(s.login.clone(), now())
    {
        return enrol_form(
            &console,
            &s,
            &a,
            Some(TOO_MANY),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    match use_code(&console, &s.login, &f.code, true).await {
        Ok(agent) => {
            tracing::info!(agent = %agent.login, "agent enrolled a second factor");
            advance(&console, &token, &agent)
        }
        Err(e) => enrol_form(
            &console,
            &s,
            &a,
            Some(forms::code_message(e)),
            StatusCode::UNAUTHORIZED,
        ),
    }
}

fn password_form(
    console: &Console,
    s: &AgentSession,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let first = s.step == Step::ChangePassword;
    let body = forms::password_change("/mot-de-passe", &s.csrf, first, message);
    page::public(console, status, "Changer mon mot de passe", body)
}

/// The session allowed on the password page (signed in, or at that step).
fn changing(
    console: &Console,
    headers: &HeaderMap,
) -> Result<(String, AgentSession, Agent), &'static str> {
    match pending(console, headers) {
        None => Err("/connexion"),
        Some((t, s, a)) if matches!(s.step, Step::ChangePassword | Step::Ready) => Ok((t, s, a)),
        Some((_, s, _)) => Err(step_path(s.step)),
    }
}

/// GET `/mot-de-passe`.
pub(super) async fn password_page(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
) -> Response {
    match changing(&console, &headers) {
        Ok((_, s, _)) => password_form(&console, &s, None, StatusCode::OK),
        Err(to) => redirect(to),
    }
}

/// POST `/mot-de-passe`: every other session of the agent ends.
pub(super) async fn change_password(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    Form(f): Form<forms::PasswordFields>,
) -> Response {
    let (token, s, a) = match changing(&console, &headers) {
        Ok(x) => x,
        Err(to) => return redirect(to),
    };
    if !csrf::matches(&s.csrf, &f.csrf) {
        return page::form_expired();
    }
    if let Err(e) = password::check_new_password(&f.actuel, &f.nouveau, &f.confirmation) {
        return password_form(
            &console,
            &s,
            Some(forms::new_password_refusal(e)),
            StatusCode::BAD_REQUEST,
        );
    }
    if !console
        .account_limiter
        .handle_attempt(s.login.clone(), now())
    {
        return password_form(&console, &s, Some(TOO_MANY), StatusCode::TOO_MANY_REQUESTS);
    }
    let Ok(_permit) = console.password_checks.try_acquire() else {
        return password_form(
            &console,
            &s,
            Some("La console est très sollicitée. Réessayez dans un instant."),
            StatusCode::SERVICE_UNAVAILABLE,
        );
    };
    let (current, new, hash) = (f.actuel, f.nouveau, a.password_hash.clone());
    let hashed = tokio::task::spawn_blocking(move || {
        password::verify_password(&current, &hash).then(|| password::hash_password(&new))
    })
    .await
    .ok()
    .flatten();
    let new_hash = match hashed {
        Some(Ok(h)) => h,
        Some(Err(_)) | None => {
            return password_form(
                &console,
                &s,
                Some("Le mot de passe actuel est incorrect."),
                StatusCode::UNAUTHORIZED,
            )
        }
    };
    let store = &console.shared.store;
    let Some(mut fresh) = store.agent(&a.login).ok().flatten() else {
        return redirect("/connexion");
    };
    fresh.password_hash = new_hash;
    fresh.must_change_password = false;
    if let Err(e) = store.put_agent(&fresh) {
        return page::unavailable(&e);
    }
    // Every other session of this agent ends; this one goes on.
    let keep = passerelle_web::session::key(&token);
    let _ = console.sessions.backend().retain_others(&fresh.login, keep);
    tracing::info!(agent = %fresh.login, "agent changed their password");
    if s.step == Step::Ready {
        let body = html! {
            h1 { "Mot de passe changé" }
            (done("Votre mot de passe est changé. Vos autres connexions sont fermées."))
            p { a href="/" { "Retour à l'accueil" } }
        };
        let signed = Signed {
            token,
            session: s,
            agent: fresh,
        };
        return page::signed(&console, &signed, "/compte", "Mot de passe changé", body);
    }
    advance(&console, &token, &fresh)
}
