//! Enrollment attempts per source address: a fixed one-minute window.
//! Pure over time, so it is tested without a clock.

use std::{collections::HashMap, net::IpAddr, sync::Mutex};

use passerelle_protocol::UnixTime;

/// Counts attempts per address per minute.
#[derive(Debug)]
pub struct RateLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<IpAddr, (UnixTime, u32)>>,
}

impl RateLimiter {
    /// A limiter allowing `per_minute` attempts per address.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an attempt; `false` when the address is over its limit.
    pub fn handle_attempt(&self, ip: IpAddr, now: UnixTime) -> bool {
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
}
