//! `passerelle-node init`: make a key pair here, send a CSR to the hub over
//! the enrollment ALPN, and keep the certificate it returns. The hub is
//! authenticated by the CA fingerprint in the token before the node sends
//! anything. The private key never leaves this folder.

use std::{net::SocketAddr, time::Duration};

use passerelle_certs::{
    ca::{node_request, NodeRequest},
    files, tls, NodeIdentity,
};
use passerelle_config::{HubAddr, NodeConfig};
use passerelle_link::{endpoint, stream, LinkError};
use passerelle_protocol::{
    enroll::{EnrollRequest, EnrollResponse, Token},
    frame::MAX_CONTROL_FRAME,
    ids::NodeId,
    PROTOCOL_VERSION,
};

use crate::{paths::NodeDir, NodeError};

/// How long `init` waits for the hub.
pub const ENROLL_TIMEOUT: Duration = Duration::from_secs(10);

/// What `init` did.
#[derive(Debug)]
pub struct Enrolled {
    /// The identity the hub certified.
    pub identity: NodeIdentity,
    /// The configuration written.
    pub config: NodeConfig,
}

/// Resolves the hub address to a socket address.
///
/// # Errors
/// [`NodeError::Unreachable`] when the name does not resolve.
pub async fn resolve(hub: &HubAddr) -> Result<SocketAddr, NodeError> {
    let unreachable = |why: String| NodeError::Unreachable {
        addr: hub.to_string(),
        port: hub.port,
        why,
    };
    let mut addrs = tokio::net::lookup_host((hub.host.as_str(), hub.port))
        .await
        .map_err(|e| unreachable(format!("cannot resolve host name {:?}: {e}", hub.host)))?;
    addrs
        .next()
        .ok_or_else(|| unreachable(format!("host name {:?} has no address", hub.host)))
}

/// Enrolls this folder's node with the hub.
///
/// # Errors
/// When the folder already holds a node, the token is malformed, the hub is
/// unreachable or refuses.
pub async fn init(dir: &NodeDir, hub: HubAddr, token: &str) -> Result<Enrolled, NodeError> {
    ensure_fresh(dir)?;
    let token = Token::parse(token)?;
    let remote = resolve(&hub).await?;
    let request = node_request("enrolling-node")?;
    let reply = exchange(&hub, remote, &token, &request).await?;
    let issued = check_issued(reply, &token, &request)?;
    let config = write_files(dir, hub, &request, &issued)?;
    Ok(Enrolled {
        identity: issued.identity,
        config,
    })
}

/// Refuses a folder that already holds a node key or configuration.
fn ensure_fresh(dir: &NodeDir) -> Result<(), NodeError> {
    if dir.key().exists() || dir.config().exists() {
        return Err(NodeError::Dir {
            path: dir.root().to_path_buf(),
            why: "this folder already holds an enrolled node (node.key or node.toml exists); use another --dir, or remove them to enroll again".into(),
        });
    }
    Ok(())
}

/// Sends the CSR to the hub, authenticated by the token's CA fingerprint,
/// and returns its answer within [`ENROLL_TIMEOUT`].
async fn exchange(
    hub: &HubAddr,
    remote: SocketAddr,
    token: &Token,
    request: &NodeRequest,
) -> Result<EnrollResponse, NodeError> {
    let unreachable = |why: String| NodeError::Unreachable {
        addr: hub.to_string(),
        port: hub.port,
        why,
    };
    let client = endpoint::client_config(
        tls::enroll_client_config(token.ca_fingerprint)?,
        Default::default(),
    )?;
    let ep = endpoint::client(remote)?;
    let exchange = async {
        let conn = ep.connect_with(client, remote, &hub.host)?.await?;
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
        .await?;
        conn.close(0u32.into(), b"enrolled");
        Ok::<_, LinkError>(reply)
    };
    let reply = match tokio::time::timeout(ENROLL_TIMEOUT, exchange).await {
        Err(_) => return Err(unreachable(format!("no answer within {} s", ENROLL_TIMEOUT.as_secs()))),
        Ok(Err(LinkError::Connection(quinn::ConnectionError::TimedOut))) => {
            return Err(unreachable("no answer (timed out)".into()))
        }
        Ok(Err(LinkError::Connection(quinn::ConnectionError::TransportError(e)))) if e.to_string().contains("certificate") || e.to_string().contains("issuer") => {
            return Err(NodeError::EnrollRefused(format!(
                "the server at {hub} is not the hub this token was issued for (its CA does not match the token's fingerprint): {e}"
            )))
        }
        Ok(Err(e)) => return Err(unreachable(e.to_string())),
        Ok(Ok(reply)) => reply,
    };
    ep.wait_idle().await;
    Ok(reply)
}

/// A certificate the hub issued, checked against the request.
struct Issued {
    node_id: NodeId,
    identity: NodeIdentity,
    cert_der: Vec<u8>,
    ca_der: Vec<u8>,
}

/// Accepts the hub's answer only when it certifies this node's key under
/// the CA the token names.
fn check_issued(
    reply: EnrollResponse,
    token: &Token,
    request: &NodeRequest,
) -> Result<Issued, NodeError> {
    let (node_id, cert_der, ca_der) = match reply {
        EnrollResponse::Refused(reason) => return Err(NodeError::EnrollRefused(reason)),
        EnrollResponse::Issued {
            node_id,
            cert_der,
            ca_der,
            ..
        } => (node_id, cert_der, ca_der),
    };
    let identity = NodeIdentity::from_der(&cert_der)?;
    if identity.node_id != node_id
        || passerelle_protocol::sign::sha256(&ca_der) != token.ca_fingerprint
    {
        return Err(NodeError::EnrollRefused(
            "the hub returned a certificate that does not match the request".into(),
        ));
    }
    let key = passerelle_protocol::sign::SigningKey::from_pkcs8(&request.key_pkcs8)
        .map_err(|e| NodeError::EnrollRefused(e.to_string()))?;
    if identity.public_key != key.public() {
        return Err(NodeError::EnrollRefused(
            "the hub certified another key than this node's".into(),
        ));
    }
    Ok(Issued {
        node_id,
        identity,
        cert_der,
        ca_der,
    })
}

/// Writes the key, the certificates and a first `node.toml`.
fn write_files(
    dir: &NodeDir,
    hub: HubAddr,
    request: &NodeRequest,
    issued: &Issued,
) -> Result<NodeConfig, NodeError> {
    files::write_pem(&dir.key(), files::PRIVATE_KEY, &[&request.key_pkcs8])?;
    files::write_pem(&dir.cert(), files::CERTIFICATE, &[&issued.cert_der])?;
    files::write_pem(&dir.ca(), files::CERTIFICATE, &[&issued.ca_der])?;
    let config = NodeConfig::new(issued.node_id.clone(), hub);
    files::write_atomic(&dir.config(), config.template().as_bytes(), 0o644)?;
    Ok(config)
}
