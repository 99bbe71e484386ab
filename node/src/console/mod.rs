//! The console: the web application of the institution's agents, served
//! by the running node on the institution's own network (`console_listen`
//! in `node.toml`; off when absent). In plain French, usable without
//! JavaScript, on a phone as on a desk, with the portal's look, sessions,
//! CSRF tokens and sign-in limits (`passerelle-web`).
//!
//! What an agent does here is what the command line does, through the
//! same functions ([`crate::batches`], [`crate::admin::link`],
//! [`crate::vault::deposit`]…), with the signed-in agent as the actor
//! (`agent:<login>` in records and in the audit chain):
//!
//! - [`auth`]: sign-in (argon2id, limits per address and per account),
//!   sign-out, the home page and the agent's account; its `steps`: the
//!   first password's change, the optional second factor.
//! - [`data`]: the batches, validating or rejecting another agent's batch,
//!   going back to the previous batch, what the hub last asked; its
//!   `imports`: importing a CSV file, with its full error report.
//! - [`counter`]: linking a person with the code their vault shows,
//!   depositing, listing and removing their documents, their consents.
//! - [`journal`]: the audit chain, filtered; the agents.
//! - [`page`]: the shell and the pieces of every page; [`words`]: French
//!   for what the node refuses; [`upload`]: files received to disk.
//!
//! Serving: HTTPS with `console.https_cert`/`https_key`, or plain HTTP on
//! loopback, or plain HTTP behind the institution's reverse proxy
//! (`console.trusted_proxy`), which is then the only client answered.

pub mod auth;
pub mod counter;
pub mod data;
pub mod journal;
pub mod page;
pub mod upload;
pub mod words;

use std::{net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderValue, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Router,
};
use passerelle_web::{ratelimit::RateLimiter, session::Sessions};
use tokio::{net::TcpListener, sync::watch};

use crate::{
    agents::{AgentSession, AgentSessions},
    serve::Shared,
    NodeError,
};

/// Sign-in attempts per address, and per account, each minute.
pub const SIGN_INS_PER_MINUTE: u32 = 5;

/// What the console's handlers share.
pub struct Console {
    /// The running node: configuration, store, documents, link.
    pub(crate) shared: Arc<Shared>,
    /// The agents' sessions, in the node's store.
    pub(crate) sessions: Sessions<AgentSession, AgentSessions>,
    /// Sign-in attempts per address.
    pub(crate) ip_limiter: RateLimiter,
    /// Sign-in attempts per account.
    pub(crate) account_limiter: RateLimiter<String>,
    /// Password checks running at once (argon2id is costly by design).
    pub(crate) password_checks: tokio::sync::Semaphore,
    /// Import reports, kept for their agent a while.
    pub(crate) reports: data::Reports,
    /// Served behind a reverse proxy on a network address: only that
    /// proxy is answered.
    pub(crate) proxy_only: Option<std::net::IpAddr>,
}

impl Console {
    /// The console of a running node.
    pub fn new(shared: Arc<Shared>, listen: SocketAddr) -> Self {
        let proxy_only = proxy_only(listen, &shared.config.console);
        Self {
            sessions: Sessions::new(shared.store.agent_sessions()),
            ip_limiter: RateLimiter::new(SIGN_INS_PER_MINUTE),
            account_limiter: RateLimiter::new(SIGN_INS_PER_MINUTE),
            password_checks: tokio::sync::Semaphore::new(2),
            reports: data::Reports::default(),
            proxy_only,
            shared,
        }
    }

    /// The client's address for limits: the peer, or behind the trusted
    /// proxy the address it forwards.
    pub(crate) fn client(
        &self,
        peer: SocketAddr,
        headers: &axum::http::HeaderMap,
    ) -> std::net::IpAddr {
        passerelle_web::cookie::client_key(passerelle_web::cookie::client_ip(
            peer.ip(),
            self.shared.config.console.trusted_proxy,
            headers,
        ))
    }
}

/// The only client answered, when the console speaks plain HTTP on an
/// address other than loopback: the institution's reverse proxy.
fn proxy_only(
    listen: SocketAddr,
    c: &passerelle_config::node::ConsoleConfig,
) -> Option<std::net::IpAddr> {
    (!c.https() && !listen.ip().is_loopback())
        .then_some(c.trusted_proxy)
        .flatten()
}

/// Every page of the console, with its security headers.
pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        .merge(auth::router())
        .merge(data::router())
        .merge(counter::router())
        .merge(journal::router())
        .route("/console.js", axum::routing::get(script))
        .fallback(|| async {
            page::problem(
                StatusCode::NOT_FOUND,
                "Page introuvable",
                "Cette adresse ne mène à aucune page de la console.",
            )
        })
        .layer(axum::extract::DefaultBodyLimit::max(
            passerelle_web::multipart::FORM_LIMIT,
        ))
        .layer(axum::middleware::from_fn_with_state(
            console.clone(),
            only_the_proxy,
        ))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(console)
}

/// Behind a reverse proxy on a network address, anyone else is refused.
async fn only_the_proxy(
    State(console): State<Arc<Console>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    match console.proxy_only {
        Some(proxy) if peer.ip() != proxy => {
            tracing::warn!(peer = %peer, "console asked by someone other than the trusted proxy");
            StatusCode::FORBIDDEN.into_response()
        }
        _ => next.run(req).await,
    }
}

async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    passerelle_web::cookie::secure(
        h,
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// The one script: the import's progress bar. Every page works without it.
const SCRIPT: &str = include_str!("console.js");

async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SCRIPT,
    )
        .into_response()
}

/// The TLS acceptor of `console.https_cert`/`https_key`, when given.
///
/// # Errors
/// When the files are unusable.
pub fn acceptor(
    config: &passerelle_config::NodeConfig,
) -> Result<Option<tokio_rustls::TlsAcceptor>, NodeError> {
    let c = &config.console;
    match (&c.https_cert, &c.https_key) {
        (Some(cert), Some(key)) => passerelle_web::https::acceptor(cert, key)
            .map(Some)
            .map_err(|e| NodeError::Dir {
                path: e.path,
                why: format!(
                    "{} (console.https_cert, console.https_key in node.toml)",
                    e.why
                ),
            }),
        _ => Ok(None),
    }
}

/// Serves the console until the node stops, with the same HTTP server
/// and timeouts as the hub's portal ([`passerelle_link::http`]).
pub async fn serve(
    console: Arc<Console>,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    let mut app = router(console.clone());
    if tls.is_some() {
        app = app.layer(axum::middleware::map_response(
            |mut res: Response| async move {
                res.headers_mut().insert(
                    header::STRICT_TRANSPORT_SECURITY,
                    HeaderValue::from_static("max-age=31536000"),
                );
                res
            },
        ));
    }
    let caps = passerelle_link::http::Caps {
        total: 256,
        per_address: 64,
        unlimited: console
            .shared
            .config
            .console
            .trusted_proxy
            .into_iter()
            .collect(),
    };
    let stop = async move {
        let _ = stop.changed().await;
    };
    drop(console);
    passerelle_link::http::serve(
        listener,
        app,
        tls,
        passerelle_link::http::Timeouts::default(),
        caps,
        stop,
    )
    .await;
}

#[cfg(test)]
mod tests {
    use passerelle_config::node::ConsoleConfig;

    #[test]
    fn plain_http_off_loopback_answers_the_proxy_only() {
        let proxy = "10.0.0.5".parse().unwrap();
        let behind = ConsoleConfig {
            trusted_proxy: Some(proxy),
            ..ConsoleConfig::default()
        };
        let any = "0.0.0.0:8476".parse().unwrap();
        let local = "127.0.0.1:8476".parse().unwrap();
        assert_eq!(super::proxy_only(any, &behind), Some(proxy));
        assert_eq!(super::proxy_only(local, &behind), None);
        let tls = ConsoleConfig {
            https_cert: Some("c.pem".into()),
            https_key: Some("k.pem".into()),
            ..behind
        };
        assert_eq!(super::proxy_only(any, &tls), None, "HTTPS answers everyone");
    }
}
