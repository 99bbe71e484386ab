//! Imports and the decisions on batches: a file becomes a batch, through
//! [`crate::data::import`] and one store transaction; a second person
//! validates or rejects a batch waiting for it; a batch in force can be
//! withdrawn, the one before it coming back in force. Each is written in
//! the audit chain with who acted. Used by the running node (over the
//! admin socket, and by the console) and by commands when it is stopped:
//! every way in calls these functions.

use std::{io::Read, path::Path};

use passerelle_config::NodeConfig;
use passerelle_protocol::{audit::Action, hex, UnixTime};

use crate::{
    actor::Actor,
    data::import::read_csv,
    refusal::Refusal,
    store::{BatchMeta, BatchStatus, RolledBack, Store},
    NodeError,
};

/// The actor of `by`, refused when it names nobody.
fn acting(by: &str, doing: &'static str) -> Result<Actor, NodeError> {
    let actor = Actor::parse(by);
    if actor.is_anonymous() {
        return Err(Refusal::NoActor { doing }.into());
    }
    Ok(actor)
}

/// Hashes what it reads, to record the file's SHA-256 with its batch.
struct Hashing<R> {
    inner: R,
    digest: ring::digest::Context,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digest.update(&buf[..n]);
        Ok(n)
    }
}

/// Imports a CSV file as a new batch of `dataset`.
///
/// # Errors
/// An unknown dataset, an unreadable file, every bad row, or a store
/// failure; in every case nothing is written.
pub fn import_file(
    config: &NodeConfig,
    store: &Store,
    dataset: &str,
    path: &Path,
    by: &str,
    now: UnixTime,
    progress: &mut dyn FnMut(u64),
) -> Result<BatchMeta, NodeError> {
    let d = config
        .datasets
        .iter()
        .find(|d| d.name == dataset)
        .ok_or_else(|| Refusal::UnknownDataset {
            dataset: dataset.to_string(),
            declared: config.datasets.iter().map(|d| d.name.clone()).collect(),
        })?;
    let actor = acting(by, "imports")?;
    let file = std::fs::File::open(path).map_err(|source| NodeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // The batch and its cube take at most about the file's size.
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    passerelle_link::disk::ensure_space(store.folder(), "import a batch", size)?;
    let mut reader = Hashing {
        inner: file,
        digest: ring::digest::Context::new(&ring::digest::SHA256),
    };
    let imported = read_csv(&mut reader, d, progress)?;
    let digest = reader.digest.finish();
    let meta = BatchMeta {
        id: store.next_batch_id()?,
        dataset: d.name.clone(),
        imported_at: now,
        imported_by: actor.to_string(),
        file: path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256: hex::encode(digest.as_ref()),
        rows: imported.rows,
        periods: imported.cube.periods(),
        status: if d.require_validation {
            BatchStatus::Pending
        } else {
            BatchStatus::Active
        },
        validated_by: None,
        validated_at: None,
    };
    store.commit_batch(&meta, &imported.cube, !d.require_validation)?;
    tracing::info!(dataset = %meta.dataset, batch = meta.id, rows = meta.rows, status = ?meta.status, "batch imported");
    let periods: Vec<String> = meta.periods.iter().map(ToString::to_string).collect();
    let detail = format!(
        "{} {} rows {} {}",
        meta.dataset,
        meta.rows,
        periods.join(" "),
        if meta.status == BatchStatus::Pending {
            "pending"
        } else {
            "active"
        }
    );
    store.record(
        now,
        &actor,
        Action::BatchImport,
        &meta.id.to_string(),
        &detail,
    )?;
    Ok(meta)
}

/// Validates a pending batch: it is in force from now on.
///
/// # Errors
/// An unknown batch, one not pending, one its validator imported; a
/// store failure.
pub fn validate(store: &Store, id: u64, by: &str, at: UnixTime) -> Result<BatchMeta, NodeError> {
    let actor = acting(by, "validates")?;
    let meta = store.validate(id, &actor, at)?;
    tracing::info!(batch = id, by = %actor, "batch validated");
    let detail = meta.dataset.clone();
    store.record(
        at,
        &actor,
        Action::BatchValidate,
        &meta.id.to_string(),
        &detail,
    )?;
    Ok(meta)
}

/// Rejects a pending batch, with the reason given: it never comes in
/// force, and stays listed.
///
/// # Errors
/// An unknown batch, one not pending, one its rejecter imported; a store
/// failure.
pub fn reject(
    store: &Store,
    id: u64,
    reason: &str,
    by: &str,
    at: UnixTime,
) -> Result<BatchMeta, NodeError> {
    let actor = acting(by, "rejects")?;
    let reason: String = reason.trim().chars().take(500).collect();
    let meta = store.reject(id, &actor, &reason, at)?;
    tracing::info!(batch = id, by = %actor, "batch rejected");
    let detail = format!("{} {reason}", meta.dataset).trim().to_string();
    store.record(
        at,
        &actor,
        Action::BatchReject,
        &meta.id.to_string(),
        &detail,
    )?;
    Ok(meta)
}

/// Withdraws the latest batch in force of a dataset: for each period it
/// was in force for, the batch in force before it is again (or none).
///
/// # Errors
/// An unknown dataset, none in force; a store failure.
pub fn rollback(
    config: &NodeConfig,
    store: &Store,
    dataset: &str,
    by: &str,
    at: UnixTime,
) -> Result<RolledBack, NodeError> {
    if !config.datasets.iter().any(|d| d.name == dataset) {
        return Err(Refusal::UnknownDataset {
            dataset: dataset.to_string(),
            declared: config.datasets.iter().map(|d| d.name.clone()).collect(),
        }
        .into());
    }
    let actor = acting(by, "rolls back")?;
    let done = store.rollback(dataset, &actor, at)?;
    tracing::info!(dataset, batch = done.withdrawn.id, by = %actor, "batch withdrawn");
    let back: Vec<String> = done
        .restored
        .iter()
        .map(|(p, b)| match b {
            Some(b) => format!("{p}:{b}"),
            None => format!("{p}:-"),
        })
        .collect();
    let detail = format!("{dataset} {}", back.join(" "));
    store.record(
        at,
        &actor,
        Action::BatchRollback,
        &done.withdrawn.id.to_string(),
        &detail,
    )?;
    Ok(done)
}
