//! Partner professionals' key pairs for shared uploads (HPKE, RFC 9180:
//! DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305, from the
//! `hpke` crate; nothing here is hand-rolled).
//!
//! Each professional has one static X25519 pair. The private key is
//! sealed (AES-256-GCM, the protocol's `seal::wrap`) under a key derived
//! from their password with argon2id, as persons' data keys are: the hub
//! holds it in clear only in the memory of their session. A password the
//! operator resets cannot open it any more: the next sign-in makes a new
//! pair, and what was shared under the old one can no longer be opened
//! (the person shares again).

use argon2::Argon2;
use hpke::{
    aead::ChaCha20Poly1305, kdf::HkdfSha256, kem::X25519HkdfSha256, Deserializable, Kem as _,
    OpModeR, OpModeS, Serializable,
};
use passerelle_protocol::{
    seal::{self, Key},
    UnixTime,
};

use crate::{
    error::VaultError,
    store::{ProKeyRecord, VaultStore, WrappedKey},
};

type Kem = X25519HkdfSha256;
type PrivateKey = <Kem as hpke::Kem>::PrivateKey;
type PublicKey = <Kem as hpke::Kem>::PublicKey;

/// What every sealed upload key is bound to (HPKE `info`).
const INFO: &[u8] = b"passerelle vault upload share v1";

/// A professional's private key in clear: kept in their session only.
#[derive(Clone)]
pub struct ProSecret {
    account: String,
    private: PrivateKey,
}

impl std::fmt::Debug for ProSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProSecret({}, ..)", self.account)
    }
}

impl ProSecret {
    /// The account it belongs to.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The secret of `account` from its private key's bytes (as
    /// [`ProSecret::private_bytes`] gave them), or `None` when they are
    /// not a key.
    pub fn from_private_bytes(account: &str, bytes: &[u8; 32]) -> Option<Self> {
        Some(Self {
            account: account.to_string(),
            private: PrivateKey::from_bytes(bytes).ok()?,
        })
    }

    /// The private key's bytes (for tests that prove they are stored
    /// nowhere in clear, and to wrap it with a shared session).
    pub fn private_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&self.private.to_bytes());
        out
    }
}

fn kek(password: &str, salt: &[u8; 16]) -> Result<Key, VaultError> {
    let mut out = [0u8; 32];
    Argon2::default()
        .hash_password_into(password.as_bytes(), salt, &mut out)
        .map_err(|e| VaultError::KeyDerivation(e.to_string()))?;
    Ok(Key(out))
}

fn context(account: &str) -> Vec<u8> {
    [b"pro-key\0".as_slice(), account.as_bytes()].concat()
}

/// Seals `private` under a key derived from `password` (fresh salt).
fn record(
    account: &str,
    private: &PrivateKey,
    password: &str,
    now: UnixTime,
) -> Result<ProKeyRecord, VaultError> {
    let mut salt = [0u8; 16];
    seal::random(&mut salt);
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(&private.to_bytes());
    let mut public = [0u8; 32];
    public.copy_from_slice(&Kem::sk_to_pk(private).to_bytes());
    Ok(ProKeyRecord {
        public,
        salt,
        wrapped_private: seal::wrap(&kek(password, &salt)?, &context(account), &Key(bytes)),
        created_at: now,
    })
}

/// Opens a stored pair with a password, if it does.
fn open(account: &str, r: &ProKeyRecord, password: &str) -> Result<Option<PrivateKey>, VaultError> {
    let Ok(k) = seal::unwrap(
        &kek(password, &r.salt)?,
        &context(account),
        &r.wrapped_private,
    ) else {
        return Ok(None);
    };
    let Ok(private) = PrivateKey::from_bytes(&k.0) else {
        return Ok(None);
    };
    let same = Kem::sk_to_pk(&private).to_bytes().as_slice() == r.public.as_slice();
    Ok(same.then_some(private))
}

/// At sign-in, with the password just checked: the professional's private
/// key, opened; a new pair when they have none, or when theirs does not
/// open (the operator reset the password).
///
/// # Errors
/// On a store failure or when the derivation fails.
pub fn unlock(
    store: &VaultStore,
    account: &str,
    password: &str,
    now: UnixTime,
) -> Result<ProSecret, VaultError> {
    if let Some(r) = store.pro_key(account)? {
        if let Some(private) = open(account, &r, password)? {
            return Ok(ProSecret {
                account: account.to_string(),
                private,
            });
        }
        tracing::warn!(
            %account,
            "professional's share key does not open with this password (reset by the operator?): a new pair replaces it, uploads shared before cannot be opened"
        );
    }
    let (private, _) = Kem::gen_keypair();
    store.put_pro_key(account, &record(account, &private, password, now)?)?;
    Ok(ProSecret {
        account: account.to_string(),
        private,
    })
}

/// A password change: the private key, opened with the current password,
/// is sealed again under the new one. Without a pair that opens (a first
/// password, or one the operator set), a new pair is made under the new
/// password only: a password the operator saw never seals a key.
///
/// # Errors
/// On a store failure or when the derivation fails.
pub fn change_password(
    store: &VaultStore,
    account: &str,
    current: &str,
    new: &str,
    now: UnixTime,
) -> Result<ProSecret, VaultError> {
    let opened = match store.pro_key(account)? {
        Some(r) => open(account, &r, current)?,
        None => None,
    };
    let private = opened.unwrap_or_else(|| Kem::gen_keypair().0);
    store.put_pro_key(account, &record(account, &private, new, now)?)?;
    Ok(ProSecret {
        account: account.to_string(),
        private,
    })
}

fn aad(share: &str, upload: &str, account: &str) -> Vec<u8> {
    [share, upload, account].join("\0").into_bytes()
}

/// Seals an upload key to a professional's public key, bound to the
/// share, the upload and the account.
///
/// # Errors
/// When the stored public key is not one.
pub(crate) fn seal_to(
    public: &[u8; 32],
    share: &str,
    upload: &str,
    account: &str,
    key: &Key,
) -> Result<WrappedKey, VaultError> {
    let pk = PublicKey::from_bytes(public).map_err(|e| VaultError::Sealed {
        upload: upload.to_string(),
        why: format!("professional's public key: {e}"),
    })?;
    let (encapped, sealed) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeS::Base,
        &pk,
        INFO,
        &key.0,
        &aad(share, upload, account),
    )
    .map_err(|e| VaultError::Sealed {
        upload: upload.to_string(),
        why: e.to_string(),
    })?;
    Ok(WrappedKey {
        upload: upload.to_string(),
        encapped: encapped.to_bytes().to_vec(),
        sealed,
    })
}

/// Opens an upload key sealed by [`seal_to`]; `None` when it does not
/// open with this professional's key.
pub(crate) fn open_from(secret: &ProSecret, share: &str, w: &WrappedKey) -> Option<Key> {
    let encapped = <Kem as hpke::Kem>::EncappedKey::from_bytes(&w.encapped).ok()?;
    let plain = hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, Kem>(
        &OpModeR::Base,
        &secret.private,
        &encapped,
        INFO,
        &w.sealed,
        &aad(share, &w.upload, &secret.account),
    )
    .ok()?;
    Key::from_slice(&plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, VaultStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = VaultStore::new(
            passerelle_hub_core::store::Store::open(&dir.path().join("store")).unwrap(),
        );
        (dir, s)
    }

    #[test]
    fn keys_open_with_the_password_only_and_follow_its_change() {
        let (_d, s) = store();
        let a = unlock(&s, "ana@caf.fr", "premier-mot-de-passe", 1).unwrap();
        let public = s.pro_key("ana@caf.fr").unwrap().unwrap().public;
        let key = Key::generate();
        let w = seal_to(&public, "s1", "u1", "ana@caf.fr", &key).unwrap();
        assert_eq!(open_from(&a, "s1", &w).unwrap().0, key.0);
        // Bound to the share, the upload and the account.
        assert!(open_from(&a, "s2", &w).is_none());
        let mut moved = w.clone();
        moved.upload = "u2".into();
        assert!(open_from(&a, "s1", &moved).is_none());
        // The same password opens the same pair.
        let again = unlock(&s, "ana@caf.fr", "premier-mot-de-passe", 2).unwrap();
        assert_eq!(again.private_bytes(), a.private_bytes());
        // A change keeps the pair under the new password.
        change_password(
            &s,
            "ana@caf.fr",
            "premier-mot-de-passe",
            "second-mot-de-passe",
            3,
        )
        .unwrap();
        let after = unlock(&s, "ana@caf.fr", "second-mot-de-passe", 4).unwrap();
        assert_eq!(open_from(&after, "s1", &w).unwrap().0, key.0);
        // A password reset by the operator: a new pair, the old wraps are lost.
        let reset = unlock(&s, "ana@caf.fr", "mot-de-passe-de-l-operateur", 5).unwrap();
        assert_ne!(reset.private_bytes(), a.private_bytes());
        assert!(open_from(&reset, "s1", &w).is_none());
        // Another professional cannot open it.
        let bob = unlock(&s, "bob@cd.fr", "mot-de-passe-bob", 6).unwrap();
        let for_bob = ProSecret {
            account: "ana@caf.fr".into(),
            private: bob.private,
        };
        assert!(open_from(&for_bob, "s1", &w).is_none());
        // The record holds no clear private key.
        let stored = passerelle_protocol::codec::encode(&s.pro_key("ana@caf.fr").unwrap()).unwrap();
        let private = reset.private_bytes();
        assert!(!stored.windows(32).any(|w| w == private));
    }
}
