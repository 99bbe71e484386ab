//! The vault's part of the store: links to persons, document records,
//! revoked consents and the audit chain.

use passerelle_protocol::{
    audit::{self, Event, Record},
    codec,
    message::{Deposit, MAX_DEPOSITS},
    vault::{Category, DocSummary, Pseudonym},
    UnixTime,
};
use serde::{Deserialize, Serialize};

use super::Store;
use crate::NodeError;

const LINKS: &str = "links";
const PSEUDONYMS: &str = "pseudonyms";
const DOCUMENTS: &str = "documents";
const PERSON_DOCS: &str = "person_docs";
const REVOKED: &str = "revoked";
pub(super) const AUDIT: &str = "audit";
/// Documents by the time they were added: `added_at (big-endian) id`.
const BY_TIME: &str = "documents_by_time";

fn by_time(doc: &DocRecord) -> Vec<u8> {
    [&doc.added_at.to_be_bytes()[..], doc.id.as_bytes()].concat()
}

/// A person's record here, linked to their vault account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The institution's own id for the person.
    pub local_id: String,
    /// The person's pseudonym for this node, from the hub.
    pub pseudonym: Pseudonym,
    /// When.
    pub linked_at: UnixTime,
    /// Who linked it.
    pub linked_by: String,
}

/// A document the node holds. Its bytes are sealed in
/// `documents/<id>.sealed` under its own key, itself wrapped by the
/// node's document key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocRecord {
    /// Id (32 hex digits).
    pub id: String,
    /// The institution's id for the person.
    pub local_id: String,
    /// Category.
    pub category: Category,
    /// File name as added.
    pub name: String,
    /// Media type, from the content.
    pub mime: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content.
    pub sha256: [u8; 32],
    /// When it was added.
    pub added_at: UnixTime,
    /// Who added it.
    pub added_by: String,
    /// The document's key, wrapped by the node's document key.
    pub wrapped_key: Vec<u8>,
}

impl DocRecord {
    /// What the node tells the hub.
    pub fn summary(&self) -> DocSummary {
        DocSummary {
            id: self.id.clone(),
            category: self.category,
            name: self.name.clone(),
            mime: self.mime.clone(),
            size: self.size,
            added_at: self.added_at,
            sha256: self.sha256,
        }
    }
}

fn pair(a: &str, b: &str) -> Vec<u8> {
    [a.as_bytes(), &[0], b.as_bytes()].concat()
}

impl Store {
    fn get<T: serde::de::DeserializeOwned>(
        &self,
        tree: &str,
        key: &[u8],
    ) -> Result<Option<T>, NodeError> {
        Ok(self
            .db()?
            .open_tree(tree)?
            .get(key)?
            .map(|v| codec::decode(&v))
            .transpose()?)
    }

    /// Records a link; refuses to move a record to another person, or a
    /// person to another record.
    ///
    /// # Errors
    /// When the record or the person is already linked otherwise.
    pub fn put_link(&self, link: &Link) -> Result<(), NodeError> {
        let _w = self.writing()?;
        if let Some(old) = self.link(&link.local_id)? {
            if old.pseudonym != link.pseudonym {
                return Err(crate::Refusal::LinkedElsewhere {
                    local_id: link.local_id.clone(),
                    since: old.linked_at,
                }
                .into());
            }
        }
        if let Some(other) = self.local_id(&link.pseudonym)? {
            if other != link.local_id {
                return Err(crate::Refusal::AccountLinkedTo(other).into());
            }
        }
        self.db()?
            .open_tree(LINKS)?
            .insert(link.local_id.as_bytes(), codec::encode(link)?)?;
        self.db()?
            .open_tree(PSEUDONYMS)?
            .insert(link.pseudonym.0.as_bytes(), link.local_id.as_bytes())?;
        self.handle.flush()?;
        Ok(())
    }

    /// Drops the link of a pseudonym, at the hub's word (the person
    /// deleted their vault account or unlinked this institution), and
    /// records it in the audit chain. The institution's record and
    /// documents stay: they are its own. Nothing to drop is not an error
    /// (the hub may say it twice).
    ///
    /// # Errors
    /// On a store failure.
    pub fn forget_link(&self, pseudonym: &Pseudonym, at: UnixTime) -> Result<(), NodeError> {
        let local = {
            let _w = self.writing()?;
            let Some(local) = self.local_id(pseudonym)? else {
                return Ok(());
            };
            let links = self.db()?.open_tree(LINKS)?;
            // Only the link that is this pseudonym's.
            let mine = self
                .link(&local)?
                .is_some_and(|l| &l.pseudonym == pseudonym);
            if mine {
                links.remove(local.as_bytes())?;
            }
            self.db()?
                .open_tree(PSEUDONYMS)?
                .remove(pseudonym.0.as_bytes())?;
            self.handle.flush()?;
            local
        };
        self.audit(
            at,
            Event {
                actor: passerelle_protocol::audit::Actor::Hub,
                action: passerelle_protocol::audit::Action::Unlink,
                person: Some(local),
                subject: pseudonym.0.clone(),
                procedure: None,
                detail: "the person left the vault or unlinked this institution".into(),
            },
        )?;
        Ok(())
    }

    /// The link of a local record.
    ///
    /// # Errors
    /// On a store failure.
    pub fn link(&self, local_id: &str) -> Result<Option<Link>, NodeError> {
        self.get(LINKS, local_id.as_bytes())
    }

    /// The local record a pseudonym is linked to.
    ///
    /// # Errors
    /// On a store failure.
    pub fn local_id(&self, pseudonym: &Pseudonym) -> Result<Option<String>, NodeError> {
        Ok(self
            .db()?
            .open_tree(PSEUDONYMS)?
            .get(pseudonym.0.as_bytes())?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    /// Records a document (its sealed file must already be in place).
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_document(&self, doc: &DocRecord) -> Result<(), NodeError> {
        self.noted((|| {
            let _w = self.writing()?;
            self.db()?
                .open_tree(DOCUMENTS)?
                .insert(doc.id.as_bytes(), codec::encode(doc)?)?;
            self.db()?
                .open_tree(PERSON_DOCS)?
                .insert(pair(&doc.local_id, &doc.id), &[])?;
            self.db()?.open_tree(BY_TIME)?.insert(by_time(doc), &[])?;
            self.handle.flush()?;
            Ok(())
        })())
    }

    /// Forgets a document's record.
    ///
    /// # Errors
    /// On a store failure.
    pub fn remove_document(&self, doc: &DocRecord) -> Result<(), NodeError> {
        let _w = self.writing()?;
        self.db()?.open_tree(DOCUMENTS)?.remove(doc.id.as_bytes())?;
        self.db()?
            .open_tree(PERSON_DOCS)?
            .remove(pair(&doc.local_id, &doc.id))?;
        self.db()?.open_tree(BY_TIME)?.remove(by_time(doc))?;
        self.handle.flush()?;
        Ok(())
    }

    /// A document's record.
    ///
    /// # Errors
    /// On a store failure.
    pub fn document(&self, id: &str) -> Result<Option<DocRecord>, NodeError> {
        self.get(DOCUMENTS, id.as_bytes())
    }

    /// The documents held about one person, oldest first.
    ///
    /// # Errors
    /// On a store failure.
    pub fn documents_of(&self, local_id: &str) -> Result<Vec<DocRecord>, NodeError> {
        let prefix = [local_id.as_bytes(), &[0]].concat();
        let mut out = Vec::new();
        for kv in self.db()?.open_tree(PERSON_DOCS)?.scan_prefix(&prefix) {
            let (k, _) = kv?;
            let id = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
            if let Some(d) = self.document(&id)? {
                out.push(d);
            }
        }
        out.sort_by_key(|d| (d.added_at, d.id.clone()));
        Ok(out)
    }

    /// Documents added for linked persons after `after` and before `now`
    /// (complete seconds only), grouped per person and second, oldest
    /// first, at most [`MAX_DEPOSITS`] entries of whole seconds; and
    /// where the next question starts. Documents of records not linked
    /// to a vault are left out.
    ///
    /// # Errors
    /// On a store failure.
    pub fn deposits_since(
        &self,
        after: UnixTime,
        now: UnixTime,
    ) -> Result<(Vec<Deposit>, UnixTime), NodeError> {
        if after >= now {
            // A question from the future (the hub's first, `u64::MAX`):
            // only where to start, by this node's clock.
            return Ok((Vec::new(), now.saturating_sub(1)));
        }
        let until = now.saturating_sub(1).max(after);
        let from = after.saturating_add(1).to_be_bytes();
        let mut out: Vec<Deposit> = Vec::new();
        for kv in self.db()?.open_tree(BY_TIME)?.range(from..) {
            let (k, _) = kv?;
            let Some(at) = k.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) else {
                continue;
            };
            let at = UnixTime::from_be_bytes(at);
            if at > until {
                break;
            }
            let id = String::from_utf8_lossy(&k[8..]).into_owned();
            let Some(pseudonym) = self
                .document(&id)?
                .and_then(|d| self.link(&d.local_id).ok().flatten())
                .map(|l| l.pseudonym)
            else {
                continue;
            };
            if let Some(d) = out
                .iter_mut()
                .rev()
                .take_while(|d| d.at == at)
                .find(|d| d.person == pseudonym)
            {
                d.count = d.count.saturating_add(1);
                continue;
            }
            if out.len() == MAX_DEPOSITS {
                // Cut before this second, which the next question starts
                // at (a single second of more than a page is cut short).
                let last = out.last().map_or(after, |d| d.at);
                return Ok((out, last));
            }
            out.push(Deposit {
                person: pseudonym,
                at,
                count: 1,
            });
        }
        Ok((out, until))
    }

    /// Every document record.
    ///
    /// # Errors
    /// On a store failure.
    pub fn all_documents(&self) -> Result<Vec<DocRecord>, NodeError> {
        self.db()?
            .open_tree(DOCUMENTS)?
            .iter()
            .map(|kv| Ok(codec::decode(&kv?.1)?))
            .collect()
    }

    /// Records consents the hub says were revoked.
    ///
    /// # Errors
    /// On a store failure.
    pub fn revoke_consents(&self, ids: &[String], at: UnixTime) -> Result<(), NodeError> {
        let _w = self.writing()?;
        let tree = self.db()?.open_tree(REVOKED)?;
        for id in ids {
            tree.insert(id.as_bytes(), &at.to_be_bytes())?;
        }
        self.handle.flush()?;
        Ok(())
    }

    /// Whether a consent was revoked.
    pub fn consent_revoked(&self, id: &str) -> bool {
        // A store failure counts as revoked: refuse by default.
        self.db()
            .ok()
            .and_then(|db| {
                db.open_tree(REVOKED)
                    .and_then(|t| t.contains_key(id.as_bytes()))
                    .ok()
            })
            .unwrap_or(true)
    }

    /// Appends an event to the audit chain.
    ///
    /// # Errors
    /// On a store failure.
    pub fn audit(&self, at: UnixTime, event: Event) -> Result<Record, NodeError> {
        self.noted((|| {
            let _one_at_a_time = self.audit_lock.lock().expect("audit lock");
            let _w = self.writing()?;
            let tree = self.db()?.open_tree(AUDIT)?;
            let last: Option<Record> = tree.last()?.map(|(_, v)| codec::decode(&v)).transpose()?;
            let record = Record::next(last.as_ref(), at, event);
            tree.insert(record.seq.to_be_bytes(), codec::encode(&record)?)?;
            self.handle.flush()?;
            Ok(record)
        })())
    }

    /// Writes in the audit chain what `by` did to `subject`, with no
    /// person concerned (an import, a decision on a batch, an account, a
    /// token); the detail is a summary, bounded.
    ///
    /// # Errors
    /// On a store failure.
    pub fn record(
        &self,
        at: UnixTime,
        by: &crate::actor::Actor,
        action: audit::Action,
        subject: &str,
        detail: &str,
    ) -> Result<Record, NodeError> {
        self.audit(
            at,
            Event {
                actor: by.audit(),
                action,
                person: None,
                subject: subject.to_string(),
                procedure: None,
                detail: detail.chars().take(600).collect(),
            },
        )
    }

    /// The chain's length, the hash of its last record, and the hash of
    /// record `at` if it exists (as stored: a check of the chain is
    /// `audit verify`'s job).
    ///
    /// # Errors
    /// On a store failure.
    pub fn audit_head(
        &self,
        at: Option<u64>,
    ) -> Result<passerelle_protocol::audit::HeadCheck, NodeError> {
        let tree = self.db()?.open_tree(AUDIT)?;
        let last: Option<Record> = tree.last()?.and_then(|(_, v)| codec::decode(&v).ok());
        let at_hash = match at {
            None => None,
            Some(seq) => tree
                .get(seq.to_be_bytes())?
                .and_then(|v| codec::decode::<Record>(&v).ok())
                .map(|r| r.hash),
        };
        Ok(match last {
            Some(r) => (r.seq + 1, r.hash, at_hash),
            None => (0, audit::GENESIS, at_hash),
        })
    }

    /// The audit chain in order from sequence number `from`, read as it
    /// goes: each record, or `Err(())` for one that does not decode, with
    /// its sequence number and stored size.
    ///
    /// # Errors
    /// On a store failure (the iterator's items too).
    fn audit_read(
        &self,
        from: u64,
    ) -> Result<impl Iterator<Item = Result<audit::Read, NodeError>>, NodeError> {
        let tree = self.db()?.open_tree(AUDIT)?;
        Ok(tree.range(from.to_be_bytes()..).map(|kv| {
            let (k, v) = kv?;
            let seq = <[u8; 8]>::try_from(&k[..]).map_or(u64::MAX, u64::from_be_bytes);
            Ok((seq, codec::decode::<Record>(&v).map_err(|_| ()), v.len()))
        }))
    }

    /// One page of the audit chain from sequence number `from` on, for
    /// listings over the admin socket (a reply of bounded size, whatever
    /// the chain's length).
    ///
    /// # Errors
    /// On a store failure.
    pub fn audit_page(&self, from: u64) -> Result<audit::Page, NodeError> {
        audit::Page::gather(self.audit_read(from)?)
    }

    /// Checks the audit chain, reading it record by record (constant
    /// memory).
    ///
    /// # Errors
    /// On a store failure; a broken chain is `Ok(Err(..))`.
    pub fn audit_verify(&self) -> Result<Result<audit::Head, audit::Broken>, NodeError> {
        audit::verify_read(self.audit_read(0)?)
    }
}

impl Store {
    /// Reads back every record and checks the audit chain and every
    /// document's sealed file: the problems found, none when sound.
    ///
    /// # Errors
    /// When the store cannot be read at all.
    pub fn check(&self, files: &crate::vault::DocFiles) -> Result<Vec<String>, NodeError> {
        let mut problems = Vec::new();
        for name in self.db()?.tree_names() {
            let tree = self.db()?.open_tree(&name)?;
            for kv in tree.iter() {
                if let Err(e) = kv {
                    problems.push(format!("tree {}: {e}", String::from_utf8_lossy(&name)));
                    break;
                }
            }
        }
        match self.audit_verify()? {
            Ok(_) => {}
            Err(b) => problems.push(b.to_string()),
        }
        for kv in self.db()?.open_tree(DOCUMENTS)?.iter() {
            let (k, v) = kv?;
            match codec::decode::<DocRecord>(&v) {
                Err(_) => problems.push(format!(
                    "document record {} does not decode",
                    String::from_utf8_lossy(&k)
                )),
                Ok(d) => {
                    let path = files.sealed(&d.id);
                    match std::fs::metadata(&path) {
                        Err(_) => problems.push(format!(
                            "document {}: file {} is missing",
                            d.id,
                            path.display()
                        )),
                        Ok(m) if m.len() != passerelle_protocol::seal::sealed_len(d.size) => {
                            problems.push(format!(
                                "document {}: file {} has {} bytes, {} expected",
                                d.id,
                                path.display(),
                                m.len(),
                                passerelle_protocol::seal::sealed_len(d.size)
                            ))
                        }
                        Ok(_) => {}
                    }
                }
            }
        }
        Ok(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, local_id: &str, at: UnixTime) -> DocRecord {
        DocRecord {
            id: id.into(),
            local_id: local_id.into(),
            category: Category::Housing,
            name: "quittance.pdf".into(),
            mime: "application/pdf".into(),
            size: 1,
            sha256: [0; 32],
            added_at: at,
            added_by: "agent".into(),
            wrapped_key: Vec::new(),
        }
    }

    #[test]
    fn deposits_are_told_by_pseudonym_per_second_for_linked_persons_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        for (local, p) in [("A", "pa"), ("B", "pb")] {
            store
                .put_link(&Link {
                    local_id: local.into(),
                    pseudonym: Pseudonym(p.into()),
                    linked_at: 1,
                    linked_by: "agent".into(),
                })
                .unwrap();
        }
        for (id, local, at) in [
            ("d1", "A", 10),
            ("d2", "A", 10),
            ("d3", "B", 11),
            ("d4", "UNLINKED", 11),
            ("d5", "A", 12),
            ("d6", "B", 20),
        ] {
            store.put_document(&doc(id, local, at)).unwrap();
        }
        let seen = |after, now| {
            let (d, until) = store.deposits_since(after, now).unwrap();
            let d: Vec<_> = d.into_iter().map(|d| (d.person.0, d.at, d.count)).collect();
            (d, until)
        };
        // Seconds not over yet (20, at now = 20) wait for the next question.
        assert_eq!(
            seen(9, 20),
            (
                vec![
                    ("pa".into(), 10, 2),
                    ("pb".into(), 11, 1),
                    ("pa".into(), 12, 1)
                ],
                19
            )
        );
        assert_eq!(seen(19, 21), (vec![("pb".into(), 20, 1)], 20));
        assert_eq!(seen(20, 30), (vec![], 29));
        // The hub's first question asks where to start, by the node's clock.
        assert_eq!(seen(u64::MAX, 30), (vec![], 29));
        // A removed document is no longer told.
        store.remove_document(&doc("d6", "B", 20)).unwrap();
        assert_eq!(seen(19, 21), (vec![], 20));
    }

    #[test]
    fn a_long_list_of_deposits_is_cut_at_a_whole_second() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        for i in 0..=MAX_DEPOSITS {
            let local = format!("L{i}");
            store
                .put_link(&Link {
                    local_id: local.clone(),
                    pseudonym: Pseudonym(format!("p{i}")),
                    linked_at: 1,
                    linked_by: "agent".into(),
                })
                .unwrap();
            // Two persons a second.
            store
                .put_document(&doc(&format!("d{i}"), &local, 100 + i as u64 / 2))
                .unwrap();
        }
        let (first, until) = store.deposits_since(0, 10_000).unwrap();
        assert_eq!(first.len(), MAX_DEPOSITS);
        assert_eq!(until, first.last().unwrap().at);
        let (rest, _) = store.deposits_since(until, 10_000).unwrap();
        assert_eq!(rest.len(), 1);
        assert!(rest[0].at > until);
    }

    #[test]
    fn a_forgotten_pseudonym_is_unlinked_once_and_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let p = Pseudonym("p-caf".into());
        let link = Link {
            local_id: "CAF-1".into(),
            pseudonym: p.clone(),
            linked_at: 1,
            linked_by: "agent".into(),
        };
        store.put_link(&link).unwrap();
        store.forget_link(&p, 2).unwrap();
        assert_eq!(store.local_id(&p).unwrap(), None);
        assert_eq!(store.link("CAF-1").unwrap(), None);
        // Told twice (the hub retries): nothing more to do, nothing logged.
        store.forget_link(&p, 3).unwrap();
        let head = store.audit_verify().unwrap().unwrap();
        assert_eq!(head.records, 1);
        // The record can be linked again (a new link code).
        store.put_link(&link).unwrap();
        assert_eq!(store.local_id(&p).unwrap().as_deref(), Some("CAF-1"));
    }
}
