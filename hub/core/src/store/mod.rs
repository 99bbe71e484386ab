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
//! | `observatory_meta` | `results_version` | a counter moved by every result or draft kept ([`Store::results_version`]) |
//! | `leases` | work name (`refresh`, `notices`) | the instance holding it and until when ([`Store::hold_lease`]) |
//!
//! The vault's trees, the observatory's drafts (`drafts`) and the
//! federation's trust records (`providers`, `claims`, `renewals`,
//! `serial_keys`) are listed in [`keyspace`].
//!
//! One process holds the store folder: [`Store::open`] takes `store.lock`
//! beside the folder first, and says [`StoreError::Locked`] when someone
//! else has it. With PostgreSQL ([`Store::open_configured`]) the folder
//! holds only that lock, and several hub instances, each with a folder of
//! its own, share the database (ARCHITECTURE.md, "Storage").

use std::path::Path;

use passerelle_protocol::codec;
use passerelle_store::{kv::Tree, sled, Db, Options, PgSettings, Program};

use crate::HubError;

mod history;
pub mod keyspace;
mod published;
mod records;

pub use history::{HistoryPart, Kept};
pub use keyspace::{
    FederationSpace, IdentitySpace, Keyspace, ObservatorySpace, SessionSpace, Space, VaultSpace,
};
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
    /// The database (sled: opened again after a failure), the write gate
    /// and the lock, shared by every copy.
    db: Db,
}

fn get<T: serde::de::DeserializeOwned>(tree: &Tree, key: &[u8]) -> Result<Option<T>, HubError> {
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
            db: Db::open_sled(path, Options::new(Program::Hub))?,
        })
    }

    /// Opens the store `hub.toml` names: sled in `path`, or the
    /// PostgreSQL schema of `[store]` (`path` then holds only the lock;
    /// `root`, the hub folder, is where `store.password_file` is read
    /// from when relative).
    ///
    /// # Errors
    /// As [`Store::open`]; for PostgreSQL, an unreadable password file or
    /// a database that cannot be used.
    pub fn open_configured(
        path: &Path,
        root: &Path,
        config: &passerelle_config::StoreConfig,
    ) -> Result<Self, StoreError> {
        use passerelle_config::store::Engine;
        match config.engine {
            Engine::Sled => Self::open(path),
            Engine::Postgres => {
                let password = match &config.password_file {
                    None => None,
                    Some(file) => {
                        let file = root.join(file);
                        let text = std::fs::read_to_string(&file)
                            .map_err(|error| StoreError::Io { path: file, error })?;
                        Some(text.lines().next().unwrap_or_default().to_string())
                    }
                };
                let settings = PgSettings {
                    url: config.url.clone().unwrap_or_default(),
                    password,
                    schema: config.schema.clone(),
                    connections: config.connections.get() as usize,
                };
                Ok(Self {
                    db: Db::open_postgres(path, Program::Hub, &settings)?,
                })
            }
        }
    }

    /// Whether other hub instances share this store (PostgreSQL): what
    /// this process keeps in memory from it may then be stale.
    pub fn is_shared(&self) -> bool {
        self.db.is_shared()
    }

    /// The engine's name (`sled`, `postgres`).
    pub fn engine_name(&self) -> &'static str {
        self.db.engine_name()
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
        self.db.writing()
    }

    /// A keyspace of the vault's or the observatory's.
    pub fn keyspace<V, E: keyspace::Encoding<V>>(&self, space: impl Space) -> Keyspace<V, E> {
        Keyspace::new(self.db.clone(), space)
    }

    /// Writes everything to disk.
    ///
    /// # Errors
    /// On a store failure.
    pub fn flush(&self) -> Result<(), HubError> {
        self.db.flush()?;
        Ok(())
    }

    /// The store folder.
    pub fn folder(&self) -> &Path {
        self.db.folder()
    }

    /// A tree of the store.
    fn tree(&self, name: &str) -> Result<Tree, StoreError> {
        self.db.tree(name)
    }

    /// The store's health: degraded while writes fail.
    pub fn health(&self) -> &passerelle_link::health::Health {
        self.db.health()
    }

    /// Tries a small durable write, with every other write held back, and
    /// opens the engine again when it failed and the disk has room again;
    /// marks [`Store::health`]. For the running hub's probe loop.
    pub fn probe(&self) {
        self.db.probe();
    }
}

// Backups read the store, and restores load it, through its handle.
passerelle_store::backup_through!(Store, db);
