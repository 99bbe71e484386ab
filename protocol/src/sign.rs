//! Ed25519 keys and signatures, and SHA-256 fingerprints, all from ring.
//!
//! A node's signing key is the key its certificate certifies, so a signed
//! answer is bound to a certified institution. The hub's query-signing key is
//! likewise the key of the hub certificate the node sees in the handshake.

use ring::signature::{self, Ed25519KeyPair, KeyPair as _};

/// Length of an Ed25519 public key.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// Why a key could not be loaded or a signature did not check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// The PKCS#8 document is not an Ed25519 private key.
    #[error("not an Ed25519 PKCS#8 private key")]
    BadPrivateKey,
    /// The public key is not 32 bytes.
    #[error("public key must be {PUBLIC_KEY_LEN} bytes, got {0}")]
    BadPublicKey(usize),
    /// The signature does not verify under the key.
    #[error("signature does not verify")]
    BadSignature,
}

/// A private signing key.
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &self.public())
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Loads a key from a PKCS#8 document (v1 or v2).
    ///
    /// # Errors
    /// [`SignError::BadPrivateKey`] when the document is not an Ed25519 key.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, SignError> {
        Ed25519KeyPair::from_pkcs8(der)
            .or_else(|_| Ed25519KeyPair::from_pkcs8_maybe_unchecked(der))
            .map(|pair| Self { pair })
            .map_err(|_| SignError::BadPrivateKey)
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        let mut key = [0u8; PUBLIC_KEY_LEN];
        key.copy_from_slice(self.pair.public_key().as_ref());
        PublicKey(key)
    }

    /// Signs a message.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.pair.sign(message).as_ref().to_vec()
    }
}

/// An Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct PublicKey(pub [u8; PUBLIC_KEY_LEN]);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", crate::hex::encode(&self.0))
    }
}

impl PublicKey {
    /// Wraps raw key bytes.
    ///
    /// # Errors
    /// When the slice is not 32 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, SignError> {
        let key: [u8; PUBLIC_KEY_LEN] = bytes
            .try_into()
            .map_err(|_| SignError::BadPublicKey(bytes.len()))?;
        Ok(Self(key))
    }

    /// Checks a signature over a message.
    ///
    /// # Errors
    /// [`SignError::BadSignature`] when it does not verify.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), SignError> {
        signature::UnparsedPublicKey::new(&signature::ED25519, &self.0)
            .verify(message, signature)
            .map_err(|_| SignError::BadSignature)
    }
}

/// Checks many signatures at once (Ed25519 batch verification, from
/// ed25519-dalek): `Ok` when every one verifies, for about half the work
/// of checking them one by one when there are a hundred or more. On an
/// error, check each with [`PublicKey::verify`] to find which failed.
///
/// One difference with single verification: the batch equation weighs
/// each signature by a coefficient derived from the whole batch, so a
/// signature its own key holder deliberately built with a small-order
/// component can pass in a batch and fail alone. Only the holder of the
/// key can build one (it is not a forgery), and `verify-indicator`, which
/// checks each stored answer alone, then names that node's answer.
///
/// # Errors
/// [`SignError::BadSignature`] when at least one does not verify (a key
/// that is not a curve point verifies nothing).
#[cfg(feature = "batch")]
pub fn verify_batch(items: &[(&PublicKey, &[u8], &[u8])]) -> Result<(), SignError> {
    let mut keys = Vec::with_capacity(items.len());
    let mut signatures = Vec::with_capacity(items.len());
    let mut messages = Vec::with_capacity(items.len());
    for (key, message, signature) in items {
        keys.push(
            ed25519_dalek::VerifyingKey::from_bytes(&key.0).map_err(|_| SignError::BadSignature)?,
        );
        signatures.push(
            ed25519_dalek::Signature::from_slice(signature).map_err(|_| SignError::BadSignature)?,
        );
        messages.push(*message);
    }
    ed25519_dalek::verify_batch(&messages, &signatures, &keys).map_err(|_| SignError::BadSignature)
}

/// SHA-256 of some bytes.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[cfg(feature = "batch")]
    #[test]
    fn a_batch_verifies_only_when_every_signature_does() {
        let keys: Vec<SigningKey> = (0..20).map(|_| key()).collect();
        let publics: Vec<PublicKey> = keys.iter().map(SigningKey::public).collect();
        let messages: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i; 100 + usize::from(i)]).collect();
        let mut signatures: Vec<Vec<u8>> =
            keys.iter().zip(&messages).map(|(k, m)| k.sign(m)).collect();
        let items = |sigs: &[Vec<u8>]| -> Result<(), SignError> {
            let v: Vec<(&PublicKey, &[u8], &[u8])> = publics
                .iter()
                .zip(&messages)
                .zip(sigs)
                .map(|((k, m), s)| (k, m.as_slice(), s.as_slice()))
                .collect();
            verify_batch(&v)
        };
        assert_eq!(items(&signatures), Ok(()));
        // Ring agrees on each.
        for ((k, m), s) in publics.iter().zip(&messages).zip(&signatures) {
            k.verify(m, s).unwrap();
        }
        // One altered signature, one swapped pair, one short: refused.
        signatures[7][3] ^= 1;
        assert_eq!(items(&signatures), Err(SignError::BadSignature));
        signatures[7][3] ^= 1;
        signatures.swap(2, 3);
        assert_eq!(items(&signatures), Err(SignError::BadSignature));
        signatures.swap(2, 3);
        signatures[0].pop();
        assert_eq!(items(&signatures), Err(SignError::BadSignature));
        assert_eq!(verify_batch(&[]), Ok(()));
    }

    /// A fresh key for tests.
    pub(crate) fn key() -> SigningKey {
        let rng = ring::rand::SystemRandom::new();
        let doc = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        SigningKey::from_pkcs8(doc.as_ref()).unwrap()
    }

    #[test]
    fn sign_and_verify() {
        let k = key();
        let sig = k.sign(b"query");
        assert_eq!(sig.len(), SIGNATURE_LEN);
        assert_eq!(k.public().verify(b"query", &sig), Ok(()));
        assert_eq!(
            k.public().verify(b"querz", &sig),
            Err(SignError::BadSignature)
        );
        assert_eq!(
            key().public().verify(b"query", &sig),
            Err(SignError::BadSignature)
        );
        assert_eq!(
            SigningKey::from_pkcs8(b"junk").unwrap_err(),
            SignError::BadPrivateKey
        );
    }
}
