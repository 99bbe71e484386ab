//! Consents indexed by node, so that what one node or one institution
//! needs is read without reading every consent of the vault:
//!
//! - revoked consents not yet ended, by **holding** node (what each
//!   node's status poll tells it);
//! - consents in force, by **grantee** institution (what a professional's
//!   list shows).
//!
//! An entry is `node \0 consent id` with the consent's end as its value.
//! It is written before the consent's record, so that a write cut between
//! them leaves an entry whose record does not match (skipped), never a
//! record the index misses. Entries of ended, revoked or forgotten
//! consents are removed as they are met. A vault written before an index
//! existed is indexed once, at its first read (`\xffbuilt` marks it; node
//! ids are ASCII, so no entry starts with that byte).

use passerelle_hub_core::{
    store::{keyspace::Bincode, Keyspace, Store, VaultSpace},
    HubError,
};
use passerelle_protocol::{ids::NodeId, UnixTime};

use super::{pair, put_held, ConsentRecord, VaultStore};

const BUILT: &[u8] = b"\xffbuilt";

/// Which index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum By {
    /// Revoked consents, by holding node.
    RevokedHolder,
    /// Consents in force, by grantee institution.
    Grantee,
}

impl By {
    /// The node a consent's entry here is under, whether it has one or not.
    fn key_node(self, c: &ConsentRecord) -> &NodeId {
        match self {
            Self::RevokedHolder => &c.consent.holder,
            Self::Grantee => c.consent.grantee.institution(),
        }
    }

    /// The node a consent is indexed under here, if it is at all.
    fn node(self, c: &ConsentRecord) -> Option<&NodeId> {
        let revoked = c.revoked_at.is_some();
        let here = match self {
            Self::RevokedHolder => revoked,
            Self::Grantee => !revoked,
        };
        here.then(|| self.key_node(c))
    }
}

const BOTH: [By; 2] = [By::RevokedHolder, By::Grantee];

/// The two indexes.
#[derive(Debug, Clone)]
pub(super) struct ConsentIndexes {
    revoked_by_holder: Keyspace<UnixTime, Bincode>,
    by_grantee: Keyspace<UnixTime, Bincode>,
}

impl ConsentIndexes {
    pub(super) fn new(store: &Store) -> Self {
        Self {
            revoked_by_holder: store.keyspace(VaultSpace::RevokedByHolder),
            by_grantee: store.keyspace(VaultSpace::ConsentsByGrantee),
        }
    }

    fn of(&self, by: By) -> &Keyspace<UnixTime, Bincode> {
        match by {
            By::RevokedHolder => &self.revoked_by_holder,
            By::Grantee => &self.by_grantee,
        }
    }

    /// Brings both indexes in line with `c`, about to be written. The
    /// caller holds the write gate.
    pub(super) fn put(&self, c: &ConsentRecord) -> Result<(), HubError> {
        for by in BOTH {
            let key = pair(by.key_node(c).as_str(), &c.consent.id);
            if by.node(c).is_some() {
                self.of(by).insert(&key, &c.consent.not_after)?;
            } else {
                self.of(by).remove(&key)?;
            }
        }
        Ok(())
    }

    /// Forgets `c`'s entries. The caller holds the write gate.
    pub(super) fn remove(&self, c: &ConsentRecord) -> Result<(), HubError> {
        for by in BOTH {
            self.of(by)
                .remove(&pair(by.key_node(c).as_str(), &c.consent.id))?;
        }
        Ok(())
    }
}

impl VaultStore {
    /// The consents indexed under `node` in `by` that have not ended at
    /// `now` and still belong there; entries that no longer do are
    /// removed.
    pub(super) fn indexed(
        &self,
        by: By,
        node: &NodeId,
        now: UnixTime,
    ) -> Result<Vec<ConsentRecord>, HubError> {
        let ks = self.consent_indexes.of(by);
        if ks.entry(BUILT)?.is_none() {
            let _w = self.store.writing()?;
            for c in self.all_consents()? {
                if let Some(n) = by.node(&c) {
                    ks.insert(&pair(n.as_str(), &c.consent.id), &c.consent.not_after)?;
                }
            }
            put_held(ks, BUILT, &0)?;
        }
        let prefix = pair(node.as_str(), "");
        let (mut out, mut stale) = (Vec::new(), Vec::new());
        for e in ks.scan_prefix(&prefix)? {
            let e = e?;
            if e.value()? <= now {
                stale.push(e.key().to_vec());
                continue;
            }
            let id = String::from_utf8_lossy(&e.key()[prefix.len()..]);
            match self.consent(&id)? {
                Some(c) if by.node(&c) == Some(node) => out.push(c),
                // Revoked since: no longer among the grantee's.
                Some(_) if by == By::Grantee => stale.push(e.key().to_vec()),
                // A write cut before its record: skipped.
                _ => {}
            }
        }
        if !stale.is_empty() {
            let _w = self.store.writing()?;
            for k in stale {
                ks.remove(&k)?;
            }
            ks.flush()?;
        }
        Ok(out)
    }
}
