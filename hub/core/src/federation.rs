//! Signed queries to nodes and verified replies.
//!
//! Each query gets a fresh id and nonce, the hub's clock and the node it is
//! for, and is signed with the hub key. The reply must verify under the key
//! the node's certificate certifies and name the node and the query; the
//! signed reply is kept whole, as provenance.
//!
//! A fan-out ([`ask_all`], in `crate::fanout`) signs one body per distinct
//! question for every node that speaks version 3, and checks the replies'
//! signatures together in one batch.

use std::{sync::Arc, time::Duration};

use passerelle_link::{now, random16, stream, LinkError};
use passerelle_protocol::{
    audit::HubHead,
    envelope::{Audience, Outcome, QueryBody, QueryId, ReplyBody, SignedQuery, SignedReply},
    frame::MAX_CONTROL_FRAME,
    hex,
    ids::NodeId,
    message::{Answer, Deposit, Query, Refusal},
    sign::SigningKey,
    vault::{DocSummary, Pseudonym, Requester},
    UnixTime,
};
use tracing::{info, info_span, warn, Instrument};

use crate::{
    ops::Hub,
    registry::{Live, Registry},
    store::Store,
    HubError,
};

pub use crate::download::{fetch, Incoming, TransferError};
pub use crate::fanout::{ask_all, Question};

/// A verified reply and the signed bytes it came in.
#[derive(Debug, Clone)]
pub struct Asked {
    /// The decoded, verified reply.
    pub body: ReplyBody,
    /// The reply as signed by the node.
    pub signed: SignedReply,
}

/// Refuses, without sending it, a query newer than the node's protocol.
pub(crate) fn spoken_by(live: &Live, query: &Query) -> Result<(), HubError> {
    if query.since() > live.protocol() {
        return Err(HubError::Outdated {
            node: live.identity.node_id.to_string(),
            has: live.protocol(),
            needs: query.since(),
        });
    }
    Ok(())
}

/// Signs a query, with a fresh id and nonce and the hub's clock, for
/// `audience` in `version`; returns it with its id.
pub(crate) fn sign_for(
    key: &SigningKey,
    audience: Audience,
    query: Query,
    version: u16,
) -> Result<(SignedQuery, QueryId), HubError> {
    let query_id = random16();
    let body = QueryBody {
        query_id,
        issued_at: now(),
        nonce: random16(),
        audience,
        query,
    };
    Ok((SignedQuery::sign_version(&body, key, version)?, query_id))
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
    spoken_by(live, &query)?;
    let kind = query.kind();
    let (signed, query_id) = sign_for(
        key,
        Audience::Node(live.identity.node_id.clone()),
        query,
        live.protocol(),
    )?;
    let span = info_span!("query", query_id = %hex::encode(&query_id), node = %live.identity.node_id, kind);
    async {
        let started = std::time::Instant::now();
        let asked = send(live, &signed, Some(query_id), timeout).await;
        let result = result_label(&asked);
        crate::metrics::global().query(kind, result, started.elapsed().as_secs_f64());
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

/// How an exchange ended, for the metrics and the logs: `answered`,
/// `refused` (by the node, in a signed reply) or `failed`.
pub(crate) fn result_label(asked: &Result<Asked, HubError>) -> &'static str {
    match asked {
        Ok(a) if matches!(a.body.outcome, Outcome::Answered(_)) => "answered",
        Ok(_) => "refused",
        Err(_) => "failed",
    }
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
        .map_err(|e| exchange_failed(live, e))?;
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

/// Why an exchange with a node failed, typed: no reply in time, a link
/// the liveness watch found silent and closed, or anything else.
pub(crate) fn exchange_failed(live: &Live, error: LinkError) -> HubError {
    let node = live.identity.node_id.to_string();
    if let Some(silent) = live.found_dead() {
        return HubError::Dead { node, silent };
    }
    match error {
        LinkError::Timeout(after) => HubError::TimedOut { node, after },
        other => HubError::Node {
            node,
            why: other.to_string(),
        },
    }
}

/// The consents revoked and still unexpired that a node holds documents
/// under, by id: the vault answers it, the status poll delivers them.
pub type RevokedConsents =
    dyn Fn(&NodeId, passerelle_protocol::UnixTime) -> Result<Vec<String>, HubError> + Send + Sync;

/// What the areas above the core need to ask nodes: the live connections
/// and the hub's key, never the CA's. Cheap to clone.
#[derive(Clone)]
pub struct Federation {
    /// The loaded hub (its store, configuration and signing key).
    pub hub: Arc<Hub>,
    /// Connected nodes.
    pub registry: Arc<Registry>,
}

impl Federation {
    /// The live connection of a node, if connected.
    pub fn live(&self, node: &NodeId) -> Option<Live> {
        self.registry.get(node)
    }

    /// How long a node may take to answer.
    pub fn timeout(&self) -> Duration {
        self.hub.config.query_timeout
    }

    /// How long a document transfer may go without progress.
    pub fn stall(&self) -> Duration {
        self.hub.config.stall_timeout
    }

    /// The name of an enrolled institution (its id when unknown).
    pub fn node_name(&self, node: &NodeId) -> String {
        self.hub
            .store
            .node(node)
            .ok()
            .flatten()
            .map_or_else(|| node.to_string(), |n| n.name)
    }

    /// Signs a query for a connected node and asks it.
    ///
    /// # Errors
    /// See [`ask`].
    pub async fn ask(&self, live: &Live, query: Query) -> Result<Asked, HubError> {
        ask(live, &self.hub.key, query, self.timeout()).await
    }

    /// Asks many connected nodes at once.
    ///
    /// See [`ask_all`].
    pub async fn ask_all(&self, questions: Vec<Question>) -> Vec<Result<Asked, HubError>> {
        ask_all(&self.hub.key, questions, self.timeout()).await
    }
}

/// Asks a connected node for its status every `interval` and records what
/// it says, until the connection closes.
pub async fn poll_status(
    store: Store,
    key: &SigningKey,
    live: Live,
    interval: Duration,
    timeout: Duration,
    trusted_cas: &[Vec<u8>],
    revoked: &RevokedConsents,
) {
    // The head of the hub's chain this node keeps, as it said last time:
    // the next statement proves it is still there.
    let mut hub_want: Option<u64> = None;
    loop {
        if let Ok(asked) = ask(&live, key, Query::Status, timeout).await {
            if let Outcome::Answered(Answer::Status(s)) = asked.body.outcome {
                // Speak the node's version from now on (one minor behind
                // at most; older nodes were refused at enrollment).
                live.protocol.store(
                    s.protocol.clamp(
                        passerelle_protocol::MIN_PROTOCOL_VERSION,
                        passerelle_protocol::PROTOCOL_VERSION,
                    ),
                    std::sync::atomic::Ordering::Relaxed,
                );
                // What the node says about itself (version, datasets) is
                // kept as reported; its certificate's facts come from the
                // certificate (see `renewal::connected_with`), and its
                // datasets are only claims until the operator approves them.
                let seen = now();
                let updated = store.update_node(&live.identity.node_id, |n| {
                    n.last_seen = Some(seen);
                    n.version = Some(s.version.clone());
                    n.datasets = s.datasets.clone();
                });
                if let Err(error) = updated {
                    warn!(%error, node = %live.identity.node_id, "status not recorded");
                }
                let claimed = crate::providers::note_claims(
                    &store,
                    &live.identity.node_id,
                    &s.datasets,
                    seen,
                );
                if let Err(error) = claimed {
                    warn!(%error, node = %live.identity.node_id, "dataset claims not recorded");
                }
            }
        }
        // The CAs to trust (two during a rotation): a node whose
        // certificate the issuing one did not sign renews it.
        if live.protocol() >= 2 {
            if let Ok(asked) = ask(&live, key, Query::Trust(trusted_cas.to_vec()), timeout).await {
                if let Outcome::Refused(r) = asked.body.outcome {
                    warn!(node = %live.identity.node_id, reason = %r, "trust list refused");
                }
            }
        }
        if live.protocol() >= 2 {
            check_audit_anchor(&store, key, &live, timeout).await;
            hub_want = state_hub_head(&store, key, &live, timeout, hub_want).await;
        }
        match revoked(&live.identity.node_id, now()) {
            Ok(ids) if !ids.is_empty() && live.protocol() >= 2 => {
                if let Err(error) = send_revocations(&live, key, ids, timeout).await {
                    warn!(%error, node = %live.identity.node_id, "revoked consents not delivered");
                }
            }
            Ok(_) => {}
            Err(error) => warn!(%error, "revoked consents not read"),
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

/// Asks a node which documents it holds about a person: the list, or the
/// node's refusal.
///
/// # Errors
/// When the exchange fails or the reply does not verify.
pub async fn documents(
    live: &Live,
    key: &SigningKey,
    person: Pseudonym,
    requester: Requester,
    timeout: Duration,
) -> Result<Result<Vec<DocSummary>, Refusal>, HubError> {
    let asked = ask(live, key, Query::Documents { person, requester }, timeout).await?;
    Ok(match asked.body.outcome {
        Outcome::Answered(Answer::Documents(d)) => Ok(d),
        Outcome::Refused(r) => Err(r),
        other => Err(Refusal::Malformed(format!("unexpected answer {other:?}"))),
    })
}

/// Asks a node which linked persons got documents after `after` (its
/// clock): the deposits and where the next question starts, or the
/// node's refusal.
///
/// # Errors
/// When the exchange fails or the reply does not verify.
pub async fn deposits_since(
    live: &Live,
    key: &SigningKey,
    after: UnixTime,
    timeout: Duration,
) -> Result<Result<(Vec<Deposit>, UnixTime), Refusal>, HubError> {
    let asked = ask(live, key, Query::DepositsSince { after }, timeout).await?;
    Ok(match asked.body.outcome {
        Outcome::Answered(Answer::Deposits {
            mut deposits,
            until,
        }) => {
            deposits.truncate(passerelle_protocol::message::MAX_DEPOSITS);
            Ok((deposits, until))
        }
        Outcome::Refused(r) => Err(r),
        other => Err(Refusal::Malformed(format!("unexpected answer {other:?}"))),
    })
}

/// Tells a node which consents were revoked.
///
/// # Errors
/// When the exchange fails or the node refuses.
pub async fn send_revocations(
    live: &Live,
    key: &SigningKey,
    ids: Vec<String>,
    timeout: Duration,
) -> Result<(), HubError> {
    let asked = ask(live, key, Query::RevokedConsents(ids), timeout).await?;
    match asked.body.outcome {
        Outcome::Answered(_) => Ok(()),
        Outcome::Refused(r) => Err(HubError::Node {
            node: live.identity.node_id.to_string(),
            why: r.to_string(),
        }),
    }
}

/// The head of the hub's (vault) audit chain, with the hash of record
/// `want - 1` as proof for the head of `want` records a node keeps.
///
/// # Errors
/// On a store failure or a damaged record.
pub fn hub_head(store: &Store, want: Option<u64>) -> Result<HubHead, HubError> {
    let chain: crate::store::Keyspace<passerelle_protocol::audit::Record> =
        store.keyspace(crate::store::VaultSpace::Audit);
    let (records, hash) = match chain.last()? {
        Some(e) => {
            let r = e.value()?;
            (r.seq + 1, r.hash)
        }
        None => (0, passerelle_protocol::audit::GENESIS),
    };
    let proof = match want {
        Some(n) if n > 0 => chain.get(&(n - 1).to_be_bytes())?.map(|r| (n, r.hash)),
        _ => None,
    };
    Ok(HubHead {
        records,
        hash,
        proof,
    })
}

/// The head of the hub's chain a node keeps, as it last said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HeadKept {
    /// Records of that head.
    pub records: u64,
    /// When the node said so.
    pub at: passerelle_protocol::UnixTime,
}

fn heads_kept(store: &Store) -> crate::store::Keyspace<HeadKept> {
    store.keyspace(crate::store::FederationSpace::HubHeadsKept)
}

/// The head of the hub's chain each node keeps (node id, head), as the
/// nodes last said.
///
/// # Errors
/// On a store failure or a damaged record.
pub fn hub_heads_kept(store: &Store) -> Result<Vec<(String, HeadKept)>, HubError> {
    heads_kept(store)
        .iter()?
        .map(|e| {
            let e = e?;
            Ok((String::from_utf8_lossy(e.key()).into_owned(), e.value()?))
        })
        .collect()
}

/// States the head of the hub's chain to a node (signed, as every query),
/// with the proof for the head it keeps; returns the head it keeps now
/// (`want` unchanged when it did not answer).
pub async fn state_hub_head(
    store: &Store,
    key: &SigningKey,
    live: &Live,
    timeout: Duration,
    want: Option<u64>,
) -> Option<u64> {
    let node = &live.identity.node_id;
    let head = match hub_head(store, want) {
        Ok(h) => h,
        Err(error) => {
            warn!(%error, %node, "hub audit head not read");
            return want;
        }
    };
    match ask(live, key, Query::HubHead(head), timeout).await {
        Ok(asked) => match asked.body.outcome {
            Outcome::Answered(Answer::HubHeadKept { want }) => {
                if let Some(records) = want {
                    let kept = HeadKept { records, at: now() };
                    let noted = store.writing().map_err(HubError::from).and_then(|_w| {
                        Ok(heads_kept(store).insert(node.as_str().as_bytes(), &kept)?)
                    });
                    if let Err(error) = noted {
                        warn!(%error, %node, "hub head kept by the node not recorded");
                    }
                }
                want
            }
            // A node of an earlier build does not keep hub heads.
            Outcome::Refused(r) => {
                tracing::debug!(%node, reason = %r, "hub head not kept");
                want
            }
            _ => want,
        },
        Err(_) => want,
    }
}

/// Compares a node's audit chain with the head the hub saw last: the
/// chain may only grow, and the record at the old head must still carry
/// the same hash. A chain found truncated or rewritten is flagged (and the
/// old anchor kept as evidence); otherwise the anchor moves forward.
pub async fn check_audit_anchor(store: &Store, key: &SigningKey, live: &Live, timeout: Duration) {
    let node = &live.identity.node_id;
    let previous = match store.audit_anchor(node) {
        Ok(p) => p,
        Err(error) => {
            warn!(%error, %node, "audit anchor not read");
            return;
        }
    };
    if previous.as_ref().is_some_and(|p| p.broken.is_some()) {
        return;
    }
    let at = previous.as_ref().and_then(|p| p.records.checked_sub(1));
    let Ok(asked) = ask(live, key, Query::AuditHead { at }, timeout).await else {
        return;
    };
    let Outcome::Answered(Answer::AuditHead {
        records,
        hash,
        at_hash,
    }) = asked.body.outcome
    else {
        return;
    };
    let t = now();
    let broken = previous.as_ref().and_then(|p| {
        if records < p.records {
            Some(format!(
                "the chain shrank from {} to {records} records",
                p.records
            ))
        } else if p.records > 0 && at_hash != Some(p.hash) {
            Some(format!(
                "record {} no longer has the hash the hub saw",
                p.records - 1
            ))
        } else {
            None
        }
    });
    let anchor = match (previous, broken) {
        (Some(mut p), Some(why)) => {
            tracing::error!(%node, reason = %why, "node audit chain truncated or rewritten");
            p.broken = Some((t, why));
            p
        }
        _ => crate::store::AuditAnchor {
            records,
            hash,
            seen_at: t,
            broken: None,
        },
    };
    if let Err(error) = store.put_audit_anchor(node, &anchor) {
        warn!(%error, %node, "audit anchor not recorded");
    }
}
