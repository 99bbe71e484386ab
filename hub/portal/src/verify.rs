//! `/verifier`: the public check of a verifiable copy. It says whether a
//! presented copy is the one issued under its code, which institution
//! holds the original, and when the copy was issued — nothing more.

use std::sync::Arc;

use axum::{
    extract::{Multipart, Path, Query, State},
    http::{header, StatusCode},
    response::{Html, IntoResponse, Response},
};
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{date, page};
use passerelle_vault::{accounts::normalise_code, duplicate};

use crate::state::Ctx;

/// The public check of verifiable copies.
pub fn router() -> axum::Router<Arc<Ctx>> {
    use axum::routing::get;
    axum::Router::new().route("/verifier", get(start)).route(
        "/verifier/{code}",
        get(show)
            .post(check)
            .layer(axum::extract::DefaultBodyLimit::max(
                MAX_CHECKED + crate::multipart::FORM_LIMIT,
            )),
    )
}

/// Largest file checked.
const MAX_CHECKED: usize = 600 * 1024 * 1024;

/// `?code=` of the form.
#[derive(Debug, Deserialize)]
pub struct CodeQuery {
    #[serde(default)]
    code: String,
}

/// GET `/verifier`: type a code (or go straight to it).
pub async fn start(State(ctx): State<Arc<Ctx>>, Query(q): Query<CodeQuery>) -> Response {
    let code = normalise_code(&q.code);
    if !code.is_empty() {
        return (
            StatusCode::SEE_OTHER,
            [(
                header::LOCATION,
                format!("/verifier/{}", duplicate::display_code(&code)),
            )],
        )
            .into_response();
    }
    Html(page(
        &ctx,
        "Vérifier une copie",
        html! {
            h1 { "Vérifier une copie de document" }
            p { "Tapez le code de vérification imprimé sur la copie, ou scannez son code QR." }
            form method="get" action="/verifier" {
                p { label for="code" { "Code de vérification" } br; input #code name="code" required; }
                p { button.gros type="submit" { "Vérifier" } }
            }
        },
    ))
    .into_response()
}

/// The page of a code: what was issued under it and, after a check, the
/// verdict on the file presented.
fn found_html(ctx: &Ctx, code: &str, verdict: Option<bool>) -> (StatusCode, String) {
    let found = duplicate::find(&ctx.vault.store, &ctx.hub.key.public(), code);
    let display = duplicate::display_code(&normalise_code(code));
    let (status, body) = match found {
        Ok(duplicate::Found::Issued(seal, _)) => (StatusCode::OK, issued(&display, &seal, verdict)),
        Ok(duplicate::Found::Invalid) => (
            StatusCode::CONFLICT,
            html! {
                h1 { "Copie n° " (display) }
                p.demo role="alert" {
                    "L'enregistrement de cette copie ne peut pas être vérifié. Ne vous fiez pas à ce document."
                }
            },
        ),
        Ok(duplicate::Found::Unknown) => (
            StatusCode::NOT_FOUND,
            html! {
                h1 { "Code inconnu" }
                p.demo role="alert" { "Aucune copie ne porte le code " (display) ". Vérifiez le code." }
                p { a href="/verifier" { "Essayer un autre code" } }
            },
        ),
        Err(error) => {
            tracing::error!(%error, "duplicate lookup failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                html! { h1 { "Vérification indisponible" } p { "Réessayez plus tard." } },
            )
        }
    };
    (status, page(ctx, "Vérifier une copie", body))
}

/// A copy issued under the code: who holds the original, when it was
/// issued, the verdict on a presented file, and the form to present one.
fn issued(display: &str, seal: &duplicate::Seal, verdict: Option<bool>) -> Markup {
    html! {
        h1 { "Copie n° " (display) }
        @match verdict {
            None => {}
            Some(true) => p.ok role="status" {
                strong { "Authentique." } " Ce fichier est exactement la copie délivrée sous ce code."
            },
            Some(false) => p.demo role="alert" {
                strong { "Non conforme." }
                " Ce fichier n'est pas la copie délivrée sous ce code : il a été modifié, ou c'est un autre fichier."
            },
        }
        p { "Une copie vérifiable a bien été délivrée sous ce code." }
        ul {
            li { "Original détenu par : " strong { (seal.holder_name) } }
            li { "Copie délivrée le : " (date(seal.issued_at)) }
        }
        h2 { "Vérifier le fichier présenté" }
        form method="post" action={ "/verifier/" (display) } enctype="multipart/form-data" {
            p {
                label for="copie" { "Le fichier PDF de la copie" } br;
                input #copie name="copie" type="file" accept="application/pdf" required;
            }
            p { button.gros type="submit" { "Vérifier ce fichier" } }
        }
        p.note {
            "Une copie papier se vérifie avec son code : son contenu doit correspondre au document original détenu par l'institution."
        }
    }
}

/// GET `/verifier/{code}`.
pub async fn show(State(ctx): State<Arc<Ctx>>, Path(code): Path<String>) -> Response {
    let (status, html) = found_html(&ctx, &code, None);
    (status, Html(html)).into_response()
}

/// POST `/verifier/{code}` (multipart `copie`): compares the file's
/// SHA-256 with the one recorded, signed, at issue. The file is hashed as
/// it arrives and kept nowhere.
pub async fn check(
    State(ctx): State<Arc<Ctx>>,
    Path(code): Path<String>,
    mut form: Multipart,
) -> Response {
    let mut digest = None;
    while let Ok(Some(mut field)) = form.next_field().await {
        if field.name() != Some("copie") {
            // Any other field is a short text, bounded like every form's.
            if let Err(e) = crate::multipart::text(&mut field).await {
                return (e.status(), Html(found_html(&ctx, &code, None).1)).into_response();
            }
            continue;
        }
        let mut h = ring::digest::Context::new(&ring::digest::SHA256);
        let mut n = 0usize;
        loop {
            match field.chunk().await {
                Ok(Some(c)) => {
                    n += c.len();
                    if n > MAX_CHECKED {
                        break;
                    }
                    h.update(&c);
                }
                Ok(None) => {
                    digest = Some(h.finish());
                    break;
                }
                Err(_) => break,
            }
        }
        break;
    }
    let verdict = match (
        digest,
        duplicate::find(&ctx.vault.store, &ctx.hub.key.public(), &code),
    ) {
        (Some(d), Ok(duplicate::Found::Issued(_, copy))) => Some(d.as_ref() == copy),
        (None, Ok(duplicate::Found::Issued(..))) => Some(false),
        _ => None,
    };
    let (status, html) = found_html(&ctx, &code, verdict);
    (status, Html(html)).into_response()
}
