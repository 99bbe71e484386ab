//! The hub's operations. Each behaves the same whether it runs inside
//! `serve` (called over the admin socket) or from a command with the store
//! opened directly; only the live registry differs (absent when stopped).

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
    store::{NodeRecord, SerialRecord, Store},
    HubError,
};

/// A loaded hub: everything an operation needs.
pub struct Hub {
    /// The folder.
    pub dir: HubDir,
    /// Its configuration.
    pub config: HubConfig,
    /// The CA.
    pub ca: Ca,
    /// The hub certificate (DER).
    pub hub_cert_der: Vec<u8>,
    /// The hub key (PKCS#8), for TLS.
    pub hub_key_pkcs8: Vec<u8>,
    /// The same key, for signing queries.
    pub key: SigningKey,
    /// The store.
    pub store: Store,
}

impl Hub {
    /// Loads a hub folder and opens its store.
    ///
    /// # Errors
    /// When a file is missing or unusable, or the store is locked.
    pub fn open(root: &std::path::Path) -> Result<Self, HubError> {
        let dir = HubDir::existing(root)?;
        let config = HubConfig::load(&dir.config())?;
        let ca_der = files::read_pem(&dir.ca_cert(), files::CERTIFICATE)?;
        let ca = Ca::from_parts(&ca_der, files::read_private_key(&dir.ca_key())?)?;
        let hub_cert_der = files::read_pem(&dir.hub_cert(), files::CERTIFICATE)?;
        let hub_key_pkcs8 = files::read_private_key(&dir.hub_key())?;
        let key = SigningKey::from_pkcs8(&hub_key_pkcs8).map_err(|e| HubError::Dir {
            path: dir.hub_key(),
            why: e.to_string(),
        })?;
        let store = Store::open(&dir.store())?;
        Ok(Self {
            dir,
            config,
            ca,
            hub_cert_der,
            hub_key_pkcs8,
            key,
            store,
        })
    }
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
        return Err(HubError::Refused(
            "--name must be the institution's name, 1 to 200 characters".into(),
        ));
    }
    if let Some(n) = hub.store.node(node_id)? {
        if n.revoked_at.is_none() {
            return Err(HubError::Refused(format!(
                "node {node_id} is already enrolled; to enroll it again, first revoke it: passerelle-hub revoke --node-id {node_id}"
            )));
        }
    }
    let secret = passerelle_link::random16();
    let token = Token {
        secret,
        ca_fingerprint: hub.ca.fingerprint(),
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
pub fn redeem(hub: &Hub, req: &EnrollRequest, now: UnixTime) -> EnrollResponse {
    match try_redeem(hub, req, now) {
        Ok(r) => r,
        Err(e) => EnrollResponse::Refused(e.to_string()),
    }
}

fn try_redeem(hub: &Hub, req: &EnrollRequest, now: UnixTime) -> Result<EnrollResponse, HubError> {
    if req.version != PROTOCOL_VERSION {
        return Err(HubError::Refused(format!(
            "node speaks protocol {} but this hub speaks {PROTOCOL_VERSION}; install a matching version",
            req.version
        )));
    }
    let hash = passerelle_protocol::sign::sha256(&req.secret);
    let record = hub.store.token(&hash)?;
    check_token(record.as_ref(), &req.secret, now).map_err(|e| HubError::Refused(e.to_string()))?;
    let record = record.expect("checked above");
    let validity = hub.config.node_cert_validity.as_secs();
    let cert_der = hub
        .ca
        .issue_node(&req.csr_der, &record.node_id, &record.name, now, validity)
        .map_err(|e| HubError::Refused(format!("certificate request refused: {e}")))?;
    hub.store.mark_token_used(&record, now)?;
    let identity = NodeIdentity::from_der(&cert_der)?;
    hub.store.put_serial(
        &identity.serial,
        &SerialRecord {
            node_id: record.node_id.clone(),
            issued_at: now,
            revoked_at: None,
        },
    )?;
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
        ca_der: hub.ca.cert_der().to_vec(),
    })
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
        return Err(HubError::Refused(format!(
            "unknown node {node_id} (see passerelle-hub nodes)"
        )));
    }
    let disconnected =
        live.is_some_and(|r| r.disconnect(node_id, CLOSE_REVOKED, b"certificate revoked"));
    tracing::warn!(node = %node_id, disconnected, "node revoked");
    Ok(Revoked {
        node_id: node_id.to_string(),
        disconnected,
    })
}
