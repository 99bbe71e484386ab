//! Connections fighting over one node id (pure; time is a parameter).
//!
//! A node reconnecting after a network change replaces its own old link
//! once: that is quiet. Two holders of one node key replace each other
//! again and again: each replacement of a link younger than
//! [`FIGHT_WINDOW`] is a *fight*, raised as an alert. From the second
//! fight within [`FIGHT_MEMORY`], a replacing connection is refused for a
//! growing hold-off ([`HOLD_BASE`], doubled each fight, at most
//! [`HOLD_MAX`]): the link in place keeps serving, the flapping slows
//! down, and the operator has time to revoke the node and enroll it again.
//!
//! A link whose older certificate is cut off by a connection with a newer
//! one is an alert too (the older key may be in someone else's hands),
//! but never held off: the newer certificate wins.

use std::time::{Duration, Instant};

use passerelle_protocol::UnixTime;

/// A link replaced younger than this was fought over.
pub const FIGHT_WINDOW: Duration = Duration::from_secs(60);
/// Fights further apart than this start counting again.
pub const FIGHT_MEMORY: Duration = Duration::from_secs(600);
/// The first hold-off, after the second fight.
pub const HOLD_BASE: Duration = Duration::from_secs(5);
/// The longest hold-off.
pub const HOLD_MAX: Duration = Duration::from_secs(600);

/// What one node's links went through (in memory, since the hub started).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contest {
    /// Fights in the current run (reset after [`FIGHT_MEMORY`] of calm).
    pub fights: u32,
    /// Every fight since the hub started.
    pub total_fights: u64,
    /// When the last fight happened.
    pub last_fight: Option<UnixTime>,
    /// Replacing connections refused during a hold-off.
    pub held_off: u64,
    /// Links cut off while they used an older certificate of the node.
    pub certs_cut: u64,
    /// When the last such link was cut off.
    pub last_cert_cut: Option<UnixTime>,
    last_fight_at: Option<Instant>,
    hold_until: Option<Instant>,
}

/// What a replacement of a node's open link was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replacement {
    /// A reconnection replacing a long-lived link.
    Quiet,
    /// A link with an older certificate of the node, cut off.
    OlderCertificateCut,
    /// A fight; a hold-off starts when given.
    Fight {
        /// Fights in the current run.
        fights: u32,
        /// Replacing connections are refused this long.
        hold: Option<Duration>,
    },
}

impl Contest {
    /// How long replacing connections are still refused, if they are.
    pub fn held(&self, now: Instant) -> Option<Duration> {
        self.hold_until
            .and_then(|t| t.checked_duration_since(now))
            .filter(|d| !d.is_zero())
    }

    /// Counts a connection refused during the hold-off.
    pub fn handle_held_off(&mut self) {
        self.held_off += 1;
    }

    /// Records that an open link of `old_age` was replaced at `now`
    /// (`wall` for people), by a connection with a newer certificate when
    /// `newer_certificate`.
    pub fn handle_replacement(
        &mut self,
        now: Instant,
        wall: UnixTime,
        old_age: Duration,
        newer_certificate: bool,
    ) -> Replacement {
        if newer_certificate {
            self.certs_cut += 1;
            self.last_cert_cut = Some(wall);
            return Replacement::OlderCertificateCut;
        }
        if old_age >= FIGHT_WINDOW {
            return Replacement::Quiet;
        }
        if self
            .last_fight_at
            .is_none_or(|t| now.saturating_duration_since(t) > FIGHT_MEMORY)
        {
            self.fights = 0;
        }
        self.fights += 1;
        self.total_fights += 1;
        self.last_fight = Some(wall);
        self.last_fight_at = Some(now);
        let hold = (self.fights >= 2).then(|| {
            let doublings = (self.fights - 2).min(16);
            HOLD_BASE.saturating_mul(1 << doublings).min(HOLD_MAX)
        });
        if let Some(h) = hold {
            self.hold_until = Some(now + h);
        }
        Replacement::Fight {
            fights: self.fights,
            hold,
        }
    }

    /// Whether anything here deserves the operator's attention.
    pub fn alarming(&self) -> bool {
        self.total_fights > 0 || self.certs_cut > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reconnection_is_quiet_and_repeated_fights_hold_off_longer() {
        let t0 = Instant::now();
        let mut c = Contest::default();
        assert_eq!(
            c.handle_replacement(t0, 100, Duration::from_secs(3600), false),
            Replacement::Quiet
        );
        assert_eq!(c.held(t0), None);
        assert_eq!(
            c.handle_replacement(t0, 100, Duration::from_secs(1), false),
            Replacement::Fight {
                fights: 1,
                hold: None
            }
        );
        assert_eq!(
            c.handle_replacement(t0, 101, Duration::ZERO, false),
            Replacement::Fight {
                fights: 2,
                hold: Some(HOLD_BASE)
            }
        );
        assert_eq!(c.held(t0), Some(HOLD_BASE));
        assert_eq!(c.held(t0 + HOLD_BASE), None);
        let t1 = t0 + HOLD_BASE;
        assert_eq!(
            c.handle_replacement(t1, 106, Duration::ZERO, false),
            Replacement::Fight {
                fights: 3,
                hold: Some(HOLD_BASE * 2)
            }
        );
        // After a long calm, counting starts again.
        let t2 = t1 + FIGHT_MEMORY + Duration::from_secs(1);
        assert_eq!(
            c.handle_replacement(t2, 900, Duration::ZERO, false),
            Replacement::Fight {
                fights: 1,
                hold: None
            }
        );
        assert_eq!(c.total_fights, 4);
        assert!(c.alarming());
    }

    #[test]
    fn a_newer_certificate_cuts_the_older_off_without_hold_and_holds_are_capped() {
        let t0 = Instant::now();
        let mut c = Contest::default();
        assert_eq!(
            c.handle_replacement(t0, 5, Duration::ZERO, true),
            Replacement::OlderCertificateCut
        );
        assert_eq!((c.certs_cut, c.last_cert_cut, c.fights), (1, Some(5), 0));
        for _ in 0..40 {
            c.handle_replacement(t0, 5, Duration::ZERO, false);
        }
        assert_eq!(c.held(t0), Some(HOLD_MAX));
    }
}
