//! Files the console receives (a CSV to import, a document to deposit),
//! written to disk as they arrive, never held whole in memory: each in a
//! folder of its own under `console-uploads/` in the node folder, under
//! the name it was sent with, and removed once used (the folder is
//! emptied at start, for files a crash left).

use std::path::{Path, PathBuf};

use axum::extract::multipart::Field;
use tokio::io::AsyncWriteExt;

/// The folder of files being received, in the node folder.
pub const FOLDER: &str = "console-uploads";

/// A file received, removed with its folder when dropped.
#[derive(Debug)]
pub struct Received {
    dir: PathBuf,
    /// Where it is.
    pub path: PathBuf,
    /// Its name as sent (cleaned).
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
}

impl Drop for Received {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Why a file was not received.
#[derive(Debug)]
pub enum UploadError {
    /// Over the limit given.
    TooLarge,
    /// The disk lacks room.
    Disk,
    /// The request broke off, or was malformed.
    Read,
    /// Writing failed.
    Io(std::io::Error),
}

/// A file name as sent, reduced to its last part, without control
/// characters, at most 120 characters; `fichier` when nothing is left.
pub fn clean_name(given: Option<&str>) -> String {
    let last = given
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control())
        .take(120)
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .to_string();
    if cleaned.is_empty() {
        "fichier".into()
    } else {
        cleaned
    }
}

/// Empties the folder of files being received (at start).
pub fn clear(root: &Path) {
    let _ = std::fs::remove_dir_all(root.join(FOLDER));
}

/// Writes a file field to disk as it arrives, refusing it past `max`
/// bytes or when the disk runs short.
///
/// # Errors
/// [`UploadError`]; nothing is left on disk then.
pub async fn receive(
    root: &Path,
    field: &mut Field<'_>,
    max: u64,
) -> Result<Received, UploadError> {
    const CHECK_EVERY: u64 = 16 * 1024 * 1024;
    let name = clean_name(field.file_name());
    let dir = root.join(FOLDER).join(passerelle_protocol::hex::encode(
        &passerelle_link::random16(),
    ));
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(UploadError::Io)?;
    let path = dir.join(&name);
    let mut received = Received {
        dir,
        path,
        name,
        size: 0,
    };
    if passerelle_link::disk::ensure_space(root, "receive a file", CHECK_EVERY).is_err() {
        return Err(UploadError::Disk);
    }
    let mut file = tokio::fs::File::create(&received.path)
        .await
        .map_err(UploadError::Io)?;
    let mut checked = 0u64;
    while let Some(piece) = field.chunk().await.map_err(|_| UploadError::Read)? {
        received.size += piece.len() as u64;
        if received.size > max {
            return Err(UploadError::TooLarge);
        }
        if received.size - checked > CHECK_EVERY {
            checked = received.size;
            if passerelle_link::disk::ensure_space(root, "receive a file", CHECK_EVERY).is_err() {
                return Err(UploadError::Disk);
            }
        }
        file.write_all(&piece).await.map_err(UploadError::Io)?;
    }
    file.flush().await.map_err(UploadError::Io)?;
    Ok(received)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_keep_their_last_part_only() {
        use super::clean_name;
        assert_eq!(
            clean_name(Some("C:\\Users\\a\\attestation.pdf")),
            "attestation.pdf"
        );
        assert_eq!(clean_name(Some("../../etc/passwd")), "passwd");
        assert_eq!(clean_name(Some("..")), "fichier");
        assert_eq!(clean_name(Some("a\nb.csv")), "ab.csv");
        assert_eq!(clean_name(None), "fichier");
    }
}
