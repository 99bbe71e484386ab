//! The audit chain read newest first, filtered: the console's journal.
//! It reads record by record from the end and stops once the page is
//! full, so a long chain costs only what is shown (plus what is skipped).

use passerelle_protocol::{audit::Record, codec};

use super::Store;
use crate::NodeError;

/// Which records the journal shows: those matching every field given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JournalFilter {
    /// Part of the actor's text (`agent:ana`, `operator:…`, `professional:…`).
    pub actor: Option<String>,
    /// The action's name (`document_add`, `batch_import`…).
    pub action: Option<String>,
    /// The person concerned (the record's id here, or a pseudonym).
    pub person: Option<String>,
}

impl JournalFilter {
    /// Whether a record matches.
    pub fn matches(&self, r: &Record) -> bool {
        self.actor
            .as_deref()
            .is_none_or(|a| r.event.actor.to_string().contains(a))
            && self
                .action
                .as_deref()
                .is_none_or(|a| r.event.action.as_str() == a)
            && self
                .person
                .as_deref()
                .is_none_or(|p| r.event.person.as_deref() == Some(p))
    }
}

impl Store {
    /// At most `limit` records matching `filter`, newest first, after
    /// skipping `skip` matching ones; and whether more match. Records
    /// that do not decode are left out (`audit verify` names them).
    ///
    /// # Errors
    /// On a store failure.
    pub fn journal(
        &self,
        filter: &JournalFilter,
        skip: usize,
        limit: usize,
    ) -> Result<(Vec<Record>, bool), NodeError> {
        let tree = self.db()?.open_tree(super::vault::AUDIT)?;
        let mut matched = 0usize;
        let mut out = Vec::new();
        for kv in tree.iter().values().rev() {
            let Ok(record) = codec::decode::<Record>(&kv?) else {
                continue;
            };
            if !filter.matches(&record) {
                continue;
            }
            matched += 1;
            if matched <= skip {
                continue;
            }
            if out.len() == limit {
                return Ok((out, true));
            }
            out.push(record);
        }
        Ok((out, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use passerelle_protocol::audit::{Action, Actor, Event};

    #[test]
    fn the_journal_reads_newest_first_filtered_and_by_page() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        for i in 0..5u64 {
            let actor = if i % 2 == 0 {
                Actor::Other("agent:ana".into())
            } else {
                Actor::Operator("root".into())
            };
            store
                .audit(
                    i,
                    Event {
                        actor,
                        action: Action::DocumentAdd,
                        person: Some(format!("P{i}")),
                        subject: i.to_string(),
                        procedure: None,
                        detail: String::new(),
                    },
                )
                .unwrap();
        }
        let ana = JournalFilter {
            actor: Some("agent:ana".into()),
            ..Default::default()
        };
        let (page, more) = store.journal(&ana, 0, 2).unwrap();
        assert_eq!(page.iter().map(|r| r.seq).collect::<Vec<_>>(), [4, 2]);
        assert!(more);
        let (page, more) = store.journal(&ana, 2, 2).unwrap();
        assert_eq!((page.len(), page[0].seq, more), (1, 0, false));
        let one = JournalFilter {
            person: Some("P3".into()),
            action: Some("document_add".into()),
            ..Default::default()
        };
        assert_eq!(store.journal(&one, 0, 10).unwrap().0[0].seq, 3);
    }
}
