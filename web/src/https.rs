//! A TLS acceptor built from configured PEM files (rustls, ring): the
//! portal's `https_cert`/`https_key` in `hub.toml`, the console's
//! `console_https_cert`/`console_https_key` in `node.toml`. Serving itself
//! is the same with or without it ([`passerelle_link::http`]).

use std::{path::Path, sync::Arc};

use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// Why the files do not make a TLS configuration.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {why}", path = .path.display())]
pub struct TlsFilesError {
    /// The file at fault.
    pub path: std::path::PathBuf,
    /// What is wrong with it.
    pub why: String,
}

/// Builds the TLS acceptor (HTTP/1.1) from a PEM certificate chain and
/// its PEM private key.
///
/// # Errors
/// When a file is missing, unreadable or not a certificate chain and key
/// that match.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsFilesError> {
    let bad = |path: &Path, why: String| TlsFilesError {
        path: path.to_path_buf(),
        why,
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| bad(cert, format!("cannot read the certificate chain: {e}")))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(cert, format!("not a PEM certificate chain: {e}")))?;
    if chain.is_empty() {
        return Err(bad(cert, "no certificate in the file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| bad(key, format!("not a PEM private key: {e}")))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| bad(cert, format!("TLS: {e}")))?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| {
        bad(
            cert,
            format!("certificate and key do not match or are unusable: {e}"),
        )
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matching_pair_is_accepted_and_a_wrong_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (c, k) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&c, cert.cert.pem()).unwrap();
        std::fs::write(&k, cert.signing_key.serialize_pem()).unwrap();
        assert!(acceptor(&c, &k).is_ok());
        let err = acceptor(&k, &k).err().unwrap();
        assert_eq!(err.path, k);
        let err = acceptor(&c, &dir.path().join("absent.pem")).err().unwrap();
        assert!(err.why.contains("not a PEM private key"), "{err}");
    }
}
