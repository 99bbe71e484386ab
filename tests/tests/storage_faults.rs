//! Storage faults, for real: node and hub folders on small tmpfs mounts
//! that the tests fill (as root; skipped with a printed reason
//! otherwise), and an fsync error injected under the store.
//!
//! - Commands on a full disk end within seconds with a message naming the
//!   folder, the space needed and free, and the fix.
//! - A document added on a full disk leaves no key file behind, and the
//!   next one works once there is room.
//! - A running node and hub say "degraded" on `/healthz` (503) and in
//!   their metrics while writes fail, and recover without a restart once
//!   space is freed.
//! - An fsync error when the store closes (sled 0.34 panics there) is
//!   contained: the process carries on and says so.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use passerelle_config::NodeConfig;
use passerelle_tests::{
    disk::{tmpfs_or_skip, Tmpfs},
    eventually, http_bytes, http_get, multipart, node_exe,
    process::{run_cli, NodeProcess},
    rows, rows_csv,
    vault::{create_account, csrf, pdf},
    wait_connected, Net,
};

/// A command that has not ended by then hangs.
const PATIENCE: Duration = Duration::from_secs(20);
/// How soon "within seconds" is.
const PROMPT: Duration = Duration::from_secs(10);
/// Size of each small filesystem.
const SMALL: u64 = 24 << 20;

fn import_args<'a>(dir: &'a str, file: &'a str) -> Vec<&'a str> {
    vec![
        "--dir",
        dir,
        "import",
        "--dataset",
        "personnes_recues",
        "--by",
        "agent-b",
        file,
    ]
}

/// Says that a command ended promptly, failed, and named the full disk
/// with its fix.
fn assert_clear_full_disk_error(
    what: &str,
    f: &passerelle_tests::process::Finished,
    folder: &Path,
) {
    assert!(
        f.code.is_some(),
        "{what} hung: killed after {:?}\n{}",
        f.took,
        f.output
    );
    assert!(f.took < PROMPT, "{what} took {:?}\n{}", f.took, f.output);
    assert_eq!(f.code, Some(1), "{what} did not fail:\n{}", f.output);
    let out = &f.output;
    assert!(
        out.contains("not enough free space") && out.contains("free") && out.contains("df -h"),
        "{what}: {out}"
    );
    assert!(
        out.contains(&folder.display().to_string()),
        "{what} does not name {}: {out}",
        folder.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_and_doctor_on_a_full_disk_end_within_seconds_with_a_clear_error() {
    let net = Net::new();
    let Some(disk) = tmpfs_or_skip(
        "import_and_doctor_on_a_full_disk",
        &net.node_dir("asso-a"),
        SMALL,
    ) else {
        return;
    };
    let hub = net.start_hub(None).await;
    let csv = rows_csv(&rows(1, &["2025-T1"]));
    let root = net.data_node_dir(&hub, "asso-a", Some(&csv), false).await;
    let file = net.tmp.path().join("recues2.csv");
    std::fs::write(&file, rows_csv(&rows(2, &["2025-T2", "2025-T3"]))).unwrap();
    let (dir, path) = (root.to_str().unwrap(), file.to_str().unwrap());
    disk.fill();

    // Without a running node: the command opens the store itself.
    let import = run_cli(node_exe!(), &import_args(dir, path), PATIENCE);
    assert!(
        import.code.is_some() && import.took < PROMPT,
        "import hung: {import:?}"
    );
    assert_eq!(import.code, Some(1), "{}", import.output);
    assert!(
        import.output.contains("disk is full") || import.output.contains("not enough free space"),
        "{}",
        import.output
    );
    let doctor = run_cli(node_exe!(), &["--dir", dir, "doctor"], PATIENCE);
    assert!(
        doctor.code.is_some() && doctor.took < PROMPT,
        "doctor hung: {doctor:?}"
    );
    assert!(doctor.output.contains("FAIL disk"), "{}", doctor.output);

    // With a running node (its log kept off the full disk): the import
    // goes through it and is refused before anything is written.
    disk.free();
    let mut node =
        NodeProcess::spawn_logging_to(node_exe!(), &root, &net.tmp.path().join("node.log"));
    wait_connected(&hub, "asso-a").await;
    disk.fill();
    let import = run_cli(node_exe!(), &import_args(dir, path), PATIENCE);
    assert_clear_full_disk_error(
        "import through the running node",
        &import,
        &root.join("store"),
    );
    let doctor = run_cli(node_exe!(), &["--dir", dir, "doctor"], PATIENCE);
    assert!(
        doctor.code.is_some() && doctor.took < PROMPT,
        "doctor hung: {doctor:?}"
    );
    assert!(doctor.output.contains("FAIL disk"), "{}", doctor.output);
    assert!(node.running(), "the node died:\n{}", node.log());

    // Space back: the same import works, through the same process.
    disk.free();
    let import = run_cli(node_exe!(), &import_args(dir, path), PATIENCE);
    assert_eq!(import.code, Some(0), "{}", import.output);
    assert!(node.running());
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_added_on_a_full_disk_leaves_no_key_and_the_next_one_works() {
    let net = Net::new();
    let Some(disk) = tmpfs_or_skip(
        "a_document_added_on_a_full_disk",
        &net.node_dir("asso-a"),
        SMALL,
    ) else {
        return;
    };
    let hub = net.start_hub(None).await;
    let root = net.data_node_dir(&hub, "asso-a", None, false).await;
    hub.stop().await;
    let pdf = net.tmp.path().join("piece.pdf");
    std::fs::write(&pdf, passerelle_tests::vault::pdf(b"piece", 64)).unwrap();
    let dir = root.to_str().unwrap();
    let add = [
        "--dir",
        dir,
        "document",
        "add",
        "--person",
        "P1",
        "--category",
        "identity",
        "--by",
        "agent",
        pdf.to_str().unwrap(),
    ];
    let key = root.join("documents.key");

    for left in [0, 64 << 10] {
        disk.fill_leaving(left);
        let f = run_cli(node_exe!(), &add, PATIENCE);
        assert_clear_full_disk_error("document add", &f, &root);
        assert!(
            !key.exists(),
            "a key file was left: {:?}",
            std::fs::read(&key)
        );
        assert_no_debris(&root);
        disk.free();
    }

    let f = run_cli(node_exe!(), &add, PATIENCE);
    assert_eq!(f.code, Some(0), "{}", f.output);
    assert_eq!(std::fs::read(&key).unwrap().len(), 64);
    let f = run_cli(node_exe!(), &add, PATIENCE);
    assert_eq!(f.code, Some(0), "{}", f.output);
}

/// No temporary or partial file anywhere in the folder.
fn assert_no_debris(root: &Path) {
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().map(Result::unwrap) {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(
                !name.ends_with(".tmp") && !name.ends_with(".partial"),
                "debris: {}",
                p.display()
            );
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
}

/// Writes small records until one fails; returns its error text.
fn write_until_it_fails(what: &str, mut write: impl FnMut(u64) -> Result<(), String>) -> String {
    let started = Instant::now();
    for i in 0..20_000 {
        if let Err(e) = write(i) {
            eprintln!("{what}: write {i} failed after {:?}", started.elapsed());
            return e;
        }
        if i % 500 == 0 {
            eprintln!("{what}: {i} writes, {:?}", started.elapsed());
        }
    }
    panic!("{what}: every write succeeded on a full disk");
}

async fn healthz(addr: std::net::SocketAddr) -> (u16, String) {
    let (status, _, body) = http_get(addr, "/healthz").await;
    (status, body)
}

async fn gauge(addr: std::net::SocketAddr) -> String {
    let (_, _, body) = http_get(addr, "/metrics").await;
    body.lines()
        .find(|l| l.starts_with("passerelle_storage_degraded "))
        .unwrap_or("passerelle_storage_degraded missing")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_node_and_hub_say_degraded_while_full_and_recover_without_restart() {
    let mut mounts: Vec<Tmpfs> = Vec::new();
    let mut skipped = false;
    let net =
        Net::new_with(
            |tmp| match tmpfs_or_skip("degraded_and_recover", &tmp.join("hub"), SMALL) {
                Some(m) => mounts.push(m),
                None => skipped = true,
            },
        );
    // Damages or restores the hub's sled store itself.
    net.use_sled();
    if skipped {
        return;
    }
    let Some(node_disk) = tmpfs_or_skip("degraded_and_recover", &net.node_dir("asso-a"), SMALL)
    else {
        return;
    };
    let hub_disk = mounts.pop().unwrap();
    let hub = net.start_hub(None).await;
    let root = net.data_node_dir(&hub, "asso-a", None, false).await;
    let path = root.join("node.toml");
    let mut config = NodeConfig::load(&path).unwrap();
    config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    std::fs::write(&path, config.template()).unwrap();
    let node = passerelle_node::serve::start(&root)
        .await
        .expect("node starts");
    let node_http = node.metrics_addr().expect("metrics served");
    wait_connected(&hub, "asso-a").await;
    assert_eq!(healthz(hub.http_addr).await, (200, "ok".into()));
    assert_eq!(healthz(node_http).await.0, 200);
    let awa = create_account(&hub, "awa@exemple.fr", "motdepasse-awa").await;
    let token = csrf(&hub, &awa).await;
    let upload = || {
        let (addr, cookie, token) = (hub.http_addr, awa.clone(), token.clone());
        async move {
            let (ct, body) = multipart(&[
                ("csrf", None, token.as_bytes()),
                ("type", None, b"housing"),
                ("fichier", Some("quittance.pdf"), &pdf(b"QUITTANCE", 40)),
            ]);
            let (s, _, b) = http_bytes(
                addr,
                "POST",
                "/coffre/depots",
                &[("Cookie", &cookie), ("Content-Type", &ct)],
                &body,
            )
            .await;
            (s, String::from_utf8_lossy(&b).into_owned())
        }
    };

    // Fill both disks: an ordinary write is refused before the engine
    // sees it, with the folder and the fix, and both say "degraded".
    hub_disk.fill();
    node_disk.fill();
    let store = hub.ctx().hub.store.clone();
    let anchor = |i: u64| passerelle_hub_core::store::AuditAnchor {
        records: i,
        hash: [7; 32],
        seen_at: i,
        broken: None,
    };
    let hub_error = store
        .put_audit_anchor(
            &passerelle_protocol::ids::NodeId::new("n0").unwrap(),
            &anchor(0),
        )
        .unwrap_err()
        .to_string();
    assert!(
        hub_error.contains("not enough free space")
            && hub_error.contains(&store.folder().display().to_string()),
        "{hub_error}"
    );
    let node_store = node.shared().store().clone();
    let query = |i: u64| passerelle_node::store::QueryRecord {
        at: i,
        query_id: format!("{i:032}"),
        kind: "status".into(),
        outcome: "answered".into(),
        reason: String::new(),
    };
    let node_error = node_store.record_query(&query(0)).unwrap_err().to_string();
    assert!(node_error.contains("not enough free space"), "{node_error}");
    for (who, addr) in [("hub", hub.http_addr), ("node", node_http)] {
        let (status, body) = healthz(addr).await;
        assert_eq!(status, 503, "{who}: {body}");
        assert!(
            body.starts_with("degraded: ") && body.contains("free space"),
            "{who}: {body}"
        );
        assert_eq!(gauge(addr).await, "passerelle_storage_degraded 1", "{who}");
    }
    let status = passerelle_node::admin::status(&root).await.unwrap();
    assert!(status.storage_degraded.is_some(), "{status:?}");
    let (status, page) = upload().await;
    assert_eq!(status, 507, "{page}");
    assert!(
        page.contains("manque d&#39;espace disque") || page.contains("manque d'espace disque"),
        "{page}"
    );

    // Then the engine itself meets the full disk (writes that bypass the
    // check, as a restore's staging does): sled fails, and from then on
    // refuses every write until it is opened again.
    use passerelle_link::backup::Staging;
    let hub_engine = write_until_it_fails("hub", |i| {
        Staging::insert(&store, b"fill", &i.to_be_bytes(), &[1; 64 << 10])
            .and_then(|()| Staging::flush(&store))
            .map_err(|e| e.to_string())
    });
    assert!(hub_engine.contains("disk is full"), "{hub_engine}");
    let node_engine = write_until_it_fails("node", |i| {
        Staging::insert(&node_store, b"fill", &i.to_be_bytes(), &[1; 64 << 10])
            .and_then(|()| Staging::flush(&node_store))
            .map_err(|e| e.to_string())
    });
    assert!(node_engine.contains("disk is full"), "{node_engine}");
    assert_eq!(healthz(hub.http_addr).await.0, 503);
    assert_eq!(healthz(node_http).await.0, 503);

    // Space back: both recover by themselves, and write again.
    let freed = Instant::now();
    hub_disk.free();
    node_disk.free();
    for (who, addr) in [("hub", hub.http_addr), ("node", node_http)] {
        eventually(
            &format!("{who} healthy again"),
            Duration::from_secs(30),
            || async move { healthz(addr).await.0 == 200 },
        )
        .await;
        assert_eq!(gauge(addr).await, "passerelle_storage_degraded 0", "{who}");
    }
    eprintln!("recovered {:?} after space was freed", freed.elapsed());
    store
        .put_audit_anchor(
            &passerelle_protocol::ids::NodeId::new("after").unwrap(),
            &anchor(1),
        )
        .expect("the hub writes again");
    node_store
        .record_query(&query(1))
        .expect("the node writes again");
    assert!(passerelle_node::admin::status(&root)
        .await
        .unwrap()
        .storage_degraded
        .is_none());
    node.stop().await;
    hub.stop().await;
}

/// The descriptor of a store's `db` file in this process.
fn db_fd(store: &Path) -> i32 {
    let db = store.join("db").canonicalize().unwrap();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(Result::ok)
        .find_map(|e| {
            let target = std::fs::read_link(e.path()).ok()?;
            (target == db).then(|| e.file_name().to_string_lossy().parse().ok())?
        })
        .expect("the store's db file is open")
}

/// Puts a pipe where the store's file was: an `fsync` on it fails
/// (EINVAL), as it would on a failing disk.
fn fail_fsync_under(store: &Path) {
    let fd = db_fd(store);
    let mut pipe = [0i32; 2];
    // SAFETY: plain syscalls on descriptors this test owns; `fd` stays
    // open (now a pipe) for the engine, which only fails on it.
    unsafe {
        assert_eq!(libc::pipe(pipe.as_mut_ptr()), 0);
        assert!(libc::dup2(pipe[1], fd) >= 0);
        libc::close(pipe[0]);
        libc::close(pipe[1]);
    }
}

#[test]
fn sled_itself_panics_on_an_fsync_error_when_closing() {
    // The evidence for the containment below: sled 0.34's `Drop for Log`
    // unwraps `sync_all`.
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let db = sled::Config::new().path(&store).open().unwrap();
    db.insert(b"k", b"v").unwrap();
    db.flush().unwrap();
    fail_fsync_under(&store);
    let closed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(db)));
    assert!(
        closed.is_err(),
        "sled no longer panics here: the containment may go"
    );
}

#[test]
fn an_fsync_error_after_an_import_commit_does_not_panic_and_the_data_stays() {
    passerelle_tests::setup();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store");
    let (datasets, policy) = passerelle_tests::recues_config(false);
    let toml = dir.path().join("node.toml");
    std::fs::write(&toml, "node_id = \"asso-a\"\nhub = \"127.0.0.1:4433\"\n").unwrap();
    let mut config = NodeConfig::load(&toml).unwrap();
    (config.datasets, config.policy) = (datasets, policy);
    let csv = dir.path().join("recues.csv");
    std::fs::write(&csv, rows_csv(&rows(3, &["2025-T1"]))).unwrap();
    let store = passerelle_node::store::Store::open(&path).unwrap();
    let batch = passerelle_node::batches::import_file(
        &config,
        &store,
        "personnes_recues",
        &csv,
        "agent",
        1,
        &mut |_| {},
    )
    .expect("import commits");
    fail_fsync_under(&path);
    // Closing runs sled's fsync, which fails: sled panics, the store
    // contains it and says so.
    let closed = store.close().unwrap_err().to_string();
    assert!(
        closed.contains("failed while closing (contained)"),
        "{closed}"
    );
    let store = passerelle_node::store::Store::open(&path).expect("the store opens again");
    let batches = store.batches().unwrap();
    assert_eq!(
        batches.first().map(|b| b.id),
        Some(batch.id),
        "the committed batch is there"
    );
}
