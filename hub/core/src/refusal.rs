//! Why the hub refused an operation: typed, so callers match on the rule
//! broken and the admin socket carries it as data. The English text is
//! for operators; the portal has its own French words.

use passerelle_protocol::{enroll::TokenError, ids::NodeId};
use serde::{Deserialize, Serialize};

/// A request the hub will not carry out, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum Refusal {
    /// An institution's name must be 1 to 200 characters.
    #[error("--name must be the institution's name, 1 to 200 characters")]
    BadInstitutionName,
    /// The node is enrolled already.
    #[error("node {node} is already enrolled; to enroll it again, first revoke it: passerelle-hub revoke --node-id {node}")]
    AlreadyEnrolled {
        /// The node.
        node: NodeId,
    },
    /// The node speaks a protocol outside the hub's range.
    #[error("node speaks protocol {speaks} but this hub speaks {min} to {max}; install a matching version")]
    ProtocolMismatch {
        /// The node's version.
        speaks: u16,
        /// The oldest the hub speaks.
        min: u16,
        /// The newest the hub speaks.
        max: u16,
    },
    /// The enrollment token does not admit the node.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The node's certificate request cannot be signed.
    #[error("certificate request refused: {why}")]
    CertificateRequest {
        /// What is wrong with the request.
        why: String,
    },
    /// No such node, or it was revoked.
    #[error("unknown node {node} (see passerelle-hub nodes)")]
    UnknownNode {
        /// The node.
        node: NodeId,
    },
    /// A CA rotation is under way already.
    #[error("a CA rotation is already under way: finish it first (passerelle-hub ca finish)")]
    RotationUnderWay,
    /// No CA rotation is under way.
    #[error("no CA rotation is under way (passerelle-hub ca rotate starts one)")]
    NoRotation,
    /// Nodes still hold certificates from the old CA.
    #[error("{} node(s) still hold a certificate from the old CA: {}; wait until they renew (they do at their next connection), or finish with --force to cut them off", .nodes.len(), .nodes.join(", "))]
    NodesBehind {
        /// Their ids.
        nodes: Vec<String>,
    },
    /// Not an e-mail address.
    #[error("{email:?} is not an e-mail address")]
    BadEmail {
        /// What was given.
        email: String,
    },
    /// A partner account needs a name.
    #[error("--name is empty")]
    EmptyName,
    /// The partner account exists already.
    #[error("an account {email} already exists")]
    AccountExists {
        /// Its e-mail.
        email: String,
    },
    /// No such partner account.
    #[error("no account {email}")]
    UnknownAccount {
        /// The e-mail asked for.
        email: String,
    },
    /// The institution has its maximum of partner accounts.
    #[error("institution {institution} already has {max} accounts (partner_accounts_per_institution in hub.toml)")]
    TooManyAccounts {
        /// The institution.
        institution: NodeId,
        /// The configured maximum.
        max: usize,
    },
    /// No such indicator in the catalog.
    #[error("unknown indicator {id:?} (see passerelle-hub indicators)")]
    UnknownIndicator {
        /// The id asked for.
        id: String,
    },
    /// The indicator has no result yet.
    #[error("indicator {id} has not been computed yet: run passerelle-hub indicator {id} --refresh against the running hub")]
    NotComputed {
        /// The indicator.
        id: String,
    },
    /// The request needs the running hub (it asks the nodes).
    #[error("{what} needs the running hub: start passerelle-hub serve (or demo) with this --dir")]
    NeedsRunningHub {
        /// What was asked.
        what: String,
    },
    /// The request needs the hub stopped.
    #[error("stop the hub first (systemctl stop passerelle-hub, or Ctrl-C on serve), then {what}")]
    NeedsStoppedHub {
        /// What to do once it is stopped.
        what: String,
    },
    /// A published result fails its provenance check.
    #[error("verification failed for {indicator}: {why}")]
    Verification {
        /// The indicator.
        indicator: String,
        /// The first contribution or cell that fails.
        why: String,
    },
    /// A file the hub was given does not hold what it should (catalog,
    /// boundaries, TLS files, configuration).
    #[error("{what}: {why}")]
    BadFile {
        /// The file or setting.
        what: String,
        /// What is wrong and how to fix it.
        why: String,
    },
    /// The audit chain is broken.
    #[error("audit chain broken: {why}")]
    AuditBroken {
        /// Where and how.
        why: String,
    },
    /// The enrollment token was used by a concurrent request.
    #[error("enrollment token already used")]
    TokenRace,
    /// A running hub answered with something this command does not
    /// expect (versions differ).
    #[error(
        "the running hub gave an unexpected reply: are the hub and this command the same version?"
    )]
    UnexpectedReply,
    /// Hashing a secret failed (a bug or an exhausted system).
    #[error("cannot hash a secret: {why}")]
    Hashing {
        /// What the hasher said.
        why: String,
    },
    /// A dataset name that no claim or decision may carry.
    #[error("{name:?} is not a dataset name: 1 to 64 letters, digits, '_' or '-'")]
    BadDataset {
        /// What was given.
        name: String,
    },
    /// A renewal asked before the certificate's renewal window opened.
    #[error("certificate of node {node} renewed too early: its renewal window opens at {opens} (Unix time); a stolen key cannot extend itself")]
    RenewalTooEarly {
        /// The node.
        node: NodeId,
        /// When the window opens.
        opens: passerelle_protocol::UnixTime,
    },
    /// The certificate presented was renewed already in its window.
    #[error("certificate of node {node} was already renewed in its window; use the renewed certificate (or ask the hub administrator to enroll the node again)")]
    RenewedAlready {
        /// The node.
        node: NodeId,
    },
    /// The certificate presented is no longer the node's: a newer one was
    /// used since.
    #[error("certificate of node {node} was superseded by a newer one")]
    CertificateSuperseded {
        /// The node.
        node: NodeId,
    },
    /// No pending partner request with that id.
    #[error("no pending request {id} (see passerelle-hub partner requests)")]
    UnknownPartnerRequest {
        /// The id asked for.
        id: String,
    },
    /// A directory entry the operator gave is not acceptable.
    #[error("directory entry refused: {why}")]
    BadDirectoryEntry {
        /// Every problem, with the option to fix.
        why: String,
    },
    /// No directory entry of the operator with that id.
    #[error("no directory entry {id} (see passerelle-hub directory list)")]
    UnknownActor {
        /// The id asked for.
        id: String,
    },
    /// Too many partner requests wait for the operator.
    #[error("{max} partner requests already wait: approve or refuse some (passerelle-hub partner requests)")]
    TooManyPartnerRequests {
        /// The maximum.
        max: usize,
    },
}
