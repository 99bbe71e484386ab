//! The hub's error type.

use std::path::PathBuf;

/// Everything that can go wrong in a hub command.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
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
    /// An operation was refused: the rule broken, typed.
    #[error(transparent)]
    Refused(#[from] crate::refusal::Refusal),
    /// A node was asked but gave no usable reply.
    #[error("node {node}: {why}")]
    Node {
        /// The node.
        node: String,
        /// What happened.
        why: String,
    },
    /// A node did not reply in time.
    #[error("node {node}: no reply within {} s", .after.as_secs_f32())]
    TimedOut {
        /// The node.
        node: String,
        /// How long the hub waited.
        after: std::time::Duration,
    },
    /// A node's link fell silent and the hub closed it: the node is
    /// taken for dead.
    #[error("node {node}: not connected (nothing heard on its link for {:.1} s)", .silent.as_secs_f32())]
    Dead {
        /// The node.
        node: String,
        /// How long its link was silent.
        silent: std::time::Duration,
    },
    /// The node speaks an older protocol than the query needs.
    #[error("node {node} speaks protocol {has}; this needs {needs}: update passerelle-node there")]
    Outdated {
        /// The node.
        node: String,
        /// Its version.
        has: u16,
        /// The version needed.
        needs: u16,
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
    /// A codec error on stored data.
    #[error(transparent)]
    Codec(#[from] passerelle_protocol::codec::CodecError),
    /// The running hub reported an error over the admin socket.
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

/// What kind of failure, other than a refusal, a running hub reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FailureKind {
    /// The hub folder.
    Dir,
    /// The configuration.
    Config,
    /// Certificates or keys.
    Cert,
    /// A node gave no usable reply, timed out, is dead or outdated.
    Node,
    /// Moving bytes.
    Link,
    /// The store.
    Store,
    /// The disk: not enough free space for a write.
    Disk,
    /// A backup or a restore.
    Backup,
    /// Stored data that does not decode.
    Codec,
    /// Local files.
    Io,
}

/// An error a running hub reported over the admin socket: a typed
/// refusal, or a failure of a named kind with its description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum RemoteError {
    /// The hub refused: the rule broken.
    #[error(transparent)]
    Refused(crate::refusal::Refusal),
    /// The operation failed.
    #[error("{message}")]
    Failed {
        /// Where it failed.
        kind: FailureKind,
        /// The hub's description, with the fix.
        message: String,
    },
}

impl From<HubError> for RemoteError {
    fn from(e: HubError) -> Self {
        let kind = match &e {
            HubError::Refused(r) => return Self::Refused(r.clone()),
            HubError::Remote(r) => return r.clone(),
            HubError::Dir { .. } => FailureKind::Dir,
            HubError::Config(_) => FailureKind::Config,
            HubError::Cert(_) => FailureKind::Cert,
            HubError::Node { .. }
            | HubError::TimedOut { .. }
            | HubError::Dead { .. }
            | HubError::Outdated { .. } => FailureKind::Node,
            HubError::Link(_) => FailureKind::Link,
            HubError::Store(_) => FailureKind::Store,
            HubError::Disk(_) => FailureKind::Disk,
            HubError::Backup(_) => FailureKind::Backup,
            HubError::Codec(_) => FailureKind::Codec,
            HubError::Io { .. } => FailureKind::Io,
        };
        Self::Failed {
            kind,
            message: e.to_string(),
        }
    }
}
