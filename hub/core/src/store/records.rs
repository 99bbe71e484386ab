//! The federation's records: enrollment tokens, nodes, the certificates
//! the CA issued (and which CA issued them), and the audit anchors of the
//! nodes' chains.

use passerelle_protocol::{codec, enroll::TokenRecord, ids::NodeId, UnixTime};
use serde::{Deserialize, Serialize};

use super::{get, Store};
use crate::HubError;

/// The certificates issued to each node: `node \0 serial`, no value.
const SERIALS_BY_NODE: &str = "serials_by_node";
/// Set in [`SERIALS_BY_NODE`] once every certificate is indexed (node ids
/// are ASCII, so no entry starts with this byte).
const INDEX_BUILT: &[u8] = b"\xffbuilt";

fn by_node_key(node: &NodeId, serial: &str) -> Vec<u8> {
    super::keyspace::pair(node.as_str(), serial)
}

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

impl Store {
    /// Records a newly issued token.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_token(&self, record: &TokenRecord) -> Result<(), HubError> {
        let _w = self.writing()?;
        self.tree("tokens")?
            .insert(record.secret_hash, codec::encode(record)?)?;
        self.db.flush()?;
        Ok(())
    }

    /// The token record for a secret hash.
    ///
    /// # Errors
    /// On a store failure.
    pub fn token(&self, secret_hash: &[u8; 32]) -> Result<Option<TokenRecord>, HubError> {
        get(&self.tree("tokens")?, secret_hash)
    }

    /// Marks a token used, atomically: of two concurrent redemptions only
    /// one succeeds.
    ///
    /// # Errors
    /// [`HubError::Refused`] when the token changed meanwhile.
    pub fn mark_token_used(&self, before: &TokenRecord, at: UnixTime) -> Result<(), HubError> {
        let _w = self.writing()?;
        let mut after = before.clone();
        after.used_at = Some(at);
        let swapped = self.tree("tokens")?.compare_and_swap(
            before.secret_hash,
            Some(&codec::encode(before)?),
            Some(&codec::encode(&after)?),
        )?;
        self.db.flush()?;
        if swapped {
            Ok(())
        } else {
            Err(crate::Refusal::TokenRace.into())
        }
    }

    /// The record of a node.
    ///
    /// # Errors
    /// On a store failure.
    pub fn node(&self, id: &NodeId) -> Result<Option<NodeRecord>, HubError> {
        get(&self.tree("nodes")?, id.as_str().as_bytes())
    }

    /// Every node, ordered by id.
    ///
    /// # Errors
    /// On a store failure.
    pub fn nodes(&self) -> Result<Vec<NodeRecord>, HubError> {
        self.tree("nodes")?
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
        let _w = self.writing()?;
        self.tree("nodes")?
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
        let _w = self.writing()?;
        let mut out = None;
        self.tree("nodes")?
            .fetch_and_update(id.as_str().as_bytes(), |old| {
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
        let _w = self.writing()?;
        // The index entry first: a write cut between the two leaves an
        // entry with no certificate (skipped), never a certificate that
        // superseding cannot find.
        self.tree(SERIALS_BY_NODE)?
            .insert(by_node_key(&record.node_id, serial), &[][..])?;
        self.tree("serials")?
            .insert(serial.as_bytes(), codec::encode(record)?)?;
        self.db.flush()?;
        Ok(())
    }

    /// The record of an issued certificate.
    ///
    /// # Errors
    /// On a store failure.
    pub fn serial(&self, serial: &str) -> Result<Option<SerialRecord>, HubError> {
        get(&self.tree("serials")?, serial.as_bytes())
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
        let _w = self.writing()?;
        self.revoke_serials(id, None, at)?;
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
        let _w = self.writing()?;
        // Called at every connection: nothing to write, nothing to flush.
        if self.revoke_serials(node, Some(keep), at)? > 0 {
            self.db.flush()?;
        }
        Ok(())
    }

    /// Marks revoked every certificate of `node` not yet revoked, but
    /// `keep`; returns how many. Reads only the node's own certificates
    /// (through [`SERIALS_BY_NODE`]), so that it costs the same with ten
    /// nodes or ten thousand. The caller holds the write guard and
    /// flushes.
    fn revoke_serials(
        &self,
        node: &NodeId,
        keep: Option<&str>,
        at: UnixTime,
    ) -> Result<usize, HubError> {
        let (serials, index) = (self.tree("serials")?, self.tree(SERIALS_BY_NODE)?);
        if index.get(INDEX_BUILT)?.is_none() {
            // A store written before the index: built once, from every
            // certificate issued.
            for kv in serials.iter() {
                let (k, v) = kv?;
                let rec: SerialRecord = codec::decode(&v)?;
                let serial = String::from_utf8_lossy(&k);
                index.insert(by_node_key(&rec.node_id, &serial), &[][..])?;
            }
            index.insert(INDEX_BUILT, &[][..])?;
        }
        let prefix = by_node_key(node, "");
        let mut revoked = 0;
        for k in index.scan_prefix(&prefix).keys() {
            let k = k?;
            let serial = &k[prefix.len()..];
            if keep.is_some_and(|keep| keep.as_bytes() == serial) {
                continue;
            }
            let Some(v) = serials.get(serial)? else {
                continue;
            };
            let mut rec: SerialRecord = codec::decode(&v)?;
            if &rec.node_id == node && rec.revoked_at.is_none() {
                rec.revoked_at = Some(at);
                serials.insert(serial, codec::encode(&rec)?)?;
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    /// The audit anchor of a node.
    ///
    /// # Errors
    /// On a store failure.
    pub fn audit_anchor(&self, node: &NodeId) -> Result<Option<AuditAnchor>, HubError> {
        get(&self.tree("audit_anchors")?, node.as_str().as_bytes())
    }

    /// Records the audit anchor of a node.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_audit_anchor(&self, node: &NodeId, a: &AuditAnchor) -> Result<(), HubError> {
        let _w = self.writing()?;
        let t = self.tree("audit_anchors")?;
        t.insert(node.as_str().as_bytes(), codec::encode(a)?)?;
        self.db.flush()?;
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
        let _w = self.writing()?;
        self.tree("serial_issuers")?
            .insert(serial.as_bytes(), ca_fingerprint.as_slice())?;
        Ok(())
    }

    /// The CA that issued a serial, when recorded.
    ///
    /// # Errors
    /// On a store failure.
    pub fn serial_issuer(&self, serial: &str) -> Result<Option<[u8; 32]>, HubError> {
        Ok(self
            .tree("serial_issuers")?
            .get(serial.as_bytes())?
            .and_then(|v| <[u8; 32]>::try_from(&v[..]).ok()))
    }
}

impl Store {
    /// Takes or keeps the lease `name` for `holder` until `now + ttl`:
    /// whether `holder` holds it. A lease nobody holds, or whose holder
    /// let it run out, goes to the first instance that asks; its holder
    /// keeps it by asking again in time. With one hub process (sled) it
    /// is always its own. The hub's scheduled work (refresh, notices)
    /// runs on the instance that holds its lease, so several instances
    /// on one database do it once.
    ///
    /// # Errors
    /// On a store failure.
    pub fn hold_lease(
        &self,
        name: &str,
        holder: &[u8; 16],
        now: UnixTime,
        ttl: u64,
    ) -> Result<bool, HubError> {
        let tree = self.tree("leases")?;
        let old = tree.get(name.as_bytes())?;
        if let Some(old) = &old {
            let (who, until) = old.split_at(old.len().min(16));
            let until = <[u8; 8]>::try_from(until).map_or(0, u64::from_be_bytes);
            if who != holder && until > now {
                return Ok(false);
            }
        }
        let mut new = holder.to_vec();
        new.extend_from_slice(&(now + ttl).to_be_bytes());
        let _w = self.writing()?;
        Ok(tree.compare_and_swap(name.as_bytes(), old.as_deref(), Some(&new))?)
    }
}

#[cfg(test)]
mod lease_tests {
    use super::*;

    #[test]
    fn a_lease_is_held_by_one_instance_until_it_runs_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let (a, b) = ([1; 16], [2; 16]);
        assert!(store.hold_lease("refresh", &a, 100, 60).unwrap());
        assert!(!store.hold_lease("refresh", &b, 120, 60).unwrap());
        assert!(store.hold_lease("notices", &b, 120, 60).unwrap());
        assert!(
            store.hold_lease("refresh", &a, 150, 60).unwrap(),
            "kept by asking again"
        );
        assert!(!store.hold_lease("refresh", &b, 209, 60).unwrap());
        assert!(
            store.hold_lease("refresh", &b, 211, 60).unwrap(),
            "ran out: taken over"
        );
        assert!(!store.hold_lease("refresh", &a, 212, 60).unwrap());
    }
}

#[cfg(test)]
mod serial_tests {
    use super::*;

    fn issued(store: &Store, node: &str, serial: &str) {
        let record = SerialRecord {
            node_id: NodeId::new(node).unwrap(),
            issued_at: 1,
            revoked_at: None,
        };
        store.put_serial(serial, &record).unwrap();
    }

    fn revoked(store: &Store, serial: &str) -> bool {
        store.serial(serial).unwrap().unwrap().revoked_at.is_some()
    }

    #[test]
    fn superseding_revokes_only_the_nodes_older_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        issued(&store, "caf-976", "aa01");
        issued(&store, "caf-97", "aa02");
        issued(&store, "caf-976", "aa03");
        issued(&store, "caf-9760", "aa04");
        let caf = NodeId::new("caf-976").unwrap();
        store.supersede_serials(&caf, "aa03", 10).unwrap();
        assert!(revoked(&store, "aa01"));
        assert!(!revoked(&store, "aa03"), "the one in use is kept");
        assert!(
            !revoked(&store, "aa02") && !revoked(&store, "aa04"),
            "other nodes'"
        );
        // Issued once the index exists (a renewal): found through it.
        issued(&store, "caf-976", "aa05");
        store.supersede_serials(&caf, "aa05", 11).unwrap();
        assert!(revoked(&store, "aa03"), "superseded by the renewal");
        assert!(!revoked(&store, "aa05"));
        store
            .put_node(&NodeRecord {
                node_id: caf.clone(),
                name: "CAF".into(),
                enrolled_at: 1,
                serial: "aa05".into(),
                cert_not_after: 100,
                last_seen: None,
                version: None,
                datasets: vec![],
                revoked_at: None,
            })
            .unwrap();
        store.revoke(&caf, 20).unwrap().unwrap();
        assert!(revoked(&store, "aa05"), "revoking the node revokes all");
        assert!(!revoked(&store, "aa02") && !revoked(&store, "aa04"));
    }

    #[test]
    fn a_store_written_before_the_index_is_indexed_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        // As an older hub wrote it: certificates, no index.
        for (node, serial) in [
            ("caf-976", "bb01"),
            ("caf-976", "bb02"),
            ("pole-976", "bb03"),
        ] {
            let record = SerialRecord {
                node_id: NodeId::new(node).unwrap(),
                issued_at: 1,
                revoked_at: None,
            };
            store
                .tree("serials")
                .unwrap()
                .insert(serial.as_bytes(), codec::encode(&record).unwrap())
                .unwrap();
        }
        let caf = NodeId::new("caf-976").unwrap();
        store.supersede_serials(&caf, "bb02", 10).unwrap();
        assert!(revoked(&store, "bb01"));
        assert!(!revoked(&store, "bb02") && !revoked(&store, "bb03"));
        let index = store.tree(SERIALS_BY_NODE).unwrap();
        assert!(index.get(INDEX_BUILT).unwrap().is_some());
        assert!(index
            .get(by_node_key(&NodeId::new("pole-976").unwrap(), "bb03"))
            .unwrap()
            .is_some());
    }
}
