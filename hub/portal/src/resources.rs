//! The resource centre's pages: the public list and downloads, and the
//! partners' publishing form (a session and its CSRF token required).

use std::sync::Arc;

use axum::{
    extract::{Multipart, Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
};
use maud::html;
use passerelle_link::now;
use serde::Deserialize;

use super::{
    layout::{alert, csrf_field, page},
    partner::{forbidden, private, session, to_login},
};
use passerelle_observatory::{
    catalog::{theme_label, THEMES},
    resources::{self, Resource},
};

use crate::state::Ctx;

/// The resource centre's publishing form (partners); the public list is
/// in [`crate::public`].
pub fn router() -> axum::Router<Arc<Ctx>> {
    axum::Router::new().route(
        "/partenaires/ressources",
        axum::routing::get(new)
            .post(publish)
            .layer(axum::extract::DefaultBodyLimit::max(
                passerelle_observatory::resources::MAX_BYTES + crate::multipart::FORM_LIMIT,
            )),
    )
}

/// The public list's filter.
#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    #[serde(default)]
    theme: String,
}

/// GET the public list.
pub async fn list(State(ctx): State<Arc<Ctx>>, Query(f): Query<Filter>) -> Html<String> {
    let all = passerelle_observatory::resources::list(&ctx.hub).unwrap_or_default();
    let shown: Vec<&Resource> = all
        .iter()
        .filter(|r| f.theme.is_empty() || r.theme == f.theme)
        .collect();
    let body = html! {
        h1 { "Centre de ressources" }
        p { "Études, bilans et rapports publiés par les partenaires." }
        nav.choix aria-label="Thème" {
            a href="/ressources" { "Tous" }
            @for (id, label) in THEMES {
                a href={ "/ressources?theme=" (id) } aria-current=[(f.theme == *id).then_some("page")] { (label) }
            }
        }
        ul {
            @for r in &shown {
                li {
                    a href={ "/ressources/" (r.id) ".pdf" } { (r.title) }
                    " — " (r.institution) ", " (r.date)
                    " (" (theme_label(&r.theme)) " ; PDF, " (r.size.div_ceil(1024)) " Ko)"
                }
            }
            @if shown.is_empty() { li { "Aucun document pour l'instant." } }
        }
        p.note {
            "Vous êtes partenaire ? " a href="/partenaires/ressources" { "Publier un document" } "."
        }
    };
    Html(page(&ctx, "Centre de ressources", body))
}

/// GET a document.
pub async fn download(State(ctx): State<Arc<Ctx>>, Path(file): Path<String>) -> Response {
    let id = file.strip_suffix(".pdf").unwrap_or_default();
    let known = ctx
        .hub
        .store
        .resources::<Resource>()
        .unwrap_or_default()
        .into_iter()
        .any(|r| r.id == id);
    let Some(path) = resources::file(&ctx.hub, id).filter(|_| known) else {
        return crate::PortalError::NotFound.into_response();
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/pdf"),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_str(&format!("attachment; filename=\"{id}.pdf\""))
                        .unwrap_or(HeaderValue::from_static("attachment")),
                ),
            ],
            bytes,
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, path = %path.display(), "listed resource has no readable file");
            crate::PortalError::NotFound.into_response()
        }
    }
}

/// The publishing form, with a message when a try was refused.
fn form(ctx: &Ctx, csrf: &str, message: Option<&str>) -> String {
    let body = html! {
        h1 { "Publier un document" }
        @if let Some(m) = message { (alert(m)) }
        p { "Le document sera public. Il ne doit contenir aucune information sur une personne." }
        form method="post" action="/partenaires/ressources" enctype="multipart/form-data" {
            (csrf_field(csrf))
            p { label for="title" { "Titre" } br; input #title name="title" required maxlength="200"; }
            p {
                label for="theme" { "Thème" } br;
                select #theme name="theme" {
                    @for (id, label) in THEMES { option value=(id) { (label) } }
                }
            }
            p { label for="date" { "Date du document" } br; input #date name="date" type="date" required; }
            p {
                label for="file" { "Fichier PDF (" (resources::MAX_BYTES / 1024 / 1024) " Mo au plus)" } br;
                input #file name="file" type="file" accept="application/pdf" required;
            }
            p { button type="submit" { "Publier" } }
        }
    };
    page(ctx, "Publier un document", body)
}

/// GET the publishing form.
pub async fn new(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_login();
    };
    private(StatusCode::OK, form(&ctx, &s.csrf, None))
}

/// POST a document.
pub async fn publish(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    mut parts: Multipart,
) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_login();
    };
    let Some(account) = ctx.hub.store.account(&s.email).ok().flatten() else {
        return to_login();
    };
    let Upload {
        csrf,
        title,
        theme,
        date,
        bytes,
    } = match read_upload(&mut parts).await {
        Ok(upload) => upload,
        Err((status, message)) => return private(status, form(&ctx, &s.csrf, Some(&message))),
    };
    if !passerelle_protocol::sign::constant_time_eq(s.csrf.as_bytes(), csrf.as_bytes()) {
        return forbidden(&ctx);
    }
    if let Err(why) = resources::check(&title, &theme, &date, &bytes) {
        return private(
            StatusCode::UNPROCESSABLE_ENTITY,
            form(&ctx, &s.csrf, Some(&why.0)),
        );
    }
    let institution = ctx
        .hub
        .store
        .node(&account.institution)
        .ok()
        .flatten()
        .map(|n| n.name)
        .unwrap_or_default();
    let r = Resource {
        id: String::new(),
        title: title.trim().into(),
        theme,
        institution,
        date,
        size: 0,
        sha256: String::new(),
        published_by: account.email.clone(),
        published_at: now(),
    };
    match resources::publish(&ctx.hub, r, &bytes) {
        Ok(r) => {
            tracing::info!(account = %account.email, resource = %r.id, "document published");
            (StatusCode::SEE_OTHER, [(header::LOCATION, "/ressources")]).into_response()
        }
        Err(e) => private(
            StatusCode::INTERNAL_SERVER_ERROR,
            form(
                &ctx,
                &s.csrf,
                Some(&format!("Enregistrement impossible : {e}")),
            ),
        ),
    }
}

/// The publishing form's fields, as sent.
#[derive(Debug, Default)]
pub struct Upload {
    /// The form's token.
    pub csrf: String,
    /// The document's title.
    pub title: String,
    /// Its theme id.
    pub theme: String,
    /// Its date, as typed.
    pub date: String,
    /// The file.
    pub bytes: Vec<u8>,
}

/// Reads the publishing form, each text field bounded
/// ([`crate::multipart::text`]); on failure, the status and the message
/// to show above the form. Public for the fuzz targets.
pub async fn read_upload(parts: &mut Multipart) -> Result<Upload, (StatusCode, String)> {
    let mut u = Upload::default();
    loop {
        match parts.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                if name == "file" {
                    match field.bytes().await {
                        Ok(b) => u.bytes = b.to_vec(),
                        Err(_) => {
                            return Err((
                                StatusCode::PAYLOAD_TOO_LARGE,
                                format!(
                                    "Le fichier dépasse {} Mo.",
                                    resources::MAX_BYTES / 1024 / 1024
                                ),
                            ))
                        }
                    }
                } else {
                    let mut field = field;
                    let text = match crate::multipart::text(&mut field).await {
                        Ok(text) => text,
                        Err(e) => {
                            return Err((
                                e.status(),
                                "Un champ du formulaire est trop long.".into(),
                            ))
                        }
                    };
                    match name.as_str() {
                        "csrf" => u.csrf = text,
                        "title" => u.title = text,
                        "theme" => u.theme = text,
                        "date" => u.date = text,
                        _ => {}
                    }
                }
            }
            Ok(None) => return Ok(u),
            Err(_) => {
                return Err((
                    StatusCode::BAD_REQUEST,
                    "Le formulaire est incomplet.".into(),
                ))
            }
        }
    }
}
