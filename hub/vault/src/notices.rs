//! Notices to the persons who asked for them, each sent once: a document
//! an institution deposited, a document a professional opened under the
//! person's consent, a consent ending soon. Never a document's name nor
//! content: only that something happened, and which institution.
//!
//! Two steps, both run by the hub's notice task:
//! - **collect** queues notices in the store's outbox, under an id that
//!   names what they are about (`audit:<seq>`, `ending:<consent>`), so a
//!   notice is queued once whatever happens next. Deposits and views are
//!   read from the vault's own audit chain (a deposit is recorded there
//!   first, by [`record_deposits`], when a node reports it), after a
//!   cursor kept in the store.
//! - **deliver** sends what waits, through [`Senders`]; a failure is
//!   counted and retried at the next round, up to [`MAX_TRIES`], then
//!   given up and logged.
//!
//! The words are the portal's ([`Words`]): this crate writes no French.

use passerelle_protocol::{
    audit::{Action, Actor, Event},
    ids::NodeId,
    message::Deposit,
    UnixTime,
};

use crate::{
    error::VaultError,
    links,
    notify::{Delivery, Identifier, Message, Senders},
    store::{Notice, Outgoing, VaultStore},
};

/// Tries to send one notice before it is given up.
pub const MAX_TRIES: u32 = 5;
/// Audit records read at most in one round.
pub const CHAIN_BATCH: usize = 2_000;
/// Notices sent at most in one round.
pub const SEND_BATCH: usize = 200;
/// How long a notice is remembered once done: past the longest consent
/// (a year), so a consent's end is never told twice.
pub const KEEP: u64 = 400 * 86_400;

/// The words of each notice.
pub trait Words: Send + Sync {
    /// The message telling `notice`.
    fn notice(&self, notice: &Notice) -> Message;
}

const CHAIN: &str = "audit";
/// The cursor holding when notices began on this hub.
const STARTED: &str = "started";

/// Marks where notices begin, once per hub: the journal's end and the
/// time. Nothing recorded before is told (a hub upgraded with a long
/// journal, or persons linked long ago). Call it before the first round.
///
/// # Errors
/// On a store failure.
pub fn begin(store: &VaultStore, now: UnixTime) -> Result<(), VaultError> {
    if store.notice_cursor(CHAIN)?.is_none() {
        store.put_notice_cursor(CHAIN, store.audit_end()?)?;
    }
    if store.notice_cursor(STARTED)?.is_none() {
        store.put_notice_cursor(STARTED, now)?;
    }
    Ok(())
}

/// Where to start asking a node for deposits the first time: its first
/// link, or when notices began here if later.
///
/// # Errors
/// On a store failure.
pub fn first_deposit_question(
    store: &VaultStore,
    first_link: UnixTime,
) -> Result<UnixTime, VaultError> {
    let started = store.notice_cursor(STARTED)?.unwrap_or(0);
    Ok(first_link.max(started).saturating_sub(1))
}

/// Records in the person's journal (and so for their notice) the
/// documents a node reports deposited for linked persons; how many
/// persons were found. Pseudonyms no person of the hub has at that node
/// are left out.
///
/// # Errors
/// On a store failure.
pub fn record_deposits(
    store: &VaultStore,
    node: &NodeId,
    name: &str,
    deposits: &[Deposit],
    now: UnixTime,
) -> Result<usize, VaultError> {
    if deposits.is_empty() {
        return Ok(0);
    }
    let mut found = 0;
    let persons = store.persons_linked_to(node)?;
    for d in deposits {
        let Some(person) = persons
            .iter()
            .find(|p| links::pseudonym(store, p, node).is_ok_and(|ps| ps == d.person))
        else {
            continue;
        };
        store.audit(
            now,
            Event {
                actor: Actor::Node(node.to_string()),
                action: Action::DocumentAdd,
                person: Some(person.clone()),
                subject: node.to_string(),
                procedure: None,
                detail: format!("{name}: {} document(s)", d.count),
            },
        )?;
        found += 1;
    }
    Ok(found)
}

/// Queues the notices the chain's new records call for; how many.
/// The first round starts at the chain's end (nothing from before the
/// feature is told).
///
/// # Errors
/// On a store failure.
pub fn collect_from_chain(
    store: &VaultStore,
    name_of: &dyn Fn(&str) -> String,
    now: UnixTime,
) -> Result<usize, VaultError> {
    let from = match store.notice_cursor(CHAIN)? {
        Some(c) => c,
        None => {
            let end = store.audit_end()?;
            store.put_notice_cursor(CHAIN, end)?;
            end
        }
    };
    let records = store.audit_since(from, CHAIN_BATCH)?;
    let mut queued = 0;
    let mut next = from;
    for r in &records {
        next = r.seq + 1;
        let Some(person) = &r.event.person else {
            continue;
        };
        let notice = match (&r.event.actor, &r.event.action) {
            (Actor::Professional { institution, .. }, Action::Download) => Notice::Viewed {
                institution: name_of(institution),
            },
            (Actor::Node(node), Action::DocumentAdd) => Notice::Deposited {
                institution: name_of(node),
                count: r
                    .event
                    .detail
                    .rsplit_once(": ")
                    .and_then(|(_, n)| n.split(' ').next()?.parse().ok())
                    .unwrap_or(1),
            },
            _ => continue,
        };
        if !store.preferences(person)?.notices {
            continue;
        }
        let o = Outgoing {
            person: person.clone(),
            notice,
            queued_at: now,
            attempts: 0,
            done_at: None,
            gave_up: false,
        };
        queued += usize::from(store.queue_notice(&format!("audit:{}", r.seq), &o)?);
    }
    if next != from {
        store.put_notice_cursor(CHAIN, next)?;
    }
    Ok(queued)
}

/// Queues a notice for each consent in force that ends within `warning`
/// seconds, once per consent; how many.
///
/// # Errors
/// On a store failure.
pub fn collect_consents_ending(
    store: &VaultStore,
    warning: u64,
    now: UnixTime,
) -> Result<usize, VaultError> {
    let mut queued = 0;
    for c in store.all_consents()? {
        if !c.active(now) || c.consent.not_after > now.saturating_add(warning) {
            continue;
        }
        if !store.preferences(&c.person)?.notices {
            continue;
        }
        let o = Outgoing {
            person: c.person.clone(),
            notice: Notice::ConsentEnding {
                grantee: c.grantee_label.clone(),
                ends_at: c.consent.not_after,
            },
            queued_at: now,
            attempts: 0,
            done_at: None,
            gave_up: false,
        };
        queued += usize::from(store.queue_notice(&format!("ending:{}", c.consent.id), &o)?);
    }
    Ok(queued)
}

/// Queues the warning of each inactive account the sweep warned (once
/// per account and deletion date); returns how many were new.
///
/// # Errors
/// On a store failure.
pub fn queue_inactivity_warnings(
    store: &VaultStore,
    warned: &[(String, String, UnixTime)],
    now: UnixTime,
) -> Result<usize, VaultError> {
    let mut queued = 0;
    for (person, _, due) in warned {
        let o = Outgoing {
            person: person.clone(),
            notice: Notice::AccountInactive { deleted_on: *due },
            queued_at: now,
            attempts: 0,
            done_at: None,
            gave_up: false,
        };
        if store.queue_notice(&format!("inactive:{person}:{due}"), &o)? {
            queued += 1;
        }
    }
    Ok(queued)
}

/// Sends the notices waiting, at most [`SEND_BATCH`]; how many were
/// sent. A person who turned notices off since is not told (except of an
/// account deletion to come); one whose account is gone neither.
///
/// # Errors
/// On a store failure.
pub async fn deliver(
    store: &VaultStore,
    senders: &Senders,
    words: &dyn Words,
    now: UnixTime,
) -> Result<usize, VaultError> {
    let mut sent = 0;
    for (id, mut o) in store.waiting_notices(SEND_BATCH)? {
        let account = store.person(&o.person)?;
        let wanted = matches!(o.notice, Notice::AccountInactive { .. })
            || store.preferences(&o.person)?.notices;
        let Some(account) = account.filter(|_| wanted) else {
            o.done_at = Some(now);
            o.gave_up = true;
            store.put_notice(&id, &o)?;
            continue;
        };
        let to = Identifier::of_login(&account.login);
        let message = words.notice(&o.notice);
        match senders.send(&to, &message).await {
            Ok(Delivery::Sent | Delivery::Shown(_)) => {
                o.done_at = Some(now);
                sent += 1;
            }
            Err(error) => {
                o.attempts += 1;
                if o.attempts >= MAX_TRIES {
                    tracing::error!(%error, notice = %id, tries = o.attempts, "notice given up");
                    o.done_at = Some(now);
                    o.gave_up = true;
                } else {
                    tracing::warn!(%error, notice = %id, tries = o.attempts, "notice not sent; retried next round");
                }
            }
        }
        store.put_notice(&id, &o)?;
    }
    store.prune_notices(now.saturating_sub(KEEP))?;
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use std::sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    };

    use super::*;
    use crate::{
        notify::{SendError, Sender, Sending},
        store::Preferences,
    };

    /// A sender that fails while `fail` is set, and counts what it sent.
    #[derive(Default)]
    struct Flaky {
        fail: AtomicBool,
        sent: AtomicUsize,
    }

    impl Sender for Flaky {
        fn describe(&self) -> String {
            "test".into()
        }
        fn send<'a>(&'a self, _to: &'a Identifier, _m: &'a Message) -> Sending<'a> {
            Box::pin(async move {
                if self.fail.load(Ordering::SeqCst) {
                    return Err(SendError::Smtp("relay down".into()));
                }
                self.sent.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
        }
    }

    struct Plain;
    impl Words for Plain {
        fn notice(&self, n: &Notice) -> Message {
            Message {
                subject: "s".into(),
                text: format!("{n:?}"),
            }
        }
    }

    fn store() -> (tempfile::TempDir, VaultStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = passerelle_hub_core::store::Store::open(&dir.path().join("store")).unwrap();
        (dir, VaultStore::new(s))
    }

    #[tokio::test]
    async fn a_notice_is_sent_once_and_failures_are_retried_a_bounded_number_of_times() {
        let (_d, s) = store();
        let a = crate::accounts::create(&s, "a@b.fr", "mot de passe", None, 1).unwrap();
        let person = a.account.id;
        s.put_preferences(
            &person,
            &Preferences {
                notices: true,
                new_device_code: false,
            },
        )
        .unwrap();
        let flaky = Arc::new(Flaky::default());
        let senders = Senders::new(Some(flaky.clone()), None, false);
        let notice = |n: u32| Outgoing {
            person: person.clone(),
            notice: Notice::Deposited {
                institution: "CAF".into(),
                count: n,
            },
            queued_at: 10,
            attempts: 0,
            done_at: None,
            gave_up: false,
        };
        assert!(s.queue_notice("audit:1", &notice(1)).unwrap());
        // Queued once under its id, whatever comes after.
        assert!(!s.queue_notice("audit:1", &notice(2)).unwrap());
        assert_eq!(deliver(&s, &senders, &Plain, 20).await.unwrap(), 1);
        assert_eq!(deliver(&s, &senders, &Plain, 21).await.unwrap(), 0);
        assert_eq!(flaky.sent.load(Ordering::SeqCst), 1);

        // A failing relay: retried at each round, given up after MAX_TRIES.
        flaky.fail.store(true, Ordering::SeqCst);
        assert!(s.queue_notice("audit:2", &notice(1)).unwrap());
        for round in 1..=MAX_TRIES {
            assert_eq!(deliver(&s, &senders, &Plain, 30).await.unwrap(), 0);
            let (_, o) = s
                .notices()
                .unwrap()
                .into_iter()
                .find(|(id, _)| id == "audit:2")
                .unwrap();
            assert_eq!(o.attempts, round);
            assert_eq!(o.gave_up, round == MAX_TRIES);
        }
        flaky.fail.store(false, Ordering::SeqCst);
        assert_eq!(deliver(&s, &senders, &Plain, 40).await.unwrap(), 0);
        assert_eq!(flaky.sent.load(Ordering::SeqCst), 1);

        // A person who turned notices off is not told what waited.
        assert!(s.queue_notice("audit:3", &notice(1)).unwrap());
        s.put_preferences(&person, &Preferences::default()).unwrap();
        assert_eq!(deliver(&s, &senders, &Plain, 50).await.unwrap(), 0);
        assert_eq!(flaky.sent.load(Ordering::SeqCst), 1);
        assert!(s.waiting_notices(10).unwrap().is_empty());
    }

    #[tokio::test]
    async fn an_inactivity_warning_is_sent_once_even_to_who_turned_notices_off() {
        let (_d, s) = store();
        let a = crate::accounts::create(&s, "a@b.fr", "mot de passe", None, 1).unwrap();
        let person = a.account.id;
        // Notices off (the default).
        let flaky = Arc::new(Flaky::default());
        let senders = Senders::new(Some(flaky.clone()), None, false);
        let warned = vec![(person.clone(), "a@b.fr".to_string(), 5_000)];
        assert_eq!(queue_inactivity_warnings(&s, &warned, 10).unwrap(), 1);
        assert_eq!(queue_inactivity_warnings(&s, &warned, 11).unwrap(), 0);
        assert_eq!(deliver(&s, &senders, &Plain, 20).await.unwrap(), 1);
        assert_eq!(deliver(&s, &senders, &Plain, 21).await.unwrap(), 0);
        assert_eq!(flaky.sent.load(Ordering::SeqCst), 1);
        // Other notices still follow the person's choice.
        let deposit = Outgoing {
            person: person.clone(),
            notice: Notice::Deposited {
                institution: "CAF".into(),
                count: 1,
            },
            queued_at: 30,
            attempts: 0,
            done_at: None,
            gave_up: false,
        };
        assert!(s.queue_notice("audit:9", &deposit).unwrap());
        assert_eq!(deliver(&s, &senders, &Plain, 40).await.unwrap(), 0);
        assert_eq!(flaky.sent.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn views_and_deposits_in_the_chain_are_queued_for_who_asked_from_the_first_round_on() {
        let (_d, s) = store();
        let a = crate::accounts::create(&s, "a@b.fr", "mot de passe", None, 1).unwrap();
        let b = crate::accounts::create(&s, "c@d.fr", "mot de passe", None, 1).unwrap();
        let (pa, pb) = (a.account.id, b.account.id);
        s.put_preferences(
            &pa,
            &Preferences {
                notices: true,
                new_device_code: false,
            },
        )
        .unwrap();
        let view = |person: &str| Event {
            actor: Actor::Professional {
                account: "ana@cd.fr".into(),
                institution: "cd-976".into(),
            },
            action: Action::Download,
            person: Some(person.to_string()),
            subject: "cd-976/d1".into(),
            procedure: None,
            detail: String::new(),
        };
        // Before the first round: never told.
        s.audit(5, view(&pa)).unwrap();
        let names = |id: &str| format!("name of {id}");
        assert_eq!(collect_from_chain(&s, &names, 10).unwrap(), 0);
        s.audit(11, view(&pa)).unwrap();
        s.audit(11, view(&pb)).unwrap();
        // The person's own opening is not a notice.
        let mut own = view(&pa);
        own.actor = Actor::Person;
        s.audit(11, own).unwrap();
        assert_eq!(collect_from_chain(&s, &names, 12).unwrap(), 1);
        assert_eq!(collect_from_chain(&s, &names, 13).unwrap(), 0);
        let queued = s.notices().unwrap();
        assert_eq!(queued.len(), 1);
        assert_eq!(
            queued[0].1.notice,
            Notice::Viewed {
                institution: "name of cd-976".into()
            }
        );
        assert_eq!(queued[0].1.person, pa);
    }
}
