//! Signing in to the vault with an attached provider (FranceConnect).
//!
//! A signed-in person may attach a provider: the subject (`sub`) the
//! provider gives for them is bound to their account. Signing in with the
//! provider then proves who they are, but the vault's data key (which
//! seals their uploads) must still be unwrapped by something the person
//! has, and the hub must not be able to do it alone.
//!
//! So the key is wrapped **per device**: when a person attaches the
//! provider, or signs in with their password on a device while a provider
//! is attached, the hub draws a random 32-byte device secret, wraps the
//! data key under it, keeps only the wrapped key (and a device id) and
//! gives the secret to the browser in a long-lived cookie. A sign-in with
//! the provider opens the vault on a device holding that cookie; on a new
//! device, the person types their password once (or uses their rescue
//! code), as before. Neither the provider identity nor the cookie alone
//! opens anything: the identity finds the account, the cookie unwraps the
//! key. The hub keeps no secret that unwraps the key, as with passwords
//! (it sees the secret while a request carries it, as it sees passwords).
//!
//! A person has at most [`MAX_DEVICES`] devices (the oldest is forgotten);
//! a password reset or detaching the provider forgets them all.

use passerelle_hub_core::{
    store::{IdentitySpace, Keyspace, Store},
    HubError,
};
use passerelle_protocol::{
    hex,
    seal::{self, Key},
    UnixTime,
};
use serde::{Deserialize, Serialize};

use crate::store::pair;

/// Devices remembered per person.
pub const MAX_DEVICES: usize = 5;

/// The data key wrapped for one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// The data key wrapped under the device secret.
    pub wrapped: Vec<u8>,
    /// When it was remembered.
    pub created_at: UnixTime,
}

/// A provider identity bound to a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attached {
    /// The person.
    pub person: String,
    /// When it was attached.
    pub attached_at: UnixTime,
}

fn links(store: &Store) -> Keyspace<Attached> {
    store.keyspace(IdentitySpace::PersonLinks)
}

fn devices(store: &Store) -> Keyspace<Device> {
    store.keyspace(IdentitySpace::PersonDevices)
}

/// Binds a provider's subject to a person (replacing an earlier binding
/// of that subject).
///
/// # Errors
/// On a store failure.
pub fn attach(
    store: &Store,
    provider: &str,
    subject: &str,
    person: &str,
    now: UnixTime,
) -> Result<(), HubError> {
    let _w = store.writing()?;
    links(store).insert(
        &pair(provider, subject),
        &Attached {
            person: person.to_string(),
            attached_at: now,
        },
    )?;
    links(store).flush()?;
    Ok(())
}

/// The person a provider's subject was attached to.
///
/// # Errors
/// On a store failure.
pub fn person_for(
    store: &Store,
    provider: &str,
    subject: &str,
) -> Result<Option<String>, HubError> {
    Ok(links(store)
        .get(&pair(provider, subject))?
        .map(|a| a.person))
}

/// The providers attached to a person.
///
/// # Errors
/// On a store failure.
pub fn attached(store: &Store, person: &str) -> Result<Vec<String>, HubError> {
    let mut out = Vec::new();
    for e in links(store).iter()? {
        let e = e?;
        if e.value()?.person == person {
            let key = String::from_utf8_lossy(e.key()).into_owned();
            out.push(key.split('\0').next().unwrap_or("").to_string());
        }
    }
    Ok(out)
}

/// Detaches every provider of a person and forgets their devices.
///
/// # Errors
/// On a store failure.
pub fn detach_all(store: &Store, person: &str) -> Result<(), HubError> {
    let keys: Vec<Vec<u8>> = links(store)
        .iter()?
        .filter_map(|e| e.ok())
        .filter(|e| e.value().is_ok_and(|a| a.person == person))
        .map(|e| e.key().to_vec())
        .collect();
    let _w = store.writing()?;
    for k in keys {
        links(store).remove(&k)?;
    }
    drop(_w);
    forget_devices(store, person)
}

/// Remembers the device of a signed-in person: wraps their data key under
/// a fresh secret and returns the cookie value (`device id . secret`, hex).
///
/// # Errors
/// On a store failure.
pub fn remember_device(
    store: &Store,
    person: &str,
    key: &Key,
    now: UnixTime,
) -> Result<String, HubError> {
    let id = hex::encode(&passerelle_link::random16());
    let secret = Key::generate();
    let wrapped = seal::wrap(&secret, person.as_bytes(), key);
    let space = devices(store);
    let prefix = pair(person, "");
    let mut held: Vec<(Vec<u8>, UnixTime)> = space
        .scan_prefix(&prefix)?
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.key().to_vec(), e.value().ok()?.created_at)))
        .collect();
    held.sort_by_key(|(_, at)| *at);
    let _w = store.writing()?;
    while held.len() >= MAX_DEVICES {
        let (k, _) = held.remove(0);
        space.remove(&k)?;
    }
    space.insert(
        &pair(person, &id),
        &Device {
            wrapped,
            created_at: now,
        },
    )?;
    space.flush()?;
    Ok(format!("{id}.{}", hex::encode(&secret.0)))
}

/// The data key a device cookie unwraps for a person, if any.
///
/// # Errors
/// On a store failure.
pub fn unlock(store: &Store, person: &str, cookie: &str) -> Result<Option<Key>, HubError> {
    let Some((id, secret)) = cookie.split_once('.') else {
        return Ok(None);
    };
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let Some(secret) = hex::decode_array::<32>(secret).map(Key) else {
        return Ok(None);
    };
    let Some(device) = devices(store).get(&pair(person, id))? else {
        return Ok(None);
    };
    Ok(seal::unwrap(&secret, person.as_bytes(), &device.wrapped).ok())
}

/// Forgets every device of a person (after a password reset: the data key
/// may have changed).
///
/// # Errors
/// On a store failure.
pub fn forget_devices(store: &Store, person: &str) -> Result<(), HubError> {
    let space = devices(store);
    let keys: Vec<Vec<u8>> = space
        .scan_prefix(&pair(person, ""))?
        .filter_map(|e| e.ok())
        .map(|e| e.key().to_vec())
        .collect();
    let _w = store.writing()?;
    for k in keys {
        space.remove(&k)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("store")).unwrap();
        (dir, s)
    }

    #[test]
    fn a_device_cookie_unwraps_its_persons_key_only() {
        let (_d, s) = store();
        let key = Key::generate();
        let cookie = remember_device(&s, "p1", &key, 10).unwrap();
        assert_eq!(unlock(&s, "p1", &cookie).unwrap(), Some(key.clone()));
        // Another person's id, a changed secret, a malformed cookie.
        assert_eq!(unlock(&s, "p2", &cookie).unwrap(), None);
        let (id, secret) = cookie.split_once('.').unwrap();
        let flipped = if secret.starts_with('0') { "1" } else { "0" };
        assert_eq!(
            unlock(&s, "p1", &format!("{id}.{flipped}{}", &secret[1..])).unwrap(),
            None
        );
        assert_eq!(unlock(&s, "p1", "nonsense").unwrap(), None);
        // At most MAX_DEVICES: the oldest goes.
        let later: Vec<String> = (0..MAX_DEVICES)
            .map(|i| remember_device(&s, "p1", &key, 20 + i as u64).unwrap())
            .collect();
        assert_eq!(unlock(&s, "p1", &cookie).unwrap(), None, "oldest forgotten");
        assert!(later.iter().all(|c| unlock(&s, "p1", c).unwrap().is_some()));
        forget_devices(&s, "p1").unwrap();
        assert!(later.iter().all(|c| unlock(&s, "p1", c).unwrap().is_none()));
    }

    #[test]
    fn attach_find_and_detach() {
        let (_d, s) = store();
        attach(&s, "franceconnect", "sub-1", "p1", 5).unwrap();
        assert_eq!(
            person_for(&s, "franceconnect", "sub-1").unwrap(),
            Some("p1".into())
        );
        assert_eq!(person_for(&s, "franceconnect", "sub-2").unwrap(), None);
        assert_eq!(attached(&s, "p1").unwrap(), ["franceconnect"]);
        let cookie = remember_device(&s, "p1", &Key::generate(), 6).unwrap();
        detach_all(&s, "p1").unwrap();
        assert_eq!(person_for(&s, "franceconnect", "sub-1").unwrap(), None);
        assert!(unlock(&s, "p1", &cookie).unwrap().is_none());
    }
}
