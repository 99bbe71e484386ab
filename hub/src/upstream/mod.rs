//! Hub of hubs: this hub enrolled as a node of a national hub.
//!
//! A regional hub holds a node identity issued by the national hub's CA
//! (`passerelle-hub upstream enroll --hub ADDR --token T`, kept in
//! `upstream/` beside `hub.toml`, whose `[upstream]` section names the
//! national hub). While it runs it keeps an outgoing QUIC link to the
//! national hub, as a node does ([`link`]), and answers the national hub's
//! signed aggregate queries from its latest *published* results only
//! ([`answer`]): cells that are already disclosure-controlled, signed with
//! the upstream identity, each answer naming the regional result it comes
//! from (when it was composed and the digests of the signed node answers
//! under it), so the national bundle chains back to the regional bundle
//! and from there to the partners' signed answers. The national hub never
//! reaches a partner node: it has no route to them.

pub mod answer;
pub mod enroll;
pub mod link;

use std::path::{Path, PathBuf};

use passerelle_certs::{files, NodeIdentity};
use passerelle_protocol::sign::SigningKey;

pub use enroll::enroll;
pub use link::spawn;

/// Why the upstream identity could not be made, read or used.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// A hub error (folder, configuration, files).
    #[error(transparent)]
    Hub(#[from] passerelle_hub_core::HubError),
    /// Certificates or keys.
    #[error(transparent)]
    Cert(#[from] passerelle_certs::CertError),
    /// The enrollment token is not one.
    #[error("enrollment token: {0}")]
    Token(String),
    /// The national hub could not be reached.
    #[error("national hub at {addr}: {why}")]
    Unreachable {
        /// Its address.
        addr: String,
        /// Why.
        why: String,
    },
    /// The national hub refused, or answered with something unusable.
    #[error("the national hub refused the enrollment: {0}")]
    Refused(String),
    /// The hub folder already holds an upstream identity.
    #[error("{path}: this hub is already enrolled with a national hub; remove upstream/ to enroll again", path = .0.display())]
    AlreadyEnrolled(PathBuf),
}

/// The folder of the upstream identity, in the hub folder.
pub fn dir(root: &Path) -> PathBuf {
    root.join("upstream")
}

/// The upstream identity: the key, the certificate the national CA issued
/// for it, and the national CA certificates.
pub struct Identity {
    /// What the certificate says.
    pub identity: NodeIdentity,
    /// The key that signs answers.
    pub key: SigningKey,
    /// The key (PKCS#8), for TLS.
    pub key_pkcs8: Vec<u8>,
    /// The certificate (DER).
    pub cert_der: Vec<u8>,
    /// The national CA certificates (DER).
    pub cas: Vec<Vec<u8>>,
}

impl Identity {
    /// Reads the identity from the hub folder `root`.
    ///
    /// # Errors
    /// When a file is missing or unusable, or the certificate does not
    /// certify the key.
    pub fn load(root: &Path) -> Result<Self, UpstreamError> {
        let d = dir(root);
        let key_pkcs8 = files::read_private_key(&d.join(KEY))?;
        let key = SigningKey::from_pkcs8(&key_pkcs8)
            .map_err(|e| UpstreamError::Refused(format!("upstream key: {e}")))?;
        let cert_der = files::read_pem(&d.join(CERT), files::CERTIFICATE)?;
        let identity = NodeIdentity::from_der(&cert_der)?;
        if identity.public_key != key.public() {
            return Err(UpstreamError::Refused(
                "upstream/node.crt does not certify upstream/node.key".into(),
            ));
        }
        let cas = files::read_pem_all(&d.join(CA), files::CERTIFICATE)?;
        Ok(Self {
            identity,
            key,
            key_pkcs8,
            cert_der,
            cas,
        })
    }
}

/// File names in [`dir`].
const KEY: &str = "node.key";
const CERT: &str = "node.crt";
const CA: &str = "ca.crt";
