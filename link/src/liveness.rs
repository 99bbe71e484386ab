//! Liveness of a link: a peer that died (killed, frozen, unplugged) is
//! noticed within seconds instead of at the QUIC idle timeout.
//!
//! The check reads QUIC itself, not the application: each side sends a
//! keep-alive (a QUIC PING) when it has heard nothing for its keep-alive
//! interval, and a live peer acknowledges every PING within its ack delay
//! (25 ms) plus a round trip. So a live link always has something coming
//! in: acknowledgements, the peer's own keep-alives, stream data or flow
//! control. [`silent`] samples the connection's counters of frames
//! received (authenticated packets only) once per interval; when they have
//! not moved for the silence limit, the peer is taken for gone.
//!
//! Why not the signed `Ping` query every second: at 1,000 nodes that is a
//! thousand streams, signatures and verifications each second on each
//! side, to learn what the transport already knows for the cost of one
//! small packet each way. A node whose process is alive but whose
//! application is stuck still answers QUIC; the query timeout covers that
//! case, as before. The QUIC check needs nothing from the peer but QUIC,
//! so nodes and hubs of every protocol version take part unchanged.

use std::time::{Duration, Instant};

/// How a link is watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watch {
    /// How often the counters are read. The watching side's keep-alive
    /// interval must not be longer, so a quiet link still carries PINGs.
    pub every: Duration,
    /// Silence after which the peer is taken for gone.
    pub silence: Duration,
}

/// Keep-alive intervals without a packet after which a peer is gone, when
/// only the keep-alive pace is configured (the node's side).
pub const MISSED_KEEP_ALIVES: u32 = 3;

impl Watch {
    /// Checks at each keep-alive interval; gone after
    /// [`MISSED_KEEP_ALIVES`] of them without a packet.
    pub fn keep_alive(interval: Duration) -> Self {
        Self {
            every: interval,
            silence: interval * MISSED_KEEP_ALIVES,
        }
    }

    /// Samples in a row without news that make the silence: the silence
    /// limit in whole intervals, at least one.
    pub fn misses(&self) -> u32 {
        let every = self.every.as_nanos().max(1);
        u32::try_from(self.silence.as_nanos().div_ceil(every))
            .unwrap_or(u32::MAX)
            .max(1)
    }
}

/// What has been heard from the peer, and how many samples in a row
/// brought nothing new (pure: the counters and the time are inputs).
/// Counting samples rather than comparing clock readings keeps the
/// verdict steady when the timer fires a little late.
#[derive(Debug, Clone, Copy)]
pub struct Hearing {
    heard: u64,
    since: Instant,
    misses: u32,
}

impl Hearing {
    /// Starts from the counter read at `now`.
    pub fn new(heard: u64, now: Instant) -> Self {
        Self {
            heard,
            since: now,
            misses: 0,
        }
    }

    /// Feeds the counter read at `now`. Once `needed` samples in a row
    /// brought nothing new, returns how long the peer has been silent
    /// (since the last sample that brought something).
    pub fn handle_sample(&mut self, heard: u64, now: Instant, needed: u32) -> Option<Duration> {
        if heard != self.heard {
            *self = Self::new(heard, now);
            return None;
        }
        self.misses = self.misses.saturating_add(1);
        (self.misses >= needed).then(|| now.saturating_duration_since(self.since))
    }
}

/// Frames received on the connection that only a live peer sends:
/// acknowledgements (every keep-alive gets one), its keep-alives, stream
/// data and flow control. Counted after decryption, so nobody but the
/// peer moves it.
pub fn heard(stats: &quinn::ConnectionStats) -> u64 {
    let f = &stats.frame_rx;
    f.acks + f.ping + f.stream + f.max_data + f.max_stream_data + f.reset_stream + f.stop_sending
}

/// Waits until the peer has been silent for `watch.silence` (that many
/// samples in a row without news), and returns how long it was; `None`
/// when the connection closes first.
pub async fn silent(conn: &quinn::Connection, watch: Watch) -> Option<Duration> {
    let start = tokio::time::Instant::now() + watch.every;
    let mut tick = tokio::time::interval_at(start, watch.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let needed = watch.misses();
    let mut hearing = Hearing::new(heard(&conn.stats()), Instant::now());
    loop {
        tokio::select! {
            _ = conn.closed() => return None,
            _ = tick.tick() => {}
        }
        if let Some(silent) = hearing.handle_sample(heard(&conn.stats()), Instant::now(), needed) {
            return Some(silent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn silence_is_counted_in_samples_from_the_last_news() {
        let t0 = Instant::now();
        let mut h = Hearing::new(5, t0);
        assert_eq!(h.handle_sample(5, t0 + S, 3), None);
        // Something arrived: the count starts again.
        assert_eq!(h.handle_sample(6, t0 + 2 * S, 3), None);
        assert_eq!(h.handle_sample(6, t0 + 3 * S, 3), None);
        assert_eq!(h.handle_sample(6, t0 + 4 * S, 3), None);
        // A late timer does not matter: three samples are three misses.
        let late = t0 + 5 * S - Duration::from_millis(2);
        assert_eq!(h.handle_sample(6, late, 3), Some(late - (t0 + 2 * S)));
    }

    #[test]
    fn a_steady_trickle_is_never_silent() {
        let t0 = Instant::now();
        let mut h = Hearing::new(0, t0);
        for i in 1..100u32 {
            assert_eq!(h.handle_sample(u64::from(i), t0 + i * S, 3), None);
        }
    }

    #[test]
    fn the_silence_limit_is_rounded_up_to_whole_samples() {
        let w = |every, silence| Watch { every, silence }.misses();
        assert_eq!(w(S, 3 * S), 3);
        assert_eq!(w(S, Duration::from_millis(2500)), 3);
        assert_eq!(w(2 * S, S), 1);
    }

    #[test]
    fn node_side_watch_follows_its_keep_alive() {
        let w = Watch::keep_alive(Duration::from_secs(5));
        assert_eq!(w.every, Duration::from_secs(5));
        assert_eq!(w.silence, Duration::from_secs(15));
    }
}
