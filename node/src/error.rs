//! The node's error type.

use std::path::PathBuf;

/// Everything that can go wrong in a node command.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The folder given with `--dir` is not usable.
    #[error("{path}: {why}", path = .path.display())]
    Dir {
        /// The folder.
        path: PathBuf,
        /// What is wrong and how to fix it.
        why: String,
    },
    /// Configuration.
    #[error(transparent)]
    Config(#[from] passerelle_config::ConfigError),
    /// Certificates and keys.
    #[error(transparent)]
    Cert(#[from] passerelle_certs::CertError),
    /// The enrollment token.
    #[error(transparent)]
    Token(#[from] passerelle_protocol::enroll::TokenFormatError),
    /// The hub refused enrollment.
    #[error("the hub refused enrollment: {0}")]
    EnrollRefused(String),
    /// The hub could not be reached.
    #[error("cannot reach the hub at {addr}: {why}\nhint: check that the hub runs (passerelle-hub serve), that the address and port are right, and that this site allows outbound UDP to port {port}")]
    Unreachable {
        /// Address tried.
        addr: String,
        /// Port, for the firewall hint.
        port: u16,
        /// What happened.
        why: String,
    },
    /// Moving bytes failed.
    #[error(transparent)]
    Link(#[from] passerelle_link::LinkError),
    /// The store (held by another process, failing, or damaged).
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// Not enough free space for a write; nothing was written.
    #[error(transparent)]
    Disk(#[from] passerelle_link::disk::DiskError),
    /// A backup or a restore failed.
    #[error(transparent)]
    Backup(#[from] passerelle_link::backup::BackupError),
    /// An operation was refused, with the reason.
    #[error("{0}")]
    Refused(String),
    /// A request broke a rule; typed, so the console words it in French.
    #[error(transparent)]
    Rule(#[from] crate::refusal::Refusal),
    /// A file could not be imported; nothing was written.
    #[error("import refused: {0}")]
    Import(#[from] crate::data::import::ImportError),
    /// A codec error on stored data.
    #[error(transparent)]
    Codec(#[from] passerelle_protocol::codec::CodecError),
    /// The running node reported an error over the admin socket.
    #[error(transparent)]
    Remote(RemoteError),
    /// Local IO.
    #[error("{path}: {source}", path = .path.display())]
    Io {
        /// File or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Maps an IO error on `path` to [`NodeError::Io`], for `map_err`.
pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> NodeError + '_ {
    move |source| NodeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What kind of failure a running node reported over the admin socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FailureKind {
    /// The node folder.
    Dir,
    /// The configuration.
    Config,
    /// Certificates and keys.
    Cert,
    /// Enrollment (token or the hub's refusal).
    Enrollment,
    /// The hub could not be reached, or moving bytes failed.
    Link,
    /// The store.
    Store,
    /// The disk: not enough free space for a write.
    Disk,
    /// A backup or a restore.
    Backup,
    /// The operation breaks a rule.
    Refused,
    /// A file could not be imported; nothing was written.
    Import,
    /// Stored data that does not decode.
    Codec,
    /// Local files.
    Io,
}

/// An error a running node reported over the admin socket: its kind, and
/// its description with the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{message}")]
pub struct RemoteError {
    /// Where it failed.
    pub kind: FailureKind,
    /// What the node said.
    pub message: String,
}

impl From<NodeError> for RemoteError {
    fn from(e: NodeError) -> Self {
        let kind = match &e {
            NodeError::Remote(r) => return r.clone(),
            NodeError::Dir { .. } => FailureKind::Dir,
            NodeError::Config(_) => FailureKind::Config,
            NodeError::Cert(_) => FailureKind::Cert,
            NodeError::Token(_) | NodeError::EnrollRefused(_) => FailureKind::Enrollment,
            NodeError::Unreachable { .. } | NodeError::Link(_) => FailureKind::Link,
            NodeError::Store(_) => FailureKind::Store,
            NodeError::Disk(_) => FailureKind::Disk,
            NodeError::Backup(_) => FailureKind::Backup,
            NodeError::Refused(_) | NodeError::Rule(_) => FailureKind::Refused,
            NodeError::Import(_) => FailureKind::Import,
            NodeError::Codec(_) => FailureKind::Codec,
            NodeError::Io { .. } => FailureKind::Io,
        };
        Self {
            kind,
            message: e.to_string(),
        }
    }
}
