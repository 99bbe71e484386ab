//! The person's rights over their vault: deleting the account, unlinking
//! one institution, how long the journal is kept afterwards, and inactive
//! accounts (warned, then deleted). Nodes are told to forget the person's
//! pseudonym with a signed `Query::Forget`; a node that is offline is told
//! when it is back (the pending list is kept in the store).
//!
//! What a deletion erases: the uploads (records and sealed files), the
//! consents (revoked first, then removed) and shares of uploads with their
//! sealed keys, the links to institutions, the codes waiting, the sign-in
//! providers attached and their devices, the account and its login. What it keeps: the hub's audit chain (it must still
//! verify; its records name a random id that nothing leads to any more),
//! the person's journal (the index of those records) for the configured
//! time, and the verifiable copies already issued (a copy handed to a
//! third party stays checkable; its record no longer names the person).

use std::{path::Path, time::Duration};

use passerelle_hub_core::{federation, registry::Live};
use passerelle_protocol::{
    audit::{Action, Actor, Event},
    envelope::Outcome,
    ids::NodeId,
    message::Query,
    sign::SigningKey,
    vault::Pseudonym,
    UnixTime,
};

use crate::{
    consent,
    error::{Refusal, VaultError},
    links::pseudonym,
    share,
    store::{Erased, VaultStore},
    uploads,
};

/// A day, in seconds.
const DAY: u64 = 86400;

/// How long things are kept (from the hub's `[vault]` settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Days a deleted account's journal is kept.
    pub journal_days: u64,
    /// Days without a sign-in after which an account is deleted (`None`:
    /// never).
    pub inactive_days: Option<u64>,
    /// Days between the warning and the deletion.
    pub warning_days: u64,
}

impl Retention {
    /// From the hub's `[vault]` settings.
    pub fn of(s: &passerelle_config::VaultSettings) -> Self {
        Self {
            journal_days: s.journal_retention_days,
            inactive_days: (s.inactive_account_days > 0).then_some(s.inactive_account_days),
            warning_days: s.inactive_warning_days,
        }
    }
}

/// What a deletion or an unlinking leaves the caller to do now: tell the
/// nodes (they are also told later, from the pending list).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ended {
    /// Consents revoked, by holding node.
    pub revoked: Vec<(NodeId, String)>,
    /// Nodes to tell to forget the person.
    pub forget: Vec<NodeId>,
}

/// Ends a link: the consents held by that node or given to it, and the
/// shares of uploads with its professionals, are revoked; the node is
/// queued to be told. The caller has logged the reason.
fn end_link(
    store: &VaultStore,
    person: &str,
    node: &NodeId,
    now: UnixTime,
    ended: &mut Ended,
) -> Result<(), VaultError> {
    for c in store.consents_of(person)? {
        let concerned = &c.consent.holder == node || c.consent.grantee.institution() == node;
        if concerned && c.revoked_at.is_none() {
            consent::revoke(store, person, &c.consent.id, now)?;
            ended.revoked.push((c.consent.holder.clone(), c.consent.id));
        }
    }
    for s in store.shares_of(person)? {
        if s.grantee.institution() == node && s.revoked_at.is_none() {
            share::revoke(store, person, &s.id, now)?;
        }
    }
    store.add_forget(node, &pseudonym(store, person, node)?, now)?;
    store.remove_link(person, node)?;
    ended.forget.push(node.clone());
    Ok(())
}

/// Unlinks one institution at the person's request. Logged.
///
/// # Errors
/// [`Refusal::NotLinked`] when the person is not linked to it; a store
/// failure.
pub fn unlink(
    store: &VaultStore,
    person: &str,
    node: &NodeId,
    now: UnixTime,
) -> Result<Ended, VaultError> {
    if !store.links(person)?.iter().any(|(n, _)| n == node) {
        return Err(Refusal::NotLinked.into());
    }
    store.audit(
        now,
        Event {
            actor: Actor::Person,
            action: Action::Unlink,
            person: Some(person.to_string()),
            subject: node.to_string(),
            procedure: None,
            detail: String::new(),
        },
    )?;
    let mut ended = Ended::default();
    end_link(store, person, node, now, &mut ended)?;
    Ok(ended)
}

/// Deletes an account: see the module's documentation for what goes and
/// what stays. The deletion is logged first (a deletion that cannot be
/// logged does not happen). The caller closes the person's sessions.
///
/// # Errors
/// On a store or disk failure (what was erased before stays erased; the
/// person may ask again).
pub fn delete_account(
    vault: &Path,
    store: &VaultStore,
    person: &str,
    by: Actor,
    retention: &Retention,
    now: UnixTime,
) -> Result<Ended, VaultError> {
    let Some(account) = store.person(person)? else {
        return Ok(Ended::default());
    };
    store.audit(
        now,
        Event {
            actor: by,
            action: Action::AccountDelete,
            person: Some(person.to_string()),
            subject: "-".into(),
            procedure: None,
            detail: format!("journal kept {} days", retention.journal_days),
        },
    )?;
    let mut ended = Ended::default();
    for (node, _) in store.links(person)? {
        end_link(store, person, &node, now, &mut ended)?;
    }
    for c in store.consents_of(person)? {
        if c.revoked_at.is_none() && c.consent.not_after > now {
            ended
                .revoked
                .push((c.consent.holder.clone(), c.consent.id.clone()));
        }
        store.remove_consent(person, &c.consent.id)?;
    }
    for s in store.shares_of(person)? {
        store.remove_share(&s.id)?;
    }
    for u in store.uploads(person)? {
        uploads::delete(vault, store, &u)?;
    }
    store.remove_codes_of(person)?;
    store.forget_duplicates_of(person)?;
    // Sign-in providers attached, and the devices they open the vault on.
    crate::oidc::detach_all(store.hub_store(), person)?;
    store.put_erased(
        person,
        &Erased {
            deleted_at: now,
            journal_until: now + retention.journal_days * DAY,
        },
    )?;
    store.remove_person(person, &account.login)?;
    tracing::info!("vault account deleted");
    Ok(ended)
}

/// The inactivity warning, once: the date the account was to be deleted
/// (a sign-in since has kept it). Shown after sign-in, then forgotten.
///
/// # Errors
/// On a store failure.
pub fn take_warning(
    store: &VaultStore,
    person: &str,
    retention: &Retention,
) -> Result<Option<UnixTime>, VaultError> {
    let Some(at) = store.warned(person)? else {
        return Ok(None);
    };
    store.clear_warned(person)?;
    Ok(Some(at + retention.warning_days * DAY))
}

/// Notes a sign-in: the inactivity clock starts again.
///
/// # Errors
/// On a store failure.
pub fn signed_in(store: &VaultStore, person: &str, now: UnixTime) -> Result<(), VaultError> {
    Ok(store.set_last_seen(person, now)?)
}

fn last_active(store: &VaultStore, person: &str) -> Result<UnixTime, VaultError> {
    Ok(match store.last_seen(person)? {
        Some(t) => t,
        None => store.person(person)?.map_or(0, |p| p.created_at),
    })
}

/// What a sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Swept {
    /// Shares whose sealed keys were erased (revoked or expired).
    pub keys_erased: usize,
    /// Journals of deleted accounts purged.
    pub journals_purged: usize,
    /// Accounts warned now: (person, login, deletion date), for a sender
    /// of notices; the warning is also shown after the next sign-in
    /// ([`take_warning`]), which keeps the account.
    pub warned: Vec<(String, String, UnixTime)>,
    /// Inactive accounts deleted, with what to tell the nodes.
    pub deleted: Vec<Ended>,
}

/// The rights' sweep (with the hub's debris sweep): erases ended shares'
/// keys, purges journals past their time, warns then deletes inactive
/// accounts. An account is deleted only `warning_days` after its warning.
///
/// # Errors
/// On a store or disk failure.
pub fn sweep(
    vault: &Path,
    store: &VaultStore,
    retention: &Retention,
    now: UnixTime,
) -> Result<Swept, VaultError> {
    let mut out = Swept {
        keys_erased: share::sweep(store, now)?,
        ..Swept::default()
    };
    for (person, e) in store.all_erased()? {
        if e.journal_until <= now {
            store.purge_journal(&person)?;
            out.journals_purged += 1;
        }
    }
    let Some(days) = retention.inactive_days else {
        return Ok(out);
    };
    let warn = retention.warning_days * DAY;
    for person in store.person_ids()? {
        let last = last_active(store, &person)?;
        let due = last + days * DAY;
        let mut warned = store.warned(&person)?;
        if warned.is_some_and(|at| at < last) {
            // Signed in since the warning: it no longer holds.
            store.clear_warned(&person)?;
            warned = None;
        }
        match warned {
            None if now + warn >= due => {
                store.set_warned(&person, now)?;
                let login = store.person(&person)?.map(|p| p.login).unwrap_or_default();
                // The deletion comes a full warning period after the warning.
                out.warned.push((person, login, due.max(now + warn)));
            }
            Some(at) if now >= due && now >= at + warn => {
                out.deleted.push(delete_account(
                    vault,
                    store,
                    &person,
                    Actor::Hub,
                    retention,
                    now,
                )?);
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Tells one node to forget the pseudonyms pending for it; how many are
/// still pending (those it did not acknowledge).
pub async fn tell_node(
    store: &VaultStore,
    key: &SigningKey,
    live: &Live,
    timeout: Duration,
) -> usize {
    let node = live.identity.node_id.clone();
    let pending: Vec<Pseudonym> = match store.forgets_for(&node) {
        Ok(p) => p,
        Err(error) => {
            tracing::warn!(%error, "pending forgets not read");
            return 0;
        }
    };
    let mut left = 0;
    for p in pending {
        let asked = federation::ask(live, key, Query::Forget { person: p.clone() }, timeout).await;
        match asked.map(|a| a.body.outcome) {
            Ok(Outcome::Answered(_)) => {
                if let Err(error) = store.forgot(&node, &p) {
                    tracing::warn!(%error, node = %node, "forget delivered but not noted");
                    left += 1;
                }
            }
            Ok(Outcome::Refused(r)) => {
                // A node older than this query cannot read it: it keeps
                // the link until it is upgraded, and is asked again.
                tracing::warn!(reason = %r, node = %node, "forget refused; kept to retry");
                left += 1;
            }
            Err(error) => {
                tracing::warn!(%error, node = %node, "forget not delivered; kept to retry");
                left += 1;
            }
        }
    }
    left
}

/// While a node is connected: tells it what is pending, every 2 s (or the
/// status interval, if shorter) so a node back online hears soon, and at
/// the status interval after a failure; ends when the connection closes.
pub async fn tell_node_while_connected(
    store: VaultStore,
    key: &SigningKey,
    live: Live,
    interval: Duration,
    timeout: Duration,
) {
    let soon = interval.min(Duration::from_secs(2));
    loop {
        // The node's version is known after its first status answer.
        let left = if live.protocol() >= 2 {
            tell_node(&store, key, &live, timeout).await
        } else {
            0
        };
        let pace = if left > 0 { interval } else { soon };
        tokio::select! {
            () = tokio::time::sleep(pace) => {}
            _ = live.conn.closed() => return,
        }
    }
}

#[cfg(test)]
#[path = "rights_tests.rs"]
mod tests;
