//! The store seen by backups: [`Snapshot`] to dump it while serving,
//! [`Staging`] to load a dump into a fresh one at restore.

use passerelle_link::backup::{BackupError, Records, Snapshot, Staging};

use super::{Store, StoreError};

impl Snapshot for Store {
    type Error = StoreError;
    type Bytes = sled::IVec;

    fn tree_names(&self) -> Vec<sled::IVec> {
        // Unavailable: `frozen`, called first, says why.
        self.db()
            .map(|db| db.tree_names())
            .unwrap_or_default()
            .into_iter()
            .filter(|n| !super::engine::is_internal(n))
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

impl Staging for Store {
    type Error = StoreError;

    fn insert(&self, tree: &[u8], key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.db()?.open_tree(tree)?.insert(key, value)?;
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.engine.flush()?;
        Ok(())
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

    #[test]
    fn a_dump_loads_into_a_staging_store_record_for_record() {
        let dir = tempfile::tempdir().unwrap();
        let a = Store::open(&dir.path().join("a")).unwrap();
        a.db()
            .unwrap()
            .open_tree("t1")
            .unwrap()
            .insert(b"k1", b"v1")
            .unwrap();
        a.db().unwrap().insert(b"root", b"r").unwrap();
        let mut bytes = Vec::new();
        let counts = passerelle_link::backup::dump::dump(&a, &mut bytes).unwrap();
        assert!(counts.contains(&("t1".to_string(), 1)), "{counts:?}");
        let b = Store::open(&dir.path().join("b")).unwrap();
        passerelle_link::backup::dump::load(&b, &mut bytes.as_slice()).unwrap();
        assert_eq!(
            b.db()
                .unwrap()
                .open_tree("t1")
                .unwrap()
                .get(b"k1")
                .unwrap()
                .unwrap(),
            b"v1"
        );
        assert_eq!(b.db().unwrap().get(b"root").unwrap().unwrap(), b"r");
    }
}
