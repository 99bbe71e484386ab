//! Requests `passerelle-node` commands send to a running node, and the
//! status report they share with the stopped case.

use passerelle_config::NodeConfig;
use passerelle_link::now;
use passerelle_protocol::UnixTime;
use serde::{Deserialize, Serialize};

use crate::{
    batches,
    identity::Credentials,
    paths::NodeDir,
    serve::{LinkState, Shared},
    store::{BatchMeta, BatchStatus, QueryRecord, Store},
    NodeError,
};

/// A request on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// The status report.
    Status,
    /// Import a file (read by the running node) as a batch.
    Import {
        /// Dataset.
        dataset: String,
        /// Absolute path of the CSV file.
        path: std::path::PathBuf,
        /// Who imports.
        by: String,
    },
    /// Validate a pending batch.
    Validate {
        /// Batch id.
        batch: u64,
        /// Who validates.
        by: String,
    },
    /// Every batch.
    Batches,
}

/// A reply on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Response {
    /// The status report.
    Status(StatusReport),
    /// A batch imported or validated.
    Batch(BatchMeta),
    /// Every batch, newest first.
    Batches(Vec<BatchMeta>),
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
    /// Datasets with data in force.
    pub datasets: Vec<String>,
    /// Batches waiting for validation.
    pub pending: Vec<BatchMeta>,
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
        pending: store
            .batches()?
            .into_iter()
            .filter(|b| b.status == BatchStatus::Pending)
            .collect(),
        recent_queries: store.recent_queries(RECENT)?,
    })
}

/// Answers an admin request from the running node.
pub fn handle(shared: &Shared, req: Request) -> Response {
    let result = match req {
        Request::Status => report(
            &shared.creds,
            shared.config.hub.to_string(),
            &shared.store,
            Some(shared.link()),
        )
        .map(Response::Status),
        other => dispatch(&shared.config, &shared.store, other),
    };
    result.unwrap_or_else(|e| Response::Error(e.to_string()))
}

/// The data requests, the same whether the node runs or not.
fn dispatch(config: &NodeConfig, store: &Store, req: Request) -> Result<Response, NodeError> {
    match req {
        Request::Import { dataset, path, by } => {
            batches::import_file(config, store, &dataset, &path, &by, now(), &mut |_| {})
                .map(Response::Batch)
        }
        Request::Validate { batch, by } => store.validate(batch, &by, now()).map(Response::Batch),
        Request::Batches => store.batches().map(Response::Batches),
        Request::Status => Err(NodeError::Refused(
            "status is answered by the caller".into(),
        )),
    }
}

/// Sends a data request to the running node, or serves it from the store
/// when none runs. `progress` is used only when serving directly.
///
/// # Errors
/// When the folder is not a node folder or the request fails.
pub async fn request(
    root: &std::path::Path,
    req: Request,
    progress: &mut dyn FnMut(u64),
) -> Result<Response, NodeError> {
    let dir = NodeDir::existing(root)?;
    let resp = match passerelle_link::admin::call::<_, Response>(root, &req).await? {
        Some(resp) => resp,
        None => {
            let config = NodeConfig::load(&dir.config())?;
            let store = Store::open(&dir.store())?;
            match req {
                Request::Import { dataset, path, by } => {
                    batches::import_file(&config, &store, &dataset, &path, &by, now(), progress)
                        .map(Response::Batch)?
                }
                other => dispatch(&config, &store, other)?,
            }
        }
    };
    match resp {
        Response::Error(e) => Err(NodeError::Refused(e)),
        other => Ok(other),
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
        Some(_) => Err(NodeError::Refused(
            "unexpected reply from the running node".into(),
        )),
        None => {
            let config = passerelle_config::NodeConfig::load(&dir.config())?;
            let creds = Credentials::load(&dir)?;
            let store = Store::open(&dir.store())?;
            report(&creds, config.hub.to_string(), &store, None)
        }
    }
}
