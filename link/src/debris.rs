//! Debris of interrupted writes: temporary files (`.partial`, `.tmp`) and
//! sealed files no record points to, left by a process killed mid-write.
//! Finding, counting and removing them; which names are debris, and which
//! sealed files have a record, is the caller's rule.
//!
//! Two guards keep a write in progress safe from a sweep: the writer holds
//! its paths in an [`InProgress`] registry for as long as it writes, and a
//! periodic sweep leaves files younger than a minimum age (a file being
//! written is touched at every write).

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex,
    },
    time::{Duration, SystemTime},
};

use serde::{Deserialize, Serialize};

/// Files younger than this are left alone by a periodic sweep (the start
/// of a process sweeps everything not in progress).
pub const MIN_AGE: Duration = Duration::from_secs(60);

/// How often a running node or hub sweeps.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(600);

/// One file of debris.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Found {
    /// Where it is.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
}

/// The debris of a folder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Debris {
    /// Each file.
    pub files: Vec<Found>,
}

impl Debris {
    /// How many files.
    pub fn count(&self) -> u64 {
        self.files.len() as u64
    }

    /// Their total size.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    /// Removes every file (one already gone counts as removed); returns
    /// what was removed and the files that could not be, with why.
    pub fn remove(self) -> (Debris, Vec<(Found, std::io::Error)>) {
        let mut removed = Debris::default();
        let mut failed = Vec::new();
        for f in self.files {
            match std::fs::remove_file(&f.path) {
                Ok(()) => removed.files.push(f),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => removed.files.push(f),
                Err(e) => failed.push((f, e)),
            }
        }
        (removed, failed)
    }
}

/// Paths being written by this process: never debris.
#[derive(Debug, Default)]
pub struct InProgress(Mutex<Vec<PathBuf>>);

impl InProgress {
    /// An empty registry (usable in a `static`).
    pub const fn new() -> Self {
        Self(Mutex::new(Vec::new()))
    }

    /// Holds `paths` as in progress until the guard is dropped.
    pub fn hold(&self, paths: Vec<PathBuf>) -> Held<'_> {
        self.lock().extend(paths.iter().cloned());
        Held {
            registry: self,
            paths,
        }
    }

    /// Whether `path` is being written.
    pub fn contains(&self, path: &Path) -> bool {
        self.lock().iter().any(|p| p == path)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PathBuf>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Paths held in progress; released on drop.
#[derive(Debug)]
pub struct Held<'a> {
    registry: &'a InProgress,
    paths: Vec<PathBuf>,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        let mut held = self.registry.lock();
        for p in &self.paths {
            if let Some(at) = held.iter().position(|h| h == p) {
                held.swap_remove(at);
            }
        }
    }
}

/// The files of `folder` that `is_debris` names debris (given the file
/// name), not in progress, and last written at least `min_age` ago. A
/// missing folder holds none.
///
/// # Errors
/// When the folder cannot be listed.
pub fn scan(
    folder: &Path,
    is_debris: impl Fn(&str) -> bool,
    in_progress: &InProgress,
    min_age: Duration,
) -> std::io::Result<Debris> {
    let entries = match std::fs::read_dir(folder) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Debris::default()),
        r => r?,
    };
    let now = SystemTime::now();
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !is_debris(name) {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = entry.metadata() else { continue };
        let age = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .unwrap_or_default();
        if !meta.is_file() || age < min_age || in_progress.contains(&path) {
            continue;
        }
        files.push(Found {
            path,
            bytes: meta.len(),
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Debris { files })
}

/// Debris removed since the process started: files and bytes.
#[derive(Debug, Default)]
pub struct Tally {
    files: AtomicU64,
    bytes: AtomicU64,
}

impl Tally {
    /// Counts removed debris.
    pub fn add(&self, removed: &Debris) {
        self.files.fetch_add(removed.count(), Ordering::Relaxed);
        self.bytes.fetch_add(removed.bytes(), Ordering::Relaxed);
    }

    /// Files removed so far.
    pub fn files(&self) -> u64 {
        self.files.load(Ordering::Relaxed)
    }

    /// Bytes removed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_named_debris_except_in_progress_and_young_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = |n: &str| dir.path().join(n);
        for (n, len) in [("a.partial", 3), ("b.partial", 5), ("c.sealed", 7)] {
            std::fs::write(path(n), vec![0u8; len]).unwrap();
        }
        let registry = InProgress::new();
        let partial = |n: &str| n.ends_with(".partial");
        let held = registry.hold(vec![path("b.partial")]);
        let found = scan(dir.path(), partial, &registry, Duration::ZERO).unwrap();
        assert_eq!((found.count(), found.bytes()), (1, 3));
        assert_eq!(
            scan(dir.path(), partial, &registry, Duration::from_secs(3600))
                .unwrap()
                .count(),
            0,
            "too young for a periodic sweep"
        );
        drop(held);
        let found = scan(dir.path(), partial, &registry, Duration::ZERO).unwrap();
        assert_eq!((found.count(), found.bytes()), (2, 8));
        let (removed, failed) = found.remove();
        assert!(failed.is_empty());
        assert_eq!(removed.count(), 2);
        assert!(path("c.sealed").exists() && !path("a.partial").exists());
        assert_eq!(
            scan(&path("none"), partial, &registry, Duration::ZERO).unwrap(),
            Debris::default()
        );
    }
}
