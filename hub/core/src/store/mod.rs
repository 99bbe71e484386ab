//! The hub's store. Everything the hub persists goes through here, and this
//! module is the only one of the hub that knows the storage engine (sled,
//! kept safe on a failing disk by [`passerelle_store`]): the other areas
//! get typed [`Keyspace`]s, backups the
//! [`Snapshot`](passerelle_link::backup::Snapshot) and
//! [`Staging`](passerelle_link::backup::Staging) interfaces.
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `tokens` | SHA-256 of the token secret | [`passerelle_protocol::enroll::TokenRecord`] |
//! | `nodes` | node id | [`NodeRecord`] |
//! | `serials` | certificate serial (hex) | [`SerialRecord`] |
//! | `results` | indicator id, time, sequence | a published indicator with its provenance |
//! | `accounts` | e-mail | a partner professional's account (argon2id hash) |
//! | `directory` | node id, or `actor:ID` | the node's entry in the directory of actors, or one the operator added for an actor without a node ([`crate::actors`]) |
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

use std::path::Path;

use passerelle_protocol::codec;
use passerelle_store::{sled, Handle, Options, Program};

use crate::HubError;

mod history;
pub mod keyspace;
mod published;
mod records;

pub use history::{HistoryPart, Kept};
pub use keyspace::{FederationSpace, IdentitySpace, Keyspace, ObservatorySpace, Space, VaultSpace};
pub use passerelle_store::StoreError;
pub use published::History;
pub use records::{AuditAnchor, NodeRecord, SerialRecord};

impl From<sled::Error> for HubError {
    fn from(e: sled::Error) -> Self {
        Self::Store(e.into())
    }
}

/// The opened store.
#[derive(Debug, Clone)]
pub struct Store {
    /// The engine (opened again after a failure), the write gate and the
    /// lock, shared by every copy.
    handle: Handle,
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
        Ok(Self {
            handle: Handle::open(path, Options::new(Program::Hub))?,
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
        self.handle.writing()
    }

    /// A keyspace of the vault's or the observatory's.
    pub fn keyspace<V, E: keyspace::Encoding<V>>(&self, space: impl Space) -> Keyspace<V, E> {
        Keyspace::new(self.handle.engine().clone(), space)
    }

    /// Writes everything to disk.
    ///
    /// # Errors
    /// On a store failure.
    pub fn flush(&self) -> Result<(), HubError> {
        self.handle.flush()?;
        Ok(())
    }

    /// The store folder.
    pub fn folder(&self) -> &Path {
        self.handle.folder()
    }

    /// The handle in force.
    fn db(&self) -> Result<sled::Db, StoreError> {
        self.handle.db()
    }

    /// A tree of the store.
    fn tree(&self, name: &str) -> Result<sled::Tree, StoreError> {
        self.handle.tree(name)
    }

    /// The store's health: degraded while writes fail.
    pub fn health(&self) -> &passerelle_link::health::Health {
        self.handle.health()
    }

    /// Tries a small durable write, with every other write held back, and
    /// opens the engine again when it failed and the disk has room again;
    /// marks [`Store::health`]. For the running hub's probe loop.
    pub fn probe(&self) {
        self.handle.probe();
    }
}

// Backups read the store, and restores load it, through its handle.
passerelle_store::backup_through!(Store, handle);
