//! Backups of a sled store and the files beside it, as one plain tar
//! archive (readable with `tar -tf`), taken while the service runs.
//!
//! Consistency: the running process takes the snapshot itself, with every
//! store write held back for as long as it takes to copy the trees and to
//! hard-link the sealed files (they are never modified in place, so a link
//! is a frozen copy). The archive is then written from those copies with
//! writes flowing again.
//!
//! | entry | what |
//! | --- | --- |
//! | `MANIFEST` | kind, version, time, counts (text) |
//! | `store.dump` | every tree: name, then its key/value pairs |
//! | `files/…` | the sealed documents and other files, paths as in the folder |
//!
//! Restore is all or nothing: the archive is read whole into a staging
//! folder and checked; only then is the old store moved aside (kept, named
//! with the time) and the staged one put in place.

use std::{
    io::{Read, Write},
    path::{Path, PathBuf},
};

use passerelle_protocol::UnixTime;

use crate::{error::io, NodeError};

const MAGIC: &[u8; 8] = b"PSLDUMP1";

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    /// `node` or `hub`.
    pub kind: String,
    /// Software version that wrote it.
    pub version: String,
    /// When.
    pub created_at: UnixTime,
    /// Trees and their records.
    pub trees: Vec<(String, u64)>,
    /// Files (paths relative to the folder).
    pub files: Vec<String>,
}

impl Summary {
    /// What `backup` says once written; `keys` names the private keys
    /// left out unless included.
    pub fn written(&self, to: &Path, include_keys: bool, keys: &str) -> String {
        let records: u64 = self.trees.iter().map(|(_, n)| n).sum();
        format!(
            "backup written to {}: {} tree(s), {records} record(s), {} file(s){}",
            to.display(),
            self.trees.len(),
            self.files.len(),
            if include_keys {
                ", private keys included: keep it safe".to_string()
            } else {
                format!("; private keys not included: back up {keys} separately")
            }
        )
    }

    /// What `restore` says once done; `aside` is where the previous store
    /// went.
    pub fn restored(&self, aside: Option<&Path>) -> String {
        format!(
            "restored the backup of {} ({} file(s)); {}",
            passerelle_link::output::time(Some(self.created_at)),
            self.files.len(),
            match aside {
                Some(p) => format!("the previous store is kept in {}", p.display()),
                None => "there was no previous store".into(),
            }
        )
    }
}

/// Dumps every tree of `db` into `out`; returns (tree, records).
///
/// # Errors
/// On a store or write failure.
pub fn dump(db: &sled::Db, out: &mut impl Write) -> Result<Vec<(String, u64)>, NodeError> {
    let w = |e: std::io::Error| NodeError::Refused(format!("cannot write the dump: {e}"));
    out.write_all(MAGIC).map_err(w)?;
    let mut counts = Vec::new();
    for name in db.tree_names() {
        let tree = db.open_tree(&name)?;
        out.write_all(&(name.len() as u32).to_be_bytes())
            .map_err(w)?;
        out.write_all(&name).map_err(w)?;
        let mut n = 0u64;
        for kv in tree.iter() {
            let (k, v) = kv?;
            out.write_all(&[1]).map_err(w)?;
            out.write_all(&(k.len() as u32).to_be_bytes()).map_err(w)?;
            out.write_all(&k).map_err(w)?;
            out.write_all(&(v.len() as u32).to_be_bytes()).map_err(w)?;
            out.write_all(&v).map_err(w)?;
            n += 1;
        }
        out.write_all(&[0]).map_err(w)?;
        counts.push((String::from_utf8_lossy(&name).into_owned(), n));
    }
    Ok(counts)
}

fn read_exact_vec(r: &mut impl Read, n: usize, what: &str) -> Result<Vec<u8>, NodeError> {
    let mut v = vec![0u8; n];
    r.read_exact(&mut v)
        .map_err(|_| NodeError::Refused(format!("backup is cut short in {what}")))?;
    Ok(v)
}

fn read_len(r: &mut impl Read, what: &str) -> Result<Option<usize>, NodeError> {
    let mut b = [0u8; 4];
    match r.read(&mut b[..1]) {
        Ok(0) => return Ok(None),
        Ok(_) => {}
        Err(_) => return Err(NodeError::Refused(format!("backup unreadable in {what}"))),
    }
    r.read_exact(&mut b[1..])
        .map_err(|_| NodeError::Refused(format!("backup is cut short in {what}")))?;
    let n = u32::from_be_bytes(b) as usize;
    if n > 1 << 30 {
        return Err(NodeError::Refused(format!(
            "backup damaged: a record of {n} bytes in {what}"
        )));
    }
    Ok(Some(n))
}

/// Loads a dump into an empty `db`; returns (tree, records).
///
/// # Errors
/// When the dump is damaged (nothing is half-loaded into a live store:
/// callers load into a staging store).
pub fn load(db: &sled::Db, input: &mut impl Read) -> Result<Vec<(String, u64)>, NodeError> {
    let magic = read_exact_vec(input, MAGIC.len(), "its header")?;
    if magic != MAGIC {
        return Err(NodeError::Refused("not a Passerelle store dump".into()));
    }
    let mut counts = Vec::new();
    while let Some(len) = read_len(input, "a tree name")? {
        let name = read_exact_vec(input, len, "a tree name")?;
        let tree = db.open_tree(&name)?;
        let mut n = 0u64;
        loop {
            let tag = read_exact_vec(input, 1, "a record")?;
            if tag[0] == 0 {
                break;
            }
            let kl = read_len(input, "a key")?
                .ok_or_else(|| NodeError::Refused("backup is cut short in a key".into()))?;
            let k = read_exact_vec(input, kl, "a key")?;
            let vl = read_len(input, "a value")?
                .ok_or_else(|| NodeError::Refused("backup is cut short in a value".into()))?;
            let v = read_exact_vec(input, vl, "a value")?;
            tree.insert(k, v)?;
            n += 1;
        }
        counts.push((String::from_utf8_lossy(&name).into_owned(), n));
    }
    db.flush()?;
    Ok(counts)
}

/// A ustar header for a regular file.
fn tar_header(name: &str, size: u64, mtime: u64) -> Result<[u8; 512], NodeError> {
    let mut h = [0u8; 512];
    let name = name.as_bytes();
    if name.len() > 99 {
        return Err(NodeError::Refused(format!(
            "path too long for the archive: {}",
            String::from_utf8_lossy(name)
        )));
    }
    h[..name.len()].copy_from_slice(name);
    let octal = |field: &mut [u8], v: u64| {
        let s = format!("{:0width$o}", v, width = field.len() - 1);
        field[..s.len()].copy_from_slice(s.as_bytes());
    };
    octal(&mut h[100..108], 0o600);
    octal(&mut h[108..116], 0);
    octal(&mut h[116..124], 0);
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], mtime);
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    Ok(h)
}

/// Appends one file to a tar stream.
fn tar_file(
    out: &mut impl Write,
    name: &str,
    src: &mut impl Read,
    size: u64,
    mtime: u64,
) -> Result<(), NodeError> {
    let w = |e: std::io::Error| NodeError::Refused(format!("cannot write the backup: {e}"));
    out.write_all(&tar_header(name, size, mtime)?).map_err(w)?;
    let copied = std::io::copy(&mut src.take(size), out).map_err(w)?;
    if copied != size {
        return Err(NodeError::Refused(format!(
            "{name} changed size while being archived"
        )));
    }
    let pad = (512 - (size % 512) as usize) % 512;
    out.write_all(&vec![0u8; pad]).map_err(w)?;
    Ok(())
}

/// What to archive besides the store: (name in the archive, file).
pub type Extra = Vec<(String, PathBuf)>;

/// Runs its argument with every store write held back.
pub type Freeze<'a> =
    &'a dyn Fn(&mut dyn FnMut() -> Result<(), NodeError>) -> Result<(), NodeError>;

/// Takes a snapshot under `freeze` (which must hold every store write for
/// its duration): the dump of `db` and hard links of `files` in a staging
/// folder under `root`. Then writes the archive to `to` (owner-only) and
/// removes the staging folder.
///
/// # Errors
/// On a store, link or write failure; nothing is left at `to` then.
pub fn backup(
    kind: &str,
    root: &Path,
    db: &sled::Db,
    freeze: Freeze<'_>,
    files: &dyn Fn() -> Result<Extra, NodeError>,
    to: &Path,
    now: UnixTime,
) -> Result<Summary, NodeError> {
    // One backup at a time per process, each in its own staging folder.
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let staging = root.join(format!(
        ".backup-{}-{}",
        std::process::id(),
        passerelle_protocol::hex::encode(&passerelle_link::random16()[..4])
    ));
    let _ = std::fs::remove_dir_all(&staging);
    passerelle_link::create_private_dir(&staging).map_err(io(&staging))?;
    let result = (|| {
        let dump_path = staging.join("store.dump");
        let mut counts = Vec::new();
        let mut linked: Vec<(String, PathBuf)> = Vec::new();
        freeze(&mut || {
            let mut f =
                std::io::BufWriter::new(std::fs::File::create(&dump_path).map_err(io(&dump_path))?);
            counts = dump(db, &mut f)?;
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
        let summary = Summary {
            kind: kind.to_string(),
            version: crate::VERSION.to_string(),
            created_at: now,
            trees: counts,
            files: linked.iter().map(|(n, _)| n.clone()).collect(),
        };
        let tmp = to.with_extension("partial");
        let write = (|| {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode_600()
                .open(&tmp)
                .map_err(io(&tmp))?;
            let mut out = std::io::BufWriter::new(file);
            let manifest = serde_json::to_vec_pretty(&summary).expect("summary serializes");
            tar_file(
                &mut out,
                "MANIFEST",
                &mut manifest.as_slice(),
                manifest.len() as u64,
                now,
            )?;
            let size = std::fs::metadata(&dump_path).map_err(io(&dump_path))?.len();
            tar_file(
                &mut out,
                "store.dump",
                &mut std::fs::File::open(&dump_path).map_err(io(&dump_path))?,
                size,
                now,
            )?;
            for (name, path) in &linked {
                let size = std::fs::metadata(path).map_err(io(path))?.len();
                tar_file(
                    &mut out,
                    &format!("files/{name}"),
                    &mut std::fs::File::open(path).map_err(io(path))?,
                    size,
                    now,
                )?;
            }
            out.write_all(&[0u8; 1024]).map_err(io(&tmp))?;
            let file = out.into_inner().map_err(|e| NodeError::Io {
                path: tmp.clone(),
                source: e.into_error(),
            })?;
            file.sync_all().map_err(io(&tmp))?;
            std::fs::rename(&tmp, to).map_err(io(to))
        })();
        if write.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        write.map(|()| summary)
    })();
    let _ = std::fs::remove_dir_all(&staging);
    result
}

trait Mode600 {
    fn mode_600(&mut self) -> &mut Self;
}

impl Mode600 for std::fs::OpenOptions {
    fn mode_600(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.mode(0o600)
    }
}

/// Reads an archive into `staging` (created): `store/` loaded from the
/// dump, `files/` as archived. Everything is checked before returning.
///
/// # Errors
/// A damaged or foreign archive, named.
pub fn unpack(from: &Path, staging: &Path, kind: &str) -> Result<Summary, NodeError> {
    let mut input = std::io::BufReader::new(std::fs::File::open(from).map_err(io(from))?);
    passerelle_link::create_private_dir(staging).map_err(io(staging))?;
    std::fs::create_dir_all(staging.join("files")).map_err(io(staging))?;
    let mut summary: Option<Summary> = None;
    let mut loaded = false;
    loop {
        let mut h = [0u8; 512];
        if input.read_exact(&mut h).is_err() {
            return Err(NodeError::Refused(format!(
                "{}: the archive is cut short",
                from.display()
            )));
        }
        if h.iter().all(|b| *b == 0) {
            break;
        }
        let end = h[..100].iter().position(|b| *b == 0).unwrap_or(100);
        let name = String::from_utf8_lossy(&h[..end]).into_owned();
        let size_text = String::from_utf8_lossy(&h[124..136]);
        let size = u64::from_str_radix(size_text.trim_matches(|c: char| c == '\0' || c == ' '), 8)
            .map_err(|_| {
                NodeError::Refused(format!(
                    "{}: damaged archive header for {name}",
                    from.display()
                ))
            })?;
        let mut body = (&mut input).take(size);
        match name.as_str() {
            "MANIFEST" => {
                let mut text = Vec::new();
                body.read_to_end(&mut text).map_err(io(from))?;
                let s: Summary = serde_json::from_slice(&text).map_err(|e| {
                    NodeError::Refused(format!("{}: damaged MANIFEST: {e}", from.display()))
                })?;
                if s.kind != kind {
                    return Err(NodeError::Refused(format!(
                        "{}: this is a {} backup, not a {kind} backup",
                        from.display(),
                        s.kind
                    )));
                }
                summary = Some(s);
            }
            "store.dump" => {
                let db = sled::Config::new().path(staging.join("store")).open()?;
                load(&db, &mut body)?;
                db.flush()?;
                loaded = true;
            }
            other => {
                let Some(rel) = other.strip_prefix("files/") else {
                    return Err(NodeError::Refused(format!(
                        "{}: unexpected entry {other}",
                        from.display()
                    )));
                };
                let rel = Path::new(rel);
                if rel
                    .components()
                    .any(|c| !matches!(c, std::path::Component::Normal(_)))
                {
                    return Err(NodeError::Refused(format!(
                        "{}: unsafe path {other}",
                        from.display()
                    )));
                }
                let target = staging.join("files").join(rel);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(io(parent))?;
                }
                // Keys and documents alike: owner-only, as in a node folder.
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .mode_600()
                    .open(&target)
                    .map_err(io(&target))?;
                let n = std::io::copy(&mut body, &mut f).map_err(io(&target))?;
                if n != size {
                    return Err(NodeError::Refused(format!(
                        "{}: the archive is cut short in {other}",
                        from.display()
                    )));
                }
            }
        }
        // Whatever was not read of this entry, and the padding.
        std::io::copy(&mut body, &mut std::io::sink()).map_err(io(from))?;
        let pad = (512 - (size % 512)) % 512;
        std::io::copy(&mut (&mut input).take(pad), &mut std::io::sink()).map_err(io(from))?;
    }
    let summary = summary.ok_or_else(|| {
        NodeError::Refused(format!(
            "{}: no MANIFEST: not a Passerelle backup",
            from.display()
        ))
    })?;
    if !loaded {
        return Err(NodeError::Refused(format!(
            "{}: no store.dump in the archive",
            from.display()
        )));
    }
    for f in &summary.files {
        if !staging.join("files").join(f).exists() {
            return Err(NodeError::Refused(format!(
                "{}: {f} is listed but missing",
                from.display()
            )));
        }
    }
    Ok(summary)
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
) -> Result<Option<PathBuf>, NodeError> {
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

    #[test]
    fn dump_and_load_round_trip_and_damage_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let a = sled::Config::new()
            .path(dir.path().join("a"))
            .open()
            .unwrap();
        a.open_tree("t1").unwrap().insert(b"k1", b"v1").unwrap();
        a.open_tree("t2")
            .unwrap()
            .insert(b"k2", vec![7u8; 3000])
            .unwrap();
        a.insert(b"root", b"r").unwrap();
        let mut bytes = Vec::new();
        dump(&a, &mut bytes).unwrap();
        let b = sled::Config::new()
            .path(dir.path().join("b"))
            .open()
            .unwrap();
        load(&b, &mut bytes.as_slice()).unwrap();
        assert_eq!(
            b.open_tree("t2")
                .unwrap()
                .get(b"k2")
                .unwrap()
                .unwrap()
                .len(),
            3000
        );
        assert_eq!(b.get(b"root").unwrap().unwrap().as_ref(), b"r");
        let c = sled::Config::new()
            .path(dir.path().join("c"))
            .open()
            .unwrap();
        let err = load(&c, &mut &bytes[..bytes.len() - 100])
            .unwrap_err()
            .to_string();
        assert!(err.contains("cut short"), "{err}");
    }

    #[test]
    fn tar_headers_checksum() {
        let h = tar_header("files/documents/x.sealed", 1234, 0).unwrap();
        let stored = u32::from_str_radix(String::from_utf8_lossy(&h[148..154]).trim(), 8).unwrap();
        let mut copy = h;
        copy[148..156].copy_from_slice(b"        ");
        assert_eq!(stored, copy.iter().map(|b| u32::from(*b)).sum::<u32>());
    }
}
