//! Signed envelopes.
//!
//! The hub signs every query: the signature covers the exact bytes of a
//! [`QueryBody`], which names the query id, the issue time, a nonce and its
//! [`Audience`]. The node checks, in order: protocol version, signature,
//! audience, clock window, nonce. The node signs every reply, answer or
//! refusal, with the key its certificate certifies.
//!
//! ## One signature per fan-out (version 3)
//!
//! A query about one node's holdings (a person's documents, a fetch, a
//! revocation, the trust list) names that node. A question put the same
//! way to many nodes (an aggregate, a ping) may instead be addressed to
//! [`Audience::Linked`]: "the node on whose authenticated link this
//! arrives". The hub then signs one body for the whole fan-out instead of
//! one per node. The addressee is bound by the link: a node reads queries
//! only on the mutual-TLS connection it opened to the hub's certificate,
//! whose key is the key that signs queries, so nobody but the hub can put
//! a query on that link, and each node's replay cache still takes the
//! nonce once. A link-addressed query for anything but an aggregate or a
//! ping is refused ([`Query::may_fan_out`]).
//!
//! Versions 1 and 2 encode the audience as a bare node id
//! ([`QueryBodyV2`]); a hub speaking to such a node signs one body per
//! node in that form.

use serde::{Deserialize, Serialize};

use crate::{
    codec,
    ids::NodeId,
    message::{Answer, Query, Refusal},
    replay::{NonceCache, Seen},
    sign::{PublicKey, SigningKey},
    UnixTime, MIN_PROTOCOL_VERSION, PROTOCOL_VERSION,
};

/// Default clock window, each side of the node's clock.
pub const DEFAULT_WINDOW_SECS: u64 = 300;

/// A query id: 16 random bytes.
pub type QueryId = [u8; 16];

/// Who a query is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Audience {
    /// This node only.
    Node(NodeId),
    /// The node on whose authenticated link the query arrives: one signed
    /// body for a whole fan-out (version 3; aggregates and pings only).
    Linked,
}

impl Audience {
    /// For logs and refusals.
    pub fn describe(&self) -> String {
        match self {
            Audience::Node(id) => id.to_string(),
            Audience::Linked => "every node it is sent to".into(),
        }
    }
}

/// The signed part of a query.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryBody {
    /// Unique id, echoed in the reply.
    pub query_id: QueryId,
    /// Hub clock at signing.
    pub issued_at: UnixTime,
    /// Random, never reused.
    pub nonce: [u8; 16],
    /// Who the query is for.
    pub audience: Audience,
    /// The question.
    pub query: Query,
}

/// The signed part of a query in versions 1 and 2: the audience is always
/// one node, encoded as its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryBodyV2 {
    /// Unique id, echoed in the reply.
    pub query_id: QueryId,
    /// Hub clock at signing.
    pub issued_at: UnixTime,
    /// Random, never reused.
    pub nonce: [u8; 16],
    /// The node the query is for.
    pub audience: NodeId,
    /// The question.
    pub query: Query,
}

impl From<QueryBodyV2> for QueryBody {
    fn from(b: QueryBodyV2) -> Self {
        Self {
            query_id: b.query_id,
            issued_at: b.issued_at,
            nonce: b.nonce,
            audience: Audience::Node(b.audience),
            query: b.query,
        }
    }
}

/// The first protocol version with [`Audience::Linked`].
pub const LINKED_SINCE: u16 = 3;

/// Encodes a body as `version` reads it.
///
/// # Errors
/// When it cannot be encoded, or it is link-addressed and `version` is
/// older than [`LINKED_SINCE`].
fn encode_body(body: &QueryBody, version: u16) -> Result<Vec<u8>, codec::CodecError> {
    if version >= LINKED_SINCE {
        return codec::encode(body);
    }
    let Audience::Node(node) = &body.audience else {
        return Err(codec::CodecError::Encode(format!(
            "a link-addressed query needs protocol version {LINKED_SINCE}, the node speaks {version}"
        )));
    };
    codec::encode(&QueryBodyV2 {
        query_id: body.query_id,
        issued_at: body.issued_at,
        nonce: body.nonce,
        audience: node.clone(),
        query: body.query.clone(),
    })
}

/// Decodes a body signed under `version`.
///
/// # Errors
/// When the bytes are not such a body.
pub fn decode_body(bytes: &[u8], version: u16) -> Result<QueryBody, codec::CodecError> {
    if version >= LINKED_SINCE {
        codec::decode(bytes)
    } else {
        codec::decode::<QueryBodyV2>(bytes).map(QueryBody::from)
    }
}

/// A query as it travels: the encoded body and the hub's signature over it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedQuery {
    /// Protocol version of the body.
    pub version: u16,
    /// `codec::encode(QueryBody)`.
    pub body: Vec<u8>,
    /// Ed25519 signature of `body` by the hub.
    pub signature: Vec<u8>,
}

impl SignedQuery {
    /// Encodes and signs a query body.
    ///
    /// # Errors
    /// When the body cannot be encoded.
    pub fn sign(body: &QueryBody, key: &SigningKey) -> Result<Self, codec::CodecError> {
        Self::sign_version(body, key, PROTOCOL_VERSION)
    }

    /// Encodes and signs a query body for a peer speaking `version`.
    ///
    /// # Errors
    /// When the body cannot be encoded.
    pub fn sign_version(
        body: &QueryBody,
        key: &SigningKey,
        version: u16,
    ) -> Result<Self, codec::CodecError> {
        let body = encode_body(body, version)?;
        let signature = key.sign(&body);
        Ok(Self {
            version,
            body,
            signature,
        })
    }

    /// Reads the query id without checking anything, for logs and for
    /// echoing it in a refusal. Never trust it further.
    pub fn unverified_id(&self) -> Option<QueryId> {
        decode_body(&self.body, self.version)
            .ok()
            .map(|b| b.query_id)
    }
}

/// What a node needs to check queries.
#[derive(Debug)]
pub struct QueryCheck<'a> {
    /// The hub's certified key.
    pub hub_key: &'a PublicKey,
    /// This node.
    pub me: &'a NodeId,
    /// Allowed clock difference each side.
    pub window_secs: u64,
}

impl QueryCheck<'_> {
    /// Checks a signed query and returns its body.
    ///
    /// # Errors
    /// The [`Refusal`] that explains the first check that failed.
    pub fn handle_query(
        &self,
        query: &SignedQuery,
        now: UnixTime,
        seen: &mut NonceCache,
    ) -> Result<QueryBody, Refusal> {
        if !(MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&query.version) {
            return Err(Refusal::UnsupportedVersion {
                got: query.version,
                supported: PROTOCOL_VERSION,
            });
        }
        self.hub_key
            .verify(&query.body, &query.signature)
            .map_err(|_| Refusal::BadSignature)?;
        let body = decode_body(&query.body, query.version)
            .map_err(|e| Refusal::Malformed(e.to_string()))?;
        let for_me = match &body.audience {
            Audience::Node(node) => node == self.me,
            // Bound by the link it came on; only for questions put the
            // same way to every node.
            Audience::Linked => body.query.may_fan_out(),
        };
        if !for_me {
            return Err(Refusal::WrongAudience {
                addressed_to: body.audience.describe(),
            });
        }
        if body.issued_at.abs_diff(now) > self.window_secs {
            return Err(Refusal::Stale {
                issued_at: body.issued_at,
                now,
                window_secs: self.window_secs,
            });
        }
        let expires = body.issued_at.saturating_add(self.window_secs);
        match seen.handle_nonce(body.nonce, expires, now) {
            Seen::Fresh => Ok(body),
            Seen::Replayed => Err(Refusal::Replayed),
            Seen::Full => Err(Refusal::Busy),
        }
    }
}

/// Outcome a node reports for one query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Outcome {
    /// The query was accepted and answered.
    Answered(Answer),
    /// The query was refused, with the reason.
    Refused(Refusal),
}

/// The signed part of a reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplyBody {
    /// The query answered, when it could be read.
    pub query_id: Option<QueryId>,
    /// The node replying.
    pub node_id: NodeId,
    /// Node clock at signing.
    pub issued_at: UnixTime,
    /// Answer or refusal.
    pub outcome: Outcome,
}

/// A reply as it travels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedReply {
    /// Protocol version of the body.
    pub version: u16,
    /// `codec::encode(ReplyBody)`.
    pub body: Vec<u8>,
    /// Ed25519 signature of `body` by the node's certified key.
    pub signature: Vec<u8>,
}

/// Why a reply was not accepted by the hub.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// Signature does not verify under the node's certified key.
    #[error("reply signature does not verify under the node's certified key")]
    BadSignature,
    /// The body is not a valid reply.
    #[error("malformed reply: {0}")]
    Malformed(String),
    /// The reply names another node than the connection's certificate.
    #[error("reply claims node {claimed} on the link of node {expected}")]
    WrongNode {
        /// Node in the reply.
        claimed: String,
        /// Node of the link.
        expected: String,
    },
    /// The reply answers another query.
    #[error("reply to another query")]
    WrongQuery,
}

impl SignedReply {
    /// Encodes and signs a reply body.
    ///
    /// # Errors
    /// When the body cannot be encoded.
    pub fn sign(body: &ReplyBody, key: &SigningKey) -> Result<Self, codec::CodecError> {
        let body = codec::encode(body)?;
        let signature = key.sign(&body);
        Ok(Self {
            version: PROTOCOL_VERSION,
            body,
            signature,
        })
    }

    /// Checks the node's signature and that the reply is from `node` about
    /// `query_id`. The signed reply itself is what the hub keeps as
    /// provenance; this returns its decoded body.
    ///
    /// # Errors
    /// The [`ReplyError`] for the first check that failed.
    pub fn verify(
        &self,
        node_key: &PublicKey,
        node: &NodeId,
        query_id: Option<&QueryId>,
    ) -> Result<ReplyBody, ReplyError> {
        node_key
            .verify(&self.body, &self.signature)
            .map_err(|_| ReplyError::BadSignature)?;
        self.open_verified(node, query_id)
    }

    /// The checks of [`SignedReply::verify`] after the signature, for a
    /// reply whose signature was checked in a batch
    /// ([`crate::sign::verify_batch`]).
    ///
    /// # Errors
    /// The [`ReplyError`] for the first check that failed.
    pub fn open_verified(
        &self,
        node: &NodeId,
        query_id: Option<&QueryId>,
    ) -> Result<ReplyBody, ReplyError> {
        let body: ReplyBody =
            codec::decode(&self.body).map_err(|e| ReplyError::Malformed(e.to_string()))?;
        if &body.node_id != node {
            return Err(ReplyError::WrongNode {
                claimed: body.node_id.to_string(),
                expected: node.to_string(),
            });
        }
        if let Some(id) = query_id {
            if body.query_id.as_ref() != Some(id) {
                return Err(ReplyError::WrongQuery);
            }
        }
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::tests::key;

    fn body(audience: &str, issued_at: UnixTime, nonce: u8) -> QueryBody {
        QueryBody {
            query_id: [nonce; 16],
            issued_at,
            nonce: [nonce; 16],
            audience: Audience::Node(NodeId::new(audience).unwrap()),
            query: Query::Status,
        }
    }

    /// What a node with id `me` checks queries signed by `hub` with.
    fn check<'a>(hub: &'a PublicKey, me: &'a NodeId) -> QueryCheck<'a> {
        QueryCheck {
            hub_key: hub,
            me,
            window_secs: 300,
        }
    }

    fn linked(query: Query, nonce: u8) -> QueryBody {
        QueryBody {
            query_id: [nonce; 16],
            issued_at: 1000,
            nonce: [nonce; 16],
            audience: Audience::Linked,
            query,
        }
    }

    fn aggregate() -> Query {
        Query::Aggregate(crate::aggregate::AggregateQuery {
            dataset: "personnes_recues".into(),
            measure: crate::aggregate::Measure::Count,
            periods: vec![],
            by: None,
        })
    }

    #[test]
    fn one_signed_body_serves_every_linked_node_once_each() {
        let hub = key();
        let (a, b) = (
            NodeId::new("caf-976").unwrap(),
            NodeId::new("cd-976").unwrap(),
        );
        let q = SignedQuery::sign(&linked(aggregate(), 1), &hub).unwrap();
        for me in [&a, &b] {
            let hub_key = hub.public();
            let check = check(&hub_key, me);
            let mut seen = NonceCache::new(8);
            let body = check.handle_query(&q, 1000, &mut seen).unwrap();
            assert_eq!(body.audience, Audience::Linked);
            assert_eq!(
                check.handle_query(&q, 1001, &mut seen),
                Err(Refusal::Replayed)
            );
        }
    }

    #[test]
    fn a_personal_query_must_name_its_node() {
        let hub = key();
        let me = NodeId::new("caf-976").unwrap();
        let hub_key = hub.public();
        let check = check(&hub_key, &me);
        let mut seen = NonceCache::new(8);
        let personal = [
            Query::Status,
            Query::Directory,
            Query::Trust(vec![]),
            Query::RevokedConsents(vec!["c".into()]),
            Query::Documents {
                person: crate::vault::Pseudonym("p".into()),
                requester: crate::vault::Requester::Person,
            },
        ];
        for (i, query) in personal.into_iter().enumerate() {
            let q = SignedQuery::sign(&linked(query, 10 + i as u8), &hub).unwrap();
            assert!(
                matches!(
                    check.handle_query(&q, 1000, &mut seen),
                    Err(Refusal::WrongAudience { .. })
                ),
                "query {i}"
            );
        }
        let ping = SignedQuery::sign(&linked(Query::Ping, 20), &hub).unwrap();
        assert!(check.handle_query(&ping, 1000, &mut seen).is_ok());
        assert_eq!(seen.len(), 1);
    }

    #[test]
    fn version_2_bodies_name_their_node_in_the_old_form() {
        let hub = key();
        let q = SignedQuery::sign_version(&body("caf-976", 1000, 1), &hub, 2).unwrap();
        // What a version-2 node decodes.
        let old: QueryBodyV2 = codec::decode(&q.body).unwrap();
        assert_eq!(old.audience.as_str(), "caf-976");
        assert_eq!(q.unverified_id(), Some([1; 16]));
        // A link-addressed body cannot be said in version 2.
        assert!(SignedQuery::sign_version(&linked(Query::Ping, 2), &hub, 2).is_err());
    }

    #[test]
    fn accepts_a_good_query_once() {
        let hub = key();
        let me = NodeId::new("caf-976").unwrap();
        let hub_key = hub.public();
        let check = check(&hub_key, &me);
        let mut seen = NonceCache::new(100);
        let q = SignedQuery::sign(&body("caf-976", 1000, 1), &hub).unwrap();
        assert_eq!(
            check.handle_query(&q, 1010, &mut seen).unwrap(),
            body("caf-976", 1000, 1)
        );
        assert_eq!(
            check.handle_query(&q, 1011, &mut seen),
            Err(Refusal::Replayed)
        );
    }

    #[test]
    fn refuses_each_kind_of_bad_query() {
        let hub = key();
        let me = NodeId::new("caf-976").unwrap();
        let hub_key = hub.public();
        let check = check(&hub_key, &me);
        let mut seen = NonceCache::new(100);

        let mut tampered = SignedQuery::sign(&body("caf-976", 1000, 2), &hub).unwrap();
        let last = tampered.body.len() - 1;
        tampered.body[last] ^= 1;
        assert_eq!(
            check.handle_query(&tampered, 1000, &mut seen),
            Err(Refusal::BadSignature)
        );

        let forged = SignedQuery::sign(&body("caf-976", 1000, 3), &key()).unwrap();
        assert_eq!(
            check.handle_query(&forged, 1000, &mut seen),
            Err(Refusal::BadSignature)
        );

        let other = SignedQuery::sign(&body("pole-emploi", 1000, 4), &hub).unwrap();
        assert_eq!(
            check.handle_query(&other, 1000, &mut seen),
            Err(Refusal::WrongAudience {
                addressed_to: "pole-emploi".into()
            })
        );

        let old = SignedQuery::sign(&body("caf-976", 1000, 5), &hub).unwrap();
        assert!(matches!(
            check.handle_query(&old, 1301, &mut seen),
            Err(Refusal::Stale { .. })
        ));
        let future = SignedQuery::sign(&body("caf-976", 2000, 6), &hub).unwrap();
        assert!(matches!(
            check.handle_query(&future, 1000, &mut seen),
            Err(Refusal::Stale { .. })
        ));

        // One minor behind is spoken; older and newer are not.
        let older =
            SignedQuery::sign_version(&body("caf-976", 1000, 8), &hub, MIN_PROTOCOL_VERSION)
                .unwrap();
        assert!(check
            .handle_query(&older, 1000, &mut NonceCache::new(4))
            .is_ok());
        for v in [MIN_PROTOCOL_VERSION - 1, PROTOCOL_VERSION + 1] {
            let q = SignedQuery::sign_version(&body("caf-976", 1000, 9), &hub, v).unwrap();
            assert!(
                matches!(
                    check.handle_query(&q, 1000, &mut seen),
                    Err(Refusal::UnsupportedVersion { .. })
                ),
                "version {v}"
            );
        }
        let mut versioned = SignedQuery::sign(&body("caf-976", 1000, 7), &hub).unwrap();
        versioned.version = 99;
        assert!(matches!(
            check.handle_query(&versioned, 1000, &mut seen),
            Err(Refusal::UnsupportedVersion { got: 99, .. })
        ));
        // None of the refused queries consumed a nonce.
        assert!(seen.is_empty());
    }

    #[test]
    fn reply_is_bound_to_node_and_query() {
        let node_key = key();
        let node = NodeId::new("caf-976").unwrap();
        let reply = ReplyBody {
            query_id: Some([9; 16]),
            node_id: node.clone(),
            issued_at: 5,
            outcome: Outcome::Answered(Answer::Pong),
        };
        let signed = SignedReply::sign(&reply, &node_key).unwrap();
        assert_eq!(
            signed.verify(&node_key.public(), &node, Some(&[9; 16])),
            Ok(reply)
        );
        assert_eq!(
            signed.verify(&node_key.public(), &node, Some(&[8; 16])),
            Err(ReplyError::WrongQuery)
        );
        assert_eq!(
            signed.verify(&key().public(), &node, Some(&[9; 16])),
            Err(ReplyError::BadSignature)
        );
        let other = NodeId::new("cd-976").unwrap();
        assert!(matches!(
            signed.verify(&node_key.public(), &other, None),
            Err(ReplyError::WrongNode { .. })
        ));
    }
}
