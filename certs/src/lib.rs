//! # passerelle-certs
//!
//! The public-key infrastructure of a Passerelle network: the hub's small
//! certificate authority, certificates for the hub and for enrolled nodes,
//! identities read back from certificates with x509-parser, and the rustls
//! configurations of both ends of the link. It does no networking; it only
//! builds what the QUIC shells use. Every key is Ed25519: the node's TLS key
//! is also the key that signs its answers.
//!
//! ## Layout
//! - [`ca`]: create or load the CA, issue hub and node certificates.
//! - [`identity`]: who a certificate names, and in which role.
//! - [`tls`]: rustls client and server configs, the peer gate that refuses
//!   unknown or revoked nodes at the handshake, and the fingerprint-pinned
//!   verifier used on first contact.
//! - [`files`]: PEM files on disk, private keys owner-only.
//! - [`watch`]: why the node refused a hub certificate (a clock behind the
//!   certificate's start is told apart from a wrong hub).

pub mod ca;
pub mod files;
pub mod identity;
pub mod tls;
pub mod watch;

pub use ca::{Ca, IssuedHub};
pub use identity::{HubIdentity, NodeIdentity};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// Certificate generation or CSR parsing failed.
    #[error("certificate operation failed: {0}")]
    Rcgen(#[from] rcgen::Error),
    /// A certificate could not be parsed.
    #[error("unreadable certificate: {0}")]
    Parse(String),
    /// A certificate lacks what its role requires.
    #[error("certificate is not a valid {role} certificate: {why}")]
    Role {
        /// Expected role.
        role: &'static str,
        /// What is missing or wrong.
        why: String,
    },
    /// A key could not be loaded.
    #[error("unusable private key: {0}")]
    Key(String),
    /// A TLS configuration could not be built.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// File concerned.
        path: std::path::PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// A file exists but does not hold what it should.
    #[error("{path}: {why}")]
    BadFile {
        /// File concerned.
        path: std::path::PathBuf,
        /// What is wrong.
        why: String,
    },
}

/// Seconds since the Unix epoch, as in `passerelle_protocol`.
pub type UnixTime = passerelle_protocol::UnixTime;

/// Installs ring as the process-wide rustls crypto provider. Call once at
/// the start of each binary and test; later calls do nothing.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
