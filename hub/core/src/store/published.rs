//! What the hub publishes and who may read it: composed indicators (the
//! published history and the drafts held back from it), the directory of
//! actors, published resources, partner accounts.
//!
//! Published results (`results`) and drafts (the `Drafts` keyspace) share
//! one key layout, `indicator \0 time sequence`, with one sequence for
//! both: which of the two came last is known even within one second.

use passerelle_protocol::{codec, ids::NodeId, UnixTime};
use serde::{de::DeserializeOwned, Serialize};

use super::{keyspace::Keyspace, ObservatorySpace, Store};
use crate::HubError;

/// One entry of an indicator's history: published, or kept as a draft.
#[derive(Debug, Clone, PartialEq)]
pub enum History<P, D> {
    /// A published result.
    Published(P),
    /// A draft: composed, but not published.
    Draft(D),
}

/// The key prefix of an indicator's history.
pub(super) fn prefix(indicator: &str) -> Vec<u8> {
    let mut key = indicator.as_bytes().to_vec();
    key.push(0);
    key
}

/// The sequence at the end of a history key (0 when the key is damaged).
pub(super) fn sequence(key: &[u8]) -> u64 {
    key.len()
        .checked_sub(8)
        .and_then(|at| <[u8; 8]>::try_from(&key[at..]).ok())
        .map_or(0, u64::from_be_bytes)
}

impl Store {
    /// A new history key: indicator, time, then the next sequence.
    fn history_key(&self, indicator: &str, computed_at: UnixTime) -> Result<Vec<u8>, HubError> {
        let mut key = prefix(indicator);
        key.extend_from_slice(&computed_at.to_be_bytes());
        key.extend_from_slice(&self.db()?.generate_id()?.to_be_bytes());
        Ok(key)
    }

    fn drafts<T: Serialize + DeserializeOwned>(&self) -> Keyspace<T> {
        self.keyspace(ObservatorySpace::Drafts)
    }

    /// Keeps a published indicator in its history.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_result<T: Serialize>(
        &self,
        indicator: &str,
        computed_at: UnixTime,
        r: &T,
    ) -> Result<(), HubError> {
        let _w = self.writing()?;
        let key = self.history_key(indicator, computed_at)?;
        let value = codec::encode(r)?;
        passerelle_link::disk::ensure_space(
            self.folder(),
            "record a composed result",
            value.len() as u64,
        )?;
        self.tree("results")?.insert(key, value)?;
        self.handle.flush()?;
        Ok(())
    }

    /// Keeps a draft (a composition not published) in its history.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_draft<T: Serialize + DeserializeOwned>(
        &self,
        indicator: &str,
        computed_at: UnixTime,
        d: &T,
    ) -> Result<(), HubError> {
        let _w = self.writing()?;
        let key = self.history_key(indicator, computed_at)?;
        let drafts = self.drafts::<T>();
        drafts.insert(&key, d)?;
        drafts.flush()?;
        Ok(())
    }

    /// The newest draft of an indicator made after its newest published
    /// result: the refresh the published figure is older than.
    ///
    /// # Errors
    /// On a store failure.
    pub fn pending_draft<T: Serialize + DeserializeOwned>(
        &self,
        indicator: &str,
    ) -> Result<Option<T>, HubError> {
        let Some(draft) = self
            .drafts::<T>()
            .scan_prefix(&prefix(indicator))?
            .next_back()
            .transpose()?
        else {
            return Ok(None);
        };
        let published = self
            .tree("results")?
            .scan_prefix(prefix(indicator))
            .next_back()
            .transpose()?
            .map_or(0, |(k, _)| sequence(&k));
        if sequence(draft.key()) <= published {
            return Ok(None);
        }
        Ok(Some(draft.value()?))
    }

    /// An indicator's whole history, published results and drafts, oldest
    /// first.
    ///
    /// # Errors
    /// On a store failure or a damaged entry.
    pub fn history<P, D>(&self, indicator: &str) -> Result<Vec<History<P, D>>, HubError>
    where
        P: DeserializeOwned,
        D: Serialize + DeserializeOwned,
    {
        let mut all: Vec<(u64, History<P, D>)> = Vec::new();
        for kv in self.tree("results")?.scan_prefix(prefix(indicator)) {
            let (k, v) = kv?;
            all.push((sequence(&k), History::Published(codec::decode(&v)?)));
        }
        for e in self.drafts::<D>().scan_prefix(&prefix(indicator))? {
            let e = e?;
            all.push((sequence(e.key()), History::Draft(e.value()?)));
        }
        all.sort_by_key(|(seq, _)| *seq);
        Ok(all.into_iter().map(|(_, h)| h).collect())
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
        self.tree("results")?
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
        let _w = self.writing()?;
        match entry {
            Some(e) => self
                .tree("directory")?
                .insert(node.as_str().as_bytes(), codec::encode(e)?)?,
            None => self.tree("directory")?.remove(node.as_str().as_bytes())?,
        };
        Ok(())
    }

    /// Records (or clears) an entry of the `directory` tree under `key`:
    /// the operator's entries for actors without a node
    /// ([`crate::actors`], keys `actor:ID`).
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_directory_entry(
        &self,
        key: &str,
        entry: Option<&passerelle_protocol::directory::DirectoryEntry>,
    ) -> Result<(), HubError> {
        let _w = self.writing()?;
        match entry {
            Some(e) => self
                .tree("directory")?
                .insert(key.as_bytes(), codec::encode(e)?)?,
            None => self.tree("directory")?.remove(key.as_bytes())?,
        };
        Ok(())
    }

    /// Every directory entry, by node id (or `actor:ID` for the
    /// operator's entries).
    ///
    /// # Errors
    /// On a store failure.
    pub fn directory(
        &self,
    ) -> Result<Vec<(String, passerelle_protocol::directory::DirectoryEntry)>, HubError> {
        self.tree("directory")?
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
        let _w = self.writing()?;
        self.tree("resources")?
            .insert(id.as_bytes(), codec::encode(r)?)?;
        self.handle.flush()?;
        Ok(())
    }

    /// Every published document, in key order.
    ///
    /// # Errors
    /// On a store failure.
    pub fn resources<T: serde::de::DeserializeOwned>(&self) -> Result<Vec<T>, HubError> {
        self.tree("resources")?
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
        self.tree("accounts")?
            .iter()
            .values()
            .map(|v| Ok(crate::partners::decode_account(&v?)?))
            .collect()
    }

    /// A partner account by login.
    ///
    /// # Errors
    /// On a store failure.
    pub fn account(&self, email: &str) -> Result<Option<crate::partners::Account>, HubError> {
        match self.tree("accounts")?.get(email.as_bytes())? {
            Some(v) => Ok(Some(crate::partners::decode_account(&v)?)),
            None => Ok(None),
        }
    }

    /// Writes a partner account.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_account(&self, a: &crate::partners::Account) -> Result<(), HubError> {
        let _w = self.writing()?;
        self.tree("accounts")?
            .insert(a.email.as_bytes(), codec::encode(a)?)?;
        self.handle.flush()?;
        Ok(())
    }

    /// Deletes a partner account; whether it existed.
    ///
    /// # Errors
    /// On a store failure.
    pub fn remove_account(&self, email: &str) -> Result<bool, HubError> {
        let _w = self.writing()?;
        let existed = self.tree("accounts")?.remove(email.as_bytes())?.is_some();
        self.handle.flush()?;
        Ok(existed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_is_pending_until_a_result_is_published_after_it_even_in_the_same_second() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let pending = |id: &str| store.pending_draft::<String>(id).unwrap();
        assert_eq!(pending("a"), None);
        store
            .put_result("a", 10, &"published 1".to_string())
            .unwrap();
        assert_eq!(pending("a"), None);
        store.put_draft("a", 10, &"draft 1".to_string()).unwrap();
        store
            .put_draft("ab", 10, &"another indicator".to_string())
            .unwrap();
        assert_eq!(pending("a").as_deref(), Some("draft 1"));
        assert_eq!(
            store.latest_result::<String>("a").unwrap().as_deref(),
            Some("published 1"),
            "a draft never replaces the published result"
        );
        store
            .put_result("a", 10, &"published 2".to_string())
            .unwrap();
        assert_eq!(pending("a"), None);
        assert_eq!(pending("ab").as_deref(), Some("another indicator"));
        let history: Vec<History<String, String>> = store.history("a").unwrap();
        assert_eq!(
            history,
            [
                History::Published("published 1".to_string()),
                History::Draft("draft 1".to_string()),
                History::Published("published 2".to_string()),
            ]
        );
    }
}
