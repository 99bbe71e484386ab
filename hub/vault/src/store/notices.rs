//! What the person chose (notices, a code from a new device), the devices
//! they confirmed, the notices to send (each once: an outbox keyed by
//! what the notice is about) and where the reading for notices stopped.

use passerelle_hub_core::{
    store::{keyspace::Bincode, VaultSpace},
    HubError,
};
use passerelle_protocol::UnixTime;
use serde::{Deserialize, Serialize};

use super::{pair, put_held, VaultStore};

/// A person's choices. Everything is off until they turn it on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    /// Send notices (a document arrived, a document was viewed, a
    /// consent ends soon) to their identifier.
    pub notices: bool,
    /// Ask a code sent to their identifier when signing in from a device
    /// not seen before.
    pub new_device_code: bool,
}

/// What a notice tells; never a document's name nor content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Notice {
    /// An institution deposited documents.
    Deposited {
        /// The institution's name.
        institution: String,
        /// How many.
        count: u32,
    },
    /// A professional of an institution opened a document under consent.
    Viewed {
        /// The institution's name.
        institution: String,
    },
    /// A consent the person gave ends soon.
    ConsentEnding {
        /// Who it was given to, as the person wrote it.
        grantee: String,
        /// When it ends.
        ends_at: UnixTime,
    },
    /// The account has not been used for long and will be deleted unless
    /// the person signs in. Sent whatever the person's notice choice: it
    /// is the warning the deletion owes them.
    AccountInactive {
        /// When it will be deleted.
        deleted_on: UnixTime,
    },
}

/// A notice in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    /// The person (hub id).
    pub person: String,
    /// What to tell.
    pub notice: Notice,
    /// When it was queued.
    pub queued_at: UnixTime,
    /// Failed tries.
    pub attempts: u32,
    /// When it was sent, or given up (see `gave_up`).
    pub done_at: Option<UnixTime>,
    /// Whether it was given up after too many failures.
    pub gave_up: bool,
}

impl VaultStore {
    /// A person's choices (all off by default).
    ///
    /// # Errors
    /// On a store failure.
    pub fn preferences(&self, person: &str) -> Result<Preferences, HubError> {
        let ks = self
            .store
            .keyspace::<Preferences, Bincode>(VaultSpace::Preferences);
        Ok(ks.get(person.as_bytes())?.unwrap_or_default())
    }

    /// Records a person's choices.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_preferences(&self, person: &str, p: &Preferences) -> Result<(), HubError> {
        let ks = self
            .store
            .keyspace::<Preferences, Bincode>(VaultSpace::Preferences);
        self.put(&ks, person.as_bytes(), p)
    }

    /// Whether a person confirmed this device (the SHA-256 of its token).
    ///
    /// # Errors
    /// On a store failure.
    pub fn known_device(&self, person: &str, device: &[u8; 32]) -> Result<bool, HubError> {
        let ks = self
            .store
            .keyspace::<UnixTime, Bincode>(VaultSpace::Devices);
        Ok(ks.get(&device_key(person, device))?.is_some())
    }

    /// Records a device a person confirmed with a code.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_device(
        &self,
        person: &str,
        device: &[u8; 32],
        at: UnixTime,
    ) -> Result<(), HubError> {
        let ks = self
            .store
            .keyspace::<UnixTime, Bincode>(VaultSpace::Devices);
        self.put(&ks, &device_key(person, device), &at)
    }

    /// Queues a notice under `id` unless one was ever queued under it:
    /// whether it was queued now.
    ///
    /// # Errors
    /// On a store failure.
    pub fn queue_notice(&self, id: &str, o: &Outgoing) -> Result<bool, HubError> {
        let ks = self.store.keyspace::<Outgoing, Bincode>(VaultSpace::Outbox);
        let _w = self.store.writing()?;
        let new = ks.insert_new(id.as_bytes(), o)?;
        ks.flush()?;
        Ok(new)
    }

    /// The notices waiting to be sent, oldest first, at most `limit`.
    ///
    /// # Errors
    /// On a store failure.
    pub fn waiting_notices(&self, limit: usize) -> Result<Vec<(String, Outgoing)>, HubError> {
        let ks = self.store.keyspace::<Outgoing, Bincode>(VaultSpace::Outbox);
        let mut out = Vec::new();
        for e in ks.iter()? {
            let e = e?;
            if let Ok(o) = e.value() {
                if o.done_at.is_none() {
                    out.push((String::from_utf8_lossy(e.key()).into_owned(), o));
                }
            }
        }
        out.sort_by_key(|(_, o)| o.queued_at);
        out.truncate(limit);
        Ok(out)
    }

    /// Every notice queued, sent or not (for tests and the operator).
    ///
    /// # Errors
    /// On a store failure.
    pub fn notices(&self) -> Result<Vec<(String, Outgoing)>, HubError> {
        let ks = self.store.keyspace::<Outgoing, Bincode>(VaultSpace::Outbox);
        let mut out = Vec::new();
        for e in ks.iter()? {
            let e = e?;
            out.push((String::from_utf8_lossy(e.key()).into_owned(), e.value()?));
        }
        Ok(out)
    }

    /// Rewrites a notice's record (sent, failed once more, given up).
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_notice(&self, id: &str, o: &Outgoing) -> Result<(), HubError> {
        let ks = self.store.keyspace::<Outgoing, Bincode>(VaultSpace::Outbox);
        self.put(&ks, id.as_bytes(), o)
    }

    /// Forgets the notices done before `before` (a notice about a consent
    /// is kept until the consent cannot be in force any more); how many.
    ///
    /// # Errors
    /// On a store failure.
    pub fn prune_notices(&self, before: UnixTime) -> Result<usize, HubError> {
        let ks = self.store.keyspace::<Outgoing, Bincode>(VaultSpace::Outbox);
        let mut gone = Vec::new();
        for e in ks.iter()? {
            let e = e?;
            if e.value()
                .is_ok_and(|o| o.done_at.is_some_and(|d| d < before))
            {
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

    /// Where a reading for notices stopped.
    ///
    /// # Errors
    /// On a store failure.
    pub fn notice_cursor(&self, name: &str) -> Result<Option<u64>, HubError> {
        let ks = self
            .store
            .keyspace::<u64, Bincode>(VaultSpace::NoticeCursors);
        Ok(ks.get(name.as_bytes())?)
    }

    /// Records where a reading for notices stopped.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_notice_cursor(&self, name: &str, at: u64) -> Result<(), HubError> {
        let ks = self
            .store
            .keyspace::<u64, Bincode>(VaultSpace::NoticeCursors);
        let _w = self.store.writing()?;
        put_held(&ks, name.as_bytes(), &at)
    }
}

impl VaultStore {
    /// The persons a node linked.
    ///
    /// # Errors
    /// On a store failure.
    pub fn persons_linked_to(
        &self,
        node: &passerelle_protocol::ids::NodeId,
    ) -> Result<Vec<String>, HubError> {
        let mut out = Vec::new();
        for e in self.person_links.iter()? {
            let e = e?;
            if let Some((person, n)) = std::str::from_utf8(e.key())
                .ok()
                .and_then(|k| k.split_once('\0'))
            {
                if n == node.as_str() {
                    out.push(person.to_string());
                }
            }
        }
        Ok(out)
    }

    /// The nodes that linked at least one person, with when the first
    /// one was linked.
    ///
    /// # Errors
    /// On a store failure.
    pub fn linked_nodes(
        &self,
    ) -> Result<std::collections::HashMap<passerelle_protocol::ids::NodeId, UnixTime>, HubError>
    {
        let mut out = std::collections::HashMap::new();
        for e in self.person_links.iter()? {
            let e = e?;
            let Some((_, n)) = std::str::from_utf8(e.key())
                .ok()
                .and_then(|k| k.split_once('\0'))
            else {
                continue;
            };
            if let (Ok(n), Ok(at)) = (
                passerelle_protocol::ids::NodeId::new(n.to_string()),
                e.value(),
            ) {
                let first = out.entry(n).or_insert(at);
                *first = (*first).min(at);
            }
        }
        Ok(out)
    }

    /// The sequence number the audit chain's next record will have.
    ///
    /// # Errors
    /// On a store failure or a damaged last record.
    pub fn audit_end(&self) -> Result<u64, HubError> {
        Ok(match self.audit.last()? {
            Some(e) => e.value()?.seq + 1,
            None => 0,
        })
    }

    /// At most `limit` audit records from sequence number `from` on (a
    /// record that does not decode is left out; `audit verify` names it).
    ///
    /// # Errors
    /// On a store failure.
    pub fn audit_since(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<passerelle_protocol::audit::Record>, HubError> {
        let mut out = Vec::new();
        for e in self.audit.range_from(&from.to_be_bytes())?.take(limit) {
            if let Ok(r) = e?.value() {
                out.push(r);
            }
        }
        Ok(out)
    }
}

fn device_key(person: &str, device: &[u8; 32]) -> Vec<u8> {
    [&pair(person, "")[..], &device[..]].concat()
}
