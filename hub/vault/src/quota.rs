//! The room a person has for their own uploads, and the reservations that
//! make the check atomic.
//!
//! An account linked to at least one institution has [`LINKED`]; one not
//! linked yet (anybody can create one) has the small [`UNLINKED`]. An
//! upload first [`reserve`]s its size: under one process lock, the
//! person's stored uploads plus the uploads in progress are counted and
//! the new one added, so two uploads at once cannot both pass a check
//! that only one fits. The reservation lasts until the upload's record is
//! written (or the upload fails), then the record counts instead. The hub
//! is a single process and its store folder is locked to it, so a
//! process lock is enough; reservations of an upload killed with the
//! process vanish with it.

use std::{
    collections::BTreeMap,
    sync::{Mutex, MutexGuard},
};

use crate::{
    error::{Refusal, VaultError},
    store::VaultStore,
};
use passerelle_hub_core::HubError;

/// A quota: bytes and files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Total size of the uploads.
    pub max_bytes: u64,
    /// Number of uploads.
    pub max_files: u64,
}

/// The room of an account linked to at least one institution.
pub const LINKED: Quota = Quota {
    max_bytes: 100 * 1024 * 1024,
    max_files: 500,
};

/// The room of an account not linked to any institution yet.
pub const UNLINKED: Quota = Quota {
    max_bytes: 10 * 1024 * 1024,
    max_files: 20,
};

// Linking an institution only ever gives more room.
const _: () =
    assert!(UNLINKED.max_bytes < LINKED.max_bytes && UNLINKED.max_files < LINKED.max_files);

/// What a person uses (or has reserved).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Bytes.
    pub bytes: u64,
    /// Files.
    pub files: u64,
}

impl Quota {
    /// Whether one more file of `size` bytes fits beside `used`.
    ///
    /// # Errors
    /// The refusal to give, naming this quota.
    pub fn admits(&self, used: Usage, size: u64, linked: bool) -> Result<(), Refusal> {
        let fits = used.bytes.saturating_add(size) <= self.max_bytes
            && used.files.saturating_add(1) <= self.max_files;
        if fits {
            Ok(())
        } else {
            Err(Refusal::QuotaFull {
                max_bytes: self.max_bytes,
                max_files: self.max_files,
                linked,
            })
        }
    }
}

/// A person's quota, and whether they are linked.
///
/// # Errors
/// On a store failure.
pub fn of(store: &VaultStore, person: &str) -> Result<(Quota, bool), HubError> {
    let linked = !store.links(person)?.is_empty();
    Ok((if linked { LINKED } else { UNLINKED }, linked))
}

/// What a person's stored uploads use.
///
/// # Errors
/// On a store failure.
pub fn used(store: &VaultStore, person: &str) -> Result<Usage, HubError> {
    let ups = store.uploads(person)?;
    Ok(Usage {
        bytes: ups.iter().map(|u| u.size).sum(),
        files: ups.len() as u64,
    })
}

/// Uploads in progress, per person.
static RESERVED: Mutex<BTreeMap<String, Usage>> = Mutex::new(BTreeMap::new());

fn reserved() -> MutexGuard<'static, BTreeMap<String, Usage>> {
    RESERVED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Room held for an upload in progress; given back when dropped.
#[derive(Debug)]
pub struct Reservation {
    person: String,
    bytes: u64,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut map = reserved();
        if let Some(u) = map.get_mut(&self.person) {
            u.bytes = u.bytes.saturating_sub(self.bytes);
            u.files = u.files.saturating_sub(1);
            if u.files == 0 {
                map.remove(&self.person);
            }
        }
    }
}

/// Holds room for one upload of `size` bytes, if it fits beside the
/// person's uploads and those in progress.
///
/// # Errors
/// `Refused` ([`Refusal::QuotaFull`]) when it does not fit; a store
/// failure.
pub fn reserve(store: &VaultStore, person: &str, size: u64) -> Result<Reservation, VaultError> {
    let (quota, linked) = of(store, person)?;
    let mut map = reserved();
    let stored = used(store, person)?;
    let pending = map.get(person).copied().unwrap_or_default();
    let total = Usage {
        bytes: stored.bytes.saturating_add(pending.bytes),
        files: stored.files.saturating_add(pending.files),
    };
    quota.admits(total, size, linked)?;
    let e = map.entry(person.to_string()).or_default();
    e.bytes += size;
    e.files += 1;
    Ok(Reservation {
        person: person.to_string(),
        bytes: size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn a_file_fits_only_within_bytes_and_files() {
        let q = UNLINKED;
        assert!(q.admits(Usage::default(), 10 * MIB, false).is_ok());
        assert!(q.admits(Usage::default(), 10 * MIB + 1, false).is_err());
        let nineteen = Usage {
            bytes: 0,
            files: 19,
        };
        assert!(q.admits(nineteen, 1, false).is_ok());
        assert_eq!(
            q.admits(
                Usage {
                    bytes: 0,
                    files: 20
                },
                1,
                false
            ),
            Err(Refusal::QuotaFull {
                max_bytes: 10 * MIB,
                max_files: 20,
                linked: false
            })
        );
        assert!(LINKED
            .admits(
                Usage {
                    bytes: 50 * MIB,
                    files: 20
                },
                10 * MIB,
                true
            )
            .is_ok());
    }

    #[test]
    fn uploads_in_progress_count_until_they_end() {
        let dir = tempfile::tempdir().unwrap();
        let s = passerelle_hub_core::store::Store::open(&dir.path().join("store")).unwrap();
        let store = VaultStore::new(s);
        let person = "quota-test-person";
        let first = reserve(&store, person, 6 * MIB).unwrap();
        // A second one that fits only if the first did not exist.
        assert!(matches!(
            reserve(&store, person, 5 * MIB),
            Err(VaultError::Refused(Refusal::QuotaFull {
                linked: false,
                ..
            }))
        ));
        let small = reserve(&store, person, 4 * MIB).unwrap();
        drop(first);
        let again = reserve(&store, person, 5 * MIB).unwrap();
        drop((small, again));
        assert!(!reserved().contains_key(person));
        // Linked: the larger room.
        store
            .put_link(
                person,
                &passerelle_protocol::ids::NodeId::new("caf-976").unwrap(),
                1,
            )
            .unwrap();
        let big: Vec<_> = (0..5)
            .map(|_| reserve(&store, person, 10 * MIB).unwrap())
            .collect();
        assert_eq!(big.len(), 5);
    }
}
