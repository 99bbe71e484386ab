//! Who a certificate names, read back with x509-parser.
//!
//! A node certificate carries the node id as its common name and as a SAN
//! URI `urn:passerelle:node:<id>`, the institution as its organisation, and
//! only the client-authentication purpose. A hub certificate carries only the
//! server-authentication purpose. The purposes keep the roles apart: a node
//! certificate presented where the hub's is expected fails verification.

use passerelle_protocol::{hex, ids::NodeId, sign::PublicKey};
use x509_parser::{extensions::GeneralName, prelude::*};

use crate::{CertError, UnixTime};

/// The SAN URI that names a node.
pub fn node_uri(id: &NodeId) -> String {
    format!("urn:passerelle:node:{id}")
}

/// The identity a node certificate establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeIdentity {
    /// Node id.
    pub node_id: NodeId,
    /// Institution name.
    pub institution: String,
    /// Certificate serial, hex.
    pub serial: String,
    /// Start of validity.
    pub not_before: UnixTime,
    /// End of validity.
    pub not_after: UnixTime,
    /// The certified key, which also signs the node's answers.
    pub public_key: PublicKey,
}

/// The identity a hub certificate establishes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubIdentity {
    /// Certificate serial, hex.
    pub serial: String,
    /// End of validity.
    pub not_after: UnixTime,
    /// The certified key, which also signs the hub's queries.
    pub public_key: PublicKey,
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, CertError> {
    let (rest, cert) =
        X509Certificate::from_der(der).map_err(|e| CertError::Parse(e.to_string()))?;
    if !rest.is_empty() {
        return Err(CertError::Parse("trailing bytes after certificate".into()));
    }
    Ok(cert)
}

fn ed25519_key(cert: &X509Certificate<'_>, role: &'static str) -> Result<PublicKey, CertError> {
    let spki = cert.public_key();
    if spki.algorithm.algorithm != x509_parser::oid_registry::OID_SIG_ED25519 {
        return Err(CertError::Role {
            role,
            why: "key is not Ed25519".into(),
        });
    }
    PublicKey::from_slice(&spki.subject_public_key.data).map_err(|e| CertError::Role {
        role,
        why: e.to_string(),
    })
}

/// The validity (not before, not after) of any certificate.
///
/// # Errors
/// When it does not parse.
pub fn validity(der: &[u8]) -> Result<(UnixTime, UnixTime), CertError> {
    let (_, cert) = parse_x509_certificate(der).map_err(|e| CertError::Parse(e.to_string()))?;
    Ok(times(&cert))
}

fn times(cert: &X509Certificate<'_>) -> (UnixTime, UnixTime) {
    let v = cert.validity();
    (
        v.not_before.timestamp().max(0) as u64,
        v.not_after.timestamp().max(0) as u64,
    )
}

fn purposes(cert: &X509Certificate<'_>, role: &'static str) -> Result<(bool, bool), CertError> {
    let eku = cert
        .extended_key_usage()
        .map_err(|e| CertError::Parse(e.to_string()))?
        .ok_or(CertError::Role {
            role,
            why: "no extended key usage".into(),
        })?;
    Ok((eku.value.client_auth, eku.value.server_auth))
}

impl NodeIdentity {
    /// Reads a node certificate.
    ///
    /// # Errors
    /// When the certificate is unreadable or not a node certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, CertError> {
        const ROLE: &str = "node";
        let cert = parse(der)?;
        let (client, server) = purposes(&cert, ROLE)?;
        if !client || server {
            return Err(CertError::Role {
                role: ROLE,
                why: "purpose must be client authentication only".into(),
            });
        }
        let cn = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .ok_or(CertError::Role {
                role: ROLE,
                why: "no common name".into(),
            })?;
        let node_id = NodeId::new(cn).map_err(|e| CertError::Role {
            role: ROLE,
            why: e.to_string(),
        })?;
        let san = cert
            .subject_alternative_name()
            .map_err(|e| CertError::Parse(e.to_string()))?
            .ok_or(CertError::Role {
                role: ROLE,
                why: "no subject alternative name".into(),
            })?;
        let expected = node_uri(&node_id);
        if !san
            .value
            .general_names
            .iter()
            .any(|n| matches!(n, GeneralName::URI(u) if *u == expected))
        {
            return Err(CertError::Role {
                role: ROLE,
                why: format!("SAN lacks {expected}"),
            });
        }
        let institution = cert
            .subject()
            .iter_organization()
            .next()
            .and_then(|o| o.as_str().ok())
            .unwrap_or_default()
            .to_string();
        let (not_before, not_after) = times(&cert);
        Ok(Self {
            public_key: ed25519_key(&cert, ROLE)?,
            node_id,
            institution,
            serial: hex::encode(cert.raw_serial()),
            not_before,
            not_after,
        })
    }
}

impl HubIdentity {
    /// Reads a hub certificate.
    ///
    /// # Errors
    /// When the certificate is unreadable or not a hub certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, CertError> {
        const ROLE: &str = "hub";
        let cert = parse(der)?;
        let (client, server) = purposes(&cert, ROLE)?;
        if !server || client {
            return Err(CertError::Role {
                role: ROLE,
                why: "purpose must be server authentication only".into(),
            });
        }
        let (_, not_after) = times(&cert);
        Ok(Self {
            public_key: ed25519_key(&cert, ROLE)?,
            serial: hex::encode(cert.raw_serial()),
            not_after,
        })
    }
}

/// End of validity of any certificate.
///
/// # Errors
/// When the certificate is unreadable.
pub fn not_after(der: &[u8]) -> Result<UnixTime, CertError> {
    Ok(times(&parse(der)?).1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ca::node_request, Ca};

    #[test]
    fn node_and_hub_identities_round_trip_and_stay_apart() {
        let now = 1_800_000_000;
        let ca = Ca::generate("DEETS Mayotte", now, 86400 * 365).unwrap();
        let id = NodeId::new("caf-976").unwrap();
        let req = node_request("whatever-the-node-asks").unwrap();
        let der = ca
            .issue_node(
                &req.csr_der,
                &id,
                "Caisse d'allocations familiales",
                now,
                86400,
            )
            .unwrap();
        let node = NodeIdentity::from_der(&der).unwrap();
        assert_eq!(node.node_id, id);
        assert_eq!(node.institution, "Caisse d'allocations familiales");
        assert_eq!(node.not_after, now + 86400);
        let key = passerelle_protocol::sign::SigningKey::from_pkcs8(&req.key_pkcs8).unwrap();
        assert_eq!(
            node.public_key,
            key.public(),
            "certified key is the node's own key"
        );
        assert!(
            HubIdentity::from_der(&der).is_err(),
            "a node certificate is not a hub certificate"
        );

        let hub = ca.issue_hub(&["localhost".into()], now, 86400).unwrap();
        let hub_id = HubIdentity::from_der(&hub.cert_der).unwrap();
        let hub_key = passerelle_protocol::sign::SigningKey::from_pkcs8(&hub.key_pkcs8).unwrap();
        assert_eq!(hub_id.public_key, hub_key.public());
        assert!(
            NodeIdentity::from_der(&hub.cert_der).is_err(),
            "a hub certificate is not a node certificate"
        );
    }

    #[test]
    fn csr_with_bad_signature_is_refused() {
        let ca = Ca::generate("x", 1_800_000_000, 86400).unwrap();
        let mut req = node_request("n").unwrap();
        let last = req.csr_der.len() - 1;
        req.csr_der[last] ^= 0xff;
        let id = NodeId::new("n").unwrap();
        assert!(ca
            .issue_node(&req.csr_der, &id, "N", 1_800_000_000, 86400)
            .is_err());
    }
}
