//! Why this side refused the hub's certificate, kept for diagnosis.
//!
//! A refused certificate reaches the QUIC layer only as a TLS alert code,
//! and rustls sends the same alert (`certificate_expired`, 45) for a
//! certificate that is not valid *yet*. A certificate that starts in the
//! future is nearly always this machine's clock being behind, not a wrong
//! hub: the node's link and its doctor read the typed refusal recorded here
//! to say so, instead of advising a new enrollment.

use std::sync::{Arc, Mutex};

use passerelle_protocol::UnixTime;
use rustls::{
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    pki_types::{CertificateDer, ServerName, UnixTime as TlsTime},
    CertificateError, DigitallySignedStruct, SignatureScheme,
};

/// Why the hub's certificate was refused here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HubCertRefusal {
    /// The certificate starts after this machine's clock: the clock is
    /// most likely behind.
    NotYetValid {
        /// When the certificate starts (Unix seconds).
        not_before: UnixTime,
        /// This machine's clock at the check.
        now: UnixTime,
    },
    /// The certificate ended before this machine's clock.
    Expired {
        /// When the certificate ended.
        not_after: UnixTime,
        /// This machine's clock at the check.
        now: UnixTime,
    },
    /// Any other reason (unknown issuer, wrong name, bad signature).
    Other(String),
}

impl std::fmt::Display for HubCertRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotYetValid { not_before, now } => write!(
                f,
                "the hub's certificate starts {} s after this machine's clock: this machine's clock is behind",
                not_before.saturating_sub(*now)
            ),
            Self::Expired { not_after, now } => write!(
                f,
                "the hub's certificate ended {} s before this machine's clock",
                now.saturating_sub(*not_after)
            ),
            Self::Other(why) => write!(f, "the hub's certificate was refused: {why}"),
        }
    }
}

/// The last refusal of a hub certificate by one client configuration.
#[derive(Debug, Default)]
pub struct HubCertWatch(Mutex<Option<HubCertRefusal>>);

impl HubCertWatch {
    /// The last refusal, cleared.
    pub fn take(&self) -> Option<HubCertRefusal> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    fn record(&self, refusal: HubCertRefusal) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(refusal);
    }
}

/// Wraps the node's verifier of the hub certificate and records why it
/// refused one.
#[derive(Debug)]
pub(crate) struct WatchedServerVerifier {
    pub(crate) inner: Arc<dyn ServerCertVerifier>,
    pub(crate) watch: Arc<HubCertWatch>,
}

impl WatchedServerVerifier {
    fn classify(error: &rustls::Error, end_entity: &[u8], now: TlsTime) -> HubCertRefusal {
        let now = now.as_secs();
        let validity = crate::identity::validity(end_entity).ok();
        match (error, validity) {
            (
                rustls::Error::InvalidCertificate(
                    CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. },
                ),
                Some((not_before, _)),
            ) => HubCertRefusal::NotYetValid { not_before, now },
            (
                rustls::Error::InvalidCertificate(
                    CertificateError::Expired | CertificateError::ExpiredContext { .. },
                ),
                Some((_, not_after)),
            ) => HubCertRefusal::Expired { not_after, now },
            (e, _) => HubCertRefusal::Other(e.to_string()),
        }
    }
}

impl ServerCertVerifier for WatchedServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: TlsTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .inspect_err(|e| self.watch.record(Self::classify(e, end_entity, now)))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}
