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
