//! Attempts per key (a source address for enrollment, probes and
//! sign-in; an account for sign-in; at the hub and at the node's console), as a token bucket: `per_minute`
//! attempts at once, then one more every `60 / per_minute` seconds. A
//! burst across a minute boundary gets no more than one anywhere else (a
//! fixed calendar-minute window would allow twice the limit there). Pure
//! over time: every call is given the time, so tests drive the clock.

use std::{collections::HashMap, hash::Hash, net::IpAddr, sync::Mutex};

use passerelle_protocol::UnixTime;

/// What one attempt costs, in bucket units; a bucket refills
/// `per_minute` units a second, so `per_minute` attempts a minute.
const ATTEMPT: u64 = 60;

/// Keys kept before the full buckets are dropped (a full bucket is the
/// same as no bucket).
const MAX_KEYS: usize = 10_000;

/// One key's bucket: units left at a time.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    at: UnixTime,
    units: u64,
}

/// Counts attempts per key (by default, a source address).
#[derive(Debug)]
pub struct RateLimiter<K = IpAddr> {
    per_minute: u32,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq> RateLimiter<K> {
    /// A limiter allowing `per_minute` attempts per key and minute,
    /// `per_minute` of them at once.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn capacity(&self) -> u64 {
        u64::from(self.per_minute) * ATTEMPT
    }

    /// The units of `b` at `now` (time going backwards refills nothing).
    fn refilled(&self, b: Bucket, now: UnixTime) -> u64 {
        let gained = now.saturating_sub(b.at) * u64::from(self.per_minute);
        b.units.saturating_add(gained).min(self.capacity())
    }

    /// Counts an attempt; `false` when the key is over its limit (a
    /// refused attempt costs nothing more).
    pub fn handle_attempt(&self, key: K, now: UnixTime) -> bool {
        let mut buckets = self.buckets.lock().expect("rate limiter lock");
        if buckets.len() >= MAX_KEYS {
            let full = self.capacity();
            buckets.retain(|_, b| self.refilled(*b, now) < full);
        }
        let capacity = self.capacity();
        let bucket = buckets.entry(key).or_insert(Bucket {
            at: now,
            units: capacity,
        });
        let units = self.refilled(*bucket, now);
        let allowed = units >= ATTEMPT;
        *bucket = Bucket {
            at: now.max(bucket.at),
            units: if allowed { units - ATTEMPT } else { units },
        };
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address() {
        let rl = RateLimiter::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(rl.handle_attempt(a, 60));
        assert!(rl.handle_attempt(a, 61));
        assert!(!rl.handle_attempt(a, 62));
        assert!(rl.handle_attempt(b, 62));
        // One attempt back every 30 s (counted from the last one that
        // passed, at 61 s), two after a minute, never more.
        assert!(!rl.handle_attempt(a, 89));
        assert!(rl.handle_attempt(a, 91));
        assert!(!rl.handle_attempt(a, 92));
        assert!(rl.handle_attempt(a, 1_000));
        assert!(rl.handle_attempt(a, 1_000));
        assert!(!rl.handle_attempt(a, 1_000));
    }

    #[test]
    fn a_burst_across_a_minute_boundary_gets_the_limit_once() {
        let rl = RateLimiter::new(10);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let passed = (0..40)
            .filter(|i| rl.handle_attempt(a, 119 + i / 20))
            .count();
        // 10 at 119 s, then 10 units (a sixth of an attempt) by 120 s.
        assert_eq!(passed, 10);
    }

    #[test]
    fn limits_per_account_too() {
        let rl = RateLimiter::<String>::new(1);
        assert!(rl.handle_attempt("ana@cd976.fr".into(), 60));
        assert!(!rl.handle_attempt("ana@cd976.fr".into(), 70));
        assert!(rl.handle_attempt("bob@cd976.fr".into(), 70));
        assert!(rl.handle_attempt("ana@cd976.fr".into(), 120));
    }

    #[test]
    fn the_clock_going_back_refills_nothing_and_full_buckets_are_dropped() {
        let rl = RateLimiter::new(1);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        assert!(rl.handle_attempt(a, 1_000));
        assert!(!rl.handle_attempt(a, 10));
        assert!(!rl.handle_attempt(a, 1_059));
        assert!(rl.handle_attempt(a, 1_060));
        let many = RateLimiter::<u32>::new(1);
        for k in 0..MAX_KEYS as u32 {
            assert!(many.handle_attempt(k, 0));
        }
        // A minute later every bucket is full again: all are dropped.
        assert!(many.handle_attempt(u32::MAX, 60));
        assert_eq!(many.buckets.lock().unwrap().len(), 1);
    }
}
