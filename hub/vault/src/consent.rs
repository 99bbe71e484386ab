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

use super::{
    links::pseudonym,
    store::{ConsentRecord, VaultStore},
};
use passerelle_hub_core::HubError;

/// The longest consent a person can give.
pub const MAX_DAYS: u64 = 366;

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

/// Signs and records a grant: one consent per holding node. Logged.
///
/// # Errors
/// A past or too distant end, an empty grant, or a store failure.
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
    let mut out = Vec::new();
    for (holder, scope, scope_label) in &g.scopes {
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
        .all_consents()?
        .into_iter()
        .filter(|c| {
            &c.consent.holder == node && c.revoked_at.is_some() && c.consent.not_after > now
        })
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
        .all_consents()?
        .into_iter()
        .filter(|c| c.active(now) && c.consent.grantee.covers(institution, account))
        .collect();
    v.sort_by_key(|c| std::cmp::Reverse(c.consent.issued_at));
    Ok(v)
}
