//! The store's records for shared uploads and for the person's rights:
//! professionals' key pairs, consents over uploads, nodes still to be told
//! to forget a person, deleted accounts whose journal is kept, last
//! sign-ins and inactivity warnings.

use passerelle_hub_core::HubError;
use passerelle_protocol::{
    ids::NodeId,
    vault::{Category, Grantee, Pseudonym},
    UnixTime,
};
use serde::{Deserialize, Serialize};

use super::{pair, put_held, values, Upload, VaultStore};

/// A partner professional's key pair for shared uploads. The private key
/// is wrapped under a key derived from their password: the hub holds it
/// in clear only while they are signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProKeyRecord {
    /// X25519 public key (HPKE).
    pub public: [u8; 32],
    /// Salt of the password derivation.
    pub salt: [u8; 16],
    /// The private key, sealed (AES-256-GCM) under the derived key.
    pub wrapped_private: Vec<u8>,
    /// When the pair was made.
    pub created_at: UnixTime,
}

/// One upload's key, sealed to a professional's public key (HPKE base
/// mode, RFC 9180).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    /// The upload.
    pub upload: String,
    /// The encapsulated key.
    pub encapped: Vec<u8>,
    /// The upload key, sealed.
    pub sealed: Vec<u8>,
}

/// A consent over the person's own uploads, given to one professional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareRecord {
    /// Id (32 hex digits).
    pub id: String,
    /// The person (hub id).
    pub person: String,
    /// The professional.
    pub grantee: Grantee,
    /// Who, in words.
    pub grantee_label: String,
    /// These uploads…
    pub uploads: Vec<String>,
    /// …and every upload of these categories (also those added later).
    pub categories: Vec<Category>,
    /// What, in words.
    pub scope_label: String,
    /// For which procedure (a code or the person's text).
    pub procedure: String,
    /// When given.
    pub issued_at: UnixTime,
    /// Valid until (excluded).
    pub not_after: UnixTime,
    /// When the person revoked it.
    pub revoked_at: Option<UnixTime>,
    /// The upload keys, sealed to the professional; erased at revocation
    /// and at expiry.
    pub keys: Vec<WrappedKey>,
}

impl ShareRecord {
    /// Whether it may be used at `now`.
    pub fn active(&self, now: UnixTime) -> bool {
        self.revoked_at.is_none() && now >= self.issued_at && now < self.not_after
    }

    /// Whether it covers an upload.
    pub fn covers(&self, u: &Upload) -> bool {
        u.person == self.person
            && (self.uploads.contains(&u.id) || self.categories.contains(&u.category))
    }
}

/// A deleted account, kept only as long as its journal is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Erased {
    /// When it was deleted.
    pub deleted_at: UnixTime,
    /// Until when the journal is kept; then the sweep purges it.
    pub journal_until: UnixTime,
}

impl VaultStore {
    /// The hub store under the vault's keyspaces (for the sign-in
    /// providers' records, kept beside them).
    pub fn hub_store(&self) -> &passerelle_hub_core::store::Store {
        &self.store
    }

    /// A professional's key pair.
    ///
    /// # Errors
    /// On a store failure.
    pub fn pro_key(&self, account: &str) -> Result<Option<ProKeyRecord>, HubError> {
        Ok(self.pro_keys.get(account.as_bytes())?)
    }

    /// Records a professional's key pair (replacing any earlier one).
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_pro_key(&self, account: &str, k: &ProKeyRecord) -> Result<(), HubError> {
        self.put(&self.pro_keys, account.as_bytes(), k)
    }

    /// Records or updates a consent over uploads.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_share(&self, s: &ShareRecord) -> Result<(), HubError> {
        self.put(&self.shares, s.id.as_bytes(), s)
    }

    /// A consent over uploads.
    ///
    /// # Errors
    /// On a store failure.
    pub fn share(&self, id: &str) -> Result<Option<ShareRecord>, HubError> {
        Ok(self.shares.get(id.as_bytes())?)
    }

    /// Every consent over uploads (at most [`crate::consent::MAX_ACTIVE`]
    /// in force per person; ended ones are removed by the sweep).
    ///
    /// # Errors
    /// On a store failure.
    pub fn all_shares(&self) -> Result<Vec<ShareRecord>, HubError> {
        values(self.shares.iter()?)
    }

    /// A person's consents over uploads, newest first.
    ///
    /// # Errors
    /// On a store failure.
    pub fn shares_of(&self, person: &str) -> Result<Vec<ShareRecord>, HubError> {
        let mut v: Vec<ShareRecord> = self
            .all_shares()?
            .into_iter()
            .filter(|s| s.person == person)
            .collect();
        v.sort_by_key(|s| std::cmp::Reverse(s.issued_at));
        Ok(v)
    }

    /// Forgets a consent over uploads.
    ///
    /// # Errors
    /// On a store failure.
    pub fn remove_share(&self, id: &str) -> Result<(), HubError> {
        let _w = self.store.writing()?;
        self.shares.remove(id.as_bytes())?;
        self.shares.flush()?;
        Ok(())
    }

    /// Notes that a node must be told to forget a pseudonym.
    ///
    /// # Errors
    /// On a store failure.
    pub fn add_forget(&self, node: &NodeId, p: &Pseudonym, at: UnixTime) -> Result<(), HubError> {
        self.put(&self.pending_forgets, &pair(node.as_str(), &p.0), &at)
    }

    /// The pseudonyms a node is still to be told to forget.
    ///
    /// # Errors
    /// On a store failure.
    pub fn forgets_for(&self, node: &NodeId) -> Result<Vec<Pseudonym>, HubError> {
        let prefix = pair(node.as_str(), "");
        let mut out = Vec::new();
        for e in self.pending_forgets.scan_prefix(&prefix)? {
            let e = e?;
            out.push(Pseudonym(
                String::from_utf8_lossy(&e.key()[prefix.len()..]).into_owned(),
            ));
        }
        Ok(out)
    }

    /// Every (node, pseudonym) still to be told.
    ///
    /// # Errors
    /// On a store failure.
    pub fn all_forgets(&self) -> Result<Vec<(String, String)>, HubError> {
        let mut out = Vec::new();
        for e in self.pending_forgets.iter()? {
            let e = e?;
            let k = String::from_utf8_lossy(e.key()).into_owned();
            if let Some((n, p)) = k.split_once('\0') {
                out.push((n.to_string(), p.to_string()));
            }
        }
        Ok(out)
    }

    /// A node was told.
    ///
    /// # Errors
    /// On a store failure.
    pub fn forgot(&self, node: &NodeId, p: &Pseudonym) -> Result<(), HubError> {
        let _w = self.store.writing()?;
        self.pending_forgets.remove(&pair(node.as_str(), &p.0))?;
        self.pending_forgets.flush()?;
        Ok(())
    }

    /// Forgets that a node linked a person.
    ///
    /// # Errors
    /// On a store failure.
    pub fn remove_link(&self, person: &str, node: &NodeId) -> Result<(), HubError> {
        let _w = self.store.writing()?;
        self.person_links.remove(&pair(person, node.as_str()))?;
        self.person_links.flush()?;
        Ok(())
    }

    /// Forgets a consent over an institution's documents (and its index
    /// entry).
    ///
    /// # Errors
    /// On a store failure.
    pub fn remove_consent(&self, person: &str, id: &str) -> Result<(), HubError> {
        let _w = self.store.writing()?;
        if let Some(c) = self.consents.remove(id.as_bytes())? {
            self.consent_indexes.remove(&c)?;
        }
        self.person_consents.remove(&pair(person, id))?;
        self.consents.flush()?;
        Ok(())
    }

    /// Removes an account and its login (its other records are removed
    /// by the caller first).
    ///
    /// # Errors
    /// On a store failure.
    pub fn remove_person(&self, id: &str, login: &str) -> Result<(), HubError> {
        let _w = self.store.writing()?;
        self.logins.remove(login.as_bytes())?;
        self.persons.remove(id.as_bytes())?;
        self.last_seen.remove(id.as_bytes())?;
        self.inactive_warnings.remove(id.as_bytes())?;
        self.persons.flush()?;
        Ok(())
    }

    /// Every account's id (for the inactivity sweep).
    ///
    /// # Errors
    /// On a store failure.
    pub fn person_ids(&self) -> Result<Vec<String>, HubError> {
        let mut out = Vec::new();
        for e in self.persons.iter()? {
            out.push(String::from_utf8_lossy(e?.key()).into_owned());
        }
        Ok(out)
    }

    /// Records a deleted account whose journal is kept.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_erased(&self, person: &str, e: &Erased) -> Result<(), HubError> {
        self.put(&self.erased, person.as_bytes(), e)
    }

    /// A deleted account whose journal is still kept.
    ///
    /// # Errors
    /// On a store failure.
    pub fn erased(&self, person: &str) -> Result<Option<Erased>, HubError> {
        Ok(self.erased.get(person.as_bytes())?)
    }

    /// Every deleted account whose journal is still kept.
    ///
    /// # Errors
    /// On a store failure.
    pub fn all_erased(&self) -> Result<Vec<(String, Erased)>, HubError> {
        let mut out = Vec::new();
        for e in self.erased.iter()? {
            let e = e?;
            out.push((String::from_utf8_lossy(e.key()).into_owned(), e.value()?));
        }
        Ok(out)
    }

    /// Purges a deleted account's journal: its index in the chain is
    /// removed (the chain's records stay, so it still verifies; they name
    /// only a random id nothing leads to any more), and so is the record
    /// of the deletion.
    ///
    /// # Errors
    /// On a store failure.
    pub fn purge_journal(&self, person: &str) -> Result<usize, HubError> {
        let prefix = pair(person, "");
        let keys: Vec<Vec<u8>> = self
            .person_audit
            .scan_prefix(&prefix)?
            .map(|e| e.map(|e| e.key().to_vec()))
            .collect::<Result<_, _>>()?;
        let _w = self.store.writing()?;
        for k in &keys {
            self.person_audit.remove(k)?;
        }
        self.erased.remove(person.as_bytes())?;
        self.person_audit.flush()?;
        Ok(keys.len())
    }

    /// Notes a sign-in.
    ///
    /// # Errors
    /// On a store failure.
    pub fn set_last_seen(&self, person: &str, at: UnixTime) -> Result<(), HubError> {
        let _w = self.store.writing()?;
        put_held(&self.last_seen, person.as_bytes(), &at)
    }

    /// The last sign-in noted.
    ///
    /// # Errors
    /// On a store failure.
    pub fn last_seen(&self, person: &str) -> Result<Option<UnixTime>, HubError> {
        Ok(self.last_seen.get(person.as_bytes())?)
    }

    /// Notes the inactivity warning.
    ///
    /// # Errors
    /// On a store failure.
    pub fn set_warned(&self, person: &str, at: UnixTime) -> Result<(), HubError> {
        self.put(&self.inactive_warnings, person.as_bytes(), &at)
    }

    /// Forgets the inactivity warning (shown, or outdated by a sign-in).
    ///
    /// # Errors
    /// On a store failure.
    pub fn clear_warned(&self, person: &str) -> Result<(), HubError> {
        let _w = self.store.writing()?;
        self.inactive_warnings.remove(person.as_bytes())?;
        self.inactive_warnings.flush()?;
        Ok(())
    }

    /// When the inactivity warning was given, if it was.
    ///
    /// # Errors
    /// On a store failure.
    pub fn warned(&self, person: &str) -> Result<Option<UnixTime>, HubError> {
        Ok(self.inactive_warnings.get(person.as_bytes())?)
    }

    /// The verifiable copies a person had issued stay checkable, but no
    /// longer name them.
    ///
    /// # Errors
    /// On a store failure.
    pub fn forget_duplicates_of(&self, person: &str) -> Result<(), HubError> {
        let mut theirs = Vec::new();
        for e in self.duplicates.iter()? {
            let e = e?;
            if let Ok(mut d) = e.value() {
                if d.person == person {
                    d.person = String::new();
                    theirs.push((e.key().to_vec(), d));
                }
            }
        }
        let _w = self.store.writing()?;
        for (k, d) in &theirs {
            self.duplicates.insert(k, d)?;
        }
        self.duplicates.flush()?;
        Ok(())
    }
}
