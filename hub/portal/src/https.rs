//! The portal's TLS acceptor, built from the certificate files of
//! `hub.toml` by `passerelle-web` (the node's console builds its own the
//! same way). Serving itself is the same in both modes
//! (`passerelle_link::http`); without certificate files the portal speaks
//! plain HTTP.

use std::path::Path;

use tokio_rustls::TlsAcceptor;

use passerelle_hub_core::HubError;

/// Builds the TLS acceptor from PEM files.
///
/// # Errors
/// When a file is missing, unreadable or not a certificate chain and key
/// that match.
pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, HubError> {
    passerelle_web::https::acceptor(cert, key).map_err(|e| HubError::Dir {
        path: e.path,
        why: e.why,
    })
}
