//! The public observatory: home, themes, indicator sheets, open data
//! downloads, the directory, the resource centre and the JSON API. Pages
//! come from the cache ([`crate::cache`]) until a result changes.

use std::sync::Arc;

use axum::{
    extract::{Path, Query, State},
    http::{header, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::get,
    Json, Router,
};
use passerelle_protocol::geo::Level;
use serde::Deserialize;

use crate::{
    data, dcat, directory, error::PortalError, export::Dialect, pages, partner, resources,
    state::Ctx,
};

/// The public pages and the API.
pub fn router() -> Router<Arc<Ctx>> {
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
        .route("/donnees/catalogue.jsonld", get(dcat::catalog))
        .route("/donnees/{file}", get(download))
        .route("/api/catalog", get(api_catalog))
        .route("/api/indicators/{id}", get(api_indicator))
        .route("/api/geography", get(|| async { Json(data::geography()) }))
        .route("/api/openapi.json", get(|| async { Json(data::openapi()) }))
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
}

async fn home(State(ctx): State<Arc<Ctx>>) -> Html<String> {
    Html(pages::home(&ctx))
}

async fn themes(State(ctx): State<Arc<Ctx>>) -> Response {
    cached(&ctx, "themes".into(), || Some(pages::themes(&ctx)))
}

/// A public page from the cache, rendered on a miss; 404 when `render`
/// finds nothing.
pub(crate) fn cached(ctx: &Ctx, key: String, render: impl FnOnce() -> Option<String>) -> Response {
    match ctx
        .pages
        .get_or_render(&key, ctx.observatory.generation(), render)
    {
        Some(page) => Html(page.as_ref().clone()).into_response(),
        None => PortalError::NotFound.into_response(),
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
    /// `csv` (standard) or `csv-fr` (French spreadsheet), for CSV.
    format: Option<String>,
    /// A breakdown (`par=sexe`), for CSV.
    par: Option<String>,
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
    let ind = ctx.indicator(id)?.clone();
    let r = ctx.latest(id)?;
    Some((ind, r))
}

async fn download(
    State(ctx): State<Arc<Ctx>>,
    Path(file): Path<String>,
    Query(p): Query<LevelParams>,
) -> Response {
    let Ok(level) = p.level() else {
        return PortalError::BadRequest("Niveau inconnu : choisissez commune, epci ou department.")
            .into_response();
    };
    let (id, ext) = file.rsplit_once('.').unwrap_or((&file, ""));
    let Some(dialect) = Dialect::from_query(p.format.as_deref()) else {
        return PortalError::BadRequest("Format inconnu : choisissez csv ou csv-fr.")
            .into_response();
    };
    let Some((ind, r)) = latest(&ctx, id) else {
        return PortalError::NotFound.into_response();
    };
    if let (Some(by), "csv") = (p.par.as_deref(), ext) {
        return match data::breakdown_csv(&ind, &r, by, level, dialect) {
            Some(body) => (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/csv; charset=utf-8"),
                    ),
                    (
                        header::CONTENT_DISPOSITION,
                        HeaderValue::from_str(&format!(
                            "attachment; filename=\"{}-{}{}.csv\"",
                            ind.id,
                            by,
                            dialect.file_suffix()
                        ))
                        .unwrap_or(HeaderValue::from_static("attachment")),
                    ),
                ],
                body,
            )
                .into_response(),
            None => PortalError::NotFound.into_response(),
        };
    }
    let name = format!(
        "attachment; filename=\"{}{}{}.{ext}\"",
        ind.id,
        level.map(|l| format!("-{l}")).unwrap_or_default(),
        if ext == "csv" {
            dialect.file_suffix()
        } else {
            ""
        }
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
            data::indicator_csv(&ind, &r, level, dialect),
        )
            .into_response(),
        "json" => (
            [(header::CONTENT_DISPOSITION, disposition)],
            Json(data::indicator_json(
                &ind,
                &r,
                ctx.pending_draft(id).as_deref(),
                level,
            )),
        )
            .into_response(),
        _ => PortalError::NotFound.into_response(),
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
        Some((ind, r)) => Json(data::indicator_json(&ind, &r, ctx.pending_draft(&id).as_deref(), level)).into_response(),
        None => (StatusCode::NOT_FOUND, Json(serde_json::json!({"error": format!("unknown or not yet computed indicator {id:?}")}))).into_response(),
    }
}
