//! Signed queries to nodes and verified replies.
//!
//! Each query gets a fresh id and nonce, the hub's clock and the node it is
//! for, and is signed with the hub key. The reply must verify under the key
//! the node's certificate certifies and name the node and the query; the
//! signed reply is kept whole, as provenance.

use std::time::Duration;

use passerelle_link::{now, random16, stream};
use passerelle_protocol::{
    envelope::{Outcome, QueryBody, QueryId, ReplyBody, SignedQuery, SignedReply},
    frame::MAX_CONTROL_FRAME,
    hex,
    message::{Answer, Query},
    sign::SigningKey,
};
use tracing::{info, info_span, warn, Instrument};

use crate::{registry::Live, store::Store, HubError};

/// A verified reply and the signed bytes it came in.
#[derive(Debug, Clone)]
pub struct Asked {
    /// The decoded, verified reply.
    pub body: ReplyBody,
    /// The reply as signed by the node.
    pub signed: SignedReply,
}

/// Signs a query for a node and asks it.
///
/// # Errors
/// When the exchange fails or the reply does not verify.
pub async fn ask(
    live: &Live,
    key: &SigningKey,
    query: Query,
    timeout: Duration,
) -> Result<Asked, HubError> {
    let query_id = random16();
    let span = info_span!("query", query_id = %hex::encode(&query_id), node = %live.identity.node_id, kind = query.kind());
    async {
        let body = QueryBody {
            query_id,
            issued_at: now(),
            nonce: random16(),
            audience: live.identity.node_id.clone(),
            query,
        };
        let signed = SignedQuery::sign(&body, key)?;
        let asked = send(live, &signed, Some(query_id), timeout).await;
        match &asked {
            Ok(a) => match &a.body.outcome {
                Outcome::Answered(_) => info!("query answered"),
                Outcome::Refused(r) => {
                    warn!(refusal = r.kind(), reason = %r, "query refused by node")
                }
            },
            Err(error) => warn!(%error, "query failed"),
        }
        asked
    }
    .instrument(span)
    .await
}

/// Sends an already signed query and verifies the reply. `expect` is the
/// query id the reply must echo, when known.
///
/// # Errors
/// When the exchange fails or the reply does not verify.
pub async fn send(
    live: &Live,
    signed: &SignedQuery,
    expect: Option<QueryId>,
    timeout: Duration,
) -> Result<Asked, HubError> {
    let node = &live.identity.node_id;
    let reply: SignedReply = stream::exchange(&live.conn, signed, MAX_CONTROL_FRAME, timeout)
        .await
        .map_err(|e| HubError::Node {
            node: node.to_string(),
            why: e.to_string(),
        })?;
    let body = reply
        .verify(&live.identity.public_key, node, expect.as_ref())
        .map_err(|e| HubError::Node {
            node: node.to_string(),
            why: e.to_string(),
        })?;
    Ok(Asked {
        body,
        signed: reply,
    })
}

/// Asks a connected node for its status every `interval` and records what
/// it says, until the connection closes.
pub async fn poll_status(
    store: Store,
    key: &SigningKey,
    live: Live,
    interval: Duration,
    timeout: Duration,
) {
    loop {
        if let Ok(asked) = ask(&live, key, Query::Status, timeout).await {
            if let Outcome::Answered(Answer::Status(s)) = asked.body.outcome {
                let seen = now();
                let updated = store.update_node(&live.identity.node_id, |n| {
                    n.last_seen = Some(seen);
                    n.version = Some(s.version.clone());
                    n.datasets = s.datasets.clone();
                    n.cert_not_after = s.cert_not_after;
                });
                if let Err(error) = updated {
                    warn!(%error, node = %live.identity.node_id, "status not recorded");
                }
            }
        }
        if let Ok(asked) = ask(&live, key, Query::Directory, timeout).await {
            if let Outcome::Answered(Answer::Directory(entry)) = asked.body.outcome {
                if let Err(error) = store.put_directory(&live.identity.node_id, entry.as_deref()) {
                    warn!(%error, node = %live.identity.node_id, "directory entry not recorded");
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = live.conn.closed() => return,
        }
    }
}
