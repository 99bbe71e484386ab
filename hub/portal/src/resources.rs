//! The resource centre's pages: the public list and downloads, and the
//! partners' publishing form (a session and its CSRF token required).

use std::{fmt::Write as _, sync::Arc};

use axum::{
    extract::{Multipart, Path, Query, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
};
use passerelle_link::now;
use serde::Deserialize;

use super::{
    layout::{esc, page},
    partner::{forbidden, private, session, to_login},
};
use passerelle_observatory::{
    catalog::{theme_label, THEMES},
    resources::{self, Resource},
};

use crate::state::Ctx;

/// The public list's filter.
#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    #[serde(default)]
    theme: String,
}

/// GET the public list.
pub async fn list(State(ctx): State<Arc<Ctx>>, Query(f): Query<Filter>) -> Html<String> {
    let all = passerelle_observatory::resources::list(&ctx.hub).unwrap_or_default();
    let mut body = String::from(
        "<h1>Centre de ressources</h1><p>Études, bilans et rapports publiés par les partenaires.</p>\
<nav class=\"choix\" aria-label=\"Thème\"><a href=\"/ressources\">Tous</a>",
    );
    for (id, label) in THEMES {
        let cur = if f.theme == *id {
            " aria-current=\"page\""
        } else {
            ""
        };
        let _ = write!(
            body,
            "<a href=\"/ressources?theme={id}\"{cur}>{}</a>",
            esc(label)
        );
    }
    body.push_str("</nav><ul>");
    let mut n = 0;
    for r in all
        .iter()
        .filter(|r| f.theme.is_empty() || r.theme == f.theme)
    {
        n += 1;
        let _ = write!(
            body,
            "<li><a href=\"/ressources/{}.pdf\">{}</a> — {}, {} ({} ; PDF, {} Ko)</li>",
            r.id,
            esc(&r.title),
            esc(&r.institution),
            esc(&r.date),
            esc(theme_label(&r.theme)),
            r.size.div_ceil(1024)
        );
    }
    if n == 0 {
        body.push_str("<li>Aucun document pour l'instant.</li>");
    }
    body.push_str("</ul><p class=\"note\">Vous êtes partenaire ? <a href=\"/partenaires/ressources\">Publier un document</a>.</p>");
    Html(page(
        &ctx,
        "Centre de ressources",
        maud::PreEscaped(body.to_string()),
    ))
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
        return (
            StatusCode::NOT_FOUND,
            Html(page(
                &ctx,
                "Document introuvable",
                maud::PreEscaped(("<h1>Document introuvable</h1>").to_string()),
            )),
        )
            .into_response();
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
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

fn form(ctx: &Ctx, csrf: &str, message: Option<&str>) -> String {
    let mut themes = String::new();
    for (id, label) in THEMES {
        let _ = write!(themes, "<option value=\"{id}\">{}</option>", esc(label));
    }
    let msg = message
        .map(|m| format!("<p class=\"demo\" role=\"alert\">{}</p>", esc(m)))
        .unwrap_or_default();
    page(
        ctx,
        "Publier un document",
        maud::PreEscaped((format!(
            "<h1>Publier un document</h1>{msg}<p>Le document sera public. Il ne doit contenir aucune information sur une personne.</p>\
<form method=\"post\" action=\"/partenaires/ressources\" enctype=\"multipart/form-data\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<p><label for=\"title\">Titre</label><br><input id=\"title\" name=\"title\" required maxlength=\"200\"></p>\
<p><label for=\"theme\">Thème</label><br><select id=\"theme\" name=\"theme\">{themes}</select></p>\
<p><label for=\"date\">Date du document</label><br><input id=\"date\" name=\"date\" type=\"date\" required></p>\
<p><label for=\"file\">Fichier PDF ({} Mo au plus)</label><br><input id=\"file\" name=\"file\" type=\"file\" accept=\"application/pdf\" required></p>\
<p><button type=\"submit\">Publier</button></p></form>",
            resources::MAX_BYTES / 1024 / 1024
        )).to_string()),
    )
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
    let (mut csrf, mut title, mut theme, mut date, mut bytes) = (
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        Vec::new(),
    );
    loop {
        match parts.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_string();
                if name == "file" {
                    match field.bytes().await {
                        Ok(b) => bytes = b.to_vec(),
                        Err(_) => {
                            return private(
                                StatusCode::PAYLOAD_TOO_LARGE,
                                form(
                                    &ctx,
                                    &s.csrf,
                                    Some(&format!(
                                        "Le fichier dépasse {} Mo.",
                                        resources::MAX_BYTES / 1024 / 1024
                                    )),
                                ),
                            )
                        }
                    }
                } else {
                    let text = field.text().await.unwrap_or_default();
                    match name.as_str() {
                        "csrf" => csrf = text,
                        "title" => title = text,
                        "theme" => theme = text,
                        "date" => date = text,
                        _ => {}
                    }
                }
            }
            Ok(None) => break,
            Err(_) => {
                return private(
                    StatusCode::BAD_REQUEST,
                    form(&ctx, &s.csrf, Some("Le formulaire est incomplet.")),
                )
            }
        }
    }
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
