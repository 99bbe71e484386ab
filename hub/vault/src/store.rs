//! The vault's part of the hub store: its records, kept in typed keyspaces
//! the core store hands out ([`VaultSpace`] lists them and their keys).
//! This module never names a tree nor the storage engine.
//!
//! The hub stores no document an institution holds, and no national
//! identifier: a person is a random id, and each node knows them by a
//! different pseudonym.

use crate::error::{Refusal, VaultError};
use std::sync::Mutex;

mod codes;
mod consent_index;
mod notices;
mod verify;
pub use codes::{Attempt, CodeKind, PendingCode, Versioned};
pub use notices::{Notice, Outgoing, Preferences};
pub use verify::{Verification, VerifyAttempt};
mod shares;
/// `a \0 b`, the key of an index entry.
pub use passerelle_hub_core::store::keyspace::pair;
pub use shares::{Erased, ProKeyRecord, ShareRecord, WrappedKey};

use passerelle_protocol::{
    audit::{self, Event, Record},
    ids::NodeId,
    vault::{Category, Consent, SignedConsent},
    UnixTime,
};
use serde::{Deserialize, Serialize};

use passerelle_hub_core::{
    store::{
        keyspace::{Entry, Raw},
        Keyspace, Store, VaultSpace,
    },
    HubError,
};

/// A beneficiary's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonAccount {
    /// Random id (32 hex digits): the person's only identity at the hub.
    pub id: String,
    /// Phone number or e-mail address, normalised.
    pub login: String,
    /// Salt of the password derivation.
    pub salt: [u8; 16],
    /// SHA-256 of the second half of the argon2id output.
    pub verifier: [u8; 32],
    /// The person's data key, wrapped by the first half.
    pub wrapped_by_password: Vec<u8>,
    /// Salt of the rescue-code derivation.
    pub rescue_salt: [u8; 16],
    /// The data key, wrapped by a key derived from the rescue code.
    pub wrapped_by_rescue: Vec<u8>,
    /// When.
    pub created_at: UnixTime,
    /// The professional who helped create it at a counter, if one did.
    pub assisted_by: Option<String>,
}

/// A document the person uploaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    /// Id (32 hex digits).
    pub id: String,
    /// Owner.
    pub person: String,
    /// File name given.
    pub name: String,
    /// Category chosen.
    pub category: Category,
    /// Media type, from the content.
    pub mime: String,
    /// Size in bytes.
    pub size: u64,
    /// When.
    pub added_at: UnixTime,
    /// The upload's key, wrapped by the person's data key.
    pub wrapped_key: Vec<u8>,
}

/// A consent the person gave, as the hub keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRecord {
    /// The person (hub id).
    pub person: String,
    /// The consent.
    pub consent: Consent,
    /// As signed.
    pub signed: SignedConsent,
    /// Who it is for, in words.
    pub grantee_label: String,
    /// What it covers, in words.
    pub scope_label: String,
    /// When the person revoked it.
    pub revoked_at: Option<UnixTime>,
}

impl ConsentRecord {
    /// Whether it may be used at `now`.
    pub fn active(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && now >= self.consent.not_before && now < self.consent.not_after
    }
}

/// A verifiable duplicate issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateRecord {
    /// The sealed statement (encoded [`crate::duplicate::Seal`]).
    pub seal: Vec<u8>,
    /// The hub's signature over it.
    pub seal_signature: Vec<u8>,
    /// SHA-256 of the copy delivered.
    pub copy_sha256: [u8; 32],
    /// The hub's signature over the code and that hash.
    pub copy_signature: Vec<u8>,
    /// The person it concerns (for their log; never shown publicly).
    pub person: String,
}

/// The vault's records.
#[derive(Debug, Clone)]
pub struct VaultStore {
    store: Store,
    persons: Keyspace<PersonAccount>,
    logins: Keyspace<String, Raw>,
    link_codes: Keyspace<PendingCode, Versioned>,
    reset_codes: Keyspace<PendingCode, Versioned>,
    person_links: Keyspace<UnixTime>,
    uploads: Keyspace<Upload>,
    consents: Keyspace<ConsentRecord>,
    person_consents: Keyspace<()>,
    consent_indexes: consent_index::ConsentIndexes,
    duplicates: Keyspace<DuplicateRecord>,
    audit: Keyspace<Record>,
    person_audit: Keyspace<(), Raw>,
    meta: Keyspace<[u8; 32], Raw>,
    pro_keys: Keyspace<ProKeyRecord>,
    shares: Keyspace<ShareRecord>,
    pending_forgets: Keyspace<UnixTime>,
    erased: Keyspace<Erased>,
    last_seen: Keyspace<UnixTime>,
    inactive_warnings: Keyspace<UnixTime>,
}

/// Appends to an audit chain one at a time, so each record links to the
/// last. One lock for the process: any copy of a store shares it.
static AUDIT_LOCK: Mutex<()> = Mutex::new(());

/// The key of the pseudonym secret in the vault's own keyspace.
const PSEUDONYM_KEY: &[u8] = b"pseudonym_key";

/// Writes `value` under `key` and flushes, for a caller holding the write
/// gate.
fn put_held<V, E>(ks: &Keyspace<V, E>, key: &[u8], value: &V) -> Result<(), HubError>
where
    E: passerelle_hub_core::store::keyspace::Encoding<V>,
{
    ks.insert(key, value)?;
    ks.flush()?;
    Ok(())
}

/// The values of some entries.
fn values<V, E>(
    entries: impl Iterator<Item = Result<Entry<V, E>, passerelle_hub_core::store::StoreError>>,
) -> Result<Vec<V>, HubError>
where
    E: passerelle_hub_core::store::keyspace::Encoding<V>,
{
    entries.map(|e| Ok(e?.value()?)).collect()
}

impl VaultStore {
    /// The vault's part of `store`.
    pub fn new(store: Store) -> Self {
        Self {
            persons: store.keyspace(VaultSpace::Persons),
            logins: store.keyspace(VaultSpace::Logins),
            link_codes: store.keyspace(VaultSpace::LinkCodes),
            reset_codes: store.keyspace(VaultSpace::ResetCodes),
            person_links: store.keyspace(VaultSpace::PersonLinks),
            uploads: store.keyspace(VaultSpace::Uploads),
            consents: store.keyspace(VaultSpace::Consents),
            person_consents: store.keyspace(VaultSpace::PersonConsents),
            consent_indexes: consent_index::ConsentIndexes::new(&store),
            duplicates: store.keyspace(VaultSpace::Duplicates),
            audit: store.keyspace(VaultSpace::Audit),
            person_audit: store.keyspace(VaultSpace::PersonAudit),
            meta: store.keyspace(VaultSpace::Meta),
            pro_keys: store.keyspace(VaultSpace::ProKeys),
            shares: store.keyspace(VaultSpace::UploadShares),
            pending_forgets: store.keyspace(VaultSpace::PendingForgets),
            erased: store.keyspace(VaultSpace::Erased),
            last_seen: store.keyspace(VaultSpace::LastSeen),
            inactive_warnings: store.keyspace(VaultSpace::InactiveWarnings),
            store,
        }
    }

    /// Writes `value` under `key` with the write gate held.
    fn put<V, E>(&self, ks: &Keyspace<V, E>, key: &[u8], value: &V) -> Result<(), HubError>
    where
        E: passerelle_hub_core::store::keyspace::Encoding<V>,
    {
        let _w = self.store.writing()?;
        put_held(ks, key, value)
    }

    fn codes(&self, kind: CodeKind) -> &Keyspace<PendingCode, Versioned> {
        match kind {
            CodeKind::Link => &self.link_codes,
            CodeKind::Reset => &self.reset_codes,
        }
    }

    /// The secret pseudonyms are derived with, made on first use.
    ///
    /// # Errors
    /// On a store failure.
    pub fn pseudonym_key(&self) -> Result<[u8; 32], HubError> {
        let _w = self.store.writing()?;
        let stored = || -> Result<Option<[u8; 32]>, HubError> {
            Ok(self.meta.entry(PSEUDONYM_KEY)?.and_then(|e| e.value().ok()))
        };
        if let Some(k) = stored()? {
            return Ok(k);
        }
        let mut k = [0u8; 32];
        passerelle_protocol::seal::random(&mut k);
        // Another task may have won the race: keep whichever is stored.
        self.meta.insert_new(PSEUDONYM_KEY, &k)?;
        self.meta.flush()?;
        Ok(stored()?.unwrap_or(k))
    }

    /// Creates an account; refuses a login already used.
    ///
    /// # Errors
    /// When the login is taken, or on a store failure.
    pub fn create_person(&self, a: &PersonAccount) -> Result<(), VaultError> {
        let _w = self.store.writing()?;
        if !self.logins.insert_new(a.login.as_bytes(), &a.id)? {
            return Err(Refusal::LoginTaken.into());
        }
        put_held(&self.persons, a.id.as_bytes(), a)?;
        self.logins.flush()?;
        Ok(())
    }

    /// Replaces an account's record (password reset).
    ///
    /// # Errors
    /// On a store failure.
    pub fn update_person(&self, a: &PersonAccount) -> Result<(), HubError> {
        self.put(&self.persons, a.id.as_bytes(), a)
    }

    /// An account by id.
    ///
    /// # Errors
    /// On a store failure.
    pub fn person(&self, id: &str) -> Result<Option<PersonAccount>, HubError> {
        Ok(self.persons.get(id.as_bytes())?)
    }

    /// An account by login.
    ///
    /// # Errors
    /// On a store failure.
    pub fn person_by_login(&self, login: &str) -> Result<Option<PersonAccount>, HubError> {
        match self.logins.get(login.as_bytes())? {
            Some(id) => self.person(&id),
            None => Ok(None),
        }
    }

    /// Records that a node linked a person.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_link(&self, person: &str, node: &NodeId, at: UnixTime) -> Result<(), HubError> {
        self.put(&self.person_links, &pair(person, node.as_str()), &at)
    }

    /// The nodes that linked a person, and when.
    ///
    /// # Errors
    /// On a store failure.
    pub fn links(&self, person: &str) -> Result<Vec<(NodeId, UnixTime)>, HubError> {
        let prefix = pair(person, "");
        let mut out = Vec::new();
        for e in self.person_links.scan_prefix(&prefix)? {
            let e = e?;
            let node = String::from_utf8_lossy(&e.key()[prefix.len()..]).into_owned();
            if let Ok(node) = NodeId::new(node) {
                out.push((node, e.value()?));
            }
        }
        Ok(out)
    }

    /// Records an upload.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_upload(&self, u: &Upload) -> Result<(), HubError> {
        self.put(&self.uploads, &pair(&u.person, &u.id), u)
    }

    /// A person's upload.
    ///
    /// # Errors
    /// On a store failure.
    pub fn upload(&self, person: &str, id: &str) -> Result<Option<Upload>, HubError> {
        Ok(self.uploads.get(&pair(person, id))?)
    }

    /// The ids of every upload (to tell orphan files apart).
    ///
    /// # Errors
    /// On a store failure.
    pub fn upload_ids(&self) -> Result<std::collections::HashSet<String>, HubError> {
        let all: Vec<Upload> = values(self.uploads.iter()?)?;
        Ok(all.into_iter().map(|u| u.id).collect())
    }

    /// A person's uploads, oldest first.
    ///
    /// # Errors
    /// On a store failure.
    pub fn uploads(&self, person: &str) -> Result<Vec<Upload>, HubError> {
        let mut v = values(self.uploads.scan_prefix(&pair(person, ""))?)?;
        v.sort_by_key(|u| (u.added_at, u.id.clone()));
        Ok(v)
    }

    /// Forgets an upload's record.
    ///
    /// # Errors
    /// On a store failure.
    pub fn remove_upload(&self, person: &str, id: &str) -> Result<(), HubError> {
        let _w = self.store.writing()?;
        self.uploads.remove(&pair(person, id))?;
        self.uploads.flush()?;
        Ok(())
    }

    /// Records or updates a consent.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_consent(&self, c: &ConsentRecord) -> Result<(), HubError> {
        let _w = self.store.writing()?;
        // Indexed before the record: a write cut between them leaves an
        // entry whose record does not match, never a revocation that the
        // holding node is not told of.
        self.consent_indexes.put(c)?;
        put_held(&self.consents, c.consent.id.as_bytes(), c)?;
        put_held(&self.person_consents, &pair(&c.person, &c.consent.id), &())
    }

    /// A consent.
    ///
    /// # Errors
    /// On a store failure.
    pub fn consent(&self, id: &str) -> Result<Option<ConsentRecord>, HubError> {
        Ok(self.consents.get(id.as_bytes())?)
    }

    /// A person's consents, newest first.
    ///
    /// # Errors
    /// On a store failure.
    pub fn consents_of(&self, person: &str) -> Result<Vec<ConsentRecord>, HubError> {
        let prefix = pair(person, "");
        let mut out = Vec::new();
        for e in self.person_consents.scan_prefix(&prefix)? {
            let e = e?;
            if let Some(c) = self.consent(&String::from_utf8_lossy(&e.key()[prefix.len()..]))? {
                out.push(c);
            }
        }
        out.sort_by_key(|c| std::cmp::Reverse(c.consent.issued_at));
        Ok(out)
    }

    /// The revoked consents `holder` holds documents for that have not
    /// ended at `now`: what the hub tells the node at each status poll.
    /// Reads only that node's entries of an index of revoked consents, so
    /// that it costs the same whatever the number of consents in the
    /// vault.
    ///
    /// # Errors
    /// On a store failure.
    pub fn revoked_held_by(
        &self,
        holder: &NodeId,
        now: UnixTime,
    ) -> Result<Vec<ConsentRecord>, HubError> {
        self.indexed(consent_index::By::RevokedHolder, holder, now)
    }

    /// The consents not revoked nor ended at `now` given to `institution`
    /// or one of its professionals (some may start later), through an
    /// index by grantee institution.
    ///
    /// # Errors
    /// On a store failure.
    pub fn consents_given_to(
        &self,
        institution: &NodeId,
        now: UnixTime,
    ) -> Result<Vec<ConsentRecord>, HubError> {
        self.indexed(consent_index::By::Grantee, institution, now)
    }

    /// Every consent (for the notices of consents ending soon).
    ///
    /// # Errors
    /// On a store failure.
    pub fn all_consents(&self) -> Result<Vec<ConsentRecord>, HubError> {
        values(self.consents.iter()?)
    }

    /// Records a duplicate.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_duplicate(&self, code: &str, d: &DuplicateRecord) -> Result<(), HubError> {
        self.put(&self.duplicates, code.as_bytes(), d)
    }

    /// A duplicate by its code.
    ///
    /// # Errors
    /// On a store failure.
    pub fn duplicate(&self, code: &str) -> Result<Option<DuplicateRecord>, HubError> {
        Ok(self.duplicates.get(code.as_bytes())?)
    }

    /// Appends to the audit chain (and the person's index).
    ///
    /// # Errors
    /// On a store failure.
    pub fn audit(&self, at: UnixTime, event: Event) -> Result<Record, HubError> {
        let _one_at_a_time = AUDIT_LOCK
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _w = self.store.writing()?;
        let last = self.audit.last()?.map(|e| e.value()).transpose()?;
        let record = Record::next(last.as_ref(), at, event);
        self.audit.insert(&record.seq.to_be_bytes(), &record)?;
        if let Some(p) = &record.event.person {
            self.person_audit.insert(
                &[p.as_bytes(), &[0], &record.seq.to_be_bytes()].concat(),
                &(),
            )?;
        }
        self.audit.flush()?;
        Ok(record)
    }

    /// A person's audit records, newest first.
    ///
    /// # Errors
    /// On a store failure.
    pub fn audit_of(&self, person: &str, limit: usize) -> Result<Vec<Record>, HubError> {
        let prefix = pair(person, "");
        let mut out = Vec::new();
        for e in self.person_audit.scan_prefix(&prefix)?.rev() {
            let e = e?;
            // A record that does not decode is left out here; `audit verify`
            // names it.
            if let Some(Ok(r)) = self
                .audit
                .entry(&e.key()[prefix.len()..])?
                .map(|r| r.value())
            {
                out.push(r);
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// The chain in order, read as it goes: each record, or `Err(seq)` for
    /// one that does not decode.
    ///
    /// # Errors
    /// On a store failure (the iterator's items too).
    fn audit_read(
        &self,
        from: u64,
    ) -> Result<impl Iterator<Item = Result<audit::Read, HubError>>, HubError> {
        Ok(self.audit.range_from(&from.to_be_bytes())?.map(|e| {
            let e = e?;
            let seq = <[u8; 8]>::try_from(e.key()).map_or(u64::MAX, u64::from_be_bytes);
            Ok((seq, e.value().map_err(|_| ()), e.stored_len()))
        }))
    }

    /// One page of the chain from sequence number `from` on, for listings
    /// over the admin socket (a reply of bounded size, whatever the
    /// chain's length).
    ///
    /// # Errors
    /// On a store failure.
    pub fn audit_page(&self, from: u64) -> Result<audit::Page, HubError> {
        audit::Page::gather(self.audit_read(from)?)
    }

    /// Checks the chain, reading it record by record (constant memory).
    ///
    /// # Errors
    /// On a store failure; a broken chain is `Ok(Err(..))`.
    pub fn audit_verify(&self) -> Result<Result<audit::Head, audit::Broken>, HubError> {
        audit::verify_read(self.audit_read(0)?)
    }
}
