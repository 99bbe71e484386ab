//! The tamper-evident access log: a hash chain.
//!
//! Each record carries the hash of the one before it, and its own hash
//! covers every field and that link. Editing a record breaks its own hash;
//! recomputing that hash breaks the next record's link; removing a record
//! breaks the sequence. [`verify`] walks a chain and names the first broken
//! record. Pure: the hub and the node store records and call these.

use serde::{Deserialize, Serialize};

use crate::{codec, hex, sign::sha256, UnixTime};

mod hub_head;

pub use hub_head::{check_hub_head, HubHead, HubHeadVerdict, KeptHead};

/// The link before the first record.
pub const GENESIS: [u8; 32] = [0; 32];

/// Who acted. Kept in the chain as the text it always was (`person`,
/// `professional:<login>@<node>`, `node:<id>`, `hub`, `operator:<name>`),
/// so records written before the type existed read and hash the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// The person concerned, in their own vault.
    Person,
    /// A professional of an institution, under the person's consent.
    Professional {
        /// The professional's login.
        account: String,
        /// Their institution's node id.
        institution: String,
    },
    /// A node (an institution's system, e.g. redeeming a link code).
    Node(String),
    /// The hub itself.
    Hub,
    /// An operator at a node's or the hub's command line.
    Operator(String),
    /// Text this version does not know (written by a newer one), kept as is.
    Other(String),
}

impl From<&crate::vault::Requester> for Actor {
    /// Who asked for a document, as the audit chain names them.
    fn from(requester: &crate::vault::Requester) -> Self {
        match requester {
            crate::vault::Requester::Person => Self::Person,
            crate::vault::Requester::Professional {
                institution,
                account,
                ..
            } => Self::Professional {
                account: account.clone(),
                institution: institution.to_string(),
            },
        }
    }
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Person => f.write_str("person"),
            Self::Professional {
                account,
                institution,
            } => write!(f, "professional:{account}@{institution}"),
            Self::Node(id) => write!(f, "node:{id}"),
            Self::Hub => f.write_str("hub"),
            Self::Operator(name) => write!(f, "operator:{name}"),
            Self::Other(text) => f.write_str(text),
        }
    }
}

impl Actor {
    /// Reads the text form; anything unknown is kept as [`Actor::Other`].
    pub fn parse(text: &str) -> Self {
        if text == "person" {
            return Self::Person;
        }
        if text == "hub" {
            return Self::Hub;
        }
        if let Some(rest) = text.strip_prefix("professional:") {
            // The login may hold an '@'; the node id never does.
            if let Some((account, institution)) = rest.rsplit_once('@') {
                return Self::Professional {
                    account: account.to_string(),
                    institution: institution.to_string(),
                };
            }
        }
        if let Some(id) = text.strip_prefix("node:") {
            return Self::Node(id.to_string());
        }
        if let Some(name) = text.strip_prefix("operator:") {
            return Self::Operator(name.to_string());
        }
        Self::Other(text.to_string())
    }
}

/// What was done. Kept in the chain as its text name, like [`Actor`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Documents listed.
    List,
    /// Listing impossible (institution unreachable, outdated…), at the hub.
    ListFailed,
    /// Listing refused, at the node.
    ListRefused,
    /// A document opened.
    Download,
    /// A document refused or impossible to open.
    DownloadRefused,
    /// A consent given.
    ConsentGrant,
    /// A consent withdrawn.
    ConsentRevoke,
    /// A verifiable copy issued.
    Duplicate,
    /// A document uploaded by the person.
    Upload,
    /// An upload deleted.
    Delete,
    /// A record linked to the person's vault.
    Link,
    /// A vault account created.
    AccountCreate,
    /// A password changed with a reset code.
    PasswordReset,
    /// The vault exported.
    Export,
    /// A reset code handed out by a professional.
    ResetCodeIssued,
    /// A reset code refused to a professional.
    ResetCodeRefused,
    /// A document added at a node.
    DocumentAdd,
    /// A document removed at a node.
    DocumentRemove,
    /// A vault account deleted by its holder (or for inactivity).
    AccountDelete,
    /// A link between a vault account and an institution's record ended.
    Unlink,
    /// The written part of a programme's report saved by a partner.
    ReportWritten,
    /// A dataset file imported at a node (integration API or watched folder).
    BatchImport,
    /// A dataset file refused at a node (integration API or watched folder).
    ImportRefused,
    /// A request of the integration API refused to a known token (outside
    /// its scope, or a deposit for a person not linked).
    ApiRefused,
    /// A pending batch validated at a node by a second person.
    BatchValidate,
    /// A pending batch rejected at a node by a second person.
    BatchReject,
    /// A batch in force withdrawn at a node, the ones before it back in
    /// force.
    BatchRollback,
    /// An agent's account created at a node (its console).
    AgentAdd,
    /// An agent's account given a new first password at a node.
    AgentReset,
    /// An agent's account removed at a node.
    AgentRemove,
    /// An integration API token made at a node.
    TokenAdd,
    /// An integration API token removed at a node.
    TokenRemove,
    /// Text this version does not know (written by a newer one), kept as is.
    Other(String),
}

const ACTIONS: &[(Action, &str)] = &[
    (Action::List, "list"),
    (Action::ListFailed, "list_failed"),
    (Action::ListRefused, "list_refused"),
    (Action::Download, "download"),
    (Action::DownloadRefused, "download_refused"),
    (Action::ConsentGrant, "consent_grant"),
    (Action::ConsentRevoke, "consent_revoke"),
    (Action::Duplicate, "duplicate"),
    (Action::Upload, "upload"),
    (Action::Delete, "delete"),
    (Action::Link, "link"),
    (Action::AccountCreate, "account_create"),
    (Action::PasswordReset, "password_reset"),
    (Action::Export, "export"),
    (Action::ResetCodeIssued, "reset_code_issued"),
    (Action::ResetCodeRefused, "reset_code_refused"),
    (Action::DocumentAdd, "document_add"),
    (Action::DocumentRemove, "document_remove"),
    (Action::AccountDelete, "account_delete"),
    (Action::Unlink, "unlink"),
    (Action::ReportWritten, "report_written"),
    (Action::BatchImport, "batch_import"),
    (Action::ImportRefused, "import_refused"),
    (Action::ApiRefused, "api_refused"),
    (Action::BatchValidate, "batch_validate"),
    (Action::BatchReject, "batch_reject"),
    (Action::BatchRollback, "batch_rollback"),
    (Action::AgentAdd, "agent_add"),
    (Action::AgentReset, "agent_reset"),
    (Action::AgentRemove, "agent_remove"),
    (Action::TokenAdd, "token_add"),
    (Action::TokenRemove, "token_remove"),
];

impl Action {
    /// The name written in the chain.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Other(text) => text,
            known => ACTIONS
                .iter()
                .find(|(a, _)| a == known)
                .map_or("", |(_, name)| name),
        }
    }

    /// Reads a name; anything unknown is kept as [`Action::Other`].
    pub fn parse(text: &str) -> Self {
        ACTIONS
            .iter()
            .find(|(_, name)| *name == text)
            .map_or_else(|| Self::Other(text.to_string()), |(a, _)| a.clone())
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! as_text {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_string())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d).map(|t| Self::parse(&t))
            }
        }
    };
}
as_text!(Actor);
as_text!(Action);

/// What a record says happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Who acted.
    pub actor: Actor,
    /// What was done.
    pub action: Action,
    /// The person concerned (hub person id or node pseudonym), if any.
    pub person: Option<String>,
    /// What was touched: a document, a consent, a duplicate code.
    pub subject: String,
    /// The procedure it was for, when there is one.
    pub procedure: Option<String>,
    /// Anything else worth keeping (a refusal reason).
    pub detail: String,
}

/// One record of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Position, from 0, without gaps.
    pub seq: u64,
    /// When it was recorded.
    pub at: UnixTime,
    /// What happened.
    pub event: Event,
    /// Hash of the previous record ([`GENESIS`] for the first).
    pub prev: [u8; 32],
    /// Hash of this record's fields and `prev`.
    pub hash: [u8; 32],
}

fn digest(seq: u64, at: UnixTime, event: &Event, prev: &[u8; 32]) -> [u8; 32] {
    let body = codec::encode(&(seq, at, event, prev)).expect("an audit event encodes");
    sha256(&[b"passerelle-audit-v1".as_slice(), &body].concat())
}

impl Record {
    /// The record that follows `prev` (or starts a chain).
    pub fn next(prev: Option<&Record>, at: UnixTime, event: Event) -> Self {
        let (seq, link) = prev.map_or((0, GENESIS), |p| (p.seq + 1, p.hash));
        Self {
            seq,
            at,
            hash: digest(seq, at, &event, &link),
            event,
            prev: link,
        }
    }

    /// Whether the record's own hash matches its fields.
    pub fn intact(&self) -> bool {
        digest(self.seq, self.at, &self.event, &self.prev) == self.hash
    }
}

/// Where and why a chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("audit chain broken at record {seq}: {why}")]
pub struct Broken {
    /// The first record that does not check.
    pub seq: u64,
    /// Why.
    pub why: String,
}

/// What a node says of its chain for the hub's anchor: records, hash of
/// the last, and the hash of the record the hub asked about.
pub type HeadCheck = (u64, [u8; 32], Option<[u8; 32]>);

/// A chain that checks: how many records, and the hash of the last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// Records checked.
    pub records: u64,
    /// Hash of the last record (hex), or of the genesis.
    pub hash: String,
}

/// Checks a chain one record at a time, in order, holding only the last
/// link: a chain of any length is checked in constant memory.
#[derive(Debug, Clone)]
pub struct Verifier {
    expected_seq: u64,
    link: [u8; 32],
}

impl Default for Verifier {
    fn default() -> Self {
        Self {
            expected_seq: 0,
            link: GENESIS,
        }
    }
}

impl Verifier {
    /// The next record of the chain.
    ///
    /// # Errors
    /// [`Broken`] when it is not the record expected, does not link to the
    /// one before it, or was edited.
    pub fn push(&mut self, r: &Record) -> Result<(), Broken> {
        let expected_seq = self.expected_seq;
        if r.seq != expected_seq {
            return Err(Broken {
                seq: expected_seq,
                why: format!("record {expected_seq} is missing (next found is {})", r.seq),
            });
        }
        if r.prev != self.link {
            return Err(Broken {
                seq: r.seq,
                why: "it does not link to the record before it (a record was edited or removed)"
                    .into(),
            });
        }
        if !r.intact() {
            return Err(Broken {
                seq: r.seq,
                why: "its contents do not match its hash (the record was edited)".into(),
            });
        }
        self.link = r.hash;
        self.expected_seq += 1;
        Ok(())
    }

    /// The next record as read from a store: `Err(seq)` when it does not
    /// decode, which is where the chain breaks.
    ///
    /// # Errors
    /// As [`Verifier::push`], or [`Broken`] naming the undecodable record.
    pub fn push_read(&mut self, r: Result<Record, u64>) -> Result<(), Broken> {
        match r {
            Ok(r) => self.push(&r),
            Err(seq) => Err(Broken {
                seq,
                why: "it does not decode (the record was edited)".into(),
            }),
        }
    }

    /// The head of the records pushed so far.
    pub fn head(&self) -> Head {
        Head {
            records: self.expected_seq,
            hash: hex::encode(&self.link),
        }
    }
}

/// Checks a whole chain, in order.
///
/// # Errors
/// [`Broken`] naming the first record that was edited, removed or moved.
pub fn verify(records: impl IntoIterator<Item = Record>) -> Result<Head, Broken> {
    let mut v = Verifier::default();
    for r in records {
        v.push(&r)?;
    }
    Ok(v.head())
}

/// Checks a chain as a store reads it, in order and one record at a time
/// (constant memory): a record that does not decode is where the chain
/// breaks; the store's own failure (`E`) ends the check.
///
/// # Errors
/// The store's failure; a broken chain is `Ok(Err(..))`, naming the first
/// bad record.
pub fn verify_read<E>(
    read: impl IntoIterator<Item = Result<Read, E>>,
) -> Result<Result<Head, Broken>, E> {
    let mut v = Verifier::default();
    for item in read {
        let (seq, record, _) = item?;
        if let Err(broken) = v.push_read(record.map_err(|()| seq)) {
            return Ok(Err(broken));
        }
    }
    Ok(Ok(v.head()))
}

/// A record as read from a store: its sequence number, the record (`Err`
/// when its bytes do not decode) and its stored size in bytes.
pub type Read = (u64, Result<Record, ()>, usize);

/// At most this many records in one [`Page`].
pub const PAGE_RECORDS: usize = 2_000;

/// At most about this many encoded bytes of records in one [`Page`] (one
/// record more may go over), well under an admin frame.
pub const PAGE_BYTES: usize = 1 << 20;

/// Part of a chain, for listings over the admin socket: the records from
/// a sequence number on, as many as fit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// The records that decode, in order.
    pub records: Vec<Record>,
    /// Sequence numbers of records in this span that do not decode
    /// (`audit verify` says where the chain breaks).
    pub unreadable: Vec<u64>,
    /// Where the next page starts; `None` after the last record.
    pub next: Option<u64>,
}

impl Page {
    /// Every record of a chain, page after page from the first, each page
    /// fetched by `fetch(from)` (over whatever transport lists them). A
    /// page must move on, or the listing stops there rather than loop.
    ///
    /// # Errors
    /// The first error `fetch` returns.
    pub async fn all<E, F, Fut>(mut fetch: F) -> Result<Vec<Record>, E>
    where
        F: FnMut(u64) -> Fut,
        Fut: std::future::Future<Output = Result<Self, E>>,
    {
        let mut records = Vec::new();
        let mut from = Some(0);
        while let Some(at) = from {
            let page = fetch(at).await?;
            from = page.next.filter(|next| *next > at);
            records.extend(page.records);
        }
        Ok(records)
    }

    /// Gathers a page from records read in order (sequence number, then
    /// the record or `Err` when it does not decode, with its encoded
    /// size), stopping at [`PAGE_RECORDS`] records or [`PAGE_BYTES`].
    pub fn gather<E>(read: impl IntoIterator<Item = Result<Read, E>>) -> Result<Self, E> {
        let mut page = Self::default();
        let mut bytes = 0usize;
        for item in read {
            let (seq, record, size) = item?;
            if page.records.len() + page.unreadable.len() >= PAGE_RECORDS || bytes >= PAGE_BYTES {
                page.next = Some(seq);
                break;
            }
            bytes += size;
            match record {
                Ok(r) => page.records.push(r),
                Err(()) => page.unreadable.push(seq),
            }
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests;
