//! The indicators' history as retention sees it: entries by key, without
//! decoding them, and the moves retention makes (a published result
//! summarised, an old entry forgotten). What to keep is decided by the
//! observatory; this module only reads and writes.
//!
//! A summary is written (and flushed) before the full result it replaces
//! is removed: a crash between the two leaves both, and the next pass
//! summarises again. Nothing is lost in between.

use passerelle_protocol::{codec, UnixTime};
use serde::{de::DeserializeOwned, Serialize};

use super::{
    published::{prefix, sequence},
    ObservatorySpace, Store,
};
use crate::HubError;

/// The parts of an indicator's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryPart {
    /// Published results, with their signed answers.
    Published,
    /// Published results kept as summaries.
    Summaries,
    /// Drafts: compositions not published.
    Drafts,
}

/// One entry of a history, seen by its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// Its key in the store.
    pub key: Vec<u8>,
    /// Its sequence (one counter for every part).
    pub seq: u64,
    /// When it was composed.
    pub computed_at: UnixTime,
    /// Its stored size in bytes.
    pub bytes: usize,
}

/// The composition time in a history key (`indicator \0 time sequence`).
fn time(key: &[u8]) -> UnixTime {
    key.len()
        .checked_sub(16)
        .and_then(|at| <[u8; 8]>::try_from(&key[at..at + 8]).ok())
        .map_or(0, u64::from_be_bytes)
}

fn kept(key: &[u8], bytes: usize) -> Kept {
    Kept {
        key: key.to_vec(),
        seq: sequence(key),
        computed_at: time(key),
        bytes,
    }
}

impl Store {
    /// The entries of one part of an indicator's history, oldest first.
    ///
    /// # Errors
    /// On a store failure.
    pub fn history_entries(
        &self,
        part: HistoryPart,
        indicator: &str,
    ) -> Result<Vec<Kept>, HubError> {
        let prefix = prefix(indicator);
        let mut out = Vec::new();
        match part {
            HistoryPart::Published => {
                for kv in self.tree("results")?.scan_prefix(&prefix) {
                    let (k, v) = kv?;
                    out.push(kept(&k, v.len()));
                }
            }
            HistoryPart::Summaries | HistoryPart::Drafts => {
                let space = if part == HistoryPart::Drafts {
                    ObservatorySpace::Drafts
                } else {
                    ObservatorySpace::Summaries
                };
                let raw = self.keyspace::<(), super::keyspace::Raw>(space);
                for e in raw.scan_prefix(&prefix)? {
                    let e = e?;
                    out.push(kept(e.key(), e.stored_len()));
                }
            }
        }
        out.sort_by_key(|k| k.seq);
        Ok(out)
    }

    /// A published result by its key.
    ///
    /// # Errors
    /// On a store failure or a damaged entry.
    pub fn published_at<T: DeserializeOwned>(&self, key: &[u8]) -> Result<Option<T>, HubError> {
        self.tree("results")?
            .get(key)?
            .map(|v| codec::decode(&v))
            .transpose()
            .map_err(Into::into)
    }

    /// Replaces the published result at `key` by its summary: the summary
    /// written and flushed first, then the result removed.
    ///
    /// # Errors
    /// On a store failure (then the result is still there).
    pub fn summarise<S: Serialize + DeserializeOwned>(
        &self,
        key: &[u8],
        summary: &S,
    ) -> Result<(), HubError> {
        let _w = self.writing()?;
        let summaries = self.keyspace::<S, super::keyspace::Bincode>(ObservatorySpace::Summaries);
        summaries.insert(key, summary)?;
        summaries.flush()?;
        self.tree("results")?.remove(key)?;
        self.db.flush()?;
        Ok(())
    }

    /// Forgets one entry of a history.
    ///
    /// # Errors
    /// On a store failure.
    pub fn forget_entry(&self, part: HistoryPart, key: &[u8]) -> Result<(), HubError> {
        let _w = self.writing()?;
        match part {
            HistoryPart::Published => {
                self.tree("results")?.remove(key)?;
            }
            HistoryPart::Summaries => {
                self.keyspace::<(), super::keyspace::Raw>(ObservatorySpace::Summaries)
                    .remove(key)?;
            }
            HistoryPart::Drafts => {
                self.keyspace::<(), super::keyspace::Raw>(ObservatorySpace::Drafts)
                    .remove(key)?;
            }
        }
        self.db.flush()?;
        Ok(())
    }

    /// The summaries of an indicator, oldest first.
    ///
    /// # Errors
    /// On a store failure or a damaged entry.
    pub fn summaries<S: Serialize + DeserializeOwned>(
        &self,
        indicator: &str,
    ) -> Result<Vec<S>, HubError> {
        let space = self.keyspace::<S, super::keyspace::Bincode>(ObservatorySpace::Summaries);
        let mut out = Vec::new();
        for e in space.scan_prefix(&prefix(indicator))? {
            out.push(e?.value()?);
        }
        Ok(out)
    }
}
