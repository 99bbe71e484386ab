//! Documents the institution holds about persons, their links to vault
//! accounts, and who may see them.
//!
//! Each document is sealed (AES-256-GCM, chunked) under a key of its
//! own in `documents/<id>.sealed`; that key is wrapped by the node's
//! document key (`documents.key`, owner-only, created on first use). The
//! store keeps the wrapped key and a description, never the bytes. A
//! document leaves the node only to the person it concerns, or to a
//! professional whose consent [`check_consent`] accepts; every listing,
//! fetch and refusal is appended to the audit chain.

use std::{
    io::{Read, Write},
    path::{Path, PathBuf},
};

use passerelle_protocol::{
    audit::{Action, Event},
    hex,
    ids::NodeId,
    message::Refusal,
    seal::{self, Key, Sealer, CHUNK},
    sign::PublicKey,
    vault::{check_consent, AccessRefusal, Category, DocSummary, Pseudonym, Requester},
    UnixTime,
};

use crate::{
    actor::Actor,
    error::io,
    refusal::Refusal as Rule,
    store::{vault::DocRecord, Store},
    NodeError,
};

/// Largest document a node accepts.
pub const MAX_DOCUMENT: u64 = 512 * 1024 * 1024;

/// The node's document files.
#[derive(Debug, Clone)]
pub struct DocFiles {
    root: PathBuf,
}

impl DocFiles {
    /// The document files of a node folder.
    pub fn new(node_root: &Path) -> Self {
        Self {
            root: node_root.to_path_buf(),
        }
    }

    /// The node folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn folder(&self) -> PathBuf {
        self.root.join("documents")
    }

    /// Where a document's sealed bytes are.
    pub fn sealed(&self, id: &str) -> PathBuf {
        self.folder().join(format!("{id}.sealed"))
    }

    fn key_path(&self) -> PathBuf {
        self.root.join("documents.key")
    }

    /// The node's document key. With `create` (the store, when adding a
    /// document), it is made on first use, atomically: the file appears
    /// whole or not at all, even on a full disk. A key file left empty or
    /// partial by an older version is replaced when no document depends on
    /// it (none in the store, no sealed file), and refused otherwise.
    ///
    /// # Errors
    /// When the key file is missing (without `create`), unreadable, open
    /// to others, or damaged while documents depend on it; when it cannot
    /// be written.
    pub fn master_key(&self, create: Option<&Store>) -> Result<Key, NodeError> {
        let path = self.key_path();
        let Some(store) = create else {
            return self.read_key(&path);
        };
        if !path.exists() {
            let key = Key::generate();
            // Of two first documents added at once, one writes the key
            // and the other reads it.
            if passerelle_certs::files::write_atomic_new(
                &path,
                hex::encode(&key.0).as_bytes(),
                0o600,
            )? {
                return Ok(key);
            }
        }
        match self.read_key(&path) {
            Err(NodeError::Dir { why, .. }) if why.starts_with(DAMAGED) => {
                let sealed = std::fs::read_dir(self.folder())
                    .map(|d| {
                        d.filter_map(Result::ok)
                            .any(|e| e.path().extension().is_some_and(|x| x == "sealed"))
                    })
                    .unwrap_or(false);
                if sealed || !store.all_documents()?.is_empty() {
                    return Err(NodeError::Dir {
                        path,
                        why: "the document key is empty or damaged (a disk that was full when an older version wrote it leaves it so) and documents are sealed under it: restore documents.key from your backup (passerelle-node restore); do not delete it".into(),
                    });
                }
                tracing::warn!(path = %path.display(), "document key empty or damaged and no document uses it: making a new one");
                let key = Key::generate();
                passerelle_certs::files::write_atomic(
                    &path,
                    hex::encode(&key.0).as_bytes(),
                    0o600,
                )?;
                Ok(key)
            }
            other => other,
        }
    }

    fn read_key(&self, path: &Path) -> Result<Key, NodeError> {
        let text = passerelle_certs::files::read_secret(path)?;
        hex::decode_array::<32>(String::from_utf8_lossy(&text).trim())
            .map(Key)
            .ok_or_else(|| NodeError::Dir {
                path: path.to_path_buf(),
                why: format!(
                    "{DAMAGED} ({} bytes, not 64 hex digits); restore it from your backup",
                    text.len()
                ),
            })
    }
}

/// How [`DocFiles::master_key`] knows a key file it read is damaged.
const DAMAGED: &str = "not a document key";

/// Checks a local person id as typed by a professional.
///
/// # Errors
/// When it is empty, too long or has control characters.
pub fn check_local_id(id: &str) -> Result<(), NodeError> {
    if id.trim().is_empty()
        || id.len() > 64
        || id.chars().any(char::is_control)
        || id.contains('\0')
    {
        return Err(Rule::BadLocalId(id.to_string()).into());
    }
    Ok(())
}

/// Adds a document without a procedure (the command line's
/// `document add`): [`deposit`].
///
/// # Errors
/// As [`deposit`].
pub fn add(
    files: &DocFiles,
    store: &Store,
    local_id: &str,
    category: &str,
    path: &Path,
    by: &str,
    now: UnixTime,
) -> Result<DocRecord, NodeError> {
    deposit(files, store, local_id, category, None, path, by, now)
}

/// Deposits a document about a person, for a procedure when one is given:
/// checks its type by content, seals it under a fresh key, then records
/// it, with who deposited it, in the store and the audit chain. Nothing
/// is recorded when any step fails. The file's name is kept as the
/// document's name.
///
/// # Errors
/// A bad person id or category; a missing, empty, too large or
/// unsupported file; a store failure.
#[allow(clippy::too_many_arguments)]
pub fn deposit(
    files: &DocFiles,
    store: &Store,
    local_id: &str,
    category: &str,
    procedure: Option<&str>,
    path: &Path,
    by: &str,
    now: UnixTime,
) -> Result<DocRecord, NodeError> {
    check_local_id(local_id)?;
    let category = Category::parse(category).map_err(Rule::UnknownCategory)?;
    let procedure = procedure
        .map(|p| p.trim().chars().take(200).collect::<String>())
        .filter(|p| !p.is_empty());
    let actor = Actor::parse(by);
    let (mut file, mime) = open_document(files, path)?;
    let id = hex::encode(&passerelle_link::random16());
    let key = Key::generate();
    let master = files.master_key(Some(store))?;
    std::fs::create_dir_all(files.folder()).map_err(io(&files.folder()))?;
    let target = files.sealed(&id);
    let tmp = target.with_extension("partial");
    // No debris sweep takes these files until the record is written.
    let _writing = crate::debris::WRITES.hold(vec![tmp.clone(), target.clone()]);
    let (sha256, total) = match seal_file(&mut file, path, &tmp, &key, &id) {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, &target).map_err(io(&target))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("document.{}", passerelle_protocol::vault::extension(mime)));
    let record = DocRecord {
        id: id.clone(),
        local_id: local_id.to_string(),
        category,
        name,
        mime: mime.to_string(),
        size: total,
        sha256,
        added_at: now,
        added_by: actor.to_string(),
        wrapped_key: seal::wrap(&master, id.as_bytes(), &key),
    };
    if let Err(e) = store.put_document(&record) {
        let _ = std::fs::remove_file(&target);
        return Err(e);
    }
    if let Some(p) = &procedure {
        store.set_procedure(&id, p)?;
    }
    store.audit(
        now,
        Event {
            actor: actor.audit(),
            action: Action::DocumentAdd,
            person: Some(local_id.to_string()),
            subject: id,
            procedure,
            detail: format!("{} {}", category.code(), record.name),
        },
    )?;
    Ok(record)
}

/// Opens a document to add: not empty, within [`MAX_DOCUMENT`], room on
/// the disk for its sealed copy, and a PDF, JPEG or PNG by its content.
/// The file, at its start, and its type.
fn open_document(
    files: &DocFiles,
    path: &Path,
) -> Result<(std::fs::File, &'static str), NodeError> {
    let mut file = std::fs::File::open(path).map_err(io(path))?;
    let size = file.metadata().map_err(io(path))?.len();
    if size == 0 {
        return Err(Rule::EmptyFile(path.to_path_buf()).into());
    }
    if size > MAX_DOCUMENT {
        return Err(Rule::TooLarge {
            path: path.to_path_buf(),
            size,
            max: MAX_DOCUMENT,
        }
        .into());
    }
    // The sealed copy is the size plus a tag per chunk and a header.
    let sealed_size = size + size / CHUNK as u64 * seal::TAG as u64 + 4096;
    passerelle_link::disk::ensure_space(files.root(), "add a document", sealed_size)?;
    let mut head = [0u8; 8];
    let n = file.read(&mut head).map_err(io(path))?;
    let mime = passerelle_protocol::vault::sniff(&head[..n])
        .ok_or_else(|| Rule::NotADocument(path.to_path_buf()))?;
    let file = std::fs::File::open(path).map_err(io(path))?;
    Ok((file, mime))
}

/// Seals `file` (read from `path`) chunk by chunk into `tmp`, synced to
/// disk: the SHA-256 of the plain content and its size.
fn seal_file(
    file: &mut std::fs::File,
    path: &Path,
    tmp: &Path,
    key: &Key,
    id: &str,
) -> Result<([u8; 32], u64), NodeError> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(tmp).map_err(io(tmp))?);
    let mut sealer = Sealer::new(key, id.as_bytes());
    out.write_all(sealer.header()).map_err(io(tmp))?;
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    let mut total = 0u64;
    let mut buf = vec![0u8; CHUNK];
    loop {
        // A short (possibly empty) chunk is the last: data that fills
        // its chunks exactly ends with an empty one.
        let filled = read_full(file, &mut buf).map_err(io(path))?;
        let mut chunk = buf[..filled].to_vec();
        digest.update(&chunk);
        total += filled as u64;
        let last = filled < CHUNK;
        sealer
            .seal_chunk(&mut chunk, last)
            .map_err(|e| NodeError::Refused(e.to_string()))?;
        out.write_all(&chunk).map_err(io(tmp))?;
        if last {
            break;
        }
    }
    let written = out.into_inner().map_err(|e| NodeError::Io {
        path: tmp.to_path_buf(),
        source: e.into_error(),
    })?;
    written.sync_all().map_err(io(tmp))?;
    let hash: [u8; 32] = digest.finish().as_ref().try_into().expect("sha-256");
    Ok((hash, total))
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Removes a document: its record, then its sealed file.
///
/// # Errors
/// When there is no such document, or the store fails.
pub fn remove(
    files: &DocFiles,
    store: &Store,
    id: &str,
    by: &str,
    now: UnixTime,
) -> Result<DocRecord, NodeError> {
    let doc = store
        .document(id)?
        .ok_or_else(|| Rule::UnknownDocument(id.to_string()))?;
    store.remove_document(&doc)?;
    store.forget_procedure(id)?;
    let path = files.sealed(id);
    std::fs::remove_file(&path).map_err(io(&path))?;
    store.audit(
        now,
        Event {
            actor: Actor::parse(by).audit(),
            action: Action::DocumentRemove,
            person: Some(doc.local_id.clone()),
            subject: doc.id.clone(),
            procedure: None,
            detail: String::new(),
        },
    )?;
    Ok(doc)
}

/// Opens a document's sealed file for streaming: the opener and the file
/// positioned after the header.
///
/// # Errors
/// When the key or the file is unusable.
pub fn open(files: &DocFiles, doc: &DocRecord) -> Result<(seal::Opener, std::fs::File), NodeError> {
    let master = files.master_key(None)?;
    let key = seal::unwrap(&master, doc.id.as_bytes(), &doc.wrapped_key)
        .map_err(|e| NodeError::Refused(format!("document {}: {e}", doc.id)))?;
    let path = files.sealed(&doc.id);
    let mut file = std::fs::File::open(&path).map_err(io(&path))?;
    let mut header = [0u8; seal::HEADER_LEN];
    file.read_exact(&mut header).map_err(io(&path))?;
    let opener = seal::Opener::new(&key, doc.id.as_bytes(), &header)
        .map_err(|e| NodeError::Refused(format!("document {}: {e}", doc.id)))?;
    Ok((opener, file))
}

/// Reads a whole document, checking its hash (for `document export` and
/// tests; the link streams instead).
///
/// # Errors
/// When it does not open or its hash does not match.
pub fn read(files: &DocFiles, doc: &DocRecord) -> Result<Vec<u8>, NodeError> {
    let (mut opener, mut file) = open(files, doc)?;
    let path = files.sealed(&doc.id);
    let mut out = Vec::with_capacity(doc.size as usize);
    let plan: Vec<usize> = chunk_plan(doc.size).collect();
    for (i, len) in plan.iter().enumerate() {
        let mut chunk = vec![0u8; len + seal::TAG];
        file.read_exact(&mut chunk).map_err(io(&path))?;
        opener
            .open_chunk(&mut chunk, i + 1 == plan.len())
            .map_err(|e| NodeError::Refused(format!("document {}: {e}", doc.id)))?;
        out.extend_from_slice(&chunk);
    }
    if passerelle_protocol::sign::sha256(&out) != doc.sha256 {
        return Err(NodeError::Refused(format!(
            "document {}: content does not match its hash",
            doc.id
        )));
    }
    Ok(out)
}

/// The chunk plan of a document of `size` bytes: the plaintext length of
/// each sealed chunk, in order (the last one is sealed as last).
pub fn chunk_plan(size: u64) -> impl Iterator<Item = usize> {
    let full = size / CHUNK as u64;
    let rest = (size % CHUNK as u64) as usize;
    // A final empty chunk closes data that fills its chunks exactly.
    (0..full).map(|_| CHUNK).chain(std::iter::once(rest))
}

/// What the node needs to decide on a document query.
pub struct Gate<'a> {
    /// The store.
    pub store: &'a Store,
    /// The hub's certified key (consents must verify under it).
    pub hub: &'a PublicKey,
    /// This node.
    pub me: &'a NodeId,
    /// Now.
    pub now: UnixTime,
}

impl Gate<'_> {
    fn local(&self, person: &Pseudonym) -> Result<String, Refusal> {
        self.store
            .local_id(person)
            .map_err(|e| Refusal::Unavailable(e.to_string()))?
            .ok_or(Refusal::Access(AccessRefusal::NotLinked))
    }

    fn consent(
        &self,
        person: &Pseudonym,
        requester: &Requester,
        doc: Option<&DocSummary>,
    ) -> Result<Option<passerelle_protocol::vault::Consent>, AccessRefusal> {
        match requester {
            Requester::Person => Ok(None),
            Requester::Professional {
                institution,
                account,
                consent,
            } => check_consent(
                consent,
                self.hub,
                self.me,
                person,
                institution,
                account,
                doc,
                self.now,
                &|id| self.store.consent_revoked(id),
            )
            .map(Some),
        }
    }

    fn log(
        &self,
        requester: &Requester,
        action: Action,
        person: &Pseudonym,
        subject: &str,
        procedure: Option<String>,
        detail: String,
    ) -> bool {
        let event = Event {
            actor: passerelle_protocol::audit::Actor::from(requester),
            action,
            person: Some(person.0.clone()),
            subject: subject.into(),
            procedure,
            detail,
        };
        match self.store.audit(self.now, event) {
            Ok(_) => true,
            Err(error) => {
                tracing::error!(%error, "audit record not written; access refused");
                false
            }
        }
    }

    /// The documents a requester may see of a person; logged.
    ///
    /// # Errors
    /// The refusal, logged too.
    pub fn list(
        &self,
        person: &Pseudonym,
        requester: &Requester,
    ) -> Result<Vec<DocSummary>, Refusal> {
        let result = (|| {
            let local = self.local(person)?;
            let consent = self
                .consent(person, requester, None)
                .map_err(Refusal::Access)?;
            let docs = self
                .store
                .documents_of(&local)
                .map_err(|e| Refusal::Unavailable(e.to_string()))?
                .iter()
                .map(DocRecord::summary)
                .filter(|d| consent.as_ref().is_none_or(|c| c.scope.covers(d)))
                .collect::<Vec<_>>();
            Ok::<_, Refusal>((docs, consent.map(|c| c.procedure)))
        })();
        match result {
            Ok((docs, procedure)) => {
                let recorded = self.log(
                    requester,
                    Action::List,
                    person,
                    "-",
                    procedure,
                    format!("{} document(s)", docs.len()),
                );
                if !recorded {
                    return Err(Refusal::Unavailable(
                        "the access log cannot be written".into(),
                    ));
                }
                Ok(docs)
            }
            Err(r) => {
                self.log(
                    requester,
                    Action::ListRefused,
                    person,
                    "-",
                    None,
                    r.to_string(),
                );
                Err(r)
            }
        }
    }

    /// Decides on a fetch; logged. The caller streams the document.
    ///
    /// # Errors
    /// The refusal, logged too.
    pub fn fetch(
        &self,
        person: &Pseudonym,
        id: &str,
        requester: &Requester,
    ) -> Result<DocRecord, Refusal> {
        let result = (|| {
            let local = self.local(person)?;
            let doc = self
                .store
                .document(id)
                .map_err(|e| Refusal::Unavailable(e.to_string()))?
                .filter(|d| d.local_id == local)
                .ok_or(Refusal::Access(AccessRefusal::NoSuchDocument))?;
            let consent = self
                .consent(person, requester, Some(&doc.summary()))
                .map_err(Refusal::Access)?;
            Ok::<_, Refusal>((doc, consent.map(|c| c.procedure)))
        })();
        match result {
            Ok((doc, procedure)) => {
                if !self.log(
                    requester,
                    Action::Download,
                    person,
                    id,
                    procedure,
                    String::new(),
                ) {
                    return Err(Refusal::Unavailable(
                        "the access log cannot be written".into(),
                    ));
                }
                Ok(doc)
            }
            Err(r) => {
                self.log(
                    requester,
                    Action::DownloadRefused,
                    person,
                    id,
                    None,
                    r.to_string(),
                );
                Err(r)
            }
        }
    }
}

#[cfg(test)]
#[path = "vault_tests.rs"]
mod tests;
