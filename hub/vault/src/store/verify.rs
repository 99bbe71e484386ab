//! Identifiers being verified before an account exists: one record per
//! code sent, under the SHA-256 of the token the person's browser holds
//! for that step (so the store alone names no step a browser could use).
//! A new verification of an identifier replaces its earlier ones; every
//! read-modify-write runs under the codes' process lock.

use passerelle_hub_core::{store::VaultSpace, HubError};
use passerelle_protocol::UnixTime;
use serde::{Deserialize, Serialize};

use super::{codes::one_at_a_time, put_held, VaultStore};

/// An identifier being verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// The normalised login being verified.
    pub login: String,
    /// HMAC-SHA-256 of the code under the step's token; `None` when an
    /// account already had this login (no code can succeed: the message
    /// sent said so instead).
    pub code_mac: Option<[u8; 32]>,
    /// Valid until.
    pub expires_at: UnixTime,
    /// Tries made.
    pub attempts: u32,
}

/// What a try with a verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyAttempt {
    /// No such step (never started, used, replaced, or out of tries).
    Unknown,
    /// It expired; it is removed.
    Expired,
    /// It is valid; this try is counted in `attempts`.
    Counted(Verification),
}

impl VaultStore {
    fn verifications(&self) -> passerelle_hub_core::store::Keyspace<Verification> {
        self.store.keyspace(VaultSpace::Verifications)
    }

    /// Stores a verification in place of the identifier's earlier ones;
    /// expired ones go on the way. `false` (nothing stored) when `max`
    /// verifications are already waiting, all identifiers together.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_verification(
        &self,
        token_hash: &[u8; 32],
        v: &Verification,
        max: usize,
        now: UnixTime,
    ) -> Result<bool, HubError> {
        let _one = one_at_a_time();
        let ks = self.verifications();
        let mut gone = Vec::new();
        let mut live = 0;
        for e in ks.iter()? {
            let e = e?;
            match e.value() {
                Ok(old) if old.expires_at > now && old.login != v.login => live += 1,
                _ => gone.push(e.key().to_vec()),
            }
        }
        let _w = self.store.writing()?;
        for k in &gone {
            ks.remove(k)?;
        }
        if live >= max {
            ks.flush()?;
            return Ok(false);
        }
        put_held(&ks, token_hash, v)?;
        Ok(true)
    }

    /// Counts one try with a verification, in one step: of `max` tries,
    /// the step allows no more; an expired one is removed.
    ///
    /// # Errors
    /// On a store failure.
    pub fn attempt_verification(
        &self,
        token_hash: &[u8; 32],
        max: u32,
        now: UnixTime,
    ) -> Result<VerifyAttempt, HubError> {
        let _one = one_at_a_time();
        let _w = self.store.writing()?;
        let ks = self.verifications();
        let Some(mut v) = ks.get(token_hash)? else {
            return Ok(VerifyAttempt::Unknown);
        };
        if v.expires_at <= now || v.attempts >= max {
            ks.remove(token_hash)?;
            ks.flush()?;
            return Ok(if v.expires_at <= now {
                VerifyAttempt::Expired
            } else {
                VerifyAttempt::Unknown
            });
        }
        v.attempts += 1;
        ks.insert(token_hash, &v)?;
        ks.flush()?;
        Ok(VerifyAttempt::Counted(v))
    }

    /// Takes a verification: it is removed whatever it held.
    ///
    /// # Errors
    /// On a store failure.
    pub fn take_verification(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<Verification>, HubError> {
        let _one = one_at_a_time();
        let _w = self.store.writing()?;
        let ks = self.verifications();
        let v = ks.remove(token_hash)?;
        ks.flush()?;
        Ok(v)
    }

    /// Removes expired (and unreadable) verifications; how many.
    ///
    /// # Errors
    /// On a store failure.
    pub fn purge_verifications(&self, now: UnixTime) -> Result<usize, HubError> {
        let _one = one_at_a_time();
        let ks = self.verifications();
        let mut gone = Vec::new();
        for e in ks.iter()? {
            let e = e?;
            if !e.value().is_ok_and(|v| v.expires_at > now) {
                gone.push(e.key().to_vec());
            }
        }
        if !gone.is_empty() {
            let _w = self.store.writing()?;
            for k in &gone {
                ks.remove(k)?;
            }
            ks.flush()?;
        }
        Ok(gone.len())
    }
}
