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

/// Writes bytes atomically with the given mode.
///
/// # Errors
/// When the file cannot be written or renamed.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CertError> {
    let tmp = path.with_extension("tmp");
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io(&tmp))?;
    f.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    fs::rename(&tmp, path).map_err(io(path))
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
