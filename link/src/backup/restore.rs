//! Restoring a backup: read and check it whole in a staging folder, then
//! put it in place.

use std::{
    io::Read,
    path::{Path, PathBuf},
};

use passerelle_protocol::UnixTime;

use super::{create_private, dump::load, io, tar, ArchiveProblem, BackupError, Staging, Summary};

/// Reads an archive into `staging` (created): `store/` loaded from the
/// dump into the store `open` makes there, `files/` as archived.
/// Everything is checked before returning; the staging store is closed.
///
/// # Errors
/// A damaged or foreign archive, named.
pub fn unpack<S: Staging>(
    from: &Path,
    staging: &Path,
    kind: &str,
    open: impl Fn(&Path) -> Result<S, S::Error>,
) -> Result<Summary, BackupError> {
    let bad = |problem| BackupError::Archive {
        path: from.to_path_buf(),
        problem,
    };
    let mut input = std::io::BufReader::new(std::fs::File::open(from).map_err(io(from))?);
    crate::create_private_dir(staging).map_err(io(staging))?;
    std::fs::create_dir_all(staging.join("files")).map_err(io(staging))?;
    let mut summary: Option<Summary> = None;
    let mut loaded = false;
    loop {
        let mut h = [0u8; 512];
        if input.read_exact(&mut h).is_err() {
            return Err(bad(ArchiveProblem::CutShort));
        }
        if h.iter().all(|b| *b == 0) {
            break;
        }
        let (name, size) = tar::entry(&h);
        let size = size.ok_or_else(|| bad(ArchiveProblem::Header(name.clone())))?;
        let mut body = (&mut input).take(size);
        match name.as_str() {
            "MANIFEST" => {
                let mut text = Vec::new();
                body.read_to_end(&mut text).map_err(io(from))?;
                let s: Summary =
                    serde_json::from_slice(&text).map_err(|e| bad(ArchiveProblem::Manifest(e)))?;
                if s.kind != kind {
                    return Err(bad(ArchiveProblem::Kind {
                        found: s.kind,
                        expected: kind.to_string(),
                    }));
                }
                summary = Some(s);
            }
            "store.dump" => {
                let store = open(&staging.join("store")).map_err(BackupError::store)?;
                load(&store, &mut body)?;
                loaded = true;
            }
            other => {
                let target = file_target(staging, other).map_err(bad)?;
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(io(parent))?;
                }
                // Keys and documents alike: owner-only, as in the folder.
                let mut f = create_private(&target)?;
                let n = std::io::copy(&mut body, &mut f).map_err(io(&target))?;
                if n != size {
                    return Err(bad(ArchiveProblem::EntryCutShort(other.to_string())));
                }
            }
        }
        // Whatever was not read of this entry, and the padding.
        std::io::copy(&mut body, &mut std::io::sink()).map_err(io(from))?;
        let pad = tar::padding(size);
        std::io::copy(&mut (&mut input).take(pad), &mut std::io::sink()).map_err(io(from))?;
    }
    let summary = summary.ok_or_else(|| bad(ArchiveProblem::NoManifest))?;
    if !loaded {
        return Err(bad(ArchiveProblem::NoDump));
    }
    for f in &summary.files {
        if !staging.join("files").join(f).exists() {
            return Err(bad(ArchiveProblem::Missing(f.clone())));
        }
    }
    Ok(summary)
}

/// Where an archive entry other than MANIFEST and the dump goes: under
/// `staging/files/`, never outside.
fn file_target(staging: &Path, entry: &str) -> Result<PathBuf, ArchiveProblem> {
    let Some(rel) = entry.strip_prefix("files/") else {
        return Err(ArchiveProblem::UnexpectedEntry(entry.to_string()));
    };
    let rel = Path::new(rel);
    if rel
        .components()
        .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(ArchiveProblem::UnsafePath(entry.to_string()));
    }
    Ok(staging.join("files").join(rel))
}

/// Puts a staged restore in place: the current store (if any) is moved
/// aside as `store.before-restore-TIME`, the staged store and files moved
/// in. Returns where the old store went.
///
/// # Errors
/// On a move failure.
pub fn install(
    root: &Path,
    staging: &Path,
    store_dir: &Path,
    now: UnixTime,
) -> Result<Option<PathBuf>, BackupError> {
    let aside = if store_dir.exists() {
        let aside = root.join(format!("store.before-restore-{now}"));
        std::fs::rename(store_dir, &aside).map_err(io(store_dir))?;
        Some(aside)
    } else {
        None
    };
    std::fs::rename(staging.join("store"), store_dir).map_err(io(store_dir))?;
    let files = staging.join("files");
    let mut stack = vec![files.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).map_err(io(&dir))? {
            let p = e.map_err(io(&dir))?.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(&files).expect("under files");
            let target = root.join(rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
            }
            std::fs::rename(&p, &target).map_err(io(&target))?;
        }
    }
    let _ = std::fs::remove_dir_all(staging);
    Ok(aside)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::{backup, dump::tests::Memory};

    impl Staging for &Memory {
        type Error = std::io::Error;
        fn insert(&self, tree: &[u8], key: &[u8], value: &[u8]) -> Result<(), Self::Error> {
            (**self).insert(tree, key, value)
        }
        fn flush(&self) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    #[test]
    fn a_backup_restores_whole_and_a_foreign_or_cut_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let store = Memory::default();
        store.insert(b"documents", b"d1", b"record").unwrap();
        std::fs::create_dir_all(root.join("documents")).unwrap();
        std::fs::write(root.join("documents/d1.sealed"), b"sealed bytes").unwrap();
        let to = root.join("b.tar");
        let files = || {
            Ok(vec![(
                "documents/d1.sealed".to_string(),
                root.join("documents/d1.sealed"),
            )])
        };
        let summary = backup("node", root, &store, &files, &to, 1_000).unwrap();
        assert_eq!(summary.trees, vec![("documents".to_string(), 1)]);

        let open = |_: &Path| Ok::<_, std::io::Error>(Memory::default());
        let err = unpack(&to, &root.join("s0"), "hub", open).unwrap_err();
        assert!(
            matches!(
                err,
                BackupError::Archive {
                    problem: ArchiveProblem::Kind { .. },
                    ..
                }
            ),
            "{err}"
        );
        let loaded = Memory::default();
        let back = unpack(&to, &root.join("s1"), "node", |_: &Path| {
            Ok::<_, std::io::Error>(&loaded)
        })
        .unwrap();
        assert_eq!(back, summary);
        assert_eq!(*loaded.0.borrow(), *store.0.borrow());
        let target = root.join("restored");
        std::fs::create_dir_all(&target).unwrap();
        std::fs::create_dir_all(root.join("s1/store")).unwrap();
        assert_eq!(
            install(&target, &root.join("s1"), &target.join("store"), 5).unwrap(),
            None
        );
        assert_eq!(
            std::fs::read(target.join("documents/d1.sealed")).unwrap(),
            b"sealed bytes"
        );

        let mut bytes = std::fs::read(&to).unwrap();
        bytes.truncate(700);
        std::fs::write(&to, &bytes).unwrap();
        let err = unpack(&to, &root.join("s2"), "node", open).unwrap_err();
        assert!(err.to_string().contains("cut short"), "{err}");
    }
}
