//! A fan-out: many nodes asked at once, as a refresh does.
//!
//! For the nodes that speak protocol version 3, the hub signs one body per
//! distinct question, addressed to "the node on whose link it arrives"
//! (`passerelle_protocol::envelope::Audience::Linked`), instead of one per
//! node; older nodes, and questions about one node's holdings, get their
//! own. The replies' signatures are checked together in one batch.

use std::{collections::HashMap, sync::Arc, time::Duration};

use passerelle_link::stream;
use passerelle_protocol::{
    codec,
    envelope::{Audience, Outcome, QueryId, SignedQuery, SignedReply, LINKED_SINCE},
    frame::MAX_CONTROL_FRAME,
    hex,
    ids::NodeId,
    message::Query,
    sign::{self, PublicKey, SigningKey},
};
use tracing::{info, warn};

use crate::{
    federation::{exchange_failed, result_label, sign_for, spoken_by, Asked},
    registry::Live,
    HubError,
};

/// One question of a fan-out: a node's link and what to ask it.
#[derive(Debug, Clone)]
pub struct Question {
    /// The node's live connection.
    pub live: Live,
    /// What to ask.
    pub query: Query,
}

/// How many replies are worth checking in one batch on a blocking thread
/// rather than on the runtime's.
const BLOCKING_BATCH: usize = 32;

/// The signed queries of one fan-out.
struct Signer<'a> {
    key: &'a SigningKey,
    /// One body per link-addressed question and protocol version.
    shared: HashMap<(u16, Vec<u8>), (Arc<SignedQuery>, QueryId)>,
    /// Signatures made.
    signatures: usize,
}

impl Signer<'_> {
    /// The signed query for `query` to the node of `live`, and its id:
    /// the shared body when the node and the question allow it, its own
    /// otherwise.
    fn sign(&mut self, live: &Live, query: Query) -> Result<(Arc<SignedQuery>, QueryId), HubError> {
        let version = live.protocol();
        if version < LINKED_SINCE || !query.may_fan_out() {
            self.signatures += 1;
            let node = Audience::Node(live.identity.node_id.clone());
            let (signed, id) = sign_for(self.key, node, query, version)?;
            return Ok((Arc::new(signed), id));
        }
        let wire = (version, codec::encode(&query)?);
        if let Some(shared) = self.shared.get(&wire) {
            return Ok(shared.clone());
        }
        let (signed, id) = sign_for(self.key, Audience::Linked, query, version)?;
        self.signatures += 1;
        let shared = (Arc::new(signed), id);
        self.shared.insert(wire, shared.clone());
        Ok(shared)
    }
}

/// Asks many nodes at once and returns one result per question, in order.
///
/// Signs as the module says. The replies' signatures are checked together
/// ([`passerelle_protocol::sign::verify_batch`]), one by one only when the
/// batch fails, to find which; each reply must then name its node and echo
/// its query's id, as with [`crate::federation::ask`]. One log line sums
/// the fan-out up; refusals and failures get one each.
pub async fn ask_all(
    key: &SigningKey,
    questions: Vec<Question>,
    timeout: Duration,
) -> Vec<Result<Asked, HubError>> {
    let started = std::time::Instant::now();
    let mut signer = Signer {
        key,
        shared: HashMap::new(),
        signatures: 0,
    };
    let mut nodes: Vec<NodeId> = Vec::with_capacity(questions.len());
    let mut results: Vec<Option<Result<Asked, HubError>>> = Vec::with_capacity(questions.len());
    let mut tasks = tokio::task::JoinSet::new();
    for (i, Question { live, query }) in questions.into_iter().enumerate() {
        nodes.push(live.identity.node_id.clone());
        let kind = query.kind();
        let signed = spoken_by(&live, &query).and_then(|()| signer.sign(&live, query));
        let (signed, query_id) = match signed {
            Ok(s) => s,
            Err(e) => {
                results.push(Some(Err(e)));
                continue;
            }
        };
        results.push(None);
        tasks.spawn(async move {
            let asked = std::time::Instant::now();
            let reply: Result<SignedReply, HubError> =
                stream::exchange(&live.conn, &*signed, MAX_CONTROL_FRAME, timeout)
                    .await
                    .map_err(|e| exchange_failed(&live, e));
            (i, live, kind, query_id, reply, asked.elapsed())
        });
    }
    let mut received = Vec::with_capacity(results.len());
    while let Some(joined) = tasks.join_next().await {
        if let Ok(r) = joined {
            received.push(r);
        }
    }
    // Every signature in one batch.
    let items: Vec<(PublicKey, SignedReply)> = received
        .iter()
        .filter_map(|(_, live, _, _, reply, _)| {
            let reply = reply.as_ref().ok()?;
            Some((live.identity.public_key, reply.clone()))
        })
        .collect();
    let check = move || {
        let refs: Vec<(&PublicKey, &[u8], &[u8])> = items
            .iter()
            .map(|(k, r)| (k, r.body.as_slice(), r.signature.as_slice()))
            .collect();
        sign::verify_batch(&refs).is_ok()
    };
    let batch_ok = if received.len() >= BLOCKING_BATCH {
        tokio::task::spawn_blocking(check).await.unwrap_or(false)
    } else {
        check()
    };
    for (i, live, kind, query_id, reply, elapsed) in received {
        let node = &live.identity.node_id;
        let asked = reply.and_then(|reply| {
            let body = if batch_ok {
                reply.open_verified(node, Some(&query_id))
            } else {
                reply.verify(&live.identity.public_key, node, Some(&query_id))
            };
            body.map(|body| Asked {
                body,
                signed: reply,
            })
            .map_err(|e| HubError::Node {
                node: node.to_string(),
                why: e.to_string(),
            })
        });
        let query_id = hex::encode(&query_id);
        match &asked {
            Ok(Asked { body, .. }) => {
                if let Outcome::Refused(r) = &body.outcome {
                    warn!(%node, %query_id, kind, refusal = r.kind(), reason = %r, "query refused by node");
                }
            }
            Err(error) => warn!(%node, %query_id, kind, %error, "query failed"),
        }
        crate::metrics::global().query(kind, result_label(&asked), elapsed.as_secs_f64());
        results[i] = Some(asked);
    }
    let results: Vec<Result<Asked, HubError>> = results
        .into_iter()
        .zip(nodes)
        .map(|(r, node)| {
            r.unwrap_or_else(|| {
                Err(HubError::Node {
                    node: node.to_string(),
                    why: "the exchange task ended without a result".into(),
                })
            })
        })
        .collect();
    let count = |label: &str| results.iter().filter(|r| result_label(r) == label).count();
    info!(
        asked = results.len(),
        answered = count("answered"),
        refused = count("refused"),
        failed = count("failed"),
        signatures = signer.signatures,
        batch_verified = batch_ok,
        ms = started.elapsed().as_millis() as u64,
        "fan-out done"
    );
    results
}
