//! rustls configurations for both ends of the link.
//!
//! - The hub's server config offers two ALPNs: the link, which needs a node
//!   certificate, and enrollment, which cannot have one yet. Client
//!   certificates are therefore optional at the TLS layer, but any
//!   certificate that *is* presented must chain to the hub CA, carry the
//!   node purpose, and pass the [`PeerGate`] (known serial, not revoked),
//!   or the handshake fails. The link shell closes a `passerelle/1`
//!   connection that arrives without a certificate before reading anything.
//!   Session resumption is off: a resumed TLS 1.3 session would skip the
//!   client certificate checks, and with them revocation.
//! - The node's link config presents its certificate and trusts only the hub
//!   CA(s); the hub certificate must carry the server purpose.
//! - The enrollment config trusts a hub whose chain ends in a CA whose
//!   SHA-256 equals the token's fingerprint, and nothing else.

use std::sync::Arc;

use passerelle_protocol::{hex, sign::sha256, ALPN_ENROLL, ALPN_LINK};
use rustls::{
    client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    client::WebPkiServerVerifier,
    crypto::CryptoProvider,
    pki_types::{
        CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime as TlsTime,
    },
    server::danger::{ClientCertVerified, ClientCertVerifier},
    server::WebPkiClientVerifier,
    DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme,
};

use crate::{
    identity::{HubIdentity, NodeIdentity},
    watch::{HubCertWatch, WatchedServerVerifier},
    CertError,
};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn roots(cas: &[Vec<u8>]) -> Result<Arc<RootCertStore>, CertError> {
    let mut store = RootCertStore::empty();
    for ca in cas {
        store.add(CertificateDer::from(ca.clone()))?;
    }
    Ok(Arc::new(store))
}

fn chain(ders: &[Vec<u8>]) -> Vec<CertificateDer<'static>> {
    ders.iter()
        .map(|d| CertificateDer::from(d.clone()))
        .collect()
}

fn key(pkcs8: &[u8]) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8.to_vec()))
}

/// Decides whether a node whose certificate chains to the CA may connect.
/// The hub answers from its registry: issued serials, revocations.
pub trait PeerGate: Send + Sync + std::fmt::Debug {
    /// `Ok` to admit; `Err` with a reason to refuse the handshake.
    ///
    /// # Errors
    /// The reason for refusal, logged by the hub.
    fn admit(&self, node: &NodeIdentity) -> Result<(), String>;
}

#[derive(Debug)]
struct GatedClientVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    gate: Arc<dyn PeerGate>,
}

impl ClientCertVerifier for GatedClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: TlsTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let node = NodeIdentity::from_der(end_entity).map_err(|e| {
            // Debug only: the hub counts and logs every refusal with the
            // peer's address, a few per minute per peer.
            tracing::debug!(error = %e, "handshake refused: not a node certificate");
            rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            )
        })?;
        self.gate.admit(&node).map_err(|reason| {
            tracing::debug!(node = %node.node_id, serial = %node.serial, %reason, "handshake refused");
            rustls::Error::InvalidCertificate(rustls::CertificateError::Revoked)
        })?;
        Ok(ClientCertVerified::assertion())
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

/// The hub's server configuration.
///
/// `cas` are the trusted CA certificates (more than one during a CA
/// rotation); `hub_chain` is the hub certificate followed by its CA.
///
/// # Errors
/// When a certificate or the key is unusable.
pub fn hub_server_config(
    cas: &[Vec<u8>],
    hub_chain: &[Vec<u8>],
    hub_key: &[u8],
    gate: Arc<dyn PeerGate>,
) -> Result<rustls::ServerConfig, CertError> {
    let inner = WebPkiClientVerifier::builder_with_provider(roots(cas)?, provider())
        .allow_unauthenticated()
        .build()
        .map_err(|e| CertError::Tls(rustls::Error::General(e.to_string())))?;
    let verifier = Arc::new(GatedClientVerifier { inner, gate });
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain(hub_chain), key(hub_key))?;
    // No resumption: a resumed TLS 1.3 session skips client certificate
    // verification, which would let a revoked node back in.
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    config.alpn_protocols = vec![
        ALPN_LINK.to_vec(),
        ALPN_ENROLL.to_vec(),
        passerelle_protocol::ALPN_PROBE.to_vec(),
    ];
    Ok(config)
}

/// The node's link configuration: its certificate, the hub CA(s).
///
/// # Errors
/// When a certificate or the key is unusable.
pub fn node_client_config(
    cas: &[Vec<u8>],
    node_chain: &[Vec<u8>],
    node_key: &[u8],
) -> Result<rustls::ClientConfig, CertError> {
    node_client_config_watched(cas, node_chain, node_key).map(|(config, _)| config)
}

/// [`node_client_config`], with a [`HubCertWatch`] that records why a hub
/// certificate was refused (for instance "not valid yet": this machine's
/// clock is behind), which the TLS alert alone does not tell.
///
/// # Errors
/// When a certificate or the key is unusable.
pub fn node_client_config_watched(
    cas: &[Vec<u8>],
    node_chain: &[Vec<u8>],
    node_key: &[u8],
) -> Result<(rustls::ClientConfig, Arc<HubCertWatch>), CertError> {
    let inner = WebPkiServerVerifier::builder_with_provider(roots(cas)?, provider())
        .build()
        .map_err(|e| CertError::Tls(rustls::Error::General(e.to_string())))?;
    let watch = Arc::new(HubCertWatch::default());
    let verifier = Arc::new(WatchedServerVerifier {
        inner,
        watch: watch.clone(),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_auth_cert(chain(node_chain), key(node_key))?;
    config.resumption = rustls::client::Resumption::disabled();
    config.alpn_protocols = vec![ALPN_LINK.to_vec()];
    Ok((config, watch))
}

/// Trusts a server whose chain ends in the CA with the pinned fingerprint.
#[derive(Debug)]
struct PinnedCaVerifier {
    fingerprint: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedCaVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: TlsTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let ca = intermediates.iter().find(|c| sha256(c) == self.fingerprint).ok_or_else(|| {
            tracing::warn!(expected = %hex::encode(&self.fingerprint), "hub CA does not match the token's fingerprint");
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
        })?;
        let roots = roots(&[ca.to_vec()]).map_err(|e| rustls::Error::General(e.to_string()))?;
        let inner = WebPkiServerVerifier::builder_with_provider(roots, self.provider.clone())
            .build()
            .map_err(|e| rustls::Error::General(e.to_string()))?;
        inner.verify_server_cert(end_entity, &[], server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The node's enrollment configuration: no client certificate, and trust
/// in the hub pinned to the CA fingerprint from the token.
///
/// # Errors
/// When rustls refuses the configuration.
pub fn enroll_client_config(ca_fingerprint: [u8; 32]) -> Result<rustls::ClientConfig, CertError> {
    let provider = provider();
    let verifier = Arc::new(PinnedCaVerifier {
        fingerprint: ca_fingerprint,
        provider: provider.clone(),
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    config.alpn_protocols = vec![ALPN_ENROLL.to_vec()];
    Ok(config)
}

/// Checks that a node certificate chains to one of the CAs and was valid
/// at time `at` (seconds since the epoch), and returns who it names. Used
/// to check provenance offline, long after the handshake.
///
/// # Errors
/// When the certificate does not chain, was not valid then, or is not a
/// node certificate.
pub fn verify_node_cert(cas: &[Vec<u8>], der: &[u8], at: u64) -> Result<NodeIdentity, CertError> {
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(cas)?, provider())
        .build()
        .map_err(|e| CertError::Tls(rustls::Error::General(e.to_string())))?;
    let when = TlsTime::since_unix_epoch(std::time::Duration::from_secs(at));
    verifier.verify_client_cert(&CertificateDer::from(der.to_vec()), &[], when)?;
    NodeIdentity::from_der(der)
}

/// Checks that a hub certificate chains to one of the CAs, carries the
/// server purpose and was valid at time `at` (seconds since the epoch), and
/// returns its identity. Used offline to check the hub's signature on a
/// provenance bundle (its key is also the one that signs queries).
///
/// # Errors
/// When the certificate does not chain, was not valid then, or is not a
/// hub certificate.
pub fn verify_hub_cert(cas: &[Vec<u8>], der: &[u8], at: u64) -> Result<HubIdentity, CertError> {
    let cas: Vec<CertificateDer<'_>> = cas.iter().map(|c| CertificateDer::from(&c[..])).collect();
    let anchors = cas
        .iter()
        .map(webpki::anchor_from_trusted_cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CertError::Parse(format!("CA certificate: {e}")))?;
    let leaf = CertificateDer::from(der);
    let end =
        webpki::EndEntityCert::try_from(&leaf).map_err(|e| CertError::Parse(e.to_string()))?;
    let when = TlsTime::since_unix_epoch(std::time::Duration::from_secs(at));
    end.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &[],
        when,
        webpki::KeyUsage::server_auth(),
        None,
        None,
    )
    .map_err(|e| CertError::Role {
        role: "hub",
        why: format!("does not chain to the CA at that time: {e}"),
    })?;
    HubIdentity::from_der(der)
}
