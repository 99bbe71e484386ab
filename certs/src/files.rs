//! PEM files on disk. Private keys are written owner-only and refused when
//! others can read them. Writes go to a temporary file that is renamed into
//! place, so a crash never leaves half a key.

use std::{
    fs,
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::Path,
};

use crate::CertError;

/// PEM label of certificates.
pub const CERTIFICATE: &str = "CERTIFICATE";
/// PEM label of PKCS#8 private keys.
pub const PRIVATE_KEY: &str = "PRIVATE KEY";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CertError + '_ {
    move |source| CertError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes a file atomically: the bytes go to a temporary file beside it
/// (same folder, so the same filesystem), which is synced, then renamed
/// over `path`; then the folder is synced, so the rename itself survives
/// a power cut. Any failure (a full disk, an IO error) leaves the old
/// file as it was, or no file, never an empty or partial one; the
/// temporary file is removed. Every key, certificate and configuration
/// file the node and the hub write at run time goes through here.
///
/// # Errors
/// When the file cannot be written, synced or renamed.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CertError> {
    let tmp = staged(path, bytes, mode)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(io(path)(e));
    }
    sync_parent(path)
}

/// As [`write_atomic`], but only when `path` does not exist yet: of two
/// writers racing to create the same file, one wins and the other gets
/// `Ok(false)` and the winner's file untouched (the file appears whole,
/// by a hard link of the synced temporary file).
///
/// # Errors
/// When the file cannot be written, synced or linked.
pub fn write_atomic_new(path: &Path, bytes: &[u8], mode: u32) -> Result<bool, CertError> {
    let tmp = staged(path, bytes, mode)?;
    let linked = fs::hard_link(&tmp, path);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => sync_parent(path).map(|()| true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io(path)(e)),
    }
}

/// Writes and syncs the bytes in a fresh temporary file beside `path`
/// (`.<name>.<random>.tmp`); removes it on failure.
fn staged(path: &Path, bytes: &[u8], mode: u32) -> Result<std::path::PathBuf, CertError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut tag = [0u8; 6];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut tag).map_err(|_| {
        CertError::BadFile {
            path: path.to_path_buf(),
            why: "the OS random source failed".into(),
        }
    })?;
    let tmp = path.with_file_name(format!(
        ".{name}.{}.tmp",
        tag.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ));
    let written = (|| {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.set_permissions(fs::Permissions::from_mode(mode))?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    match written {
        Ok(()) => Ok(tmp),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(io(&tmp)(e))
        }
    }
}

/// Syncs the folder holding `path`, so a rename or link in it is durable.
fn sync_parent(path: &Path) -> Result<(), CertError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(io(parent))
}

/// Writes DER objects as PEM: certificates world-readable, keys owner-only.
///
/// # Errors
/// When the file cannot be written.
pub fn write_pem(path: &Path, label: &str, ders: &[&[u8]]) -> Result<(), CertError> {
    let text: String = ders
        .iter()
        .map(|der| pem::encode(&pem::Pem::new(label, der.to_vec())))
        .collect();
    let mode = if label == PRIVATE_KEY { 0o600 } else { 0o644 };
    write_atomic(path, text.as_bytes(), mode)
}

/// Reads every PEM object with the given label from a file.
///
/// # Errors
/// When the file is missing, unreadable or holds none.
pub fn read_pem_all(path: &Path, label: &str) -> Result<Vec<Vec<u8>>, CertError> {
    let text = fs::read(path).map_err(io(path))?;
    let objects = pem::parse_many(&text).map_err(|e| CertError::BadFile {
        path: path.to_path_buf(),
        why: format!("not PEM: {e}"),
    })?;
    let ders: Vec<Vec<u8>> = objects
        .into_iter()
        .filter(|p| p.tag() == label)
        .map(|p| p.into_contents())
        .collect();
    if ders.is_empty() {
        return Err(CertError::BadFile {
            path: path.to_path_buf(),
            why: format!("no {label} in file"),
        });
    }
    Ok(ders)
}

/// Reads the one PEM object with the given label.
///
/// # Errors
/// As [`read_pem_all`], or when the file holds more than one.
pub fn read_pem(path: &Path, label: &str) -> Result<Vec<u8>, CertError> {
    let mut all = read_pem_all(path, label)?;
    if all.len() != 1 {
        return Err(CertError::BadFile {
            path: path.to_path_buf(),
            why: format!("expected one {label}, found {}", all.len()),
        });
    }
    Ok(all.remove(0))
}

/// Reads a private key, refusing it when group or others may read it.
///
/// # Errors
/// As [`read_pem`], or when the permissions are too open.
pub fn read_private_key(path: &Path) -> Result<Vec<u8>, CertError> {
    check_owner_only(path)?;
    read_pem(path, PRIVATE_KEY)
}

/// Reads a secret file as it is, refusing it when group or others may
/// read it.
///
/// # Errors
/// When it cannot be read or its permissions are too open.
pub fn read_secret(path: &Path) -> Result<Vec<u8>, CertError> {
    check_owner_only(path)?;
    fs::read(path).map_err(io(path))
}

fn check_owner_only(path: &Path) -> Result<(), CertError> {
    let mode = fs::metadata(path).map_err(io(path))?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(CertError::BadFile {
            path: path.to_path_buf(),
            why: format!(
                "private key is readable by others (mode {:o}); fix with: chmod 600 {}",
                mode & 0o777,
                path.display()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_writes_leave_no_temporary_file_and_new_files_are_not_clobbered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("documents.key");
        assert!(write_atomic_new(&path, b"first", 0o600).unwrap());
        assert!(!write_atomic_new(&path, b"second", 0o600).unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"first");
        write_atomic(&path, b"third", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"third");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("documents.key")]);
        // A folder that cannot take the file: the error names it, no debris.
        let err = write_atomic(&dir.path().join("none/x.key"), b"k", 0o600).unwrap_err();
        assert!(err.to_string().contains("none"), "{err}");
    }

    #[test]
    fn keys_are_owner_only_and_open_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("node.key");
        write_pem(&key, PRIVATE_KEY, &[b"secret"]).unwrap();
        assert_eq!(
            fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(read_private_key(&key).unwrap(), b"secret");
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_private_key(&key).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");

        let certs = dir.path().join("ca.crt");
        write_pem(&certs, CERTIFICATE, &[b"one", b"two"]).unwrap();
        assert_eq!(
            read_pem_all(&certs, CERTIFICATE).unwrap(),
            vec![b"one".to_vec(), b"two".to_vec()]
        );
        assert!(read_pem(&certs, CERTIFICATE)
            .unwrap_err()
            .to_string()
            .contains("expected one"));
        assert!(read_pem(&certs, PRIVATE_KEY)
            .unwrap_err()
            .to_string()
            .contains("no PRIVATE KEY"));
    }
}
