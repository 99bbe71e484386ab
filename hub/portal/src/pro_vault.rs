//! The partner professionals' side of the vault: documents people shared
//! with them (under a consent, checked again by the holding node), help to
//! create an account at the counter, and password reset codes.

use std::sync::Arc;

use axum::{
    extract::{Path, RawQuery, State},
    http::StatusCode,
    response::Response,
};
use maud::{html, Markup};
use passerelle_link::now;
use passerelle_protocol::{
    audit::{Action, Actor, Event},
    vault::{procedure_label, Requester},
};

use super::{
    layout::page,
    paging,
    partner::private,
    vault::{
        access_french, alert, copy_of,
        extract::{Checked, Professional},
        hidden, rescue_page, send_opened, table_head,
    },
};
use passerelle_hub_core::partners::Account;
use passerelle_vault::{
    accounts, consent,
    store::{CodeKind, ConsentRecord},
};

use crate::state::Ctx;

/// The professionals' vault pages.
pub fn router() -> axum::Router<Arc<Ctx>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/partenaires/coffre", get(home))
        .route("/partenaires/coffre/aide", get(assist_page).post(assist))
        .route("/partenaires/coffre/code", post(reset_code))
        .route("/partenaires/coffre/{consent}", get(shared))
        .route("/partenaires/coffre/{consent}/{node}/{doc}", get(download))
        .route(
            "/partenaires/coffre/{consent}/{node}/{doc}/copie",
            post(copy),
        )
}

const NO_CONSENT: &str = "Cette autorisation n'existe pas, a été retirée ou a expiré.";

fn person_label(ctx: &Ctx, person: &str) -> String {
    ctx.vault
        .store
        .person(person)
        .ok()
        .flatten()
        .map_or_else(|| "—".into(), |p| p.login)
}

/// The field for the person's login, as a professional types it.
fn person_login() -> Markup {
    html! {
        p {
            label for="identifiant" { "Téléphone ou e-mail de la personne" } br;
            input #identifiant name="identifiant" required;
        }
    }
}

fn home_page(ctx: &Ctx, pro: &Professional, message: Option<&str>, status: StatusCode) -> Response {
    home_page_at(ctx, pro, message, status, 1)
}

/// The professional's home, the consents listed a page at a time.
fn home_page_at(
    ctx: &Ctx,
    pro: &Professional,
    message: Option<&str>,
    status: StatusCode,
    number: usize,
) -> Response {
    let a = &pro.account;
    let list =
        consent::granted_to(&ctx.vault.store, &a.institution, &a.email, now()).unwrap_or_default();
    let shown = paging::page(&list, number);
    let body = html! {
        h1 { "Coffre-fort : documents partagés avec vous" }
        @if let Some(m) = message { (alert(m)) }
        @if list.is_empty() {
            p { "Personne ne vous a encore autorisé à voir ses documents." }
        } @else {
            table {
                (table_head(&["Personne", "Documents", "Démarche", "Jusqu'au", ""]))
                tbody {
                    @for c in shown.rows {
                        tr {
                            td { (person_label(ctx, &c.person)) }
                            td { (c.scope_label) }
                            td { (procedure_label(&c.consent.procedure)) }
                            td { (passerelle_hub_core::french::until(c.consent.not_after)) }
                            td { a href={ "/partenaires/coffre/" (c.consent.id) } { "Voir les documents" } }
                        }
                    }
                }
            }
            (shown.links("/partenaires/coffre"))
        }
        (crate::pro_uploads::shares_section(ctx, pro))
        h2 { "Aider une personne" }
        p { a.gros href="/partenaires/coffre/aide" { "Créer un compte avec la personne" } }
        h2 { "Mot de passe oublié" }
        p {
            "Vérifiez l'identité de la personne, puis donnez-lui ce code (valable 30 minutes). "
            "Elle le tape sur la page « J'ai oublié mon mot de passe ». "
            "Si elle se trompe de code de secours, elle peut réessayer ("
            (accounts::MAX_RESET_ATTEMPTS) " essais en tout) ; ensuite il faut un nouveau code."
        }
        form method="post" action="/partenaires/coffre/code" {
            (hidden(&pro.csrf))
            (person_login())
            p { button type="submit" { "Obtenir un code" } }
        }
        p { a href="/partenaires" { "Retour à l'espace partenaires" } }
    };
    private(status, page(ctx, "Coffre-fort — partenaires", body))
}

/// GET `/partenaires/coffre` (`?page=N`).
pub async fn home(
    State(ctx): State<Arc<Ctx>>,
    RawQuery(q): RawQuery,
    pro: Professional,
) -> Response {
    home_page_at(
        &ctx,
        &pro,
        None,
        StatusCode::OK,
        paging::asked(q.as_deref()),
    )
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
        actor: actor(a),
        action: Action::DownloadRefused,
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

/// GET `/partenaires/coffre/{consent}` (`?page=N`): the documents shared,
/// a page at a time.
pub async fn shared(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
    pro: Professional,
) -> Response {
    let number = paging::asked(q.as_deref());
    let Some(c) = usable(&ctx, &pro.account, &id) else {
        return home_page(&ctx, &pro, Some(NO_CONSENT), StatusCode::FORBIDDEN);
    };
    let holdings = ctx
        .vault
        .holdings(&c.person, &requester(&pro.account, &c))
        .await;
    let body = html! {
        h1 { "Documents de " (person_label(&ctx, &c.person)) }
        p {
            "Pour : " (procedure_label(&c.consent.procedure))
            ". Autorisation valable jusqu'au " (passerelle_hub_core::french::until(c.consent.not_after)) "."
        }
        @for h in &holdings {
            h2 { (h.name) }
            @match &h.documents {
                Err(e) => (alert(&access_french(e))),
                Ok(docs) if docs.is_empty() => p { "Aucun document pour le moment." },
                Ok(docs) => {
                    @let shown = paging::page(docs, number);
                    ul {
                    @for d in shown.rows {
                        @let at = format!("/partenaires/coffre/{}/{}/{}", c.consent.id, h.node, d.id);
                        li {
                            (d.category.label()) " : " (d.name) " — "
                            a href=(at) { "Télécharger" }
                            form method="post" action={ (at) "/copie" } {
                                (hidden(&pro.csrf))
                                button type="submit" { "Copie vérifiable" }
                            }
                        }
                    }
                    }
                    (shown.links(&format!("/partenaires/coffre/{}", c.consent.id)))
                },
            }
        }
        p { a href="/partenaires/coffre" { "Retour" } }
    };
    private(StatusCode::OK, page(&ctx, "Documents partagés", body))
}

fn holder_of(c: &ConsentRecord, node: &str) -> bool {
    c.consent.holder.as_str() == node
}

/// GET `/partenaires/coffre/{consent}/{node}/{doc}`.
pub async fn download(
    State(ctx): State<Arc<Ctx>>,
    Path((id, node, doc)): Path<(String, String, String)>,
    pro: Professional,
) -> Response {
    let a = &pro.account;
    let Some(c) = usable(&ctx, a, &id).filter(|c| holder_of(c, &node)) else {
        return home_page(&ctx, &pro, Some(NO_CONSENT), StatusCode::FORBIDDEN);
    };
    let opened = ctx
        .vault
        .open(&c.person, &c.consent.holder, &doc, &requester(a, &c))
        .await;
    match send_opened(opened).await {
        Ok(r) => r,
        Err(n) => home_page(&ctx, &pro, Some(&n.french), n.status(StatusCode::FORBIDDEN)),
    }
}

/// POST `/partenaires/coffre/{consent}/{node}/{doc}/copie`.
pub async fn copy(
    State(ctx): State<Arc<Ctx>>,
    Path((id, node, doc)): Path<(String, String, String)>,
    Checked { by: pro, .. }: Checked<Professional>,
) -> Response {
    let a = &pro.account;
    let Some(c) = usable(&ctx, a, &id).filter(|c| holder_of(c, &node)) else {
        return home_page(&ctx, &pro, Some(NO_CONSENT), StatusCode::FORBIDDEN);
    };
    let by = format!("{} ({})", a.name, ctx.vault.node_name(&a.institution));
    match copy_of(
        &ctx,
        &c.person,
        &c.consent.holder,
        &doc,
        &requester(a, &c),
        &by,
    )
    .await
    {
        Ok(r) => r,
        Err(n) => home_page(&ctx, &pro, Some(&n.french), n.status(StatusCode::FORBIDDEN)),
    }
}

fn assist_form(ctx: &Ctx, csrf: &str, message: Option<&str>, status: StatusCode) -> Response {
    let body = html! {
        h1 { "Créer un compte avec la personne" }
        @if let Some(m) = message { (alert(m)) }
        p {
            "La personne choisit et tape elle-même son mot de passe. "
            "Elle seule pourra ensuite donner des autorisations, depuis son propre compte."
        }
        form method="post" action="/partenaires/coffre/aide" {
            (hidden(csrf))
            (person_login())
            p {
                label for="mdp" { "Mot de passe (tapé par la personne, 8 caractères au moins)" } br;
                input #mdp name="mdp" type="password" autocomplete="off" required;
            }
            p {
                label for="mdp2" { "Encore une fois" } br;
                input #mdp2 name="mdp2" type="password" autocomplete="off" required;
            }
            p { button.gros type="submit" { "Créer le compte" } }
        }
        p { a href="/partenaires/coffre" { "Retour" } }
    };
    private(status, page(ctx, "Créer un compte", body))
}

/// GET `/partenaires/coffre/aide`.
pub async fn assist_page(State(ctx): State<Arc<Ctx>>, pro: Professional) -> Response {
    assist_form(&ctx, &pro.csrf, None, StatusCode::OK)
}

/// POST `/partenaires/coffre/aide`: assisted creation. No session is opened
/// for the person here: consents are given in the person's own session.
pub async fn assist(
    State(ctx): State<Arc<Ctx>>,
    Checked { by: pro, fields: f }: Checked<Professional>,
) -> Response {
    let (csrf, a) = (&pro.csrf, &pro.account);
    let login = match accounts::normalise_login(f.get("identifiant")) {
        Ok(l) => l,
        Err(m) => return assist_form(&ctx, csrf, Some(m), StatusCode::BAD_REQUEST),
    };
    if let Err(m) = accounts::check_password(f.get("mdp"), f.get("mdp2")) {
        return assist_form(&ctx, csrf, Some(m), StatusCode::BAD_REQUEST);
    }
    let Ok(_permit) = ctx.password_checks.try_acquire() else {
        return assist_form(
            &ctx,
            csrf,
            Some("Le service est très sollicité. Réessayez dans un instant."),
            StatusCode::SERVICE_UNAVAILABLE,
        );
    };
    let actor = actor(a);
    match accounts::create(
        &ctx.vault.store,
        &login,
        f.get("mdp"),
        Some(actor.to_string()),
        now(),
    ) {
        Ok(c) => {
            ctx.vault.log(Event {
                actor,
                action: Action::AccountCreate,
                person: Some(c.account.id.clone()),
                subject: "-".into(),
                procedure: None,
                detail: "assisted".into(),
            });
            let intro = html! {
                p {
                    "Le compte est créé. Remettez ce code à la personne "
                    "(imprimez la page ou recopiez-le pour elle), puis laissez-la se connecter elle-même."
                }
            };
            private(
                StatusCode::OK,
                rescue_page(&ctx, None, &c.rescue_code, intro),
            )
        }
        Err(passerelle_vault::VaultError::Refused(passerelle_vault::Refusal::LoginTaken)) => {
            assist_form(
                &ctx,
                csrf,
                Some("Un compte existe déjà avec cet identifiant."),
                StatusCode::CONFLICT,
            )
        }
        Err(error) => {
            tracing::error!(%error, "assisted account not created");
            assist_form(
                &ctx,
                csrf,
                Some("Le compte n'a pas pu être créé. Réessayez plus tard."),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
        }
    }
}

/// How a professional appears in the vault's journal.
fn actor(a: &Account) -> Actor {
    Actor::Professional {
        account: a.email.clone(),
        institution: a.institution.to_string(),
    }
}

/// Whether the professional's institution knows the person: it linked
/// their record, or helped create the account. Anyone else could take
/// the account over with a reset code.
fn knows(ctx: &Ctx, a: &Account, p: &passerelle_vault::store::PersonAccount) -> bool {
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
    linked || helped
}

/// POST `/partenaires/coffre/code`: a one-time reset code for a person
/// whose identity the professional checked. Logged in the person's journal.
pub async fn reset_code(
    State(ctx): State<Arc<Ctx>>,
    Checked { by: pro, fields: f }: Checked<Professional>,
) -> Response {
    let a = &pro.account;
    let person = accounts::normalise_login(f.get("identifiant"))
        .ok()
        .and_then(|l| ctx.vault.store.person_by_login(&l).ok().flatten());
    let Some(p) = person else {
        return home_page(
            &ctx,
            &pro,
            Some("Aucun compte n'a cet identifiant."),
            StatusCode::NOT_FOUND,
        );
    };
    let actor = actor(a);
    if !knows(&ctx, a, &p) {
        ctx.vault.log(Event {
            actor,
            action: Action::ResetCodeRefused,
            person: Some(p.id),
            subject: "-".into(),
            procedure: None,
            detail: "institution not linked to the person".into(),
        });
        return home_page(
            &ctx,
            &pro,
            Some("Votre institution n'a pas relié le dossier de cette personne : elle ne peut pas lui donner de code. La personne doit s'adresser à une institution où son dossier est relié."),
            StatusCode::FORBIDDEN,
        );
    }
    let code = accounts::code(2);
    let t = now();
    // One reset code per person: a new one replaces any earlier one.
    let stored = ctx.vault.store.put_code_replacing(
        CodeKind::Reset,
        &accounts::code_hash(&code),
        &passerelle_vault::store::PendingCode {
            person: p.id.clone(),
            expires_at: t + accounts::CODE_TTL,
            issued_by: actor.to_string(),
            attempts: 0,
        },
        t,
    );
    if stored.is_err() {
        return home_page(
            &ctx,
            &pro,
            Some("Le code n'a pas pu être créé. Réessayez plus tard."),
            StatusCode::INTERNAL_SERVER_ERROR,
        );
    }
    ctx.vault.log(Event {
        actor,
        action: Action::ResetCodeIssued,
        person: Some(p.id),
        subject: "-".into(),
        procedure: None,
        detail: String::new(),
    });
    home_page(
        &ctx,
        &pro,
        Some(&format!(
            "Code à donner à la personne : {code} (valable 30 minutes, une seule fois ; il remplace tout code donné avant lui)."
        )),
        StatusCode::OK,
    )
}
