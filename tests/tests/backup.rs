//! Backup while serving, and restore: a node answering queries and taking
//! documents while its backup runs; the archive restores to a store where
//! every record checks and every document opens.

use passerelle_node::admin::{self, Request, Response};
use passerelle_tests::{rows, rows_csv, Net};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_backup_while_serving_restores_whole() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let node = net
        .data_node(
            &hub,
            "asso-a",
            Some(&rows_csv(&rows(11, &["2025-T1", "2025-T2"]))),
            false,
        )
        .await;
    let root = net.node_dir("asso-a");
    let files = tempfile::tempdir().unwrap();
    let add = |i: usize| {
        let root = root.clone();
        let path = files.path().join(format!("d{i}.pdf"));
        std::fs::write(&path, format!("%PDF-1.4 document {i}\n%%EOF\n")).unwrap();
        async move {
            admin::request(
                &root,
                Request::DocumentAdd {
                    local_id: format!("P{}", i % 3),
                    category: "housing".into(),
                    path,
                    by: "t".into(),
                },
                &mut |_| {},
            )
            .await
            .unwrap()
        }
    };
    for i in 0..5 {
        add(i).await;
    }
    // Documents keep arriving while backups are taken, until one backup's
    // snapshot holds more documents than had been acknowledged when it was
    // requested (a write in flight landed before its cut) and fewer than in
    // the end (writes went on after its cut).
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    let done = AtomicUsize::new(5);
    let stop = AtomicBool::new(false);
    let adds: Vec<_> = (5..400).map(add).collect();
    let writer = async {
        for a in adds {
            if stop.load(SeqCst) {
                break;
            }
            a.await;
            done.fetch_add(1, SeqCst);
        }
    };
    let archive = net.tmp.path().join("node-backup.tar");
    let records_in = |summary: &passerelle_link::backup::Summary, name: &str| {
        summary
            .trees
            .iter()
            .find(|(t, _)| t == name)
            .map_or(0, |(_, n)| *n as usize)
    };
    let backups = async {
        let mut taken = None;
        for _ in 0..50 {
            let before = done.load(SeqCst);
            let Response::Backup(summary, _) = admin::request(
                &root,
                Request::Backup {
                    to: archive.clone(),
                    include_keys: true,
                },
                &mut |_| {},
            )
            .await
            .unwrap() else {
                panic!()
            };
            if records_in(&summary, "documents") > before {
                taken = Some(summary);
                break;
            }
        }
        let summary = taken.expect("no backup saw a write land while it ran");
        // Let a few more land after the cut, then stop the writer.
        let cut = records_in(&summary, "documents");
        passerelle_tests::eventually(
            "writes after the backup",
            std::time::Duration::from_secs(20),
            || {
                let n = done.load(SeqCst);
                async move { n > cut + 2 }
            },
        )
        .await;
        stop.store(true, SeqCst);
        summary
    };
    let ((), summary) = tokio::join!(writer, backups);
    let cut = records_in(&summary, "documents");
    let Response::Documents(all) =
        admin::request(&root, Request::Documents { local_id: None }, &mut |_| {})
            .await
            .unwrap()
    else {
        panic!()
    };
    assert!(
        all.len() > cut,
        "{} documents in all, {cut} in the backup",
        all.len()
    );
    // The archive is a plain tar, owner-only.
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&archive).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let listing = std::process::Command::new("tar")
        .arg("-tf")
        .arg(&archive)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(
        listing.contains("MANIFEST")
            && listing.contains("store.dump")
            && listing.contains("files/documents/"),
        "{listing}"
    );
    let snapshot_docs = summary
        .files
        .iter()
        .filter(|f| f.starts_with("documents/"))
        .count();
    assert!(snapshot_docs >= 5, "{summary:?}");
    let records = |name: &str| {
        summary
            .trees
            .iter()
            .find(|(t, _)| t == name)
            .map_or(0, |(_, n)| *n)
    };
    assert_eq!(
        records("documents") as usize,
        snapshot_docs,
        "every document record has its file, and no more"
    );

    // Restore is refused while serving.
    let err = admin::request(
        &root,
        Request::Restore {
            from: archive.clone(),
        },
        &mut |_| {},
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("stop the node first"), "{err}");
    node.stop().await;

    // Lose the store and the documents; restore; everything is back.
    std::fs::remove_dir_all(root.join("store")).unwrap();
    std::fs::remove_dir_all(root.join("documents")).unwrap();
    let Response::Backup(_, aside) = admin::request(
        &root,
        Request::Restore {
            from: archive.clone(),
        },
        &mut |_| {},
    )
    .await
    .unwrap() else {
        panic!()
    };
    assert!(aside.is_none());
    let store = passerelle_node::store::Store::open(&root.join("store")).unwrap();
    let docs = passerelle_node::vault::DocFiles::new(&root);
    assert_eq!(store.check(&docs).unwrap(), Vec::<String>::new());
    let restored = store.all_documents().unwrap();
    assert_eq!(restored.len(), snapshot_docs);
    for d in &restored {
        let bytes = passerelle_node::vault::read(&docs, d).unwrap();
        assert!(bytes.starts_with(b"%PDF-1.4 document "));
    }
    assert_eq!(
        store.datasets().unwrap(),
        vec!["personnes_recues".to_string()]
    );
    assert!(store.audit_verify().unwrap().is_ok());
    drop(store);

    // A damaged archive is refused and the store is left as it was.
    let mut bytes = std::fs::read(&archive).unwrap();
    bytes.truncate(bytes.len() / 2);
    let cut = net.tmp.path().join("cut.tar");
    std::fs::write(&cut, &bytes).unwrap();
    let err = admin::request(&root, Request::Restore { from: cut }, &mut |_| {})
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("cut short"), "{err}");
    let store = passerelle_node::store::Store::open(&root.join("store")).unwrap();
    assert_eq!(store.all_documents().unwrap().len(), snapshot_docs);
    drop(store);

    // The restored node serves again.
    let node = passerelle_node::serve::start(&root).await.unwrap();
    passerelle_tests::wait_connected(&hub, "asso-a").await;
    node.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_backup_while_serving_restores_accounts_uploads_and_the_audit_chain() {
    use passerelle_hub::admin::{Request as HubRequest, Response as HubResponse};
    use passerelle_vault::{accounts, store::VaultStore, uploads};
    let net = Net::new();
    // Damages or restores the hub's sled store itself.
    net.use_sled();
    let hub = net.start_hub(None).await;
    let ctx = hub.ctx().clone();
    let created =
        accounts::create(&ctx.vault().store, "0639777777", "mot de passe", None, 1).unwrap();
    let pdf = b"%PDF-1.4 bail de location\n%%EOF\n".to_vec();
    let up = uploads::store(
        &ctx.hub.dir.vault(),
        &ctx.vault().store,
        &created.account.id,
        &created.key,
        "bail.pdf",
        passerelle_protocol::vault::Category::Housing,
        "application/pdf",
        &pdf,
        2,
    )
    .unwrap();
    ctx.vault().log(passerelle_protocol::audit::Event {
        actor: passerelle_protocol::audit::Actor::Person,
        action: passerelle_protocol::audit::Action::Upload,
        person: Some(created.account.id.clone()),
        subject: up.id.clone(),
        procedure: None,
        detail: String::new(),
    });
    // Access records keep arriving while backups are taken, until one
    // backup's snapshot holds more than had been written when it was
    // requested (a write in flight landed before its cut); a few more land
    // after it.
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
    let written = std::sync::Arc::new(AtomicU64::new(1));
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let writer = {
        let (written, stop, person) = (written.clone(), stop.clone(), created.account.id.clone());
        tokio::task::spawn_blocking(move || {
            while !stop.load(SeqCst) && written.load(SeqCst) < 5_000 {
                ctx.vault().log(passerelle_protocol::audit::Event {
                    actor: passerelle_protocol::audit::Actor::Person,
                    action: passerelle_protocol::audit::Action::Download,
                    person: Some(person.clone()),
                    subject: "bail".into(),
                    procedure: None,
                    detail: String::new(),
                });
                written.fetch_add(1, SeqCst);
            }
        })
    };
    let archive = net.tmp.path().join("hub-backup.tar");
    let audit_in = |summary: &passerelle_link::backup::Summary| {
        summary
            .trees
            .iter()
            .find(|(t, _)| t == "vault_audit")
            .map_or(0, |(_, n)| *n)
    };
    let mut taken = None;
    for _ in 0..50 {
        let before = written.load(SeqCst);
        let HubResponse::Backup(summary, _) = passerelle_hub::admin::request(
            &net.hub_dir(),
            HubRequest::Backup {
                to: archive.clone(),
                include_keys: false,
            },
        )
        .await
        .unwrap() else {
            panic!()
        };
        if audit_in(&summary) > before {
            taken = Some(summary);
            break;
        }
    }
    let summary = taken.expect("no backup saw a write land while it ran");
    let cut = audit_in(&summary);
    passerelle_tests::eventually(
        "writes after the backup",
        std::time::Duration::from_secs(20),
        || {
            let n = written.load(SeqCst);
            async move { n > cut + 2 }
        },
    )
    .await;
    stop.store(true, SeqCst);
    writer.await.unwrap();
    let head = VaultStore::new(hub.ctx().hub.store.clone())
        .audit_verify()
        .unwrap()
        .unwrap();
    assert!(
        head.records > cut,
        "{} records in all, {cut} in the backup",
        head.records
    );
    assert!(
        summary
            .files
            .iter()
            .any(|f| f == &format!("vault/uploads/{}.sealed", up.id)),
        "{summary:?}"
    );
    assert!(
        !summary.files.iter().any(|f| f.ends_with(".key")),
        "keys only when asked"
    );
    let err = passerelle_hub::admin::request(
        &net.hub_dir(),
        HubRequest::Restore {
            from: archive.clone(),
        },
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("stop the hub first"), "{err}");
    hub.stop().await;

    std::fs::remove_dir_all(net.hub_dir().join("store")).unwrap();
    std::fs::remove_dir_all(net.hub_dir().join("vault")).unwrap();
    let HubResponse::Backup(_, aside) =
        passerelle_hub::admin::request(&net.hub_dir(), HubRequest::Restore { from: archive })
            .await
            .unwrap()
    else {
        panic!()
    };
    assert!(aside.is_none());
    let store = passerelle_hub_core::store::Store::open(&net.hub_dir().join("store")).unwrap();
    let vault = VaultStore::new(store);
    let (account, key) = accounts::sign_in(&vault, "0639777777", "mot de passe")
        .unwrap()
        .expect("account restored");
    let restored = vault
        .upload(&account.id, &up.id)
        .unwrap()
        .expect("upload record restored");
    assert_eq!(
        uploads::read(&net.hub_dir().join("vault"), &restored, &key).unwrap(),
        pdf
    );
    // The restored chain is the backup's cut, whole.
    assert_eq!(vault.audit_verify().unwrap().unwrap().records, cut);
}
