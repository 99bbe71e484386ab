//! Consents (grant, revoke) and the journal of who saw what.

use super::*;

fn grantee_options(ctx: &Ctx) -> String {
    let mut out = String::new();
    let nodes = ctx.hub.store.nodes().unwrap_or_default();
    for n in nodes.iter().filter(|n| n.revoked_at.is_none()) {
        let _ = write!(
            out,
            "<option value=\"inst:{}\">Tous les professionnels de : {}</option>",
            esc(n.node_id.as_str()),
            esc(&n.name)
        );
    }
    for a in ctx.hub.store.accounts().unwrap_or_default() {
        let inst = nodes
            .iter()
            .find(|n| n.node_id == a.institution && n.revoked_at.is_none());
        if let Some(n) = inst {
            let _ = write!(
                out,
                "<option value=\"pro:{}\">{} ({})</option>",
                esc(&a.email),
                esc(&a.name),
                esc(&n.name)
            );
        }
    }
    out
}

async fn consents_page(
    ctx: &Ctx,
    s: &accounts::PersonSession,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let t = now();
    let mut body = String::from("<h1>Partager mes documents</h1>");
    if let Some(m) = message {
        body.push_str(&alert(m));
    }
    body.push_str("<h2>Mes autorisations</h2>");
    let consents = ctx.vault.store.consents_of(&s.person).unwrap_or_default();
    if consents.is_empty() {
        body.push_str("<p>Vous n'avez donné aucune autorisation.</p>");
    } else {
        body.push_str("<table><thead><tr><th scope=\"col\">Qui</th><th scope=\"col\">Quoi</th><th scope=\"col\">Pour</th><th scope=\"col\">Jusqu'au</th><th scope=\"col\">État</th></tr></thead><tbody>");
        for c in &consents {
            let state = if let Some(r) = c.revoked_at {
                format!("Retirée le {}", date(r))
            } else if !c.active(t) {
                "Terminée".to_string()
            } else {
                format!("<form method=\"post\" action=\"/coffre/partages/{}/retirer\">{}<button class=\"gros clair\" type=\"submit\">Retirer</button></form>", esc(&c.consent.id), hidden(s))
            };
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{state}</td></tr>",
                esc(&c.grantee_label),
                esc(&c.scope_label),
                esc(procedure_label(&c.consent.procedure)),
                date(c.consent.not_after)
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str(
        "<h2>Donner une autorisation</h2><form method=\"post\" action=\"/coffre/partages\">",
    );
    body.push_str(&hidden(s));
    body.push_str("<fieldset><legend>Quels documents ?</legend>");
    for h in ctx.vault.holdings(&s.person, &Requester::Person).await {
        if let Ok(docs) = &h.documents {
            for d in docs {
                let _ = write!(
                    body,
                    "<p><label><input type=\"checkbox\" name=\"doc\" value=\"{}|{}\"> {} : {} ({})</label></p>",
                    esc(h.node.as_str()),
                    esc(&d.id),
                    d.category.label(),
                    esc(&d.name),
                    esc(&h.name)
                );
            }
        }
    }
    body.push_str("<p>Ou tous mes documents de ce type :</p>");
    for c in Category::ALL {
        let _ = write!(
            body,
            "<p><label><input type=\"checkbox\" name=\"categorie\" value=\"{}\"> {}</label></p>",
            c.code(),
            c.label()
        );
    }
    body.push_str("</fieldset><p><label for=\"qui\">Avec qui ?</label><br><select id=\"qui\" name=\"qui\" required>");
    body.push_str(&grantee_options(ctx));
    body.push_str("</select></p><p><label for=\"demarche\">Pour quelle démarche ?</label><br><select id=\"demarche\" name=\"demarche\">");
    for (code, label) in PROCEDURES {
        let _ = write!(body, "<option value=\"{code}\">{label}</option>");
    }
    let until = passerelle_hub_core::french::day(t + 30 * 86400);
    let _ = write!(
        body,
        "<option value=\"autre\">Autre démarche</option></select></p>\
<p><label for=\"autre\">Autre démarche (écrivez-la)</label><br><input id=\"autre\" name=\"autre\"></p>\
<p><label for=\"fin\">Jusqu'à quand ?</label><br><input id=\"fin\" name=\"fin\" type=\"date\" value=\"{}\" required></p>\
<p><button class=\"gros\" type=\"submit\">Donner l'autorisation</button></p></form>\
<p class=\"note\">Vous pouvez retirer une autorisation à tout moment. Chaque consultation est notée dans « Qui a vu mes documents ».</p>",
        until
    );
    private(status, vault_page(ctx, "Partager", Some(s), &body))
}

/// GET `/coffre/partages`.
pub async fn consents(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Response {
    match session(&ctx, &headers) {
        Some((_, s)) => consents_page(&ctx, &s, None, StatusCode::OK).await,
        None => to_start(),
    }
}

/// POST `/coffre/partages`: grant.
pub async fn grant(State(ctx): State<Arc<Ctx>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_start();
    };
    let f = fields(&body);
    if !csrf_ok(&s, &f) {
        return refused(&ctx);
    }
    let t = now();
    let linked: Vec<NodeId> = ctx
        .vault
        .store
        .links(&s.person)
        .unwrap_or_default()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    // Chosen documents, per holding node (only nodes linked to the person).
    let mut scopes: Vec<(NodeId, Scope, String)> = Vec::new();
    let mut docs: std::collections::BTreeMap<NodeId, Vec<String>> = Default::default();
    for (k, v) in &f {
        if k == "doc" {
            if let Some((n, id)) = v.split_once('|') {
                if let Ok(n) = NodeId::new(n) {
                    if linked.contains(&n) {
                        docs.entry(n).or_default().push(id.to_string());
                    }
                }
            }
        }
    }
    for (n, ids) in docs {
        let label = format!("{} document(s) de {}", ids.len(), ctx.vault.node_name(&n));
        scopes.push((n, Scope::Documents(ids), label));
    }
    let cats: Vec<Category> = f
        .iter()
        .filter(|(k, _)| k == "categorie")
        .filter_map(|(_, v)| Category::parse(v).ok())
        .collect();
    if !cats.is_empty() {
        let words: Vec<&str> = cats.iter().map(|c| c.label()).collect();
        for n in &linked {
            scopes.push((
                n.clone(),
                Scope::Categories(cats.clone()),
                format!("{} ({})", words.join(", "), ctx.vault.node_name(n)),
            ));
        }
    }
    let who = field(&f, "qui");
    let grantee = if let Some(n) = who.strip_prefix("inst:") {
        NodeId::new(n)
            .ok()
            .and_then(|n| {
                ctx.hub
                    .store
                    .node(&n)
                    .ok()
                    .flatten()
                    .filter(|r| r.revoked_at.is_none())
            })
            .map(|r| {
                (
                    Grantee::Institution(r.node_id.clone()),
                    format!("Tous les professionnels de {}", r.name),
                )
            })
    } else if let Some(e) = who.strip_prefix("pro:") {
        ctx.hub.store.account(e).ok().flatten().map(|a| {
            let inst = ctx.vault.node_name(&a.institution);
            (
                Grantee::Professional {
                    institution: a.institution.clone(),
                    account: a.email.clone(),
                },
                format!("{} ({inst})", a.name),
            )
        })
    } else {
        None
    };
    let Some(grantee) = grantee else {
        return consents_page(
            &ctx,
            &s,
            Some("Choisissez avec qui partager."),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let procedure = match field(&f, "demarche") {
        "autre" => field(&f, "autre")
            .trim()
            .chars()
            .take(120)
            .collect::<String>(),
        code if PROCEDURES.iter().any(|(c, _)| *c == code) => code.to_string(),
        _ => String::new(),
    };
    // The consent runs to the end of the chosen day, Mayotte time.
    let Some(until) = passerelle_hub_core::french::end_of_day(field(&f, "fin")) else {
        return consents_page(
            &ctx,
            &s,
            Some("Choisissez une date de fin."),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let g = consent::Grant {
        person: s.person.clone(),
        grantee,
        scopes,
        procedure,
        until,
    };
    match consent::grant(&ctx.vault.store, &ctx.hub.key, &g, t) {
        Ok(_) => consents_page(&ctx, &s, Some("L'autorisation est donnée."), StatusCode::OK).await,
        Err(passerelle_hub_core::HubError::Refused(m)) => {
            consents_page(&ctx, &s, Some(&m), StatusCode::BAD_REQUEST).await
        }
        Err(error) => {
            tracing::error!(%error, "consent not recorded");
            consents_page(
                &ctx,
                &s,
                Some("L'autorisation n'a pas pu être enregistrée. Réessayez plus tard."),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
            .await
        }
    }
}

/// POST `/coffre/partages/{id}/retirer`: revoke, and tell the node now.
pub async fn revoke(
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
    match consent::revoke(&ctx.vault.store, &s.person, &id, now()) {
        Ok(c) => {
            if let Some(live) = ctx.registry.get(&c.consent.holder) {
                if let Err(error) = passerelle_hub_core::federation::send_revocations(
                    &live,
                    &ctx.hub.key,
                    vec![c.consent.id.clone()],
                    ctx.hub.config.query_timeout,
                )
                .await
                {
                    // The hub refuses it already; the node hears at its next status poll.
                    tracing::warn!(%error, "revocation not delivered now");
                }
            }
            consents_page(
                &ctx,
                &s,
                Some("L'autorisation est retirée. Plus personne ne peut l'utiliser."),
                StatusCode::OK,
            )
            .await
        }
        Err(passerelle_hub_core::HubError::Refused(m)) => {
            consents_page(&ctx, &s, Some(&m), StatusCode::NOT_FOUND).await
        }
        Err(error) => {
            tracing::error!(%error, "consent not revoked");
            consents_page(
                &ctx,
                &s,
                Some("L'autorisation n'a pas pu être retirée. Réessayez."),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
            .await
        }
    }
}

/// Who did it, in words.
fn who(ctx: &Ctx, actor: &str) -> String {
    if actor == "person" {
        return "Vous".into();
    }
    if let Some(rest) = actor.strip_prefix("professional:") {
        if let Some((account, node)) = rest.rsplit_once('@') {
            let name = ctx
                .hub
                .store
                .account(account)
                .ok()
                .flatten()
                .map_or_else(|| account.to_string(), |a| a.name);
            let inst = NodeId::new(node)
                .map(|n| ctx.vault.node_name(&n))
                .unwrap_or_default();
            return format!("{name} ({inst})");
        }
    }
    if let Some(node) = actor.strip_prefix("node:") {
        return NodeId::new(node)
            .map(|n| ctx.vault.node_name(&n))
            .unwrap_or_default();
    }
    actor.to_string()
}

/// GET `/coffre/journal`: who saw what, when, for which procedure.
/// A failed access's detail as the vault records it (`institution: why`,
/// `why` a stable code), in plain French. Records written before the codes
/// existed already hold French text and are shown as they are.
fn failure_french(detail: &str) -> String {
    const CODES: &[(&str, &str)] = &[
        ("unreachable", "l'institution ne répondait pas"),
        (
            "outdated",
            "le logiciel de l'institution doit être mis à jour",
        ),
        ("not_linked", "ce document ne vous concerne pas"),
        (
            "unrecorded",
            "l'accès n'a pas pu être noté, il a donc été refusé",
        ),
    ];
    if let Some((who, _)) = detail.split_once(": refused: ") {
        return format!("{who} : l'institution a refusé l'accès");
    }
    for (code, words) in CODES {
        if let Some(who) = detail.strip_suffix(&format!(": {code}")) {
            return format!("{who} : {words}");
        }
    }
    detail.to_string()
}

pub async fn journal(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_start();
    };
    let mut body = String::from("<h1>Qui a vu mes documents</h1><p>Tout ce qui touche à vos documents est noté ici, et ne peut pas être effacé.</p>\
<table><thead><tr><th scope=\"col\">Quand</th><th scope=\"col\">Qui</th><th scope=\"col\">Quoi</th><th scope=\"col\">Pour quelle démarche</th></tr></thead><tbody>");
    for r in ctx.vault.store.audit_of(&s.person, 300).unwrap_or_default() {
        let e = &r.event;
        if e.actor == "person" && e.action == "list" {
            continue;
        }
        let what = match e.action.as_str() {
            "list" => format!("a regardé la liste de vos documents ({})", e.detail),
            "download" => format!("a ouvert : {}", e.detail),
            "download_refused" | "list_failed" => {
                format!("accès refusé ou impossible : {}", failure_french(&e.detail))
            }
            "consent_grant" => format!("autorisation donnée : {}", e.detail),
            "consent_revoke" => format!("autorisation retirée : {}", e.detail),
            "duplicate" => format!("copie vérifiable faite : {}", e.detail),
            "upload" => format!("document déposé : {}", e.detail),
            "delete" => format!("document supprimé : {}", e.detail),
            "link" => "a relié votre dossier à votre coffre".into(),
            "account_create" => "compte créé".into(),
            "password_reset" => "mot de passe changé".into(),
            "reset_code_issued" => "a donné un code pour changer le mot de passe".into(),
            other => other.to_string(),
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            date(r.at),
            esc(&who(&ctx, &e.actor)),
            esc(&what),
            esc(e.procedure.as_deref().unwrap_or("—"))
        );
    }
    body.push_str("</tbody></table>");
    private(
        StatusCode::OK,
        vault_page(&ctx, "Qui a vu mes documents", Some(&s), &body),
    )
}
