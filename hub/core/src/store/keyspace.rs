//! Typed keyspaces: what the store hands the other areas, so that they keep
//! their records without knowing the storage engine or the tree names.
//!
//! A [`Keyspace<V, E>`] holds values of type `V`, written with the encoding
//! `E`: [`Bincode`] (the protocol's codec, the default) or [`Raw`] (the
//! bytes themselves, for ids, secrets and index entries). Keys are bytes;
//! callers build them (`a \0 b` for index entries).
//!
//! The vault's keyspaces ([`VaultSpace`]), with their trees on disk:
//!
//! | keyspace | tree | key | value |
//! | --- | --- | --- | --- |
//! | `Persons` | `persons` | person id | a person's account |
//! | `Logins` | `logins` | normalised login | person id (raw) |
//! | `LinkCodes` | `link_codes` | SHA-256 of the code | a pending code |
//! | `ResetCodes` | `reset_codes` | SHA-256 of the code | a pending code |
//! | `PersonLinks` | `person_links` | `person \0 node` | when the node linked the person |
//! | `Uploads` | `uploads` | `person \0 upload id` | an upload (bytes sealed in `vault/uploads/`) |
//! | `Consents` | `consents` | consent id | a consent record |
//! | `PersonConsents` | `person_consents` | `person \0 consent id` | nothing (index) |
//! | `RevokedByHolder` | `revoked_consents_by_holder` | `holder node \0 consent id` | the revoked consent's end (index; `\xffbuilt` once older consents are indexed) |
//! | `ConsentsByGrantee` | `consents_by_grantee` | `grantee institution \0 consent id` | the end of a consent not revoked (index; `\xffbuilt` likewise) |
//! | `Duplicates` | `duplicates` | verification code | a duplicate record |
//! | `Audit` | `vault_audit` | sequence (big-endian) | [`passerelle_protocol::audit::Record`] |
//! | `PersonAudit` | `person_audit` | `person \0 sequence` | nothing (index, raw) |
//! | `Meta` | `vault_meta` | `pseudonym_key` | the secret pseudonyms are derived with (raw) |
//! | `Verifications` | `verifications` | SHA-256 of the step's cookie token | an identifier being verified (its code's HMAC, expiry, attempts) |
//! | `Preferences` | `person_preferences` | person id | what the person asked to be told, and how they sign in |
//! | `Devices` | `person_devices` | `person \0` SHA-256 of the device token | when the device last signed in |
//! | `Outbox` | `notice_outbox` | notice id | a notice to send, and whether it was sent |
//! | `NoticeCursors` | `notice_cursors` | `audit` or `deposits \0 node` | where the notices' reading stopped |
//! | `ProKeys` | `pro_keys` | professional's login | their public key and their private key wrapped under their password |
//! | `UploadShares` | `upload_shares` | share id | a consent over uploads, with each upload key wrapped to the professional (HPKE) |
//! | `PendingForgets` | `pending_forgets` | `node \0 pseudonym` | when the hub started trying to tell the node |
//! | `Erased` | `erased_accounts` | person id | a deleted account: when, and until when its journal is kept |
//! | `LastSeen` | `last_seen` | person id | last sign-in |
//! | `InactiveWarnings` | `inactive_warnings` | person id | when the inactivity warning was given |
//!
//! The observatory's keyspaces ([`ObservatorySpace`]):
//!
//! | keyspace | tree | key | value |
//! | --- | --- | --- | --- |
//! | `Drafts` | `drafts` | indicator id, `\0`, time, sequence | a composition held back from publication, with its coverage |
//! | `Summaries` | `summaries` | as the published history | a published result past its retention: figures and coverage, its signed answers' digest instead of the answers |
//! | `ProgrammeNotes` | `programme_notes` | programme id, `\0`, period | the written part of the programme's report, who wrote it and when |
//!
//! The federation's trust keyspaces ([`FederationSpace`]):
//!
//! | keyspace | tree | key | value |
//! | --- | --- | --- | --- |
//! | `Providers` | `providers` | `node \0 dataset` | the operator's decision: [`crate::providers::Approval`] |
//! | `Claims` | `claims` | `node \0 dataset` | when the node first reported the dataset: [`crate::providers::Claim`] |
//! | `Renewals` | `renewals` | node id | the node's last renewal, until its certificate is used: [`crate::renewal::RenewalRecord`] |
//! | `SerialKeys` | `serial_keys` | certificate serial (hex) | the public key the CA certified under it (raw, 32 bytes) |

use std::marker::PhantomData;

use passerelle_protocol::codec;
use passerelle_store::{kv, Bytes, Db};
use serde::{de::DeserializeOwned, Serialize};

use super::StoreError;

/// `a \0 b`, the key of an index entry (ids and names hold no NUL).
pub fn pair(a: &str, b: &str) -> Vec<u8> {
    [a.as_bytes(), &[0], b.as_bytes()].concat()
}

/// The vault's keyspaces. Their tree names are known to this module only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VaultSpace {
    /// Beneficiaries' accounts, by person id.
    Persons,
    /// Person id by normalised login.
    Logins,
    /// One-time codes linking a person to an institution's record.
    LinkCodes,
    /// One-time password reset codes.
    ResetCodes,
    /// Which nodes linked a person, and when.
    PersonLinks,
    /// Uploads' records.
    Uploads,
    /// Consents, by id.
    Consents,
    /// Index of a person's consents.
    PersonConsents,
    /// Index of revoked consents not yet ended, by holding node.
    RevokedByHolder,
    /// Index of consents not revoked, by grantee institution.
    ConsentsByGrantee,
    /// Verifiable duplicates, by code.
    Duplicates,
    /// The vault's audit chain.
    Audit,
    /// Index of a person's audit records.
    PersonAudit,
    /// The vault's own secrets.
    Meta,
    /// Identifiers being verified before an account exists.
    Verifications,
    /// Each person's choices: notices, a code from a new device.
    Preferences,
    /// Devices a person signed in from with a code.
    Devices,
    /// Notices to send, and those sent (each once).
    Outbox,
    /// Where the notices' reading of the chain and of each node stopped.
    NoticeCursors,
    /// Partner professionals' key pairs for shared uploads, by login.
    ProKeys,
    /// Consents over the person's own uploads, by id.
    UploadShares,
    /// Nodes still to be told to forget a pseudonym.
    PendingForgets,
    /// Deleted accounts whose journal is kept for a while.
    Erased,
    /// When each person last signed in.
    LastSeen,
    /// Warnings sent before an inactive account is deleted.
    InactiveWarnings,
}

impl VaultSpace {
    /// The tree on disk (unchanged since the first release).
    const fn tree(self) -> &'static str {
        match self {
            Self::Persons => "persons",
            Self::Logins => "logins",
            Self::LinkCodes => "link_codes",
            Self::ResetCodes => "reset_codes",
            Self::PersonLinks => "person_links",
            Self::Uploads => "uploads",
            Self::Consents => "consents",
            Self::PersonConsents => "person_consents",
            Self::RevokedByHolder => "revoked_consents_by_holder",
            Self::ConsentsByGrantee => "consents_by_grantee",
            Self::Duplicates => "duplicates",
            Self::Audit => "vault_audit",
            Self::PersonAudit => "person_audit",
            Self::Meta => "vault_meta",
            Self::Verifications => "verifications",
            Self::Preferences => "person_preferences",
            Self::Devices => "person_devices",
            Self::Outbox => "notice_outbox",
            Self::NoticeCursors => "notice_cursors",
            Self::ProKeys => "pro_keys",
            Self::UploadShares => "upload_shares",
            Self::PendingForgets => "pending_forgets",
            Self::Erased => "erased_accounts",
            Self::LastSeen => "last_seen",
            Self::InactiveWarnings => "inactive_warnings",
        }
    }
}

/// The observatory's keyspaces (the published history is the store's
/// `results` tree, read through [`super::Store::latest_result`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObservatorySpace {
    /// Compositions kept as drafts: incomplete for what they claim, so not
    /// published; keyed like the published history.
    Drafts,
    /// Published results past their full retention: the figures, without
    /// the signed answers; keyed like the published history.
    Summaries,
    /// The written part of each programme's report, per period.
    ProgrammeNotes,
}

/// The federation's trust records: who may provide which dataset, what
/// nodes claim, renewals in progress and the keys certified per serial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FederationSpace {
    /// The operator's decisions on (node, dataset) claims.
    Providers,
    /// The datasets nodes reported, first seen when.
    Claims,
    /// Each node's latest renewal, pruned once superseded.
    Renewals,
    /// The public key certified under each serial the CA issued.
    SerialKeys,
    /// The head of the hub's chain each node keeps, as it last said.
    HubHeadsKept,
}

impl Space for FederationSpace {
    fn tree(self) -> &'static str {
        match self {
            Self::Providers => "providers",
            Self::Claims => "claims",
            Self::Renewals => "renewals",
            Self::SerialKeys => "serial_keys",
            Self::HubHeadsKept => "hub_heads_kept",
        }
    }
}

/// Sign-in with OpenID Connect providers: partners' pending requests and
/// the identities bound to partner and vault accounts.
///
/// | keyspace | tree | key | value |
/// | --- | --- | --- | --- |
/// | `PartnerRequests` | `partner_requests` | request id | a professional's first sign-in, waiting for the operator |
/// | `PartnerLinks` | `partner_oidc_links` | `provider \0 e-mail` | the organisation and subject bound to a partner account |
/// | `PersonLinks` | `person_oidc_links` | `provider \0 subject` | the vault person id (raw) |
/// | `PersonDevices` | `person_oidc_devices` | `person \0 device id` | the data key wrapped for one device |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentitySpace {
    /// First sign-ins of unknown professionals.
    PartnerRequests,
    /// Provider identities bound to partner accounts.
    PartnerLinks,
    /// Provider subjects bound to vault persons.
    PersonLinks,
    /// Data keys wrapped for a person's devices.
    PersonDevices,
}

impl Space for IdentitySpace {
    fn tree(self) -> &'static str {
        match self {
            Self::PartnerRequests => "partner_requests",
            Self::PartnerLinks => "partner_oidc_links",
            Self::PersonLinks => "person_oidc_links",
            Self::PersonDevices => "person_oidc_devices",
        }
    }
}

/// Portal sessions, kept in the store when several hub instances share
/// it (PostgreSQL); in memory otherwise.
///
/// | keyspace | tree | key | value |
/// | --- | --- | --- | --- |
/// | `Partners` | `partner_sessions` | SHA-256 of the cookie token | a partner's session |
/// | `Persons` | `person_sessions` | SHA-256 of the cookie token | a person's session, the data key wrapped under a key derived from the token |
/// | `ProKeys` | `pro_session_keys` | SHA-256 of the partner's cookie token | the professional's private key for shared uploads, wrapped the same way |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionSpace {
    /// Partner professionals' sessions.
    Partners,
    /// Beneficiaries' sessions.
    Persons,
    /// Professionals' private keys for shared uploads, per session.
    ProKeys,
}

impl Space for SessionSpace {
    fn tree(self) -> &'static str {
        match self {
            Self::Partners => "partner_sessions",
            Self::Persons => "person_sessions",
            Self::ProKeys => "pro_session_keys",
        }
    }
}

/// A group of keyspaces: each names its tree on disk.
pub trait Space: Copy {
    /// The tree on disk.
    fn tree(self) -> &'static str;
}

impl Space for VaultSpace {
    fn tree(self) -> &'static str {
        VaultSpace::tree(self)
    }
}

impl Space for ObservatorySpace {
    fn tree(self) -> &'static str {
        match self {
            Self::Drafts => "drafts",
            Self::Summaries => "summaries",
            Self::ProgrammeNotes => "programme_notes",
        }
    }
}

/// How a keyspace writes its values.
pub trait Encoding<V> {
    /// The bytes stored for `value`.
    ///
    /// # Errors
    /// When the value cannot be encoded.
    fn encode(value: &V) -> Result<Vec<u8>, StoreError>;
    /// The value stored as `bytes`.
    ///
    /// # Errors
    /// When the bytes are not such a value.
    fn decode(bytes: &[u8]) -> Result<V, StoreError>;
}

/// Values in the protocol's codec.
#[derive(Debug)]
pub enum Bincode {}

impl<V: Serialize + DeserializeOwned> Encoding<V> for Bincode {
    fn encode(value: &V) -> Result<Vec<u8>, StoreError> {
        Ok(codec::encode(value)?)
    }
    fn decode(bytes: &[u8]) -> Result<V, StoreError> {
        Ok(codec::decode(bytes)?)
    }
}

/// Values as their own bytes: text, fixed-size secrets, empty index
/// entries.
#[derive(Debug)]
pub enum Raw {}

impl Encoding<String> for Raw {
    fn encode(value: &String) -> Result<Vec<u8>, StoreError> {
        Ok(value.as_bytes().to_vec())
    }
    fn decode(bytes: &[u8]) -> Result<String, StoreError> {
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }
}

impl Encoding<[u8; 32]> for Raw {
    fn encode(value: &[u8; 32]) -> Result<Vec<u8>, StoreError> {
        Ok(value.to_vec())
    }
    fn decode(bytes: &[u8]) -> Result<[u8; 32], StoreError> {
        <[u8; 32]>::try_from(bytes).map_err(|_| StoreError::Damaged {
            what: "a 32-byte value",
            len: bytes.len(),
        })
    }
}

impl Encoding<()> for Raw {
    fn encode((): &()) -> Result<Vec<u8>, StoreError> {
        Ok(Vec::new())
    }
    fn decode(_: &[u8]) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Values of type `V` under byte keys, in one tree of the store.
pub struct Keyspace<V, E = Bincode> {
    db: Db,
    tree: &'static str,
    values: PhantomData<fn() -> (V, E)>,
}

impl<V, E> Clone for Keyspace<V, E> {
    fn clone(&self) -> Self {
        Self {
            db: self.db.clone(),
            tree: self.tree,
            values: PhantomData,
        }
    }
}

impl<V, E> std::fmt::Debug for Keyspace<V, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyspace")
            .field("tree", &self.tree)
            .finish()
    }
}

/// One record read from a keyspace; its value is decoded on demand, so a
/// damaged value can be told apart from a store failure.
pub struct Entry<V, E = Bincode> {
    key: Bytes,
    value: Bytes,
    values: PhantomData<fn() -> (V, E)>,
}

impl<V, E: Encoding<V>> Entry<V, E> {
    fn new((key, value): (Bytes, Bytes)) -> Self {
        Self {
            key,
            value,
            values: PhantomData,
        }
    }

    /// The key.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The value.
    ///
    /// # Errors
    /// When the stored bytes do not decode.
    pub fn value(&self) -> Result<V, StoreError> {
        E::decode(&self.value)
    }

    /// The size of the stored value, in bytes.
    pub fn stored_len(&self) -> usize {
        self.value.len()
    }
}

/// Records of a keyspace in key order (or reversed).
pub struct Entries<V, E = Bincode> {
    iter: kv::Iter,
    values: PhantomData<fn() -> (V, E)>,
}

impl<V, E: Encoding<V>> Iterator for Entries<V, E> {
    type Item = Result<Entry<V, E>, StoreError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.iter.next().map(|kv| kv.map(Entry::new))
    }
}

impl<V, E: Encoding<V>> DoubleEndedIterator for Entries<V, E> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.iter.next_back().map(|kv| kv.map(Entry::new))
    }
}

impl<V, E: Encoding<V>> Keyspace<V, E> {
    pub(super) fn new(db: Db, space: impl Space) -> Self {
        Self {
            db,
            tree: space.tree(),
            values: PhantomData,
        }
    }

    fn tree(&self) -> Result<kv::Tree, StoreError> {
        self.db.tree(self.tree)
    }

    fn entries(&self, iter: kv::Iter) -> Entries<V, E> {
        Entries {
            iter,
            values: PhantomData,
        }
    }

    /// The value under `key`.
    ///
    /// # Errors
    /// On a store failure or a damaged value.
    pub fn get(&self, key: &[u8]) -> Result<Option<V>, StoreError> {
        self.tree()?.get(key)?.map(|v| E::decode(&v)).transpose()
    }

    /// The record under `key`, its value not yet decoded.
    ///
    /// # Errors
    /// On a store failure.
    pub fn entry(&self, key: &[u8]) -> Result<Option<Entry<V, E>>, StoreError> {
        Ok(self
            .tree()?
            .get(key)?
            .map(|value| Entry::new((Bytes::from(key), value))))
    }

    /// Writes `value` under `key`.
    ///
    /// # Errors
    /// On a store failure.
    pub fn insert(&self, key: &[u8], value: &V) -> Result<(), StoreError> {
        self.tree()?.insert(key, E::encode(value)?)?;
        Ok(())
    }

    /// Writes `value` under `key` unless something is there already, in one
    /// step: of two concurrent writers only one succeeds. Whether it wrote.
    ///
    /// # Errors
    /// On a store failure.
    pub fn insert_new(&self, key: &[u8], value: &V) -> Result<bool, StoreError> {
        self.tree()?
            .compare_and_swap(key, None, Some(&E::encode(value)?))
    }

    /// Removes the value under `key`; what was there.
    ///
    /// # Errors
    /// On a store failure or a damaged value.
    pub fn remove(&self, key: &[u8]) -> Result<Option<V>, StoreError> {
        self.tree()?.remove(key)?.map(|v| E::decode(&v)).transpose()
    }

    /// Every record, in key order.
    ///
    /// # Errors
    /// On a store failure.
    pub fn iter(&self) -> Result<Entries<V, E>, StoreError> {
        Ok(self.entries(self.tree()?.iter()))
    }

    /// The records from `key` on (included), in key order.
    ///
    /// # Errors
    /// On a store failure.
    pub fn range_from(&self, key: &[u8]) -> Result<Entries<V, E>, StoreError> {
        Ok(self.entries(self.tree()?.range_from(key)))
    }

    /// The records whose key starts with `prefix`, in key order.
    ///
    /// # Errors
    /// On a store failure.
    pub fn scan_prefix(&self, prefix: &[u8]) -> Result<Entries<V, E>, StoreError> {
        Ok(self.entries(self.tree()?.scan_prefix(prefix)))
    }

    /// The record with the greatest key.
    ///
    /// # Errors
    /// On a store failure.
    pub fn last(&self) -> Result<Option<Entry<V, E>>, StoreError> {
        Ok(self.tree()?.last()?.map(Entry::new))
    }

    /// Writes everything to disk.
    ///
    /// # Errors
    /// On a store failure.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_keep_the_bytes_of_the_first_release() {
        // `logins` held the id's bytes, `person_audit` nothing, `vault_meta`
        // the 32 bytes themselves, and `person_consents` the codec's unit.
        assert_eq!(
            <Raw as Encoding<String>>::encode(&"abc".to_string()).unwrap(),
            b"abc"
        );
        assert!(<Raw as Encoding<()>>::encode(&()).unwrap().is_empty());
        assert_eq!(
            <Raw as Encoding<[u8; 32]>>::encode(&[7; 32]).unwrap(),
            vec![7; 32]
        );
        assert!(<Bincode as Encoding<()>>::encode(&()).unwrap().is_empty());
        assert!(<Raw as Encoding<[u8; 32]>>::decode(&[1, 2]).is_err());
    }
}
