//! `passerelle-hub upstream enroll`: enrolls this hub with a national hub
//! as a node, with a token the national operator issued. The same
//! exchange as `passerelle-node init` (a key made here, a CSR sent over
//! the enrollment ALPN to the hub the token's CA fingerprint
//! authenticates); the key never leaves the hub folder.

use std::{path::Path, time::Duration};

use passerelle_certs::{ca::node_request, files, tls, NodeIdentity};
use passerelle_config::{HubAddr, HubConfig, UpstreamConfig};
use passerelle_hub_core::paths::HubDir;
use passerelle_link::{endpoint, stream};
use passerelle_protocol::{
    enroll::{EnrollRequest, EnrollResponse, Token},
    frame::MAX_CONTROL_FRAME,
    ids::NodeId,
    sign::{sha256, SigningKey},
    PROTOCOL_VERSION,
};

use super::{dir, UpstreamError, CA, CERT, KEY};

/// How long the enrollment waits for the national hub.
pub const ENROLL_TIMEOUT: Duration = Duration::from_secs(10);

/// Enrolls the hub of folder `root` with the national hub at `hub`: writes
/// the identity into `upstream/` and `[upstream]` into `hub.toml`. Returns
/// the node id the national hub gave this hub.
///
/// # Errors
/// When the hub is enrolled already, the token is malformed, the national
/// hub is unreachable or refuses, or a file cannot be written.
pub async fn enroll(root: &Path, hub: HubAddr, token: &str) -> Result<NodeId, UpstreamError> {
    let hub_dir = HubDir::existing(root)?;
    let up = dir(root);
    if up.join(CERT).exists() || up.join(KEY).exists() {
        return Err(UpstreamError::AlreadyEnrolled(up));
    }
    let token = Token::parse(token).map_err(|e| UpstreamError::Token(e.to_string()))?;
    let unreachable = |why: String| UpstreamError::Unreachable {
        addr: hub.to_string(),
        why,
    };
    let remote = tokio::net::lookup_host((hub.host.as_str(), hub.port))
        .await
        .map_err(|e| unreachable(e.to_string()))?
        .next()
        .ok_or_else(|| unreachable("no address".into()))?;
    let request = node_request("regional-hub")?;
    let client = endpoint::client_config(
        tls::enroll_client_config(token.ca_fingerprint)?,
        Default::default(),
    )
    .map_err(|e| unreachable(e.to_string()))?;
    let ep = endpoint::client(remote).map_err(|e| unreachable(e.to_string()))?;
    let exchange = async {
        let conn = ep
            .connect_with(client, remote, &hub.host)
            .map_err(|e| e.to_string())?
            .await
            .map_err(|e| e.to_string())?;
        let reply: EnrollResponse = stream::exchange(
            &conn,
            &EnrollRequest {
                version: PROTOCOL_VERSION,
                secret: token.secret,
                csr_der: request.csr_der.clone(),
            },
            MAX_CONTROL_FRAME,
            ENROLL_TIMEOUT,
        )
        .await
        .map_err(|e| e.to_string())?;
        conn.close(0u32.into(), b"enrolled");
        Ok::<_, String>(reply)
    };
    let reply = tokio::time::timeout(ENROLL_TIMEOUT, exchange)
        .await
        .map_err(|_| unreachable(format!("no answer within {} s", ENROLL_TIMEOUT.as_secs())))?
        .map_err(unreachable)?;
    ep.wait_idle().await;
    let (node_id, cert_der, ca_der) = match reply {
        EnrollResponse::Refused(reason) => return Err(UpstreamError::Refused(reason)),
        EnrollResponse::Issued {
            node_id,
            cert_der,
            ca_der,
            ..
        } => (node_id, cert_der, ca_der),
    };
    // Accepted only when it certifies this key under the token's CA.
    let identity = NodeIdentity::from_der(&cert_der)?;
    let key = SigningKey::from_pkcs8(&request.key_pkcs8)
        .map_err(|e| UpstreamError::Refused(e.to_string()))?;
    if identity.node_id != node_id
        || sha256(&ca_der) != token.ca_fingerprint
        || identity.public_key != key.public()
    {
        return Err(UpstreamError::Refused(
            "the national hub returned a certificate that does not match the request".into(),
        ));
    }
    std::fs::create_dir_all(&up).map_err(|source| passerelle_hub_core::HubError::Io {
        path: up.clone(),
        source,
    })?;
    files::write_pem(&up.join(KEY), files::PRIVATE_KEY, &[&request.key_pkcs8])?;
    files::write_pem(&up.join(CERT), files::CERTIFICATE, &[&cert_der])?;
    files::write_pem(&up.join(CA), files::CERTIFICATE, &[&ca_der])?;
    let mut config =
        HubConfig::load(&hub_dir.config()).map_err(passerelle_hub_core::HubError::from)?;
    config.upstream = Some(match config.upstream.take() {
        Some(mut u) => {
            u.hub = hub;
            u
        }
        None => UpstreamConfig::new(hub),
    });
    files::write_atomic(&hub_dir.config(), config.template().as_bytes(), 0o644)?;
    Ok(node_id)
}
