//! `/guichet`: the counter. A counter agent links a person's record here
//! to their vault with the code the person's vault shows, deposits a
//! document for them (a scan or a file, checked by its content, with its
//! category and the procedure it is for), lists and removes their
//! documents, and sees which consents the person gave the institution
//! and until when (asked of the hub: the node keeps none).

use std::sync::Arc;

use axum::{
    extract::{Multipart, Path, Query, State},
    http::StatusCode,
    response::Response,
    routing::{get, post},
    Form, Router,
};
use maud::html;
use passerelle_link::now;
use passerelle_protocol::vault::{procedure_label, Category, Grantee, PROCEDURES};
use passerelle_web::{multipart::text, style::csrf_field};
use serde::Deserialize;

use super::{
    auth::Signed,
    data::who,
    page::{self, alert, column_heads, date, day, done, redirect},
    upload, words, Console,
};
use crate::{agents::Role, vault, NodeError};

/// The counter's pages.
pub fn router() -> Router<Arc<Console>> {
    Router::new()
        .route("/guichet", get(counter))
        .route("/guichet/relier", post(link))
        .route("/guichet/personne", get(person))
        .route(
            "/guichet/deposer",
            post(deposit).layer(axum::extract::DefaultBodyLimit::max(
                (vault::MAX_DOCUMENT + 64 * 1024) as usize,
            )),
        )
        .route("/guichet/documents/{id}/retirer", post(remove))
}

/// A text for a URL's query, percent-encoded (RFC 3986's unreserved
/// characters kept).
pub use passerelle_web::cookie::percent_encode as query_value;

fn person_path(local_id: &str, fait: &str) -> String {
    format!(
        "/guichet/personne?dossier={}&fait={fait}",
        query_value(local_id)
    )
}

fn counter_page(
    console: &Console,
    s: &Signed,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    if !s.agent.has(Role::Counter) {
        return page::not_allowed(console, s, Role::Counter);
    }
    let body = html! {
        h1 { "Guichet" }
        @if let Some(m) = message { (alert(m)) }
        h2 { "Relier une personne à son coffre-fort" }
        p { "La personne affiche un code dans son coffre-fort (« Relier une institution »). Saisissez-le avec le numéro de son dossier chez vous : ses documents de votre institution apparaîtront dans son coffre." }
        form method="post" action="/guichet/relier" {
            (csrf_field(&s.session.csrf))
            p {
                label for="dossier" { "Numéro de dossier" } br;
                input #dossier name="dossier" maxlength="64" autocomplete="off" required;
            }
            p {
                label for="code" { "Code affiché par la personne" } br;
                input #code name="code" autocomplete="off" autocapitalize="characters" required;
            }
            p { button.gros type="submit" { "Relier" } }
        }
        h2 { "Ouvrir un dossier" }
        form method="get" action="/guichet/personne" {
            p {
                label for="ouvrir" { "Numéro de dossier" } br;
                input #ouvrir name="dossier" maxlength="64" autocomplete="off" required;
            }
            p { button.gros.clair type="submit" { "Ouvrir le dossier" } }
        }
    };
    let mut res = page::signed(console, s, "/guichet", "Guichet", body);
    *res.status_mut() = status;
    res
}

/// GET `/guichet`.
async fn counter(State(console): State<Arc<Console>>, s: Signed) -> Response {
    counter_page(&console, &s, None, StatusCode::OK)
}

/// The link form's fields.
#[derive(Debug, Deserialize)]
struct LinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    dossier: String,
    #[serde(default)]
    code: String,
}

/// The status of a refusal the agent can act on.
fn refused_status(e: &NodeError) -> StatusCode {
    match e {
        NodeError::Rule(crate::Refusal::NotConnected | crate::Refusal::NeedsRunningNode) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::CONFLICT,
    }
}

/// POST `/guichet/relier`: the same link as `passerelle-node link`.
async fn link(State(console): State<Arc<Console>>, s: Signed, Form(f): Form<LinkForm>) -> Response {
    if !s.csrf_ok(&f.csrf) {
        return page::form_expired();
    }
    if !s.agent.has(Role::Counter) {
        return page::not_allowed(&console, &s, Role::Counter);
    }
    let local_id = f.dossier.trim();
    match crate::admin::link(&console.shared, local_id, &f.code, &s.by()).await {
        Ok(l) => redirect(&person_path(&l.local_id, "relie")),
        Err(e) => match words::refusal(&e) {
            Some(french) => counter_page(&console, &s, Some(&french), refused_status(&e)),
            None => page::unavailable(&e),
        },
    }
}

/// The person page's query.
#[derive(Debug, Deserialize)]
struct PersonQuery {
    #[serde(default)]
    dossier: String,
    #[serde(default)]
    fait: String,
}

fn done_message(fait: &str) -> Option<&'static str> {
    Some(match fait {
        "relie" => "Le dossier est relié au coffre-fort de la personne.",
        "depose" => "Le document est déposé : il apparaît dans le coffre-fort de la personne.",
        "retire" => "Le document est retiré.",
        _ => return None,
    })
}

/// Who a consent lets see, in words.
fn grantee(g: &Grantee) -> String {
    match g {
        Grantee::Institution(_) => "tous les professionnels de votre institution".into(),
        Grantee::Professional { account, .. } => format!("le professionnel {account}"),
    }
}

/// The person page: link, documents, deposit form, consents; with a
/// message (an alert when `true`).
async fn person_page(
    console: &Console,
    s: &Signed,
    local_id: &str,
    message: Option<(&str, bool)>,
    status: StatusCode,
) -> Response {
    if !s.agent.has(Role::Counter) {
        return page::not_allowed(console, s, Role::Counter);
    }
    if vault::check_local_id(local_id).is_err() {
        return counter_page(
            console,
            s,
            Some("Le numéro de dossier doit compter de 1 à 64 caractères, sans caractère de contrôle."),
            StatusCode::BAD_REQUEST,
        );
    }
    let store = &console.shared.store;
    let (link, docs) = match (store.link(local_id), store.documents_of(local_id)) {
        (Ok(l), Ok(d)) => (l, d),
        (Err(e), _) | (_, Err(e)) => return page::unavailable(&e),
    };
    let consents = match &link {
        None => None,
        Some(_) => Some(crate::admin::consents(&console.shared, local_id).await),
    };
    let body = html! {
        h1 { "Dossier " (local_id) }
        @if let Some((m, is_alert)) = message {
            @if is_alert { (alert(m)) } @else { (done(m)) }
        }
        @match &link {
            Some(l) => { p { "Relié au coffre-fort de la personne depuis le " (date(l.linked_at)) ", par " (who(console, &l.linked_by)) "." } }
            None => {
                p { "Ce dossier n'est pas relié à un coffre-fort. Les documents déposés y apparaîtront quand la personne l'aura relié (elle vous montre le code de son coffre)." }
                p { a href="/guichet" { "Relier ce dossier" } }
            }
        }
        h2 { "Déposer un document" }
        form method="post" action="/guichet/deposer" enctype="multipart/form-data" {
            (csrf_field(&s.session.csrf))
            input type="hidden" name="dossier" value=(local_id);
            p {
                label for="categorie" { "Catégorie" } br;
                select #categorie name="categorie" required {
                    @for c in Category::ALL { option value=(c.code()) { (words::category(c)) } }
                }
            }
            p {
                label for="demarche" { "Pour quelle démarche" } br;
                select #demarche name="demarche" {
                    option value="" { "Aucune en particulier" }
                    @for (code, label) in PROCEDURES { option value=(code) { (label) } }
                }
            }
            p {
                label for="document" { "Le document : un PDF, ou une photo (JPEG, PNG)" } br;
                input #document name="document" type="file" accept="application/pdf,image/jpeg,image/png" required;
                br; span.note { "Sur un téléphone, vous pouvez photographier le document. Le contenu est vérifié : un autre type de fichier est refusé." }
            }
            p { button.gros type="submit" { "Déposer le document" } }
        }
        h2 { "Documents déposés" }
        @if docs.is_empty() {
            p { "Aucun document pour ce dossier." }
        } @else {
            table {
                (column_heads(&["Document", "Déposé"]))
                tbody {
                    @for d in &docs {
                        tr {
                            td {
                                strong { (d.name) } br;
                                (words::category(d.category)) br;
                                span.note {
                                    @if let Some(p) = store.procedure(&d.id).ok().flatten() {
                                        "Démarche : " (procedure_label(&p)) br;
                                    }
                                    (d.size / 1024 + 1) " Ko"
                                }
                            }
                            td {
                                (date(d.added_at)) br; span.note { "par " (who(console, &d.added_by)) }
                                form method="post" action={ "/guichet/documents/" (d.id) "/retirer" } {
                                    (csrf_field(&s.session.csrf))
                                    input type="hidden" name="dossier" value=(local_id);
                                    button type="submit" { "Retirer " (d.name) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Autorisations données à votre institution" }
        @match &consents {
            None => { p { "Sans lien avec un coffre-fort, la personne n'a pu donner aucune autorisation." } }
            Some(Err(e)) => { (alert(&words::refusal(e).unwrap_or_else(|| "La plateforme n'a pas pu dire quelles autorisations sont en cours. Réessayez dans un instant.".into()))) }
            Some(Ok(list)) if list.is_empty() => { p { "Aucune autorisation en cours : la personne peut en donner une dans son coffre-fort (« Partager »)." } }
            Some(Ok(list)) => {
                ul {
                    @for c in list {
                        li {
                            "Documents de " strong { (c.holder_name) } " : " (c.scope_label)
                            ", pour « " (procedure_label(&c.procedure)) " », vus par " (grantee(&c.grantee))
                            ", jusqu'au " (day(c.not_after.saturating_sub(1))) " inclus"
                            @if c.not_before > now() { " (à partir du " (day(c.not_before)) ")" }
                            "."
                        }
                    }
                }
            }
        }
    };
    let mut res = page::signed(console, s, "/guichet", &format!("Dossier {local_id}"), body);
    *res.status_mut() = status;
    res
}

/// GET `/guichet/personne?dossier=…`.
async fn person(
    State(console): State<Arc<Console>>,
    s: Signed,
    Query(q): Query<PersonQuery>,
) -> Response {
    let message = done_message(&q.fait).map(|m| (m, false));
    person_page(&console, &s, q.dossier.trim(), message, StatusCode::OK).await
}

/// The deposit's fields, read in order.
struct DepositForm {
    local_id: String,
    category: String,
    procedure: String,
    file: upload::Received,
}

async fn read_deposit(
    s: &Signed,
    root: &std::path::Path,
    mut form: Multipart,
) -> Result<DepositForm, (StatusCode, String)> {
    let bad = |why: &str| (StatusCode::BAD_REQUEST, why.to_string());
    let (mut token, mut local_id, mut category, mut procedure) =
        (None, String::new(), String::new(), String::new());
    while let Ok(Some(mut field)) = form.next_field().await {
        let name = field.name().unwrap_or_default().to_string();
        if name == "document" {
            if !token.as_deref().is_some_and(|t| s.csrf_ok(t)) {
                return Err((StatusCode::FORBIDDEN, String::new()));
            }
            let file = upload::receive(root, &mut field, vault::MAX_DOCUMENT)
                .await
                .map_err(|e| match e {
                    upload::UploadError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "Le document dépasse 512 Mo.".to_string()),
                    upload::UploadError::Disk => (
                        StatusCode::INSUFFICIENT_STORAGE,
                        "Le disque du nœud est presque plein : rien n'a été déposé. Prévenez l'administrateur du nœud.".to_string(),
                    ),
                    upload::UploadError::Read => bad("L'envoi du document s'est interrompu : recommencez."),
                    upload::UploadError::Io(error) => {
                        tracing::error!(%error, "console: a document could not be written");
                        (StatusCode::INTERNAL_SERVER_ERROR, "Le document n'a pas pu être enregistré sur le nœud.".to_string())
                    }
                })?;
            return Ok(DepositForm {
                local_id,
                category,
                procedure,
                file,
            });
        }
        let value = text(&mut field)
            .await
            .map_err(|_| bad("Formulaire illisible."))?;
        match name.as_str() {
            "csrf" => token = Some(value),
            "dossier" => local_id = value.trim().to_string(),
            "categorie" => category = value,
            "demarche" => procedure = value,
            _ => {}
        }
    }
    if !token.as_deref().is_some_and(|t| s.csrf_ok(t)) {
        return Err((StatusCode::FORBIDDEN, String::new()));
    }
    Err(bad("Choisissez le document à déposer."))
}

/// POST `/guichet/deposer`: the same deposit as `passerelle-node
/// document add`, with a procedure.
async fn deposit(State(console): State<Arc<Console>>, s: Signed, form: Multipart) -> Response {
    if !s.agent.has(Role::Counter) {
        return page::not_allowed(&console, &s, Role::Counter);
    }
    let f = match read_deposit(&s, &console.shared.root, form).await {
        Ok(f) => f,
        Err((StatusCode::FORBIDDEN, _)) => return page::form_expired(),
        Err((status, why)) => return counter_page(&console, &s, Some(&why), status),
    };
    let (files, store, by) = (
        console.shared.files.clone(),
        console.shared.store.clone(),
        s.by(),
    );
    let local_id = f.local_id.clone();
    let result = tokio::task::spawn_blocking(move || {
        let procedure = (!f.procedure.trim().is_empty()).then_some(f.procedure.as_str());
        vault::deposit(
            &files,
            &store,
            &f.local_id,
            &f.category,
            procedure,
            &f.file.path,
            &by,
            now(),
        )
    })
    .await;
    match result {
        Ok(Ok(_)) => redirect(&person_path(&local_id, "depose")),
        Ok(Err(e)) => match words::refusal(&e) {
            Some(french) if vault::check_local_id(&local_id).is_ok() => {
                person_page(
                    &console,
                    &s,
                    &local_id,
                    Some((&french, true)),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await
            }
            Some(french) => counter_page(&console, &s, Some(&french), StatusCode::BAD_REQUEST),
            None => page::unavailable(&e),
        },
        Err(_) => page::problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Dépôt interrompu",
            "Le dépôt s'est interrompu : recommencez.",
        ),
    }
}

/// The removal form's fields.
#[derive(Debug, Deserialize)]
struct RemoveForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    dossier: String,
}

/// POST `/guichet/documents/{id}/retirer`: the same removal as
/// `passerelle-node document remove`.
async fn remove(
    State(console): State<Arc<Console>>,
    s: Signed,
    Path(id): Path<String>,
    Form(f): Form<RemoveForm>,
) -> Response {
    if !s.csrf_ok(&f.csrf) {
        return page::form_expired();
    }
    if !s.agent.has(Role::Counter) {
        return page::not_allowed(&console, &s, Role::Counter);
    }
    match vault::remove(
        &console.shared.files,
        &console.shared.store,
        &id,
        &s.by(),
        now(),
    ) {
        Ok(d) => redirect(&person_path(&d.local_id, "retire")),
        Err(e) => match words::refusal(&e) {
            Some(french) => {
                person_page(
                    &console,
                    &s,
                    f.dossier.trim(),
                    Some((&french, true)),
                    StatusCode::CONFLICT,
                )
                .await
            }
            None => page::unavailable(&e),
        },
    }
}
