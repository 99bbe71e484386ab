//! An opened store: its [`Engine`], the gate every write holds, and the
//! lock file that says one process has it. The node's `Store` and the
//! hub's each wrap one; backups see it through [`Snapshot`] (to dump it
//! while serving) and [`Staging`] (to load a dump into a fresh one at
//! restore).

use std::{
    path::Path,
    sync::{Arc, RwLock, RwLockReadGuard},
    time::Duration,
};

use passerelle_link::{
    backup::{BackupError, Records, Snapshot, Staging},
    health::Health,
    lock::{LockError, LockFile},
};

use crate::{engine, Engine, Options, StoreError};

/// How long [`Handle::open`] waits for a handle of this process that is
/// still closing the store.
pub const CLOSING_PATIENCE: Duration = Duration::from_secs(5);

/// An opened store; clones share it. The store closes when the last
/// clone goes (or at [`Handle::close`]).
#[derive(Debug, Clone)]
pub struct Handle {
    /// The engine handle, opened again after a failure.
    engine: Arc<Engine>,
    /// Every write holds it shared; a backup holds it alone while it copies.
    gate: Arc<RwLock<()>>,
    /// Held for as long as any clone is alive (dropped after the engine).
    _lock: Arc<LockFile>,
}

impl Handle {
    /// Opens (or creates) the store in the folder `path`, taking
    /// `store.lock` beside it first. Fails when another process holds it;
    /// waits ([`CLOSING_PATIENCE`] at most) for a handle of this process
    /// that is still closing.
    ///
    /// # Errors
    /// [`StoreError::Locked`] when another process holds it; an engine
    /// error when the folder cannot be opened.
    pub fn open(path: &Path, options: Options) -> Result<Self, StoreError> {
        // sled keeps its own lock on its file `db` and lets it go in the
        // background once the last handle is dropped.
        let lock = passerelle_link::lock::lock_store(path, "db", CLOSING_PATIENCE).map_err(
            |e| match e {
                LockError::Held { .. } => StoreError::Locked {
                    path: path.to_path_buf(),
                    program: options.program,
                },
                io => StoreError::Lock(io),
            },
        )?;
        Ok(Self {
            engine: Arc::new(Engine::open(path, options)?),
            gate: Default::default(),
            _lock: Arc::new(lock),
        })
    }

    /// The engine, for what keeps it beyond a borrow (a keyspace).
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
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
    pub fn writing(&self) -> Result<RwLockReadGuard<'_, ()>, StoreError> {
        self.engine.room()?;
        Ok(self
            .gate
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Makes every write so far durable (bounded in time).
    ///
    /// # Errors
    /// On a store failure, or [`StoreError::Stalled`].
    pub fn flush(&self) -> Result<(), StoreError> {
        self.engine.flush()
    }

    /// The store folder.
    pub fn folder(&self) -> &Path {
        self.engine.path()
    }

    /// The sled handle in force.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] while the engine could not be opened
    /// again after a failure.
    pub fn db(&self) -> Result<sled::Db, StoreError> {
        self.engine.db()
    }

    /// A tree of the store (created on first use).
    ///
    /// # Errors
    /// On a store failure.
    pub fn tree(&self, name: &str) -> Result<sled::Tree, StoreError> {
        Ok(self.db()?.open_tree(name)?)
    }

    /// The store's health: degraded while writes fail.
    pub fn health(&self) -> &Health {
        self.engine.health()
    }

    /// Tries a small durable write, with every other write held back, and
    /// opens the engine again when it failed and the disk has room again;
    /// marks [`Handle::health`]. For a running program's probe loop.
    pub fn probe(&self) {
        let _all = self
            .gate
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.engine.probe();
    }

    /// Closes the store now when this is its last handle (otherwise the
    /// last one closes it when dropped), saying when the engine failed
    /// while closing; the failure is contained either way.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the engine failed while closing.
    pub fn close(self) -> Result<(), StoreError> {
        match Arc::try_unwrap(self.engine) {
            Ok(engine) => engine.close(),
            Err(_) => Ok(()),
        }
    }
}

impl Snapshot for Handle {
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

impl Staging for Handle {
    type Error = StoreError;

    fn insert(&self, tree: &[u8], key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.db()?.open_tree(tree)?.insert(key, value)?;
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.engine.flush()
    }
}

/// Implements [`Snapshot`] and [`Staging`] for a program's store type
/// through the [`Handle`] it holds in a field, so that backups and
/// restores take the store itself: `passerelle_store::backup_through!(Store, handle);`
/// in the store module.
#[macro_export]
macro_rules! backup_through {
    ($store:ty, $field:ident) => {
        impl $crate::__backup::Snapshot for $store {
            type Error = $crate::StoreError;
            type Bytes = $crate::kv::Bytes;

            fn tree_names(&self) -> Vec<Self::Bytes> {
                $crate::__backup::Snapshot::tree_names(&self.$field)
            }

            fn records(
                &self,
                tree: &[u8],
            ) -> Result<$crate::__backup::Records<'_, Self>, $crate::StoreError> {
                $crate::__backup::Snapshot::records(&self.$field, tree)
            }

            fn frozen(
                &self,
                f: &mut dyn FnMut() -> Result<(), $crate::__backup::BackupError>,
            ) -> Result<(), $crate::__backup::BackupError> {
                $crate::__backup::Snapshot::frozen(&self.$field, f)
            }
        }

        impl $crate::__backup::Staging for $store {
            type Error = $crate::StoreError;

            fn insert(
                &self,
                tree: &[u8],
                key: &[u8],
                value: &[u8],
            ) -> Result<(), $crate::StoreError> {
                $crate::__backup::Staging::insert(&self.$field, tree, key, value)
            }

            fn flush(&self) -> Result<(), $crate::StoreError> {
                $crate::__backup::Staging::flush(&self.$field)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Program;

    #[test]
    fn a_store_dropped_opens_again_at_once_and_a_held_one_is_locked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        for program in [Program::Hub, Program::Node] {
            for i in 0..50u64 {
                // sled lets its own lock go in the background: each open
                // must still succeed right after the previous handle is
                // dropped.
                let store = Handle::open(&path, Options::new(program)).unwrap();
                if i == 0 {
                    assert!(matches!(
                        Handle::open(&path, Options::new(program)),
                        Err(StoreError::Locked { program: p, .. }) if p == program
                    ));
                }
                {
                    let _w = store.writing().unwrap();
                    store
                        .tree("t")
                        .unwrap()
                        .insert(b"i", &i.to_be_bytes())
                        .unwrap();
                }
                store.flush().unwrap();
                assert_eq!(
                    store.tree("t").unwrap().get(b"i").unwrap().unwrap(),
                    i.to_be_bytes()
                );
                // A write that leaves the engine work in the background.
                store
                    .db()
                    .unwrap()
                    .insert(b"bulk", vec![i as u8; 300_000])
                    .unwrap();
            }
        }
    }

    #[test]
    fn a_dump_loads_into_a_staging_store_record_for_record() {
        let dir = tempfile::tempdir().unwrap();
        let options = Options::new(Program::Node);
        let a = Handle::open(&dir.path().join("a"), options).unwrap();
        a.tree("t1").unwrap().insert(b"k1", b"v1").unwrap();
        a.db().unwrap().insert(b"root", b"r").unwrap();
        // The engine's own tree stays out of backups.
        a.probe();
        assert!(a.health().degraded().is_none());
        let mut bytes = Vec::new();
        let counts = passerelle_link::backup::dump::dump(&a, &mut bytes).unwrap();
        assert!(counts.contains(&("t1".to_string(), 1)), "{counts:?}");
        assert!(!counts.iter().any(|(t, _)| t == "probe"), "{counts:?}");
        let b = Handle::open(&dir.path().join("b"), options).unwrap();
        passerelle_link::backup::dump::load(&b, &mut bytes.as_slice()).unwrap();
        assert_eq!(b.tree("t1").unwrap().get(b"k1").unwrap().unwrap(), b"v1");
        assert_eq!(b.db().unwrap().get(b"root").unwrap().unwrap(), b"r");
    }

    #[test]
    fn the_last_handle_closes_the_store_and_a_clone_leaves_it_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        let options = Options {
            program: Program::Hub,
            low_space: false,
        };
        let store = Handle::open(&path, options).unwrap();
        store.tree("t").unwrap().insert(b"k", b"v").unwrap();
        let other = store.clone();
        store.close().unwrap();
        assert_eq!(other.tree("t").unwrap().get(b"k").unwrap().unwrap(), b"v");
        other.close().unwrap();
        let again = Handle::open(&path, options).unwrap();
        assert_eq!(again.tree("t").unwrap().get(b"k").unwrap().unwrap(), b"v");
    }
}
