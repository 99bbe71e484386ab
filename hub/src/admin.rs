//! Requests other `passerelle-hub` commands send to a running hub, and the
//! same requests served straight from the store when none runs.

use std::path::Path;

use passerelle_link::now;
use passerelle_protocol::ids::NodeId;
use serde::{Deserialize, Serialize};

use crate::{
    ops::{self, Hub, NodeRow, Revoked},
    paths::HubDir,
    registry::Registry,
    HubError,
};

/// A request on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Request {
    /// Issue an enrollment token.
    Enroll {
        /// Node id.
        node_id: NodeId,
        /// Institution.
        name: String,
    },
    /// The registry listing.
    Nodes,
    /// Revoke a node.
    Revoke {
        /// Node id.
        node_id: NodeId,
    },
}

/// A reply on the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Response {
    /// The token text.
    Token(String),
    /// The registry.
    Nodes(Vec<NodeRow>),
    /// What revocation did.
    Revoked(Revoked),
    /// The request failed.
    Error(String),
}

/// Serves a request against a hub, with its live registry when running.
pub fn dispatch(hub: &Hub, live: Option<&Registry>, req: Request) -> Response {
    let result = match req {
        Request::Enroll { node_id, name } => {
            ops::issue_token(hub, &node_id, &name, now()).map(Response::Token)
        }
        Request::Nodes => ops::node_rows(hub, live).map(Response::Nodes),
        Request::Revoke { node_id } => {
            ops::revoke(hub, live, &node_id, now()).map(Response::Revoked)
        }
    };
    result.unwrap_or_else(|e| Response::Error(e.to_string()))
}

/// Sends a request to the hub serving `root`, or serves it from the store
/// when none runs.
///
/// # Errors
/// When the folder is not a hub folder, or the request fails.
pub async fn request(root: &Path, req: Request) -> Result<Response, HubError> {
    HubDir::existing(root)?;
    let resp = match passerelle_link::admin::call::<_, Response>(root, &req).await? {
        Some(resp) => resp,
        None => dispatch(&Hub::open(root)?, None, req),
    };
    match resp {
        Response::Error(e) => Err(HubError::Refused(e)),
        other => Ok(other),
    }
}
