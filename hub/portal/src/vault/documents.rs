//! The person's documents: those the institutions hold (listed and
//! streamed from the nodes), verifiable copies, their own uploads and link
//! codes.

use super::*;
use crate::multipart::{self, FormError};

const NOT_YOURS: &str = "Ce document n'existe pas, ou il ne vous concerne pas.";

/// GET `/coffre`: the documents, or the welcome page.
pub async fn home(State(ctx): State<Arc<Ctx>>, person: Option<Person>) -> Response {
    match person {
        Some(s) => documents_page(&ctx, &s, None, StatusCode::OK).await,
        None => private(StatusCode::OK, page(&ctx, "Mon coffre-fort", welcome())),
    }
}

fn welcome() -> Markup {
    html! {
        h1 { "Mon coffre-fort numérique" }
        p {
            "Vos papiers au même endroit : ceux que les institutions ont sur vous, et ceux que vous ajoutez. "
            "Vous choisissez qui peut les voir."
        }
        a.gros href="/coffre/connexion" { "Me connecter" }
        a.gros href="/coffre/creer" { "Créer mon compte" }
        a.gros.clair href="/coffre/recuperer" { "J'ai oublié mon mot de passe" }
        p.note { "Un travailleur social peut vous aider à créer votre compte." }
    }
}

pub(super) async fn documents_page(
    ctx: &Ctx,
    s: &accounts::PersonSession,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let holdings = ctx.vault.holdings(&s.person, &Requester::Person).await;
    let ups = ctx.vault.store.uploads(&s.person).unwrap_or_default();
    let body = html! {
        h1 { "Mes documents" }
        @if let Some(m) = message { (alert(m)) }
        (super::rights::inactivity_notice(ctx, &s.person))
        (super::oidc::link(ctx))
        h2 { "Documents des institutions" }
        @if holdings.is_empty() {
            p {
                "Aucune institution n'est encore reliée à votre coffre. "
                "Touchez « Relier une institution » et montrez le code au guichet."
            }
        }
        @for h in &holdings { (holding(s, h)) }
        h2 { "Mes documents déposés" }
        @if ups.is_empty() {
            p { "Vous n'avez encore rien déposé." }
        } @else {
            ul.docs {
                @for u in &ups {
                    (card(
                        s,
                        (u.category.label(), &u.name),
                        html! { "Déposé le " (date(u.added_at)) },
                        &format!("/coffre/depots/{}", u.id),
                        (&format!("/coffre/depots/{}/supprimer", u.id), "Supprimer pour toujours"),
                    ))
                }
            }
        }
        (room(ctx, &s.person, &ups))
        (upload_form(s))
    };
    private(status, vault_page(ctx, "Mes documents", Some(s), body))
}

/// One institution's documents, or why they cannot be shown.
fn holding(s: &accounts::PersonSession, h: &vault::Holding) -> Markup {
    html! {
        h3 { (h.name) }
        @match &h.documents {
            Err(e) => (alert(&access_french(e))),
            Ok(d) if d.is_empty() => p { "Aucun document pour le moment." },
            Ok(docs) => ul.docs {
                @for d in docs {
                    (card(
                        s,
                        (d.category.label(), &d.name),
                        html! { "Ajouté le " (date(d.added_at)) },
                        &format!("/coffre/institution/{}/{}", h.node, d.id),
                        (&format!("/coffre/copie/{}/{}", h.node, d.id), "Faire une copie vérifiable"),
                    ))
                }
            },
        }
    }
}

/// A document as a card: what it is and when it came, a download button,
/// and a button that posts `(action, label)`.
fn card(
    s: &accounts::PersonSession,
    (category, name): (&str, &str),
    added: Markup,
    download: &str,
    (action, label): (&str, &str),
) -> Markup {
    html! {
        li.carte {
            strong { (category) } br; (name) br;
            span.note { (added) }
            a.gros href=(download) { "Télécharger" }
            form method="post" action=(action) {
                (hidden(&s.csrf))
                button.gros.clair type="submit" { (label) }
            }
        }
    }
}

/// The room used and left for the person's uploads, in words.
fn room(ctx: &Ctx, person: &str, ups: &[vault::store::Upload]) -> Markup {
    let (q, linked) =
        vault::quota::of(&ctx.vault.store, person).unwrap_or((vault::quota::UNLINKED, false));
    let used: u64 = ups.iter().map(|u| u.size).sum();
    #[allow(clippy::cast_precision_loss)] // sizes far below 2^52 bytes
    let mb = |b: u64| passerelle_hub_core::french::number(b as f64 / MIB as f64, 1);
    html! {
        p.note {
            "Place utilisée : " (mb(used)) " Mo sur " (q.max_bytes / MIB) " Mo, "
            (ups.len()) " document(s) sur " (q.max_files) "."
            @if !linked {
                " Tant qu'aucune institution n'est reliée à votre coffre, la place est limitée ; "
                "une fois relié, vous aurez jusqu'à " (vault::quota::LINKED.max_bytes / MIB) " Mo."
            }
        }
    }
}

fn upload_form(s: &accounts::PersonSession) -> Markup {
    html! {
        h3 { "Ajouter un document" }
        form method="post" action="/coffre/depots" enctype="multipart/form-data" {
            (hidden(&s.csrf))
            p {
                label for="fichier" {
                    "Le fichier (PDF ou photo, " (uploads::MAX_UPLOAD / (1024 * 1024)) " Mo au plus)"
                }
                br;
                input #fichier name="fichier" type="file" accept="application/pdf,image/jpeg,image/png" required;
            }
            p {
                label for="type" { "C'est quoi ?" } br;
                select #type name="type" {
                    @for c in Category::ALL { option value=(c.code()) { (c.label()) } }
                }
            }
            p { button.gros type="submit" { "Déposer" } }
        }
        p.note {
            "Vos documents déposés sont chiffrés avec une clé que seul votre mot de passe (ou votre code de secours) ouvre : "
            "personne d'autre ne peut les lire, pas même la plateforme."
        }
    }
}

/// A document the person asked for that is not theirs (or not there):
/// logged, and the documents page with the reason.
async fn not_yours(ctx: &Ctx, s: &accounts::PersonSession, subject: &str, why: &str) -> Response {
    refused_here(ctx, &s.person, subject, why);
    documents_page(ctx, s, Some(NOT_YOURS), StatusCode::NOT_FOUND).await
}

/// A document that could not be sent: a network failure gets a short
/// page with its 502 or 504 (no node is asked again to draw it); a refusal
/// gets the documents page with a 404.
async fn not_sent(ctx: &Ctx, s: &accounts::PersonSession, n: NotSent) -> Response {
    let Some(status) = n.network else {
        return documents_page(ctx, s, Some(&n.french), StatusCode::NOT_FOUND).await;
    };
    let body = html! {
        h1 { "Document indisponible" }
        (alert(&n.french))
        p { a.gros href="/coffre" { "Revenir à mes documents" } }
    };
    private(
        status,
        vault_page(ctx, "Document indisponible", Some(s), body),
    )
}

/// A response that streams a document from a node, checked as it goes.
///
/// The first piece is awaited before anything is sent, so a node that
/// fails at once gets an error page instead of a download. A failure
/// later aborts the body: the client sees an incomplete transfer (the
/// announced length is never reached), never a clean end.
///
/// # Errors
/// When the first piece does not come.
pub async fn stream_response(mut incoming: Incoming) -> Result<Response, TransferError> {
    let (mime, size, name) = (
        incoming.doc.mime.clone(),
        incoming.doc.size,
        incoming.doc.name.clone(),
    );
    let first = incoming.next_chunk().await.transpose()?;
    let rest = futures_util::stream::unfold(incoming, |mut inc| async move {
        let item = inc.next_chunk().await?;
        if let Err(error) = &item {
            tracing::warn!(%error, "document stream aborted");
        }
        Some((item, inc))
    });
    let stream = futures_util::StreamExt::chain(futures_util::stream::iter(first.map(Ok)), rest);
    let mut res = file_response(Body::from_stream(stream), &mime, &name);
    res.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    Ok(res)
}

/// A document opened for download (or refused): the streaming response,
/// or why it was not sent.
pub async fn send_opened(
    opened: Result<Incoming, vault::AccessError>,
) -> Result<Response, NotSent> {
    match opened {
        Ok(incoming) => stream_response(incoming)
            .await
            .map_err(|e| NotSent::from(&e)),
        Err(e) => Err(NotSent::from(&e)),
    }
}

/// GET `/coffre/institution/{node}/{doc}`.
pub async fn download(
    State(ctx): State<Arc<Ctx>>,
    Path((node, doc)): Path<(String, String)>,
    s: Person,
) -> Response {
    let Ok(node) = NodeId::new(&node) else {
        return not_yours(&ctx, &s, &format!("{node}/{doc}"), "no such institution").await;
    };
    let opened = ctx
        .vault
        .open(&s.person, &node, &doc, &Requester::Person)
        .await;
    match send_opened(opened).await {
        Ok(r) => r,
        Err(n) => not_sent(&ctx, &s, n).await,
    }
}

/// Issues a verifiable copy of a node's document; logged.
pub async fn copy_of(
    ctx: &Ctx,
    person: &str,
    node: &NodeId,
    doc: &str,
    requester: &Requester,
    issued_by: &str,
) -> Result<Response, NotSent> {
    let incoming = ctx
        .vault
        .open(person, node, doc, requester)
        .await
        .map_err(|e| NotSent::from(&e))?;
    let d = incoming.doc.clone();
    let bytes = incoming.read_all().await.map_err(|e| NotSent::from(&e))?;
    let original = duplicate::Original {
        holder: node.clone(),
        holder_name: ctx.vault.node_name(node),
        category: d.category,
        name: &d.name,
        mime: &d.mime,
        bytes: &bytes,
    };
    let (code, pdf) = duplicate::issue(
        &ctx.vault.store,
        &ctx.hub.key,
        ctx.vault.base_url(),
        person,
        &original,
        issued_by,
        now(),
    )
    .map_err(|_| NotSent {
        french: "La copie n'a pas pu être faite. Réessayez plus tard.".to_string(),
        network: None,
    })?;
    ctx.vault.log(Event {
        actor: Actor::from(requester),
        action: Action::Duplicate,
        person: Some(person.to_string()),
        subject: format!("{node}/{doc}"),
        procedure: None,
        detail: format!(
            "{} — {} (code {})",
            d.category.label(),
            d.name,
            duplicate::display_code(&code)
        ),
    });
    let name = format!("copie-verifiable-{}.pdf", duplicate::display_code(&code));
    Ok(file_response(Body::from(pdf), "application/pdf", &name))
}

/// POST `/coffre/copie/{node}/{doc}`.
pub async fn copy(
    State(ctx): State<Arc<Ctx>>,
    Path((node, doc)): Path<(String, String)>,
    Checked { by: s, .. }: Checked<Person>,
) -> Response {
    let Ok(node) = NodeId::new(&node) else {
        return not_yours(&ctx, &s, &format!("{node}/{doc}"), "no such institution").await;
    };
    match copy_of(
        &ctx,
        &s.person,
        &node,
        &doc,
        &Requester::Person,
        "la personne concernée",
    )
    .await
    {
        Ok(r) => r,
        Err(n) => not_sent(&ctx, &s, n).await,
    }
}

/// What an upload form brought.
#[derive(Debug, Default)]
pub struct UploadForm {
    /// The form's token.
    pub csrf: String,
    /// The category chosen, when it is one.
    pub category: Option<Category>,
    /// The file's name and bytes (cut short when too big).
    pub file: Option<(String, Vec<u8>)>,
    /// Whether the file was over [`uploads::MAX_UPLOAD`].
    pub too_big: bool,
}

/// Reads an upload form, stopping at the first byte over the file limit
/// or over a text field's limit ([`multipart::text`]). Public for the fuzz
/// targets.
pub async fn read_upload(form: &mut Multipart) -> Result<UploadForm, FormError> {
    let mut got = UploadForm::default();
    while let Some(mut field) = form.next_field().await? {
        match field.name().unwrap_or("") {
            "csrf" => got.csrf = multipart::text(&mut field).await?,
            "type" => got.category = Category::parse(&multipart::text(&mut field).await?).ok(),
            "fichier" => {
                let name = field.file_name().unwrap_or("").to_string();
                let mut bytes = Vec::new();
                while let Some(c) = field.chunk().await? {
                    if bytes.len() + c.len() > uploads::MAX_UPLOAD {
                        got.too_big = true;
                        break;
                    }
                    bytes.extend_from_slice(&c);
                }
                got.file = Some((name, bytes));
                if got.too_big {
                    break;
                }
            }
            _ => {
                multipart::text(&mut field).await?;
            }
        }
    }
    Ok(got)
}

/// POST `/coffre/depots` (multipart): an upload, checked then sealed.
pub async fn upload(State(ctx): State<Arc<Ctx>>, s: Person, mut form: Multipart) -> Response {
    let got = match read_upload(&mut form).await {
        Ok(got) => got,
        // Over the route's body limit: the file is too big.
        Err(FormError::Read(e)) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => UploadForm {
            too_big: true,
            ..UploadForm::default()
        },
        Err(FormError::FieldTooLong) => {
            let m = "Le formulaire envoyé est trop long. Réessayez depuis cette page.";
            return documents_page(&ctx, &s, Some(m), StatusCode::PAYLOAD_TOO_LARGE).await;
        }
        Err(FormError::Read(_)) => {
            let m = "L'envoi a été interrompu. Réessayez.";
            return documents_page(&ctx, &s, Some(m), StatusCode::BAD_REQUEST).await;
        }
    };
    if !got.too_big && !token_ok(&s.csrf, &got.csrf) {
        return refused(&ctx);
    }
    if got.too_big {
        let m = format!("Le fichier est trop gros. La limite est de {} Mo : prenez une photo moins lourde ou scannez en PDF.", uploads::MAX_UPLOAD / (1024 * 1024));
        return documents_page(&ctx, &s, Some(&m), StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    let Some((name, bytes)) = got.file else {
        let m = "Choisissez un fichier.";
        return documents_page(&ctx, &s, Some(m), StatusCode::BAD_REQUEST).await;
    };
    let mime = match uploads::check(&bytes, &name) {
        Ok(m) => m,
        Err(m) => {
            return documents_page(&ctx, &s, Some(&m), StatusCode::UNPROCESSABLE_ENTITY).await
        }
    };
    let category = got.category.unwrap_or(Category::Other);
    match uploads::store(
        &ctx.hub.dir.vault(),
        &ctx.vault.store,
        &s.person,
        &s.key,
        &name,
        category,
        mime,
        &bytes,
        now(),
    ) {
        Ok(u) => {
            log_upload(&ctx, &s.person, Action::Upload, &u);
            // Shares in force over its category get its key.
            if let Err(error) = vault::share::extend(&ctx.vault.store, &s.key, &u, now()) {
                tracing::error!(%error, "upload not added to its category's shares");
            }
            redirect("/coffre")
        }
        Err(vault::VaultError::Refused(r)) => {
            documents_page(
                &ctx,
                &s,
                Some(&refusal_french(&r)),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(vault::VaultError::Hub(passerelle_hub_core::HubError::Disk(error))) => {
            tracing::error!(%error, "upload not stored: disk full");
            documents_page(
                &ctx,
                &s,
                Some("Le serveur manque d'espace disque : le document n'a pas été enregistré. Réessayez plus tard."),
                StatusCode::INSUFFICIENT_STORAGE,
            )
            .await
        }
        Err(error) => {
            tracing::error!(%error, "upload not stored");
            documents_page(
                &ctx,
                &s,
                Some("Le document n'a pas pu être enregistré. Réessayez plus tard."),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
            .await
        }
    }
}

/// Logs what the person did with one of their uploads.
fn log_upload(ctx: &Ctx, person: &str, action: Action, u: &vault::store::Upload) {
    let detail = format!("{} — {}", u.category.label(), u.name);
    person_did(ctx, person, action, &u.id, detail);
}

/// GET `/coffre/depots/{id}`.
pub async fn upload_download(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
    s: Person,
) -> Response {
    let Some(u) = ctx.vault.store.upload(&s.person, &id).ok().flatten() else {
        return not_yours(&ctx, &s, &id, "no such upload for this person").await;
    };
    match uploads::read(&ctx.hub.dir.vault(), &u, &s.key) {
        Ok(bytes) => {
            log_upload(&ctx, &s.person, Action::Download, &u);
            file_response(Body::from(bytes), &u.mime, &u.name)
        }
        Err(error) => {
            tracing::error!(%error, "upload not readable");
            documents_page(
                &ctx,
                &s,
                Some("Ce document ne peut pas être ouvert."),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
            .await
        }
    }
}

/// POST `/coffre/depots/{id}/supprimer`.
pub async fn upload_delete(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
    Checked { by: s, .. }: Checked<Person>,
) -> Response {
    let Some(u) = ctx.vault.store.upload(&s.person, &id).ok().flatten() else {
        return not_yours(&ctx, &s, &id, "no such upload for this person").await;
    };
    match uploads::delete(&ctx.hub.dir.vault(), &ctx.vault.store, &u) {
        Ok(()) => {
            log_upload(&ctx, &s.person, Action::Delete, &u);
            documents_page(&ctx, &s, Some("Le document est supprimé."), StatusCode::OK).await
        }
        Err(error) => {
            tracing::error!(%error, "upload not deleted");
            documents_page(
                &ctx,
                &s,
                Some("Le document n'a pas pu être supprimé. Réessayez plus tard."),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
            .await
        }
    }
}
