//! Heads of the hub's audit chain this node was shown (each in a query
//! signed by the hub), kept as an outside anchor of the hub's chain: a
//! hub chain later truncated or rewritten, even with every hash
//! recomputed, no longer contains them, and the first statement that says
//! so is kept as evidence. The rules are pure, in
//! [`passerelle_protocol::audit::check_hub_head`].
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `hub_heads` | records (big-endian) | [`HubHeadRecord`] |
//! | `hub_divergence` | `diverged` | [`Divergence`], once found |

use passerelle_protocol::{
    audit::{check_hub_head, HubHead, HubHeadVerdict, KeptHead},
    codec, UnixTime,
};
use serde::{Deserialize, Serialize};

use super::Store;
use crate::NodeError;

const HEADS: &str = "hub_heads";
const DIVERGENCE: &str = "hub_divergence";
const DIVERGED: &[u8] = b"diverged";

/// Heads kept at most; the oldest go first.
pub const MAX_HEADS: usize = 512;

/// A head of the hub's chain, as kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubHeadRecord {
    /// Records in the hub's chain then.
    pub records: u64,
    /// Hash of its last record.
    pub hash: [u8; 32],
    /// When the hub stated it.
    pub seen_at: UnixTime,
    /// When a later statement proved the hub's chain still held it.
    pub confirmed_at: Option<UnixTime>,
}

/// The hub's chain found without a head it showed before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Divergence {
    /// The record where the chains part (as far as this node can tell).
    pub at: u64,
    /// In plain words.
    pub why: String,
    /// When.
    pub found_at: UnixTime,
    /// The head the hub stated then (records, hash of the last).
    pub stated: (u64, [u8; 32]),
}

impl Store {
    /// The newest head kept.
    fn last_hub_head(&self) -> Result<Option<HubHeadRecord>, NodeError> {
        let tree = self.db()?.open_tree(HEADS)?;
        Ok(match tree.last()? {
            Some((_, v)) => Some(codec::decode(&v)?),
            None => None,
        })
    }

    /// Takes a head of the hub's chain the hub stated: checks it against
    /// the newest head kept (a divergence is recorded once, and kept), and
    /// keeps it once the newest kept one is proven still there. Returns the
    /// head the hub must prove next time.
    ///
    /// # Errors
    /// On a store failure.
    pub fn note_hub_head(&self, stated: &HubHead, now: UnixTime) -> Result<Option<u64>, NodeError> {
        let _w = self.writing()?;
        let db = self.db()?;
        let (heads, divergence) = (db.open_tree(HEADS)?, db.open_tree(DIVERGENCE)?);
        let last = self.last_hub_head()?;
        let want = last.as_ref().map(|h| h.records);
        if divergence.contains_key(DIVERGED)? {
            return Ok(want);
        }
        let kept = last.as_ref().map(|h| KeptHead {
            records: h.records,
            hash: h.hash,
        });
        let keep_new = match check_hub_head(kept.as_ref(), stated) {
            HubHeadVerdict::Diverged { at, why } => {
                tracing::error!(at, reason = %why, "the hub's audit chain no longer holds a head it showed this node");
                let d = Divergence {
                    at,
                    why,
                    found_at: now,
                    stated: (stated.records, stated.hash),
                };
                divergence.insert(DIVERGED, codec::encode(&d)?)?;
                false
            }
            HubHeadVerdict::Consistent => {
                if let Some(mut h) = last {
                    h.confirmed_at = Some(now);
                    heads.insert(h.records.to_be_bytes(), codec::encode(&h)?)?;
                }
                true
            }
            // Only a proven head lets a newer one in: otherwise a chain
            // rewritten meanwhile would never be compared.
            HubHeadVerdict::Unproven => kept.is_none(),
        };
        let mut want = want;
        if keep_new && stated.records > 0 && Some(stated.records) != want {
            let h = HubHeadRecord {
                records: stated.records,
                hash: stated.hash,
                seen_at: now,
                confirmed_at: None,
            };
            heads.insert(h.records.to_be_bytes(), codec::encode(&h)?)?;
            want = Some(h.records);
            while heads.len() > MAX_HEADS {
                let Some((k, _)) = heads.first()? else { break };
                heads.remove(k)?;
            }
        }
        self.handle.flush()?;
        Ok(want)
    }

    /// The heads kept, newest first (at most `limit`), and the divergence
    /// found, if any.
    ///
    /// # Errors
    /// On a store failure or a damaged record.
    pub fn hub_heads(
        &self,
        limit: usize,
    ) -> Result<(Vec<HubHeadRecord>, Option<Divergence>), NodeError> {
        let db = self.db()?;
        let mut out = Vec::new();
        for kv in db.open_tree(HEADS)?.iter().rev().take(limit) {
            let (_, v) = kv?;
            out.push(codec::decode(&v)?);
        }
        let diverged = match db.open_tree(DIVERGENCE)?.get(DIVERGED)? {
            Some(v) => Some(codec::decode(&v)?),
            None => None,
        };
        Ok((out, diverged))
    }
}
