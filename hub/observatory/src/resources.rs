//! The resource centre: studies and reports (PDF) that partners publish
//! for everyone. Files are kept beside the store (`resources/ID.pdf`), their
//! description in it. A file is accepted only if its content is a PDF.

use std::path::PathBuf;

use passerelle_protocol::{hex, sign::sha256, UnixTime};
use serde::{Deserialize, Serialize};

use passerelle_hub_core::{ops::Hub, HubError};

/// Largest accepted file.
pub const MAX_BYTES: usize = 20 * 1024 * 1024;

/// A published document's description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// Identifier (hex).
    pub id: String,
    /// Title.
    pub title: String,
    /// Theme id of the observatory.
    pub theme: String,
    /// Publishing institution.
    pub institution: String,
    /// Date of the document (YYYY-MM-DD).
    pub date: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Who published it (account).
    pub published_by: String,
    /// When.
    pub published_at: UnixTime,
}

/// Why a document was refused; the message is for the person, in French.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

/// Checks a candidate document: a PDF by its content, not its name.
///
/// # Errors
/// A French message saying what is wrong.
pub fn check(title: &str, theme: &str, date: &str, bytes: &[u8]) -> Result<(), Refused> {
    if title.trim().is_empty() || title.len() > 200 {
        return Err(Refused("Donnez un titre (200 caractères au plus).".into()));
    }
    if !crate::catalog::THEMES.iter().any(|(t, _)| *t == theme) {
        return Err(Refused("Choisissez un thème dans la liste.".into()));
    }
    let d = date.as_bytes();
    let date_ok = d.len() == 10
        && d[4] == b'-'
        && d[7] == b'-'
        && date
            .bytes()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !date_ok {
        return Err(Refused(
            "Indiquez la date du document au format AAAA-MM-JJ.".into(),
        ));
    }
    if bytes.is_empty() {
        return Err(Refused("Le fichier est vide.".into()));
    }
    if bytes.len() > MAX_BYTES {
        return Err(Refused(format!(
            "Le fichier dépasse {} Mo.",
            MAX_BYTES / 1024 / 1024
        )));
    }
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    if !bytes.starts_with(b"%PDF-") || !tail.windows(5).any(|w| w == b"%%EOF") {
        return Err(Refused(
            "Ce fichier n'est pas un PDF. Enregistrez le document au format PDF puis recommencez."
                .into(),
        ));
    }
    Ok(())
}

fn folder(hub: &Hub) -> PathBuf {
    hub.dir.root().join("resources")
}

/// The file of a resource.
pub fn file(hub: &Hub, id: &str) -> Option<PathBuf> {
    id.bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| folder(hub).join(format!("{id}.pdf")))
}

/// Every published document, newest first.
///
/// # Errors
/// On a store failure.
pub fn list(hub: &Hub) -> Result<Vec<Resource>, HubError> {
    let mut all: Vec<Resource> = hub.store.resources()?;
    all.sort_by(|a, b| (&b.date, b.published_at).cmp(&(&a.date, a.published_at)));
    Ok(all)
}

/// Stores a checked document and its description.
///
/// # Errors
/// When the file cannot be written or the store fails.
pub fn publish(hub: &Hub, mut r: Resource, bytes: &[u8]) -> Result<Resource, HubError> {
    let dir = folder(hub);
    std::fs::create_dir_all(&dir).map_err(|source| HubError::Io {
        path: dir.clone(),
        source,
    })?;
    r.id = hex::encode(&passerelle_link::random16());
    r.size = bytes.len() as u64;
    r.sha256 = hex::encode(&sha256(bytes));
    let path = dir.join(format!("{}.pdf", r.id));
    passerelle_link::disk::ensure_space(&dir, "publish a document", bytes.len() as u64)?;
    passerelle_certs::files::write_atomic(&path, bytes, 0o644)?;
    hub.store.put_resource(&r.id, &r)?;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pdfs_with_a_title_theme_and_date_pass() {
        let pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
        assert_eq!(check("Étude", "emploi", "2025-06-30", pdf), Ok(()));
        let jpeg = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00";
        assert!(check("Étude", "emploi", "2025-06-30", jpeg)
            .unwrap_err()
            .0
            .contains("n'est pas un PDF"));
        assert!(check("Étude", "emploi", "2025-06-30", b"")
            .unwrap_err()
            .0
            .contains("vide"));
        assert!(check("", "emploi", "2025-06-30", pdf)
            .unwrap_err()
            .0
            .contains("titre"));
        assert!(check("Étude", "sport", "2025-06-30", pdf)
            .unwrap_err()
            .0
            .contains("thème"));
        assert!(check("Étude", "emploi", "30/06/2025", pdf)
            .unwrap_err()
            .0
            .contains("AAAA-MM-JJ"));
    }
}
