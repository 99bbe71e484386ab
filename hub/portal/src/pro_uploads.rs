//! What professionals see of the uploads people shared with them: the
//! shares in force, the uploads of one, and the download, opened with the
//! key their session holds (every access, refusals too, in the person's
//! journal).

use std::sync::Arc;

use axum::{
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use maud::{html, Markup};
use passerelle_link::now;
use passerelle_protocol::vault::procedure_label;
use passerelle_vault::share::{self, ShareRefusal};

use crate::{
    layout::{date, page},
    partner::private,
    state::Ctx,
    vault::{alert, extract::Professional, file_response, table_head},
};

/// The professionals' pages of shared uploads.
pub fn router() -> axum::Router<Arc<Ctx>> {
    use axum::routing::get;
    axum::Router::new()
        .route("/partenaires/depots/{share}", get(shared))
        .route("/partenaires/depots/{share}/{upload}", get(download))
}

fn person_label(ctx: &Ctx, person: &str) -> String {
    ctx.vault
        .store
        .person(person)
        .ok()
        .flatten()
        .map_or_else(|| "—".into(), |p| p.login)
}

/// The shares of uploads in force for a professional, for their home.
pub fn shares_section(ctx: &Ctx, pro: &Professional) -> Markup {
    let a = &pro.account;
    let list =
        share::granted_to(&ctx.vault.store, &a.institution, &a.email, now()).unwrap_or_default();
    html! {
        h2 { "Documents déposés par les personnes" }
        @if list.is_empty() {
            p { "Personne ne vous a encore partagé de document déposé." }
        } @else {
            table {
                (table_head(&["Personne", "Documents", "Démarche", "Jusqu'au", ""]))
                tbody {
                    @for s in &list {
                        tr {
                            td { (person_label(ctx, &s.person)) }
                            td { (s.scope_label) }
                            td { (procedure_label(&s.procedure)) }
                            td { (date(s.not_after)) }
                            td { a href={ "/partenaires/depots/" (s.id) } { "Voir les documents" } }
                        }
                    }
                }
            }
        }
    }
}

fn refused(ctx: &Ctx, r: ShareRefusal) -> Response {
    let words = match r {
        ShareRefusal::NoShare => {
            "Cette autorisation n'existe pas, a été retirée ou a expiré."
        }
        ShareRefusal::NotCovered => "Ce document n'est pas partagé avec vous, ou il a été supprimé.",
        ShareRefusal::KeyReplaced => {
            "Ce document ne peut plus être ouvert avec votre compte : votre mot de passe a été \
             réinitialisé depuis le partage. Demandez à la personne de le partager à nouveau."
        }
        ShareRefusal::Unrecorded => {
            "L'accès n'a pas pu être noté dans le journal, il n'a donc pas eu lieu. Réessayez plus tard."
        }
    };
    let status = match r {
        ShareRefusal::Unrecorded => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::FORBIDDEN,
    };
    let body = html! {
        h1 { "Document partagé" }
        (alert(words))
        p { a href="/partenaires/coffre" { "Retour" } }
    };
    private(status, page(ctx, "Document partagé", body))
}

/// The session's key: without it (a session opened before the hub
/// restarted its memory, or one the operator closed) nothing opens.
fn secret(ctx: &Ctx, headers: &HeaderMap) -> Option<share::ProSecret> {
    let (token, _) = crate::partner::session(ctx, headers)?;
    crate::pro_keys::of_session(ctx, &token)
}

const NO_KEY: &str =
    "Reconnectez-vous pour ouvrir les documents que les personnes vous ont partagés.";

/// GET `/partenaires/depots/{share}`.
pub async fn shared(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
    pro: Professional,
) -> Response {
    let a = &pro.account;
    let found = ctx.vault.store.share(&id).ok().flatten();
    let Some(s) = found.filter(|s| s.active(now()) && s.grantee.covers(&a.institution, &a.email))
    else {
        return refused(&ctx, ShareRefusal::NoShare);
    };
    let ups = share::shared_uploads(&ctx.vault.store, &s).unwrap_or_default();
    let body = html! {
        h1 { "Documents déposés par " (person_label(&ctx, &s.person)) }
        p {
            "Pour : " (procedure_label(&s.procedure))
            ". Autorisation valable jusqu'au " (date(s.not_after)) "."
        }
        @if ups.is_empty() {
            p { "Aucun document pour le moment." }
        } @else {
            ul {
                @for u in &ups {
                    li {
                        (u.category.label()) " : " (u.name) " — "
                        a href={ "/partenaires/depots/" (s.id) "/" (u.id) } { "Télécharger" }
                    }
                }
            }
        }
        p { a href="/partenaires/coffre" { "Retour" } }
    };
    private(StatusCode::OK, page(&ctx, "Documents partagés", body))
}

/// GET `/partenaires/depots/{share}/{upload}`.
pub async fn download(
    State(ctx): State<Arc<Ctx>>,
    Path((id, upload)): Path<(String, String)>,
    headers: HeaderMap,
    pro: Professional,
) -> Response {
    let Some(secret) = secret(&ctx, &headers) else {
        let body = html! {
            h1 { "Document partagé" }
            (alert(NO_KEY))
            p { a href="/partenaires/connexion" { "Me reconnecter" } }
        };
        return private(StatusCode::FORBIDDEN, page(&ctx, "Document partagé", body));
    };
    let opened = share::open(
        &ctx.hub.dir.vault(),
        &ctx.vault.store,
        &secret,
        &pro.account.institution,
        &id,
        &upload,
        now(),
    );
    match opened {
        Ok(Ok((u, bytes))) => file_response(Body::from(bytes), &u.mime, &u.name),
        Ok(Err(r)) => refused(&ctx, r),
        Err(error) => {
            tracing::error!(%error, "shared upload not readable");
            crate::PortalError::Internal.into_response()
        }
    }
}
