//! The hub's storage interface: ordered trees of byte keys and values,
//! with the few operations the hub's store uses (read, write, remove,
//! compare-and-swap, walks in key order from either end, ids), over two
//! engines: sled in the hub folder ([`Db::Sled`], the default, one
//! process) or a PostgreSQL schema ([`Db::Postgres`], shared by several
//! hub instances; see [`crate::pg`]).
//!
//! Both give the same answers: keys ordered byte by byte, a
//! compare-and-swap that of two concurrent writers lets one win, ids
//! unique and increasing. The store tests run on both
//! (`PASSERELLE_TEST_PG`).

use std::path::Path;

use passerelle_link::{
    backup::{BackupError, Records, Snapshot, Staging},
    health::Health,
};

use crate::{
    pg::{prefix_end, Pg, PgIter, PgSettings, PgTree},
    Handle, Options, Program, StoreError,
};

/// Keys and values as the store hands them out.
pub type Bytes = sled::IVec;

/// A store's database.
#[derive(Debug, Clone)]
pub enum Db {
    /// sled, in the store folder (one process).
    Sled(Handle),
    /// A PostgreSQL schema (several processes).
    Postgres(Pg),
}

/// The gate a write holds (see [`Db::writing`]).
pub type WriteGate<'a> = std::sync::RwLockReadGuard<'a, ()>;

impl Db {
    /// Opens the store folder `path` with sled.
    ///
    /// # Errors
    /// As [`Handle::open`].
    pub fn open_sled(path: &Path, options: Options) -> Result<Self, StoreError> {
        Ok(Self::Sled(Handle::open(path, options)?))
    }

    /// Opens a PostgreSQL store. `path`, the store folder, is created if
    /// needed and locked like sled's (one process per hub folder; other
    /// instances run from folders of their own).
    ///
    /// # Errors
    /// [`StoreError::Locked`] when another process holds the folder;
    /// [`StoreError::Unavailable`] when the database cannot be used.
    pub fn open_postgres(
        path: &Path,
        program: Program,
        settings: &PgSettings,
    ) -> Result<Self, StoreError> {
        std::fs::create_dir_all(path).map_err(|error| StoreError::Io {
            path: path.to_path_buf(),
            error,
        })?;
        let lock = passerelle_link::lock::lock_store(path, "db", crate::CLOSING_PATIENCE).map_err(
            |e| match e {
                passerelle_link::lock::LockError::Held { .. } => StoreError::Locked {
                    path: path.to_path_buf(),
                    program,
                },
                io => StoreError::Lock(io),
            },
        )?;
        Ok(Self::Postgres(Pg::open(path, lock, settings)?))
    }

    /// Whether other processes may share this store (so what one process
    /// keeps in memory may be stale: see the hub's store).
    pub fn is_shared(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }

    /// The engine's name, for logs and `/metrics`.
    pub fn engine_name(&self) -> &'static str {
        match self {
            Self::Sled(_) => "sled",
            Self::Postgres(_) => "postgres",
        }
    }

    /// A tree of the store (created on first use).
    ///
    /// # Errors
    /// On a store failure.
    pub fn tree(&self, name: &str) -> Result<Tree, StoreError> {
        Ok(match self {
            Self::Sled(h) => Tree::Sled(h.tree(name)?),
            Self::Postgres(pg) => Tree::Postgres(pg.tree(name)),
        })
    }

    /// A new id, greater than every id given before.
    ///
    /// # Errors
    /// On a store failure.
    pub fn generate_id(&self) -> Result<u64, StoreError> {
        match self {
            Self::Sled(h) => Ok(h.db()?.generate_id()?),
            Self::Postgres(pg) => pg.generate_id(),
        }
    }

    /// Held by every write, so that a backup sees no write half done
    /// (sled: refused while the disk keeps less than its reserve).
    ///
    /// # Errors
    /// [`StoreError::Disk`] when the disk is (nearly) full.
    pub fn writing(&self) -> Result<WriteGate<'_>, StoreError> {
        match self {
            Self::Sled(h) => h.writing(),
            Self::Postgres(pg) => Ok(pg.writing()),
        }
    }

    /// Makes every write so far durable (PostgreSQL: each write already
    /// is, once it returns).
    ///
    /// # Errors
    /// On a store failure.
    pub fn flush(&self) -> Result<(), StoreError> {
        match self {
            Self::Sled(h) => h.flush(),
            Self::Postgres(_) => Ok(()),
        }
    }

    /// The store folder.
    pub fn folder(&self) -> &Path {
        match self {
            Self::Sled(h) => h.folder(),
            Self::Postgres(pg) => pg.folder(),
        }
    }

    /// The store's health: degraded while writes fail.
    pub fn health(&self) -> &Health {
        match self {
            Self::Sled(h) => h.health(),
            Self::Postgres(pg) => pg.health(),
        }
    }

    /// Tries the store and marks [`Db::health`] (sled: opens the engine
    /// again after a failure).
    pub fn probe(&self) {
        match self {
            Self::Sled(h) => h.probe(),
            Self::Postgres(pg) => pg.probe(),
        }
    }

    /// Closes the store now when this is its last handle.
    ///
    /// # Errors
    /// When the engine failed while closing.
    pub fn close(self) -> Result<(), StoreError> {
        match self {
            Self::Sled(h) => h.close(),
            Self::Postgres(_) => Ok(()),
        }
    }
}

/// One tree of a store.
#[derive(Clone)]
pub enum Tree {
    /// In sled.
    Sled(sled::Tree),
    /// In PostgreSQL.
    Postgres(PgTree),
}

impl Tree {
    /// The value under `key`.
    ///
    /// # Errors
    /// On a store failure.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>, StoreError> {
        match self {
            Self::Sled(t) => Ok(t.get(key)?),
            Self::Postgres(t) => t.get(key.as_ref()),
        }
    }

    /// Writes `value` under `key`.
    ///
    /// # Errors
    /// On a store failure.
    pub fn insert(&self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Result<(), StoreError> {
        match self {
            Self::Sled(t) => t
                .insert(key.as_ref(), value.as_ref())
                .map(drop)
                .map_err(Into::into),
            Self::Postgres(t) => t.insert(key.as_ref(), value.as_ref()),
        }
    }

    /// Removes the value under `key`; what was there.
    ///
    /// # Errors
    /// On a store failure.
    pub fn remove(&self, key: impl AsRef<[u8]>) -> Result<Option<Bytes>, StoreError> {
        match self {
            Self::Sled(t) => Ok(t.remove(key)?),
            Self::Postgres(t) => t.remove(key.as_ref()),
        }
    }

    /// Replaces `old` (`None`: nothing) by `new` (`None`: removes) in one
    /// step; whether it did (the value was `old`).
    ///
    /// # Errors
    /// On a store failure.
    pub fn compare_and_swap(
        &self,
        key: impl AsRef<[u8]>,
        old: Option<&[u8]>,
        new: Option<&[u8]>,
    ) -> Result<bool, StoreError> {
        match self {
            Self::Sled(t) => Ok(t.compare_and_swap(key, old, new)?.is_ok()),
            Self::Postgres(t) => t.compare_and_swap(key.as_ref(), old, new),
        }
    }

    /// Changes the value under `key` with `f` (given the value there,
    /// returning the new one, `None` to remove), retried until no other
    /// writer came in between; the value before.
    ///
    /// # Errors
    /// On a store failure.
    pub fn fetch_and_update(
        &self,
        key: impl AsRef<[u8]>,
        mut f: impl FnMut(Option<&[u8]>) -> Option<Vec<u8>>,
    ) -> Result<Option<Bytes>, StoreError> {
        let key = key.as_ref();
        match self {
            Self::Sled(t) => Ok(t.fetch_and_update(key, &mut f)?),
            Self::Postgres(_) => loop {
                let old = self.get(key)?;
                let new = f(old.as_deref());
                if self.compare_and_swap(key, old.as_deref(), new.as_deref())? {
                    return Ok(old);
                }
            },
        }
    }

    /// Every record, in key order.
    pub fn iter(&self) -> Iter {
        match self {
            Self::Sled(t) => Iter::Sled(t.iter()),
            Self::Postgres(t) => Iter::Postgres(t.range(Vec::new(), None)),
        }
    }

    /// The records from `key` on (included), in key order.
    pub fn range_from(&self, key: impl AsRef<[u8]>) -> Iter {
        match self {
            Self::Sled(t) => Iter::Sled(t.range(key.as_ref()..)),
            Self::Postgres(t) => Iter::Postgres(t.range(key.as_ref().to_vec(), None)),
        }
    }

    /// The records whose key starts with `prefix`, in key order.
    pub fn scan_prefix(&self, prefix: impl AsRef<[u8]>) -> Iter {
        let prefix = prefix.as_ref();
        match self {
            Self::Sled(t) => Iter::Sled(t.scan_prefix(prefix)),
            Self::Postgres(t) => Iter::Postgres(t.range(prefix.to_vec(), prefix_end(prefix))),
        }
    }

    /// The record with the greatest key.
    ///
    /// # Errors
    /// On a store failure.
    pub fn last(&self) -> Result<Option<(Bytes, Bytes)>, StoreError> {
        match self {
            Self::Sled(t) => Ok(t.last()?),
            Self::Postgres(_) => self.iter().next_back().transpose(),
        }
    }
}

/// Records of a tree, in key order or reversed.
pub enum Iter {
    /// sled's.
    Sled(sled::Iter),
    /// PostgreSQL's, page by page.
    Postgres(PgIter),
}

impl Iter {
    /// The values only.
    pub fn values(self) -> impl DoubleEndedIterator<Item = Result<Bytes, StoreError>> {
        self.map(|kv| kv.map(|(_, v)| v))
    }

    /// The keys only.
    pub fn keys(self) -> impl DoubleEndedIterator<Item = Result<Bytes, StoreError>> {
        self.map(|kv| kv.map(|(k, _)| k))
    }
}

impl Iterator for Iter {
    type Item = Result<(Bytes, Bytes), StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Self::Sled(i) => i.next().map(|kv| kv.map_err(Into::into)),
            Self::Postgres(i) => i.next(),
        }
    }
}

impl DoubleEndedIterator for Iter {
    fn next_back(&mut self) -> Option<Self::Item> {
        match self {
            Self::Sled(i) => i.next_back().map(|kv| kv.map_err(Into::into)),
            Self::Postgres(i) => i.next_back(),
        }
    }
}

impl Snapshot for Db {
    type Error = StoreError;
    type Bytes = Bytes;

    fn tree_names(&self) -> Vec<Bytes> {
        match self {
            Self::Sled(h) => Snapshot::tree_names(h),
            // Unavailable: the first `records` says why.
            Self::Postgres(pg) => pg
                .tree_names()
                .unwrap_or_default()
                .into_iter()
                .map(|n| Bytes::from(n.as_bytes()))
                .collect(),
        }
    }

    fn records(&self, tree: &[u8]) -> Result<Records<'_, Self>, StoreError> {
        match self {
            Self::Sled(h) => Snapshot::records(h, tree),
            Self::Postgres(pg) => {
                let name = std::str::from_utf8(tree).map_err(|_| StoreError::Damaged {
                    what: "a tree name in UTF-8",
                    len: tree.len(),
                })?;
                Ok(Box::new(Tree::Postgres(pg.tree(name)).iter()))
            }
        }
    }

    fn frozen(&self, f: &mut dyn FnMut() -> Result<(), BackupError>) -> Result<(), BackupError> {
        match self {
            Self::Sled(h) => Snapshot::frozen(h, f),
            Self::Postgres(pg) => {
                let _all = pg.frozen();
                f()
            }
        }
    }
}

impl Staging for Db {
    type Error = StoreError;

    fn insert(&self, tree: &[u8], key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        match self {
            Self::Sled(h) => Staging::insert(h, tree, key, value),
            Self::Postgres(_) => {
                let name = String::from_utf8_lossy(tree);
                self.tree(&name)?.insert(key, value)
            }
        }
    }

    fn flush(&self) -> Result<(), StoreError> {
        Db::flush(self)
    }
}

#[cfg(test)]
#[path = "kv_tests.rs"]
mod tests;
