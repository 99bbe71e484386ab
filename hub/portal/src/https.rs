//! The portal's TLS acceptor, built from the certificate files of
//! `hub.toml` (rustls, ring). Serving itself is the same in both modes
//! (`passerelle_link::http`); without certificate files the portal speaks
//! plain HTTP.

use std::{path::Path, sync::Arc};

use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use passerelle_hub_core::HubError;

/// Builds the TLS acceptor from PEM files.
///
/// # Errors
/// When a file is missing, unreadable or not a certificate chain and key
/// that match.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, HubError> {
    let bad = |path: &Path, why: String| HubError::Dir {
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
    .map_err(|e| HubError::from(passerelle_certs::CertError::Tls(e)))?
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
