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

/// A new one-time link code for a person.
///
/// # Errors
/// On a store failure.
pub fn new_code(
    store: &VaultStore,
    person: &str,
    now: UnixTime,
) -> Result<(String, UnixTime), HubError> {
    let c = code(2);
    let expires_at = now + CODE_TTL;
    store.put_code(
        CodeKind::Link,
        &code_hash(&c),
        &PendingCode {
            person: person.to_string(),
            expires_at,
            issued_by: "person".into(),
        },
    )?;
    Ok((c, expires_at))
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
