//! Files that arrive without a person at the command line: pushed through
//! the integration API ([`crate::api`]) or dropped in a watched folder
//! ([`crate::drop`]). Both go through [`batches::import_file`], the same
//! all-or-nothing, content-checked import as `passerelle-node import` and
//! the console, which writes the import in the node's audit chain with its
//! actor: [`Actor::Token`] or [`Actor::Folder`]. A refused file is written
//! there too.

use std::path::Path;

use passerelle_config::NodeConfig;
use passerelle_protocol::{audit::Action, UnixTime};

use crate::{
    actor::Actor,
    batches,
    store::{BatchMeta, Store},
    NodeError,
};

/// Imports `path` as a batch of `dataset` by `by`, and records a refusal
/// in the audit chain (the import itself is recorded by
/// [`batches::import_file`]).
///
/// # Errors
/// What [`batches::import_file`] refuses; a store failure (the refusal is
/// then recorded nowhere).
pub fn import(
    config: &NodeConfig,
    store: &Store,
    dataset: &str,
    path: &Path,
    by: &Actor,
    now: UnixTime,
) -> Result<BatchMeta, NodeError> {
    batches::import_file(
        config,
        store,
        dataset,
        path,
        &by.to_string(),
        now,
        &mut |_| {},
    )
    .or_else(|e| {
        if matches!(
            e,
            NodeError::Import(_) | NodeError::Refused(_) | NodeError::Rule(_)
        ) {
            let why = e.to_string();
            let first = why.lines().take(3).collect::<Vec<_>>().join(" ");
            store.record(now, by, Action::ImportRefused, dataset, &first)?;
        }
        Err(e)
    })
}
