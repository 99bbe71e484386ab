//! The node's key, certificate and trusted CAs, loaded from its folder.

use passerelle_certs::{files, NodeIdentity};
use passerelle_protocol::sign::SigningKey;

use crate::{paths::NodeDir, NodeError};

/// What the node proves and trusts.
pub struct Credentials {
    /// Who the certificate says this node is.
    pub identity: NodeIdentity,
    /// The certified key: TLS and answer signatures.
    pub key: SigningKey,
    /// The key, PKCS#8, for rustls.
    pub key_pkcs8: Vec<u8>,
    /// The node certificate (DER).
    pub cert_der: Vec<u8>,
    /// Trusted hub CA certificates (DER).
    pub cas: Vec<Vec<u8>>,
}

impl Credentials {
    /// Loads and cross-checks the files of an enrolled node.
    ///
    /// # Errors
    /// When a file is missing, unreadable, too open, or the key does not
    /// match the certificate.
    pub fn load(dir: &NodeDir) -> Result<Self, NodeError> {
        let _files = FILES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        finish_pending(dir)?;
        let key_pkcs8 = files::read_private_key(&dir.key())?;
        let key = SigningKey::from_pkcs8(&key_pkcs8).map_err(|e| NodeError::Dir {
            path: dir.key(),
            why: e.to_string(),
        })?;
        let cert_der = files::read_pem(&dir.cert(), files::CERTIFICATE)?;
        let identity = NodeIdentity::from_der(&cert_der)?;
        if identity.public_key != key.public() {
            return Err(NodeError::Dir {
                path: dir.cert(),
                why: "certificate does not match node.key (re-enroll: passerelle-node init with a new token)".into(),
            });
        }
        let cas = files::read_pem_all(&dir.ca(), files::CERTIFICATE)?;
        Ok(Self {
            identity,
            key,
            key_pkcs8,
            cert_der,
            cas,
        })
    }
}

impl Credentials {
    /// Installs renewed credentials: the new key, certificate and trusted
    /// CAs are staged beside the live files, then renamed into place (CAs,
    /// key, certificate). A crash in between is finished at the next load,
    /// so the key and the certificate never disagree for long.
    ///
    /// # Errors
    /// When a file cannot be written.
    pub fn install(
        dir: &NodeDir,
        key_pkcs8: &[u8],
        cert_der: &[u8],
        cas: &[Vec<u8>],
    ) -> Result<(), NodeError> {
        let _files = FILES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let staged = |p: std::path::PathBuf| {
            p.with_extension(format!(
                "{}.new",
                p.extension().and_then(|e| e.to_str()).unwrap_or("")
            ))
        };
        let cas: Vec<&[u8]> = cas.iter().map(Vec::as_slice).collect();
        files::write_pem(&staged(dir.ca()), files::CERTIFICATE, &cas)?;
        files::write_pem(&staged(dir.key()), files::PRIVATE_KEY, &[key_pkcs8])?;
        files::write_pem(&staged(dir.cert()), files::CERTIFICATE, &[cert_der])?;
        finish_pending(dir)
    }

    /// Replaces the trusted CA certificates.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn write_cas(dir: &NodeDir, cas: &[Vec<u8>]) -> Result<(), NodeError> {
        let _files = FILES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let cas: Vec<&[u8]> = cas.iter().map(Vec::as_slice).collect();
        files::write_pem(&dir.ca(), files::CERTIFICATE, &cas)?;
        Ok(())
    }
}

/// Credential files are written and read one operation at a time in a
/// process (a renewal and a new trust list may arrive together).
static FILES: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Finishes an interrupted [`Credentials::install`].
fn finish_pending(dir: &NodeDir) -> Result<(), NodeError> {
    let rename = |live: std::path::PathBuf| -> Result<(), NodeError> {
        let ext = live
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_string();
        let staged = live.with_extension(format!("{ext}.new"));
        if staged.exists() {
            std::fs::rename(&staged, &live).map_err(|source| NodeError::Io {
                path: live.clone(),
                source,
            })?;
        }
        Ok(())
    };
    // Only a complete set is finished: the certificate is staged last.
    let cert_staged = dir.cert().with_extension("crt.new");
    if cert_staged.exists() {
        rename(dir.ca())?;
        rename(dir.key())?;
        rename(dir.cert())?;
    } else {
        for p in [dir.ca(), dir.key()] {
            let ext = p
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_string();
            let _ = std::fs::remove_file(p.with_extension(format!("{ext}.new")));
        }
    }
    Ok(())
}
