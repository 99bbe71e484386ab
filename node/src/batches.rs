//! Imports and validations: a file becomes a batch, through
//! [`crate::data::import`] and one store transaction. Used by the running
//! node (over the admin socket) and by commands when it is stopped.

use std::{io::Read, path::Path};

use passerelle_config::NodeConfig;
use passerelle_protocol::{hex, UnixTime};

use crate::{
    data::import::read_csv,
    store::{BatchMeta, BatchStatus, Store},
    NodeError,
};

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
        .ok_or_else(|| {
            let names: Vec<&str> = config.datasets.iter().map(|d| d.name.as_str()).collect();
            NodeError::Refused(format!(
                "unknown dataset {dataset:?}; node.toml declares: {}",
                if names.is_empty() {
                    "none (declare datasets under [[datasets]])".to_string()
                } else {
                    names.join(", ")
                }
            ))
        })?;
    if by.trim().is_empty() {
        return Err(NodeError::Refused("say who imports with --by NAME".into()));
    }
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
        imported_by: by.trim().to_string(),
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
    Ok(meta)
}
