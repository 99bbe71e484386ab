//! The vault's debris: `uploads/*.tmp` files of interrupted uploads, and
//! `uploads/*.sealed` files that no upload record points to (an upload
//! killed between its file and its record). The hub removes them at start
//! and every [`SWEEP_INTERVAL`], and counts them in its metrics.
//!
//! An upload holds its paths in [`WRITES`] while it writes, so no sweep
//! ever takes a file being written; a periodic sweep also leaves files
//! younger than [`MIN_AGE`].

use std::{path::Path, time::Duration};

use passerelle_hub_core::error::HubError;
use passerelle_link::debris::{self, Debris, InProgress};
pub use passerelle_link::debris::{MIN_AGE, SWEEP_INTERVAL};

use crate::store::VaultStore;

/// Upload files being written by this process.
pub static WRITES: InProgress = InProgress::new();

/// The debris of the vault folder `vault` (`hub/vault`): temporary files
/// and sealed files without a record, leaving files in progress and files
/// younger than `min_age`.
///
/// # Errors
/// When the uploads folder cannot be listed or the store read.
pub fn scan(vault: &Path, store: &VaultStore, min_age: Duration) -> Result<Debris, HubError> {
    let folder = vault.join("uploads");
    let listing = |source| HubError::Io {
        path: folder.clone(),
        source,
    };
    let mut found =
        debris::scan(&folder, |n| n.ends_with(".tmp"), &WRITES, min_age).map_err(listing)?;
    // Listed before the records are read: an upload that finished after
    // this listing has its record in what is read next.
    let mut sealed =
        debris::scan(&folder, |n| n.ends_with(".sealed"), &WRITES, min_age).map_err(listing)?;
    let known = store.upload_ids()?;
    sealed.files.retain(|f| {
        f.path
            .file_stem()
            .and_then(|s| s.to_str())
            .is_some_and(|id| !known.contains(id))
    });
    found.files.extend(sealed.files);
    Ok(found)
}

/// Removes the debris [`scan`] finds, and counts it in the metrics;
/// returns what was removed.
///
/// # Errors
/// When the uploads folder cannot be listed or the store read.
pub fn collect(vault: &Path, store: &VaultStore, min_age: Duration) -> Result<Debris, HubError> {
    let (removed, failed) = scan(vault, store, min_age)?.remove();
    for (f, error) in failed {
        tracing::warn!(path = %f.path.display(), %error, "debris not removed");
    }
    passerelle_hub_core::metrics::global().debris_removed(removed.count());
    if removed.count() > 0 {
        tracing::info!(
            files = removed.count(),
            bytes = removed.bytes(),
            "debris of interrupted uploads removed"
        );
    }
    Ok(removed)
}
