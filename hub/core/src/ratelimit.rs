//! Attempts per key (a source address for enrollment, probes and
//! sign-in; an account for sign-in): a fixed one-minute window. Pure over
//! time, so it is tested without a clock.

use std::{collections::HashMap, hash::Hash, net::IpAddr, sync::Mutex};

use passerelle_protocol::UnixTime;

/// Counts attempts per key (by default, a source address) per minute.
#[derive(Debug)]
pub struct RateLimiter<K = IpAddr> {
    per_minute: u32,
    windows: Mutex<HashMap<K, (UnixTime, u32)>>,
}

impl<K: Hash + Eq> RateLimiter<K> {
    /// A limiter allowing `per_minute` attempts per key.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt; `false` when the key is over its limit.
    pub fn handle_attempt(&self, ip: K, now: UnixTime) -> bool {
        let minute = now / 60;
        let mut w = self.windows.lock().expect("rate limiter lock");
        if w.len() > 10_000 {
            w.retain(|_, (m, _)| *m == minute);
        }
        let entry = w.entry(ip).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        entry.1 += 1;
        entry.1 <= self.per_minute
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_address_per_minute() {
        let rl = RateLimiter::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(rl.handle_attempt(a, 60));
        assert!(rl.handle_attempt(a, 61));
        assert!(!rl.handle_attempt(a, 62));
        assert!(rl.handle_attempt(b, 62));
        assert!(rl.handle_attempt(a, 120));
    }

    #[test]
    fn limits_per_account_too() {
        let rl = RateLimiter::<String>::new(1);
        assert!(rl.handle_attempt("ana@cd976.fr".into(), 60));
        assert!(!rl.handle_attempt("ana@cd976.fr".into(), 70));
        assert!(rl.handle_attempt("bob@cd976.fr".into(), 70));
    }
}
