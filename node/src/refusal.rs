//! The rules an operator's or an agent's request can break, typed: the
//! command line prints them in English with the fix, the console words
//! them in French ([`crate::console::words`]). Nothing matches them by
//! their text.

use std::path::PathBuf;

use passerelle_protocol::UnixTime;

/// A request refused by a rule; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The dataset is not declared in `node.toml`.
    #[error("unknown dataset {dataset:?}; node.toml declares: {}", declared_list(.declared))]
    UnknownDataset {
        /// The name given.
        dataset: String,
        /// The datasets declared.
        declared: Vec<String>,
    },
    /// Nobody is named as acting.
    #[error("say who {doing} with --by NAME")]
    NoActor {
        /// What is done ("imports", "validates"…).
        doing: &'static str,
    },
    /// No batch has this id.
    #[error("no batch {0} (see passerelle-node batches)")]
    UnknownBatch(u64),
    /// The batch is not waiting for a decision.
    #[error("batch {0} is not waiting for validation")]
    NotPending(u64),
    /// Whoever imported a batch cannot decide on it.
    #[error("batch {batch} was imported by {by}; another person must validate or reject it")]
    OwnBatch {
        /// The batch.
        batch: u64,
        /// Who imported it.
        by: String,
    },
    /// No batch of the dataset is in force.
    #[error("no batch of {0} is in force: nothing to roll back (see passerelle-node batches)")]
    NothingInForce(String),
    /// A person's id here is empty, too long or has control characters.
    #[error("--person {0:?}: give the institution's id for the person (1 to 64 characters, no control characters)")]
    BadLocalId(String),
    /// Not a category code.
    #[error("{0}")]
    UnknownCategory(String),
    /// The file to deposit is empty.
    #[error("{}: the file is empty", .0.display())]
    EmptyFile(PathBuf),
    /// The file to deposit is too large.
    #[error("{}: {size} bytes is over the limit of {max} bytes", .path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// The file to deposit is not a PDF, JPEG or PNG by its content.
    #[error("{}: not a PDF, JPEG or PNG file (judged by its content, not its name); convert it to PDF first", .0.display())]
    NotADocument(PathBuf),
    /// No document has this id.
    #[error("no document {0} (see passerelle-node document list)")]
    UnknownDocument(String),
    /// The record is linked already.
    #[error("record {local_id} is already linked to a vault account (since {})", passerelle_link::output::time(Some(*.since)))]
    AlreadyLinked {
        /// The record.
        local_id: String,
        /// Since when.
        since: UnixTime,
    },
    /// The record is linked to another vault account.
    #[error("record {local_id} is already linked to another vault account (since {})", passerelle_link::output::time(Some(*.since)))]
    LinkedElsewhere {
        /// The record.
        local_id: String,
        /// Since when.
        since: UnixTime,
    },
    /// The vault account is linked to another record.
    #[error("this vault account is already linked to record {0}")]
    AccountLinkedTo(String),
    /// Linking asks the hub, and the node is not running.
    #[error(
        "linking asks the hub: start the node first (passerelle-node serve), then run link again"
    )]
    NeedsRunningNode,
    /// The hub is not connected now.
    #[error(
        "the node is not connected to the hub now; see passerelle-node status, then try again"
    )]
    NotConnected,
    /// The hub refused a link code, with its reason.
    #[error("the hub refused the code: {0}")]
    CodeRefused(String),
    /// The hub answered something else than asked (another version).
    #[error("unexpected reply from the hub")]
    UnexpectedReply,
    /// A login outside the allowed form.
    #[error("login {0:?}: use 2 to 64 lower-case letters, digits, '.', '-' or '_'")]
    BadLogin(String),
    /// An agent's name is empty.
    #[error("give the agent's name (--name \"Prénom Nom\")")]
    EmptyName,
    /// No agent has this login.
    #[error("no agent {0} (see passerelle-node agent list)")]
    UnknownAgent(String),
    /// The login is taken.
    #[error("agent {0} exists already")]
    AgentExists(String),
    /// An agent needs a role.
    #[error("give at least one role: --role data|validator|counter|admin")]
    NoRole,
    /// Not a role's code.
    #[error("unknown role {0:?}; use data, validator, counter or admin")]
    UnknownRole(String),
}

fn declared_list(names: &[String]) -> String {
    if names.is_empty() {
        "none (declare datasets under [[datasets]])".to_string()
    } else {
        names.join(", ")
    }
}
