//! One-time codes in the store: link codes a person shows at a counter,
//! reset codes a professional hands out.
//!
//! Every read-modify-write of a code (counting a person's outstanding
//! codes before adding one, counting an attempt at a reset code) runs
//! under one process lock, [`CODES_LOCK`]: the hub is a single process
//! and the store folder is locked to it, so two requests cannot both
//! pass a check that only one should.
//!
//! A code's record gained an attempt counter; records written before it
//! are read as having no attempt yet ([`Versioned`]).

use std::sync::{Mutex, MutexGuard};

use passerelle_hub_core::{
    store::{keyspace::Encoding, StoreError},
    HubError,
};
use passerelle_protocol::{codec, UnixTime};
use serde::{Deserialize, Serialize};

use super::{put_held, VaultStore};

/// A one-time code waiting to be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCode {
    /// The person it is for.
    pub person: String,
    /// Valid until.
    pub expires_at: UnixTime,
    /// Who issued it (for reset codes: the professional).
    pub issued_by: String,
    /// Attempts made with it that did not succeed (a mistyped rescue
    /// code alongside a reset code).
    pub attempts: u32,
}

/// The record as written before the attempt counter.
#[derive(Deserialize)]
struct PendingCodeV1 {
    person: String,
    expires_at: UnixTime,
    issued_by: String,
}

/// A code's encoding: the current record, or one written before the
/// attempt counter (read with no attempt made).
#[derive(Debug)]
pub enum Versioned {}

impl Encoding<PendingCode> for Versioned {
    fn encode(value: &PendingCode) -> Result<Vec<u8>, StoreError> {
        Ok(codec::encode(value)?)
    }
    fn decode(bytes: &[u8]) -> Result<PendingCode, StoreError> {
        match codec::decode::<PendingCode>(bytes) {
            Ok(p) => Ok(p),
            Err(e) => match codec::decode::<PendingCodeV1>(bytes) {
                Ok(v1) => Ok(PendingCode {
                    person: v1.person,
                    expires_at: v1.expires_at,
                    issued_by: v1.issued_by,
                    attempts: 0,
                }),
                Err(_) => Err(e.into()),
            },
        }
    }
}

/// Which one-time codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// A code a person shows at a counter to link an institution's record.
    Link,
    /// A password reset code a professional hands out.
    Reset,
}

/// Held across every read-modify-write of a code.
static CODES_LOCK: Mutex<()> = Mutex::new(());

pub(super) fn one_at_a_time() -> MutexGuard<'static, ()> {
    CODES_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What an attempt with a code found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// No such code (never issued, used, purged, or out of attempts).
    Unknown,
    /// The code had expired; it is removed.
    Expired,
    /// The code is valid; this attempt is counted in `attempts`.
    Counted(PendingCode),
}

impl VaultStore {
    /// Stores a one-time code.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_code(
        &self,
        kind: CodeKind,
        code_hash: &[u8; 32],
        p: &PendingCode,
    ) -> Result<(), HubError> {
        let _one = one_at_a_time();
        self.put(self.codes(kind), code_hash, p)
    }

    /// Stores a one-time code unless its person already has `max` valid
    /// ones of that kind; expired codes of that kind are removed on the
    /// way. Whether it was stored.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_code_capped(
        &self,
        kind: CodeKind,
        code_hash: &[u8; 32],
        p: &PendingCode,
        max: usize,
        now: UnixTime,
    ) -> Result<bool, HubError> {
        let _one = one_at_a_time();
        let mut theirs = 0;
        self.sweep_codes(kind, now, |c| theirs += usize::from(c.person == p.person))?;
        if theirs >= max {
            return Ok(false);
        }
        self.put(self.codes(kind), code_hash, p)?;
        Ok(true)
    }

    /// Stores a one-time code in place of every other code of that kind
    /// its person has (so each person has one at most); expired codes of
    /// that kind are removed on the way. How many earlier codes it
    /// replaced.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_code_replacing(
        &self,
        kind: CodeKind,
        code_hash: &[u8; 32],
        p: &PendingCode,
        now: UnixTime,
    ) -> Result<usize, HubError> {
        let _one = one_at_a_time();
        self.sweep_codes(kind, now, |_| {})?;
        let codes = self.codes(kind);
        let mut earlier = Vec::new();
        for e in codes.iter()? {
            let e = e?;
            if e.value().is_ok_and(|c| c.person == p.person) {
                earlier.push(e.key().to_vec());
            }
        }
        let _w = self.store.writing()?;
        for k in &earlier {
            codes.remove(k)?;
        }
        put_held(codes, code_hash, p)?;
        Ok(earlier.len())
    }

    /// Takes a one-time code: it is removed whether valid or not.
    ///
    /// # Errors
    /// On a store failure.
    pub fn take_code(
        &self,
        kind: CodeKind,
        code_hash: &[u8; 32],
    ) -> Result<Option<PendingCode>, HubError> {
        let _one = one_at_a_time();
        let _w = self.store.writing()?;
        let codes = self.codes(kind);
        let v = codes.remove(code_hash)?;
        codes.flush()?;
        Ok(v)
    }

    /// A one-time code, left in place.
    ///
    /// # Errors
    /// On a store failure.
    pub fn code(
        &self,
        kind: CodeKind,
        code_hash: &[u8; 32],
    ) -> Result<Option<PendingCode>, HubError> {
        Ok(self.codes(kind).get(code_hash)?)
    }

    /// Counts one attempt with a code, in one step: of `max` attempts,
    /// the code allows no more; an expired code is removed.
    ///
    /// # Errors
    /// On a store failure.
    pub fn attempt_code(
        &self,
        kind: CodeKind,
        code_hash: &[u8; 32],
        max: u32,
        now: UnixTime,
    ) -> Result<Attempt, HubError> {
        let _one = one_at_a_time();
        let _w = self.store.writing()?;
        let codes = self.codes(kind);
        let Some(mut p) = codes.get(code_hash)? else {
            return Ok(Attempt::Unknown);
        };
        if p.expires_at <= now || p.attempts >= max {
            codes.remove(code_hash)?;
            codes.flush()?;
            return Ok(if p.expires_at <= now {
                Attempt::Expired
            } else {
                Attempt::Unknown
            });
        }
        p.attempts += 1;
        codes.insert(code_hash, &p)?;
        codes.flush()?;
        Ok(Attempt::Counted(p))
    }

    /// After a failed attempt: removes the code once it has used its
    /// `max` attempts. Whether it was removed.
    ///
    /// # Errors
    /// On a store failure.
    pub fn code_failed(
        &self,
        kind: CodeKind,
        code_hash: &[u8; 32],
        max: u32,
    ) -> Result<bool, HubError> {
        let _one = one_at_a_time();
        let _w = self.store.writing()?;
        let codes = self.codes(kind);
        match codes.get(code_hash)? {
            Some(p) if p.attempts >= max => {
                codes.remove(code_hash)?;
                codes.flush()?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Removes the expired (and unreadable) codes of a kind; how many.
    ///
    /// # Errors
    /// On a store failure.
    pub fn purge_codes(&self, kind: CodeKind, now: UnixTime) -> Result<usize, HubError> {
        let _one = one_at_a_time();
        self.sweep_codes(kind, now, |_| {})
    }

    /// Removes expired and unreadable codes, shows `live` the others;
    /// how many were removed. The caller holds the codes' lock.
    fn sweep_codes(
        &self,
        kind: CodeKind,
        now: UnixTime,
        mut live: impl FnMut(&PendingCode),
    ) -> Result<usize, HubError> {
        let codes = self.codes(kind);
        let mut gone = Vec::new();
        for e in codes.iter()? {
            let e = e?;
            match e.value() {
                Ok(p) if p.expires_at > now => live(&p),
                _ => gone.push(e.key().to_vec()),
            }
        }
        if !gone.is_empty() {
            let _w = self.store.writing()?;
            for k in &gone {
                codes.remove(k)?;
            }
            codes.flush()?;
        }
        Ok(gone.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(person: &str, expires_at: UnixTime) -> PendingCode {
        PendingCode {
            person: person.into(),
            expires_at,
            issued_by: "pro".into(),
            attempts: 0,
        }
    }

    fn store() -> (tempfile::TempDir, VaultStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = passerelle_hub_core::store::Store::open(&dir.path().join("store")).unwrap();
        (dir, VaultStore::new(s))
    }

    #[test]
    fn records_written_before_the_attempt_counter_still_read() {
        #[derive(Serialize)]
        struct V1<'a>(&'a str, UnixTime, &'a str);
        let old = codec::encode(&V1("p1", 99, "person")).unwrap();
        let p = Versioned::decode(&old).unwrap();
        assert_eq!(
            p,
            PendingCode {
                issued_by: "person".into(),
                ..code("p1", 99)
            }
        );
        let mut new = code("p2", 5);
        new.attempts = 3;
        assert_eq!(
            Versioned::decode(&Versioned::encode(&new).unwrap()).unwrap(),
            new
        );
        assert!(Versioned::decode(b"\xff\xff").is_err());
    }

    #[test]
    fn outstanding_codes_are_capped_per_person_and_expired_ones_purged() {
        let (_d, s) = store();
        let k = CodeKind::Link;
        for i in 0..3u8 {
            assert!(s
                .put_code_capped(k, &[i; 32], &code("a", 100), 3, 10)
                .unwrap());
        }
        assert!(!s
            .put_code_capped(k, &[9; 32], &code("a", 100), 3, 10)
            .unwrap());
        // Another person is not affected.
        assert!(s
            .put_code_capped(k, &[8; 32], &code("b", 100), 3, 10)
            .unwrap());
        // Once they expire, they are purged on the way and room comes back.
        assert!(s
            .put_code_capped(k, &[7; 32], &code("a", 300), 3, 100)
            .unwrap());
        assert!(s.code(k, &[0; 32]).unwrap().is_none());
        assert!(s.code(k, &[7; 32]).unwrap().is_some());
        s.put_code(k, &[6; 32], &code("c", 50)).unwrap();
        assert_eq!(s.purge_codes(k, 299).unwrap(), 1);
        assert_eq!(s.purge_codes(k, 300).unwrap(), 1);
        assert_eq!(s.purge_codes(k, 300).unwrap(), 0);
    }

    #[test]
    fn a_new_reset_code_replaces_the_person_s_earlier_ones() {
        let (_d, s) = store();
        let k = CodeKind::Reset;
        assert_eq!(
            s.put_code_replacing(k, &[1; 32], &code("a", 100), 10)
                .unwrap(),
            0
        );
        assert_eq!(
            s.put_code_replacing(k, &[2; 32], &code("b", 100), 10)
                .unwrap(),
            0
        );
        assert_eq!(
            s.put_code_replacing(k, &[3; 32], &code("a", 100), 10)
                .unwrap(),
            1
        );
        assert!(s.code(k, &[1; 32]).unwrap().is_none());
        assert!(s.code(k, &[2; 32]).unwrap().is_some());
        assert!(s.code(k, &[3; 32]).unwrap().is_some());
    }

    #[test]
    fn attempts_are_counted_then_the_code_expires() {
        let (_d, s) = store();
        let k = CodeKind::Reset;
        s.put_code(k, &[1; 32], &code("a", 100)).unwrap();
        for n in 1..=3 {
            match s.attempt_code(k, &[1; 32], 3, 10).unwrap() {
                Attempt::Counted(p) => assert_eq!(p.attempts, n),
                other => panic!("{other:?}"),
            }
            assert_eq!(s.code_failed(k, &[1; 32], 3).unwrap(), n == 3);
        }
        assert_eq!(
            s.attempt_code(k, &[1; 32], 3, 10).unwrap(),
            Attempt::Unknown
        );
        s.put_code(k, &[2; 32], &code("a", 100)).unwrap();
        assert_eq!(
            s.attempt_code(k, &[2; 32], 3, 100).unwrap(),
            Attempt::Expired
        );
        assert!(s.code(k, &[2; 32]).unwrap().is_none());
    }
}
