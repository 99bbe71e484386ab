//! The sled handle behind a store, and what makes sled safe to run on a
//! disk that fills up or fails. The node's store and the hub's both stand
//! on it:
//!
//! - **Reopen.** sled 0.34 keeps the first IO error of a background write
//!   as a "global error" and fails every later operation with it until
//!   the database is opened again. The probe ([`Engine::probe`]) notices
//!   it, and once the disk has room again closes the handle and opens a
//!   new one (sled recovers the log as after a crash: committed data
//!   stays, the failed write is gone), so a running node or hub recovers
//!   without a restart.
//! - **Bounded flush.** A background write that fails in sled's thread
//!   pool sets the global error without waking a thread waiting for that
//!   write to be durable (`pagecache/logger.rs`, `exit_reservation`), which
//!   can leave a flush waiting forever. [`Engine::flush`] waits on a
//!   helper thread and pokes the engine with another flush every
//!   [`POKE`] (a flush that sees the global error wakes every waiter); it
//!   gives up with [`StoreError::Stalled`] after [`FLUSH_PATIENCE`].
//! - **No panic.** `Drop for Log` ends with `file.sync_all().unwrap()`
//!   (`pagecache/logger.rs`), so an fsync error while closing panics
//!   (and a panic there during another unwind aborts the process). The
//!   last handle is only ever dropped here, through
//!   [`passerelle_link::health::drop_contained`], which catches the panic
//!   and logs it; the data was already made durable by the flush that
//!   every commit does, so nothing is lost by it.

use std::{
    path::{Path, PathBuf},
    sync::{Mutex, RwLock},
    time::{Duration, Instant},
};

use passerelle_link::{disk, health::Health};
use tracing::{error, info, warn};

use crate::{Options, StoreError};

/// How long a flush may take before the store is said stalled.
pub const FLUSH_PATIENCE: Duration = Duration::from_secs(10);
/// How often a waiting flush pokes the engine.
const POKE: Duration = Duration::from_millis(500);
/// Key of the probe's write, in its own tree.
const PROBE_TREE: &str = "probe";

/// Whether a tree is the engine's own (left out of backups and checks).
pub(crate) fn is_internal(name: &[u8]) -> bool {
    name == PROBE_TREE.as_bytes()
}

/// The current sled handle of a store, replaced when the engine must be
/// opened again.
#[derive(Debug)]
pub struct Engine {
    path: PathBuf,
    options: Options,
    db: RwLock<Option<sled::Db>>,
    health: Health,
    /// Serialises reopenings.
    reopening: Mutex<()>,
}

impl Engine {
    /// Opens (or creates) the engine in the store folder `path`. The
    /// caller holds the store's lock (see [`crate::Handle::open`]).
    ///
    /// # Errors
    /// [`StoreError::Disk`] when the disk is too full to open it; the
    /// engine's error, or [`StoreError::Unavailable`] when it panicked.
    pub fn open(path: &Path, options: Options) -> Result<Self, StoreError> {
        Ok(Self {
            path: path.to_path_buf(),
            options,
            db: RwLock::new(Some(open_db(path, options)?)),
            health: Health::default(),
            reopening: Mutex::new(()),
        })
    }

    /// The store folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The store's health: degraded while writes fail.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// The handle in force.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] while the engine could not be opened
    /// again after a failure.
    pub fn db(&self) -> Result<sled::Db, StoreError> {
        self.db
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or_else(|| StoreError::Unavailable {
                path: self.path.clone(),
                why: self
                    .health
                    .degraded()
                    .map(|d| d.reason)
                    .unwrap_or_else(|| "being opened again".into()),
            })
    }

    /// Makes every write so far durable, within [`FLUSH_PATIENCE`]; marks
    /// the health from the outcome.
    ///
    /// # Errors
    /// The engine's error, or [`StoreError::Stalled`].
    pub fn flush(&self) -> Result<(), StoreError> {
        let r = self.db().and_then(|db| flush_bounded(&db, &self.path));
        self.note(&r);
        r
    }

    /// Marks the health from the outcome of a write.
    pub fn note<T>(&self, r: &Result<T, StoreError>) {
        match r {
            // Healthy only with the reserve free: a flush with nothing to
            // write succeeds on a full disk too.
            Ok(_) if disk::ensure_space(&self.path, "write to the store", 0).is_ok() => {
                self.health.mark_healthy()
            }
            Ok(_) => {}
            Err(e) if e.is_storage_failure() => self.health.mark_degraded(e.to_string()),
            Err(_) => {}
        }
    }

    /// Checks that the disk keeps its reserve before a write; marks the
    /// store degraded when it does not.
    ///
    /// # Errors
    /// [`StoreError::Disk`].
    pub fn room(&self) -> Result<(), StoreError> {
        disk::ensure_space(&self.path, "write to the store", 0)
            .map(drop)
            .map_err(|e| {
                self.health.mark_degraded(e.to_string());
                StoreError::Disk(e)
            })
    }

    /// Tries a small durable write; when it fails and the disk has room,
    /// opens the engine again and tries once more. Marks the health.
    /// Callers hold the store's write gate, so no write is in flight.
    pub fn probe(&self) {
        // Below the reserve, no write at all: the engine must not meet
        // the end of the disk.
        if let Err(e) = disk::ensure_space(&self.path, "keep the store writable", 0) {
            self.health.mark_degraded(e.to_string());
            return;
        }
        if self.try_write().is_ok() {
            self.health.mark_healthy();
            return;
        }
        match self.reopen() {
            Ok(()) => match self.try_write() {
                Ok(()) => self.health.mark_healthy(),
                Err(e) => self.health.mark_degraded(e.to_string()),
            },
            Err(e) => self.health.mark_degraded(e.to_string()),
        }
    }

    fn try_write(&self) -> Result<(), StoreError> {
        let db = self.db()?;
        db.open_tree(PROBE_TREE)?
            .insert(b"probe", &passerelle_link::now().to_be_bytes())?;
        flush_bounded(&db, &self.path)
    }

    /// Closes the handle and opens the store again.
    fn reopen(&self) -> Result<(), StoreError> {
        let _one = self
            .reopening
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let old = self
            .db
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(old) = old {
            close(old, &self.path);
        }
        // sled lets its file lock go once the last handle (a reader's
        // copy, a stalled flush) is gone.
        let free = passerelle_link::lock::wait_until_free(&self.path.join("db"), FLUSH_PATIENCE)
            .unwrap_or(false);
        if !free {
            return Err(StoreError::Unavailable {
                path: self.path.clone(),
                why: "the failed store handle is still held; retrying".into(),
            });
        }
        let db = open_db(&self.path, self.options)?;
        info!(store = %self.path.display(), "store opened again after a write failure");
        *self
            .db
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(db);
        Ok(())
    }
}

impl Engine {
    /// Closes the handle now, the engine's panics contained.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] saying what the engine did while closing
    /// (the data committed before is durable all the same).
    pub fn close(mut self) -> Result<(), StoreError> {
        match self.let_go() {
            None => Ok(()),
            Some(panic) => Err(StoreError::Unavailable {
                path: self.path.clone(),
                why: format!("the storage engine failed while closing (contained): {panic}"),
            }),
        }
    }

    /// Closes the handle in force, if any (see [`close`]).
    fn let_go(&mut self) -> Option<String> {
        let db = self
            .db
            .get_mut()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        db.and_then(|db| close(db, &self.path))
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.let_go();
    }
}

fn open_db(path: &Path, options: Options) -> Result<sled::Db, StoreError> {
    let mode = if options.low_space {
        sled::Mode::LowSpace
    } else {
        sled::Mode::HighThroughput
    };
    let opened = passerelle_link::health::call_contained(|| {
        sled::Config::new().path(path).mode(mode).open()
    });
    match opened {
        Ok(Err(sled::Error::Io(e))) if disk::is_out_of_space(&e) => {
            let free = disk::space(path).map(|s| s.free).unwrap_or(0);
            Err(StoreError::Disk(disk::DiskError::NoSpace {
                folder: path.to_path_buf(),
                what: "open the store",
                needed: disk::RESERVE,
                free,
            }))
        }
        Ok(r) => Ok(r?),
        Err(panic) => Err(StoreError::Unavailable {
            path: path.to_path_buf(),
            why: format!("the storage engine failed while opening: {panic}"),
        }),
    }
}

/// Flushes and lets the handle go, the engine's panics contained;
/// returns the panic's message when there was one.
fn close(db: sled::Db, path: &Path) -> Option<String> {
    if let Err(error) = flush_bounded(&db, path) {
        warn!(%error, store = %path.display(), "store not flushed when closed");
    }
    let panic = passerelle_link::health::drop_contained(db);
    if let Some(panic) = &panic {
        error!(%panic, store = %path.display(), "the storage engine panicked while closing (an fsync failed); data committed before is durable; the process carries on");
    }
    panic
}

/// `db.flush()` on a helper thread, poked until it answers or
/// [`FLUSH_PATIENCE`] has passed.
fn flush_bounded(db: &sled::Db, path: &Path) -> Result<(), StoreError> {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = db.clone();
    std::thread::Builder::new()
        .name("store-flush".into())
        .spawn(move || {
            // The handle is let go of before answering, inside the
            // containment: the caller may drop its own right after, and
            // the last one to go runs sled's closing fsync.
            let r = passerelle_link::health::call_contained(move || {
                let r = handle.flush();
                drop(handle);
                r
            });
            let _ = tx.send(r);
        })
        .map_err(|error| StoreError::Io {
            path: path.to_path_buf(),
            error,
        })?;
    let deadline = Instant::now() + FLUSH_PATIENCE;
    loop {
        match rx.recv_timeout(POKE) {
            Ok(Ok(r)) => return r.map(drop).map_err(Into::into),
            Ok(Err(panic)) => {
                return Err(StoreError::Unavailable {
                    path: path.to_path_buf(),
                    why: format!("the storage engine failed while writing: {panic}"),
                })
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(StoreError::Stalled {
                    path: path.to_path_buf(),
                })
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if Instant::now() >= deadline {
                    return Err(StoreError::Stalled {
                        path: path.to_path_buf(),
                    });
                }
                // A flush that finds the engine's error wakes the waiter.
                let poke = db.clone();
                let _ = std::thread::Builder::new()
                    .name("store-poke".into())
                    .spawn(move || {
                        if let Err(panic) = passerelle_link::health::call_contained(move || {
                            let _ = poke.flush();
                            drop(poke);
                        }) {
                            error!(%panic, "the storage engine panicked (contained)");
                        }
                    });
            }
        }
    }
}
