//! Sharing the person's own uploads with one partner professional, under
//! the same kind of consent as institutions' documents (who, which
//! uploads or categories, procedure, end date, one-click revocation).
//!
//! An upload is sealed under its own key, wrapped by the person's data
//! key, which exists in clear only in the person's session. When they
//! share, their session unwraps each upload key and seals it to the
//! professional's public key ([`keys`], HPKE); the sealed keys are stored
//! with the consent and erased at revocation and at expiry
//! ([`sweep`]). The professional's private key is in clear only in their
//! session: at rest, the operator holds nothing that opens an upload.

pub mod keys;

use passerelle_hub_core::HubError;
use passerelle_protocol::{
    audit::{Action, Actor, Event},
    hex,
    ids::NodeId,
    seal::{self, Key},
    vault::{procedure_label, Category, Grantee},
    UnixTime,
};
use std::path::Path;

use crate::{
    consent::{MAX_ACTIVE, MAX_DAYS, MAX_SCOPE},
    error::{Refusal, VaultError},
    store::{ShareRecord, Upload, VaultStore},
};
pub use keys::ProSecret;

/// A share as the person filled the form.
#[derive(Debug, Clone)]
pub struct UploadGrant {
    /// The person.
    pub person: String,
    /// The professional, and in words.
    pub grantee: (Grantee, String),
    /// These uploads (ids)…
    pub uploads: Vec<String>,
    /// …and every upload of these categories.
    pub categories: Vec<Category>,
    /// What, in words.
    pub scope_label: String,
    /// Procedure code or the person's text.
    pub procedure: String,
    /// Until (excluded).
    pub until: UnixTime,
}

fn first_unique<T: PartialEq + Clone>(items: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for i in items {
        if !out.contains(i) {
            out.push(i.clone());
        }
    }
    out
}

/// Seals to the share's professional the key of every upload it covers
/// that it has no key for yet.
fn seal_covered(
    store: &VaultStore,
    data_key: &Key,
    share: &mut ShareRecord,
    uploads: &[Upload],
) -> Result<(), VaultError> {
    let Grantee::Professional { account, .. } = &share.grantee else {
        return Ok(());
    };
    let Some(pro) = store.pro_key(account)? else {
        return Ok(());
    };
    for u in uploads {
        if share.covers(u) && !share.keys.iter().any(|k| k.upload == u.id) {
            let key = seal::unwrap(data_key, u.id.as_bytes(), &u.wrapped_key).map_err(|e| {
                VaultError::Sealed {
                    upload: u.id.clone(),
                    why: format!("key does not unwrap: {e}"),
                }
            })?;
            let w = keys::seal_to(&pro.public, &share.id, &u.id, account, &key)?;
            share.keys.push(w);
        }
    }
    Ok(())
}

/// Gives a professional access to some of the person's uploads, until a
/// date: each covered upload's key is sealed to them. Logged.
///
/// # Errors
/// The consent's rules (end, scope, procedure, count in force), a grantee
/// that is not one professional or who never signed in since sharing
/// began (no key), or a store failure.
pub fn grant(
    store: &VaultStore,
    data_key: &Key,
    g: &UploadGrant,
    now: UnixTime,
) -> Result<ShareRecord, VaultError> {
    if g.until <= now {
        return Err(Refusal::ConsentEndsInPast.into());
    }
    if g.until > now + MAX_DAYS * 86400 {
        return Err(Refusal::ConsentTooLong { max_days: MAX_DAYS }.into());
    }
    if g.procedure.trim().is_empty() {
        return Err(Refusal::ConsentWithoutProcedure.into());
    }
    let Grantee::Professional { account, .. } = &g.grantee.0 else {
        return Err(Refusal::ShareNeedsProfessional.into());
    };
    if store.pro_key(account)?.is_none() {
        return Err(Refusal::GranteeWithoutKey.into());
    }
    let theirs = store.uploads(&g.person)?;
    let uploads: Vec<String> = first_unique(&g.uploads)
        .into_iter()
        .filter(|id| theirs.iter().any(|u| &u.id == id))
        .collect();
    let categories = first_unique(&g.categories);
    if uploads.is_empty() && categories.is_empty() {
        return Err(Refusal::ConsentWithoutScope.into());
    }
    if uploads.len() + categories.len() > MAX_SCOPE {
        return Err(Refusal::ScopeTooLarge { max: MAX_SCOPE }.into());
    }
    let _one_at_a_time = crate::consent::grants_lock();
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
    if active + 1 > MAX_ACTIVE {
        return Err(Refusal::TooManyConsents { max: MAX_ACTIVE }.into());
    }
    let mut share = ShareRecord {
        id: hex::encode(&passerelle_link::random16()),
        person: g.person.clone(),
        grantee: g.grantee.0.clone(),
        grantee_label: g.grantee.1.clone(),
        uploads,
        categories,
        scope_label: g.scope_label.clone(),
        procedure: g.procedure.trim().to_string(),
        issued_at: now,
        not_after: g.until,
        revoked_at: None,
        keys: Vec::new(),
    };
    seal_covered(store, data_key, &mut share, &theirs)?;
    store.put_share(&share)?;
    store.audit(
        now,
        Event {
            actor: Actor::Person,
            action: Action::ConsentGrant,
            person: Some(g.person.clone()),
            subject: share.id.clone(),
            procedure: Some(procedure_label(&share.procedure).to_string()),
            detail: format!("{} — {}", share.grantee_label, share.scope_label),
        },
    )?;
    Ok(share)
}

/// After an upload: the consents in force over its category get its key.
///
/// # Errors
/// On a store failure.
pub fn extend(
    store: &VaultStore,
    data_key: &Key,
    upload: &Upload,
    now: UnixTime,
) -> Result<(), VaultError> {
    for mut s in store.shares_of(&upload.person)? {
        if s.active(now) && s.covers(upload) {
            seal_covered(store, data_key, &mut s, std::slice::from_ref(upload))?;
            store.put_share(&s)?;
        }
    }
    Ok(())
}

/// An upload deleted: its sealed keys go from every share.
///
/// # Errors
/// On a store failure.
pub(crate) fn forget_upload(store: &VaultStore, upload: &Upload) -> Result<(), HubError> {
    for mut s in store.shares_of(&upload.person)? {
        if s.keys.iter().any(|k| k.upload == upload.id) || s.uploads.contains(&upload.id) {
            s.keys.retain(|k| k.upload != upload.id);
            s.uploads.retain(|u| u != &upload.id);
            store.put_share(&s)?;
        }
    }
    Ok(())
}

/// Revokes a share: its sealed keys are erased at once. Logged. Returns
/// it, revoked.
///
/// # Errors
/// `Refused` when it is not the person's; a store failure.
pub fn revoke(
    store: &VaultStore,
    person: &str,
    id: &str,
    now: UnixTime,
) -> Result<ShareRecord, VaultError> {
    let mut s = store
        .share(id)?
        .filter(|s| s.person == person)
        .ok_or(Refusal::UnknownConsent)?;
    if s.revoked_at.is_none() {
        s.revoked_at = Some(now);
        s.keys.clear();
        store.put_share(&s)?;
        store.audit(
            now,
            Event {
                actor: Actor::Person,
                action: Action::ConsentRevoke,
                person: Some(person.to_string()),
                subject: s.id.clone(),
                procedure: Some(procedure_label(&s.procedure).to_string()),
                detail: format!("{} — {}", s.grantee_label, s.scope_label),
            },
        )?;
    }
    Ok(s)
}

/// Erases the sealed keys of every share that ended (revoked or expired);
/// how many were erased. Access checks refuse an ended share anyway.
///
/// # Errors
/// On a store failure.
pub fn sweep(store: &VaultStore, now: UnixTime) -> Result<usize, VaultError> {
    let mut n = 0;
    for mut s in store.all_shares()? {
        if !s.active(now) && !s.keys.is_empty() {
            s.keys.clear();
            store.put_share(&s)?;
            n += 1;
        }
    }
    Ok(n)
}

/// Shares in force a professional may use, newest first.
///
/// # Errors
/// On a store failure.
pub fn granted_to(
    store: &VaultStore,
    institution: &NodeId,
    account: &str,
    now: UnixTime,
) -> Result<Vec<ShareRecord>, VaultError> {
    let mut v: Vec<ShareRecord> = store
        .all_shares()?
        .into_iter()
        .filter(|s| s.active(now) && s.grantee.covers(institution, account))
        .collect();
    v.sort_by_key(|s| std::cmp::Reverse(s.issued_at));
    Ok(v)
}

/// Why a professional cannot open a shared upload (its text is the code
/// the journal records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShareRefusal {
    /// No such share, revoked, ended, or given to someone else.
    #[error("no_share")]
    NoShare,
    /// The share does not cover that upload (or it was deleted).
    #[error("not_covered")]
    NotCovered,
    /// The sealed key does not open with this professional's key (their
    /// password was reset by the operator since).
    #[error("key_replaced")]
    KeyReplaced,
    /// The access could not be written in the audit chain.
    #[error("unrecorded")]
    Unrecorded,
}

/// The uploads a share lets its professional open now.
///
/// # Errors
/// On a store failure.
pub fn shared_uploads(store: &VaultStore, s: &ShareRecord) -> Result<Vec<Upload>, VaultError> {
    Ok(store
        .uploads(&s.person)?
        .into_iter()
        .filter(|u| s.covers(u) && s.keys.iter().any(|k| k.upload == u.id))
        .collect())
}

/// A professional opens an upload shared with them: checked, read with
/// the key sealed to them, and logged in the person's journal (refusals
/// too). An access that cannot be logged does not happen.
///
/// # Errors
/// Why not ([`ShareRefusal`]), or a store or disk failure.
pub fn open(
    vault: &Path,
    store: &VaultStore,
    secret: &ProSecret,
    institution: &NodeId,
    share_id: &str,
    upload_id: &str,
    now: UnixTime,
) -> Result<Result<(Upload, Vec<u8>), ShareRefusal>, VaultError> {
    let found = store.share(share_id)?;
    let checked = match &found {
        Some(s) if s.active(now) && s.grantee.covers(institution, secret.account()) => {
            match store.upload(&s.person, upload_id)?.filter(|u| s.covers(u)) {
                None => Err(ShareRefusal::NotCovered),
                Some(u) => match s.keys.iter().find(|k| k.upload == u.id) {
                    None => Err(ShareRefusal::NotCovered),
                    Some(w) => keys::open_from(secret, &s.id, w)
                        .map(|k| (u, k))
                        .ok_or(ShareRefusal::KeyReplaced),
                },
            }
        }
        _ => Err(ShareRefusal::NoShare),
    };
    let opened = match checked {
        Ok((u, key)) => {
            let bytes = crate::uploads::read_with(vault, &u, &key)?;
            Ok((u, bytes))
        }
        Err(r) => Err(r),
    };
    let event = Event {
        actor: Actor::Professional {
            account: secret.account().to_string(),
            institution: institution.to_string(),
        },
        action: if opened.is_ok() {
            Action::Download
        } else {
            Action::DownloadRefused
        },
        person: found.as_ref().map(|s| s.person.clone()),
        subject: format!("upload/{upload_id}"),
        procedure: found
            .as_ref()
            .map(|s| procedure_label(&s.procedure).to_string()),
        detail: match &opened {
            Ok((u, _)) => format!("{} — {}", u.category.label(), u.name),
            Err(r) => r.to_string(),
        },
    };
    if let Err(error) = store.audit(now, event) {
        tracing::error!(%error, "shared upload access not recorded");
        return Ok(Err(ShareRefusal::Unrecorded));
    }
    Ok(opened)
}

#[cfg(test)]
mod tests;
