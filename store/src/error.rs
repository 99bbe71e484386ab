//! The store's error: one type for the node's store and the hub's.

use std::path::PathBuf;

use passerelle_link::lock::LockError;
use passerelle_protocol::codec;

use crate::{engine::FLUSH_PATIENCE, Program};

/// Everything that can go wrong in the store itself.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the store.
    #[error("{path}: {}", locked_text(*.program), path = .path.display())]
    Locked {
        /// The store folder.
        path: PathBuf,
        /// The program whose store it is (the fix names it).
        program: Program,
    },
    /// The store's lock file is unusable.
    #[error(transparent)]
    Lock(LockError),
    /// The storage engine failed.
    /// (Not a `source`: the text says it all, so a chain printed by
    /// `{:#}` does not repeat it.)
    #[error("store: {}", engine_text(.0))]
    Engine(sled::Error),
    /// The PostgreSQL database failed or could not be reached.
    #[error("database: {}", database_text(.0))]
    Database(postgres::Error),
    /// A transaction was given up.
    #[error("store transaction aborted")]
    Aborted,
    /// The engine could not be opened again after a failure (the running
    /// node or hub keeps trying).
    #[error("{path}: the store is unavailable: {why}", path = .path.display())]
    Unavailable {
        /// The store folder.
        path: PathBuf,
        /// Why.
        why: String,
    },
    /// A write was not confirmed in time (a failing or full disk).
    #[error("{path}: the store did not confirm a write within {secs} s: the disk is failing or full; free space on it (df -h) and check the system log; a running node or hub recovers by itself", path = .path.display(), secs = FLUSH_PATIENCE.as_secs())]
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
    /// degraded), not a refusal or a damaged record.
    pub fn is_storage_failure(&self) -> bool {
        matches!(
            self,
            Self::Engine(sled::Error::Io(_))
                | Self::Unavailable { .. }
                | Self::Stalled { .. }
                | Self::Disk(_)
                | Self::Io { .. }
                | Self::Database(_)
        )
    }
}

/// What a held store says, with the fix each program's operators know.
fn locked_text(program: Program) -> &'static str {
    match program {
        Program::Hub => {
            "the store is in use by another process that does not answer on its admin socket"
        }
        Program::Node => {
            "the store is in use by another process (is passerelle-node serve running without its admin socket?)"
        }
    }
}

/// The database's error: its own message when it sent one.
fn database_text(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// The engine's error in plain words: a full disk says so, with the fix.
fn engine_text(e: &sled::Error) -> String {
    match e {
        sled::Error::Io(io) if passerelle_link::disk::is_out_of_space(io) => {
            "the disk is full (no space left on device); nothing more is written until there is room: free space on the store's disk (df -h); a running node or hub recovers by itself".into()
        }
        sled::Error::Io(io) => format!("the disk failed: {io}; check the system log (dmesg); a running node or hub retries by itself"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_store_names_each_program_s_fix() {
        let locked = |program| {
            StoreError::Locked {
                path: "/srv/store".into(),
                program,
            }
            .to_string()
        };
        assert_eq!(
            locked(Program::Hub),
            "/srv/store: the store is in use by another process that does not answer on its admin socket"
        );
        assert_eq!(
            locked(Program::Node),
            "/srv/store: the store is in use by another process (is passerelle-node serve running without its admin socket?)"
        );
    }

    #[test]
    fn a_full_disk_says_how_to_recover() {
        let full = StoreError::from(sled::Error::Io(std::io::Error::from(
            std::io::ErrorKind::StorageFull,
        )));
        let text = full.to_string();
        assert!(text.contains("the disk is full"), "{text}");
        assert!(text.contains("df -h"), "{text}");
        assert!(full.is_storage_failure());
        assert!(!StoreError::Aborted.is_storage_failure());
    }
}
