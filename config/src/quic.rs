//! The `quic_*` keys of `hub.toml`: admission control on the QUIC
//! listener. Nobody is authenticated before the handshake ends, so these
//! limits are what keeps an unauthenticated sender from growing the hub's
//! memory. They are top-level keys (not a table), so that keys appended at
//! the end of the file stay top-level.

use std::{num::NonZeroU32, time::Duration};

use crate::error::Problem;

/// Bounds on handshakes and connections of the QUIC listener
/// ([`crate::HubConfig::quic`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuicLimits {
    /// Handshakes in progress at most, all addresses together; new attempts
    /// beyond it are dropped without an answer.
    pub max_handshakes: NonZeroU32,
    /// Above this many handshakes in progress, an address that has not
    /// proven it receives our packets is first asked to (a stateless QUIC
    /// Retry, which costs the hub no memory). 0 asks always.
    pub retry_above: u32,
    /// Handshakes in progress at most from one IP address.
    pub handshakes_per_address: NonZeroU32,
    /// Established connections at most from one IP address (nodes behind
    /// one NAT share it: one link each, plus a short doctor probe).
    pub connections_per_address: NonZeroU32,
    /// A handshake not finished in this time is dropped.
    pub handshake_timeout: Duration,
}

impl Default for QuicLimits {
    fn default() -> Self {
        Self {
            max_handshakes: NonZeroU32::new(256).expect("non-zero"),
            retry_above: 32,
            handshakes_per_address: NonZeroU32::new(16).expect("non-zero"),
            connections_per_address: NonZeroU32::new(64).expect("non-zero"),
            handshake_timeout: Duration::from_secs(10),
        }
    }
}

impl QuicLimits {
    /// Cross-key rules, all reported at once.
    pub fn problems(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let mut bad = |key: &str, why: String, fix: &str| {
            out.push(Problem {
                line: None,
                key: Some(format!("quic_{key}")),
                why,
                fix: Some(fix.into()),
            })
        };
        if self.retry_above > self.max_handshakes.get() {
            bad(
                "retry_above",
                format!(
                    "is above quic_max_handshakes ({}): Retry would never be asked",
                    self.max_handshakes
                ),
                "use a value at most quic_max_handshakes, e.g. an eighth of it",
            );
        }
        if self.handshakes_per_address > self.max_handshakes {
            bad(
                "handshakes_per_address",
                "is above quic_max_handshakes".into(),
                "use a value at most quic_max_handshakes",
            );
        }
        if self.handshake_timeout < Duration::from_secs(1)
            || self.handshake_timeout > Duration::from_secs(60)
        {
            bad(
                "handshake_timeout",
                format!(
                    "{} is outside 1s to 60s",
                    crate::human_duration(self.handshake_timeout)
                ),
                "use e.g. \"10s\" (a slow mobile link finishes in a few seconds)",
            );
        }
        out
    }

    /// The `quic_*` keys as `hub init` writes them.
    pub fn template(&self) -> String {
        format!(
            r#"# Admission control on the QUIC listener: nobody is authenticated before
# the handshake ends, so these bound what an unknown sender can make the
# hub hold. Handshakes in progress (all addresses; beyond, attempts are
# dropped unanswered); above quic_retry_above of them, an address must
# first prove it receives our packets (a stateless QUIC Retry); handshakes
# and connections per IP address; and the time a handshake may take.
quic_max_handshakes = {max}
quic_retry_above = {retry}
quic_handshakes_per_address = {per_hs}
quic_connections_per_address = {per_conn}
quic_handshake_timeout = "{timeout}"
"#,
            max = self.max_handshakes,
            retry = self.retry_above,
            per_hs = self.handshakes_per_address,
            per_conn = self.connections_per_address,
            timeout = crate::human_duration(self.handshake_timeout),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_consistent_and_bad_values_all_reported() {
        assert!(QuicLimits::default().problems().is_empty());
        let bad = QuicLimits {
            max_handshakes: NonZeroU32::new(8).unwrap(),
            retry_above: 9,
            handshakes_per_address: NonZeroU32::new(9).unwrap(),
            handshake_timeout: Duration::ZERO,
            ..QuicLimits::default()
        };
        let keys: Vec<_> = bad.problems().into_iter().filter_map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                "quic_retry_above",
                "quic_handshakes_per_address",
                "quic_handshake_timeout"
            ]
        );
    }
}
