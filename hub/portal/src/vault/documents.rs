//! The person's documents: those the institutions hold (listed and
//! streamed from the nodes), verifiable copies, their own uploads, link
//! codes, and the export of everything.

use super::*;

/// GET `/coffre`: the documents, or the welcome page.
pub async fn home(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Response {
    match session(&ctx, &headers) {
        Some((_, s)) => documents_page(&ctx, &s, None, StatusCode::OK).await,
        None => private(
            StatusCode::OK,
            page(
                &ctx,
                "Mon coffre-fort",
                maud::PreEscaped(("<h1>Mon coffre-fort numérique</h1>\
<p>Vos papiers au même endroit : ceux que les institutions ont sur vous, et ceux que vous ajoutez. Vous choisissez qui peut les voir.</p>\
<a class=\"gros\" href=\"/coffre/connexion\">Me connecter</a>\
<a class=\"gros\" href=\"/coffre/creer\">Créer mon compte</a>\
<a class=\"gros clair\" href=\"/coffre/recuperer\">J'ai oublié mon mot de passe</a>\
<p class=\"note\">Un travailleur social peut vous aider à créer votre compte.</p>").to_string()),
            ),
        ),
    }
}

async fn documents_page(
    ctx: &Ctx,
    s: &accounts::PersonSession,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let mut body = String::from("<h1>Mes documents</h1>");
    if let Some(m) = message {
        body.push_str(&alert(m));
    }
    body.push_str("<h2>Documents des institutions</h2>");
    let holdings = ctx.vault.holdings(&s.person, &Requester::Person).await;
    if holdings.is_empty() {
        body.push_str("<p>Aucune institution n'est encore reliée à votre coffre. Touchez « Relier une institution » et montrez le code au guichet.</p>");
    }
    for h in &holdings {
        let _ = write!(body, "<h3>{}</h3>", esc(&h.name));
        match &h.documents {
            Err(e) => body.push_str(&alert(&access_french(e))),
            Ok(d) if d.is_empty() => body.push_str("<p>Aucun document pour le moment.</p>"),
            Ok(docs) => {
                body.push_str("<ul class=\"docs\">");
                for d in docs {
                    let _ = write!(
                        body,
                        "<li class=\"carte\"><strong>{cat}</strong><br>{name}<br><span class=\"note\">Ajouté le {when}</span>\
<a class=\"gros\" href=\"/coffre/institution/{node}/{id}\">Télécharger</a>\
<form method=\"post\" action=\"/coffre/copie/{node}/{id}\">{h}<button class=\"gros clair\" type=\"submit\">Faire une copie vérifiable</button></form></li>",
                        cat = d.category.label(),
                        name = esc(&d.name),
                        when = date(d.added_at),
                        node = esc(h.node.as_str()),
                        id = esc(&d.id),
                        h = hidden(s)
                    );
                }
                body.push_str("</ul>");
            }
        }
    }
    body.push_str("<h2>Mes documents déposés</h2>");
    let ups = ctx.vault.store.uploads(&s.person).unwrap_or_default();
    if ups.is_empty() {
        body.push_str("<p>Vous n'avez encore rien déposé.</p>");
    } else {
        body.push_str("<ul class=\"docs\">");
        for u in &ups {
            let _ = write!(
                body,
                "<li class=\"carte\"><strong>{cat}</strong><br>{name}<br><span class=\"note\">Déposé le {when}</span>\
<a class=\"gros\" href=\"/coffre/depots/{id}\">Télécharger</a>\
<form method=\"post\" action=\"/coffre/depots/{id}/supprimer\">{h}<button class=\"gros clair\" type=\"submit\">Supprimer pour toujours</button></form></li>",
                cat = u.category.label(),
                name = esc(&u.name),
                when = date(u.added_at),
                id = esc(&u.id),
                h = hidden(s)
            );
        }
        body.push_str("</ul>");
    }
    let mut options = String::new();
    for c in Category::ALL {
        let _ = write!(
            options,
            "<option value=\"{}\">{}</option>",
            c.code(),
            c.label()
        );
    }
    let _ = write!(
        body,
        "<h3>Ajouter un document</h3><form method=\"post\" action=\"/coffre/depots\" enctype=\"multipart/form-data\">{h}\
<p><label for=\"fichier\">Le fichier (PDF ou photo, {max} Mo au plus)</label><br>\
<input id=\"fichier\" name=\"fichier\" type=\"file\" accept=\"application/pdf,image/jpeg,image/png\" required></p>\
<p><label for=\"type\">C'est quoi ?</label><br><select id=\"type\" name=\"type\">{options}</select></p>\
<p><button class=\"gros\" type=\"submit\">Déposer</button></p></form>\
<p class=\"note\">Vos documents déposés sont chiffrés avec une clé que seul votre mot de passe (ou votre code de secours) ouvre : personne d'autre ne peut les lire, pas même la plateforme.</p>",
        h = hidden(s),
        max = uploads::MAX_UPLOAD / (1024 * 1024)
    );
    private(status, vault_page(ctx, "Mes documents", Some(s), &body))
}

/// A response that streams a document from a node, checked as it goes.
pub fn stream_response(incoming: Incoming) -> Response {
    let (mime, size, name) = (
        incoming.doc.mime.clone(),
        incoming.doc.size,
        incoming.doc.name.clone(),
    );
    let state = (
        incoming,
        ring::digest::Context::new(&ring::digest::SHA256),
        0u64,
        false,
    );
    let stream =
        futures_util::stream::unfold(state, |(mut inc, mut h, mut got, done)| async move {
            if done {
                return None;
            }
            let item = inc.next_chunk(&mut h, &mut got).await?;
            let failed = item.is_err();
            if let Err(error) = &item {
                tracing::warn!(%error, "document stream aborted");
            }
            Some((item, (inc, h, got, failed)))
        });
    let mut res = file_response(Body::from_stream(stream), &mime, &name);
    res.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    res
}

/// GET `/coffre/institution/{node}/{doc}`.
pub async fn download(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    Path((node, doc)): Path<(String, String)>,
) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_start();
    };
    let Ok(node) = NodeId::new(&node) else {
        refused_here(
            &ctx,
            &s.person,
            &format!("{node}/{doc}"),
            "no such institution",
        );
        return documents_page(
            &ctx,
            &s,
            Some("Ce document n'existe pas, ou il ne vous concerne pas."),
            StatusCode::NOT_FOUND,
        )
        .await;
    };
    match ctx
        .vault
        .open(&s.person, &node, &doc, &Requester::Person)
        .await
    {
        Ok(incoming) => stream_response(incoming),
        Err(e) => documents_page(&ctx, &s, Some(&access_french(&e)), StatusCode::NOT_FOUND).await,
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
) -> Result<Response, String> {
    let incoming = ctx
        .vault
        .open(person, node, doc, requester)
        .await
        .map_err(|e| access_french(&e))?;
    let d = incoming.doc.clone();
    let bytes = incoming
        .read_all()
        .await
        .map_err(|_| "Le document n'est pas arrivé en entier. Réessayez.".to_string())?;
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
    .map_err(|_| "La copie n'a pas pu être faite. Réessayez plus tard.".to_string())?;
    ctx.vault.log(Event {
        actor: vault::actor(requester),
        action: "duplicate".into(),
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
    headers: HeaderMap,
    Path((node, doc)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_start();
    };
    if !csrf_ok(&s, &fields(&body)) {
        return refused(&ctx);
    }
    let Ok(node) = NodeId::new(&node) else {
        refused_here(
            &ctx,
            &s.person,
            &format!("{node}/{doc}"),
            "no such institution",
        );
        return documents_page(
            &ctx,
            &s,
            Some("Ce document n'existe pas, ou il ne vous concerne pas."),
            StatusCode::NOT_FOUND,
        )
        .await;
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
        Err(e) => documents_page(&ctx, &s, Some(&e), StatusCode::NOT_FOUND).await,
    }
}

/// POST `/coffre/depots` (multipart): an upload, checked then sealed.
pub async fn upload(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_start();
    };
    let mut csrf = String::new();
    let mut category = Category::Other;
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut too_big = false;
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                return documents_page(
                    &ctx,
                    &s,
                    Some("L'envoi a été interrompu. Réessayez."),
                    StatusCode::BAD_REQUEST,
                )
                .await
            }
        };
        match field.name().unwrap_or("") {
            "csrf" => csrf = field.text().await.unwrap_or_default(),
            "type" => {
                category = Category::parse(&field.text().await.unwrap_or_default())
                    .unwrap_or(Category::Other)
            }
            "fichier" => {
                let name = field.file_name().unwrap_or("").to_string();
                let mut bytes = Vec::new();
                loop {
                    match field.chunk().await {
                        Ok(Some(c)) => {
                            if bytes.len() + c.len() > uploads::MAX_UPLOAD {
                                too_big = true;
                                break;
                            }
                            bytes.extend_from_slice(&c);
                        }
                        Ok(None) => break,
                        Err(_) => {
                            return documents_page(
                                &ctx,
                                &s,
                                Some("L'envoi a été interrompu. Réessayez."),
                                StatusCode::BAD_REQUEST,
                            )
                            .await
                        }
                    }
                }
                file = Some((name, bytes));
                if too_big {
                    break;
                }
            }
            _ => {}
        }
    }
    if !too_big && (csrf.is_empty() || !constant_time_eq(s.csrf.as_bytes(), csrf.as_bytes())) {
        return refused(&ctx);
    }
    if too_big {
        let m = format!("Le fichier est trop gros. La limite est de {} Mo : prenez une photo moins lourde ou scannez en PDF.", uploads::MAX_UPLOAD / (1024 * 1024));
        return documents_page(&ctx, &s, Some(&m), StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    let Some((name, bytes)) = file else {
        return documents_page(
            &ctx,
            &s,
            Some("Choisissez un fichier."),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let mime = match uploads::check(&bytes, &name) {
        Ok(m) => m,
        Err(m) => {
            return documents_page(&ctx, &s, Some(&m), StatusCode::UNPROCESSABLE_ENTITY).await
        }
    };
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
            ctx.vault.log(Event {
                actor: "person".into(),
                action: "upload".into(),
                person: Some(s.person.clone()),
                subject: u.id.clone(),
                procedure: None,
                detail: format!("{} — {}", u.category.label(), u.name),
            });
            back("/coffre")
        }
        Err(passerelle_hub_core::HubError::Refused(m)) => {
            documents_page(&ctx, &s, Some(&m), StatusCode::UNPROCESSABLE_ENTITY).await
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

/// GET `/coffre/depots/{id}`.
pub async fn upload_download(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_start();
    };
    let Some(u) = ctx.vault.store.upload(&s.person, &id).ok().flatten() else {
        refused_here(&ctx, &s.person, &id, "no such upload for this person");
        return documents_page(
            &ctx,
            &s,
            Some("Ce document n'existe pas, ou il ne vous concerne pas."),
            StatusCode::NOT_FOUND,
        )
        .await;
    };
    match uploads::read(&ctx.hub.dir.vault(), &u, &s.key) {
        Ok(bytes) => {
            ctx.vault.log(Event {
                actor: "person".into(),
                action: "download".into(),
                person: Some(s.person.clone()),
                subject: u.id.clone(),
                procedure: None,
                detail: format!("{} — {}", u.category.label(), u.name),
            });
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
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_start();
    };
    if !csrf_ok(&s, &fields(&body)) {
        return refused(&ctx);
    }
    let Some(u) = ctx.vault.store.upload(&s.person, &id).ok().flatten() else {
        refused_here(&ctx, &s.person, &id, "no such upload for this person");
        return documents_page(
            &ctx,
            &s,
            Some("Ce document n'existe pas, ou il ne vous concerne pas."),
            StatusCode::NOT_FOUND,
        )
        .await;
    };
    match uploads::delete(&ctx.hub.dir.vault(), &ctx.vault.store, &u) {
        Ok(()) => {
            ctx.vault.log(Event {
                actor: "person".into(),
                action: "delete".into(),
                person: Some(s.person.clone()),
                subject: u.id.clone(),
                procedure: None,
                detail: format!("{} — {}", u.category.label(), u.name),
            });
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

/// POST `/coffre/lier`: a one-time link code to show at a counter.
pub async fn link_code(State(ctx): State<Arc<Ctx>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_start();
    };
    if !csrf_ok(&s, &fields(&body)) {
        return refused(&ctx);
    }
    match links::new_code(&ctx.vault.store, &s.person, now()) {
        Ok((code, until)) => private(
            StatusCode::OK,
            vault_page(
                &ctx,
                "Relier une institution",
                Some(&s),
                &format!(
                    "<h1>Relier une institution</h1><p>Montrez ce code au professionnel de l'institution (CAF, France Travail, Conseil départemental…).</p>\
<p class=\"code\" aria-label=\"code à montrer\">{}</p><p>Il sert une seule fois, jusqu'au {}.</p>\
<p class=\"note\">L'institution ne reçoit pas votre identifiant : seulement un numéro qui ne sert qu'à elle.</p>",
                    esc(&code),
                    date(until)
                ),
            ),
        ),
        Err(error) => {
            tracing::error!(%error, "link code not stored");
            documents_page(&ctx, &s, Some("Le code n'a pas pu être créé. Réessayez plus tard."), StatusCode::INTERNAL_SERVER_ERROR).await
        }
    }
}

/// GET `/coffre/export`: everything the person holds, as one ZIP streamed
/// as it is written (uploads, every linked institution's documents, and a
/// `manifeste.json`). Each document fetched is logged like a download.
pub async fn export(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_start();
    };
    ctx.vault.log(Event {
        actor: "person".into(),
        action: "export".into(),
        person: Some(s.person.clone()),
        subject: "-".into(),
        procedure: None,
        detail: String::new(),
    });
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let task_ctx = ctx.clone();
    tokio::spawn(async move {
        if let Err(error) = write_export(&task_ctx, &s, &tx).await {
            tracing::warn!(%error, "export aborted");
            let _ = tx.send(Err(std::io::Error::other(error))).await;
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    file_response(
        Body::from_stream(stream),
        "application/zip",
        "mon-coffre.zip",
    )
}

async fn write_export(
    ctx: &Ctx,
    s: &accounts::PersonSession,
    tx: &tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), String> {
    let send = |b: Vec<u8>| async move {
        tx.send(Ok(Bytes::from(b)))
            .await
            .map_err(|_| "client went away".to_string())
    };
    let mut zip = vault::zip::Zip::default();
    let mut manifest = Vec::new();
    let mut used = std::collections::HashSet::new();
    // Names from institutions and uploads become one safe path segment
    // each: no separators, no dot-only names.
    fn segment(t: &str) -> String {
        let t: String = t
            .chars()
            .map(|c| {
                if c == '/' || c == '\\' || c.is_control() {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        if t.trim_matches('.').trim().is_empty() {
            "_".to_string()
        } else {
            t
        }
    }
    let mut unique = |dir: &str, name: &str, id: &str| {
        let (dir, clean) = (segment(dir), segment(name));
        let mut path = format!("{dir}/{clean}");
        if !used.insert(path.clone()) {
            path = format!("{dir}/{}-{clean}", &id[..8.min(id.len())]);
            used.insert(path.clone());
        }
        path
    };
    for u in ctx
        .vault
        .store
        .uploads(&s.person)
        .map_err(|e| e.to_string())?
    {
        let bytes = uploads::read(&ctx.hub.dir.vault(), &u, &s.key).map_err(|e| e.to_string())?;
        let path = unique("mes-depots", &u.name, &u.id);
        send(zip.start(&path).map_err(|e| e.to_string())?).await?;
        zip.data(&bytes);
        send(bytes).await?;
        send(zip.end().map_err(|e| e.to_string())?).await?;
        manifest.push(serde_json::json!({"fichier": path, "origine": "déposé par vous", "type": u.category.label(), "nom": u.name, "octets": u.size, "date": passerelle_link::output::time(Some(u.added_at))}));
    }
    for h in ctx.vault.holdings(&s.person, &Requester::Person).await {
        let Ok(docs) = h.documents else {
            manifest.push(serde_json::json!({"institution": h.name, "erreur": h.documents.err().map(|e| access_french(&e))}));
            continue;
        };
        for d in docs {
            let mut incoming = ctx
                .vault
                .open(&s.person, &h.node, &d.id, &Requester::Person)
                .await
                .map_err(|e| access_french(&e))?;
            let path = unique(&h.name, &d.name, &d.id);
            send(zip.start(&path).map_err(|e| e.to_string())?).await?;
            let mut hasher = ring::digest::Context::new(&ring::digest::SHA256);
            let mut got = 0;
            while let Some(chunk) = incoming.next_chunk(&mut hasher, &mut got).await {
                let chunk = chunk.map_err(|e| e.to_string())?;
                zip.data(&chunk);
                tx.send(Ok(chunk))
                    .await
                    .map_err(|_| "client went away".to_string())?;
            }
            send(zip.end().map_err(|e| e.to_string())?).await?;
            manifest.push(serde_json::json!({"fichier": path, "origine": h.name, "type": d.category.label(), "nom": d.name, "octets": d.size, "sha256": passerelle_protocol::hex::encode(&d.sha256), "date": passerelle_link::output::time(Some(d.added_at))}));
        }
    }
    let m = serde_json::to_vec_pretty(&serde_json::json!({"coffre": "Passerelle", "exporte_le": passerelle_link::output::time(Some(now())), "documents": manifest})).map_err(|e| e.to_string())?;
    send(zip.start("manifeste.json").map_err(|e| e.to_string())?).await?;
    zip.data(&m);
    send(m).await?;
    send(zip.finish().map_err(|e| e.to_string())?).await?;
    Ok(())
}
