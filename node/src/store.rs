//! The node's sled store. Everything the node persists goes through here,
//! so replacing sled is a change to this file. For now it holds the log of
//! recent queries; datasets and documents come with their features.

use std::path::Path;

use passerelle_protocol::{codec, UnixTime};
use serde::{Deserialize, Serialize};

use crate::NodeError;

const QUERIES: &str = "queries";
const DATASETS: &str = "datasets";
/// Query log entries kept.
pub const QUERY_LOG_LEN: usize = 200;

/// One query the node saw, and what it did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryRecord {
    /// When.
    pub at: UnixTime,
    /// Query id (hex), or `-` when unreadable.
    pub query_id: String,
    /// Query kind, or `-`.
    pub kind: String,
    /// `answered`, or the refusal kind.
    pub outcome: String,
    /// Refusal reason, empty when answered.
    pub reason: String,
}

/// The opened store.
#[derive(Debug, Clone)]
pub struct Store {
    db: sled::Db,
}

impl Store {
    /// Opens (or creates) the store. Fails when another process holds it.
    ///
    /// # Errors
    /// When sled cannot open the folder, for instance because it is locked.
    pub fn open(path: &Path) -> Result<Self, NodeError> {
        let db = sled::Config::new().path(path).mode(sled::Mode::LowSpace).open().map_err(|e| match e {
            // sled reports a held lock as kind Other with this text.
            sled::Error::Io(ref io) if io.to_string().contains("could not acquire lock") => NodeError::Locked(format!(
                "{}: the store is in use by another process (is passerelle-node serve running without its admin socket?)",
                path.display()
            )),
            other => NodeError::Store(other),
        })?;
        Ok(Self { db })
    }

    /// Appends to the query log, dropping the oldest beyond
    /// [`QUERY_LOG_LEN`].
    ///
    /// # Errors
    /// On a store failure.
    pub fn record_query(&self, record: &QueryRecord) -> Result<(), NodeError> {
        let tree = self.db.open_tree(QUERIES)?;
        let seq = self.db.generate_id()?;
        tree.insert(seq.to_be_bytes(), codec::encode(record)?)?;
        while tree.len() > QUERY_LOG_LEN {
            if tree.pop_min()?.is_none() {
                break;
            }
        }
        Ok(())
    }

    /// The most recent queries, newest first.
    ///
    /// # Errors
    /// On a store failure or a corrupt record.
    pub fn recent_queries(&self, n: usize) -> Result<Vec<QueryRecord>, NodeError> {
        let tree = self.db.open_tree(QUERIES)?;
        tree.iter()
            .rev()
            .take(n)
            .map(|kv| Ok(codec::decode(&kv?.1)?))
            .collect()
    }

    /// Names of the datasets held.
    ///
    /// # Errors
    /// On a store failure.
    pub fn datasets(&self) -> Result<Vec<String>, NodeError> {
        let tree = self.db.open_tree(DATASETS)?;
        tree.iter()
            .keys()
            .map(|k| Ok(String::from_utf8_lossy(&k?).into_owned()))
            .collect()
    }

    /// Writes everything to disk.
    ///
    /// # Errors
    /// On a store failure.
    pub fn flush(&self) -> Result<(), NodeError> {
        self.db.flush()?;
        Ok(())
    }
}
