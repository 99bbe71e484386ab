//! The node's store. Everything the node persists goes through here, and
//! this module is the only one of the node that knows the storage engine
//! (sled, kept safe on a failing disk by [`passerelle_store`]), so
//! replacing it is a change to this folder and that crate. Backups read
//! and load it through [`passerelle_link::backup`]'s interfaces, which
//! the store's [`Handle`] implements.
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `queries` | sequence | [`QueryRecord`], the last [`QUERY_LOG_LEN`] |
//! | `batches` | batch id | [`BatchMeta`] |
//! | `cubes` | batch id | the batch's [`Cube`] |
//! | `active` | `dataset \0 period` | id of the batch in force for that period |
//! | `batch_notes` | batch id | [`BatchNote`]: who rejected or withdrew it, when, why |
//!
//! | `links` | local person id | [`vault::Link`]: the person's pseudonym from the hub |
//! | `pseudonyms` | pseudonym | local person id |
//! | `documents` | document id | [`vault::DocRecord`] (the bytes are sealed in `documents/`) |
//! | `person_docs` | `local id \0 document id` | nothing: the index of a person's documents |
//! | `revoked` | consent id | when the hub said it was revoked |
//! | `audit` | sequence (big-endian) | [`passerelle_protocol::audit::Record`] |
//! | `hub_heads`, `hub_divergence` | see [`hub_heads`] | heads of the hub's chain this node was shown |
//! | `doc_procedures` | document id | the procedure a document was deposited for |
//! | `agents` | login | [`agents::Agent`]: a console account (argon2id hash) |
//! | `agent_sessions` | SHA-256 of the cookie token | [`agents::AgentSession`] |
//!
//! An import writes its batch, its cube and (when no validation is
//! required) its `active` entries in one transaction: a failed or killed
//! import leaves the previous batch in force.
//!
//! One process holds the store: [`Store::open`] takes `store.lock` beside
//! the folder first, and says [`StoreError::Locked`] when someone else has
//! it.

use std::path::Path;

use passerelle_protocol::{codec, period::Period, UnixTime};
use passerelle_store::{
    sled::{self, Transactional},
    Handle, Options, Program,
};

use crate::data::cube::Cube;
use serde::{Deserialize, Serialize};

use crate::NodeError;

pub mod agents;
mod decisions;
pub mod hub_heads;
mod journal;
mod procedures;
pub mod vault;

pub use decisions::{BatchNote, RolledBack};
pub use journal::JournalFilter;

pub use passerelle_store::StoreError;

impl From<sled::Error> for NodeError {
    fn from(e: sled::Error) -> Self {
        Self::Store(e.into())
    }
}

// Backups read the store, and restores load it, through its handle.
passerelle_store::backup_through!(Store, handle);

const QUERIES: &str = "queries";
const BATCHES: &str = "batches";
const CUBES: &str = "cubes";
const ACTIVE: &str = "active";
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

/// Where a batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BatchStatus {
    /// Waiting for a second person's validation; not answered from.
    Pending,
    /// In force for its periods (unless a newer batch replaced a period).
    Active,
    /// Rejected by a second person: never in force (see its
    /// [`BatchNote`]).
    Rejected,
    /// Was in force, then withdrawn: the batches before it are in force
    /// again (see its [`BatchNote`]).
    Withdrawn,
}

impl BatchStatus {
    /// The code in listings (`pending`, `active`, `rejected`, `withdrawn`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
        }
    }
}

/// What the node remembers of an import (never its rows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchMeta {
    /// Batch id.
    pub id: u64,
    /// Dataset.
    pub dataset: String,
    /// When it was imported.
    pub imported_at: UnixTime,
    /// Who imported it.
    pub imported_by: String,
    /// File name imported.
    pub file: String,
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// Data rows.
    pub rows: u64,
    /// Periods covered.
    pub periods: Vec<Period>,
    /// Status.
    pub status: BatchStatus,
    /// Who validated it.
    pub validated_by: Option<String>,
    /// When.
    pub validated_at: Option<UnixTime>,
}

/// A batch and the periods for which it is in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchState {
    /// The batch.
    pub meta: BatchMeta,
    /// Periods for which this batch is the one in force, in order.
    pub in_force: Vec<Period>,
    /// Who rejected or withdrew it, when, and why.
    pub note: Option<BatchNote>,
}

/// The batches in force for one dataset: each batch's id, the periods for
/// which it is in force and its record as stored. A batch's cube is written
/// once, with its record, so two equal sets stand for the same cubes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InForce {
    batches: Vec<(u64, Vec<Period>, Option<Vec<u8>>)>,
}

impl InForce {
    /// The set as bytes, for keying what was computed from it.
    pub fn fingerprint(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (id, periods, meta) in &self.batches {
            out.extend_from_slice(&id.to_be_bytes());
            out.extend_from_slice(&(periods.len() as u32).to_be_bytes());
            for p in periods {
                let p = p.to_string();
                out.extend_from_slice(&(p.len() as u32).to_be_bytes());
                out.extend_from_slice(p.as_bytes());
            }
            let meta = meta.as_deref().unwrap_or_default();
            out.extend_from_slice(&(meta.len() as u32).to_be_bytes());
            out.extend_from_slice(meta);
        }
        out
    }
}

fn active_key(dataset: &str, period: &Period) -> Vec<u8> {
    let mut k = dataset.as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(period.to_string().as_bytes());
    k
}

fn transaction_error(e: sled::transaction::TransactionError<()>) -> NodeError {
    NodeError::Store(match e {
        sled::transaction::TransactionError::Storage(e) => e.into(),
        sled::transaction::TransactionError::Abort(()) => StoreError::Aborted,
    })
}

/// The opened store.
#[derive(Debug, Clone)]
pub struct Store {
    /// The engine (opened again after a failure), the write gate and the
    /// lock, shared by every copy.
    handle: Handle,
    /// Appends to the audit chain one at a time, so each links to the last.
    audit_lock: std::sync::Arc<std::sync::Mutex<()>>,
    /// The highest batch id handed out by this process.
    batch_ids: std::sync::Arc<std::sync::Mutex<u64>>,
    /// Decisions on batches (validate, reject, roll back) one at a time,
    /// each reading the state it changes.
    decisions: std::sync::Arc<std::sync::Mutex<()>>,
}

impl Store {
    /// Opens (or creates) the store. Fails when another process holds it;
    /// waits (a few seconds at most) for a handle of this process that is
    /// still closing.
    ///
    /// # Errors
    /// [`StoreError::Locked`] when another process holds it; an engine
    /// error when the folder cannot be opened.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(Self {
            handle: Handle::open(path, Options::new(Program::Node))?,
            audit_lock: Default::default(),
            batch_ids: Default::default(),
            decisions: Default::default(),
        })
    }

    /// Appends to the query log, dropping the oldest beyond
    /// [`QUERY_LOG_LEN`].
    ///
    /// # Errors
    /// On a store failure.
    pub fn record_query(&self, record: &QueryRecord) -> Result<(), NodeError> {
        self.noted((|| {
            let _w = self.writing()?;
            let tree = self.db()?.open_tree(QUERIES)?;
            let seq = self.db()?.generate_id()?;
            tree.insert(seq.to_be_bytes(), codec::encode(record)?)?;
            // Counted by hand: `Tree::len` counts errors as records and
            // never ends once the engine has failed.
            let mut kept = 0;
            for key in tree.iter().keys().rev() {
                kept += 1;
                if kept > QUERY_LOG_LEN {
                    tree.remove(key?)?;
                } else {
                    key?;
                }
            }
            Ok(())
        })())
    }

    /// The most recent queries, newest first.
    ///
    /// # Errors
    /// On a store failure or a corrupt record.
    pub fn recent_queries(&self, n: usize) -> Result<Vec<QueryRecord>, NodeError> {
        let tree = self.db()?.open_tree(QUERIES)?;
        tree.iter()
            .rev()
            .take(n)
            .map(|kv| Ok(codec::decode(&kv?.1)?))
            .collect()
    }

    /// Names of the datasets with data in force.
    ///
    /// # Errors
    /// On a store failure.
    pub fn datasets(&self) -> Result<Vec<String>, NodeError> {
        let mut names: Vec<String> = self
            .db()?
            .open_tree(ACTIVE)?
            .iter()
            .keys()
            .map(|k| {
                Ok(
                    String::from_utf8_lossy(k?.split(|b| *b == 0).next().unwrap_or_default())
                        .into_owned(),
                )
            })
            .collect::<Result<_, NodeError>>()?;
        names.dedup();
        Ok(names)
    }

    /// Records a validated import in one transaction (with the crash
    /// points of [`crash_point`] for tests). With `activate`, the
    /// batch is in force at once for every period it covers; otherwise it
    /// waits for [`Store::validate`].
    ///
    /// # Errors
    /// On a store failure; nothing is written then.
    pub fn commit_batch(
        &self,
        meta: &BatchMeta,
        cube: &Cube,
        activate: bool,
    ) -> Result<(), NodeError> {
        self.noted((|| {
            let _one = self.deciding();
            let _w = self.writing()?;
            let (batches, cubes, active) = (
                self.db()?.open_tree(BATCHES)?,
                self.db()?.open_tree(CUBES)?,
                self.db()?.open_tree(ACTIVE)?,
            );
            let meta_bytes = codec::encode(meta)?;
            let cube_bytes = codec::encode(cube)?;
            (&batches, &cubes, &active)
                .transaction(|(b, c, a)| {
                    b.insert(&meta.id.to_be_bytes(), meta_bytes.as_slice())?;
                    c.insert(&meta.id.to_be_bytes(), cube_bytes.as_slice())?;
                    if activate {
                        for p in &meta.periods {
                            a.insert(active_key(&meta.dataset, p), &meta.id.to_be_bytes())?;
                        }
                    }
                    crash_point("commit:staged");
                    Ok(())
                })
                .map_err(transaction_error)?;
            crash_point("commit:applied");
            self.handle.flush()?;
            crash_point("commit:flushed");
            Ok(())
        })())
    }

    /// A new batch id: one more than the highest recorded or handed out,
    /// so ids grow by one from import to import, across restarts too
    /// (older stores hold ids from the engine's counter, which jumped at
    /// each opening; they are kept and new ids follow the highest).
    ///
    /// # Errors
    /// On a store failure.
    pub fn next_batch_id(&self) -> Result<u64, NodeError> {
        let last = match self.db()?.open_tree(BATCHES)?.last()? {
            Some((k, _)) => u64::from_be_bytes(k.as_ref().try_into().map_err(|_| {
                NodeError::Refused("corrupt key in the store's batches tree".into())
            })?),
            None => 0,
        };
        let mut issued = self
            .batch_ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *issued = last.max(*issued) + 1;
        Ok(*issued)
    }

    /// Every batch, newest first, with the periods for which each is in
    /// force (empty for a pending batch or one every period of which a
    /// newer batch replaced).
    ///
    /// # Errors
    /// On a store failure or a corrupt record.
    pub fn batch_states(&self) -> Result<Vec<BatchState>, NodeError> {
        let mut in_force: std::collections::HashMap<u64, Vec<Period>> = Default::default();
        for kv in self.db()?.open_tree(ACTIVE)?.iter() {
            let (k, v) = kv?;
            let corrupt = || NodeError::Refused("corrupt entry in the store's active tree".into());
            let id = u64::from_be_bytes(v.as_ref().try_into().map_err(|_| corrupt())?);
            let period = k
                .iter()
                .position(|b| *b == 0)
                .and_then(|at| std::str::from_utf8(&k[at + 1..]).ok())
                .and_then(|p| p.parse().ok())
                .ok_or_else(corrupt)?;
            in_force.entry(id).or_default().push(period);
        }
        let mut notes = self.batch_notes()?;
        Ok(self
            .batches()?
            .into_iter()
            .map(|meta| {
                let mut periods = in_force.remove(&meta.id).unwrap_or_default();
                periods.sort();
                let note = notes.remove(&meta.id);
                BatchState {
                    meta,
                    in_force: periods,
                    note,
                }
            })
            .collect())
    }

    /// Every batch, newest first.
    ///
    /// # Errors
    /// On a store failure.
    pub fn batches(&self) -> Result<Vec<BatchMeta>, NodeError> {
        self.db()?
            .open_tree(BATCHES)?
            .iter()
            .rev()
            .map(|kv| Ok(codec::decode(&kv?.1)?))
            .collect()
    }

    /// The cubes in force for a dataset, each restricted to the periods for
    /// which its batch is in force, and the newest import time among them.
    ///
    /// # Errors
    /// On a store failure or a corrupt record.
    pub fn active_cubes(&self, dataset: &str) -> Result<(Vec<Cube>, Option<UnixTime>), NodeError> {
        self.cubes_of(&self.in_force(dataset)?)
    }

    /// The batches in force for a dataset, read without their cubes: what
    /// an answer about the dataset depends on, so that a kept answer is
    /// used again only while this is unchanged.
    ///
    /// # Errors
    /// On a store failure or a corrupt record.
    pub fn in_force(&self, dataset: &str) -> Result<InForce, NodeError> {
        let active = self.db()?.open_tree(ACTIVE)?;
        let mut prefix = dataset.as_bytes().to_vec();
        prefix.push(0);
        let corrupt = || NodeError::Refused("corrupt entry in the store's active tree".into());
        let mut by_batch: std::collections::BTreeMap<u64, Vec<Period>> = Default::default();
        for kv in active.scan_prefix(&prefix) {
            let (k, v) = kv?;
            let id = u64::from_be_bytes(v.as_ref().try_into().map_err(|_| corrupt())?);
            let period: Period = std::str::from_utf8(&k[prefix.len()..])
                .ok()
                .and_then(|p| p.parse().ok())
                .ok_or_else(corrupt)?;
            by_batch.entry(id).or_default().push(period);
        }
        let batches = self.db()?.open_tree(BATCHES)?;
        let mut set = InForce::default();
        for (id, periods) in by_batch {
            let meta = batches.get(id.to_be_bytes())?.map(|m| m.to_vec());
            set.batches.push((id, periods, meta));
        }
        Ok(set)
    }

    /// The cubes of the batches in `set`, each restricted to the periods
    /// for which it is in force, and the newest import time among them.
    ///
    /// # Errors
    /// On a store failure or a corrupt record.
    pub fn cubes_of(&self, set: &InForce) -> Result<(Vec<Cube>, Option<UnixTime>), NodeError> {
        let cubes_tree = self.db()?.open_tree(CUBES)?;
        let mut cubes = Vec::new();
        let mut newest = None;
        for (id, periods, meta) in &set.batches {
            let Some(bytes) = cubes_tree.get(id.to_be_bytes())? else {
                continue;
            };
            let mut cube: Cube = codec::decode(&bytes)?;
            cube.cells.retain(|(k, _)| periods.contains(&k.period));
            if let Some(meta) = meta {
                let meta: BatchMeta = codec::decode(meta)?;
                newest = newest.max(Some(meta.imported_at));
            }
            cubes.push(cube);
        }
        Ok((cubes, newest))
    }

    /// Held by every write, so that a backup sees no write half done.
    /// Refuses the write while the disk has less than
    /// [`passerelle_link::disk::RESERVE`] free, before the engine meets
    /// the end of the disk (sled 0.34 cannot write again after that until
    /// it is opened again), and marks the store degraded.
    pub(crate) fn writing(&self) -> Result<std::sync::RwLockReadGuard<'_, ()>, StoreError> {
        self.handle.writing()
    }

    /// Writes everything to disk.
    ///
    /// # Errors
    /// On a store failure.
    pub fn flush(&self) -> Result<(), NodeError> {
        self.handle.flush()?;
        Ok(())
    }

    /// Closes the store now when this is its last handle (otherwise the
    /// last one closes it when dropped), saying when the engine failed
    /// while closing; the failure is contained either way.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the engine failed while closing.
    pub fn close(self) -> Result<(), StoreError> {
        self.handle.close()
    }

    /// The store folder.
    pub fn folder(&self) -> &Path {
        self.handle.folder()
    }

    /// The handle in force.
    fn db(&self) -> Result<sled::Db, StoreError> {
        self.handle.db()
    }

    /// The store's health: degraded while writes fail.
    pub fn health(&self) -> &passerelle_link::health::Health {
        self.handle.health()
    }

    /// Tries a small durable write, with every other write held back, and
    /// opens the engine again when it failed and the disk has room again;
    /// marks [`Store::health`]. For the running node's probe loop.
    pub fn probe(&self) {
        self.handle.probe();
    }

    /// Marks the health from a write's outcome and passes it on.
    fn noted<T>(&self, r: Result<T, NodeError>) -> Result<T, NodeError> {
        if let Err(NodeError::Store(e)) = &r {
            if e.is_storage_failure() {
                self.handle.health().mark_degraded(e.to_string());
            }
        }
        r
    }
}

/// Debug builds only: when `PASSERELLE_TEST_CRASH_AT` names this point,
/// the process writes the point's name to the file named by
/// `PASSERELLE_TEST_CRASH_MARKER` and waits there forever, so that a test
/// kills it (SIGKILL) at exactly this point of a commit. Release builds
/// have no such point.
#[cfg(debug_assertions)]
fn crash_point(point: &str) {
    if std::env::var("PASSERELLE_TEST_CRASH_AT").is_ok_and(|at| at == point) {
        if let Ok(marker) = std::env::var("PASSERELLE_TEST_CRASH_MARKER") {
            let _ = std::fs::write(marker, point);
        }
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

#[cfg(not(debug_assertions))]
fn crash_point(_: &str) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: u64, periods: &[&str]) -> BatchMeta {
        BatchMeta {
            id,
            dataset: "recues".into(),
            imported_at: 1,
            imported_by: "a".into(),
            file: "f.csv".into(),
            sha256: String::new(),
            rows: 1,
            periods: periods.iter().map(|p| p.parse().unwrap()).collect(),
            status: BatchStatus::Active,
            validated_by: None,
            validated_at: None,
        }
    }

    #[test]
    fn ids_from_the_engine_counter_are_kept_and_new_ones_follow_the_highest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store");
        {
            let store = Store::open(&path).unwrap();
            // An id as older versions made them (the counter jumped by a
            // million at each opening).
            let old = meta(2_000_003, &["2025-T1"]);
            store.commit_batch(&old, &Cube::default(), true).unwrap();
            assert_eq!(store.next_batch_id().unwrap(), 2_000_004);
            assert_eq!(store.next_batch_id().unwrap(), 2_000_005, "never twice");
        }
        let store = Store::open(&path).unwrap();
        let states = store.batch_states().unwrap();
        assert_eq!(states[0].meta.id, 2_000_003);
        assert_eq!(states[0].in_force, vec!["2025-T1".parse().unwrap()]);
        let next = store.next_batch_id().unwrap();
        assert_eq!(
            next, 2_000_004,
            "after a restart, one more than the highest recorded"
        );
        store
            .commit_batch(&meta(next, &["2025-T1"]), &Cube::default(), true)
            .unwrap();
        let states = store.batch_states().unwrap();
        assert_eq!((states[0].meta.id, states[0].in_force.len()), (next, 1));
        assert!(states[1].in_force.is_empty(), "replaced");
    }
}
