//! Files that arrive without a person at the command line: pushed through
//! the integration API ([`crate::api`]) or dropped in a watched folder
//! ([`crate::drop`]). Both go through [`batches::import_file`], the same
//! all-or-nothing, content-checked import as `passerelle-node import`, and
//! write what happened in the node's audit chain under a small actor
//! string: `token:NAME` or `folder:DATASET`.

use std::path::Path;

use passerelle_config::NodeConfig;
use passerelle_protocol::{
    audit::{Action, Actor, Event},
    UnixTime,
};

use crate::{
    batches,
    store::{BatchMeta, Store},
    NodeError,
};

/// The actor string of an API token.
pub fn token_actor(name: &str) -> String {
    format!("token:{name}")
}

/// The actor string of a dataset's watched folder.
pub fn folder_actor(dataset: &str) -> String {
    format!("folder:{dataset}")
}

/// Imports `path` as a batch of `dataset` by `by`, and records the import
/// (or its refusal) in the audit chain.
///
/// # Errors
/// What [`batches::import_file`] refuses; a store failure (the import is
/// then recorded nowhere, or the audit record failed after the batch).
pub fn import(
    config: &NodeConfig,
    store: &Store,
    dataset: &str,
    path: &Path,
    by: &str,
    now: UnixTime,
) -> Result<BatchMeta, NodeError> {
    match batches::import_file(config, store, dataset, path, by, now, &mut |_| {}) {
        Ok(meta) => {
            record(
                store,
                now,
                by,
                Action::BatchImport,
                dataset,
                format!(
                    "batch {} {} rows sha256 {} {:?}",
                    meta.id, meta.rows, meta.sha256, meta.status
                ),
            )?;
            Ok(meta)
        }
        Err(e) => {
            if matches!(e, NodeError::Import(_) | NodeError::Refused(_)) {
                let why = e.to_string();
                let first = why.lines().take(3).collect::<Vec<_>>().join(" ");
                record(store, now, by, Action::ImportRefused, dataset, first)?;
            }
            Err(e)
        }
    }
}

/// Writes one record of the node's audit chain.
///
/// # Errors
/// When the chain cannot be written.
pub fn record(
    store: &Store,
    now: UnixTime,
    by: &str,
    action: Action,
    subject: &str,
    detail: String,
) -> Result<(), NodeError> {
    // Bounded: a detail is a summary, never a file's content.
    let detail: String = detail.chars().take(300).collect();
    store.audit(
        now,
        Event {
            actor: Actor::Operator(by.to_string()),
            action,
            person: None,
            subject: subject.to_string(),
            procedure: None,
            detail,
        },
    )?;
    Ok(())
}
