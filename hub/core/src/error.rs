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
    /// An operation was refused, with the reason.
    #[error("{0}")]
    Refused(String),
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
    /// Local IO.
    #[error("{path}: {source}", path = .path.display())]
    Io {
        /// File or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}
