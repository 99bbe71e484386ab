//! `/donnees`: the institution's data. A data officer imports a CSV file
//! for a declared dataset (a progress bar while it uploads, where
//! JavaScript runs; the full error report after, on screen and as a file
//! to download); every batch is listed with who imported it and when; a
//! validator validates or rejects a batch someone else imported, and can
//! go back to the previous batch; and everyone here sees what the hub
//! last asked and what the node answered.

use std::sync::Arc;

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
    routing::{get, post},
    Form, Router,
};
use maud::{html, Markup};
use passerelle_link::now;
use passerelle_web::style::csrf_field;
use serde::Deserialize;

mod imports;

pub use imports::Reports;

use super::{
    auth::{CsrfForm, Signed},
    page::{self, alert, column_heads, date, done, redirect},
    words, Console,
};
use crate::{
    agents::Role,
    batches,
    store::{BatchMeta, BatchState, BatchStatus},
    Actor, NodeError,
};

/// The data pages.
pub fn router() -> Router<Arc<Console>> {
    Router::new()
        .route("/donnees", get(data_page))
        .route(
            "/donnees/import",
            post(imports::import).layer(axum::extract::DefaultBodyLimit::max(
                (imports::MAX_CSV + 64 * 1024) as usize,
            )),
        )
        .route("/donnees/rapport/{id}", get(imports::report))
        .route(
            "/donnees/rapport/{id}/erreurs.csv",
            get(imports::report_csv),
        )
        .route("/donnees/lots/{id}/valider", post(validate))
        .route("/donnees/lots/{id}/refuser", post(reject))
        .route("/donnees/revenir", get(rollback_page).post(rollback))
}

/// Whether the agent may see the data pages.
fn may_see(s: &Signed) -> bool {
    s.agent.has(Role::Data) || s.agent.has(Role::Validator) || s.agent.has(Role::Admin)
}

/// Who acted, as the console names them: an agent by name, an operator
/// at the command line as such.
pub fn who(console: &Console, text: &str) -> String {
    match Actor::parse(text) {
        Actor::Agent(login) => match console.shared.store.agent(&login).ok().flatten() {
            Some(a) => format!("{} ({login})", a.name),
            None => format!("agent {login}"),
        },
        Actor::System(name) => format!("{name} (ligne de commande)"),
        Actor::Token(name) => format!("logiciel métier (jeton « {name} »)"),
        Actor::Folder(dataset) => format!("dossier de dépôt de « {dataset} »"),
    }
}

fn periods(list: &[passerelle_protocol::period::Period]) -> String {
    list.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a batch's state says.
fn state(console: &Console, b: &BatchState) -> Markup {
    let m = &b.meta;
    html! {
        @match m.status {
            BatchStatus::Pending => { strong { "En attente de validation" } }
            BatchStatus::Active if b.in_force.is_empty() => { "Remplacé par un lot plus récent" }
            BatchStatus::Active if b.in_force.len() < m.periods.len() => {
                "En vigueur pour " (periods(&b.in_force))
            }
            BatchStatus::Active => { "En vigueur" }
            BatchStatus::Rejected => { "Refusé" }
            BatchStatus::Withdrawn => { "Retiré" }
        }
        @if let (Some(by), Some(at)) = (&m.validated_by, m.validated_at) {
            br; span.note { "validé par " (who(console, by)) " le " (date(at)) }
        }
        @if let Some(n) = &b.note {
            br; span.note {
                @if m.status == BatchStatus::Rejected { "refusé" } @else { "retiré" }
                " par " (who(console, &n.by)) " le " (date(n.at))
                @if !n.reason.is_empty() { " — motif : " (n.reason) }
            }
        }
    }
}

/// The decision forms of a pending batch, for a validator who did not
/// import it.
fn decide(s: &Signed, m: &BatchMeta) -> Markup {
    let own = Actor::parse(&m.imported_by).to_string() == s.by();
    html! {
        @if m.status != BatchStatus::Pending {
        } @else if !s.agent.has(Role::Validator) {
            br; span.note { "Un agent chargé de la validation doit le valider." }
        } @else if own {
            br; span.note { "Vous l'avez importé : un autre agent doit le valider." }
        } @else {
            form method="post" action={ "/donnees/lots/" (m.id) "/valider" } {
                (csrf_field(&s.session.csrf))
                button type="submit" { "Valider le lot " (m.id) }
            }
            form method="post" action={ "/donnees/lots/" (m.id) "/refuser" } {
                (csrf_field(&s.session.csrf))
                label for={ "motif-" (m.id) } { "Motif du refus (lot " (m.id) ")" } br;
                input id={ "motif-" (m.id) } name="motif" maxlength="500";
                " "
                button type="submit" { "Refuser le lot " (m.id) }
            }
        }
    }
}

/// A query kind in words.
fn query_kind(kind: &str) -> &str {
    match kind {
        "ping" => "vérification de la liaison",
        "status" => "état du nœud",
        "aggregate" => "chiffres agrégés",
        "directory" => "fiche de l'annuaire",
        "documents" => "liste des documents d'une personne",
        "fetch" => "ouverture d'un document",
        "revoked_consents" => "autorisations retirées",
        "trust" => "certificats de confiance",
        "audit_head" => "ancrage du journal du nœud",
        "hub_head" => "ancrage du journal de la plateforme",
        "deposits_since" => "nouveaux dépôts (pour les avis)",
        "forget" => "lien retiré par la personne",
        other => other,
    }
}

/// What `?fait=` says was just done.
#[derive(Debug, Deserialize, Default)]
struct Done {
    #[serde(default)]
    fait: String,
    #[serde(default)]
    lot: Option<u64>,
}

fn done_message(d: &Done) -> Option<String> {
    let lot = d.lot?;
    Some(match d.fait.as_str() {
        "valide" => format!("Le lot n° {lot} est validé : il est en vigueur."),
        "refuse" => format!("Le lot n° {lot} est refusé : il ne sera jamais en vigueur."),
        "retire" => {
            format!("Le lot n° {lot} est retiré : le lot précédent est de nouveau en vigueur.")
        }
        _ => return None,
    })
}

/// GET `/donnees`.
async fn data_page(
    State(console): State<Arc<Console>>,
    s: Signed,
    Query(d): Query<Done>,
) -> Response {
    let message = done_message(&d).map(|m| (m, false));
    render(&console, &s, message, StatusCode::OK)
}

/// The data page, with a message (an alert when `true`).
pub(super) fn render(
    console: &Console,
    s: &Signed,
    message: Option<(String, bool)>,
    status: StatusCode,
) -> Response {
    if !may_see(s) {
        return page::not_allowed(console, s, Role::Data);
    }
    let store = &console.shared.store;
    let (states, queries) = match (store.batch_states(), store.recent_queries(20)) {
        (Ok(b), Ok(q)) => (b, q),
        (Err(e), _) | (_, Err(e)) => return page::unavailable(&e),
    };
    let datasets = &console.shared.config.datasets;
    let in_force: Vec<(&str, &BatchState)> = datasets
        .iter()
        .filter_map(|d| {
            states
                .iter()
                .filter(|b| b.meta.dataset == d.name && !b.in_force.is_empty())
                .max_by_key(|b| b.meta.id)
                .map(|b| (d.name.as_str(), b))
        })
        .collect();
    let body = html! {
        h1 { "Données" }
        @if let Some((m, is_alert)) = &message {
            @if *is_alert { (alert(m)) } @else { (done(m)) }
        }
        @if s.agent.has(Role::Data) {
            h2 #importer { "Importer un fichier" }
            @if datasets.is_empty() {
                p { "Aucun jeu de données n'est déclaré sur ce nœud : l'administrateur du nœud les déclare dans node.toml." }
            } @else {
                p { "Le fichier est un CSV avec une ligne d'en-tête (séparateur virgule ou point-virgule), tel qu'un tableur l'enregistre. Tout le fichier est vérifié avant d'être pris en compte : en cas d'erreur, chaque ligne fautive est citée et rien n'est importé." }
                form #import method="post" action="/donnees/import" enctype="multipart/form-data" {
                    (csrf_field(&s.session.csrf))
                    p {
                        label for="jeu" { "Jeu de données" } br;
                        select #jeu name="jeu" required {
                            @for d in datasets {
                                option value=(d.name) { (d.title.as_deref().unwrap_or(&d.name)) " (" (d.name) ")" }
                            }
                        }
                    }
                    p {
                        label for="fichier" { "Fichier CSV" } br;
                        input #fichier name="fichier" type="file" accept=".csv,text/csv" required;
                    }
                    p #progression hidden {
                        label for="barre" { "Envoi du fichier" } br;
                        progress #barre max="100" value="0" { "0 %" }
                    }
                    p { button.gros type="submit" { "Importer" } }
                }
                script src="/console.js" defer {}
            }
        }
        h2 #lots { "Les lots" }
        @if states.is_empty() {
            p { "Aucun lot importé pour l'instant." }
        } @else {
            table {
                caption { "Chaque import est un lot ; le plus récent en premier." }
                (column_heads(&["Lot", "Importé", "État"]))
                tbody {
                    @for b in &states {
                        tr {
                            td {
                                strong { "n° " (b.meta.id) } br;
                                (b.meta.dataset) br;
                                span.note { (b.meta.rows) " ligne(s), " (periods(&b.meta.periods)) }
                            }
                            td { (date(b.meta.imported_at)) br; span.note { "par " (who(console, &b.meta.imported_by)) br; (b.meta.file) } }
                            td { (state(console, b)) (decide(s, &b.meta)) }
                        }
                    }
                }
            }
        }
        @if s.agent.has(Role::Validator) {
            h2 #revenir { "Revenir au lot précédent" }
            @if in_force.is_empty() {
                p { "Aucun lot n'est en vigueur." }
            } @else {
                p { "Si un lot en vigueur est faux, retirez-le : pour chacune de ses périodes, le lot précédent redevient en vigueur." }
                ul {
                    @for (name, b) in &in_force {
                        li { a href={ "/donnees/revenir?jeu=" (super::counter::query_value(name)) } { "Retirer le lot " (b.meta.id) " de « " (name) " »" } }
                    }
                }
            }
        }
        h2 #hub { "Ce que la plateforme a demandé" }
        @if queries.is_empty() {
            p { "La plateforme n'a encore rien demandé à ce nœud." }
        } @else {
            table {
                caption { "Les dernières demandes, la plus récente en premier." }
                (column_heads(&["Quand", "Demande", "Réponse du nœud"]))
                tbody {
                    @for q in &queries {
                        tr {
                            td { (date(q.at)) }
                            td { (query_kind(&q.kind)) }
                            td {
                                @if q.outcome == "answered" { "répondu" }
                                @else { "refusé (" (q.outcome) ")" @if !q.reason.is_empty() { " : " (q.reason) } }
                            }
                        }
                    }
                }
            }
        }
    };
    let mut res = page::signed(console, s, "/donnees", "Données", body);
    *res.status_mut() = status;
    res
}

/// The refusal form's fields.
#[derive(Debug, Deserialize)]
struct RejectForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    motif: String,
}

/// A refused or failed decision, on the data page.
fn decision_failed(console: &Console, s: &Signed, e: &NodeError) -> Response {
    match words::refusal(e) {
        Some(french) => render(console, s, Some((french, true)), StatusCode::CONFLICT),
        None => page::unavailable(e),
    }
}

/// POST `/donnees/lots/{id}/valider`.
async fn validate(
    State(console): State<Arc<Console>>,
    s: Signed,
    Path(id): Path<u64>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if !s.csrf_ok(&f.csrf) {
        return page::form_expired();
    }
    if !s.agent.has(Role::Validator) {
        return page::not_allowed(&console, &s, Role::Validator);
    }
    match batches::validate(&console.shared.store, id, &s.by(), now()) {
        Ok(_) => redirect(&format!("/donnees?fait=valide&lot={id}#lots")),
        Err(e) => decision_failed(&console, &s, &e),
    }
}

/// POST `/donnees/lots/{id}/refuser`.
async fn reject(
    State(console): State<Arc<Console>>,
    s: Signed,
    Path(id): Path<u64>,
    Form(f): Form<RejectForm>,
) -> Response {
    if !s.csrf_ok(&f.csrf) {
        return page::form_expired();
    }
    if !s.agent.has(Role::Validator) {
        return page::not_allowed(&console, &s, Role::Validator);
    }
    match batches::reject(&console.shared.store, id, &f.motif, &s.by(), now()) {
        Ok(_) => redirect(&format!("/donnees?fait=refuse&lot={id}#lots")),
        Err(e) => decision_failed(&console, &s, &e),
    }
}

/// The dataset of a rollback.
#[derive(Debug, Deserialize)]
struct Dataset {
    #[serde(default)]
    jeu: String,
}

/// GET `/donnees/revenir?jeu=…`: what going back would do, to confirm.
async fn rollback_page(
    State(console): State<Arc<Console>>,
    s: Signed,
    Query(q): Query<Dataset>,
) -> Response {
    if !s.agent.has(Role::Validator) {
        return page::not_allowed(&console, &s, Role::Validator);
    }
    let plan = match console.shared.store.rollback_plan(&q.jeu) {
        Ok(p) => p,
        Err(e) => return decision_failed(&console, &s, &e),
    };
    let body = html! {
        h1 { "Revenir au lot précédent" }
        p { "Le lot n° " (plan.withdrawn.id) " de « " (q.jeu) " », importé le " (date(plan.withdrawn.imported_at)) " par " (who(&console, &plan.withdrawn.imported_by)) ", sera retiré. Ensuite :" }
        ul {
            @for (p, b) in &plan.restored {
                li {
                    (p) " : "
                    @match b { Some(b) => { "le lot n° " (b) " sera de nouveau en vigueur" } None => { "plus aucune donnée (aucun lot précédent)" } }
                }
            }
        }
        form method="post" action="/donnees/revenir" {
            (csrf_field(&s.session.csrf))
            input type="hidden" name="jeu" value=(q.jeu);
            p { button.gros type="submit" { "Retirer le lot " (plan.withdrawn.id) } }
        }
        p { a href="/donnees#lots" { "Annuler" } }
    };
    page::signed(&console, &s, "/donnees", "Revenir au lot précédent", body)
}

/// The rollback form's fields.
#[derive(Debug, Deserialize)]
struct RollbackForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    jeu: String,
}

/// POST `/donnees/revenir`.
async fn rollback(
    State(console): State<Arc<Console>>,
    s: Signed,
    Form(f): Form<RollbackForm>,
) -> Response {
    if !s.csrf_ok(&f.csrf) {
        return page::form_expired();
    }
    if !s.agent.has(Role::Validator) {
        return page::not_allowed(&console, &s, Role::Validator);
    }
    match batches::rollback(
        &console.shared.config,
        &console.shared.store,
        &f.jeu,
        &s.by(),
        now(),
    ) {
        Ok(done) => redirect(&format!(
            "/donnees?fait=retire&lot={}#lots",
            done.withdrawn.id
        )),
        Err(e) => decision_failed(&console, &s, &e),
    }
}
