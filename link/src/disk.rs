//! Free space, checked before large writes, so that a full disk is a
//! clear refusal naming the folder, what was needed and what is free,
//! and not an engine error halfway through a write.
//!
//! Every write path of the node and the hub that may write more than a
//! few kilobytes (an import, a document, an upload, a composed result, a
//! backup) calls [`ensure_space`] with its size first; [`RESERVE`] more is
//! always kept free for the stores' own bookkeeping, so a store never
//! meets the end of the disk in the middle of a commit.

use std::path::{Path, PathBuf};

/// Kept free beyond what a write needs: room for the store to grow its
/// log and write its snapshot, and for the logs of the system.
pub const RESERVE: u64 = 4 << 20;

/// Space on the filesystem of a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Space {
    /// Bytes an unprivileged process may still write.
    pub free: u64,
    /// Size of the filesystem.
    pub total: u64,
}

/// Why a write was refused before it began.
#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    /// Not enough free space on the folder's disk; nothing was written.
    #[error("{folder}: not enough free space to {what}: {needed} needed (with {reserve} kept free), {free} free; nothing was written. Fix: free space on this disk (see df -h {folder}) or move the folder to a larger disk, then try again", folder = .folder.display(), needed = human(*.needed), reserve = human(RESERVE), free = human(*.free))]
    NoSpace {
        /// The folder written to.
        folder: PathBuf,
        /// What was being written, in a few words ("import a batch").
        what: &'static str,
        /// Bytes needed, the reserve included.
        needed: u64,
        /// Bytes free.
        free: u64,
    },
    /// The free space could not be read.
    #[error("{folder}: cannot read the free space: {error}", folder = .folder.display())]
    Io {
        /// The folder.
        folder: PathBuf,
        /// Why.
        error: std::io::Error,
    },
}

/// The space on the filesystem that holds `folder` (or its nearest
/// existing parent, for a folder not yet created).
///
/// # Errors
/// When no parent exists or `statvfs` fails.
pub fn space(folder: &Path) -> std::io::Result<Space> {
    let mut at = folder;
    while !at.exists() {
        at = at.parent().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "no existing parent folder")
        })?;
    }
    let s = rustix::fs::statvfs(at)?;
    Ok(Space {
        free: s.f_bavail.saturating_mul(s.f_frsize),
        total: s.f_blocks.saturating_mul(s.f_frsize),
    })
}

/// Checks that `bytes` can be written in `folder` with [`RESERVE`] left
/// over; returns the space found.
///
/// # Errors
/// [`DiskError::NoSpace`] when there is not enough, [`DiskError::Io`]
/// when the space cannot be read.
pub fn ensure_space(folder: &Path, what: &'static str, bytes: u64) -> Result<Space, DiskError> {
    let space = space(folder).map_err(|error| DiskError::Io {
        folder: folder.to_path_buf(),
        error,
    })?;
    let needed = bytes.saturating_add(RESERVE);
    if space.free < needed {
        return Err(DiskError::NoSpace {
            folder: folder.to_path_buf(),
            what,
            needed,
            free: space.free,
        });
    }
    Ok(space)
}

/// Whether an IO error says the disk (or the user's quota) is full.
pub fn is_out_of_space(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull
        || e.kind() == std::io::ErrorKind::QuotaExceeded
        || matches!(e.raw_os_error(), Some(c) if c == rustix::io::Errno::NOSPC.raw_os_error() || c == rustix::io::Errno::DQUOT.raw_os_error())
}

/// Bytes in plain units: `512 B`, `3.2 KB`, `14.0 MB`, `2.1 GB`.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn space_is_read_and_a_write_too_large_is_refused_with_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let s = space(dir.path()).unwrap();
        assert!(s.total >= s.free);
        ensure_space(dir.path(), "test", 1).unwrap();
        let err = ensure_space(&dir.path().join("not/yet"), "import a batch", u64::MAX / 2)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not/yet"), "{err}");
        assert!(
            err.contains("import a batch") && err.contains("free space"),
            "{err}"
        );
    }

    #[test]
    fn full_disk_errors_are_recognised_and_sizes_read_plainly() {
        assert!(is_out_of_space(&std::io::Error::from_raw_os_error(28)));
        assert!(!is_out_of_space(&std::io::Error::from_raw_os_error(5)));
        assert_eq!(human(512), "512 B");
        assert_eq!(human(4 << 20), "4.0 MB");
    }
}
