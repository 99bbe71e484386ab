//! Signing agents in and out: the password (argon2id; limits per address
//! and per account; the same work for an unknown login), then the steps
//! left (the second factor's code, the first password's change, the
//! enrolment of an authenticator app where `console.totp` requires it),
//! then the console. [`Signed`] is the extractor of a signed-in agent; a
//! session with a step left reaches only that step's page.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, Form, FromRequestParts, State},
    http::{request::Parts, HeaderMap, StatusCode},
    response::Response,
    routing::{get, post},
    Router,
};
use maud::html;
use passerelle_config::SecondFactor;
use passerelle_link::now;
use passerelle_web::{
    cookie::{cookies, set},
    csrf, password,
    signin::{Step, PENDING_TTL},
    style::csrf_field,
};
use serde::Deserialize;

use super::{
    page::{self, alert, redirect},
    Console,
};
use crate::agents::{Agent, AgentSession, Role};

mod steps;

const SESSION: &str = "pc_session";
const LOGIN: &str = "pc_login";

/// The sign-in pages, the agent's account, the home page.
pub fn router() -> Router<Arc<Console>> {
    Router::new()
        .route("/", get(home))
        .route("/connexion", get(login_page).post(login))
        .route("/deconnexion", post(logout))
        .route("/code", get(steps::code_page).post(steps::code))
        .route(
            "/mot-de-passe",
            get(steps::password_page).post(steps::change_password),
        )
        .route("/double-facteur", get(steps::enrol_page).post(steps::enrol))
        .route("/compte", get(account))
}

/// A signed-in agent with no step left, and their session.
pub struct Signed {
    /// The session's cookie token.
    pub token: String,
    /// The session.
    pub session: AgentSession,
    /// The agent, as stored now.
    pub agent: Agent,
}

impl Signed {
    /// The actor's text form for records: `agent:<login>`.
    pub fn by(&self) -> String {
        crate::Actor::Agent(self.agent.login.clone()).to_string()
    }

    /// Whether a form's token is this session's.
    pub fn csrf_ok(&self, given: &str) -> bool {
        csrf::matches(&self.session.csrf, given)
    }
}

impl FromRequestParts<Arc<Console>> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        console: &Arc<Console>,
    ) -> Result<Self, Self::Rejection> {
        match pending(console, &parts.headers) {
            Some((token, session, agent)) if session.step == Step::Ready => Ok(Signed {
                token,
                session,
                agent,
            }),
            Some((_, session, _)) => Err(redirect(step_path(session.step))),
            None => Err(redirect("/connexion")),
        }
    }
}

/// The page of a step.
pub(super) fn step_path(step: Step) -> &'static str {
    match step {
        Step::Ready => "/",
        Step::Code => "/code",
        Step::ChangePassword => "/mot-de-passe",
        Step::Enrol => "/double-facteur",
    }
}

/// A live session in any step, with its agent (a removed agent has none).
pub(super) fn pending(
    console: &Console,
    headers: &HeaderMap,
) -> Option<(String, AgentSession, Agent)> {
    let token = cookies(headers).remove(SESSION)?;
    let session = console.sessions.get(&token, now()).ok().flatten()?;
    match console.shared.store.agent(&session.login).ok().flatten() {
        Some(agent) => Some((token, session, agent)),
        None => {
            let _ = console.sessions.close(&token);
            None
        }
    }
}

pub(super) fn policy(console: &Console) -> SecondFactor {
    console.shared.config.console.totp
}

/// What an agent must do next, after the password (`code_given` false)
/// or after a code.
pub(super) fn next_step(console: &Console, agent: &Agent, code_given: bool) -> Step {
    let policy = policy(console);
    Step::after(
        agent,
        policy == SecondFactor::Required,
        code_given || policy == SecondFactor::Off,
    )
}

/// How long a session at `step` lasts (seconds).
pub(super) fn ttl(console: &Console, step: Step) -> u64 {
    let full = console.shared.config.console.session_ttl.as_secs();
    if step == Step::Ready {
        full
    } else {
        full.min(PENDING_TTL)
    }
}

pub(super) fn with_session(mut res: Response, token: &str, ttl: u64) -> Response {
    set(&mut res, SESSION, token, "/", ttl);
    res
}

fn login_form(console: &Console, message: Option<&str>, status: StatusCode) -> Response {
    let token = csrf::token();
    let body = html! {
        h1 { "Connexion à la console" }
        @if let Some(m) = message { (alert(m)) }
        form method="post" action="/connexion" {
            (csrf_field(&token))
            p {
                label for="identifiant" { "Identifiant" } br;
                input #identifiant name="identifiant" autocomplete="username" autocapitalize="none" required;
            }
            p {
                label for="mdp" { "Mot de passe" } br;
                input #mdp name="mdp" type="password" autocomplete="current-password" required;
            }
            p { button.gros type="submit" { "Me connecter" } }
        }
        p.note { "Votre compte est créé par l'administrateur du nœud de votre institution. Mot de passe oublié : demandez-lui de le réinitialiser." }
    };
    let mut res = page::public(console, status, "Connexion", body);
    set(&mut res, LOGIN, &token, "/connexion", 1800);
    res
}

/// GET `/connexion`.
async fn login_page(State(console): State<Arc<Console>>, headers: HeaderMap) -> Response {
    if let Some((_, s, _)) = pending(&console, &headers) {
        return redirect(step_path(s.step));
    }
    login_form(&console, None, StatusCode::OK)
}

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    identifiant: String,
    #[serde(default)]
    mdp: String,
    #[serde(default)]
    csrf: String,
}

pub(super) const TOO_MANY: &str = "Trop de tentatives. Attendez une minute avant de réessayer.";

/// POST `/connexion`.
async fn login(
    State(console): State<Arc<Console>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    let expected = cookies(&headers).remove(LOGIN).unwrap_or_default();
    if !csrf::matches(&expected, &f.csrf) {
        return page::form_expired();
    }
    let t = now();
    // Every attempt counts, before any work.
    let client = console.client(peer, &headers);
    if !console.ip_limiter.handle_attempt(client, t) {
        return login_form(&console, Some(TOO_MANY), StatusCode::TOO_MANY_REQUESTS);
    }
    let Ok(_permit) = console.password_checks.try_acquire() else {
        return login_form(
            &console,
            Some("La console est très sollicitée. Réessayez dans un instant."),
            StatusCode::SERVICE_UNAVAILABLE,
        );
    };
    let login = f.identifiant.trim().to_lowercase();
    if !console.account_limiter.handle_attempt(login.clone(), t) {
        tracing::warn!(agent = %login, ip = %client, "console sign-in over the per-account limit");
        return login_form(&console, Some(TOO_MANY), StatusCode::TOO_MANY_REQUESTS);
    }
    let agent = console.shared.store.agent(&login).ok().flatten();
    let hash = agent.as_ref().map(|a| a.password_hash.clone());
    let given = f.mdp;
    // The same work for an unknown login, so timing does not tell.
    let ok = tokio::task::spawn_blocking(move || {
        let checked = hash.as_deref().unwrap_or(password::dummy_hash());
        password::verify_password(&given, checked) && hash.is_some()
    })
    .await
    .unwrap_or(false);
    let Some(agent) = agent.filter(|_| ok) else {
        tracing::warn!(ip = %client, "console sign-in failed");
        return login_form(
            &console,
            Some("Identifiant ou mot de passe incorrect."),
            StatusCode::UNAUTHORIZED,
        );
    };
    let step = next_step(&console, &agent, false);
    let ttl = ttl(&console, step);
    let session = AgentSession {
        login: agent.login.clone(),
        csrf: csrf::token(),
        expires_at: t + ttl,
        step,
    };
    match console.sessions.open(&session, t) {
        Ok(token) => {
            tracing::info!(agent = %agent.login, ?step, "agent signed in to the console");
            with_session(redirect(step_path(step)), &token, ttl)
        }
        Err(e) => page::unavailable(&e),
    }
}

/// A form with only its token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    /// The token.
    #[serde(default)]
    pub csrf: String,
}

/// POST `/deconnexion` (from any step).
async fn logout(
    State(console): State<Arc<Console>>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    let Some((token, s, _)) = pending(&console, &headers) else {
        return redirect("/connexion");
    };
    if !csrf::matches(&s.csrf, &f.csrf) {
        return page::form_expired();
    }
    let _ = console.sessions.close(&token);
    let mut res = redirect("/connexion");
    set(&mut res, SESSION, "", "/", 0);
    res
}

/// GET `/`: what the agent can do, by role.
async fn home(State(console): State<Arc<Console>>, s: Signed) -> Response {
    let link = console.shared.link();
    let waiting = if s.agent.has(Role::Validator) {
        console
            .shared
            .store
            .batches()
            .unwrap_or_default()
            .iter()
            .filter(|b| {
                b.status == crate::store::BatchStatus::Pending
                    && crate::Actor::parse(&b.imported_by).to_string() != s.by()
            })
            .count()
    } else {
        0
    };
    let body = html! {
        h1 { "Bonjour " (s.agent.name) }
        p {
            "Vos rôles : "
            @for (i, r) in s.agent.roles.iter().enumerate() {
                @if i > 0 { ", " }
                (r.label())
            }
            "."
        }
        @if link.connected {
            p.ok { "Le nœud est relié à la plateforme." }
        } @else {
            (alert("Le nœud n'est pas relié à la plateforme en ce moment : relier une personne et voir ses autorisations attendront ; le reste fonctionne."))
        }
        @if waiting > 0 {
            p { strong { (waiting) " lot(s) attendent votre validation." } " " a href="/donnees#lots" { "Voir les lots" } }
        }
        ul.menu {
            @if s.agent.has(Role::Data) || s.agent.has(Role::Validator) || s.agent.has(Role::Admin) {
                li { a.gros href="/donnees" { "Données : importer, valider, revenir en arrière" } }
            }
            @if s.agent.has(Role::Counter) {
                li { a.gros href="/guichet" { "Guichet : relier une personne, déposer un document" } }
            }
            @if s.agent.has(Role::Admin) {
                li { a.gros href="/journal" { "Journal des opérations" } }
            }
        }
    };
    page::signed(&console, &s, "/", "Accueil", body)
}

/// GET `/compte`: the agent's account.
async fn account(State(console): State<Arc<Console>>, s: Signed) -> Response {
    let body = html! {
        h1 { "Mon compte" }
        dl {
            dt { "Identifiant" } dd { (s.agent.login) }
            dt { "Nom" } dd { (s.agent.name) }
            dt { "Rôles" } dd {
                @for (i, r) in s.agent.roles.iter().enumerate() {
                    @if i > 0 { ", " }
                    (r.label())
                }
            }
            dt { "Double authentification" } dd {
                @if s.agent.totp_enabled { "active" } @else { "non activée" }
            }
        }
        p { a href="/mot-de-passe" { "Changer mon mot de passe" } }
        @if policy(&console) != SecondFactor::Off && !s.agent.totp_enabled {
            p { a href="/double-facteur" { "Activer la double authentification" } }
        }
    };
    page::signed(&console, &s, "/compte", "Mon compte", body)
}
