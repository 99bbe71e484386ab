//! The person's documents: those the institutions hold (listed and
//! streamed from the nodes), verifiable copies, their own uploads and link
//! codes.

use super::*;
use crate::multipart::{self, FormError};

/// A document that is not there, or not the person's.
fn not_yours_words() -> String {
    Tr::current().t("acces-pas-a-vous")
}

/// GET `/coffre`: the documents, or the welcome page.
pub async fn home(State(ctx): State<Arc<Ctx>>, person: Option<Person>) -> Response {
    match person {
        Some(s) => documents_page(&ctx, &s, None, StatusCode::OK).await,
        None => private(
            StatusCode::OK,
            page(&ctx, &Tr::current().t("accueil-titre-court"), welcome()),
        ),
    }
}

fn welcome() -> Markup {
    let tr = Tr::current();
    html! {
        h1 { (tr.t("accueil-titre")) }
        p { (tr.t("accueil-intro")) }
        a.gros href="/coffre/connexion" { (icon(Icon::Account)) (tr.t("compte-connexion")) }
        a.gros href="/coffre/creer" { (icon(Icon::Account)) (tr.t("compte-creer")) }
        a.gros.clair href="/coffre/recuperer" { (tr.t("accueil-oubli")) }
        p.note { (tr.t("accueil-aide")) }
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
    let tr = Tr::current();
    let body = html! {
        h1 { (tr.t("coffre-documents-titre")) }
        @if let Some(m) = message { (alert(m)) }
        (super::rights::inactivity_notice(ctx, &s.person))
        (super::oidc::link(ctx))
        h2 { (tr.t("documents-institutions")) }
        @if holdings.is_empty() {
            p { (tr.t("documents-aucune-institution")) }
        }
        @for h in &holdings { (holding(s, h)) }
        h2 { (tr.t("documents-deposes")) }
        @if ups.is_empty() {
            p { (tr.t("documents-rien-depose")) }
        } @else {
            ul.docs {
                @for u in &ups {
                    (card(
                        s,
                        (&tr.category(u.category), &u.name),
                        html! { (tr.a("documents-depose-le", &[("date", tr.date(u.added_at).into())])) },
                        &format!("/coffre/depots/{}", u.id),
                        (
                            &format!("/coffre/depots/{}/supprimer", u.id),
                            html! { (icon(Icon::Delete)) (tr.t("documents-supprimer")) },
                        ),
                    ))
                }
            }
        }
        (room(ctx, &s.person, &ups))
        (upload_form(s))
    };
    private(
        status,
        vault_page(ctx, &tr.t("coffre-documents-titre"), Some(s), body),
    )
}

/// One institution's documents, or why they cannot be shown.
fn holding(s: &accounts::PersonSession, h: &vault::Holding) -> Markup {
    let tr = Tr::current();
    html! {
        h3 { (h.name) }
        @match &h.documents {
            Err(e) => (alert(&access_french(e))),
            Ok(d) if d.is_empty() => p { (tr.t("documents-aucun")) },
            Ok(docs) => ul.docs {
                @for d in docs {
                    (card(
                        s,
                        (&tr.category(d.category), &d.name),
                        html! { (tr.a("documents-ajoute-le", &[("date", tr.date(d.added_at).into())])) },
                        &format!("/coffre/institution/{}/{}", h.node, d.id),
                        (
                            &format!("/coffre/copie/{}/{}", h.node, d.id),
                            html! { (icon(Icon::Copy)) (tr.t("documents-copie")) },
                        ),
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
    (action, label): (&str, Markup),
) -> Markup {
    html! {
        li.carte {
            strong { (category) } br; (name) br;
            span.note { (added) }
            a.gros href=(download) { (icon(Icon::Download)) (Tr::current().t("documents-telecharger")) }
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
    let tr = Tr::current();
    let args: [crate::i18n::Arg<'_>; 4] = [
        ("utilise", mb(used).into()),
        ("max", (q.max_bytes / MIB).into()),
        ("nombre", ups.len().into()),
        ("fichiers", q.max_files.into()),
    ];
    html! {
        p.note {
            (tr.a("place-utilisee", &args))
            @if !linked {
                " " (tr.a("place-limitee", &[("max", (vault::quota::LINKED.max_bytes / MIB).into())]))
            }
        }
    }
}

fn upload_form(s: &accounts::PersonSession) -> Markup {
    let tr = Tr::current();
    html! {
        h3 { (tr.t("depot-titre")) }
        form method="post" action="/coffre/depots" enctype="multipart/form-data" {
            (hidden(&s.csrf))
            p {
                label for="fichier" {
                    (tr.a("depot-fichier", &[("max", (uploads::MAX_UPLOAD / (1024 * 1024)).into())]))
                }
                br;
                input #fichier name="fichier" type="file" accept="application/pdf,image/jpeg,image/png" required;
            }
            p {
                label for="type" { (tr.t("depot-type")) } br;
                select #type name="type" {
                    @for c in Category::ALL { option value=(c.code()) { (tr.category(c)) } }
                }
            }
            p { button.gros type="submit" { (icon(Icon::Upload)) (tr.t("depot-bouton")) } }
        }
        p.note { (tr.t("depot-chiffre")) }
    }
}

/// A document the person asked for that is not theirs (or not there):
/// logged, and the documents page with the reason.
async fn not_yours(ctx: &Ctx, s: &accounts::PersonSession, subject: &str, why: &str) -> Response {
    refused_here(ctx, &s.person, subject, why);
    documents_page(ctx, s, Some(&not_yours_words()), StatusCode::NOT_FOUND).await
}

/// A document that could not be sent: a network failure gets a short
/// page with its 502 or 504 (no node is asked again to draw it); a refusal
/// gets the documents page with a 404.
async fn not_sent(ctx: &Ctx, s: &accounts::PersonSession, n: NotSent) -> Response {
    let Some(status) = n.network else {
        return documents_page(ctx, s, Some(&n.french), StatusCode::NOT_FOUND).await;
    };
    let tr = Tr::current();
    let body = html! {
        h1 { (tr.t("document-indisponible")) }
        (alert(&n.french))
        p { a.gros href="/coffre" { (icon(Icon::Documents)) (tr.t("document-revenir")) } }
    };
    private(
        status,
        vault_page(ctx, &tr.t("document-indisponible"), Some(s), body),
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
        french: Tr::current().t("copie-impossible"),
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
            let m = Tr::current().t("depot-formulaire-trop-long");
            return documents_page(&ctx, &s, Some(&m), StatusCode::PAYLOAD_TOO_LARGE).await;
        }
        Err(FormError::Read(_)) => {
            let m = Tr::current().t("depot-interrompu");
            return documents_page(&ctx, &s, Some(&m), StatusCode::BAD_REQUEST).await;
        }
    };
    if !got.too_big && !token_ok(&s.csrf, &got.csrf) {
        return refused(&ctx);
    }
    if got.too_big {
        let m = Tr::current().a(
            "depot-trop-gros",
            &[("max", (uploads::MAX_UPLOAD / (1024 * 1024)).into())],
        );
        return documents_page(&ctx, &s, Some(&m), StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    let Some((name, bytes)) = got.file else {
        let m = Tr::current().t("depot-choisir-fichier");
        return documents_page(&ctx, &s, Some(&m), StatusCode::BAD_REQUEST).await;
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
                Some(&Tr::current().t("depot-disque-plein")),
                StatusCode::INSUFFICIENT_STORAGE,
            )
            .await
        }
        Err(error) => {
            tracing::error!(%error, "upload not stored");
            documents_page(
                &ctx,
                &s,
                Some(&Tr::current().t("depot-non-enregistre")),
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
                Some(&Tr::current().t("depot-illisible")),
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
            let m = Tr::current().t("depot-supprime");
            documents_page(&ctx, &s, Some(&m), StatusCode::OK).await
        }
        Err(error) => {
            tracing::error!(%error, "upload not deleted");
            documents_page(
                &ctx,
                &s,
                Some(&Tr::current().t("depot-non-supprime")),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
            .await
        }
    }
}
