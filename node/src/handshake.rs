//! Why a QUIC handshake with the hub failed, in plain words with the fix.
//! Shared by the link loop (its log and `status`) and `doctor`.
//!
//! The classification reads typed errors only: the QUIC error says which
//! side raised a TLS alert, and the [`HubCertWatch`] says why this side
//! refused the hub's certificate. rustls sends the same alert
//! (`certificate_expired`) for "expired" and "not valid yet", so dates are
//! compared with this machine's clock before anyone is told to enroll
//! again: a hub certificate that starts in the future means this machine's
//! clock is behind.

use passerelle_certs::{
    watch::{HubCertRefusal, HubCertWatch},
    NodeIdentity,
};
use passerelle_link::output::time;
use passerelle_protocol::UnixTime;

/// The TLS alert `certificate_expired`, which rustls also sends for a
/// certificate that is not valid yet.
const CERTIFICATE_EXPIRED: u64 = 45;

/// Why the handshake with the hub failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handshake {
    /// This machine's clock is behind the start of the hub's certificate.
    ClockBehindHub {
        /// When the hub's certificate starts.
        not_before: UnixTime,
        /// This machine's clock at the check.
        now: UnixTime,
    },
    /// This node did not accept the hub's certificate (its own TLS check,
    /// or a certificate that is not a hub's).
    HubNotTrusted(String),
    /// The hub refused this node's certificate as out of its validity
    /// period although this machine's clock finds it valid: one of the two
    /// clocks is wrong.
    ClocksDisagree(String),
    /// The hub refused this node's certificate (a TLS alert from the hub).
    NodeRefused(String),
    /// The hub closed the connection, with its reason (a rate limit).
    HubClosed(String),
    /// Anything else: local TLS setup, transport.
    Other(String),
}

/// A QUIC error code that carries a TLS alert, and the alert.
fn tls_alert(code: quinn::TransportErrorCode) -> Option<u64> {
    let code = u64::from(code);
    (0x100..0x200).contains(&code).then_some(code - 0x100)
}

impl Handshake {
    /// Classifies a connection error. `watch` is the one of the client
    /// configuration that made the connection; `own` is this node's
    /// certificate and `now` this machine's clock.
    pub fn from_connection(
        e: &quinn::ConnectionError,
        watch: &HubCertWatch,
        own: &NodeIdentity,
        now: UnixTime,
    ) -> Self {
        match e {
            quinn::ConnectionError::TransportError(t) if tls_alert(t.code).is_some() => {
                match watch.take() {
                    Some(HubCertRefusal::NotYetValid { not_before, now }) => {
                        Self::ClockBehindHub { not_before, now }
                    }
                    Some(refusal) => Self::HubNotTrusted(format!("{refusal}; {e}")),
                    None => Self::HubNotTrusted(e.to_string()),
                }
            }
            quinn::ConnectionError::ConnectionClosed(c) => match tls_alert(c.error_code) {
                Some(CERTIFICATE_EXPIRED) if own.not_before <= now && now < own.not_after => {
                    Self::ClocksDisagree(format!(
                        "by this machine's clock this node's certificate is valid from {} to {}; {e}",
                        time(Some(own.not_before)),
                        time(Some(own.not_after))
                    ))
                }
                Some(_) => Self::NodeRefused(e.to_string()),
                None => Self::Other(e.to_string()),
            },
            quinn::ConnectionError::ApplicationClosed(c) => {
                Self::HubClosed(String::from_utf8_lossy(&c.reason).into_owned())
            }
            _ => Self::Other(e.to_string()),
        }
    }

    /// Whether the cause is a clock (this machine's or the hub's).
    pub fn is_clock(&self) -> bool {
        matches!(self, Self::ClockBehindHub { .. } | Self::ClocksDisagree(_))
    }

    /// What went wrong, the fix, and the details.
    pub fn explain(&self) -> (String, &'static str, String) {
        const SYNC: &str = "synchronise this machine's clock (systemd-timesyncd or chrony: timedatectl set-ntp true); do not enroll again, the certificates are fine";
        match self {
            Self::ClockBehindHub { not_before, now } => (
                format!(
                    "this machine's clock is behind: the hub's certificate starts on {}, {} s after this machine's time",
                    time(Some(*not_before)),
                    not_before.saturating_sub(*now)
                ),
                SYNC,
                format!("this machine says {}", time(Some(*now))),
            ),
            Self::HubNotTrusted(e) => (
                "the hub's certificate is not signed by the CA this node trusts (ca.crt): wrong hub, or the hub's CA changed".into(),
                "check hub = in node.toml; if the hub's CA was rotated, copy the new CA certificate into ca.crt (ask the hub administrator), or enroll again with a new token",
                e.clone(),
            ),
            Self::ClocksDisagree(e) => (
                "the hub finds this node's certificate out of its validity period, but this machine's clock does not: the hub's clock or this machine's is wrong".into(),
                "compare this machine's clock with the hub's (passerelle-node doctor, clock check) and synchronise the wrong one; do not enroll again",
                e.clone(),
            ),
            Self::NodeRefused(e) => (
                "the hub refused this node's certificate (expired, revoked, or issued by another hub)".into(),
                "ask the hub administrator for a new token (passerelle-hub enroll), then enroll again with passerelle-node init in a new folder",
                e.clone(),
            ),
            Self::HubClosed(reason) => (
                "the hub closed the connection".into(),
                "do what the hub's reason says (for a rate limit: wait a minute, then try again)",
                reason.clone(),
            ),
            Self::Other(e) => (
                "the QUIC handshake failed".into(),
                "check that the address in node.toml is the hub's",
                e.clone(),
            ),
        }
    }
}

impl std::fmt::Display for Handshake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Other(e) => f.write_str(e),
            _ => {
                let (what, fix, detail) = self.explain();
                write!(f, "{what} ({detail}); fix: {fix}")
            }
        }
    }
}
