//! Backups of a store and the files beside it, as one plain tar archive
//! (readable with `tar -tf`), taken while the service runs. Both binaries
//! use it; each store implements [`Snapshot`] and [`Staging`], so this
//! module never knows the storage engine.
//!
//! Consistency: the running process takes the snapshot itself, with every
//! store write held back ([`Snapshot::frozen`]) for as long as it takes to
//! copy the trees and to hard-link the sealed files (they are never
//! modified in place, so a link is a frozen copy). The archive is then
//! written from those copies with writes flowing again.
//!
//! | entry | what |
//! | --- | --- |
//! | `MANIFEST` | kind, version, time, counts (JSON text) |
//! | `store.dump` | every tree: name, then its key/value pairs ([`dump`]) |
//! | `files/…` | the sealed documents and other files, paths as in the folder |
//!
//! Restore is all or nothing: the archive is read whole into a staging
//! folder and checked ([`unpack`]); only then is the old store moved aside
//! (kept, named with the time) and the staged one put in place
//! ([`install`]).

use std::path::{Path, PathBuf};

use passerelle_protocol::UnixTime;

mod create;
pub mod dump;
mod restore;
mod tar;

pub use create::backup;
pub use restore::{install, unpack};

/// A store failure, as the store reported it.
pub type StoreFailure = Box<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong in a backup or a restore.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The store failed while being read or loaded.
    #[error("store: {0}")]
    Store(#[source] StoreFailure),
    /// A file or folder could not be read, written or moved.
    #[error("{path}: {source}", path = .path.display())]
    Io {
        /// File or folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Not enough free space for the archive; nothing was written.
    #[error(transparent)]
    Disk(#[from] crate::disk::DiskError),
    /// The dump could not be written.
    #[error("cannot write the dump: {0}")]
    WriteDump(#[source] std::io::Error),
    /// The archive could not be written.
    #[error("cannot write the backup: {0}")]
    WriteArchive(#[source] std::io::Error),
    /// A file's path does not fit in a tar header.
    #[error("path too long for the archive: {0}")]
    PathTooLong(String),
    /// A file grew or shrank while it was archived.
    #[error("{0} changed size while being archived")]
    ChangedSize(String),
    /// The dump does not start as a store dump.
    #[error("not a Passerelle store dump")]
    NotADump,
    /// The dump ends in the middle of something.
    #[error("backup is cut short in {0}")]
    CutShort(&'static str),
    /// The dump could not be read.
    #[error("backup unreadable in {0}")]
    Unreadable(&'static str),
    /// A length in the dump is beyond any record the store writes.
    #[error("backup damaged: a record of {len} bytes in {what}")]
    Oversized {
        /// What was being read.
        what: &'static str,
        /// The length found.
        len: usize,
    },
    /// The archive cannot be restored.
    #[error("{path}: {problem}", path = .path.display())]
    Archive {
        /// The archive.
        path: PathBuf,
        /// What is wrong with it.
        problem: ArchiveProblem,
    },
}

impl BackupError {
    /// Wraps a store's own error.
    pub fn store(e: impl Into<StoreFailure>) -> Self {
        Self::Store(e.into())
    }
}

/// What is wrong with an archive given to restore.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveProblem {
    /// It ends before its end marker.
    #[error("the archive is cut short")]
    CutShort,
    /// An entry ends before its announced size.
    #[error("the archive is cut short in {0}")]
    EntryCutShort(String),
    /// An entry's header does not say its size.
    #[error("damaged archive header for {0}")]
    Header(String),
    /// The MANIFEST does not decode.
    #[error("damaged MANIFEST: {0}")]
    Manifest(#[source] serde_json::Error),
    /// A backup of the other binary.
    #[error("this is a {found} backup, not a {expected} backup")]
    Kind {
        /// The kind the MANIFEST names.
        found: String,
        /// The kind expected.
        expected: String,
    },
    /// An entry a backup never writes.
    #[error("unexpected entry {0}")]
    UnexpectedEntry(String),
    /// A file path that would leave the folder.
    #[error("unsafe path {0}")]
    UnsafePath(String),
    /// No MANIFEST.
    #[error("no MANIFEST: not a Passerelle backup")]
    NoManifest,
    /// No store dump.
    #[error("no store.dump in the archive")]
    NoDump,
    /// A file the MANIFEST lists is not in the archive.
    #[error("{0} is listed but missing")]
    Missing(String),
}

/// A store's records, as [`Snapshot::records`] hands them out.
pub type Records<'a, S> = Box<
    dyn Iterator<
            Item = Result<(<S as Snapshot>::Bytes, <S as Snapshot>::Bytes), <S as Snapshot>::Error>,
        > + 'a,
>;

/// A store a backup reads: its trees and their records, with its writes
/// held back while they are copied.
pub trait Snapshot {
    /// The store's error.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Keys, values and names as the store hands them out.
    type Bytes: AsRef<[u8]>;
    /// The name of every tree.
    fn tree_names(&self) -> Vec<Self::Bytes>;
    /// Every record of a tree, in key order.
    ///
    /// # Errors
    /// On a store failure.
    fn records(&self, tree: &[u8]) -> Result<Records<'_, Self>, Self::Error>;
    /// Runs `f` with every write held back and everything written before
    /// on disk: a consistent snapshot.
    ///
    /// # Errors
    /// What `f` returns, or a store failure.
    fn frozen(&self, f: &mut dyn FnMut() -> Result<(), BackupError>) -> Result<(), BackupError>;
}

/// An empty store a restore loads a dump into.
pub trait Staging {
    /// The store's error.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Inserts one record into a tree (created on first use).
    ///
    /// # Errors
    /// On a store failure.
    fn insert(&self, tree: &[u8], key: &[u8], value: &[u8]) -> Result<(), Self::Error>;
    /// Writes everything to disk.
    ///
    /// # Errors
    /// On a store failure.
    fn flush(&self) -> Result<(), Self::Error>;
}

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// `node` or `hub`.
    pub kind: String,
    /// Software version that wrote it.
    pub version: String,
    /// When.
    pub created_at: UnixTime,
    /// Trees and their records.
    pub trees: Vec<(String, u64)>,
    /// Files (paths relative to the folder).
    pub files: Vec<String>,
}

impl Summary {
    /// What `backup` says once written; `keys` names the private keys
    /// left out unless included.
    pub fn written(&self, to: &Path, include_keys: bool, keys: &str) -> String {
        let records: u64 = self.trees.iter().map(|(_, n)| n).sum();
        format!(
            "backup written to {}: {} tree(s), {records} record(s), {} file(s){}",
            to.display(),
            self.trees.len(),
            self.files.len(),
            if include_keys {
                ", private keys included: keep it safe".to_string()
            } else {
                format!("; private keys not included: back up {keys} separately")
            }
        )
    }

    /// What `restore` says once done; `aside` is where the previous store
    /// went.
    pub fn restored(&self, aside: Option<&Path>) -> String {
        format!(
            "restored the backup of {} ({} file(s)); {}",
            crate::output::time(Some(self.created_at)),
            self.files.len(),
            match aside {
                Some(p) => format!("the previous store is kept in {}", p.display()),
                None => "there was no previous store".into(),
            }
        )
    }
}

/// What to archive besides the store: (name in the archive, file).
pub type Extra = Vec<(String, PathBuf)>;

/// Maps an IO error on `path` to [`BackupError::Io`], for `map_err`.
fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens a file for writing, owner-only.
fn create_private(path: &Path) -> Result<std::fs::File, BackupError> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))
}
