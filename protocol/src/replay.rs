//! The nonce cache that refuses replayed queries.
//!
//! A query is valid only inside the clock window around its issue time, so a
//! nonce needs remembering only until its query would be stale anyway. The
//! cache is bounded: when it is full of live nonces it refuses new queries
//! (fail closed) rather than forget one that could be replayed.

use std::collections::{BTreeSet, HashMap};

use crate::UnixTime;

/// Outcome of offering a nonce to the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// First time: the nonce is now remembered.
    Fresh,
    /// The nonce was seen before within its validity.
    Replayed,
    /// The cache is full of live nonces; the query must be refused.
    Full,
}

/// Remembers nonces until they expire.
#[derive(Debug)]
pub struct NonceCache {
    expiry: HashMap<[u8; 16], UnixTime>,
    by_expiry: BTreeSet<(UnixTime, [u8; 16])>,
    capacity: usize,
}

impl NonceCache {
    /// A cache holding at most `capacity` live nonces.
    pub fn new(capacity: usize) -> Self {
        Self {
            expiry: HashMap::new(),
            by_expiry: BTreeSet::new(),
            capacity,
        }
    }

    /// Offers a nonce that stays valid until `expires_at`.
    pub fn handle_nonce(&mut self, nonce: [u8; 16], expires_at: UnixTime, now: UnixTime) -> Seen {
        while let Some(&(exp, old)) = self.by_expiry.first() {
            if exp >= now {
                break;
            }
            self.by_expiry.pop_first();
            self.expiry.remove(&old);
        }
        if self.expiry.contains_key(&nonce) {
            return Seen::Replayed;
        }
        if self.expiry.len() >= self.capacity {
            return Seen::Full;
        }
        self.expiry.insert(nonce, expires_at);
        self.by_expiry.insert((expires_at, nonce));
        Seen::Fresh
    }

    /// Number of live nonces remembered.
    pub fn len(&self) -> usize {
        self.expiry.len()
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.expiry.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_is_refused_until_expiry() {
        let mut cache = NonceCache::new(10);
        assert_eq!(cache.handle_nonce([1; 16], 100, 0), Seen::Fresh);
        assert_eq!(cache.handle_nonce([1; 16], 100, 50), Seen::Replayed);
        assert_eq!(cache.handle_nonce([2; 16], 100, 50), Seen::Fresh);
        // After expiry the entry is forgotten (the clock window refuses it).
        assert_eq!(cache.handle_nonce([1; 16], 300, 101), Seen::Fresh);
    }

    #[test]
    fn full_cache_fails_closed_then_recovers() {
        let mut cache = NonceCache::new(3);
        for i in 0..3u8 {
            assert_eq!(cache.handle_nonce([i; 16], 100, 0), Seen::Fresh);
        }
        assert_eq!(cache.handle_nonce([9; 16], 100, 0), Seen::Full);
        assert_eq!(cache.handle_nonce([9; 16], 300, 150), Seen::Fresh);
        assert_eq!(cache.len(), 1);
    }
}
