//! Advisory file locks (`flock`), so that a store is held by one process at
//! a time and "held by someone else" is a typed answer, not an error text.
//!
//! A store module takes a [`LockFile`] of its own beside the store folder
//! before it opens the storage engine, and keeps it for as long as the
//! store is open: the lock is released when the last handle is dropped,
//! synchronously. [`wait_until_free`] waits for a lock someone else holds on
//! a file to go, for an engine that releases its own lock in the background.
//!
//! This module must not know any storage engine: callers name the files.

use std::{
    fs::File,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

/// Why a lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another open file (another process, or another handle of this one)
    /// holds it.
    #[error("{path}: held by another process", path = .path.display())]
    Held {
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file could not be opened or locked.
    #[error("{path}: {source}", path = .path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// An exclusive advisory lock on a file, held until dropped.
#[derive(Debug)]
pub struct LockFile {
    /// Closing the file releases the lock.
    _file: File,
}

impl LockFile {
    /// Takes the lock on `path` (created owner-only if missing) without
    /// waiting.
    ///
    /// # Errors
    /// [`LockError::Held`] when another open file holds it;
    /// [`LockError::Io`] when the file cannot be opened or locked.
    pub fn try_acquire(path: &Path) -> Result<Self, LockError> {
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|source| LockError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        match try_lock(&file) {
            Ok(true) => Ok(Self { _file: file }),
            Ok(false) => Err(LockError::Held {
                path: path.to_path_buf(),
            }),
            Err(source) => Err(LockError::Io {
                path: path.to_path_buf(),
                source,
            }),
        }
    }
}

/// Takes the lock of a store folder, `<store>.lock` beside it, then waits
/// (for at most `patience`) until the engine's own lock on `engine_file`
/// (a file inside the folder) is free. While we hold our lock no other
/// process opens the store, so an engine lock still held can only be a
/// handle of this process that is still closing in the background.
///
/// # Errors
/// [`LockError::Held`] when another process holds the store (our lock, or
/// the engine's beyond `patience`); [`LockError::Io`] when a lock file
/// cannot be opened or locked.
pub fn lock_store(
    store: &Path,
    engine_file: &str,
    patience: Duration,
) -> Result<LockFile, LockError> {
    let ours = LockFile::try_acquire(&store.with_extension("lock"))?;
    let engine = store.join(engine_file);
    match wait_until_free(&engine, patience) {
        Ok(true) => Ok(ours),
        Ok(false) => Err(LockError::Held { path: engine }),
        Err(source) => Err(LockError::Io {
            path: engine,
            source,
        }),
    }
}

/// `Ok(false)` when another open file holds the lock.
fn try_lock(file: &File) -> std::io::Result<bool> {
    use rustix::fs::{flock, FlockOperation};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Waits, for at most `patience`, until nobody holds a lock on `path` (an
/// absent file is free). Returns whether it is free; the probe's own lock
/// is released before returning.
///
/// # Errors
/// When the file exists but cannot be opened or locked.
pub fn wait_until_free(path: &Path, patience: Duration) -> std::io::Result<bool> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(e),
    };
    let deadline = Instant::now() + patience;
    let mut pause = Duration::from_millis(1);
    loop {
        if try_lock(&file)? {
            // Dropping the probe's file releases its lock at once.
            return Ok(true);
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(false);
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_typed_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.lock");
        let first = LockFile::try_acquire(&path).unwrap();
        assert!(matches!(
            LockFile::try_acquire(&path),
            Err(LockError::Held { .. })
        ));
        assert!(!wait_until_free(&path, Duration::from_millis(30)).unwrap());
        drop(first);
        assert!(wait_until_free(&path, Duration::ZERO).unwrap());
        LockFile::try_acquire(&path).unwrap();
    }

    #[test]
    fn a_store_lock_waits_for_the_engine_and_refuses_a_second_holder() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        std::fs::create_dir(&store).unwrap();
        let engine = LockFile::try_acquire(&store.join("db")).unwrap();
        let released = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            drop(engine);
        });
        let held = lock_store(&store, "db", Duration::from_secs(5)).unwrap();
        released.join().unwrap();
        assert!(dir.path().join("store.lock").exists());
        assert!(matches!(
            lock_store(&store, "db", Duration::ZERO),
            Err(LockError::Held { .. })
        ));
        drop(held);
        lock_store(&store, "db", Duration::ZERO).unwrap();
    }

    #[test]
    fn a_missing_file_is_free() {
        let dir = tempfile::tempdir().unwrap();
        assert!(wait_until_free(&dir.path().join("none"), Duration::ZERO).unwrap());
    }
}
