//! # passerelle-portal
//!
//! The web layer of the hub, and the only place that writes French for
//! people. It reaches the areas through their services ([`state::Ctx`]);
//! it never holds the CA key.
//!
//! The web portal, in French: public dashboards, indicator sheets with maps
//! and charts, open data and the JSON API. Server-rendered HTML that works
//! without JavaScript; maps and charts are SVG drawn here.
//!
//! - [`cache`]: rendered public pages, kept until a result changes.
//! - [`layout`]: the page shell, pieces every form or table shares, and
//!   French formatting. Every page is written with `maud::html!`, which
//!   escapes whatever it is given.
//! - [`public`]: the public pages' routes and handlers, and the API.
//! - [`pages`]: home, themes, dashboards, indicator sheets.
//! - [`error`]: [`PortalError`], the one error type, rendered in French
//!   by a layer at the top of the router.
//! - [`map`]: choropleth maps.
//! - [`chart`]: time series and bar charts.
//! - [`data`]: CSV/JSON downloads and the API.
//! - [`export`]: the one CSV writer, standard and French-spreadsheet.
//! - [`dcat`]: the DCAT-AP catalog of the open data (JSON-LD).
//! - [`directory`]: the directory of actors.
//! - [`https`]: the TLS acceptor built from configured certificate files.
//! - [`i18n`]: the vault's pages in the reader's language (Fluent), and
//!   the language switch.
//! - [`partner`]: sign-in, partner pages and activity reports.
//! - [`resources`]: the resource centre (public list, partners' uploads).
//! - [`vault`]: the beneficiary's vault pages.
//! - [`pro_vault`]: what professionals see of the vault.
//! - [`paging`]: long lists a page at a time.
//! - [`verify`]: the public check of verifiable copies.
//! - [`proof`]: "Vérifier ce chiffre": provenance bundles of published
//!   figures and how to check them.
//! - [`ops`]: `/metrics` and the network health page.
//! - [`multipart`]: bounded reading of multipart forms, and the body
//!   limit of every route without files.
//! - [`signin`]: OpenID Connect providers and sign-ins under way.
//! - [`state`]: what the handlers share.
//! - [`notices`]: the words of the codes and notices sent to people.
//!
//! Each area has its own router (public, partner, resources, vault,
//! professionals' vault, verification, operations); [`router`] merges
//! them and adds the layers every page shares.

pub mod cache;
pub mod chart;
pub mod data;
pub mod dcat;
pub mod directory;
pub mod error;
pub mod export;
pub mod https;
pub mod i18n;
pub mod layout;
pub mod legal;
pub mod map;
pub mod multipart;
pub mod notices;
pub mod ops;
pub mod pages;
pub mod paging;
pub mod partner;
pub mod portrait;
pub mod pro_keys;
pub mod pro_uploads;
pub mod pro_vault;
pub mod proof;
pub mod public;
pub mod resources;
pub mod signin;
pub mod state;
pub mod trust;
pub mod vault;
pub mod verify;

use std::sync::Arc;

use axum::{
    http::{header, HeaderValue},
    response::Response,
    Router,
};
use tokio::{net::TcpListener, sync::watch};

pub use error::PortalError;
pub use state::Ctx;

/// The portal: every area's router merged, with the French error pages,
/// the security headers and the request metrics on top.
pub fn router(ctx: Arc<Ctx>) -> Router {
    Router::new()
        .merge(public::router())
        .merge(partner::router())
        .merge(resources::router())
        .merge(vault::router())
        .merge(i18n::router())
        .merge(pro_vault::router())
        .merge(pro_uploads::router())
        .merge(verify::router())
        .merge(legal::router())
        .merge(trust::router())
        .merge(proof::router())
        .merge(portrait::router())
        .merge(ops::router())
        .fallback(|| async { PortalError::NotFound })
        // Every route's body limit; the upload routes set larger ones of
        // their own (the innermost limit wins).
        .layer(axum::extract::DefaultBodyLimit::max(multipart::FORM_LIMIT))
        .layer(axum::middleware::map_response_with_state(
            ctx.clone(),
            error::render,
        ))
        // The vault's pages in the reader's language (outside the error
        // pages, so that those are drawn in it too).
        .layer(axum::middleware::from_fn(i18n::scope))
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::middleware::from_fn(ops::track))
        .layer(axum::middleware::from_fn_with_state(
            ctx.clone(),
            shared_results,
        ))
        .with_state(ctx)
}

/// With a store several instances share, takes in what another instance
/// published before serving: the results in memory and the pages cached
/// from them are dropped when the store's results version moved (one
/// store read per request). A hub with a store of its own skips it.
async fn shared_results(
    axum::extract::State(ctx): axum::extract::State<Arc<Ctx>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    ctx.observatory.sync();
    next.run(req).await
}

async fn security_headers(mut res: Response) -> Response {
    passerelle_web::cookie::secure(
        res.headers_mut(),
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
    );
    res
}

/// Serves the portal until the hub stops: over HTTPS (with HSTS) when
/// `hub.toml` names certificate files, plain HTTP otherwise; the same
/// server and timeouts in both modes ([`passerelle_link::http`]).
pub async fn serve(
    ctx: Arc<Ctx>,
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    let ctx_config = ctx.hub.config.clone();
    let mut app = router(ctx);
    if tls.is_some() {
        app = app.layer(axum::middleware::map_response(
            |mut res: Response| async move {
                res.headers_mut().insert(
                    header::STRICT_TRANSPORT_SECURITY,
                    HeaderValue::from_static("max-age=31536000; includeSubDomains"),
                );
                res
            },
        ));
    }
    let config = &ctx_config;
    let timeouts = passerelle_link::http::Timeouts {
        header_read: config.http_header_timeout,
        body: config.http_body_timeout,
        ..passerelle_link::http::Timeouts::default()
    };
    let caps = passerelle_link::http::Caps {
        total: config.http_max_connections,
        per_address: config.http_max_connections_per_address,
        unlimited: config.trusted_proxy.into_iter().collect(),
    };
    let stop = async move {
        let _ = stop.changed().await;
    };
    passerelle_link::http::serve(listener, app, tls, timeouts, caps, stop).await;
}
