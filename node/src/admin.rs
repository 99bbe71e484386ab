//! Requests `passerelle-node` commands send to a running node, and the
//! status report they share with the stopped case.

use passerelle_protocol::UnixTime;
use serde::{Deserialize, Serialize};

use crate::{
    identity::Credentials,
    paths::NodeDir,
    serve::{LinkState, Shared},
    store::{QueryRecord, Store},
    NodeError,
};

/// A request on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// The status report.
    Status,
}

/// A reply on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Response {
    /// The status report.
    Status(StatusReport),
    /// The request failed.
    Error(String),
}

/// What `passerelle-node status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// Node id.
    pub node_id: String,
    /// Institution.
    pub institution: String,
    /// Hub address.
    pub hub: String,
    /// Whether `serve` is running.
    pub running: bool,
    /// The link, when running.
    pub link: Option<LinkState>,
    /// End of certificate validity.
    pub cert_not_after: UnixTime,
    /// Datasets held.
    pub datasets: Vec<String>,
    /// Most recent queries, newest first.
    pub recent_queries: Vec<QueryRecord>,
}

const RECENT: usize = 10;

fn report(
    creds: &Credentials,
    hub: String,
    store: &Store,
    link: Option<LinkState>,
) -> Result<StatusReport, NodeError> {
    Ok(StatusReport {
        node_id: creds.identity.node_id.to_string(),
        institution: creds.identity.institution.clone(),
        hub,
        running: link.is_some(),
        link,
        cert_not_after: creds.identity.not_after,
        datasets: store.datasets()?,
        recent_queries: store.recent_queries(RECENT)?,
    })
}

/// Answers an admin request from the running node.
pub fn handle(shared: &Shared, req: Request) -> Response {
    match req {
        Request::Status => match report(
            &shared.creds,
            shared.config.hub.to_string(),
            &shared.store,
            Some(shared.link()),
        ) {
            Ok(r) => Response::Status(r),
            Err(e) => Response::Error(e.to_string()),
        },
    }
}

/// The status report of a node folder, from the running node if there is
/// one, else from the files and store directly.
///
/// # Errors
/// When the folder is not a node folder or the store is unreadable.
pub async fn status(root: &std::path::Path) -> Result<StatusReport, NodeError> {
    let dir = NodeDir::existing(root)?;
    match passerelle_link::admin::call::<_, Response>(root, &Request::Status).await? {
        Some(Response::Status(r)) => Ok(r),
        Some(Response::Error(e)) => Err(NodeError::Locked(e)),
        None => {
            let config = passerelle_config::NodeConfig::load(&dir.config())?;
            let creds = Credentials::load(&dir)?;
            let store = Store::open(&dir.store())?;
            report(&creds, config.hub.to_string(), &store, None)
        }
    }
}
