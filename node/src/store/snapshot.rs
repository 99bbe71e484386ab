//! The store seen by backups: [`Snapshot`] to dump it while serving,
//! [`Staging`] to load a dump into a fresh one at restore; both are the
//! engine's ([`passerelle_store::Handle`]).

use passerelle_link::backup::{BackupError, Records, Snapshot, Staging};
use passerelle_store::Handle;

use super::{Store, StoreError};

impl Snapshot for Store {
    type Error = StoreError;
    type Bytes = <Handle as Snapshot>::Bytes;

    fn tree_names(&self) -> Vec<Self::Bytes> {
        self.handle.tree_names()
    }

    fn records(&self, tree: &[u8]) -> Result<Records<'_, Self>, StoreError> {
        self.handle.records(tree)
    }

    fn frozen(&self, f: &mut dyn FnMut() -> Result<(), BackupError>) -> Result<(), BackupError> {
        self.handle.frozen(f)
    }
}

impl Staging for Store {
    type Error = StoreError;

    fn insert(&self, tree: &[u8], key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.handle.insert(tree, key, value)
    }

    fn flush(&self) -> Result<(), StoreError> {
        Staging::flush(&self.handle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_dropped_opens_again_at_once_and_a_held_one_is_locked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        for i in 0..50u64 {
            // sled lets its own lock go in the background: each open must
            // still succeed right after the previous handle is dropped.
            let store = Store::open(&path).unwrap();
            if i == 0 {
                assert!(matches!(Store::open(&path), Err(StoreError::Locked { .. })));
            }
            store
                .record_query(&super::super::QueryRecord {
                    at: i,
                    query_id: format!("{i}"),
                    kind: "-".into(),
                    outcome: "answered".into(),
                    reason: String::new(),
                })
                .unwrap();
            assert_eq!(store.recent_queries(100).unwrap().len() as u64, i + 1);
            // A write that leaves the engine work in the background.
            store
                .db()
                .unwrap()
                .insert(b"bulk", vec![i as u8; 300_000])
                .unwrap();
        }
    }
}
