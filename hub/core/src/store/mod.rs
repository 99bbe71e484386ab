//! The hub's store. Everything the hub persists goes through here, and this
//! module is the only one that knows the storage engine (sled): the other
//! areas get typed [`Keyspace`]s, backups the [`Snapshot`] and [`Staging`]
//! interfaces.
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `tokens` | SHA-256 of the token secret | [`passerelle_protocol::enroll::TokenRecord`] |
//! | `nodes` | node id | [`NodeRecord`] |
//! | `serials` | certificate serial (hex) | [`SerialRecord`] |
//! | `results` | indicator id, time, sequence | a published indicator with its provenance |
//! | `accounts` | e-mail | a partner professional's account (argon2id hash) |
//! | `directory` | node id | the node's entry in the directory of actors |
//! | `resources` | id | a published document's description (the PDF is in `resources/`) |
//! | `serial_issuers` | certificate serial (hex) | SHA-256 of the CA certificate that issued it |
//! | `audit_anchors` | node id | [`AuditAnchor`]: the last head of the node's audit chain seen |
//!
//! The vault's trees, the observatory's drafts (`drafts`) and the
//! federation's trust records (`providers`, `claims`, `renewals`,
//! `serial_keys`) are listed in [`keyspace`].
//!
//! One process holds the store: [`Store::open`] takes `store.lock` beside
//! the folder first, and says [`StoreError::Locked`] when someone else has
//! it.

use std::{path::Path, path::PathBuf, time::Duration};

use passerelle_link::{
    backup::{BackupError, Records, Snapshot, Staging},
    lock::{LockError, LockFile},
};
use passerelle_protocol::codec;

use crate::HubError;

mod engine;
pub mod keyspace;
mod published;
mod records;

pub use keyspace::{FederationSpace, Keyspace, ObservatorySpace, Space, VaultSpace};
pub use published::History;
pub use records::{AuditAnchor, NodeRecord, SerialRecord};

/// How long [`Store::open`] waits for a handle of this process that is
/// still closing the store.
const CLOSING_PATIENCE: Duration = Duration::from_secs(5);

/// Everything that can go wrong in the store itself.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the store.
    #[error("{path}: the store is in use by another process that does not answer on its admin socket", path = .path.display())]
    Locked {
        /// The store folder.
        path: PathBuf,
    },
    /// The store's lock file is unusable.
    #[error(transparent)]
    Lock(LockError),
    /// The storage engine failed.
    /// (Not a `source`: the text says it all, so a chain printed by
    /// `{:#}` does not repeat it.)
    #[error("store: {}", engine_text(.0))]
    Engine(sled::Error),
    /// The engine could not be opened again after a failure (the running
    /// hub keeps trying).
    #[error("{path}: the store is unavailable: {why}", path = .path.display())]
    Unavailable {
        /// The store folder.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// A write was not confirmed in time (a failing or full disk).
    #[error("{path}: the store did not confirm a write within {secs} s: the disk is failing or full; free space on it (df -h) and check the system log; a running hub recovers by itself", path = .path.display(), secs = engine::FLUSH_PATIENCE.as_secs())]
    Stalled {
        /// The store folder.
        path: PathBuf,
    },
    /// The disk is too full for the engine to work (even to open).
    #[error(transparent)]
    Disk(passerelle_link::disk::DiskError),
    /// Local IO around the engine.
    #[error("{path}: {error}", path = .path.display())]
    Io {
        /// The store folder.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A stored record does not decode.
    #[error(transparent)]
    Codec(#[from] codec::CodecError),
    /// A stored value has the wrong size.
    #[error("store damaged: {what} has {len} bytes")]
    Damaged {
        /// What was expected.
        what: &'static str,
        /// The size found.
        len: usize,
    },
}

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        Self::Engine(e)
    }
}

impl StoreError {
    /// Whether the error is the disk's or the engine's (so the store is
    /// degraded), not a damaged record.
    pub fn is_storage_failure(&self) -> bool {
        matches!(
            self,
            Self::Engine(sled::Error::Io(_))
                | Self::Unavailable { .. }
                | Self::Stalled { .. }
                | Self::Disk(_)
                | Self::Io { .. }
        )
    }
}

/// The engine's error in plain words: a full disk says so, with the fix.
fn engine_text(e: &sled::Error) -> String {
    match e {
        sled::Error::Io(io) if passerelle_link::disk::is_out_of_space(io) => {
            "the disk is full (no space left on device); nothing more is written until there is room: free space on the hub's disk (df -h); a running hub recovers by itself".into()
        }
        sled::Error::Io(io) => format!("the disk failed: {io}; check the system log (dmesg); a running hub retries by itself"),
        other => other.to_string(),
    }
}

impl From<sled::Error> for HubError {
    fn from(e: sled::Error) -> Self {
        Self::Store(e.into())
    }
}

/// The opened store.
#[derive(Debug, Clone)]
pub struct Store {
    /// The engine handle, opened again after a failure.
    engine: std::sync::Arc<engine::Engine>,
    /// Every write holds it shared; a backup holds it alone while it copies.
    gate: std::sync::Arc<std::sync::RwLock<()>>,
    /// Held for as long as any copy of the store is alive.
    _lock: std::sync::Arc<LockFile>,
}

fn get<T: serde::de::DeserializeOwned>(
    tree: &sled::Tree,
    key: &[u8],
) -> Result<Option<T>, HubError> {
    tree.get(key)?
        .map(|v| codec::decode(&v))
        .transpose()
        .map_err(Into::into)
}

impl Store {
    /// Opens (or creates) the store. Fails when another process holds it;
    /// waits (a few seconds at most) for a handle of this process that is
    /// still closing.
    ///
    /// # Errors
    /// [`StoreError::Locked`] when another process holds it; an engine
    /// error when the folder cannot be opened.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        // sled keeps its own lock on its file `db` and lets it go in the
        // background once the last handle is dropped.
        let lock = passerelle_link::lock::lock_store(path, "db", CLOSING_PATIENCE).map_err(
            |e| match e {
                LockError::Held { .. } => StoreError::Locked {
                    path: path.to_path_buf(),
                },
                io => StoreError::Lock(io),
            },
        )?;
        Ok(Self {
            engine: std::sync::Arc::new(engine::Engine::open(path)?),
            gate: Default::default(),
            _lock: std::sync::Arc::new(lock),
        })
    }

    /// Held by every write, so that a backup sees no write half done.
    ///
    /// Refuses the write while the disk has less than
    /// [`passerelle_link::disk::RESERVE`] free, before the engine meets
    /// the end of the disk (sled 0.34 cannot write again after that until
    /// it is opened again), and marks the store degraded.
    ///
    /// # Errors
    /// [`StoreError::Disk`] when the disk is (nearly) full.
    pub fn writing(&self) -> Result<std::sync::RwLockReadGuard<'_, ()>, StoreError> {
        self.engine.room()?;
        Ok(self
            .gate
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// A keyspace of the vault's or the observatory's.
    pub fn keyspace<V, E: keyspace::Encoding<V>>(&self, space: impl Space) -> Keyspace<V, E> {
        Keyspace::new(self.engine.clone(), space)
    }

    /// Writes everything to disk.
    ///
    /// # Errors
    /// On a store failure.
    pub fn flush(&self) -> Result<(), HubError> {
        self.engine.flush()?;
        Ok(())
    }

    /// The store folder.
    pub fn folder(&self) -> &Path {
        self.engine.path()
    }

    /// The handle in force.
    fn db(&self) -> Result<sled::Db, StoreError> {
        self.engine.db()
    }

    /// A tree of the store.
    fn tree(&self, name: &str) -> Result<sled::Tree, StoreError> {
        Ok(self.db()?.open_tree(name)?)
    }

    /// The store's health: degraded while writes fail.
    pub fn health(&self) -> &passerelle_link::health::Health {
        &self.engine.health
    }

    /// Tries a small durable write, with every other write held back, and
    /// opens the engine again when it failed and the disk has room again;
    /// marks [`Store::health`]. For the running hub's probe loop.
    pub fn probe(&self) {
        let _all = self
            .gate
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.engine.probe();
    }
}

impl Snapshot for Store {
    type Error = StoreError;
    type Bytes = sled::IVec;

    fn tree_names(&self) -> Vec<sled::IVec> {
        // Unavailable: `frozen`, called first, says why.
        self.db()
            .map(|db| db.tree_names())
            .unwrap_or_default()
            .into_iter()
            .filter(|n| !engine::is_internal(n))
            .collect()
    }

    fn records(&self, tree: &[u8]) -> Result<Records<'_, Self>, StoreError> {
        let tree = self.db()?.open_tree(tree)?;
        Ok(Box::new(tree.iter().map(|kv| kv.map_err(Into::into))))
    }

    fn frozen(&self, f: &mut dyn FnMut() -> Result<(), BackupError>) -> Result<(), BackupError> {
        let _all = self
            .gate
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.engine.flush().map_err(BackupError::store)?;
        f()
    }
}

impl Staging for Store {
    type Error = StoreError;

    fn insert(&self, tree: &[u8], key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.db()?.open_tree(tree)?.insert(key, value)?;
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.engine.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_dropped_opens_again_at_once_and_a_held_one_is_locked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let node = passerelle_protocol::ids::NodeId::new("caf-976").unwrap();
        for i in 0..50u64 {
            // sled lets its own lock go in the background: each open must
            // still succeed right after the previous handle is dropped.
            let store = Store::open(&path).unwrap();
            if i == 0 {
                assert!(matches!(Store::open(&path), Err(StoreError::Locked { .. })));
            }
            store
                .put_audit_anchor(
                    &node,
                    &AuditAnchor {
                        records: i,
                        hash: [0; 32],
                        seen_at: i,
                        broken: None,
                    },
                )
                .unwrap();
            assert_eq!(store.audit_anchor(&node).unwrap().unwrap().records, i);
            // A write that leaves the engine work in the background.
            store
                .db()
                .unwrap()
                .insert(b"bulk", vec![i as u8; 300_000])
                .unwrap();
        }
    }
}
