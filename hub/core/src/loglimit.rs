//! Repeated log events from one peer, limited: a few per window are
//! written, the rest counted, and the next event written says how many
//! were left out. A peer that fails a thousand handshakes a second costs a
//! few log lines a minute, and the operator still sees the count.
//!
//! Pure over time (the caller passes `now`), so it is tested without a
//! clock. Memory is bounded: past [`LogLimiter::MAX_PEERS`] addresses,
//! newcomers share one bucket.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Per-peer windows of log events.
#[derive(Debug)]
pub struct LogLimiter {
    burst: u32,
    window: Duration,
    peers: Mutex<HashMap<Option<IpAddr>, Window>>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    written: u32,
    left_out: u64,
}

impl Default for LogLimiter {
    /// Five events per peer per minute.
    fn default() -> Self {
        Self::new(5, Duration::from_secs(60))
    }
}

impl LogLimiter {
    /// Peers tracked apart at most; beyond, they share one bucket.
    pub const MAX_PEERS: usize = 4096;

    /// A limiter writing `burst` events per peer per `window`.
    pub fn new(burst: u32, window: Duration) -> Self {
        Self {
            burst,
            window,
            peers: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an event from `peer`. `Some(n)` when it is to be written,
    /// `n` being how many of this peer's events were left out since the
    /// last one written; `None` when it is left out.
    pub fn handle_event(&self, peer: IpAddr, now: Instant) -> Option<u64> {
        let mut peers = self.peers.lock().expect("log limiter lock");
        let key = if peers.contains_key(&Some(peer)) || peers.len() < Self::MAX_PEERS {
            Some(peer)
        } else {
            let window = self.window;
            peers.retain(|_, w| now.saturating_duration_since(w.start) < window);
            (peers.len() < Self::MAX_PEERS).then_some(peer)
        };
        let w = peers.entry(key).or_insert(Window {
            start: now,
            written: 0,
            left_out: 0,
        });
        if now.saturating_duration_since(w.start) >= self.window {
            w.start = now;
            w.written = 0;
        }
        if w.written < self.burst {
            w.written += 1;
            Some(std::mem::take(&mut w.left_out))
        } else {
            w.left_out += 1;
            crate::metrics::global().log_suppressed(1);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_per_window_then_the_count_of_what_was_left_out() {
        let l = LogLimiter::new(2, Duration::from_secs(60));
        let t = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(l.handle_event(a, t), Some(0));
        assert_eq!(l.handle_event(a, t), Some(0));
        for _ in 0..5 {
            assert_eq!(l.handle_event(a, t), None);
        }
        // Another peer is not silenced by the first.
        assert_eq!(l.handle_event(b, t), Some(0));
        let later = t + Duration::from_secs(61);
        assert_eq!(l.handle_event(a, later), Some(5));
        assert_eq!(l.handle_event(a, later), Some(0));
        assert_eq!(l.handle_event(a, later), None);
    }

    #[test]
    fn many_peers_share_one_bucket_past_the_cap() {
        let l = LogLimiter::new(1, Duration::from_secs(60));
        let t = Instant::now();
        for i in 0..LogLimiter::MAX_PEERS as u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            assert_eq!(l.handle_event(ip, t), Some(0));
        }
        let x: IpAddr = "198.51.100.1".parse().unwrap();
        let y: IpAddr = "198.51.100.2".parse().unwrap();
        assert_eq!(l.handle_event(x, t), Some(0));
        assert_eq!(l.handle_event(y, t), None, "shares the overflow bucket");
        assert!(l.peers.lock().unwrap().len() <= LogLimiter::MAX_PEERS + 1);
        // Once windows expire, old peers make room again.
        let later = t + Duration::from_secs(61);
        assert_eq!(l.handle_event(y, later), Some(0));
    }
}
