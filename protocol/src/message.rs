//! Queries the hub asks, answers a node gives, and the reasons it refuses.

use serde::{Deserialize, Serialize};

use crate::{
    aggregate::{AggregateAnswer, AggregateQuery},
    ids::NodeId,
    vault::{AccessRefusal, DocSummary, Grantee, Pseudonym, Requester},
    UnixTime,
};

/// A question from the hub to one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Query {
    /// Liveness check.
    Ping,
    /// The node's version, datasets and certificate expiry.
    Status,
    /// An aggregate over one dataset, under the node's policy.
    Aggregate(AggregateQuery),
    /// The node's entry in the directory of actors.
    Directory,
    /// The documents the node holds about a person (for a professional,
    /// only those their consent covers).
    Documents {
        /// The person's pseudonym at this node.
        person: Pseudonym,
        /// Who asks.
        requester: Requester,
    },
    /// One document. The accepted reply is followed on the same stream by
    /// the document's bytes, as many as the reply announces.
    Fetch {
        /// The person's pseudonym at this node.
        person: Pseudonym,
        /// Document id.
        document: String,
        /// Who asks.
        requester: Requester,
    },
    /// Consents the person revoked: refuse them from now on.
    RevokedConsents(Vec<String>),
    /// The CA certificates (DER) the network trusts now, the one that
    /// issues new certificates first. During a CA rotation both are
    /// listed; a node whose certificate the first did not issue renews it.
    Trust(Vec<Vec<u8>>),
    /// The head of the node's audit chain, and the hash of record `at`
    /// (the head the hub saw last): the hub keeps it as an outside anchor,
    /// so a truncated or rewritten chain shows.
    AuditHead {
        /// A record whose hash the hub wants to compare.
        at: Option<u64>,
    },
    /// The head of the hub's own (vault) audit chain, stated under the
    /// hub's signature, with the proof the node asked for: the node keeps
    /// the heads it is shown, so a hub chain later truncated or rewritten
    /// is caught by every node that saw an earlier head.
    HubHead(crate::audit::HubHead),
    /// The person deleted their vault account or unlinked this
    /// institution: drop the link of this pseudonym (the institution's own
    /// record stays; it is no longer tied to a vault). Answered
    /// [`Answer::Noted`], also when no such link is left.
    Forget {
        /// The person's pseudonym at this node.
        person: Pseudonym,
    },
    /// Which linked persons got documents added after `after` (the
    /// node's clock, seconds): their pseudonyms only, never a name nor a
    /// document, at most [`MAX_DEPOSITS`] entries. The hub tells the
    /// person a document arrived. An `after` not in the past (the hub's
    /// first question: `u64::MAX`) gets no deposit, only where to start
    /// by the node's clock. A node of protocol 2 that predates this
    /// query refuses it as malformed, which the hub takes as "not
    /// supported".
    DepositsSince {
        /// Documents added strictly after this time are reported.
        after: UnixTime,
    },
}

/// Entries at most in one [`Answer::Deposits`].
pub const MAX_DEPOSITS: usize = 256;

/// Documents added for one linked person in one second.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deposit {
    /// The person's pseudonym at this node.
    pub person: Pseudonym,
    /// When (the node's clock).
    pub at: UnixTime,
    /// How many documents.
    pub count: u32,
}

impl Query {
    /// The protocol version that introduced this query: a hub never sends
    /// it to a node speaking an older one.
    pub fn since(&self) -> u16 {
        match self {
            Query::Ping | Query::Status | Query::Aggregate(_) | Query::Directory => 1,
            Query::Documents { .. }
            | Query::Fetch { .. }
            | Query::RevokedConsents(_)
            | Query::Trust(_)
            | Query::AuditHead { .. }
            | Query::HubHead(_)
            | Query::DepositsSince { .. } => 2,
            Query::Forget { .. } => 2,
        }
    }

    /// Whether the query may be signed once for a whole fan-out
    /// ([`crate::envelope::Audience::Linked`]): a question put the same
    /// way to every node, about nobody in particular.
    pub fn may_fan_out(&self) -> bool {
        matches!(self, Query::Ping | Query::Aggregate(_))
    }

    /// Short name for logs and audit records.
    pub fn kind(&self) -> &'static str {
        match self {
            Query::Ping => "ping",
            Query::Status => "status",
            Query::Aggregate(_) => "aggregate",
            Query::Directory => "directory",
            Query::Documents { .. } => "documents",
            Query::Fetch { .. } => "fetch",
            Query::RevokedConsents(_) => "revoked_consents",
            Query::Trust(_) => "trust",
            Query::AuditHead { .. } => "audit_head",
            Query::HubHead(_) => "hub_head",
            Query::DepositsSince { .. } => "deposits_since",
            Query::Forget { .. } => "forget",
        }
    }
}

/// What a node says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    /// Node software version.
    pub version: String,
    /// Link protocol version the node speaks.
    pub protocol: u16,
    /// The node's id, as in its certificate.
    pub node_id: NodeId,
    /// The institution, as in its certificate.
    pub institution: String,
    /// Names of the datasets the node holds.
    pub datasets: Vec<String>,
    /// End of validity of the node's certificate.
    pub cert_not_after: UnixTime,
    /// The node's clock when it answered.
    pub now: UnixTime,
}

/// A node's answer to a query it accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Answer {
    /// Reply to [`Query::Ping`].
    Pong,
    /// Reply to [`Query::Status`].
    Status(NodeStatus),
    /// Reply to [`Query::Aggregate`].
    Aggregate(AggregateAnswer),
    /// Reply to [`Query::Directory`]; `None` when the node publishes none.
    Directory(Option<Box<crate::directory::DirectoryEntry>>),
    /// Reply to [`Query::Documents`].
    Documents(Vec<DocSummary>),
    /// Reply to [`Query::Fetch`]: the document's description; its
    /// `size` bytes follow on the stream, and must hash to its `sha256`.
    Document(DocSummary),
    /// Reply to [`Query::RevokedConsents`], [`Query::Trust`] and
    /// [`Query::Forget`]: recorded.
    Noted,
    /// Reply to [`Query::AuditHead`].
    AuditHead {
        /// Records in the chain.
        records: u64,
        /// Hash of the last record (zeros for an empty chain).
        hash: [u8; 32],
        /// Hash of record `at`, when it exists.
        at_hash: Option<[u8; 32]>,
    },
    /// Reply to [`Query::HubHead`]: the head the node keeps now, whose
    /// hash the hub must show again next time (`None` when it keeps none).
    HubHeadKept {
        /// Records of the head to prove next.
        want: Option<u64>,
    },
    /// Reply to [`Query::DepositsSince`], oldest first.
    Deposits {
        /// At most [`MAX_DEPOSITS`], whole seconds only.
        deposits: Vec<Deposit>,
        /// Where the next question starts (`after` of the next query):
        /// the last second reported when the list was cut, else the last
        /// complete second of the node's clock.
        until: UnixTime,
    },
    /// Reply to [`Query::Aggregate`] from a hub answering as a node of
    /// another hub (hub of hubs): its published, already protected cells,
    /// and the result they come from. Added last, so every earlier answer
    /// keeps its encoding.
    Composed(Box<crate::aggregate::ComposedAnswer>),
}

impl Answer {
    /// The aggregate cells of an [`Answer::Aggregate`] or an
    /// [`Answer::Composed`].
    pub fn aggregate(&self) -> Option<&crate::aggregate::AggregateAnswer> {
        match self {
            Answer::Aggregate(a) => Some(a),
            Answer::Composed(c) => Some(&c.answer),
            _ => None,
        }
    }

    /// [`Answer::aggregate`], by value.
    pub fn into_aggregate(self) -> Option<crate::aggregate::AggregateAnswer> {
        match self {
            Answer::Aggregate(a) => Some(a),
            Answer::Composed(c) => Some(c.answer),
            _ => None,
        }
    }
}

/// Why a node refused a query. Every refusal is returned to the hub and
/// logged at the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    /// The frame announced more bytes than the node accepts.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// Announced length.
        len: u32,
        /// Limit in force.
        max: u32,
    },
    /// The bytes are not a valid signed query.
    #[error("malformed query: {0}")]
    Malformed(String),
    /// The query speaks a protocol version the node does not.
    #[error("unsupported protocol version {got} (this node speaks {supported})")]
    UnsupportedVersion {
        /// Version of the query.
        got: u16,
        /// Version of the node.
        supported: u16,
    },
    /// The signature does not verify under the hub's certified key.
    #[error("query signature does not verify under the hub's certified key")]
    BadSignature,
    /// The query is addressed to another node.
    #[error("query addressed to node {addressed_to}, not to this node")]
    WrongAudience {
        /// Node the query names.
        addressed_to: String,
    },
    /// The query's issue time is outside the clock window.
    #[error("stale query: issued at {issued_at}, node clock {now}, window {window_secs} s (check both clocks)")]
    Stale {
        /// Issue time in the query.
        issued_at: UnixTime,
        /// Node's clock.
        now: UnixTime,
        /// Allowed difference.
        window_secs: u64,
    },
    /// The query's nonce was already used.
    #[error("replayed query: nonce already seen")]
    Replayed,
    /// Too many live queries to remember; try later.
    #[error("node busy: replay cache full, retry later")]
    Busy,
    /// The query is outside the node's sharing policy.
    #[error("outside sharing policy: {0}")]
    OutOfPolicy(String),
    /// The node cannot answer (no data, a store failure).
    #[error("cannot answer: {0}")]
    Unavailable(String),
    /// A document query the node refuses.
    #[error("access refused: {0}")]
    Access(AccessRefusal),
}

impl Refusal {
    /// Short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            Refusal::FrameTooLarge { .. } => "frame_too_large",
            Refusal::Malformed(_) => "malformed",
            Refusal::UnsupportedVersion { .. } => "unsupported_version",
            Refusal::BadSignature => "bad_signature",
            Refusal::WrongAudience { .. } => "wrong_audience",
            Refusal::Stale { .. } => "stale",
            Refusal::Replayed => "replayed",
            Refusal::Busy => "busy",
            Refusal::OutOfPolicy(_) => "out_of_policy",
            Refusal::Unavailable(_) => "unavailable",
            Refusal::Access(a) => a.kind(),
        }
    }
}

/// A request a node makes to the hub, on a stream it opens on its link.
/// The hub knows the node by the certificate of the link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeRequest {
    /// Redeem a person's one-time link code for the person's pseudonym at
    /// this node.
    RedeemLink {
        /// The code the person shows.
        code: String,
    },
    /// Renew this node's certificate for a new key (the key never leaves
    /// the node: only its CSR travels).
    Renew {
        /// PKCS#10 request (DER) for the new key.
        csr_der: Vec<u8>,
    },
    /// The consents in force that a person linked to this node gave this
    /// node's institution (for the node's counter).
    Consents {
        /// The person's pseudonym at this node.
        person: Pseudonym,
    },
}

/// A consent a person gave an institution, as that institution's node is
/// told of it: who may see, what, for which procedure, until when. It
/// never carries the person's pseudonym at another node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentGiven {
    /// The node holding the documents.
    pub holder: NodeId,
    /// Its institution's name.
    pub holder_name: String,
    /// Who may see them (the institution, or one of its professionals).
    pub grantee: Grantee,
    /// What the consent covers, in the words the person saw.
    pub scope_label: String,
    /// For which procedure (a code of [`crate::vault::PROCEDURES`] or the
    /// person's text).
    pub procedure: String,
    /// Valid from.
    pub not_before: UnixTime,
    /// Valid until (excluded).
    pub not_after: UnixTime,
}

/// The hub's reply to a [`NodeRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeResponse {
    /// The code was valid: the person's pseudonym at this node.
    Linked(Pseudonym),
    /// A renewed certificate, and the CA certificates to trust now.
    Renewed {
        /// The new node certificate (DER).
        cert_der: Vec<u8>,
        /// Trusted CA certificates (DER), the issuing one first.
        cas: Vec<Vec<u8>>,
    },
    /// Refused, with the reason.
    Refused(String),
    /// The consents asked for with [`NodeRequest::Consents`].
    Consents(Vec<ConsentGiven>),
}

/// The hub's answer to a diagnostic probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeReply {
    /// The hub's clock.
    pub hub_time: UnixTime,
    /// Link protocol version the hub speaks.
    pub protocol: u16,
    /// Hub software version.
    pub version: String,
    /// The node the presented certificate names, when the hub admits it.
    pub admitted: Option<NodeId>,
}
