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
    let tr = Tr::current();
    html! {
        @for n in nodes.iter().filter(|n| n.revoked_at.is_none()) {
            option value={ "inst:" (n.node_id) } {
                (tr.a("partage-tous-les-pros", &[("institution", n.name.as_str().into())]))
            }
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
    let tr = Tr::current();
    let body = html! {
        h1 { (tr.t("partage-titre")) }
        @if let Some(m) = message { (alert(m)) }
        h2 { (icon(Icon::Consent)) (tr.t("partage-mes-autorisations")) }
        @if consents.is_empty() {
            p { (tr.t("partage-aucune")) }
        } @else {
            (consents_table(s, &consents, t))
        }
        (super::upload_sharing::shares_table(ctx, s, t))
        (grant_form(ctx, s, &holdings, t))
        p.note { (tr.t("partage-retirer-quand")) }
        p.note {
            (tr.a(
                "partage-limites",
                &[("max", consent::MAX_SCOPE.into()), ("actives", consent::MAX_ACTIVE.into())],
            ))
        }
    };
    private(
        status,
        vault_page(ctx, &tr.t("menu-partager"), Some(s), body),
    )
}

fn consents_table(
    s: &accounts::PersonSession,
    consents: &[vault::store::ConsentRecord],
    t: u64,
) -> Markup {
    let tr = Tr::current();
    let heads = [
        tr.t("partage-col-qui"),
        tr.t("partage-col-quoi"),
        tr.t("partage-col-pour"),
        tr.t("partage-col-jusqu-au"),
        tr.t("partage-col-etat"),
    ];
    let heads: Vec<&str> = heads.iter().map(String::as_str).collect();
    html! {
        table {
            (table_head(&heads))
            tbody {
                @for c in consents {
                    tr {
                        td { (c.grantee_label) }
                        td { (c.scope_label) }
                        td { (tr.procedure(&c.consent.procedure)) }
                        td { (tr.until(c.consent.not_after)) }
                        td {
                            @if let Some(r) = c.revoked_at {
                                (tr.a("partage-retiree-le", &[("date", tr.date(r).into())]))
                            } @else if !c.active(t) {
                                (tr.t("partage-terminee"))
                            } @else {
                                form method="post" action={ "/coffre/partages/" (c.consent.id) "/retirer" } {
                                    (hidden(&s.csrf))
                                    button.gros.clair type="submit" { (tr.t("partage-retirer")) }
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
    let tr = Tr::current();
    html! {
        h2 { (tr.t("partage-donner")) }
        form method="post" action="/coffre/partages" {
            (hidden(&s.csrf))
            fieldset {
                legend { (tr.t("partage-quels-documents")) }
                @for h in holdings {
                    @if let Ok(docs) = &h.documents {
                        @for d in docs {
                            p { label {
                                input type="checkbox" name="doc" value={ (h.node) "|" (d.id) };
                                " " (tr.category(d.category)) " : " (d.name) " (" (h.name) ")"
                            } }
                        }
                    }
                }
                (super::upload_sharing::uploads_fieldset(ctx, s))
                p { (tr.t("partage-par-type")) }
                @for c in Category::ALL {
                    p { label {
                        input type="checkbox" name="categorie" value=(c.code());
                        " " (tr.category(c))
                    } }
                }
            }
            p {
                label for="qui" { (tr.t("partage-avec-qui")) } br;
                select #qui name="qui" required { (grantee_options(ctx, &s.person)) }
            }
            p {
                label for="demarche" { (tr.t("partage-demarche")) } br;
                select #demarche name="demarche" {
                    @for (code, _) in PROCEDURES { option value=(code) { (tr.procedure(code)) } }
                    option value="autre" { (tr.t("partage-autre-demarche")) }
                }
            }
            p {
                label for="autre" { (tr.t("partage-autre-demarche-champ")) } br;
                input #autre name="autre";
            }
            p {
                label for="fin" { (tr.t("partage-jusqu-a-quand")) } br;
                input #fin name="fin" type="date" value=(until) required aria-describedby="fin-aide";
                br;
                span.note #fin-aide { (tr.t("partage-fin-aide")) }
            }
            p { button.gros type="submit" { (icon(Icon::Consent)) (tr.t("partage-donner-bouton")) } }
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
            Some(&Tr::current().t("partage-choisir-qui")),
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
            Some(&Tr::current().t("partage-choisir-fin")),
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
        Ok(_) => {
            let m = Tr::current().t("partage-donnee");
            consents_page(&ctx, &s, Some(&m), StatusCode::OK).await
        }
        Err(vault::VaultError::Refused(r)) => {
            consents_page(&ctx, &s, Some(&refusal_french(&r)), StatusCode::BAD_REQUEST).await
        }
        Err(error) => {
            tracing::error!(%error, "consent not recorded");
            consents_page(
                &ctx,
                &s,
                Some(&Tr::current().t("partage-non-enregistree")),
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
            // Kept with the consent and shown to professionals too: in
            // French, whatever the language of the page.
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
                Some(&Tr::current().t("partage-retiree")),
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
                Some(&Tr::current().t("partage-non-retiree")),
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
        Actor::Person => Tr::current().t("journal-vous"),
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
    let tr = Tr::current();
    let with = |key: &str, detail: String| tr.a(key, &[("detail", detail.into())]);
    match &e.action {
        Action::List => with("journal-liste", e.detail.clone()),
        Action::Download => with("journal-ouvert", e.detail.clone()),
        Action::DownloadRefused | Action::ListFailed | Action::ListRefused => {
            with("journal-refuse", failure_french(&e.detail))
        }
        Action::AccountDelete => "compte supprimé".into(),
        Action::Unlink => format!("institution déliée : {}", e.subject),
        Action::ReportWritten => format!("bilan rédigé : {}", e.subject),
        Action::ConsentGrant => with("journal-autorisation-donnee", e.detail.clone()),
        Action::ConsentRevoke => with("journal-autorisation-retiree", e.detail.clone()),
        Action::Duplicate => with("journal-copie", e.detail.clone()),
        Action::Upload => with("journal-depot", e.detail.clone()),
        Action::Delete => with("journal-suppression", e.detail.clone()),
        Action::Link => tr.t("journal-lien"),
        Action::AccountCreate => tr.t("journal-compte-cree"),
        Action::PasswordReset => tr.t("journal-mot-de-passe"),
        Action::Export => tr.t("journal-export"),
        Action::ResetCodeIssued => tr.t("journal-code-donne"),
        Action::ResetCodeRefused => tr.t("journal-code-refuse"),
        Action::DocumentAdd => with("journal-document-ajoute", e.detail.clone()),
        Action::DocumentRemove => with("journal-document-retire", e.detail.clone()),
        // A node's own events, never in a person's journal.
        Action::BatchImport
        | Action::ImportRefused
        | Action::ApiRefused
        | Action::BatchValidate
        | Action::BatchReject
        | Action::BatchRollback
        | Action::AgentAdd
        | Action::AgentReset
        | Action::AgentRemove
        | Action::TokenAdd
        | Action::TokenRemove => e.action.to_string(),
        Action::Other(other) if other == "preferences" => tr.t("journal-preferences"),
        Action::Other(other) => other.to_string(),
    }
}

/// GET `/coffre/journal`: who saw what, when, for which procedure.
pub async fn journal(State(ctx): State<Arc<Ctx>>, s: Person) -> Response {
    let records = ctx.vault.store.audit_of(&s.person, 300).unwrap_or_default();
    let tr = Tr::current();
    let heads = [
        tr.t("journal-col-quand"),
        tr.t("journal-col-qui"),
        tr.t("journal-col-quoi"),
        tr.t("journal-col-demarche"),
    ];
    let heads: Vec<&str> = heads.iter().map(String::as_str).collect();
    let body = html! {
        h1 { (tr.t("menu-journal")) }
        p { (tr.t("journal-intro")) }
        table {
            (table_head(&heads))
            tbody {
                @for r in &records {
                    @let e = &r.event;
                    @if !(e.actor == Actor::Person && e.action == Action::List) {
                        tr {
                            td { (tr.date(r.at)) }
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
        vault_page(&ctx, &tr.t("menu-journal"), Some(&s), body),
    )
}
