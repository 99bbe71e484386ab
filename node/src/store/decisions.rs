//! Decisions on batches after their import: a pending batch validated
//! or rejected (never by whoever imported it), a batch in force withdrawn
//! (the batches before it in force again). Each
//! is one transaction over the batch, its note and the `active` entries,
//! so a failure leaves every period with the batch it had.

use std::collections::HashMap;

use passerelle_protocol::{codec, period::Period, UnixTime};
use passerelle_store::sled::Transactional;
use serde::{Deserialize, Serialize};

use super::{active_key, transaction_error, BatchMeta, BatchStatus, Store, ACTIVE, BATCHES};
use crate::{actor::Actor, refusal::Refusal, NodeError};

const NOTES: &str = "batch_notes";

/// Who rejected or withdrew a batch, when, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchNote {
    /// Who decided (an actor's text form).
    pub by: String,
    /// When.
    pub at: UnixTime,
    /// The reason given (empty for a withdrawal).
    pub reason: String,
}

/// A batch withdrawn, and what is in force instead for each of its
/// periods (none when no earlier batch covers the period).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolledBack {
    /// The batch withdrawn.
    pub withdrawn: BatchMeta,
    /// Each period it was in force for, and the batch in force now.
    pub restored: Vec<(Period, Option<u64>)>,
}

impl Store {
    /// Validates a pending batch and puts it in force, in one transaction
    /// (through [`crate::batches::validate`], which records it).
    ///
    /// # Errors
    /// When the batch is unknown, not pending, or validated by whoever
    /// imported it.
    pub fn validate(&self, id: u64, by: &Actor, at: UnixTime) -> Result<BatchMeta, NodeError> {
        let _one = self.deciding();
        let _w = self.writing()?;
        let batches = self.db()?.open_tree(BATCHES)?;
        let active = self.db()?.open_tree(ACTIVE)?;
        let mut meta = self.pending_batch(id, by)?;
        meta.status = BatchStatus::Active;
        meta.validated_by = Some(by.to_string());
        meta.validated_at = Some(at);
        let meta_bytes = codec::encode(&meta)?;
        (&batches, &active)
            .transaction(|(b, a)| {
                b.insert(&id.to_be_bytes(), meta_bytes.as_slice())?;
                for p in &meta.periods {
                    a.insert(active_key(&meta.dataset, p), &id.to_be_bytes())?;
                }
                Ok(())
            })
            .map_err(transaction_error)?;
        self.handle.flush()?;
        Ok(meta)
    }

    /// Holds decisions on batches to one at a time.
    pub(super) fn deciding(&self) -> std::sync::MutexGuard<'_, ()> {
        self.decisions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A batch waiting for a decision that `by` may take (not its
    /// importer).
    fn pending_batch(&self, id: u64, by: &Actor) -> Result<BatchMeta, NodeError> {
        let Some(bytes) = self.db()?.open_tree(BATCHES)?.get(id.to_be_bytes())? else {
            return Err(Refusal::UnknownBatch(id).into());
        };
        let meta: BatchMeta = codec::decode(&bytes)?;
        if meta.status != BatchStatus::Pending {
            return Err(Refusal::NotPending(id).into());
        }
        if Actor::parse(&meta.imported_by) == *by {
            return Err(Refusal::OwnBatch {
                batch: id,
                by: meta.imported_by,
            }
            .into());
        }
        Ok(meta)
    }

    /// What withdrawing the latest batch in force of `dataset` would do:
    /// that batch (as it is now), and for each period it is in force for,
    /// the latest earlier batch in force covering the period, or none.
    ///
    /// # Errors
    /// When no batch of the dataset is in force; a store failure.
    pub fn rollback_plan(&self, dataset: &str) -> Result<RolledBack, NodeError> {
        let states = self.batch_states()?;
        let Some(latest) = states
            .iter()
            .filter(|s| s.meta.dataset == dataset && !s.in_force.is_empty())
            .max_by_key(|s| s.meta.id)
        else {
            return Err(Refusal::NothingInForce(dataset.to_string()).into());
        };
        let restored = latest
            .in_force
            .iter()
            .map(|p| {
                let before = states
                    .iter()
                    .map(|s| &s.meta)
                    .filter(|m| {
                        m.dataset == dataset
                            && m.id < latest.meta.id
                            && m.status == BatchStatus::Active
                            && m.periods.contains(p)
                    })
                    .map(|m| m.id)
                    .max();
                (*p, before)
            })
            .collect();
        Ok(RolledBack {
            withdrawn: latest.meta.clone(),
            restored,
        })
    }

    /// Every note, by batch id.
    pub(super) fn batch_notes(&self) -> Result<HashMap<u64, BatchNote>, NodeError> {
        let mut out = HashMap::new();
        for kv in self.db()?.open_tree(NOTES)?.iter() {
            let (k, v) = kv?;
            let id = <[u8; 8]>::try_from(&k[..])
                .map(u64::from_be_bytes)
                .map_err(|_| {
                    NodeError::Refused("corrupt key in the store's batch_notes tree".into())
                })?;
            out.insert(id, codec::decode(&v)?);
        }
        Ok(out)
    }

    /// Rejects a pending batch (through [`crate::batches::reject`], which
    /// records it).
    ///
    /// # Errors
    /// When the batch is unknown, not pending, or rejected by whoever
    /// imported it.
    pub fn reject(
        &self,
        id: u64,
        by: &Actor,
        reason: &str,
        at: UnixTime,
    ) -> Result<BatchMeta, NodeError> {
        self.noted((|| {
            let _one = self.deciding();
            let _w = self.writing()?;
            let mut meta = self.pending_batch(id, by)?;
            meta.status = BatchStatus::Rejected;
            let note = BatchNote {
                by: by.to_string(),
                at,
                reason: reason.to_string(),
            };
            let (batches, notes) = (self.db()?.open_tree(BATCHES)?, self.db()?.open_tree(NOTES)?);
            let meta_bytes = codec::encode(&meta)?;
            let note_bytes = codec::encode(&note)?;
            (&batches, &notes)
                .transaction(|(b, n)| {
                    b.insert(&id.to_be_bytes(), meta_bytes.as_slice())?;
                    n.insert(&id.to_be_bytes(), note_bytes.as_slice())?;
                    Ok(())
                })
                .map_err(transaction_error)?;
            self.handle.flush()?;
            Ok(meta)
        })())
    }

    /// Withdraws the latest batch in force of `dataset` (through
    /// [`crate::batches::rollback`], which records it): for each period
    /// it was in force for, the latest earlier batch in force that covers
    /// the period is in force again, or none.
    ///
    /// # Errors
    /// When no batch of the dataset is in force; a store failure.
    pub fn rollback(
        &self,
        dataset: &str,
        by: &Actor,
        at: UnixTime,
    ) -> Result<RolledBack, NodeError> {
        self.noted((|| {
            let _one = self.deciding();
            let _w = self.writing()?;
            let RolledBack {
                withdrawn: latest,
                restored,
            } = self.rollback_plan(dataset)?;
            let mut withdrawn = latest;
            withdrawn.status = BatchStatus::Withdrawn;
            let note = BatchNote {
                by: by.to_string(),
                at,
                reason: String::new(),
            };
            let (batches, notes, active) = (
                self.db()?.open_tree(BATCHES)?,
                self.db()?.open_tree(NOTES)?,
                self.db()?.open_tree(ACTIVE)?,
            );
            let id = withdrawn.id.to_be_bytes();
            let meta_bytes = codec::encode(&withdrawn)?;
            let note_bytes = codec::encode(&note)?;
            (&batches, &notes, &active)
                .transaction(|(b, n, a)| {
                    b.insert(&id, meta_bytes.as_slice())?;
                    n.insert(&id, note_bytes.as_slice())?;
                    for (p, before) in &restored {
                        let key = active_key(dataset, p);
                        match before {
                            Some(earlier) => a.insert(key, &earlier.to_be_bytes())?,
                            None => a.remove(key)?,
                        };
                    }
                    Ok(())
                })
                .map_err(transaction_error)?;
            self.handle.flush()?;
            Ok(RolledBack {
                withdrawn,
                restored,
            })
        })())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::cube::Cube;

    fn meta(id: u64, periods: &[&str], status: BatchStatus) -> BatchMeta {
        BatchMeta {
            id,
            dataset: "recues".into(),
            imported_at: id,
            imported_by: "operator:ana".into(),
            file: "f.csv".into(),
            sha256: String::new(),
            rows: 1,
            periods: periods.iter().map(|p| p.parse().unwrap()).collect(),
            status,
            validated_by: None,
            validated_at: None,
        }
    }

    fn p(s: &str) -> Period {
        s.parse().unwrap()
    }

    #[test]
    fn a_rollback_brings_back_the_batch_before_period_by_period() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let bob = Actor::Agent("bob".into());
        store
            .commit_batch(
                &meta(1, &["2025-T1", "2025-T2"], BatchStatus::Active),
                &Cube::default(),
                true,
            )
            .unwrap();
        store
            .commit_batch(
                &meta(2, &["2025-T2", "2025-T3"], BatchStatus::Active),
                &Cube::default(),
                true,
            )
            .unwrap();
        store
            .commit_batch(
                &meta(3, &["2025-T3"], BatchStatus::Pending),
                &Cube::default(),
                false,
            )
            .unwrap();
        let done = store.rollback("recues", &bob, 50).unwrap();
        assert_eq!(done.withdrawn.id, 2);
        assert_eq!(
            done.restored,
            vec![(p("2025-T2"), Some(1)), (p("2025-T3"), None)]
        );
        let states = store.batch_states().unwrap();
        let of = |id: u64| states.iter().find(|s| s.meta.id == id).unwrap();
        assert_eq!(of(1).in_force, vec![p("2025-T1"), p("2025-T2")]);
        assert_eq!(of(2).meta.status, BatchStatus::Withdrawn);
        assert_eq!(of(2).note.as_ref().unwrap().by, "agent:bob");
        assert!(of(3).in_force.is_empty(), "a pending batch stays pending");
        // Again: batch 1 goes, and nothing is left in force.
        assert_eq!(store.rollback("recues", &bob, 51).unwrap().withdrawn.id, 1);
        assert_eq!(
            store.rollback("recues", &bob, 52).unwrap_err().to_string(),
            Refusal::NothingInForce("recues".into()).to_string()
        );
        assert!(store.datasets().unwrap().is_empty());
    }

    #[test]
    fn only_another_person_rejects_a_pending_batch() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        store
            .commit_batch(
                &meta(1, &["2025-T1"], BatchStatus::Pending),
                &Cube::default(),
                false,
            )
            .unwrap();
        let ana = Actor::System("ana".into());
        assert!(matches!(
            store.reject(1, &ana, "", 5),
            Err(NodeError::Rule(Refusal::OwnBatch { batch: 1, .. }))
        ));
        let bob = Actor::Agent("bob".into());
        let m = store.reject(1, &bob, "colonne décalée", 6).unwrap();
        assert_eq!(m.status, BatchStatus::Rejected);
        assert!(matches!(
            store.validate(1, &bob, 7),
            Err(NodeError::Rule(Refusal::NotPending(1)))
        ));
        let state = &store.batch_states().unwrap()[0];
        assert_eq!(state.note.as_ref().unwrap().reason, "colonne décalée");
        assert!(state.in_force.is_empty());
    }
}
