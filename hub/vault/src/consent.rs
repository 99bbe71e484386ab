//! Consents: the person grants, the hub signs one capability per holding
//! node, the person revokes in one click and the holding node hears of it.

use crate::error::{Refusal, VaultError};
use passerelle_protocol::{
    audit::{Action, Actor, Event},
    hex,
    ids::NodeId,
    sign::SigningKey,
    vault::{procedure_label, Consent, Grantee, Scope, SignedConsent},
    UnixTime,
};
use std::{collections::BTreeSet, sync::Mutex};

use super::{
    links::pseudonym,
    store::{ConsentRecord, VaultStore},
};
use passerelle_hub_core::HubError;

/// The longest consent a person can give.
pub const MAX_DAYS: u64 = 366;
/// Documents, or kinds of document, one consent may list (after repeats
/// are removed).
pub const MAX_SCOPE: usize = 50;
/// Longest document id a scope may name (ids are 32 hex digits).
pub const MAX_DOC_ID: usize = 128;
/// Consents in force a person may have at once.
pub const MAX_ACTIVE: usize = 30;

/// Held across counting a person's consents and recording new ones, so
/// that grants at once cannot overrun [`MAX_ACTIVE`] together (the hub is
/// one process; its store folder is locked to it).
static GRANTS: Mutex<()> = Mutex::new(());

/// Holds [`GRANTS`]: consents over uploads count against the same cap.
pub(crate) fn grants_lock() -> std::sync::MutexGuard<'static, ()> {
    GRANTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A list without repeats (first order kept), or `None` past `max`.
fn unique<T: Ord + Clone>(items: &[T], max: usize) -> Option<Vec<T>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for i in items {
        if seen.insert(i) {
            if out.len() == max {
                return None;
            }
            out.push(i.clone());
        }
    }
    Some(out)
}

/// A grant's scopes with repeats removed: one scope per holding node and
/// kind (documents, categories), each listing an item once; labels of
/// merged scopes joined.
///
/// # Errors
/// An empty scope, or one over [`MAX_SCOPE`] (or naming an overlong
/// document id).
pub fn normalise(
    scopes: &[(NodeId, Scope, String)],
) -> Result<Vec<(NodeId, Scope, String)>, Refusal> {
    let too_large = Refusal::ScopeTooLarge { max: MAX_SCOPE };
    let mut merged: Vec<(NodeId, Scope, String)> = Vec::new();
    for (node, scope, label) in scopes {
        let same = merged.iter_mut().find(|(n, s, _)| {
            n == node && std::mem::discriminant(s) == std::mem::discriminant(scope)
        });
        let Some((_, into, into_label)) = same else {
            if merged.len() == MAX_SCOPE {
                return Err(too_large);
            }
            merged.push((node.clone(), scope.clone(), label.clone()));
            continue;
        };
        match (into, scope) {
            (Scope::Documents(a), Scope::Documents(b)) => a.extend(b.iter().cloned()),
            (Scope::Categories(a), Scope::Categories(b)) => a.extend(b.iter().copied()),
            _ => {}
        }
        if !into_label.split(" ; ").any(|l| l == label) {
            into_label.push_str(" ; ");
            into_label.push_str(label);
        }
    }
    merged
        .into_iter()
        .map(|(node, scope, label)| {
            let scope = match scope {
                Scope::Documents(d) => {
                    if d.iter().any(|id| id.len() > MAX_DOC_ID) {
                        return Err(too_large.clone());
                    }
                    Scope::Documents(unique(&d, MAX_SCOPE).ok_or(too_large.clone())?)
                }
                Scope::Categories(c) => {
                    Scope::Categories(unique(&c, MAX_SCOPE).ok_or(too_large.clone())?)
                }
            };
            let empty = match &scope {
                Scope::Documents(d) => d.is_empty(),
                Scope::Categories(c) => c.is_empty(),
            };
            if empty {
                return Err(Refusal::ConsentWithoutScope);
            }
            Ok((node, scope, label))
        })
        .collect()
}

/// One grant as the person filled the form.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The person.
    pub person: String,
    /// Who may see, and in words.
    pub grantee: (Grantee, String),
    /// Per holding node: what it covers, and in words.
    pub scopes: Vec<(NodeId, Scope, String)>,
    /// Procedure code or the person's text.
    pub procedure: String,
    /// Until (excluded).
    pub until: UnixTime,
}

/// Signs and records a grant: one consent per holding node and kind of
/// scope, repeats removed ([`normalise`]). Logged.
///
/// # Errors
/// A past or too distant end, an empty or too large grant, more consents
/// in force than [`MAX_ACTIVE`], or a store failure.
pub fn grant(
    store: &VaultStore,
    key: &SigningKey,
    g: &Grant,
    now: UnixTime,
) -> Result<Vec<ConsentRecord>, VaultError> {
    if g.until <= now {
        return Err(Refusal::ConsentEndsInPast.into());
    }
    if g.until > now + MAX_DAYS * 86400 {
        return Err(Refusal::ConsentTooLong { max_days: MAX_DAYS }.into());
    }
    if g.scopes.is_empty() {
        return Err(Refusal::ConsentWithoutScope.into());
    }
    if g.procedure.trim().is_empty() {
        return Err(Refusal::ConsentWithoutProcedure.into());
    }
    let scopes = normalise(&g.scopes)?;
    let _one_at_a_time = grants_lock();
    let active = store
        .consents_of(&g.person)?
        .iter()
        .filter(|c| c.active(now))
        .count()
        + store
            .shares_of(&g.person)?
            .iter()
            .filter(|s| s.active(now))
            .count();
    if active + scopes.len() > MAX_ACTIVE {
        return Err(Refusal::TooManyConsents { max: MAX_ACTIVE }.into());
    }
    let mut out = Vec::new();
    for (holder, scope, scope_label) in &scopes {
        let consent = Consent {
            id: hex::encode(&passerelle_link::random16()),
            holder: holder.clone(),
            person: pseudonym(store, &g.person, holder)?,
            grantee: g.grantee.0.clone(),
            scope: scope.clone(),
            procedure: g.procedure.trim().to_string(),
            issued_at: now,
            not_before: now,
            not_after: g.until,
        };
        let record = ConsentRecord {
            person: g.person.clone(),
            signed: SignedConsent::sign(&consent, key)?,
            grantee_label: g.grantee.1.clone(),
            scope_label: scope_label.clone(),
            consent,
            revoked_at: None,
        };
        store.put_consent(&record)?;
        store.audit(
            now,
            Event {
                actor: Actor::Person,
                action: Action::ConsentGrant,
                person: Some(g.person.clone()),
                subject: record.consent.id.clone(),
                procedure: Some(procedure_label(&record.consent.procedure).to_string()),
                detail: format!("{} — {}", record.grantee_label, record.scope_label),
            },
        )?;
        out.push(record);
    }
    Ok(out)
}

/// Revokes a person's consent. Logged. Returns it, revoked.
///
/// # Errors
/// `Refused` when the consent is not the person's; a store failure.
pub fn revoke(
    store: &VaultStore,
    person: &str,
    id: &str,
    now: UnixTime,
) -> Result<ConsentRecord, VaultError> {
    let mut c = store
        .consent(id)?
        .filter(|c| c.person == person)
        .ok_or(Refusal::UnknownConsent)?;
    if c.revoked_at.is_none() {
        c.revoked_at = Some(now);
        store.put_consent(&c)?;
        store.audit(
            now,
            Event {
                actor: Actor::Person,
                action: Action::ConsentRevoke,
                person: Some(person.to_string()),
                subject: c.consent.id.clone(),
                procedure: Some(procedure_label(&c.consent.procedure).to_string()),
                detail: format!("{} — {}", c.grantee_label, c.scope_label),
            },
        )?;
    }
    Ok(c)
}

/// Revoked consents a node holds documents for that have not expired yet:
/// what the hub tells the node at each status poll.
///
/// # Errors
/// On a store failure.
pub fn revoked_for(
    store: &VaultStore,
    node: &NodeId,
    now: UnixTime,
) -> Result<Vec<String>, HubError> {
    Ok(store
        .revoked_held_by(node, now)?
        .into_iter()
        .map(|c| c.consent.id)
        .collect())
}

/// Active consents a professional may use.
///
/// # Errors
/// On a store failure.
pub fn granted_to(
    store: &VaultStore,
    institution: &NodeId,
    account: &str,
    now: UnixTime,
) -> Result<Vec<ConsentRecord>, HubError> {
    let mut v: Vec<ConsentRecord> = store
        .consents_given_to(institution, now)?
        .into_iter()
        .filter(|c| c.active(now) && c.consent.grantee.covers(institution, account))
        .collect();
    v.sort_by_key(|c| std::cmp::Reverse(c.consent.issued_at));
    Ok(v)
}

/// The consents not ended nor revoked that a person gave `node`'s
/// institution (or one of its professionals), the person found by their
/// pseudonym at `node` among the persons linked to it: what the node's
/// counter shows. Nobody found, nothing given.
///
/// # Errors
/// On a store failure.
pub fn given_to_node(
    store: &VaultStore,
    node: &NodeId,
    person: &passerelle_protocol::vault::Pseudonym,
    now: UnixTime,
) -> Result<Vec<ConsentRecord>, HubError> {
    let mut found = None;
    for p in store.persons_linked_to(node)? {
        if &pseudonym(store, &p, node)? == person {
            found = Some(p);
            break;
        }
    }
    let Some(person) = found else {
        return Ok(Vec::new());
    };
    let mut v: Vec<ConsentRecord> = store
        .consents_of(&person)?
        .into_iter()
        .filter(|c| {
            c.consent.grantee.institution() == node
                && c.revoked_at.is_none()
                && c.consent.not_after > now
        })
        .collect();
    v.sort_by_key(|c| c.consent.not_after);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use passerelle_protocol::vault::Category;

    fn node(n: &str) -> NodeId {
        NodeId::new(n).unwrap()
    }

    fn docs(ids: &[&str]) -> Scope {
        Scope::Documents(ids.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn scopes_lose_their_repeats_and_are_capped() {
        let caf = node("caf-976");
        let n = normalise(&[
            (caf.clone(), docs(&["a", "b", "a"]), "CAF".into()),
            (
                caf.clone(),
                Scope::Categories(vec![Category::Housing, Category::Housing]),
                "Logement".into(),
            ),
            (caf.clone(), docs(&["b", "c"]), "CAF".into()),
        ])
        .unwrap();
        assert_eq!(
            n,
            vec![
                (caf.clone(), docs(&["a", "b", "c"]), "CAF".to_string()),
                (
                    caf.clone(),
                    Scope::Categories(vec![Category::Housing]),
                    "Logement".to_string()
                ),
            ]
        );
        let ids: Vec<String> = (0..MAX_SCOPE).map(|i| format!("{i:032x}")).collect();
        let at_max = Scope::Documents(ids.clone());
        // Repeats do not count against the cap.
        let doubled = Scope::Documents([ids.clone(), ids.clone()].concat());
        assert_eq!(
            normalise(&[(caf.clone(), doubled, "x".into())]).unwrap()[0].1,
            at_max
        );
        let over = Scope::Documents([ids, vec!["one-more".into()]].concat());
        assert_eq!(
            normalise(&[(caf.clone(), over, "x".into())]),
            Err(Refusal::ScopeTooLarge { max: MAX_SCOPE })
        );
        let long = docs(&[&"x".repeat(MAX_DOC_ID + 1)]);
        assert!(normalise(&[(caf.clone(), long, "x".into())]).is_err());
        assert_eq!(
            normalise(&[(caf, docs(&[]), "x".into())]),
            Err(Refusal::ConsentWithoutScope)
        );
    }

    #[test]
    fn consents_in_force_are_capped_per_person() {
        let dir = tempfile::tempdir().unwrap();
        let store = VaultStore::new(
            passerelle_hub_core::store::Store::open(&dir.path().join("store")).unwrap(),
        );
        let pkcs8 =
            ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
                .unwrap();
        let key = SigningKey::from_pkcs8(pkcs8.as_ref()).unwrap();
        let grant_at = |person: &str, n: usize, until: UnixTime| Grant {
            person: person.into(),
            grantee: (Grantee::Institution(node("cd-976")), "CD".into()),
            scopes: (0..n)
                .map(|i| (node(&format!("n-{i}")), docs(&["d"]), "d".into()))
                .collect(),
            procedure: "rsa".into(),
            until,
        };
        let now = 1000;
        // Some that end soon, which stop counting once they have.
        assert_eq!(
            grant(&store, &key, &grant_at("p", 5, now + 10), now)
                .unwrap()
                .len(),
            5
        );
        assert_eq!(
            grant(
                &store,
                &key,
                &grant_at("p", MAX_ACTIVE - 5, now + 86400),
                now
            )
            .unwrap()
            .len(),
            MAX_ACTIVE - 5
        );
        assert!(matches!(
            grant(&store, &key, &grant_at("p", 1, now + 86400), now),
            Err(VaultError::Refused(Refusal::TooManyConsents {
                max: MAX_ACTIVE
            }))
        ));
        // Another person is not affected.
        assert!(grant(&store, &key, &grant_at("q", 1, now + 86400), now).is_ok());
        // A grant of several counts whole: refused, none recorded.
        let later = now + 20;
        assert!(matches!(
            grant(&store, &key, &grant_at("p", 6, now + 86400), later),
            Err(VaultError::Refused(Refusal::TooManyConsents { .. }))
        ));
        assert_eq!(store.consents_of("p").unwrap().len(), MAX_ACTIVE);
        assert_eq!(
            grant(&store, &key, &grant_at("p", 5, now + 86400), later)
                .unwrap()
                .len(),
            5
        );
        // Revoking one makes room for one.
        let one = store.consents_of("p").unwrap()[0].consent.id.clone();
        revoke(&store, "p", &one, later).unwrap();
        assert!(grant(&store, &key, &grant_at("p", 1, now + 86400), later).is_ok());
        assert!(grant(&store, &key, &grant_at("p", 1, now + 86400), later).is_err());
    }

    #[test]
    fn a_consent_until_a_day_lasts_to_the_end_of_that_day_in_mayotte() {
        use passerelle_protocol::vault::{check_consent, AccessRefusal};
        let dir = tempfile::tempdir().unwrap();
        let store = VaultStore::new(
            passerelle_hub_core::store::Store::open(&dir.path().join("store")).unwrap(),
        );
        let pkcs8 =
            ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
                .unwrap();
        let key = SigningKey::from_pkcs8(pkcs8.as_ref()).unwrap();
        // "Until 2026-12-05", as the person typed it: the end of that day
        // in Mayotte, midnight local time, 21:00 UTC.
        let until = passerelle_hub_core::french::end_of_day("2026-12-05").unwrap();
        let last_minute = 1_796_504_340; // 2026-12-05T20:59:00Z, 23:59 in Mayotte
        let end = 1_796_504_400; // 2026-12-05T21:00:00Z, 00:00 on the 6th in Mayotte
        assert_eq!(until, end);
        let now = end - 4 * 86_400;
        let g = Grant {
            person: "p".into(),
            grantee: (Grantee::Institution(node("cd-976")), "CD".into()),
            scopes: vec![(node("caf-976"), docs(&["d"]), "d".into())],
            procedure: "rsa".into(),
            until,
        };
        let record = grant(&store, &key, &g, now).unwrap().remove(0);
        assert_eq!(record.consent.not_after, end);
        // The hub's view.
        assert!(record.active(last_minute));
        assert!(record.active(end - 1));
        assert!(!record.active(end));
        // The node's check of the signed capability says the same.
        let at = |t| {
            check_consent(
                &record.signed,
                &key.public(),
                &node("caf-976"),
                &record.consent.person,
                &node("cd-976"),
                "agent@cd.fr",
                None,
                t,
                &|_| false,
            )
        };
        assert!(at(last_minute).is_ok());
        assert!(at(end - 1).is_ok());
        assert!(matches!(at(end), Err(AccessRefusal::Expired)));
        assert!(matches!(at(end + 60), Err(AccessRefusal::Expired)));
    }

    #[test]
    fn consents_are_read_through_indexes_by_holder_and_grantee_built_once() {
        use passerelle_hub_core::store::keyspace::VaultSpace;
        let dir = tempfile::tempdir().unwrap();
        let raw = passerelle_hub_core::store::Store::open(&dir.path().join("store")).unwrap();
        let store = VaultStore::new(raw.clone());
        let ks =
            |space| raw.keyspace::<UnixTime, passerelle_hub_core::store::keyspace::Bincode>(space);
        let (index, grantees) = (
            ks(VaultSpace::RevokedByHolder),
            ks(VaultSpace::ConsentsByGrantee),
        );
        let pkcs8 =
            ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
                .unwrap();
        let key = SigningKey::from_pkcs8(pkcs8.as_ref()).unwrap();
        let now = 1000;
        let one = |person: &str, holder: &str, until: UnixTime| {
            let g = Grant {
                person: person.into(),
                grantee: (Grantee::Institution(node("cd-976")), "CD".into()),
                scopes: vec![(node(holder), docs(&["d"]), "d".into())],
                procedure: "rsa".into(),
                until,
            };
            grant(&store, &key, &g, now).unwrap().remove(0).consent.id
        };
        let (cd, pro) = (node("cd-976"), "ana@cd976.fr");
        let listed = |at| -> Vec<String> {
            let mut v: Vec<String> = granted_to(&store, &cd, pro, at)
                .unwrap()
                .into_iter()
                .map(|c| c.consent.id)
                .collect();
            v.sort();
            v
        };
        // Nothing granted nor revoked yet, and the indexes are marked
        // built from here on: what follows reads only entries written by
        // granting and revoking.
        assert!(listed(now).is_empty());
        let (caf, cssm) = (node("caf-976"), node("cssm-976"));
        assert!(revoked_for(&store, &caf, now).unwrap().is_empty());
        let a = one("p", "caf-976", now + 86400);
        let ends_soon = one("q", "caf-976", now + 100);
        let kept = one("p", "caf-976", now + 86400);
        let b = one("q", "cssm-976", now + 86400);
        assert!(revoked_for(&store, &caf, now).unwrap().is_empty());
        // Given to another institution: not the CD's.
        grant(
            &store,
            &key,
            &Grant {
                person: "p".into(),
                grantee: (Grantee::Institution(node("ml-976")), "ML".into()),
                scopes: vec![(caf.clone(), docs(&["d"]), "d".into())],
                procedure: "rsa".into(),
                until: now + 86400,
            },
            now,
        )
        .unwrap();
        let mut all = vec![a.clone(), ends_soon.clone(), kept.clone(), b.clone()];
        all.sort();
        assert_eq!(listed(now + 1), all);
        for (person, id) in [("p", &a), ("q", &ends_soon), ("q", &b)] {
            revoke(&store, person, id, now + 1).unwrap();
        }
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        let mut want = vec![a.clone(), ends_soon.clone()];
        want.sort();
        assert_eq!(sorted(revoked_for(&store, &caf, now + 2).unwrap()), want);
        assert_eq!(
            revoked_for(&store, &cssm, now + 2).unwrap(),
            vec![b.clone()]
        );
        assert!(!revoked_for(&store, &caf, now + 2).unwrap().contains(&kept));
        // The CD's professionals see only the consent still in force.
        assert_eq!(listed(now + 2), vec![kept.clone()]);
        // Once a revoked consent has ended, the node is not told of it any
        // more and its entry is gone.
        assert_eq!(
            revoked_for(&store, &caf, now + 100).unwrap(),
            vec![a.clone()]
        );
        assert!(index
            .get(&crate::store::pair("caf-976", &ends_soon))
            .unwrap()
            .is_none());
        // A vault written before the index (no entry, no mark): indexed at
        // the first poll, with the same answer.
        for ks in [&index, &grantees] {
            let entries: Vec<Vec<u8>> = ks
                .iter()
                .unwrap()
                .map(|e| e.unwrap().key().to_vec())
                .collect();
            assert!(entries.len() >= 2, "consents were indexed: {entries:?}");
            for k in entries {
                ks.remove(&k).unwrap();
            }
        }
        assert_eq!(
            revoked_for(&store, &caf, now + 100).unwrap(),
            vec![a.clone()]
        );
        assert_eq!(revoked_for(&store, &cssm, now + 100).unwrap(), vec![b]);
        assert_eq!(listed(now + 100), vec![kept.clone()]);
        // A consent forgotten leaves no entry behind.
        store.remove_consent("p", &a).unwrap();
        assert!(index
            .get(&crate::store::pair("caf-976", &a))
            .unwrap()
            .is_none());
        assert!(revoked_for(&store, &caf, now + 100).unwrap().is_empty());
    }
}
