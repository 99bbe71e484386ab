//! Importing a file from the console: the file is received to disk as it
//! arrives, checked whole by [`crate::batches::import_file`] (the command
//! line's import), and the agent is sent to the report: the batch made,
//! or every bad row (line, column, what is wrong, in French), on screen
//! and as a file for a spreadsheet. Reports are kept a day, for their
//! agent only.

use std::{collections::HashMap, sync::Arc, sync::Mutex};

use axum::{
    extract::{Multipart, Path, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use maud::html;
use passerelle_link::now;
use passerelle_protocol::UnixTime;
use passerelle_web::multipart::text;

use super::{periods, render};
use crate::{
    agents::Role,
    batches,
    console::{
        auth::Signed,
        page::{self, alert, column_heads, date, done, redirect},
        upload, words, Console,
    },
    data::import::ImportError,
    store::{BatchMeta, BatchStatus},
    NodeError,
};

/// Largest CSV file received (1 GiB).
pub const MAX_CSV: u64 = 1 << 30;

/// Import reports kept in all, and how long (seconds).
const REPORTS_KEPT: usize = 200;
const REPORT_TTL: u64 = 24 * 3600;

/// How an import ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A batch was made.
    Imported(BatchMeta),
    /// The file was refused; nothing was imported.
    Refused(ImportError),
    /// The import could not be done, in French.
    Failed(String),
}

/// An import, kept for its agent to read.
#[derive(Debug, Clone)]
pub struct Report {
    login: String,
    at: UnixTime,
    dataset: String,
    file: String,
    outcome: Outcome,
}

/// Import reports by id, a while.
#[derive(Debug, Default)]
pub struct Reports {
    map: Mutex<HashMap<String, Report>>,
}

impl Reports {
    fn keep(&self, report: Report) -> String {
        let id = passerelle_protocol::hex::encode(&passerelle_link::random16());
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, r| r.at + REPORT_TTL > report.at);
        if map.len() >= REPORTS_KEPT {
            if let Some(oldest) = map.iter().min_by_key(|(_, r)| r.at).map(|(k, _)| k.clone()) {
                map.remove(&oldest);
            }
        }
        map.insert(id.clone(), report);
        id
    }

    fn get(&self, id: &str, login: &str) -> Option<Report> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .filter(|r| r.login == login)
            .cloned()
    }
}

/// The import's fields, read in order: token, dataset, file.
async fn read_import(
    console: &Console,
    s: &Signed,
    mut form: Multipart,
) -> Result<(String, upload::Received), (StatusCode, String)> {
    let bad = |why: &str| (StatusCode::BAD_REQUEST, why.to_string());
    let mut token = None;
    let mut dataset = None;
    while let Ok(Some(mut field)) = form.next_field().await {
        match field.name().unwrap_or_default() {
            "csrf" => {
                token = Some(
                    text(&mut field)
                        .await
                        .map_err(|_| bad("Formulaire illisible."))?,
                )
            }
            "jeu" => {
                dataset = Some(
                    text(&mut field)
                        .await
                        .map_err(|_| bad("Formulaire illisible."))?,
                )
            }
            "fichier" => {
                // The token comes first: no file is written for a forged form.
                if !token.as_deref().is_some_and(|t| s.csrf_ok(t)) {
                    return Err((StatusCode::FORBIDDEN, String::new()));
                }
                let received = upload::receive(&console.shared.root, &mut field, MAX_CSV)
                    .await
                    .map_err(|e| match e {
                        upload::UploadError::TooLarge => (
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "Le fichier dépasse 1 Go : découpez-le, par exemple par période.".to_string(),
                        ),
                        upload::UploadError::Disk => (
                            StatusCode::INSUFFICIENT_STORAGE,
                            "Le disque du nœud est presque plein : rien n'a été importé. Prévenez l'administrateur du nœud.".to_string(),
                        ),
                        upload::UploadError::Read => bad("L'envoi du fichier s'est interrompu : recommencez."),
                        upload::UploadError::Io(error) => {
                            tracing::error!(%error, "console: a file could not be written");
                            (StatusCode::INTERNAL_SERVER_ERROR, "Le fichier n'a pas pu être enregistré sur le nœud.".to_string())
                        }
                    })?;
                return match dataset {
                    Some(d) => Ok((d, received)),
                    None => Err(bad("Choisissez le jeu de données.")),
                };
            }
            _ => {}
        }
    }
    if !token.as_deref().is_some_and(|t| s.csrf_ok(t)) {
        return Err((StatusCode::FORBIDDEN, String::new()));
    }
    Err(bad("Choisissez le fichier à importer."))
}

/// POST `/donnees/import`: the file is checked whole, then becomes a
/// batch or is refused with every bad row; either way the agent is sent
/// to the report.
pub(super) async fn import(
    State(console): State<Arc<Console>>,
    s: Signed,
    form: Multipart,
) -> Response {
    if !s.agent.has(Role::Data) {
        return page::not_allowed(&console, &s, Role::Data);
    }
    let (dataset, file) = match read_import(&console, &s, form).await {
        Ok(x) => x,
        Err((StatusCode::FORBIDDEN, _)) => return page::form_expired(),
        Err((status, why)) => return render(&console, &s, Some((why, true)), status),
    };
    let (config, store, by) = (
        console.shared.config.clone(),
        console.shared.store.clone(),
        s.by(),
    );
    let (name, path) = (file.name.clone(), file.path.clone());
    let ds = dataset.clone();
    let result = tokio::task::spawn_blocking(move || {
        let r = batches::import_file(&config, &store, &ds, &path, &by, now(), &mut |_| {});
        drop(file);
        r
    })
    .await;
    let outcome = match result {
        Ok(Ok(meta)) => Outcome::Imported(meta),
        Ok(Err(NodeError::Import(e))) => Outcome::Refused(e),
        Ok(Err(e)) => match words::refusal(&e) {
            Some(french) => Outcome::Failed(french),
            None => return page::unavailable(&e),
        },
        Err(_) => Outcome::Failed("L'import s'est interrompu : recommencez.".into()),
    };
    let id = console.reports.keep(Report {
        login: s.agent.login.clone(),
        at: now(),
        dataset,
        file: name,
        outcome,
    });
    redirect(&format!("/donnees/rapport/{id}"))
}

/// GET `/donnees/rapport/{id}`: how an import ended, with every bad row.
pub(super) async fn report(
    State(console): State<Arc<Console>>,
    s: Signed,
    Path(id): Path<String>,
) -> Response {
    let Some(r) = console.reports.get(&id, &s.agent.login) else {
        return page::problem(
            StatusCode::NOT_FOUND,
            "Rapport introuvable",
            "Ce rapport d'import n'existe plus (ils sont gardés un jour) ou ne vous concerne pas.",
        );
    };
    let body = html! {
        h1 { "Rapport d'import" }
        p { "Fichier " strong { (r.file) } " pour le jeu de données « " (r.dataset) " », le " (date(r.at)) "." }
        @match &r.outcome {
            Outcome::Imported(b) => {
                (done(&format!("Le fichier est importé : lot n° {}, {} ligne(s), période(s) {}.", b.id, b.rows, periods(&b.periods))))
                @if b.status == BatchStatus::Pending {
                    p { "Le lot attend la validation d'un autre agent : il n'est pas encore utilisé." }
                } @else {
                    p { "Le lot est en vigueur : la plateforme l'utilise dès maintenant." }
                }
            }
            Outcome::Refused(e) => {
                (alert(&words::import(e)))
                @if let ImportError::Rows { issues, total } = e {
                    p { a href={ "/donnees/rapport/" (id) "/erreurs.csv" } download { "Télécharger la liste des erreurs (CSV)" } }
                    table {
                        caption { "Les lignes en erreur" @if *total > issues.len() { " (les " (issues.len()) " premières sur " (total) ")" } }
                        (column_heads(&["Ligne", "Colonne", "Ce qui ne va pas"]))
                        tbody {
                            @for i in issues {
                                @let [line, column, why] = words::issue_row(i);
                                tr { td.n { (line) } td { (column) } td { (why) } }
                            }
                        }
                    }
                }
            }
            Outcome::Failed(why) => { (alert(why)) }
        }
        p { a href="/donnees#importer" { "Importer un autre fichier" } " · " a href="/donnees#lots" { "Voir les lots" } }
    };
    page::signed(&console, &s, "/donnees", "Rapport d'import", body)
}

/// GET `/donnees/rapport/{id}/erreurs.csv`: the bad rows, for a
/// spreadsheet (UTF-8 with its mark, `;`-separated).
pub(super) async fn report_csv(
    State(console): State<Arc<Console>>,
    s: Signed,
    Path(id): Path<String>,
) -> Response {
    let Some(Report {
        outcome: Outcome::Refused(rows @ ImportError::Rows { .. }),
        ..
    }) = console.reports.get(&id, &s.agent.login)
    else {
        return page::problem(
            StatusCode::NOT_FOUND,
            "Rapport introuvable",
            "Ce rapport n'a pas de liste d'erreurs.",
        );
    };
    let out = words::report_csv(&NodeError::Import(rows));
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"erreurs-import.csv\"",
            ),
        ],
        out,
    )
        .into_response()
}
