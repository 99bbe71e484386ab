//! French for what the node refuses, as the console shows it and as the
//! watched folders' reports (`NAME.erreurs.csv`) tell the institution's
//! staff. The rules are typed ([`Refusal`], [`Problem`]); this is the only
//! place that words them for people. Failures that are not rules (the store, the
//! disk) are said plainly and logged in detail by the caller.

use passerelle_protocol::vault::Category;

use crate::{
    data::import::{ImportError, Issue, Problem},
    refusal::Refusal,
    NodeError,
};

/// A refused request in French, or `None` when it is not a rule the
/// agent can act on (a failure to log and say plainly).
pub fn refusal(e: &NodeError) -> Option<String> {
    let NodeError::Rule(r) = e else {
        return match e {
            NodeError::Disk(_) => Some(
                "Le disque du nœud est presque plein : rien n'a été enregistré. Prévenez l'administrateur du nœud."
                    .into(),
            ),
            NodeError::Import(i) => Some(import(i)),
            _ => None,
        };
    };
    Some(match r {
        Refusal::UnknownDataset { dataset, .. } => {
            format!("Le jeu de données « {dataset} » n'est pas déclaré sur ce nœud.")
        }
        Refusal::NoActor { .. } => "La console n'a pas pu dire qui agit : reconnectez-vous.".into(),
        Refusal::UnknownBatch(id) => format!("Il n'y a pas de lot n° {id}."),
        Refusal::NotPending(id) => {
            format!("Le lot n° {id} n'attend plus de décision : quelqu'un l'a déjà validé ou refusé.")
        }
        Refusal::OwnBatch { batch, .. } => format!(
            "Vous avez importé le lot n° {batch} : un autre agent doit le valider ou le refuser."
        ),
        Refusal::NothingInForce(dataset) => {
            format!("Aucun lot de « {dataset} » n'est en vigueur : il n'y a pas de lot précédent où revenir.")
        }
        Refusal::BadLocalId(_) => {
            "Le numéro de dossier doit compter de 1 à 64 caractères, sans caractère de contrôle.".into()
        }
        Refusal::UnknownCategory(_) => "Choisissez une catégorie de document dans la liste.".into(),
        Refusal::EmptyFile(_) => "Le fichier est vide.".into(),
        Refusal::TooLarge { max, .. } => format!(
            "Le fichier dépasse la taille permise ({} Mo).",
            max / (1024 * 1024)
        ),
        Refusal::NotADocument(_) => {
            "Ce fichier n'est ni un PDF, ni une image JPEG ou PNG (d'après son contenu, pas son nom). Enregistrez-le en PDF, ou photographiez le document."
                .into()
        }
        Refusal::UnknownDocument(_) => "Ce document n'existe plus : il a peut-être déjà été retiré.".into(),
        Refusal::AlreadyLinked { local_id, since } => format!(
            "Le dossier {local_id} est déjà relié à un coffre-fort (depuis le {}).",
            passerelle_web::french::day(*since)
        ),
        Refusal::LinkedElsewhere { local_id, .. } => {
            format!("Le dossier {local_id} est déjà relié à un autre coffre-fort.")
        }
        Refusal::AccountLinkedTo(other) => {
            format!("Ce coffre-fort est déjà relié au dossier {other}.")
        }
        Refusal::NeedsRunningNode | Refusal::NotConnected => {
            "Le nœud n'est pas relié à la plateforme en ce moment. Réessayez dans quelques minutes ; si cela dure, prévenez l'administrateur du nœud."
                .into()
        }
        Refusal::CodeRefused(_) => {
            "La plateforme refuse ce code : il est inconnu, a déjà servi ou a expiré (un code vaut 30 minutes). Demandez à la personne d'afficher un nouveau code dans son coffre-fort."
                .into()
        }
        Refusal::UnexpectedReply => {
            "La plateforme a donné une réponse inattendue : le nœud et la plateforme n'ont peut-être pas la même version. Prévenez l'administrateur du nœud."
                .into()
        }
        Refusal::BadLogin(_)
        | Refusal::EmptyName
        | Refusal::UnknownAgent(_)
        | Refusal::AgentExists(_)
        | Refusal::NoRole
        | Refusal::UnknownRole(_) => r.to_string(),
    })
}

/// Why a whole file was refused, in French (the rows' problems are
/// listed one by one with [`problem`]).
pub fn import(e: &ImportError) -> String {
    match e {
        ImportError::Header(_) => {
            "La ligne d'en-tête du fichier est illisible : enregistrez le fichier en CSV (séparateur virgule ou point-virgule), en UTF-8.".into()
        }
        ImportError::MissingColumns { missing, found } => format!(
            "Il manque des colonnes dans l'en-tête : {}. L'en-tête du fichier contient : {}.",
            missing.join(", "),
            found.join(", ")
        ),
        ImportError::Rows { total, .. } => format!(
            "{total} ligne(s) en erreur : rien n'a été importé. Corrigez les lignes citées, puis importez le fichier à nouveau."
        ),
        ImportError::Empty => "Le fichier n'a pas de ligne de données (seulement l'en-tête).".into(),
        ImportError::Io(_) => "Le fichier n'a pas pu être lu jusqu'au bout. Importez-le à nouveau.".into(),
    }
}

/// What is wrong with a row, in French.
pub fn problem(p: &Problem) -> String {
    match p {
        Problem::NotUtf8 => "caractères illisibles : enregistrez le fichier en UTF-8".into(),
        Problem::Unreadable(_) => "ligne illisible (guillemets mal fermés ?)".into(),
        Problem::Width { expected, found } => {
            format!("{found} colonne(s) au lieu de {expected}")
        }
        Problem::UnknownCommune(v) => {
            format!("« {v} » n'est pas un code de commune de Mayotte (97601 à 97617)")
        }
        Problem::BadPeriod { value, .. } => {
            format!("« {value} » n'est pas une période (écrire 2025, 2025-T1 ou 2025-01)")
        }
        Problem::NotAllowed { value, allowed } => format!(
            "« {value} » n'est pas une valeur permise (valeurs permises : {})",
            allowed.join(", ")
        ),
        Problem::NotCount(v) => format!("« {v} » n'est pas un nombre entier de personnes"),
        Problem::NotNumber(v) => format!("« {v} » n'est pas un nombre positif ou nul"),
    }
}

/// A row's problem as a line of the downloadable report.
pub fn issue_row(i: &Issue) -> [String; 3] {
    [
        i.line.to_string(),
        i.column.clone().unwrap_or_default(),
        problem(&i.problem),
    ]
}

/// The report of a refused file, for a spreadsheet (UTF-8 with its mark,
/// `;`-separated, `ligne;colonne;raison`): a line per bad row, or one
/// saying why the whole file was refused. The console offers it to
/// download; a watched folder writes it beside the file it rejects.
pub fn report_csv(e: &NodeError) -> String {
    let mut rows: Vec<[String; 3]> = Vec::new();
    match e {
        NodeError::Import(ImportError::Rows { issues, total }) => {
            rows.extend(issues.iter().map(issue_row));
            if *total > issues.len() {
                rows.push([
                    String::new(),
                    String::new(),
                    format!("… et {} autre(s) ligne(s) en erreur", total - issues.len()),
                ]);
            }
        }
        NodeError::Import(i @ (ImportError::Header(_) | ImportError::MissingColumns { .. })) => {
            rows.push(["1".into(), String::new(), import(i)]);
        }
        other => rows.push([
            String::new(),
            String::new(),
            refusal(other).unwrap_or_else(|| other.to_string()),
        ]),
    }
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = w.write_record(["ligne", "colonne", "raison"]);
    for row in &rows {
        let _ = w.write_record(row);
    }
    let body = w.into_inner().unwrap_or_default();
    format!("\u{feff}{}", String::from_utf8_lossy(&body))
}

/// A category's label.
pub fn category(c: Category) -> &'static str {
    c.label()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_read_in_french_and_failures_are_not_worded() {
        let e = NodeError::Rule(Refusal::OwnBatch {
            batch: 4,
            by: "agent:ana".into(),
        });
        assert_eq!(
            refusal(&e).unwrap(),
            "Vous avez importé le lot n° 4 : un autre agent doit le valider ou le refuser."
        );
        assert!(refusal(&NodeError::Refused("x".into())).is_none());
        assert_eq!(
            problem(&Problem::Width {
                expected: 3,
                found: 2
            }),
            "2 colonne(s) au lieu de 3"
        );
    }
}
