//! The directory beyond nodes: entries the hub operator adds for actors
//! that run no node (communal social centres, associations, referent
//! social workers by sector), with `passerelle-hub directory add|list|
//! remove`. They are kept in the store's `directory` tree beside the
//! entries nodes publish, under `actor:ID` (a node id has no `:`), so the
//! portal's one search and its map of actors show both alike.

use passerelle_protocol::{directory::DirectoryEntry, ids::NodeId};
use serde::{Deserialize, Serialize};

use crate::{store::Store, HubError, Refusal};

/// The key prefix of an operator's entry in the `directory` tree.
pub const PREFIX: &str = "actor:";
/// Entries the operator may add, at most.
pub const MAX_ACTORS: usize = 2000;
/// Longest description, in characters.
const MAX_DESCRIPTION: usize = 2000;
/// Longest other text field, in characters.
const MAX_FIELD: usize = 300;
/// Services listed per entry, at most.
const MAX_SERVICES: usize = 30;

/// What `passerelle-hub directory` asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Add an entry, or replace the one with this id.
    Add {
        /// Its id (a-z, 0-9 and `-`, as a node id).
        id: String,
        /// The entry.
        entry: Box<DirectoryEntry>,
    },
    /// Remove an entry.
    Remove {
        /// Its id.
        id: String,
    },
    /// Every entry the operator added.
    List,
}

/// An operator's entry as `directory list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActorRow {
    /// Its id.
    pub id: String,
    /// The entry.
    pub entry: DirectoryEntry,
}

/// Whether a `directory` tree key is an operator's entry (not a node's).
pub fn is_actor_key(key: &str) -> bool {
    key.starts_with(PREFIX)
}

fn refuse(why: impl Into<String>) -> HubError {
    Refusal::BadDirectoryEntry { why: why.into() }.into()
}

/// Checks an entry: its id, a name, known communes and themes, bounded
/// fields.
///
/// # Errors
/// [`Refusal::BadDirectoryEntry`] naming every problem.
pub fn check(id: &str, e: &DirectoryEntry) -> Result<(), HubError> {
    let mut problems = Vec::new();
    if let Err(why) = NodeId::new(id) {
        problems.push(format!("--id {id:?}: {why}"));
    }
    if e.name.trim().is_empty() {
        problems.push("--name is required".to_string());
    }
    if e.description.chars().count() > MAX_DESCRIPTION {
        problems.push(format!(
            "--description is over {MAX_DESCRIPTION} characters"
        ));
    }
    let fields = [
        ("name", &e.name),
        ("address", &e.address),
        ("phone", &e.phone),
        ("email", &e.email),
        ("website", &e.website),
        ("hours", &e.hours),
    ];
    for (key, v) in fields {
        if v.chars().count() > MAX_FIELD {
            problems.push(format!("--{key} is over {MAX_FIELD} characters"));
        }
    }
    if e.services.len() > MAX_SERVICES || e.services.iter().any(|s| s.chars().count() > MAX_FIELD) {
        problems.push(format!(
            "at most {MAX_SERVICES} services of {MAX_FIELD} characters each"
        ));
    }
    if !e.website.is_empty()
        && !e.website.starts_with("https://")
        && !e.website.starts_with("http://")
    {
        problems.push("--website must start with https://".to_string());
    }
    problems.extend(e.problems());
    if problems.is_empty() {
        Ok(())
    } else {
        Err(refuse(problems.join("; ")))
    }
}

/// Every entry the operator added, by id.
///
/// # Errors
/// On a store failure.
pub fn list(store: &Store) -> Result<Vec<ActorRow>, HubError> {
    Ok(store
        .directory()?
        .into_iter()
        .filter_map(|(key, entry)| {
            key.strip_prefix(PREFIX).map(|id| ActorRow {
                id: id.to_string(),
                entry,
            })
        })
        .collect())
}

/// Applies a `directory` action; the rows it concerns (every entry for
/// [`Action::List`]).
///
/// # Errors
/// A bad entry, an unknown id, too many entries, or a store failure.
pub fn apply(store: &Store, action: Action) -> Result<Vec<ActorRow>, HubError> {
    match action {
        Action::List => list(store),
        Action::Add { id, mut entry } => {
            entry.communes.sort();
            entry.communes.dedup();
            let entry = *entry;
            check(&id, &entry)?;
            let all = list(store)?;
            if all.len() >= MAX_ACTORS && !all.iter().any(|r| r.id == id) {
                return Err(refuse(format!(
                    "{MAX_ACTORS} entries already; remove some first"
                )));
            }
            store.put_directory_entry(&format!("{PREFIX}{id}"), Some(&entry))?;
            Ok(vec![ActorRow { id, entry }])
        }
        Action::Remove { id } => {
            let row = list(store)?
                .into_iter()
                .find(|r| r.id == id)
                .ok_or(Refusal::UnknownActor { id: id.clone() })?;
            store.put_directory_entry(&format!("{PREFIX}{id}"), None)?;
            Ok(vec![row])
        }
    }
}
