//! Admission control on the QUIC listener. Before a handshake ends nobody
//! is authenticated, so what an unknown sender can make the hub hold is
//! bounded here: handshakes in progress (all together and per IP address),
//! connections per address, and the time a handshake may take. Under load,
//! an address that has not proven it receives our packets is sent a
//! stateless Retry, which costs the hub no memory: spoofed floods never
//! come back with the token.
//!
//! The decision is pure ([`decide`]); [`Admission`] keeps the counts, and
//! its tickets give their place back when dropped, whatever path a
//! connection takes. Refusals at the handshake are named by
//! [`HandshakeRefusal`] and counted in the metrics.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Instant,
};

use passerelle_config::QuicLimits;
use passerelle_hub_core::{loglimit::LogLimiter, metrics};
use tracing::info;

/// What to do with a connection attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Start the handshake.
    Accept,
    /// Ask the sender to prove its address first (stateless Retry).
    Retry,
    /// Answer with a refusal (the address is proven: it receives it).
    Refuse,
    /// Drop it unanswered: the hub is at its handshake cap.
    Drop,
}

/// Handshakes in progress and connections of one address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PerAddress {
    /// Handshakes in progress.
    pub handshakes: u32,
    /// Connections established.
    pub connections: u32,
}

/// Decides on a connection attempt from an address (`validated` when it
/// came back with a Retry token), given the handshakes in progress and
/// that address's counts.
pub fn decide(
    limits: &QuicLimits,
    validated: bool,
    handshakes: usize,
    here: PerAddress,
) -> Decision {
    let at_address_cap = here.handshakes >= limits.handshakes_per_address.get()
        || here.handshakes + here.connections >= limits.connections_per_address.get();
    let busy = handshakes >= limits.retry_above as usize || at_address_cap;
    if !validated && busy {
        return Decision::Retry;
    }
    if handshakes >= limits.max_handshakes.get() as usize {
        return Decision::Drop;
    }
    if at_address_cap {
        return Decision::Refuse;
    }
    Decision::Accept
}

#[derive(Debug, Default)]
struct Load {
    handshakes: usize,
    connections: usize,
    per_address: HashMap<IpAddr, PerAddress>,
}

impl Load {
    fn change(&mut self, ip: IpAddr, handshakes: i32, connections: i32) {
        let here = self.per_address.entry(ip).or_default();
        here.handshakes = here.handshakes.saturating_add_signed(handshakes);
        here.connections = here.connections.saturating_add_signed(connections);
        if *here == PerAddress::default() {
            self.per_address.remove(&ip);
        }
        self.handshakes = self.handshakes.saturating_add_signed(handshakes as isize);
        self.connections = self.connections.saturating_add_signed(connections as isize);
        let m = metrics::global();
        m.quic_handshakes_changed(i64::from(handshakes));
        m.quic_connections_changed(i64::from(connections));
    }
}

/// The counts behind admission, and the per-peer log limiter of the
/// listener.
#[derive(Debug)]
pub struct Admission {
    limits: QuicLimits,
    load: Mutex<Load>,
    /// Refusal logs per peer address.
    pub log: LogLimiter,
}

impl Admission {
    /// Admission with `limits`.
    pub fn new(limits: QuicLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            load: Mutex::new(Load::default()),
            log: LogLimiter::default(),
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> &QuicLimits {
        &self.limits
    }

    /// Handshakes in progress and connections established on this hub.
    pub fn load(&self) -> (usize, usize) {
        let load = self.load.lock().expect("admission lock");
        (load.handshakes, load.connections)
    }

    /// Handshakes in progress from one address.
    pub fn handshakes_from(&self, ip: IpAddr) -> u32 {
        let load = self.load.lock().expect("admission lock");
        load.per_address.get(&ip).map_or(0, |h| h.handshakes)
    }

    /// Decides on an attempt and acts on it. On [`Decision::Accept`], the
    /// handshake goes on and the returned ticket holds its place.
    pub fn handle_incoming(
        self: &Arc<Self>,
        incoming: quinn::Incoming,
    ) -> Option<(quinn::Connecting, HandshakeTicket)> {
        let remote = incoming.remote_address();
        let ip = remote.ip();
        let decision = {
            let mut load = self.load.lock().expect("admission lock");
            let here = load.per_address.get(&ip).copied().unwrap_or_default();
            let mut d = decide(
                &self.limits,
                incoming.remote_address_validated(),
                load.handshakes,
                here,
            );
            if d == Decision::Retry && !incoming.may_retry() {
                d = Decision::Refuse;
            }
            if d == Decision::Accept {
                load.change(ip, 1, 0);
            }
            d
        };
        let m = metrics::global();
        match decision {
            Decision::Accept => {
                let ticket = HandshakeTicket {
                    admission: self.clone(),
                    ip,
                };
                // The first flight is read here: a ClientHello asking for
                // no protocol of ours already fails.
                match incoming.accept() {
                    Ok(connecting) => return Some((connecting, ticket)),
                    Err(error) => match HandshakeRefusal::from_handshake(&error) {
                        Some(refusal) => refusal.record(self, remote, &error.to_string()),
                        None => tracing::debug!(%ip, %error, "attempt not accepted"),
                    },
                }
            }
            Decision::Retry => {
                m.attempt_shed("retry");
                if incoming.retry().is_err() {
                    tracing::debug!(%ip, "retry not possible");
                }
            }
            Decision::Refuse => {
                m.attempt_shed("refused");
                if let Some(left_out) = self.log.handle_event(ip, Instant::now()) {
                    info!(%ip, left_out, "connection refused: too many from this address");
                }
                incoming.refuse();
            }
            Decision::Drop => {
                m.attempt_shed("dropped");
                incoming.ignore();
            }
        }
        None
    }
}

/// A handshake's place; given back when dropped.
#[derive(Debug)]
pub struct HandshakeTicket {
    admission: Arc<Admission>,
    ip: IpAddr,
}

impl HandshakeTicket {
    /// The handshake succeeded: its place becomes a connection's.
    pub fn established(self) -> ConnectionTicket {
        let admission = self.admission.clone();
        let ip = self.ip;
        admission
            .load
            .lock()
            .expect("admission lock")
            .change(ip, -1, 1);
        std::mem::forget(self);
        ConnectionTicket { admission, ip }
    }
}

impl Drop for HandshakeTicket {
    fn drop(&mut self) {
        if let Ok(mut load) = self.admission.load.lock() {
            load.change(self.ip, -1, 0);
        }
    }
}

/// A connection's place; given back when dropped.
#[derive(Debug)]
pub struct ConnectionTicket {
    admission: Arc<Admission>,
    ip: IpAddr,
}

impl Drop for ConnectionTicket {
    fn drop(&mut self) {
        if let Ok(mut load) = self.admission.load.lock() {
            load.change(self.ip, 0, -1);
        }
    }
}

/// Why a peer was refused at the handshake or right after it; the label
/// of `passerelle_quic_handshakes_refused`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeRefusal {
    /// Its certificate chains to no CA this hub trusts.
    ForeignCa,
    /// Its certificate is revoked or unknown to the registry.
    Revoked,
    /// Its certificate has expired or is not valid yet.
    Expired,
    /// A certificate of the right CA but not a node's.
    NotANode,
    /// Another problem with its certificate.
    BadCertificate,
    /// It asked for a protocol the hub does not speak.
    WrongAlpn,
    /// It asked for the link without a certificate.
    NoCertificate,
    /// The handshake did not finish in time.
    Timeout,
    /// It broke the QUIC or TLS protocol.
    Protocol,
}

impl HandshakeRefusal {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Self::ForeignCa => "foreign_ca",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
            Self::NotANode => "not_a_node",
            Self::BadCertificate => "bad_certificate",
            Self::WrongAlpn => "wrong_alpn",
            Self::NoCertificate => "no_certificate",
            Self::Timeout => "timeout",
            Self::Protocol => "protocol",
        }
    }

    /// The refusal a failed handshake stands for, when the hub refused
    /// (`None` when the peer gave up or the hub is closing).
    pub fn from_handshake(error: &quinn::ConnectionError) -> Option<Self> {
        match error {
            quinn::ConnectionError::TransportError(e) => {
                let code = u64::from(e.code);
                Some(match code.checked_sub(0x100).filter(|a| *a < 0x100) {
                    // TLS alerts the hub sent (RFC 8446 section 6).
                    Some(48) => Self::ForeignCa,
                    Some(44) => Self::Revoked,
                    Some(45) => Self::Expired,
                    Some(49) => Self::NotANode,
                    Some(120) => Self::WrongAlpn,
                    Some(116) => Self::NoCertificate,
                    Some(42 | 43 | 46 | 51) => Self::BadCertificate,
                    _ => Self::Protocol,
                })
            }
            quinn::ConnectionError::TimedOut => Some(Self::Timeout),
            _ => None,
        }
    }

    /// Counts the refusal and logs it at INFO, a few times a minute per
    /// address at most (the next line says how many were left out).
    pub fn record(self, admission: &Admission, remote: std::net::SocketAddr, detail: &str) {
        metrics::global().handshake_refused(self.label());
        if let Some(left_out) = admission.log.handle_event(remote.ip(), Instant::now()) {
            info!(%remote, reason = self.label(), %detail, left_out, "peer refused at the handshake");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU32;

    fn limits() -> QuicLimits {
        QuicLimits {
            max_handshakes: NonZeroU32::new(10).unwrap(),
            retry_above: 4,
            handshakes_per_address: NonZeroU32::new(3).unwrap(),
            connections_per_address: NonZeroU32::new(5).unwrap(),
            ..QuicLimits::default()
        }
    }

    fn at(handshakes: u32, connections: u32) -> PerAddress {
        PerAddress {
            handshakes,
            connections,
        }
    }

    #[test]
    fn quiet_hub_accepts_without_retry() {
        assert_eq!(decide(&limits(), false, 0, at(0, 0)), Decision::Accept);
        assert_eq!(decide(&limits(), false, 3, at(2, 2)), Decision::Accept);
    }

    #[test]
    fn load_or_a_busy_address_asks_unproven_senders_to_retry() {
        assert_eq!(decide(&limits(), false, 4, at(0, 0)), Decision::Retry);
        assert_eq!(decide(&limits(), false, 0, at(3, 0)), Decision::Retry);
        assert_eq!(decide(&limits(), false, 10, at(0, 0)), Decision::Retry);
        // A proven address under the global load goes on.
        assert_eq!(decide(&limits(), true, 4, at(0, 0)), Decision::Accept);
    }

    #[test]
    fn caps_hold_for_proven_addresses() {
        assert_eq!(decide(&limits(), true, 10, at(0, 0)), Decision::Drop);
        assert_eq!(decide(&limits(), true, 5, at(3, 0)), Decision::Refuse);
        assert_eq!(decide(&limits(), true, 5, at(1, 4)), Decision::Refuse);
        assert_eq!(decide(&limits(), true, 5, at(0, 4)), Decision::Accept);
    }

    #[test]
    fn counts_come_back_to_zero_and_forget_the_address() {
        let mut load = Load::default();
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        load.change(ip, 1, 0);
        load.change(ip, 1, 0);
        load.change(ip, -1, 1);
        assert_eq!(load.per_address[&ip], at(1, 1));
        load.change(ip, -1, 0);
        load.change(ip, 0, -1);
        assert!(load.per_address.is_empty());
        assert_eq!((load.handshakes, load.connections), (0, 0));
    }
}
