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
//! - [`pages`]: home, themes, dashboards, indicator sheets.
//! - [`map`]: choropleth maps.
//! - [`chart`]: time series and bar charts.
//! - [`data`]: CSV/JSON downloads and the API.
//! - [`directory`]: the directory of actors.
//! - [`https`]: the TLS acceptor built from configured certificate files.
//! - [`partner`]: sign-in, partner pages and activity reports.
//! - [`resources`]: the resource centre (public list, partners' uploads).
//! - [`vault`]: the beneficiary's vault pages.
//! - [`pro_vault`]: what professionals see of the vault.
//! - [`verify`]: the public check of verifiable copies.
//! - [`ops`]: `/metrics` and the network health page.
//! - [`state`]: what the handlers share.

pub mod cache;
pub mod chart;
pub mod data;
pub mod directory;
pub mod https;
pub mod layout;
pub mod map;
pub mod ops;
pub mod pages;
pub mod partner;
pub mod pro_vault;
pub mod resources;
pub mod state;
pub mod vault;
pub mod verify;

use std::sync::Arc;

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use passerelle_protocol::geo::Level;
use serde::Deserialize;
use tokio::{net::TcpListener, sync::watch};

pub use state::Ctx;

/// The router.
pub fn router(ctx: Arc<Ctx>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/themes", get(themes))
        .route("/theme/{id}", get(theme))
        .route("/indicateur/{id}", get(sheet))
        .route("/donnees", get(open_data))
        .route(
            "/annuaire",
            get(
                |State(ctx): State<Arc<Ctx>>, Query(f): Query<directory::Filters>| async move {
                    Html(directory::page_html(&ctx, &f))
                },
            ),
        )
        .route("/donnees/{file}", get(download))
        .route("/api/catalog", get(api_catalog))
        .route("/api/indicators/{id}", get(api_indicator))
        .route("/api/geography", get(|| async { Json(data::geography()) }))
        .route("/api/openapi.json", get(|| async { Json(data::openapi()) }))
        .route("/partenaires", get(partner::home))
        .route(
            "/partenaires/connexion",
            get(partner::login_page).post(partner::login),
        )
        .route(
            "/partenaires/deconnexion",
            axum::routing::post(partner::logout),
        )
        .route("/partenaires/rapport", get(partner::report))
        .route(
            "/partenaires/ressources",
            get(resources::new).post(resources::publish).layer(
                axum::extract::DefaultBodyLimit::max(
                    passerelle_observatory::resources::MAX_BYTES + 64 * 1024,
                ),
            ),
        )
        .route("/coffre", get(vault::home))
        .route("/coffre/creer", get(vault::create_page).post(vault::create))
        .route(
            "/coffre/connexion",
            get(vault::login_page).post(vault::login),
        )
        .route("/coffre/deconnexion", post(vault::logout))
        .route(
            "/coffre/recuperer",
            get(vault::reset_page).post(vault::reset),
        )
        .route("/coffre/institution/{node}/{doc}", get(vault::download))
        .route("/coffre/copie/{node}/{doc}", post(vault::copy))
        .route(
            "/coffre/depots",
            post(vault::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/coffre/depots/{id}", get(vault::upload_download))
        .route("/coffre/depots/{id}/supprimer", post(vault::upload_delete))
        .route("/coffre/lier", post(vault::link_code))
        .route("/coffre/partages", get(vault::consents).post(vault::grant))
        .route("/coffre/partages/{id}/retirer", post(vault::revoke))
        .route("/coffre/journal", get(vault::journal))
        .route("/coffre/export", get(vault::export))
        .route("/partenaires/coffre", get(pro_vault::home))
        .route(
            "/partenaires/coffre/aide",
            get(pro_vault::assist_page).post(pro_vault::assist),
        )
        .route("/partenaires/coffre/code", post(pro_vault::reset_code))
        .route("/partenaires/coffre/{consent}", get(pro_vault::shared))
        .route(
            "/partenaires/coffre/{consent}/{node}/{doc}",
            get(pro_vault::download),
        )
        .route(
            "/partenaires/coffre/{consent}/{node}/{doc}/copie",
            post(pro_vault::copy),
        )
        .route("/verifier", get(verify::start))
        .route(
            "/verifier/{code}",
            get(verify::show)
                .post(verify::check)
                .layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/ressources", get(resources::list))
        .route("/ressources/{file}", get(resources::download))
        .route(
            "/static/imprimer.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    partner::PRINT_JS,
                )
            }),
        )
        .route("/healthz", get(ops::healthz))
        .route("/metrics", get(ops::metrics))
        .route("/sante", get(ops::health))
        .fallback(not_found)
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::middleware::from_fn(ops::track))
        .with_state(ctx)
}

async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
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
    let stop = async move {
        let _ = stop.changed().await;
    };
    passerelle_link::http::serve(
        listener,
        app,
        tls,
        passerelle_link::http::Timeouts::default(),
        stop,
    )
    .await;
}

fn missing(ctx: &Ctx) -> Response {
    let body = layout::page(
        ctx,
        "Page introuvable",
        maud::html! {
            h1 { "Page introuvable" }
            p { "Cette page n'existe pas. " a href="/" { "Retour à l'accueil" } "." }
        },
    );
    (StatusCode::NOT_FOUND, Html(body)).into_response()
}

async fn not_found(State(ctx): State<Arc<Ctx>>) -> Response {
    missing(&ctx)
}

async fn home(State(ctx): State<Arc<Ctx>>) -> Html<String> {
    Html(pages::home(&ctx))
}

async fn themes(State(ctx): State<Arc<Ctx>>) -> Response {
    cached(&ctx, "themes".into(), || Some(pages::themes(&ctx)))
}

/// A public page from the cache, rendered on a miss; 404 when `render`
/// finds nothing.
fn cached(ctx: &Ctx, key: String, render: impl FnOnce() -> Option<String>) -> Response {
    match ctx
        .pages
        .get_or_render(&key, ctx.observatory.generation(), render)
    {
        Some(page) => Html(page.as_ref().clone()).into_response(),
        None => missing(ctx),
    }
}

async fn open_data(State(ctx): State<Arc<Ctx>>) -> Response {
    cached(&ctx, "donnees".into(), || Some(pages::open_data(&ctx)))
}

async fn theme(State(ctx): State<Arc<Ctx>>, Path(id): Path<String>) -> Response {
    cached(&ctx, format!("theme/{id}"), || pages::theme(&ctx, &id))
}

/// Query of an indicator sheet.
#[derive(Debug, Deserialize)]
pub struct SheetParams {
    niveau: Option<String>,
    periode: Option<String>,
}

async fn sheet(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
    Query(p): Query<SheetParams>,
) -> Response {
    let level = match p.niveau.as_deref() {
        Some("epci") => Level::Epci,
        _ => Level::Commune,
    };
    let period: Option<passerelle_protocol::period::Period> =
        p.periode.and_then(|s| s.parse().ok());
    // Only a period the indicator has enters the key, so requests for every
    // possible period cannot cycle the cache.
    let period = period.filter(|p| {
        ctx.latest(&id)
            .is_some_and(|r| r.cells.iter().any(|c| &c.period == p))
    });
    let key = format!(
        "sheet/{id}/{level}/{}",
        period.map(|p| p.to_string()).unwrap_or_default()
    );
    cached(&ctx, key, || {
        pages::sheet(&ctx, &id, &pages::SheetQuery { level, period })
    })
}

/// Query of a download or API call.
#[derive(Debug, Deserialize)]
pub struct LevelParams {
    niveau: Option<String>,
    level: Option<String>,
}

impl LevelParams {
    fn level(&self) -> Result<Option<Level>, String> {
        self.niveau
            .as_deref()
            .or(self.level.as_deref())
            .map(str::parse)
            .transpose()
    }
}

fn latest(
    ctx: &Ctx,
    id: &str,
) -> Option<(
    passerelle_observatory::catalog::Indicator,
    Arc<passerelle_observatory::refresh::IndicatorResult>,
)> {
    let ind = ctx.observatory.indicator(id)?.clone();
    let r = ctx.latest(id)?;
    Some((ind, r))
}

async fn download(
    State(ctx): State<Arc<Ctx>>,
    Path(file): Path<String>,
    Query(p): Query<LevelParams>,
) -> Response {
    let Ok(level) = p.level() else {
        return (
            StatusCode::BAD_REQUEST,
            "niveau inconnu : commune, epci ou department",
        )
            .into_response();
    };
    let (id, ext) = file.rsplit_once('.').unwrap_or((&file, ""));
    let Some((ind, r)) = latest(&ctx, id) else {
        return missing(&ctx);
    };
    let name = format!(
        "attachment; filename=\"{}{}.{ext}\"",
        ind.id,
        level.map(|l| format!("-{l}")).unwrap_or_default()
    );
    let disposition =
        HeaderValue::from_str(&name).unwrap_or(HeaderValue::from_static("attachment"));
    match ext {
        "csv" => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/csv; charset=utf-8"),
                ),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            data::indicator_csv(&ind, &r, level),
        )
            .into_response(),
        "json" => (
            [(header::CONTENT_DISPOSITION, disposition)],
            Json(data::indicator_json(&ind, &r, level)),
        )
            .into_response(),
        _ => missing(&ctx),
    }
}

async fn api_catalog(State(ctx): State<Arc<Ctx>>) -> Json<serde_json::Value> {
    Json(data::catalog(&ctx))
}

async fn api_indicator(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
    Query(p): Query<LevelParams>,
) -> Response {
    let Ok(level) = p.level() else {
        return (
            StatusCode::BAD_REQUEST,
            Json(serde_json::json!({"error": "unknown level: use commune, epci or department"})),
        )
            .into_response();
    };
    match latest(&ctx, &id) {
        Some((ind, r)) => Json(data::indicator_json(&ind, &r, level)).into_response(),
        None => (StatusCode::NOT_FOUND, Json(serde_json::json!({"error": format!("unknown or not yet computed indicator {id:?}")}))).into_response(),
    }
}
