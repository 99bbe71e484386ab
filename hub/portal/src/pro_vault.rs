//! The partner professionals' side of the vault: documents people shared
//! with them (under a consent, checked again by the holding node), help to
//! create an account at the counter, and password reset codes.

use std::{fmt::Write as _, sync::Arc};

use axum::{
    body::Bytes,
    extract::{Path, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use passerelle_link::now;
use passerelle_protocol::{
    audit::Event,
    sign::constant_time_eq,
    vault::{procedure_label, Requester},
};

use super::{
    layout::{date, esc, page},
    partner::{forbidden, private, session, to_login},
    vault::{copy_of, field, fields, rescue_page, stream_response},
};
use passerelle_hub_core::partners::Account;
use passerelle_vault::{
    accounts, consent,
    store::{CodeKind, ConsentRecord},
};

use crate::state::Ctx;

fn signed_in(ctx: &Ctx, headers: &HeaderMap) -> Option<(String, Account)> {
    let (_, s) = session(ctx, headers)?;
    let a = ctx.hub.store.account(&s.email).ok().flatten()?;
    Some((s.csrf, a))
}

fn csrf_ok(csrf: &str, f: &[(String, String)]) -> bool {
    let given = field(f, "csrf");
    !given.is_empty() && constant_time_eq(csrf.as_bytes(), given.as_bytes())
}

fn person_label(ctx: &Ctx, person: &str) -> String {
    ctx.vault
        .store
        .person(person)
        .ok()
        .flatten()
        .map_or_else(|| "—".into(), |p| p.login)
}

fn home_page(
    ctx: &Ctx,
    csrf: &str,
    a: &Account,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let mut body = String::from("<h1>Coffre-fort : documents partagés avec vous</h1>");
    if let Some(m) = message {
        let _ = write!(body, "<p class=\"demo\" role=\"alert\">{}</p>", esc(m));
    }
    let list =
        consent::granted_to(&ctx.vault.store, &a.institution, &a.email, now()).unwrap_or_default();
    if list.is_empty() {
        body.push_str("<p>Personne ne vous a encore autorisé à voir ses documents.</p>");
    } else {
        body.push_str("<table><thead><tr><th scope=\"col\">Personne</th><th scope=\"col\">Documents</th><th scope=\"col\">Démarche</th><th scope=\"col\">Jusqu'au</th><th scope=\"col\"></th></tr></thead><tbody>");
        for c in &list {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><a href=\"/partenaires/coffre/{}\">Voir les documents</a></td></tr>",
                esc(&person_label(ctx, &c.person)),
                esc(&c.scope_label),
                esc(procedure_label(&c.consent.procedure)),
                date(c.consent.not_after),
                esc(&c.consent.id)
            );
        }
        body.push_str("</tbody></table>");
    }
    let _ = write!(
        body,
        "<h2>Aider une personne</h2><p><a class=\"gros\" href=\"/partenaires/coffre/aide\">Créer un compte avec la personne</a></p>\
<h2>Mot de passe oublié</h2><p>Vérifiez l'identité de la personne, puis donnez-lui ce code (valable 30 minutes). Elle le tape sur la page « J'ai oublié mon mot de passe ».</p>\
<form method=\"post\" action=\"/partenaires/coffre/code\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<p><label for=\"identifiant\">Téléphone ou e-mail de la personne</label><br><input id=\"identifiant\" name=\"identifiant\" required></p>\
<p><button type=\"submit\">Obtenir un code</button></p></form><p><a href=\"/partenaires\">Retour à l'espace partenaires</a></p>"
    );
    private(
        status,
        page(
            ctx,
            "Coffre-fort — partenaires",
            maud::PreEscaped(body.to_string()),
        ),
    )
}

/// GET `/partenaires/coffre`.
pub async fn home(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Response {
    match signed_in(&ctx, &headers) {
        Some((csrf, a)) => home_page(&ctx, &csrf, &a, None, StatusCode::OK),
        None => to_login(),
    }
}

fn usable(ctx: &Ctx, a: &Account, id: &str) -> Option<ConsentRecord> {
    // The hub checks first; the holding node checks again on its own.
    let found = ctx.vault.store.consent(id).ok().flatten();
    let ok = found
        .as_ref()
        .is_some_and(|c| c.active(now()) && c.consent.grantee.covers(&a.institution, &a.email));
    if ok {
        return found;
    }
    // Refused here: the node never hears of it, so the hub's chain must.
    let why = match &found {
        None => "no such consent".to_string(),
        Some(c) if c.revoked_at.is_some() => "consent revoked".into(),
        Some(c) if !c.consent.grantee.covers(&a.institution, &a.email) => {
            "consent given to someone else".into()
        }
        Some(_) => "consent expired or not valid yet".into(),
    };
    ctx.vault.log(Event {
        actor: format!("professional:{}@{}", a.email, a.institution),
        action: "download_refused".into(),
        person: found.map(|c| c.person),
        subject: id.to_string(),
        procedure: None,
        detail: why,
    });
    None
}

fn requester(a: &Account, c: &ConsentRecord) -> Requester {
    Requester::Professional {
        institution: a.institution.clone(),
        account: a.email.clone(),
        consent: c.signed.clone(),
    }
}

/// GET `/partenaires/coffre/{consent}`.
pub async fn shared(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some((csrf, a)) = signed_in(&ctx, &headers) else {
        return to_login();
    };
    let Some(c) = usable(&ctx, &a, &id) else {
        return home_page(
            &ctx,
            &csrf,
            &a,
            Some("Cette autorisation n'existe pas, a été retirée ou a expiré."),
            StatusCode::FORBIDDEN,
        );
    };
    let mut body = format!(
        "<h1>Documents de {}</h1><p>Pour : {}. Autorisation valable jusqu'au {}.</p>",
        esc(&person_label(&ctx, &c.person)),
        esc(procedure_label(&c.consent.procedure)),
        date(c.consent.not_after)
    );
    for h in ctx.vault.holdings(&c.person, &requester(&a, &c)).await {
        let _ = write!(body, "<h2>{}</h2>", esc(&h.name));
        match h.documents {
            Err(e) => {
                let _ = write!(
                    body,
                    "<p class=\"demo\" role=\"alert\">{}</p>",
                    esc(&super::vault::access_french(&e))
                );
            }
            Ok(docs) => {
                body.push_str("<ul>");
                for d in docs {
                    let _ = write!(
                        body,
                        "<li>{} : {} — <a href=\"/partenaires/coffre/{cid}/{node}/{id}\">Télécharger</a>\
<form method=\"post\" action=\"/partenaires/coffre/{cid}/{node}/{id}/copie\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\">Copie vérifiable</button></form></li>",
                        d.category.label(),
                        esc(&d.name),
                        cid = esc(&c.consent.id),
                        node = esc(h.node.as_str()),
                        id = esc(&d.id)
                    );
                }
                body.push_str("</ul>");
            }
        }
    }
    body.push_str("<p><a href=\"/partenaires/coffre\">Retour</a></p>");
    private(
        StatusCode::OK,
        page(
            &ctx,
            "Documents partagés",
            maud::PreEscaped(body.to_string()),
        ),
    )
}

fn holder_of(c: &ConsentRecord, node: &str) -> bool {
    c.consent.holder.as_str() == node
}

/// GET `/partenaires/coffre/{consent}/{node}/{doc}`.
pub async fn download(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    Path((id, node, doc)): Path<(String, String, String)>,
) -> Response {
    let Some((csrf, a)) = signed_in(&ctx, &headers) else {
        return to_login();
    };
    let Some(c) = usable(&ctx, &a, &id).filter(|c| holder_of(c, &node)) else {
        return home_page(
            &ctx,
            &csrf,
            &a,
            Some("Cette autorisation n'existe pas, a été retirée ou a expiré."),
            StatusCode::FORBIDDEN,
        );
    };
    match ctx
        .vault
        .open(&c.person, &c.consent.holder, &doc, &requester(&a, &c))
        .await
    {
        Ok(incoming) => stream_response(incoming),
        Err(e) => home_page(
            &ctx,
            &csrf,
            &a,
            Some(&super::vault::access_french(&e)),
            StatusCode::FORBIDDEN,
        ),
    }
}

/// POST `/partenaires/coffre/{consent}/{node}/{doc}/copie`.
pub async fn copy(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    Path((id, node, doc)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let Some((csrf, a)) = signed_in(&ctx, &headers) else {
        return to_login();
    };
    if !csrf_ok(&csrf, &fields(&body)) {
        return forbidden(&ctx);
    }
    let Some(c) = usable(&ctx, &a, &id).filter(|c| holder_of(c, &node)) else {
        return home_page(
            &ctx,
            &csrf,
            &a,
            Some("Cette autorisation n'existe pas, a été retirée ou a expiré."),
            StatusCode::FORBIDDEN,
        );
    };
    let by = format!("{} ({})", a.name, ctx.vault.node_name(&a.institution));
    match copy_of(
        &ctx,
        &c.person,
        &c.consent.holder,
        &doc,
        &requester(&a, &c),
        &by,
    )
    .await
    {
        Ok(r) => r,
        Err(m) => home_page(&ctx, &csrf, &a, Some(&m), StatusCode::FORBIDDEN),
    }
}

fn assist_form(ctx: &Ctx, csrf: &str, message: Option<&str>, status: StatusCode) -> Response {
    let body = format!(
        "<h1>Créer un compte avec la personne</h1>{}\
<p>La personne choisit et tape elle-même son mot de passe. Elle seule pourra ensuite donner des autorisations, depuis son propre compte.</p>\
<form method=\"post\" action=\"/partenaires/coffre/aide\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
<p><label for=\"identifiant\">Téléphone ou e-mail de la personne</label><br><input id=\"identifiant\" name=\"identifiant\" required></p>\
<p><label for=\"mdp\">Mot de passe (tapé par la personne, 8 caractères au moins)</label><br><input id=\"mdp\" name=\"mdp\" type=\"password\" autocomplete=\"off\" required></p>\
<p><label for=\"mdp2\">Encore une fois</label><br><input id=\"mdp2\" name=\"mdp2\" type=\"password\" autocomplete=\"off\" required></p>\
<p><button class=\"gros\" type=\"submit\">Créer le compte</button></p></form><p><a href=\"/partenaires/coffre\">Retour</a></p>",
        message.map(|m| format!("<p class=\"demo\" role=\"alert\">{}</p>", esc(m))).unwrap_or_default()
    );
    private(
        status,
        page(ctx, "Créer un compte", maud::PreEscaped(body.to_string())),
    )
}

/// GET `/partenaires/coffre/aide`.
pub async fn assist_page(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Response {
    match signed_in(&ctx, &headers) {
        Some((csrf, _)) => assist_form(&ctx, &csrf, None, StatusCode::OK),
        None => to_login(),
    }
}

/// POST `/partenaires/coffre/aide`: assisted creation. No session is opened
/// for the person here: consents are given in the person's own session.
pub async fn assist(State(ctx): State<Arc<Ctx>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some((csrf, a)) = signed_in(&ctx, &headers) else {
        return to_login();
    };
    let f = fields(&body);
    if !csrf_ok(&csrf, &f) {
        return forbidden(&ctx);
    }
    let login = match accounts::normalise_login(field(&f, "identifiant")) {
        Ok(l) => l,
        Err(m) => return assist_form(&ctx, &csrf, Some(m), StatusCode::BAD_REQUEST),
    };
    if let Err(m) = accounts::check_password(field(&f, "mdp"), field(&f, "mdp2")) {
        return assist_form(&ctx, &csrf, Some(m), StatusCode::BAD_REQUEST);
    }
    let Ok(_permit) = ctx.password_checks.try_acquire() else {
        return assist_form(
            &ctx,
            &csrf,
            Some("Le service est très sollicité. Réessayez dans un instant."),
            StatusCode::SERVICE_UNAVAILABLE,
        );
    };
    let actor = format!("professional:{}@{}", a.email, a.institution);
    match accounts::create(
        &ctx.vault.store,
        &login,
        field(&f, "mdp"),
        Some(actor.clone()),
        now(),
    ) {
        Ok(c) => {
            ctx.vault.log(Event {
                actor,
                action: "account_create".into(),
                person: Some(c.account.id.clone()),
                subject: "-".into(),
                procedure: None,
                detail: "assisted".into(),
            });
            private(
                StatusCode::OK,
                rescue_page(&ctx, None, &c.rescue_code, "<p>Le compte est créé. Remettez ce code à la personne (imprimez la page ou recopiez-le pour elle), puis laissez-la se connecter elle-même.</p>"),
            )
        }
        Err(passerelle_hub_core::HubError::Refused(_)) => assist_form(
            &ctx,
            &csrf,
            Some("Un compte existe déjà avec cet identifiant."),
            StatusCode::CONFLICT,
        ),
        Err(error) => {
            tracing::error!(%error, "assisted account not created");
            assist_form(
                &ctx,
                &csrf,
                Some("Le compte n'a pas pu être créé. Réessayez plus tard."),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
        }
    }
}

/// POST `/partenaires/coffre/code`: a one-time reset code for a person
/// whose identity the professional checked. Logged in the person's journal.
pub async fn reset_code(State(ctx): State<Arc<Ctx>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some((csrf, a)) = signed_in(&ctx, &headers) else {
        return to_login();
    };
    let f = fields(&body);
    if !csrf_ok(&csrf, &f) {
        return forbidden(&ctx);
    }
    let person = accounts::normalise_login(field(&f, "identifiant"))
        .ok()
        .and_then(|l| ctx.vault.store.person_by_login(&l).ok().flatten());
    let Some(p) = person else {
        return home_page(
            &ctx,
            &csrf,
            &a,
            Some("Aucun compte n'a cet identifiant."),
            StatusCode::NOT_FOUND,
        );
    };
    // Only an institution that knows the person (it linked their record,
    // or helped create the account) may hand them a reset code: anyone
    // else could take the account over.
    let actor = format!("professional:{}@{}", a.email, a.institution);
    let linked = ctx
        .vault
        .store
        .links(&p.id)
        .unwrap_or_default()
        .iter()
        .any(|(n, _)| n == &a.institution);
    let helped = p
        .assisted_by
        .as_deref()
        .is_some_and(|by| by.ends_with(&format!("@{}", a.institution)));
    if !linked && !helped {
        ctx.vault.log(Event {
            actor,
            action: "reset_code_refused".into(),
            person: Some(p.id),
            subject: "-".into(),
            procedure: None,
            detail: "institution not linked to the person".into(),
        });
        return home_page(
            &ctx,
            &csrf,
            &a,
            Some("Votre institution n'a pas relié le dossier de cette personne : elle ne peut pas lui donner de code. La personne doit s'adresser à une institution où son dossier est relié."),
            StatusCode::FORBIDDEN,
        );
    }
    let code = accounts::code(2);
    let t = now();
    let stored = ctx.vault.store.put_code(
        CodeKind::Reset,
        &accounts::code_hash(&code),
        &passerelle_vault::store::PendingCode {
            person: p.id.clone(),
            expires_at: t + accounts::CODE_TTL,
            issued_by: actor.clone(),
        },
    );
    if stored.is_err() {
        return home_page(
            &ctx,
            &csrf,
            &a,
            Some("Le code n'a pas pu être créé. Réessayez plus tard."),
            StatusCode::INTERNAL_SERVER_ERROR,
        );
    }
    ctx.vault.log(Event {
        actor,
        action: "reset_code_issued".into(),
        person: Some(p.id),
        subject: "-".into(),
        procedure: None,
        detail: String::new(),
    });
    home_page(
        &ctx,
        &csrf,
        &a,
        Some(&format!(
            "Code à donner à la personne : {code} (valable 30 minutes, une seule fois)."
        )),
        StatusCode::OK,
    )
}
