//! `/journal`: the node's audit chain, newest first, filtered by who,
//! what and which record, a page at a time; its integrity checked on
//! request. `/agents`: the console's accounts. Both for administrators.

use std::sync::Arc;

use axum::{
    extract::{Query, State},
    http::StatusCode,
    response::Response,
    routing::get,
    Router,
};
use maud::{html, Markup};
use passerelle_protocol::audit::{Action, Actor as AuditActor, Record};
use serde::Deserialize;

use super::{
    auth::Signed,
    counter::query_value,
    page::{self, alert, column_heads, date, done},
    Console,
};
use crate::{agents::Role, store::JournalFilter};

/// Records per page.
pub const PAGE: usize = 50;

/// The journal and agents pages.
pub fn router() -> Router<Arc<Console>> {
    Router::new()
        .route("/journal", get(journal))
        .route("/journal/verifier", get(verify))
        .route("/agents", get(agents))
}

/// The actions the filter offers, with their words: every action a
/// node writes in its chain.
const ACTIONS: &[(Action, &str)] = &[
    (Action::BatchImport, "fichier importé"),
    (
        Action::ImportRefused,
        "fichier refusé (API ou dossier de dépôt)",
    ),
    (Action::BatchValidate, "lot validé"),
    (Action::BatchReject, "lot refusé"),
    (Action::BatchRollback, "lot retiré"),
    (Action::Link, "dossier relié à un coffre-fort"),
    (Action::Unlink, "lien retiré par la personne"),
    (Action::DocumentAdd, "document déposé"),
    (Action::DocumentRemove, "document retiré"),
    (Action::List, "documents listés pour la plateforme"),
    (Action::ListRefused, "liste refusée"),
    (Action::Download, "document ouvert depuis le coffre-fort"),
    (Action::DownloadRefused, "ouverture refusée"),
    (Action::ApiRefused, "demande refusée à un logiciel métier"),
    (Action::AgentAdd, "compte d'agent créé"),
    (Action::AgentReset, "compte d'agent réinitialisé"),
    (Action::AgentRemove, "compte d'agent supprimé"),
    (Action::TokenAdd, "jeton d'API créé"),
    (Action::TokenRemove, "jeton d'API retiré"),
];

fn action_words(action: &Action) -> &str {
    ACTIONS
        .iter()
        .find(|(a, _)| a == action)
        .map_or(action.as_str(), |(_, w)| w)
}

/// Who acted, in words.
fn actor_words(console: &Console, a: &AuditActor) -> String {
    match a {
        AuditActor::Person => "la personne (son coffre-fort)".into(),
        AuditActor::Professional {
            account,
            institution,
        } => format!("professionnel {account} ({institution})"),
        AuditActor::Node(n) => format!("nœud {n}"),
        AuditActor::Hub => "la plateforme".into(),
        AuditActor::Operator(_) | AuditActor::Other(_) => super::data::who(console, &a.to_string()),
    }
}

/// The filter's fields.
#[derive(Debug, Deserialize, Default)]
struct Filter {
    #[serde(default)]
    qui: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    dossier: String,
    #[serde(default)]
    page: usize,
}

impl Filter {
    fn store(&self) -> JournalFilter {
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
        JournalFilter {
            actor: some(&self.qui),
            action: some(&self.action),
            person: some(&self.dossier),
        }
    }

    fn link(&self, page: usize) -> String {
        format!(
            "/journal?qui={}&action={}&dossier={}&page={page}",
            query_value(&self.qui),
            query_value(&self.action),
            query_value(&self.dossier)
        )
    }
}

fn row(console: &Console, r: &Record) -> Markup {
    let e = &r.event;
    html! {
        tr {
            td.n { (r.seq) }
            td { (date(r.at)) }
            td { (actor_words(console, &e.actor)) br; span.note { code { (e.actor) } } }
            td { (action_words(&e.action)) }
            td { (e.person.as_deref().unwrap_or("—")) }
            td { (e.subject) }
            td {
                @if let Some(p) = &e.procedure { "Démarche : " (passerelle_protocol::vault::procedure_label(p)) br; }
                (e.detail)
            }
        }
    }
}

/// GET `/journal`.
async fn journal(
    State(console): State<Arc<Console>>,
    s: Signed,
    Query(f): Query<Filter>,
) -> Response {
    if !s.agent.has(Role::Admin) {
        return page::not_allowed(&console, &s, Role::Admin);
    }
    let (records, more) = match console
        .shared
        .store
        .journal(&f.store(), f.page * PAGE, PAGE)
    {
        Ok(x) => x,
        Err(e) => return page::unavailable(&e),
    };
    let body = html! {
        h1 { "Journal des opérations" }
        p { "Chaque opération sur les données et les documents de ce nœud, avec qui l'a faite : un agent de la console, un opérateur en ligne de commande, la plateforme ou la personne. Le journal est chaîné : une modification se verrait. " a href="/journal/verifier" { "Vérifier l'intégrité du journal" } }
        form method="get" action="/journal" {
            p {
                label for="qui" { "Qui (par exemple agent:identifiant)" } br;
                input #qui name="qui" value=(f.qui);
            }
            p {
                label for="action" { "Opération" } br;
                select #action name="action" {
                    option value="" selected[f.action.is_empty()] { "Toutes" }
                    @for (a, w) in ACTIONS { option value=(a.as_str()) selected[f.action == a.as_str()] { (w) } }
                }
            }
            p {
                label for="dossier-filtre" { "Dossier" } br;
                input #dossier-filtre name="dossier" value=(f.dossier);
            }
            p { button.gros.clair type="submit" { "Filtrer" } }
        }
        @if records.is_empty() {
            p { "Aucune opération ne correspond." }
        } @else {
            table {
                caption { "Page " (f.page + 1) ", la plus récente en premier" }
                (column_heads(&["N°", "Quand", "Qui", "Opération", "Dossier", "Objet", "Détail"]))
                tbody { @for r in &records { (row(&console, r)) } }
            }
        }
        nav.choix aria-label="Pages du journal" {
            @if f.page > 0 { a href=(f.link(f.page - 1)) { "Page précédente" } }
            @if more { a href=(f.link(f.page + 1)) { "Page suivante" } }
        }
    };
    page::signed(&console, &s, "/journal", "Journal", body)
}

/// GET `/journal/verifier`: reads the whole chain and checks every link.
async fn verify(State(console): State<Arc<Console>>, s: Signed) -> Response {
    if !s.agent.has(Role::Admin) {
        return page::not_allowed(&console, &s, Role::Admin);
    }
    let store = console.shared.store.clone();
    let checked = tokio::task::spawn_blocking(move || store.audit_verify()).await;
    let (verdict, status) = match checked {
        Ok(Ok(Ok(head))) => (
            done(&format!(
                "Le journal est intact : {} opération(s), chacune liée à la précédente.",
                head.records
            )),
            StatusCode::OK,
        ),
        Ok(Ok(Err(broken))) => (
            alert(&format!(
                "Le journal est altéré à l'opération n° {} : {}. Gardez une copie du nœud (sauvegarde) et prévenez la DEETS.",
                broken.seq, broken.why
            )),
            StatusCode::OK,
        ),
        Ok(Err(e)) => return page::unavailable(&e),
        Err(_) => (alert("La vérification s'est interrompue : recommencez."), StatusCode::INTERNAL_SERVER_ERROR),
    };
    let body = html! {
        h1 { "Intégrité du journal" }
        (verdict)
        p { a href="/journal" { "Retour au journal" } }
    };
    let mut res = page::signed(&console, &s, "/journal", "Intégrité du journal", body);
    *res.status_mut() = status;
    res
}

/// GET `/agents`: the console's accounts.
async fn agents(State(console): State<Arc<Console>>, s: Signed) -> Response {
    if !s.agent.has(Role::Admin) {
        return page::not_allowed(&console, &s, Role::Admin);
    }
    let list = match crate::agents::list(&console.shared.store) {
        Ok(l) => l,
        Err(e) => return page::unavailable(&e),
    };
    let body = html! {
        h1 { "Agents" }
        p { "Les comptes se créent, se réinitialisent et se suppriment sur le serveur du nœud : " code { "passerelle-node agent add --login IDENTIFIANT --name \"Prénom Nom\" --role counter" } " (rôles : data, validator, counter, admin)." }
        table {
            (column_heads(&["Identifiant", "Nom", "Rôles", "Créé", "Premier mot de passe", "Double authentification"]))
            tbody {
                @for a in &list {
                    tr {
                        td { (a.login) }
                        td { (a.name) }
                        td { @for (i, r) in a.roles.iter().enumerate() { @if i > 0 { ", " } (r.label()) } }
                        td { (date(a.created_at)) br; span.note { "par " (super::data::who(&console, &a.created_by)) } }
                        td { @if a.must_change_password { "pas encore changé" } @else { "changé" } }
                        td { @if a.totp_enabled { "active" } @else { "non" } }
                    }
                }
            }
        }
    };
    page::signed(&console, &s, "/agents", "Agents", body)
}
