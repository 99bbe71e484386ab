//! The hub's certificate authority.

use passerelle_protocol::{ids::NodeId, sign::sha256};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
    PKCS_ED25519,
};
use rustls::pki_types::CertificateSigningRequestDer;

use crate::{identity::node_uri, CertError, UnixTime};

/// A loaded CA: its certificate and the issuer that signs with its key.
pub struct Ca {
    cert_der: Vec<u8>,
    key: KeyPair,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field(
                "fingerprint",
                &passerelle_protocol::hex::encode(&self.fingerprint()),
            )
            .finish()
    }
}

/// A certificate and key issued for the hub.
pub struct IssuedHub {
    /// Hub certificate (DER).
    pub cert_der: Vec<u8>,
    /// Hub private key (PKCS#8 DER). Also the query-signing key.
    pub key_pkcs8: Vec<u8>,
}

fn time(t: UnixTime) -> Result<time::OffsetDateTime, CertError> {
    time::OffsetDateTime::from_unix_timestamp(t as i64)
        .map_err(|e| CertError::Parse(format!("time out of range: {e}")))
}

fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .expect("the OS random source works");
    bytes[0] &= 0x7f; // positive
    bytes[0] |= 0x01; // no leading zero byte to strip
    SerialNumber::from_slice(&bytes)
}

impl Ca {
    /// Creates a new CA valid from `now` for `validity_secs`.
    ///
    /// # Errors
    /// When key generation or signing fails.
    pub fn generate(name: &str, now: UnixTime, validity_secs: u64) -> Result<Self, CertError> {
        let key = KeyPair::generate_for(&PKCS_ED25519)?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, format!("Passerelle CA {name}"));
        dn.push(DnType::OrganizationName, name);
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.not_before = time(now.saturating_sub(300))?;
        params.not_after = time(now + validity_secs)?;
        params.serial_number = Some(random_serial());
        let cert = params.self_signed(&key)?;
        let cert_der = cert.der().to_vec();
        Self::from_parts(&cert_der, key.serialize_der())
    }

    /// Loads a CA from its certificate and PKCS#8 key.
    ///
    /// # Errors
    /// When either cannot be parsed, or the key is not the certificate's.
    pub fn from_parts(cert_der: &[u8], key_pkcs8: Vec<u8>) -> Result<Self, CertError> {
        let key =
            KeyPair::try_from(key_pkcs8.as_slice()).map_err(|e| CertError::Key(e.to_string()))?;
        // A key that does not match would sign certificates naming this CA
        // that nobody can verify (an interrupted rotation, a wrong backup).
        let (_, cert) = x509_parser::parse_x509_certificate(cert_der)
            .map_err(|e| CertError::Parse(e.to_string()))?;
        if cert.public_key().subject_public_key.data.as_ref() != key.public_key_raw() {
            return Err(CertError::Key(
                "the CA key does not match the CA certificate (ca.key and the first certificate of ca.crt); restore both from the same backup".into(),
            ));
        }
        let issuer_key =
            KeyPair::try_from(key_pkcs8.as_slice()).map_err(|e| CertError::Key(e.to_string()))?;
        let issuer = Issuer::from_ca_cert_der(&cert_der.to_vec().into(), issuer_key)?;
        Ok(Self {
            cert_der: cert_der.to_vec(),
            key,
            issuer,
        })
    }

    /// Checks that `der` is a CA certificate (basic constraints, CA true).
    ///
    /// # Errors
    /// When it does not parse or is not a CA.
    pub fn check_certificate(der: &[u8]) -> Result<(), CertError> {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| CertError::Parse(e.to_string()))?;
        match cert.basic_constraints() {
            Ok(Some(bc)) if bc.value.ca => Ok(()),
            _ => Err(CertError::Role {
                role: "CA",
                why: "basic constraints do not say CA".into(),
            }),
        }
    }

    /// The CA certificate (DER).
    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The CA private key (PKCS#8 DER).
    pub fn key_pkcs8(&self) -> Vec<u8> {
        self.key.serialize_der()
    }

    /// SHA-256 of the CA certificate: what enrollment tokens pin.
    pub fn fingerprint(&self) -> [u8; 32] {
        sha256(&self.cert_der)
    }

    /// Issues the hub's own certificate for the given host names or IP
    /// addresses, with a fresh key.
    ///
    /// # Errors
    /// When a name is not a valid DNS name or signing fails.
    pub fn issue_hub(
        &self,
        names: &[String],
        now: UnixTime,
        validity_secs: u64,
    ) -> Result<IssuedHub, CertError> {
        self.issue_hub_for(names, None, now, validity_secs)
    }

    /// Issues the hub's certificate, for the given key (PKCS#8) or a fresh
    /// one. Keeping the key across a CA rotation keeps every signature the
    /// hub made (queries, consents, copies) verifiable.
    ///
    /// # Errors
    /// When the key is unusable or signing fails.
    pub fn issue_hub_for(
        &self,
        names: &[String],
        key_pkcs8: Option<&[u8]>,
        now: UnixTime,
        validity_secs: u64,
    ) -> Result<IssuedHub, CertError> {
        let key = match key_pkcs8 {
            Some(k) => KeyPair::try_from(k).map_err(|e| CertError::Key(e.to_string()))?,
            None => KeyPair::generate_for(&PKCS_ED25519)?,
        };
        let mut params = CertificateParams::new(names.to_vec())?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, "passerelle-hub");
        params.distinguished_name = dn;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = time(now.saturating_sub(300))?;
        params.not_after = time(now + validity_secs)?;
        params.serial_number = Some(random_serial());
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(IssuedHub {
            cert_der: cert.der().to_vec(),
            key_pkcs8: key.serialize_der(),
        })
    }

    /// Issues a node certificate for the public key in a CSR. Only the key
    /// is taken from the request: the names, roles and validity are the
    /// hub's, from the enrollment record.
    ///
    /// # Errors
    /// When the CSR is malformed or badly self-signed, or signing fails.
    pub fn issue_node(
        &self,
        csr_der: &[u8],
        node_id: &NodeId,
        name: &str,
        now: UnixTime,
        validity_secs: u64,
    ) -> Result<Vec<u8>, CertError> {
        let csr = CertificateSigningRequestParams::from_der(&CertificateSigningRequestDer::from(
            csr_der,
        ))?;
        if csr.public_key.algorithm() != &PKCS_ED25519 {
            return Err(CertError::Key("node keys must be Ed25519".into()));
        }
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, node_id.as_str());
        dn.push(DnType::OrganizationName, name);
        dn.push(DnType::OrganizationalUnitName, "passerelle-node");
        params.distinguished_name = dn;
        params.subject_alt_names = vec![SanType::URI(node_uri(node_id).try_into()?)];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        params.not_before = time(now.saturating_sub(300))?;
        params.not_after = time(now + validity_secs)?;
        params.serial_number = Some(random_serial());
        params.use_authority_key_identifier_extension = true;
        let request = CertificateSigningRequestParams {
            params,
            public_key: csr.public_key,
        };
        Ok(request.signed_by(&self.issuer)?.der().to_vec())
    }
}

/// A node's fresh key pair and the CSR for it. The key stays on the node.
pub struct NodeRequest {
    /// Private key (PKCS#8 DER), to be stored owner-only.
    pub key_pkcs8: Vec<u8>,
    /// The PKCS#10 request (DER).
    pub csr_der: Vec<u8>,
}

/// Makes a node key pair and a CSR naming the node.
///
/// # Errors
/// When key generation or signing fails.
pub fn node_request(node_hint: &str) -> Result<NodeRequest, CertError> {
    let key = KeyPair::generate_for(&PKCS_ED25519)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, node_hint);
    params.distinguished_name = dn;
    let csr = params.serialize_request(&key)?;
    Ok(NodeRequest {
        key_pkcs8: key.serialize_der(),
        csr_der: csr.der().to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_loads_only_with_its_own_key_and_says_what_it_is() {
        let a = Ca::generate("A", 1_800_000_000, 86400).unwrap();
        let b = Ca::generate("B", 1_800_000_000, 86400).unwrap();
        assert!(Ca::from_parts(a.cert_der(), a.key_pkcs8()).is_ok());
        let err = Ca::from_parts(a.cert_der(), b.key_pkcs8())
            .unwrap_err()
            .to_string();
        assert!(err.contains("does not match"), "{err}");
        assert!(Ca::check_certificate(a.cert_der()).is_ok());
        let hub = a
            .issue_hub(&["localhost".into()], 1_800_000_000, 3600)
            .unwrap();
        assert!(
            Ca::check_certificate(&hub.cert_der).is_err(),
            "a hub certificate is not a CA"
        );
        // Re-issuing for the same key keeps the key.
        let again = b
            .issue_hub_for(
                &["localhost".into()],
                Some(&hub.key_pkcs8),
                1_800_000_000,
                3600,
            )
            .unwrap();
        assert_eq!(again.key_pkcs8, hub.key_pkcs8);
    }
}
