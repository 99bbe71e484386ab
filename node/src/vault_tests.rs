use super::*;

fn setup() -> (tempfile::TempDir, DocFiles, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let files = DocFiles::new(dir.path());
    (dir, files, store)
}

#[test]
fn an_empty_document_key_is_replaced_only_while_no_document_needs_it() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, files, store) = setup();
    let key = dir.path().join("documents.key");
    // What an older version left on a full disk: an empty key file.
    std::fs::write(&key, b"").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    let pdf = dir.path().join("a.pdf");
    std::fs::write(&pdf, b"%PDF-1.4 first").unwrap();
    let first = add(&files, &store, "P1", "identity", &pdf, "agent", 1).unwrap();
    assert_eq!(std::fs::read(&key).unwrap().len(), 64);
    assert_eq!(read(&files, &first).unwrap(), b"%PDF-1.4 first");
    // Damaged while a document is sealed under it: refused, not replaced.
    std::fs::write(&key, b"0123").unwrap();
    let err = add(&files, &store, "P1", "identity", &pdf, "agent", 2)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("restore documents.key from your backup"),
        "{err}"
    );
    assert_eq!(std::fs::read(&key).unwrap(), b"0123");
    assert_eq!(store.all_documents().unwrap().len(), 1);
}

#[test]
fn bad_files_are_refused_and_leave_nothing_behind() {
    let (dir, files, store) = setup();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let cases = [
        (
            write("notes.txt", b"hello"),
            "identity",
            "not a PDF, JPEG or PNG",
        ),
        (write("empty.pdf", b""), "identity", "empty"),
        (
            write("ok.pdf", b"%PDF-1.4 x"),
            "passport",
            "unknown category",
        ),
        (dir.path().join("missing.pdf"), "identity", "No such file"),
    ];
    for (path, category, says) in cases {
        let err = add(&files, &store, "P1", category, &path, "agent", 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains(says), "{}: {err}", path.display());
    }
    let err = add(
        &files,
        &store,
        "",
        "identity",
        &dir.path().join("ok.pdf"),
        "agent",
        1,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("--person"), "{err}");
    assert!(store.all_documents().unwrap().is_empty());
    let folder = dir.path().join("documents");
    assert!(!folder.exists() || std::fs::read_dir(&folder).unwrap().next().is_none());
}

#[test]
fn documents_round_trip_sealed_and_are_removed_for_good() {
    let (dir, files, store) = setup();
    // Exactly two chunks, then one byte more: both ends of the chunk plan.
    for len in [2 * CHUNK, 2 * CHUNK + 1] {
        let mut content = b"%PDF-1.4\n".to_vec();
        content.resize(len, b'z');
        let p = dir.path().join("doc.pdf");
        std::fs::write(&p, &content).unwrap();
        let d = add(&files, &store, "P1", "housing", &p, "agent", 5).unwrap();
        assert_eq!(
            (d.size, d.mime.as_str(), d.category),
            (len as u64, "application/pdf", Category::Housing)
        );
        let sealed = std::fs::read(files.sealed(&d.id)).unwrap();
        assert_eq!(sealed.len() as u64, seal::sealed_len(len as u64));
        assert!(
            !sealed.windows(64).any(|w| w == [b'z'; 64]),
            "plaintext on disk"
        );
        assert_eq!(read(&files, &d).unwrap(), content);
        remove(&files, &store, &d.id, "agent", 6).unwrap();
        assert!(!files.sealed(&d.id).exists());
        assert!(store.document(&d.id).unwrap().is_none());
    }
    let report = store.audit_verify().unwrap().unwrap();
    assert_eq!(report.records, 4, "two adds and two removals logged");
    // The document key is owner-only.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("documents.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}
