//! Writing a backup: snapshot under the store's freeze, then the archive.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use passerelle_protocol::UnixTime;

use super::{create_private, dump::dump, io, tar, BackupError, Extra, Snapshot, Summary};

/// Takes a snapshot with every store write held back: the dump of `store`
/// and hard links of `files` in a staging folder under `root`. Then writes
/// the archive to `to` (owner-only) and removes the staging folder.
/// `kind` is `node` or `hub`, checked again at restore.
///
/// # Errors
/// On a store, link or write failure; nothing is left at `to` then.
pub fn backup<S: Snapshot>(
    kind: &str,
    root: &Path,
    store: &S,
    files: &dyn Fn() -> Result<Extra, BackupError>,
    to: &Path,
    now: UnixTime,
) -> Result<Summary, BackupError> {
    // One backup at a time per process, each in its own staging folder.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let staging = root.join(format!(
        ".backup-{}-{}",
        std::process::id(),
        passerelle_protocol::hex::encode(&crate::random16()[..4])
    ));
    let _ = std::fs::remove_dir_all(&staging);
    crate::create_private_dir(&staging).map_err(io(&staging))?;
    let result = snapshot(store, files, &staging).and_then(|(trees, linked)| {
        let summary = Summary {
            kind: kind.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            created_at: now,
            trees,
            files: linked.iter().map(|(n, _)| n.clone()).collect(),
        };
        let tmp = to.with_extension("partial");
        let written = write_archive(&summary, &staging.join("store.dump"), &linked, &tmp, to);
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written.map(|()| summary)
    });
    let _ = std::fs::remove_dir_all(&staging);
    result
}

/// The frozen part: the dump, and a link (or copy) of every file.
fn snapshot<S: Snapshot>(
    store: &S,
    files: &dyn Fn() -> Result<Extra, BackupError>,
    staging: &Path,
) -> Result<(Vec<(String, u64)>, Extra), BackupError> {
    let dump_path = staging.join("store.dump");
    let mut counts = Vec::new();
    let mut linked: Extra = Vec::new();
    store.frozen(&mut || {
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(&dump_path).map_err(io(&dump_path))?);
        counts = dump(store, &mut f)?;
        f.flush().map_err(io(&dump_path))?;
        for (i, (name, path)) in files()?.into_iter().enumerate() {
            let link = staging.join(format!("f{i}"));
            match std::fs::hard_link(&path, &link)
                .or_else(|_| std::fs::copy(&path, &link).map(|_| ()))
            {
                Ok(()) => linked.push((name, link)),
                // Deleted just before the freeze (its record is gone
                // too): not part of the snapshot.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&path)(e)),
            }
        }
        Ok(())
    })?;
    Ok((counts, linked))
}

/// Writes the archive to `tmp`, syncs it, and renames it to `to`.
fn write_archive(
    summary: &Summary,
    dump_path: &Path,
    linked: &[(String, PathBuf)],
    tmp: &Path,
    to: &Path,
) -> Result<(), BackupError> {
    let now = summary.created_at;
    let mut size = std::fs::metadata(dump_path).map_err(io(dump_path))?.len();
    for (_, p) in linked {
        size += std::fs::metadata(p).map_err(io(p))?.len() + 512;
    }
    let folder = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    crate::disk::ensure_space(folder, "write the backup", size + 2048)?;
    let mut out = std::io::BufWriter::new(create_private(tmp)?);
    let manifest = serde_json::to_vec_pretty(summary).expect("summary serializes");
    tar::append(
        &mut out,
        "MANIFEST",
        &mut manifest.as_slice(),
        manifest.len() as u64,
        now,
    )?;
    let mut entries = vec![("store.dump".to_string(), dump_path)];
    entries.extend(
        linked
            .iter()
            .map(|(n, p)| (format!("files/{n}"), p.as_path())),
    );
    for (name, path) in entries {
        let size = std::fs::metadata(path).map_err(io(path))?.len();
        let mut src = std::fs::File::open(path).map_err(io(path))?;
        tar::append(&mut out, &name, &mut src, size, now)?;
    }
    out.write_all(&[0u8; 1024]).map_err(io(tmp))?;
    let file = out.into_inner().map_err(|e| BackupError::Io {
        path: tmp.to_path_buf(),
        source: e.into_error(),
    })?;
    file.sync_all().map_err(io(tmp))?;
    std::fs::rename(tmp, to).map_err(io(to))
}
