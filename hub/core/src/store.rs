//! The hub's sled store. Everything the hub persists goes through here.
//!
//! | tree | key | value |
//! | --- | --- | --- |
//! | `tokens` | SHA-256 of the token secret | [`TokenRecord`] |
//! | `nodes` | node id | [`NodeRecord`] |
//! | `serials` | certificate serial (hex) | [`SerialRecord`] |
//! | `results` | indicator id, time, sequence | a composed indicator with its provenance |
//! | `accounts` | e-mail | a partner professional's account (argon2id hash) |
//! | `directory` | node id | the node's entry in the directory of actors |
//! | `resources` | id | a published document's description (the PDF is in `resources/`) |
//! | `serial_issuers` | certificate serial (hex) | SHA-256 of the CA certificate that issued it |
//! | `audit_anchors` | node id | [`AuditAnchor`]: the last head of the node's audit chain seen |
//!
//! The vault's trees are described in [`crate::vault::store`].

use std::path::Path;

use passerelle_protocol::{codec, enroll::TokenRecord, ids::NodeId, UnixTime};
use serde::{Deserialize, Serialize};

use crate::HubError;

/// What the hub knows of an enrolled node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// Node id.
    pub node_id: NodeId,
    /// Institution.
    pub name: String,
    /// When the node enrolled.
    pub enrolled_at: UnixTime,
    /// Serial (hex) of its current certificate.
    pub serial: String,
    /// End of validity of its current certificate.
    pub cert_not_after: UnixTime,
    /// Last successful exchange.
    pub last_seen: Option<UnixTime>,
    /// Software version it last reported.
    pub version: Option<String>,
    /// Datasets it last reported.
    pub datasets: Vec<String>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<UnixTime>,
}

/// A certificate the CA issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SerialRecord {
    /// The node it names.
    pub node_id: NodeId,
    /// When it was issued.
    pub issued_at: UnixTime,
    /// When it was revoked, if it was.
    pub revoked_at: Option<UnixTime>,
}

/// The last head of a node's audit chain the hub saw: an outside anchor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditAnchor {
    /// Records in the chain then.
    pub records: u64,
    /// Hash of its last record.
    pub hash: [u8; 32],
    /// When the hub saw it.
    pub seen_at: UnixTime,
    /// When the chain was found truncated or rewritten, and how; the
    /// anchor is then kept as it was, as evidence.
    pub broken: Option<(UnixTime, String)>,
}

/// The opened store.
#[derive(Debug, Clone)]
pub struct Store {
    db: sled::Db,
    tokens: sled::Tree,
    nodes: sled::Tree,
    serials: sled::Tree,
    results: sled::Tree,
    accounts: sled::Tree,
    directory: sled::Tree,
    resources: sled::Tree,
    /// Every write holds it shared; a backup holds it alone while it copies.
    gate: std::sync::Arc<std::sync::RwLock<()>>,
}

fn get<T: serde::de::DeserializeOwned>(
    tree: &sled::Tree,
    key: &[u8],
) -> Result<Option<T>, HubError> {
    tree.get(key)?
        .map(|v| codec::decode(&v))
        .transpose()
        .map_err(Into::into)
}

impl Store {
    /// Opens (or creates) the store. Fails when another process holds it.
    ///
    /// # Errors
    /// When sled cannot open the folder, for instance because it is locked.
    pub fn open(path: &Path) -> Result<Self, HubError> {
        let db = sled::Config::new().path(path).open().map_err(|e| match e {
            // sled reports a held lock as kind Other with this text.
            sled::Error::Io(ref io) if io.to_string().contains("could not acquire lock") => HubError::Locked(format!(
                "{}: the store is in use by another process that does not answer on its admin socket",
                path.display()
            )),
            other => HubError::Store(other),
        })?;
        Ok(Self {
            tokens: db.open_tree("tokens")?,
            nodes: db.open_tree("nodes")?,
            serials: db.open_tree("serials")?,
            results: db.open_tree("results")?,
            accounts: db.open_tree("accounts")?,
            directory: db.open_tree("directory")?,
            resources: db.open_tree("resources")?,
            gate: Default::default(),
            db,
        })
    }

    /// Held by every write, so that a backup sees no write half done.
    pub fn writing(&self) -> std::sync::RwLockReadGuard<'_, ()> {
        self.gate
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `f` with every write held back (a consistent snapshot).
    ///
    /// # Errors
    /// What `f` returns.
    pub fn frozen<E: From<sled::Error>>(
        &self,
        f: &mut dyn FnMut() -> Result<(), E>,
    ) -> Result<(), E> {
        let _all = self
            .gate
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.db.flush()?;
        f()
    }

    /// The sled database, for backups.
    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    /// A tree of the store, for the vault's part of it.
    ///
    /// # Errors
    /// On a store failure.
    pub fn tree(&self, name: &str) -> Result<sled::Tree, HubError> {
        Ok(self.db.open_tree(name)?)
    }

    /// Records a newly issued token.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_token(&self, record: &TokenRecord) -> Result<(), HubError> {
        let _w = self.writing();
        self.tokens
            .insert(record.secret_hash, codec::encode(record)?)?;
        self.db.flush()?;
        Ok(())
    }

    /// The token record for a secret hash.
    ///
    /// # Errors
    /// On a store failure.
    pub fn token(&self, secret_hash: &[u8; 32]) -> Result<Option<TokenRecord>, HubError> {
        get(&self.tokens, secret_hash)
    }

    /// Marks a token used, atomically: of two concurrent redemptions only
    /// one succeeds.
    ///
    /// # Errors
    /// [`HubError::Refused`] when the token changed meanwhile.
    pub fn mark_token_used(&self, before: &TokenRecord, at: UnixTime) -> Result<(), HubError> {
        let _w = self.writing();
        let mut after = before.clone();
        after.used_at = Some(at);
        let swapped = self.tokens.compare_and_swap(
            before.secret_hash,
            Some(codec::encode(before)?),
            Some(codec::encode(&after)?),
        )?;
        self.db.flush()?;
        swapped.map_err(|_| HubError::Refused("enrollment token already used".into()))
    }

    /// The record of a node.
    ///
    /// # Errors
    /// On a store failure.
    pub fn node(&self, id: &NodeId) -> Result<Option<NodeRecord>, HubError> {
        get(&self.nodes, id.as_str().as_bytes())
    }

    /// Every node, ordered by id.
    ///
    /// # Errors
    /// On a store failure.
    pub fn nodes(&self) -> Result<Vec<NodeRecord>, HubError> {
        self.nodes
            .iter()
            .values()
            .map(|v| Ok(codec::decode(&v?)?))
            .collect()
    }

    /// Writes a node record.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_node(&self, record: &NodeRecord) -> Result<(), HubError> {
        let _w = self.writing();
        self.nodes
            .insert(record.node_id.as_str().as_bytes(), codec::encode(record)?)?;
        Ok(())
    }

    /// Changes a node record in place, if the node exists.
    ///
    /// # Errors
    /// On a store failure.
    pub fn update_node(
        &self,
        id: &NodeId,
        change: impl Fn(&mut NodeRecord),
    ) -> Result<Option<NodeRecord>, HubError> {
        let _w = self.writing();
        let mut out = None;
        self.nodes.fetch_and_update(id.as_str().as_bytes(), |old| {
            let mut rec: NodeRecord = codec::decode(old?).ok()?;
            change(&mut rec);
            out = Some(rec.clone());
            codec::encode(&rec).ok()
        })?;
        Ok(out)
    }

    /// Records an issued certificate.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_serial(&self, serial: &str, record: &SerialRecord) -> Result<(), HubError> {
        let _w = self.writing();
        self.serials
            .insert(serial.as_bytes(), codec::encode(record)?)?;
        self.db.flush()?;
        Ok(())
    }

    /// The record of an issued certificate.
    ///
    /// # Errors
    /// On a store failure.
    pub fn serial(&self, serial: &str) -> Result<Option<SerialRecord>, HubError> {
        get(&self.serials, serial.as_bytes())
    }

    /// Revokes every certificate issued to a node and marks it revoked.
    /// Returns the node record, or `None` for an unknown node.
    ///
    /// # Errors
    /// On a store failure.
    pub fn revoke(&self, id: &NodeId, at: UnixTime) -> Result<Option<NodeRecord>, HubError> {
        let Some(node) = self.update_node(id, |n| {
            n.revoked_at.get_or_insert(at);
        })?
        else {
            return Ok(None);
        };
        let _w = self.writing();
        for kv in self.serials.iter() {
            let (k, v) = kv?;
            let mut rec: SerialRecord = codec::decode(&v)?;
            if &rec.node_id == id && rec.revoked_at.is_none() {
                rec.revoked_at = Some(at);
                self.serials.insert(k, codec::encode(&rec)?)?;
            }
        }
        self.db.flush()?;
        Ok(Some(node))
    }

    /// Revokes every certificate of a node except `keep` (after a
    /// renewal: a leaked old key stops working at once).
    ///
    /// # Errors
    /// On a store failure.
    pub fn supersede_serials(
        &self,
        node: &NodeId,
        keep: &str,
        at: UnixTime,
    ) -> Result<(), HubError> {
        let _w = self.writing();
        for kv in self.serials.iter() {
            let (k, v) = kv?;
            let mut rec: SerialRecord = codec::decode(&v)?;
            if &rec.node_id == node && rec.revoked_at.is_none() && k.as_ref() != keep.as_bytes() {
                rec.revoked_at = Some(at);
                self.serials.insert(k, codec::encode(&rec)?)?;
            }
        }
        self.db.flush()?;
        Ok(())
    }

    /// The audit anchor of a node.
    ///
    /// # Errors
    /// On a store failure.
    pub fn audit_anchor(&self, node: &NodeId) -> Result<Option<AuditAnchor>, HubError> {
        get(
            &self.db.open_tree("audit_anchors")?,
            node.as_str().as_bytes(),
        )
    }

    /// Records the audit anchor of a node.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_audit_anchor(&self, node: &NodeId, a: &AuditAnchor) -> Result<(), HubError> {
        let _w = self.writing();
        let t = self.db.open_tree("audit_anchors")?;
        t.insert(node.as_str().as_bytes(), codec::encode(a)?)?;
        t.flush()?;
        Ok(())
    }

    /// Records which CA (SHA-256 of its certificate) issued a serial.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_serial_issuer(
        &self,
        serial: &str,
        ca_fingerprint: &[u8; 32],
    ) -> Result<(), HubError> {
        let _w = self.writing();
        self.db
            .open_tree("serial_issuers")?
            .insert(serial.as_bytes(), ca_fingerprint.as_slice())?;
        Ok(())
    }

    /// The CA that issued a serial, when recorded.
    ///
    /// # Errors
    /// On a store failure.
    pub fn serial_issuer(&self, serial: &str) -> Result<Option<[u8; 32]>, HubError> {
        Ok(self
            .db
            .open_tree("serial_issuers")?
            .get(serial.as_bytes())?
            .and_then(|v| <[u8; 32]>::try_from(&v[..]).ok()))
    }

    /// Keeps a composed indicator in its history.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_result<T: Serialize>(
        &self,
        indicator: &str,
        computed_at: UnixTime,
        r: &T,
    ) -> Result<(), HubError> {
        let _w = self.writing();
        let mut key = indicator.as_bytes().to_vec();
        key.push(0);
        key.extend_from_slice(&computed_at.to_be_bytes());
        key.extend_from_slice(&self.db.generate_id()?.to_be_bytes());
        self.results.insert(key, codec::encode(r)?)?;
        self.db.flush()?;
        Ok(())
    }

    /// The latest result of an indicator.
    ///
    /// # Errors
    /// On a store failure.
    pub fn latest_result<T: serde::de::DeserializeOwned>(
        &self,
        indicator: &str,
    ) -> Result<Option<T>, HubError> {
        let mut prefix = indicator.as_bytes().to_vec();
        prefix.push(0);
        self.results
            .scan_prefix(prefix)
            .next_back()
            .map(|kv| Ok(codec::decode(&kv?.1)?))
            .transpose()
    }

    /// Records (or clears) a node's directory entry.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_directory(
        &self,
        node: &NodeId,
        entry: Option<&passerelle_protocol::directory::DirectoryEntry>,
    ) -> Result<(), HubError> {
        let _w = self.writing();
        match entry {
            Some(e) => self
                .directory
                .insert(node.as_str().as_bytes(), codec::encode(e)?)?,
            None => self.directory.remove(node.as_str().as_bytes())?,
        };
        Ok(())
    }

    /// Every directory entry, by node id.
    ///
    /// # Errors
    /// On a store failure.
    pub fn directory(
        &self,
    ) -> Result<Vec<(String, passerelle_protocol::directory::DirectoryEntry)>, HubError> {
        self.directory
            .iter()
            .map(|kv| {
                let (k, v) = kv?;
                Ok((String::from_utf8_lossy(&k).into_owned(), codec::decode(&v)?))
            })
            .collect()
    }

    /// Records a published document.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_resource<T: Serialize>(&self, id: &str, r: &T) -> Result<(), HubError> {
        let _w = self.writing();
        self.resources.insert(id.as_bytes(), codec::encode(r)?)?;
        self.db.flush()?;
        Ok(())
    }

    /// Every published document, in key order.
    ///
    /// # Errors
    /// On a store failure.
    pub fn resources<T: serde::de::DeserializeOwned>(&self) -> Result<Vec<T>, HubError> {
        self.resources
            .iter()
            .values()
            .map(|v| Ok::<_, HubError>(codec::decode(&v?)?))
            .collect()
    }

    /// Every partner account.
    ///
    /// # Errors
    /// On a store failure.
    pub fn accounts(&self) -> Result<Vec<crate::partners::Account>, HubError> {
        self.accounts
            .iter()
            .values()
            .map(|v| Ok(codec::decode(&v?)?))
            .collect()
    }

    /// A partner account by login.
    ///
    /// # Errors
    /// On a store failure.
    pub fn account(&self, email: &str) -> Result<Option<crate::partners::Account>, HubError> {
        get(&self.accounts, email.as_bytes())
    }

    /// Writes a partner account.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_account(&self, a: &crate::partners::Account) -> Result<(), HubError> {
        let _w = self.writing();
        self.accounts
            .insert(a.email.as_bytes(), codec::encode(a)?)?;
        self.db.flush()?;
        Ok(())
    }

    /// Deletes a partner account; whether it existed.
    ///
    /// # Errors
    /// On a store failure.
    pub fn remove_account(&self, email: &str) -> Result<bool, HubError> {
        let _w = self.writing();
        let existed = self.accounts.remove(email.as_bytes())?.is_some();
        self.db.flush()?;
        Ok(existed)
    }

    /// Writes everything to disk.
    ///
    /// # Errors
    /// On a store failure.
    pub fn flush(&self) -> Result<(), HubError> {
        self.db.flush()?;
        Ok(())
    }
}
