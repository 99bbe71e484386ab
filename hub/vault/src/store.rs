//! The vault's part of the hub store.
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `persons` | person id | [`PersonAccount`] |
//! | `logins` | normalised login | person id |
//! | `link_codes` | SHA-256 of the code | [`PendingCode`] |
//! | `reset_codes` | SHA-256 of the code | [`PendingCode`] |
//! | `person_links` | `person \0 node` | when the node linked the person |
//! | `uploads` | `person \0 upload id` | [`Upload`] (bytes sealed in `vault/uploads/`) |
//! | `consents` | consent id | [`ConsentRecord`] |
//! | `person_consents` | `person \0 consent id` | nothing (index) |
//! | `duplicates` | verification code | [`DuplicateRecord`] |
//! | `vault_audit` | sequence (big-endian) | [`passerelle_protocol::audit::Record`] |
//! | `person_audit` | `person \0 sequence` | nothing (index) |
//! | `vault_meta` | `pseudonym_key` | the secret pseudonyms are derived with |
//!
//! The hub stores no document an institution holds, and no national
//! identifier: a person is a random id, and each node knows them by a
//! different pseudonym.

use std::sync::Mutex;

use passerelle_protocol::{
    audit::{self, Event, Record},
    codec,
    ids::NodeId,
    vault::{Category, Consent, SignedConsent},
    UnixTime,
};
use serde::{Deserialize, Serialize};

use passerelle_hub_core::{store::Store, HubError};

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

/// A one-time code waiting to be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingCode {
    /// The person it is for.
    pub person: String,
    /// Valid until.
    pub expires_at: UnixTime,
    /// Who issued it (for reset codes: the professional).
    pub issued_by: String,
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

/// The vault's trees.
#[derive(Debug, Clone)]
pub struct VaultStore {
    store: Store,
}

/// Appends to an audit chain one at a time, so each record links to the
/// last. One lock for the process: any copy of a store shares it.
static AUDIT_LOCK: Mutex<()> = Mutex::new(());

/// `a \0 b`, the key of an index entry.
pub fn pair(a: &str, b: &str) -> Vec<u8> {
    [a.as_bytes(), &[0], b.as_bytes()].concat()
}

impl VaultStore {
    /// The vault's part of `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    fn get<T: serde::de::DeserializeOwned>(
        &self,
        tree: &str,
        key: &[u8],
    ) -> Result<Option<T>, HubError> {
        Ok(self
            .store
            .tree(tree)?
            .get(key)?
            .map(|v| codec::decode(&v))
            .transpose()?)
    }

    fn put<T: Serialize>(&self, tree: &str, key: &[u8], value: &T) -> Result<(), HubError> {
        let _w = self.store.writing();
        self.put_held(tree, key, value)
    }

    /// [`Self::put`] for a caller that already holds the write gate.
    fn put_held<T: Serialize>(&self, tree: &str, key: &[u8], value: &T) -> Result<(), HubError> {
        self.store.tree(tree)?.insert(key, codec::encode(value)?)?;
        self.store.tree(tree)?.flush()?;
        Ok(())
    }

    fn scan<T: serde::de::DeserializeOwned>(
        &self,
        tree: &str,
        prefix: &[u8],
    ) -> Result<Vec<T>, HubError> {
        self.store
            .tree(tree)?
            .scan_prefix(prefix)
            .map(|kv| Ok(codec::decode(&kv?.1)?))
            .collect()
    }

    /// The secret pseudonyms are derived with, made on first use.
    ///
    /// # Errors
    /// On a store failure.
    pub fn pseudonym_key(&self) -> Result<[u8; 32], HubError> {
        let _w = self.store.writing();
        let tree = self.store.tree("vault_meta")?;
        if let Some(v) = tree.get(b"pseudonym_key")? {
            if let Ok(k) = <[u8; 32]>::try_from(&v[..]) {
                return Ok(k);
            }
        }
        let mut k = [0u8; 32];
        passerelle_protocol::seal::random(&mut k);
        // Another task may have won the race: keep whichever is stored.
        let _ = tree.compare_and_swap(b"pseudonym_key", None as Option<&[u8]>, Some(&k[..]))?;
        tree.flush()?;
        let v = tree.get(b"pseudonym_key")?.expect("just stored");
        Ok(<[u8; 32]>::try_from(&v[..]).unwrap_or(k))
    }

    /// Creates an account; refuses a login already used.
    ///
    /// # Errors
    /// When the login is taken, or on a store failure.
    pub fn create_person(&self, a: &PersonAccount) -> Result<(), HubError> {
        let _w = self.store.writing();
        let logins = self.store.tree("logins")?;
        let taken = logins.compare_and_swap(
            a.login.as_bytes(),
            None as Option<&[u8]>,
            Some(a.id.as_bytes()),
        )?;
        if taken.is_err() {
            return Err(HubError::Refused("login already used".into()));
        }
        self.put_held("persons", a.id.as_bytes(), a)?;
        logins.flush()?;
        Ok(())
    }

    /// Replaces an account's record (password reset).
    ///
    /// # Errors
    /// On a store failure.
    pub fn update_person(&self, a: &PersonAccount) -> Result<(), HubError> {
        self.put("persons", a.id.as_bytes(), a)
    }

    /// An account by id.
    ///
    /// # Errors
    /// On a store failure.
    pub fn person(&self, id: &str) -> Result<Option<PersonAccount>, HubError> {
        self.get("persons", id.as_bytes())
    }

    /// An account by login.
    ///
    /// # Errors
    /// On a store failure.
    pub fn person_by_login(&self, login: &str) -> Result<Option<PersonAccount>, HubError> {
        match self.store.tree("logins")?.get(login.as_bytes())? {
            Some(id) => self.person(&String::from_utf8_lossy(&id)),
            None => Ok(None),
        }
    }

    /// Stores a one-time code (`tree` is `link_codes` or `reset_codes`).
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_code(
        &self,
        tree: &str,
        code_hash: &[u8; 32],
        p: &PendingCode,
    ) -> Result<(), HubError> {
        self.put(tree, code_hash, p)
    }

    /// Takes a one-time code: it is removed whether valid or not.
    ///
    /// # Errors
    /// On a store failure.
    pub fn take_code(
        &self,
        tree: &str,
        code_hash: &[u8; 32],
    ) -> Result<Option<PendingCode>, HubError> {
        let _w = self.store.writing();
        let t = self.store.tree(tree)?;
        let v = t.remove(code_hash)?;
        t.flush()?;
        Ok(v.map(|v| codec::decode(&v)).transpose()?)
    }

    /// Records that a node linked a person.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_link(&self, person: &str, node: &NodeId, at: UnixTime) -> Result<(), HubError> {
        self.put("person_links", &pair(person, node.as_str()), &at)
    }

    /// The nodes that linked a person, and when.
    ///
    /// # Errors
    /// On a store failure.
    pub fn links(&self, person: &str) -> Result<Vec<(NodeId, UnixTime)>, HubError> {
        let prefix = pair(person, "");
        let mut out = Vec::new();
        for kv in self.store.tree("person_links")?.scan_prefix(&prefix) {
            let (k, v) = kv?;
            let node = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            if let Ok(node) = NodeId::new(node) {
                out.push((node, codec::decode(&v)?));
            }
        }
        Ok(out)
    }

    /// Records an upload.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_upload(&self, u: &Upload) -> Result<(), HubError> {
        self.put("uploads", &pair(&u.person, &u.id), u)
    }

    /// A person's upload.
    ///
    /// # Errors
    /// On a store failure.
    pub fn upload(&self, person: &str, id: &str) -> Result<Option<Upload>, HubError> {
        self.get("uploads", &pair(person, id))
    }

    /// A person's uploads, oldest first.
    ///
    /// # Errors
    /// On a store failure.
    pub fn uploads(&self, person: &str) -> Result<Vec<Upload>, HubError> {
        let mut v: Vec<Upload> = self.scan("uploads", &pair(person, ""))?;
        v.sort_by_key(|u| (u.added_at, u.id.clone()));
        Ok(v)
    }

    /// Forgets an upload's record.
    ///
    /// # Errors
    /// On a store failure.
    pub fn remove_upload(&self, person: &str, id: &str) -> Result<(), HubError> {
        let _w = self.store.writing();
        let t = self.store.tree("uploads")?;
        t.remove(pair(person, id))?;
        t.flush()?;
        Ok(())
    }

    /// Records or updates a consent.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_consent(&self, c: &ConsentRecord) -> Result<(), HubError> {
        let _w = self.store.writing();
        self.put_held("consents", c.consent.id.as_bytes(), c)?;
        self.put_held("person_consents", &pair(&c.person, &c.consent.id), &())
    }

    /// A consent.
    ///
    /// # Errors
    /// On a store failure.
    pub fn consent(&self, id: &str) -> Result<Option<ConsentRecord>, HubError> {
        self.get("consents", id.as_bytes())
    }

    /// A person's consents, newest first.
    ///
    /// # Errors
    /// On a store failure.
    pub fn consents_of(&self, person: &str) -> Result<Vec<ConsentRecord>, HubError> {
        let prefix = pair(person, "");
        let mut out = Vec::new();
        for kv in self.store.tree("person_consents")?.scan_prefix(&prefix) {
            let (k, _) = kv?;
            if let Some(c) = self.consent(&String::from_utf8_lossy(&k[prefix.len()..]))? {
                out.push(c);
            }
        }
        out.sort_by_key(|c| std::cmp::Reverse(c.consent.issued_at));
        Ok(out)
    }

    /// Every consent (for grantee views and revocation notices).
    ///
    /// # Errors
    /// On a store failure.
    pub fn all_consents(&self) -> Result<Vec<ConsentRecord>, HubError> {
        self.scan("consents", b"")
    }

    /// Records a duplicate.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_duplicate(&self, code: &str, d: &DuplicateRecord) -> Result<(), HubError> {
        self.put("duplicates", code.as_bytes(), d)
    }

    /// A duplicate by its code.
    ///
    /// # Errors
    /// On a store failure.
    pub fn duplicate(&self, code: &str) -> Result<Option<DuplicateRecord>, HubError> {
        self.get("duplicates", code.as_bytes())
    }

    /// Appends to the audit chain (and the person's index).
    ///
    /// # Errors
    /// On a store failure.
    pub fn audit(&self, at: UnixTime, event: Event) -> Result<Record, HubError> {
        let _one_at_a_time = AUDIT_LOCK
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let _w = self.store.writing();
        let tree = self.store.tree("vault_audit")?;
        let last: Option<Record> = tree.last()?.map(|(_, v)| codec::decode(&v)).transpose()?;
        let record = Record::next(last.as_ref(), at, event);
        tree.insert(record.seq.to_be_bytes(), codec::encode(&record)?)?;
        if let Some(p) = &record.event.person {
            self.store.tree("person_audit")?.insert(
                [p.as_bytes(), &[0], &record.seq.to_be_bytes()].concat(),
                &[],
            )?;
        }
        tree.flush()?;
        Ok(record)
    }

    /// A person's audit records, newest first.
    ///
    /// # Errors
    /// On a store failure.
    pub fn audit_of(&self, person: &str, limit: usize) -> Result<Vec<Record>, HubError> {
        let prefix = pair(person, "");
        let chain = self.store.tree("vault_audit")?;
        let mut out = Vec::new();
        for kv in self.store.tree("person_audit")?.scan_prefix(&prefix).rev() {
            let (k, _) = kv?;
            if let Some(v) = chain.get(&k[prefix.len()..])? {
                if let Ok(r) = codec::decode::<Record>(&v) {
                    out.push(r);
                }
            }
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }

    /// The whole chain; `Err(seq)` for a record that does not decode.
    ///
    /// # Errors
    /// On a store failure.
    pub fn audit_records(&self) -> Result<Vec<Result<Record, u64>>, HubError> {
        let mut out = Vec::new();
        for kv in self.store.tree("vault_audit")?.iter() {
            let (k, v) = kv?;
            let seq = <[u8; 8]>::try_from(&k[..]).map_or(u64::MAX, u64::from_be_bytes);
            out.push(codec::decode::<Record>(&v).map_err(|_| seq));
        }
        Ok(out)
    }

    /// Checks the chain.
    ///
    /// # Errors
    /// On a store failure; a broken chain is `Ok(Err(..))`.
    pub fn audit_verify(&self) -> Result<Result<audit::Head, audit::Broken>, HubError> {
        Ok(audit::verify_decoded(self.audit_records()?))
    }
}
