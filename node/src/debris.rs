//! The node's debris: `documents/*.partial` files of interrupted deposits,
//! and `documents/*.sealed` files that no document record points to (a
//! deposit killed between its file and its record). The running node
//! removes them at start and every [`SWEEP_INTERVAL`]; `doctor` reports
//! them and `doctor --clean` removes them.
//!
//! A deposit holds its paths in [`WRITES`] while it writes, so no sweep
//! ever takes a file being written; a periodic sweep also leaves files
//! younger than [`MIN_AGE`].

use std::{collections::HashSet, sync::Arc, time::Duration};

use passerelle_link::debris::{self, Debris, InProgress, Tally, MIN_AGE, SWEEP_INTERVAL};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::{serve::Shared, store::Store, vault::DocFiles, NodeError};

/// Document files being written by this process.
pub static WRITES: InProgress = InProgress::new();

/// The debris of a node folder, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeDebris {
    /// `documents/*.partial`: deposits interrupted while sealing.
    pub partial: Debris,
    /// `documents/*.sealed` files without a document record.
    pub orphans: Debris,
}

impl NodeDebris {
    /// How many files.
    pub fn count(&self) -> u64 {
        self.partial.count() + self.orphans.count()
    }

    /// Their total size.
    pub fn bytes(&self) -> u64 {
        self.partial.bytes() + self.orphans.bytes()
    }

    /// What it is, in a few words: counts and sizes by kind.
    pub fn describe(&self) -> String {
        format!(
            "{} partial deposit file(s) ({} bytes), {} sealed file(s) without a record ({} bytes)",
            self.partial.count(),
            self.partial.bytes(),
            self.orphans.count(),
            self.orphans.bytes()
        )
    }
}

/// The debris of the node's documents folder, leaving files in progress
/// and files younger than `min_age`.
///
/// # Errors
/// When the folder cannot be listed or the store read.
pub fn scan(files: &DocFiles, store: &Store, min_age: Duration) -> Result<NodeDebris, NodeError> {
    let folder = files.root().join("documents");
    let listing = |e: std::io::Error| NodeError::Io {
        path: folder.clone(),
        source: e,
    };
    let partial =
        debris::scan(&folder, |n| n.ends_with(".partial"), &WRITES, min_age).map_err(listing)?;
    // Listed before the records are read: a deposit that finished after
    // this listing has its record in what is read next.
    let mut orphans =
        debris::scan(&folder, |n| n.ends_with(".sealed"), &WRITES, min_age).map_err(listing)?;
    let known: HashSet<String> = store.all_documents()?.into_iter().map(|d| d.id).collect();
    orphans.files.retain(|f| {
        f.path
            .file_stem()
            .and_then(|s| s.to_str())
            .is_some_and(|id| !known.contains(id))
    });
    Ok(NodeDebris { partial, orphans })
}

/// Removes the debris [`scan`] finds; returns what was removed.
///
/// # Errors
/// When the folder cannot be listed or the store read.
pub fn collect(
    files: &DocFiles,
    store: &Store,
    min_age: Duration,
    tally: &Tally,
) -> Result<NodeDebris, NodeError> {
    let found = scan(files, store, min_age)?;
    let mut removed = NodeDebris::default();
    for (from, into) in [
        (found.partial, &mut removed.partial),
        (found.orphans, &mut removed.orphans),
    ] {
        let (done, failed) = from.remove();
        for (f, error) in failed {
            tracing::warn!(path = %f.path.display(), %error, "debris not removed");
        }
        tally.add(&done);
        *into = done;
    }
    if removed.count() > 0 {
        tracing::info!(
            files = removed.count(),
            bytes = removed.bytes(),
            partial = removed.partial.count(),
            orphans = removed.orphans.count(),
            "debris of interrupted deposits removed"
        );
    }
    Ok(removed)
}

/// What `doctor` asks: the debris (in progress excluded, whatever its
/// age: no other process writes while the store is held), removed with
/// `remove`.
///
/// # Errors
/// When the folder cannot be listed or the store read.
pub fn answer(
    files: &DocFiles,
    store: &Store,
    remove: bool,
    tally: &Tally,
) -> Result<NodeDebris, NodeError> {
    if remove {
        collect(files, store, Duration::ZERO, tally)
    } else {
        scan(files, store, Duration::ZERO)
    }
}

/// Sweeps the running node's debris every [`SWEEP_INTERVAL`] until `stop`.
pub async fn sweep_every(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(SWEEP_INTERVAL) => {}
            _ = stop.changed() => return,
        }
        if let Err(error) = collect(&shared.files, &shared.store, MIN_AGE, &shared.debris) {
            tracing::warn!(%error, "debris sweep failed");
        }
    }
}
