//! The person's own documents: checked by content, sealed under a key the
//! person's data key wraps, deleted for good on request.

use crate::error::VaultError;
use std::path::{Path, PathBuf};

use passerelle_protocol::{
    hex,
    seal::{self, Key},
    vault::{sniff, Category},
    UnixTime,
};

use super::store::{Upload, VaultStore};
use passerelle_hub_core::HubError;

/// Largest upload.
pub const MAX_UPLOAD: usize = 10 * 1024 * 1024;

/// Checks an upload; the French sentence says what is wrong and what to do.
///
/// # Errors
/// Empty, too large, not a PDF/JPEG/PNG, named as another type, or cut
/// short.
pub fn check(bytes: &[u8], name: &str) -> Result<&'static str, String> {
    if bytes.is_empty() {
        return Err("Le fichier est vide. Choisissez un autre fichier.".into());
    }
    if bytes.len() > MAX_UPLOAD {
        return Err(format!(
            "Le fichier est trop gros ({} Mo). La limite est de {} Mo : prenez une photo moins lourde ou scannez en PDF.",
            bytes.len().div_ceil(1024 * 1024),
            MAX_UPLOAD / (1024 * 1024)
        ));
    }
    let Some(mime) = sniff(bytes) else {
        return Err(
            "Ce fichier n'est ni un PDF, ni une photo JPEG ou PNG. Seuls ces types sont acceptés."
                .into(),
        );
    };
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    let named = match ext.as_deref() {
        Some("pdf") => Some("application/pdf"),
        Some("jpg" | "jpeg") => Some("image/jpeg"),
        Some("png") => Some("image/png"),
        _ => None,
    };
    if named.is_some_and(|n| n != mime) {
        return Err(format!(
            "Le nom du fichier dit « {} » mais son contenu est un {}. Renommez-le correctement ou choisissez le bon fichier.",
            ext.unwrap_or_default(),
            kind(mime)
        ));
    }
    let complete = match mime {
        "application/pdf" => bytes[bytes.len().saturating_sub(1024)..]
            .windows(5)
            .any(|w| w == b"%%EOF"),
        "image/jpeg" => bytes[bytes.len().saturating_sub(64)..]
            .windows(2)
            .any(|w| w == [0xFF, 0xD9]),
        _ => bytes[bytes.len().saturating_sub(64)..]
            .windows(4)
            .any(|w| w == b"IEND"),
    };
    if !complete {
        return Err(format!(
            "Ce {} est incomplet ou abîmé. Envoyez-le à nouveau.",
            kind(mime)
        ));
    }
    Ok(mime)
}

fn kind(mime: &str) -> &'static str {
    match mime {
        "application/pdf" => "PDF",
        "image/jpeg" => "fichier JPEG",
        _ => "fichier PNG",
    }
}

fn file(vault: &Path, id: &str) -> PathBuf {
    vault.join("uploads").join(format!("{id}.sealed"))
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> HubError + '_ {
    move |source| HubError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Seals and stores an upload already checked by [`check`], within the
/// person's quota ([`crate::quota`]): the room is reserved before
/// anything is written, so uploads at once cannot overrun it together.
///
/// # Errors
/// Over the quota (`Refused`), or on a store or disk failure.
#[allow(clippy::too_many_arguments)]
pub fn store(
    vault: &Path,
    store: &VaultStore,
    person: &str,
    data_key: &Key,
    name: &str,
    category: Category,
    mime: &str,
    bytes: &[u8],
    now: UnixTime,
) -> Result<Upload, VaultError> {
    // Given back when this returns: by then the record counts instead.
    let _room = crate::quota::reserve(store, person, bytes.len() as u64)?;
    let id = hex::encode(&passerelle_link::random16());
    let key = Key::generate();
    let sealed = seal::seal_all(&key, id.as_bytes(), bytes).map_err(|e| VaultError::Sealed {
        upload: id.clone(),
        why: e.to_string(),
    })?;
    let path = file(vault, &id);
    // No debris sweep takes these files until the record is written.
    let _writing = crate::debris::WRITES.hold(vec![path.clone(), path.with_extension("tmp")]);
    let folder = path.parent().expect("uploads folder");
    passerelle_link::create_private_dir(folder).map_err(io(folder))?;
    passerelle_link::disk::ensure_space(folder, "store an upload", sealed.len() as u64)?;
    passerelle_certs::files::write_atomic(&path, &sealed, 0o600)?;
    let clean: String = name
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '/' | '\\'))
        .take(120)
        .collect();
    let upload = Upload {
        id: id.clone(),
        person: person.to_string(),
        name: if clean.trim().is_empty() {
            format!("document.{}", passerelle_protocol::vault::extension(mime))
        } else {
            clean
        },
        category,
        mime: mime.to_string(),
        size: bytes.len() as u64,
        added_at: now,
        wrapped_key: seal::wrap(data_key, id.as_bytes(), &key),
    };
    if let Err(e) = store.put_upload(&upload) {
        let _ = std::fs::remove_file(&path);
        return Err(e.into());
    }
    Ok(upload)
}

/// Opens an upload with the person's data key.
///
/// # Errors
/// When the file is missing or does not open under this key.
pub fn read(vault: &Path, upload: &Upload, data_key: &Key) -> Result<Vec<u8>, VaultError> {
    let key = seal::unwrap(data_key, upload.id.as_bytes(), &upload.wrapped_key).map_err(|e| {
        VaultError::Sealed {
            upload: upload.id.clone(),
            why: format!("key does not unwrap: {e}"),
        }
    })?;
    read_with(vault, upload, &key)
}

/// Opens an upload with its own key (unwrapped already).
///
/// # Errors
/// When the file is missing or does not open under this key.
pub fn read_with(vault: &Path, upload: &Upload, key: &Key) -> Result<Vec<u8>, VaultError> {
    let path = file(vault, &upload.id);
    let sealed = std::fs::read(&path).map_err(io(&path))?;
    seal::open_all(key, upload.id.as_bytes(), &sealed).map_err(|e| VaultError::Sealed {
        upload: upload.id.clone(),
        why: e.to_string(),
    })
}

/// Deletes an upload: its keys sealed to professionals, its record, then
/// its only file.
///
/// # Errors
/// On a store or disk failure.
pub fn delete(vault: &Path, store: &VaultStore, upload: &Upload) -> Result<(), HubError> {
    crate::share::forget_upload(store, upload)?;
    store.remove_upload(&upload.person, &upload.id)?;
    let path = file(vault, &upload.id);
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&path)(e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

    #[test]
    fn checks_by_content_and_says_why_in_french() {
        assert_eq!(check(PDF, "avis.pdf"), Ok("application/pdf"));
        assert_eq!(check(PDF, "avis"), Ok("application/pdf"));
        assert!(check(b"", "a.pdf").unwrap_err().contains("vide"));
        assert!(check(b"hello world", "a.pdf")
            .unwrap_err()
            .contains("ni un PDF"));
        assert!(check(PDF, "photo.jpg")
            .unwrap_err()
            .contains("contenu est un PDF"));
        assert!(check(&PDF[..20], "a.pdf")
            .unwrap_err()
            .contains("incomplet"));
        let big = [PDF, &vec![b' '; MAX_UPLOAD]].concat();
        assert!(check(&big, "a.pdf").unwrap_err().contains("trop gros"));
        let jpeg = [&[0xFF, 0xD8, 0xFF, 0xE0][..], b"JFIF", &[0xFF, 0xD9]].concat();
        assert_eq!(check(&jpeg, "x.JPEG"), Ok("image/jpeg"));
    }
}
