//! Heads of the hub's own chain as the hub states them to nodes, and the
//! pure check a node runs against the head it keeps: a hub chain later
//! truncated or rewritten no longer holds a head it showed.

use serde::{Deserialize, Serialize};

/// The head of the hub's chain as the hub states it to a node, with the
/// hash of its record `n - 1` for the head of `n` records the node keeps
/// (what the node answered last time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubHead {
    /// Records in the hub's chain.
    pub records: u64,
    /// Hash of its last record (zeros for an empty chain).
    pub hash: [u8; 32],
    /// `(n, hash of record n - 1)` in the hub's chain now.
    pub proof: Option<(u64, [u8; 32])>,
}

/// A head of the hub's chain a node keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptHead {
    /// Records.
    pub records: u64,
    /// Hash of record `records - 1`.
    pub hash: [u8; 32],
}

/// What a stated hub head says about the chain a node saw before.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubHeadVerdict {
    /// It still contains the kept head.
    Consistent,
    /// Nothing to compare yet (no head kept, or no proof for it).
    Unproven,
    /// It no longer contains the kept head: the first record that differs
    /// (as far as the node can tell), and why.
    Diverged {
        /// The record where the chains part.
        at: u64,
        /// In plain words.
        why: String,
    },
}

/// Checks a stated hub head against the newest head the node keeps.
/// Pure: the node stores the heads and acts on the verdict.
pub fn check_hub_head(kept: Option<&KeptHead>, stated: &HubHead) -> HubHeadVerdict {
    let Some(k) = kept else {
        return HubHeadVerdict::Unproven;
    };
    if stated.records < k.records {
        return HubHeadVerdict::Diverged {
            at: stated.records,
            why: format!(
                "the hub's chain has {} records, fewer than the {} it showed before",
                stated.records, k.records
            ),
        };
    }
    let rewritten = |at: u64| HubHeadVerdict::Diverged {
        at,
        why: format!("record {at} of the hub's chain no longer has the hash the hub showed before"),
    };
    if stated.records == k.records {
        return if stated.hash == k.hash {
            HubHeadVerdict::Consistent
        } else {
            rewritten(k.records.saturating_sub(1))
        };
    }
    match stated.proof {
        Some((n, hash)) if n == k.records && hash == k.hash => HubHeadVerdict::Consistent,
        Some((n, _)) if n == k.records => rewritten(n.saturating_sub(1)),
        _ => HubHeadVerdict::Unproven,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_heads_are_checked_against_the_kept_one() {
        let k = KeptHead {
            records: 5,
            hash: [5; 32],
        };
        let head = |records, hash, proof| HubHead {
            records,
            hash,
            proof,
        };
        assert_eq!(
            check_hub_head(None, &head(9, [9; 32], None)),
            HubHeadVerdict::Unproven
        );
        assert_eq!(
            check_hub_head(Some(&k), &head(5, [5; 32], None)),
            HubHeadVerdict::Consistent
        );
        assert!(matches!(
            check_hub_head(Some(&k), &head(5, [6; 32], None)),
            HubHeadVerdict::Diverged { at: 4, .. }
        ));
        assert!(matches!(
            check_hub_head(Some(&k), &head(3, [3; 32], None)),
            HubHeadVerdict::Diverged { at: 3, .. }
        ));
        assert_eq!(
            check_hub_head(Some(&k), &head(9, [9; 32], Some((5, [5; 32])))),
            HubHeadVerdict::Consistent
        );
        assert!(matches!(
            check_hub_head(Some(&k), &head(9, [9; 32], Some((5, [7; 32])))),
            HubHeadVerdict::Diverged { at: 4, .. }
        ));
        // A proof for another head, or none, proves nothing.
        assert_eq!(
            check_hub_head(Some(&k), &head(9, [9; 32], Some((4, [4; 32])))),
            HubHeadVerdict::Unproven
        );
        assert_eq!(
            check_hub_head(Some(&k), &head(9, [9; 32], None)),
            HubHeadVerdict::Unproven
        );
    }
}
