//! The hub's operations. Each behaves the same whether it runs inside
//! `serve` (called over the admin socket) or from a command with the store
//! opened directly; only the live registry differs (absent when stopped).

use crate::refusal::Refusal;
use passerelle_certs::{files, Ca, NodeIdentity};
use passerelle_config::HubConfig;
use passerelle_protocol::{
    enroll::{check_token, EnrollRequest, EnrollResponse, Token, TokenRecord},
    ids::NodeId,
    sign::SigningKey,
    UnixTime, PROTOCOL_VERSION,
};
use serde::{Deserialize, Serialize};

use crate::{
    paths::HubDir,
    registry::{Registry, CLOSE_REVOKED},
    store::{NodeRecord, Store},
    HubError,
};

/// A loaded hub: its folder, configuration, keys and store. It holds no
/// CA private key: that is loaded apart, by [`load_ca`], only where
/// certificates are issued (enrollment and renewal on the QUIC side).
pub struct Hub {
    /// The folder.
    pub dir: HubDir,
    /// Its configuration.
    pub config: HubConfig,
    /// Every CA certificate trusted now (DER), the issuing one first; two
    /// during a CA rotation.
    pub trusted_cas: Vec<Vec<u8>>,
    /// CA certificates retired by past rotations, kept to verify history.
    pub retired_cas: Vec<Vec<u8>>,
    /// The hub certificate (DER).
    pub hub_cert_der: Vec<u8>,
    /// The CA certificate that issued the hub certificate (the old one
    /// during a rotation).
    pub hub_issuer_der: Vec<u8>,
    /// The hub key (PKCS#8), for TLS.
    pub hub_key_pkcs8: Vec<u8>,
    /// The same key, for signing queries.
    pub key: SigningKey,
    /// The store.
    pub store: Store,
    /// This process's own random id, as the holder of the store's leases
    /// ([`Store::hold_lease`]) when several instances share the store.
    pub instance: [u8; 16],
}

impl Hub {
    /// Loads a hub folder and opens its store.
    ///
    /// # Errors
    /// When a file is missing or unusable, or the store is locked.
    pub fn open(root: &std::path::Path) -> Result<Self, HubError> {
        let dir = HubDir::existing(root)?;
        let config = HubConfig::load(&dir.config())?;
        let trusted_cas = files::read_pem_all(&dir.ca_cert(), files::CERTIFICATE)?;
        let retired_cas = if dir.ca_retired().exists() {
            files::read_pem_all(&dir.ca_retired(), files::CERTIFICATE)?
        } else {
            Vec::new()
        };
        // hub.crt holds the hub certificate, then (after a rotation) the CA
        // that issued it.
        let mut hub_chain = files::read_pem_all(&dir.hub_cert(), files::CERTIFICATE)?;
        let hub_cert_der = hub_chain.remove(0);
        let hub_issuer_der = hub_chain
            .into_iter()
            .next()
            .unwrap_or_else(|| trusted_cas[0].clone());
        let hub_key_pkcs8 = files::read_private_key(&dir.hub_key())?;
        let key = SigningKey::from_pkcs8(&hub_key_pkcs8).map_err(|e| HubError::Dir {
            path: dir.hub_key(),
            why: e.to_string(),
        })?;
        let store = Store::open_configured(&dir.store(), dir.root(), &config.store)?;
        Ok(Self {
            dir,
            config,
            trusted_cas,
            retired_cas,
            hub_cert_der,
            hub_issuer_der,
            hub_key_pkcs8,
            key,
            store,
            instance: passerelle_link::random16(),
        })
    }
}

/// Loads the CA that issues certificates now: the first trusted CA
/// certificate with its private key. Only the QUIC side (enrollment and
/// renewal) and the CA commands hold it.
///
/// # Errors
/// When the files are missing, or the key is not the certificate's (an
/// interrupted rotation or a mismatched restore).
pub fn load_ca(hub: &Hub) -> Result<Ca, HubError> {
    Ok(Ca::from_parts(
        &hub.trusted_cas[0],
        files::read_private_key(&hub.dir.ca_key())?,
    )?)
}

/// Issues a one-time enrollment token for a node. Refuses a node id that
/// is enrolled and not revoked.
///
/// # Errors
/// [`HubError::Refused`] for an enrolled node, or a store failure.
pub fn issue_token(
    hub: &Hub,
    node_id: &NodeId,
    name: &str,
    now: UnixTime,
) -> Result<String, HubError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 {
        return Err(Refusal::BadInstitutionName.into());
    }
    if let Some(n) = hub.store.node(node_id)? {
        if n.revoked_at.is_none() {
            return Err(Refusal::AlreadyEnrolled {
                node: node_id.clone(),
            }
            .into());
        }
    }
    let secret = passerelle_link::random16();
    let token = Token {
        secret,
        // The node pins the CA that issued the hub certificate it will see.
        ca_fingerprint: passerelle_protocol::sign::sha256(&hub.hub_issuer_der),
    };
    hub.store.put_token(&TokenRecord {
        node_id: node_id.clone(),
        name: name.to_string(),
        secret_hash: token.secret_hash(),
        issued_at: now,
        expires_at: now + hub.config.token_ttl.as_secs(),
        used_at: None,
    })?;
    Ok(token.encode())
}

/// Redeems a token: checks it, issues the node certificate, records the
/// node. Every refusal says why, for the operator at the node.
pub fn redeem(hub: &Hub, ca: &Ca, req: &EnrollRequest, now: UnixTime) -> EnrollResponse {
    match try_redeem(hub, ca, req, now) {
        Ok(r) => r,
        Err(e) => EnrollResponse::Refused(e.to_string()),
    }
}

fn try_redeem(
    hub: &Hub,
    ca: &Ca,
    req: &EnrollRequest,
    now: UnixTime,
) -> Result<EnrollResponse, HubError> {
    if !(passerelle_protocol::MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&req.version) {
        return Err(Refusal::ProtocolMismatch {
            speaks: req.version,
            min: passerelle_protocol::MIN_PROTOCOL_VERSION,
            max: PROTOCOL_VERSION,
        }
        .into());
    }
    let hash = passerelle_protocol::sign::sha256(&req.secret);
    let record = hub.store.token(&hash)?;
    check_token(record.as_ref(), &req.secret, now).map_err(Refusal::from)?;
    let record = record.expect("checked above");
    let validity = hub.config.node_cert_validity.as_secs();
    let cert_der = ca
        .issue_node(&req.csr_der, &record.node_id, &record.name, now, validity)
        .map_err(|e| Refusal::CertificateRequest { why: e.to_string() })?;
    hub.store.mark_token_used(&record, now)?;
    let identity = NodeIdentity::from_der(&cert_der)?;
    crate::renewal::record_issued(&hub.store, &identity, &ca.fingerprint(), now)?;
    hub.store.put_node(&NodeRecord {
        node_id: record.node_id.clone(),
        name: record.name.clone(),
        enrolled_at: now,
        serial: identity.serial.clone(),
        cert_not_after: identity.not_after,
        last_seen: None,
        version: None,
        datasets: Vec::new(),
        revoked_at: None,
    })?;
    hub.store.flush()?;
    tracing::info!(node = %record.node_id, serial = %identity.serial, "node enrolled");
    Ok(EnrollResponse::Issued {
        node_id: record.node_id,
        name: record.name,
        cert_der,
        ca_der: hub.hub_issuer_der.clone(),
    })
}

/// Starts a CA rotation (the hub stopped): a new CA issues from now on;
/// the old one stays trusted, and keeps vouching for the hub certificate,
/// until [`finish_ca_rotation`]. Nodes learn the new CA at their next
/// status poll and renew their certificates from it.
///
/// # Errors
/// When a rotation is already under way, or files cannot be written.
pub fn rotate_ca(root: &std::path::Path, now: UnixTime) -> Result<(), HubError> {
    let hub = Hub::open(root)?;
    load_ca(&hub)?;
    if hub.trusted_cas.len() > 1 {
        return Err(Refusal::RotationUnderWay.into());
    }
    let dir = &hub.dir;
    let old = hub.trusted_cas[0].clone();
    let stamp = passerelle_link::output::time(Some(now));
    let new = Ca::generate(
        &format!("{} ({})", hub.config.name, &stamp[..10]),
        now,
        crate::init::CA_VALIDITY_SECS,
    )?;
    // The chain naming the hub certificate's issuer first (harmless alone),
    // then the trusted list and the key. A crash between those two leaves
    // a key that does not match the first certificate: the hub then
    // refuses to start and says so (Ca::from_parts) rather than issue
    // certificates nobody can verify.
    files::write_pem(
        &dir.hub_cert(),
        files::CERTIFICATE,
        &[&hub.hub_cert_der, &hub.hub_issuer_der],
    )?;
    files::write_pem(&dir.ca_cert(), files::CERTIFICATE, &[new.cert_der(), &old])?;
    files::write_pem(&dir.ca_key(), files::PRIVATE_KEY, &[&new.key_pkcs8()])?;
    tracing::info!("CA rotation started: the new CA issues; both are trusted");
    Ok(())
}

/// Ends a CA rotation (the hub stopped): a new hub certificate from the
/// new CA; the old CA is no longer trusted (kept in `ca-retired.crt` to
/// verify history). Nodes that did not renew during the overlap are cut
/// off. Returns the nodes whose current certificate the new CA did not
/// issue, unless `force`, in which case they are listed and cut off.
///
/// # Errors
/// When no rotation is under way, or nodes would be cut off without
/// `force`.
pub fn finish_ca_rotation(
    root: &std::path::Path,
    force: bool,
    now: UnixTime,
) -> Result<Vec<String>, HubError> {
    let hub = Hub::open(root)?;
    if hub.trusted_cas.len() < 2 {
        return Err(Refusal::NoRotation.into());
    }
    let new = hub.trusted_cas[0].clone();
    // Nodes whose current certificate the new CA did not issue.
    let new_fp = passerelle_protocol::sign::sha256(&new);
    let behind: Vec<String> = hub
        .store
        .nodes()?
        .into_iter()
        .filter(|n| n.revoked_at.is_none())
        .filter(|n| hub.store.serial_issuer(&n.serial).ok().flatten() != Some(new_fp))
        .map(|n| n.node_id.to_string())
        .collect();
    if !behind.is_empty() && !force {
        return Err(Refusal::NodesBehind {
            nodes: behind.iter().map(ToString::to_string).collect(),
        }
        .into());
    }
    let dir = &hub.dir;
    let new_ca = Ca::from_parts(&new, files::read_private_key(&dir.ca_key())?)?;
    // Same hub key: every signature the hub made stays verifiable.
    let issued = new_ca.issue_hub_for(
        &hub.config.public_names,
        Some(&hub.hub_key_pkcs8),
        now,
        crate::init::HUB_CERT_VALIDITY_SECS,
    )?;
    let mut retired = hub.retired_cas.clone();
    retired.extend(hub.trusted_cas[1..].iter().cloned());
    let retired_refs: Vec<&[u8]> = retired.iter().map(Vec::as_slice).collect();
    files::write_pem(&dir.ca_retired(), files::CERTIFICATE, &retired_refs)?;
    files::write_pem(
        &dir.hub_cert(),
        files::CERTIFICATE,
        &[&issued.cert_der, &new],
    )?;
    files::write_pem(&dir.ca_cert(), files::CERTIFICATE, &[&new])?;
    tracing::info!("CA rotation finished: only the new CA is trusted");
    Ok(behind)
}

/// One line of `passerelle-hub nodes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRow {
    /// Node id.
    pub node_id: String,
    /// Institution.
    pub name: String,
    /// Connected now.
    pub connected: bool,
    /// Last successful exchange.
    pub last_seen: Option<UnixTime>,
    /// End of certificate validity.
    pub cert_not_after: UnixTime,
    /// Software version last reported.
    pub version: Option<String>,
    /// Revoked, and when.
    pub revoked_at: Option<UnixTime>,
}

/// The registry listing.
///
/// # Errors
/// On a store failure.
pub fn node_rows(hub: &Hub, live: Option<&Registry>) -> Result<Vec<NodeRow>, HubError> {
    let connected = live.map(Registry::connected).unwrap_or_default();
    Ok(hub
        .store
        .nodes()?
        .into_iter()
        .map(|n| NodeRow {
            connected: connected.contains(&n.node_id),
            node_id: n.node_id.to_string(),
            name: n.name,
            last_seen: n.last_seen,
            cert_not_after: n.cert_not_after,
            version: n.version,
            revoked_at: n.revoked_at,
        })
        .collect())
}

/// What `revoke` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revoked {
    /// The node.
    pub node_id: String,
    /// Whether a live connection was closed.
    pub disconnected: bool,
}

/// Revokes a node: its certificates are refused at the handshake from now
/// on, and its live connection, if any, is closed at once.
///
/// # Errors
/// [`HubError::Refused`] for an unknown node, or a store failure.
pub fn revoke(
    hub: &Hub,
    live: Option<&Registry>,
    node_id: &NodeId,
    now: UnixTime,
) -> Result<Revoked, HubError> {
    if hub.store.revoke(node_id, now)?.is_none() {
        return Err(Refusal::UnknownNode {
            node: node_id.clone(),
        }
        .into());
    }
    let disconnected =
        live.is_some_and(|r| r.disconnect(node_id, CLOSE_REVOKED, b"certificate revoked"));
    tracing::warn!(node = %node_id, disconnected, "node revoked");
    Ok(Revoked {
        node_id: node_id.to_string(),
        disconnected,
    })
}
