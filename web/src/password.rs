//! Passwords: argon2id hashes (PHC strings), the rules for a new one, and
//! first passwords printed once to an administrator.

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};

/// Shortest new password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Why a new password is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NewPasswordError {
    /// Fewer than [`MIN_PASSWORD_CHARS`] characters.
    #[error("shorter than {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    /// The two copies differ.
    #[error("the two copies differ")]
    Mismatch,
    /// The same as the current one.
    #[error("same as the current password")]
    Unchanged,
}

/// Checks a new password (typed twice) against the rules.
///
/// # Errors
/// The first rule broken.
pub fn check_new_password(current: &str, new: &str, again: &str) -> Result<(), NewPasswordError> {
    if new.chars().count() < MIN_PASSWORD_CHARS {
        Err(NewPasswordError::TooShort)
    } else if new != again {
        Err(NewPasswordError::Mismatch)
    } else if new == current {
        Err(NewPasswordError::Unchanged)
    } else {
        Ok(())
    }
}

/// The hasher failed (it does not, in practice).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot hash the password: {0}")]
pub struct HashError(pub String);

/// Hashes a password with argon2id and a fresh salt.
///
/// # Errors
/// Only if the hasher fails.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let salt = SaltString::encode_b64(&passerelle_link::random16())
        .map_err(|e| HashError(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Checks a password against a stored hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A real argon2id hash of a random password, computed once: checking an
/// unknown login against it costs the same as checking a real one.
pub fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&generate_password()).unwrap_or_default())
}

/// A random password of 20 characters from an unambiguous alphabet.
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY3479";
    let mut bytes = [0u8; 20];
    for chunk in bytes.chunks_mut(16) {
        let r = passerelle_link::random16();
        chunk.copy_from_slice(&r[..chunk.len()]);
    }
    bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsf", &h));
        assert!(!verify_password("x", "not a hash"));
        let p = generate_password();
        assert_eq!(p.len(), 20);
        assert_ne!(p, generate_password());
    }

    #[test]
    fn new_password_rules() {
        use NewPasswordError::*;
        assert_eq!(check_new_password("old", "court", "court"), Err(TooShort));
        assert_eq!(
            check_new_password("old", "douze-lettres", "douze-lettrez"),
            Err(Mismatch)
        );
        assert_eq!(
            check_new_password("douze-lettres", "douze-lettres", "douze-lettres"),
            Err(Unchanged)
        );
        assert_eq!(
            check_new_password("old", "douze-lettres", "douze-lettres"),
            Ok(())
        );
    }
}
