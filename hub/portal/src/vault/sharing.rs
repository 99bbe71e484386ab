//! Consents (grant, revoke) and the journal of who saw what.

use super::*;

/// The institutions a person is linked to (they alone, and their
/// professionals, can be chosen to share with).
fn linked(ctx: &Ctx, person: &str) -> Vec<NodeId> {
    ctx.vault
        .store
        .links(person)
        .unwrap_or_default()
        .into_iter()
        .map(|(node, _)| node)
        .collect()
}

fn grantee_options(ctx: &Ctx, person: &str) -> Markup {
    let linked = linked(ctx, person);
    let nodes: Vec<_> = ctx
        .hub
        .store
        .nodes()
        .unwrap_or_default()
        .into_iter()
        .filter(|n| linked.contains(&n.node_id))
        .collect();
    let live = |id: &NodeId| {
        nodes
            .iter()
            .find(|n| &n.node_id == id && n.revoked_at.is_none())
    };
    let accounts = ctx.hub.store.accounts().unwrap_or_default();
    html! {
        @for n in nodes.iter().filter(|n| n.revoked_at.is_none()) {
            option value={ "inst:" (n.node_id) } { "Tous les professionnels de : " (n.name) }
        }
        @for a in &accounts {
            @if let Some(n) = live(&a.institution) {
                option value={ "pro:" (a.email) } { (a.name) " (" (n.name) ")" }
            }
        }
    }
}

async fn consents_page(
    ctx: &Ctx,
    s: &accounts::PersonSession,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let t = now();
    let consents = ctx.vault.store.consents_of(&s.person).unwrap_or_default();
    let holdings = ctx.vault.holdings(&s.person, &Requester::Person).await;
    let body = html! {
        h1 { "Partager mes documents" }
        @if let Some(m) = message { (alert(m)) }
        h2 { "Mes autorisations" }
        @if consents.is_empty() {
            p { "Vous n'avez donné aucune autorisation sur les documents des institutions." }
        } @else {
            (consents_table(s, &consents, t))
        }
        (super::upload_sharing::shares_table(ctx, s, t))
        (grant_form(ctx, s, &holdings, t))
        p.note {
            "Vous pouvez retirer une autorisation à tout moment. "
            "Chaque consultation est notée dans « Qui a vu mes documents »."
        }
        p.note {
            "Une autorisation porte sur " (consent::MAX_SCOPE) " documents ou types de document au plus ; "
            "vous pouvez avoir " (consent::MAX_ACTIVE) " autorisations en cours au plus."
        }
    };
    private(status, vault_page(ctx, "Partager", Some(s), body))
}

fn consents_table(
    s: &accounts::PersonSession,
    consents: &[vault::store::ConsentRecord],
    t: u64,
) -> Markup {
    html! {
        table {
            (table_head(&["Qui", "Quoi", "Pour", "Jusqu'au", "État"]))
            tbody {
                @for c in consents {
                    tr {
                        td { (c.grantee_label) }
                        td { (c.scope_label) }
                        td { (procedure_label(&c.consent.procedure)) }
                        td { (date(c.consent.not_after)) }
                        td {
                            @if let Some(r) = c.revoked_at {
                                "Retirée le " (date(r))
                            } @else if !c.active(t) {
                                "Terminée"
                            } @else {
                                form method="post" action={ "/coffre/partages/" (c.consent.id) "/retirer" } {
                                    (hidden(&s.csrf))
                                    button.gros.clair type="submit" { "Retirer" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn grant_form(
    ctx: &Ctx,
    s: &accounts::PersonSession,
    holdings: &[vault::Holding],
    t: u64,
) -> Markup {
    let until = passerelle_hub_core::french::day(t + 30 * 86400);
    html! {
        h2 { "Donner une autorisation" }
        form method="post" action="/coffre/partages" {
            (hidden(&s.csrf))
            fieldset {
                legend { "Quels documents ?" }
                @for h in holdings {
                    @if let Ok(docs) = &h.documents {
                        @for d in docs {
                            p { label {
                                input type="checkbox" name="doc" value={ (h.node) "|" (d.id) };
                                " " (d.category.label()) " : " (d.name) " (" (h.name) ")"
                            } }
                        }
                    }
                }
                (super::upload_sharing::uploads_fieldset(ctx, s))
                p { "Ou tous mes documents de ce type :" }
                @for c in Category::ALL {
                    p { label {
                        input type="checkbox" name="categorie" value=(c.code());
                        " " (c.label())
                    } }
                }
            }
            p {
                label for="qui" { "Avec qui ?" } br;
                select #qui name="qui" required { (grantee_options(ctx, &s.person)) }
            }
            p {
                label for="demarche" { "Pour quelle démarche ?" } br;
                select #demarche name="demarche" {
                    @for (code, label) in PROCEDURES { option value=(code) { (label) } }
                    option value="autre" { "Autre démarche" }
                }
            }
            p {
                label for="autre" { "Autre démarche (écrivez-la)" } br;
                input #autre name="autre";
            }
            p {
                label for="fin" { "Jusqu'à quand ?" } br;
                input #fin name="fin" type="date" value=(until) required;
            }
            p { button.gros type="submit" { "Donner l'autorisation" } }
        }
    }
}

/// GET `/coffre/partages`.
pub async fn consents(State(ctx): State<Arc<Ctx>>, s: Person) -> Response {
    consents_page(&ctx, &s, None, StatusCode::OK).await
}

/// POST `/coffre/partages`: grant.
pub async fn grant(
    State(ctx): State<Arc<Ctx>>,
    Checked { by: s, fields: f }: Checked<Person>,
) -> Response {
    let t = now();
    let scopes = chosen_scopes(&ctx, &s.person, &f);
    let Some(grantee) = chosen_grantee(&ctx, &s.person, f.get("qui")) else {
        return consents_page(
            &ctx,
            &s,
            Some("Choisissez avec qui partager."),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let procedure = match f.get("demarche") {
        "autre" => f.get("autre").trim().chars().take(120).collect::<String>(),
        code if PROCEDURES.iter().any(|(c, _)| *c == code) => code.to_string(),
        _ => String::new(),
    };
    // The consent runs to the end of the chosen day, Mayotte time.
    let Some(until) = passerelle_hub_core::french::end_of_day(f.get("fin")) else {
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
    match super::upload_sharing::grant(&ctx, &s, &f, &g, t) {
        Ok(_) => consents_page(&ctx, &s, Some("L'autorisation est donnée."), StatusCode::OK).await,
        Err(vault::VaultError::Refused(r)) => {
            consents_page(&ctx, &s, Some(&refusal_french(&r)), StatusCode::BAD_REQUEST).await
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

/// What the form shares, per holding node: the chosen documents (of nodes
/// linked to the person only), and the chosen categories at every linked
/// node; each with its words.
fn chosen_scopes(ctx: &Ctx, person: &str, f: &extract::Fields) -> Vec<(NodeId, Scope, String)> {
    let linked: Vec<NodeId> = ctx
        .vault
        .store
        .links(person)
        .unwrap_or_default()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let mut scopes: Vec<(NodeId, Scope, String)> = Vec::new();
    // Each document once (the vault removes repeats and caps the scope
    // again; this keeps the words right).
    let mut docs: std::collections::BTreeMap<NodeId, Vec<String>> = Default::default();
    for v in f.all("doc") {
        if let Some((n, id)) = v.split_once('|') {
            if let Ok(n) = NodeId::new(n) {
                if linked.contains(&n) {
                    let ids = docs.entry(n).or_default();
                    if !ids.iter().any(|i| i == id) {
                        ids.push(id.to_string());
                    }
                }
            }
        }
    }
    for (n, ids) in docs {
        let label = format!("{} document(s) de {}", ids.len(), ctx.vault.node_name(&n));
        scopes.push((n, Scope::Documents(ids), label));
    }
    let mut cats: Vec<Category> = Vec::new();
    for c in f.all("categorie").filter_map(|v| Category::parse(v).ok()) {
        if !cats.contains(&c) {
            cats.push(c);
        }
    }
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
    scopes
}

/// Who the form shares with (`inst:<node>` or `pro:<email>`), and in
/// words; `None` when unknown, revoked, or of an institution the person is
/// not linked to.
fn chosen_grantee(ctx: &Ctx, person: &str, who: &str) -> Option<(Grantee, String)> {
    let linked = linked(ctx, person);
    if let Some(n) = who.strip_prefix("inst:") {
        let r = ctx
            .hub
            .store
            .node(&NodeId::new(n).ok()?)
            .ok()
            .flatten()
            .filter(|r| r.revoked_at.is_none() && linked.contains(&r.node_id))?;
        Some((
            Grantee::Institution(r.node_id.clone()),
            format!("Tous les professionnels de {}", r.name),
        ))
    } else if let Some(e) = who.strip_prefix("pro:") {
        let a = ctx
            .hub
            .store
            .account(e)
            .ok()
            .flatten()
            .filter(|a| linked.contains(&a.institution))?;
        let inst = ctx.vault.node_name(&a.institution);
        Some((
            Grantee::Professional {
                institution: a.institution.clone(),
                account: a.email.clone(),
            },
            format!("{} ({inst})", a.name),
        ))
    } else {
        None
    }
}

/// POST `/coffre/partages/{id}/retirer`: revoke, and tell the node now.
pub async fn revoke(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
    Checked { by: s, .. }: Checked<Person>,
) -> Response {
    match super::upload_sharing::revoke(&ctx, &s, &id) {
        Some(Ok(())) => {
            let m = "L'autorisation est retirée. Plus personne ne peut l'utiliser.";
            return consents_page(&ctx, &s, Some(m), StatusCode::OK).await;
        }
        Some(Err(())) => {
            let m = "L'autorisation n'a pas pu être retirée. Réessayez.";
            return consents_page(&ctx, &s, Some(m), StatusCode::INTERNAL_SERVER_ERROR).await;
        }
        None => {}
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
        Err(vault::VaultError::Refused(r)) => {
            consents_page(&ctx, &s, Some(&refusal_french(&r)), StatusCode::NOT_FOUND).await
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
fn who(ctx: &Ctx, actor: &Actor) -> String {
    let institution = |node: &str| {
        NodeId::new(node)
            .map(|n| ctx.vault.node_name(&n))
            .unwrap_or_default()
    };
    match actor {
        Actor::Person => "Vous".into(),
        Actor::Professional {
            account,
            institution: node,
        } => {
            let name = ctx
                .hub
                .store
                .account(account)
                .ok()
                .flatten()
                .map_or_else(|| account.to_string(), |a| a.name);
            format!("{name} ({})", institution(node))
        }
        Actor::Node(node) => institution(node),
        other => other.to_string(),
    }
}

/// What an event of the journal says, in words.
fn what(e: &Event) -> String {
    match &e.action {
        Action::List => format!("a regardé la liste de vos documents ({})", e.detail),
        Action::Download => format!("a ouvert : {}", e.detail),
        Action::DownloadRefused | Action::ListFailed | Action::ListRefused => {
            format!("accès refusé ou impossible : {}", failure_french(&e.detail))
        }
        Action::ConsentGrant => format!("autorisation donnée : {}", e.detail),
        Action::ConsentRevoke => format!("autorisation retirée : {}", e.detail),
        Action::Duplicate => format!("copie vérifiable faite : {}", e.detail),
        Action::Upload => format!("document déposé : {}", e.detail),
        Action::Delete => format!("document supprimé : {}", e.detail),
        Action::Link => "a relié votre dossier à votre coffre".into(),
        Action::AccountCreate => "compte créé".into(),
        Action::PasswordReset => "mot de passe changé".into(),
        Action::Export => "a téléchargé tout le coffre".into(),
        Action::ResetCodeIssued => "a donné un code pour changer le mot de passe".into(),
        Action::ResetCodeRefused => {
            "n'a pas pu obtenir de code pour changer le mot de passe".into()
        }
        Action::DocumentAdd => format!("document ajouté : {}", e.detail),
        Action::DocumentRemove => format!("document retiré : {}", e.detail),
        Action::Other(other) if other == "preferences" => {
            "a changé ses choix d'avis et de connexion".into()
        }
        Action::AccountDelete => "compte supprimé".into(),
        Action::Unlink => format!("institution déliée : {}", e.subject),
        Action::Other(other) => other.to_string(),
    }
}

/// GET `/coffre/journal`: who saw what, when, for which procedure.
pub async fn journal(State(ctx): State<Arc<Ctx>>, s: Person) -> Response {
    let records = ctx.vault.store.audit_of(&s.person, 300).unwrap_or_default();
    let body = html! {
        h1 { "Qui a vu mes documents" }
        p { "Tout ce qui touche à vos documents est noté ici, et ne peut pas être effacé." }
        table {
            (table_head(&["Quand", "Qui", "Quoi", "Pour quelle démarche"]))
            tbody {
                @for r in &records {
                    @let e = &r.event;
                    @if !(e.actor == Actor::Person && e.action == Action::List) {
                        tr {
                            td { (date(r.at)) }
                            td { (who(&ctx, &e.actor)) }
                            td { (what(e)) }
                            td { (e.procedure.as_deref().unwrap_or("—")) }
                        }
                    }
                }
            }
        }
    };
    private(
        StatusCode::OK,
        vault_page(&ctx, "Qui a vu mes documents", Some(&s), body),
    )
}
