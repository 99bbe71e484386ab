//! What the hub publishes and who may read it: composed indicators, the
//! directory of actors, published resources, partner accounts.

use passerelle_protocol::{codec, ids::NodeId, UnixTime};
use serde::Serialize;

use super::{get, Store};
use crate::HubError;

impl Store {
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
        let _w = self.writing()?;
        let mut key = indicator.as_bytes().to_vec();
        key.push(0);
        key.extend_from_slice(&computed_at.to_be_bytes());
        key.extend_from_slice(&self.db()?.generate_id()?.to_be_bytes());
        let value = codec::encode(r)?;
        passerelle_link::disk::ensure_space(
            self.folder(),
            "record a composed result",
            value.len() as u64,
        )?;
        self.tree("results")?.insert(key, value)?;
        self.engine.flush()?;
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

    /// Every directory entry, by node id.
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
        self.engine.flush()?;
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
            .map(|v| Ok(codec::decode(&v?)?))
            .collect()
    }

    /// A partner account by login.
    ///
    /// # Errors
    /// On a store failure.
    pub fn account(&self, email: &str) -> Result<Option<crate::partners::Account>, HubError> {
        get(&self.tree("accounts")?, email.as_bytes())
    }

    /// Writes a partner account.
    ///
    /// # Errors
    /// On a store failure.
    pub fn put_account(&self, a: &crate::partners::Account) -> Result<(), HubError> {
        let _w = self.writing()?;
        self.tree("accounts")?
            .insert(a.email.as_bytes(), codec::encode(a)?)?;
        self.engine.flush()?;
        Ok(())
    }

    /// Deletes a partner account; whether it existed.
    ///
    /// # Errors
    /// On a store failure.
    pub fn remove_account(&self, email: &str) -> Result<bool, HubError> {
        let _w = self.writing()?;
        let existed = self.tree("accounts")?.remove(email.as_bytes())?.is_some();
        self.engine.flush()?;
        Ok(existed)
    }
}
