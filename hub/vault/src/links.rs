//! Links between a person's account and the institutions that hold their
//! records, and the pseudonym each institution knows them by.

use crate::error::{Refusal, VaultError};
use passerelle_protocol::{
    audit::{Action, Actor, Event},
    hex,
    ids::NodeId,
    vault::Pseudonym,
    UnixTime,
};

use super::{
    accounts::{code, code_hash, CODE_TTL},
    store::{CodeKind, PendingCode, VaultStore},
};
use passerelle_hub_core::HubError;

/// The person's pseudonym at one node: HMAC-SHA-256 of the person and the
/// node under a hub secret. Two nodes get unrelated pseudonyms.
///
/// # Errors
/// On a store failure.
pub fn pseudonym(store: &VaultStore, person: &str, node: &NodeId) -> Result<Pseudonym, HubError> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &store.pseudonym_key()?);
    let tag = ring::hmac::sign(&key, &super::store::pair(person, node.as_str()));
    Ok(Pseudonym(hex::encode(&tag.as_ref()[..16])))
}

/// Link codes a person may have waiting at once.
pub const MAX_LINK_CODES: usize = 3;

/// A new one-time link code for a person, valid [`CODE_TTL`]; expired
/// codes are purged on the way.
///
/// # Errors
/// `Refused` when the person already has [`MAX_LINK_CODES`] codes
/// waiting; a store failure.
pub fn new_code(
    store: &VaultStore,
    person: &str,
    now: UnixTime,
) -> Result<(String, UnixTime), VaultError> {
    let c = code(2);
    let expires_at = now + CODE_TTL;
    let pending = PendingCode {
        person: person.to_string(),
        expires_at,
        issued_by: "person".into(),
        attempts: 0,
    };
    if !store.put_code_capped(
        CodeKind::Link,
        &code_hash(&c),
        &pending,
        MAX_LINK_CODES,
        now,
    )? {
        return Err(Refusal::TooManyLinkCodes {
            max: MAX_LINK_CODES,
        }
        .into());
    }
    Ok((c, expires_at))
}

/// Removes expired link and reset codes from the store (the hub calls it
/// with its debris sweep); how many.
///
/// # Errors
/// On a store failure.
pub fn purge_expired(store: &VaultStore, now: UnixTime) -> Result<usize, HubError> {
    Ok(store.purge_codes(CodeKind::Link, now)? + store.purge_codes(CodeKind::Reset, now)?)
}

/// A node redeems a link code: the code is used up, the link recorded and
/// logged, and the node receives the person's pseudonym for it.
///
/// # Errors
/// `Refused` for an unknown, used or expired code.
pub fn redeem(
    store: &VaultStore,
    node: &NodeId,
    node_name: &str,
    text: &str,
    now: UnixTime,
) -> Result<Pseudonym, VaultError> {
    let pending = store.take_code(CodeKind::Link, &code_hash(text))?;
    let p = match pending {
        Some(p) if p.expires_at > now => p,
        Some(_) => return Err(Refusal::LinkCodeExpired.into()),
        None => return Err(Refusal::UnknownLinkCode.into()),
    };
    store.put_link(&p.person, node, now)?;
    store.audit(
        now,
        Event {
            actor: Actor::Node(node.to_string()),
            action: Action::Link,
            person: Some(p.person.clone()),
            subject: node.to_string(),
            procedure: None,
            detail: node_name.to_string(),
        },
    )?;
    Ok(pseudonym(store, &p.person, node)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_codes_are_capped_and_an_expired_one_is_refused_and_purged() {
        let dir = tempfile::tempdir().unwrap();
        let s = passerelle_hub_core::store::Store::open(&dir.path().join("store")).unwrap();
        let store = VaultStore::new(s);
        let node = NodeId::new("caf-976").unwrap();
        let codes: Vec<String> = (0..MAX_LINK_CODES)
            .map(|_| new_code(&store, "p", 100).unwrap().0)
            .collect();
        assert!(matches!(
            new_code(&store, "p", 100),
            Err(VaultError::Refused(Refusal::TooManyLinkCodes {
                max: MAX_LINK_CODES
            }))
        ));
        assert!(new_code(&store, "q", 100).is_ok());
        // One redeemed: room for one more.
        redeem(&store, &node, "CAF", &codes[0], 101).unwrap();
        let (late, _) = new_code(&store, "p", 102).unwrap();
        // Expired: refused as such.
        assert!(matches!(
            redeem(&store, &node, "CAF", &codes[1], 100 + CODE_TTL),
            Err(VaultError::Refused(Refusal::LinkCodeExpired))
        ));
        // The sweep removes the others once expired, not before.
        assert_eq!(purge_expired(&store, 100 + CODE_TTL).unwrap(), 2);
        assert!(store
            .code(CodeKind::Link, &code_hash(&late))
            .unwrap()
            .is_some());
        assert!(matches!(
            redeem(&store, &node, "CAF", &codes[2], 100),
            Err(VaultError::Refused(Refusal::UnknownLinkCode))
        ));
    }
}
