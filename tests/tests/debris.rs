//! Debris of interrupted deposits and uploads: `doctor` reports it with the
//! command that removes it, `doctor --clean` and a restart remove it, the
//! metrics count it, and real documents are untouched.

use std::time::Duration;

use passerelle_node::doctor::{self, Status};
use passerelle_tests::{vault::add_document, vault::pdf, Net};

const PATIENCE: Duration = Duration::from_secs(2);

/// What a deposit killed while sealing leaves, and what one killed between
/// its file and its record leaves.
fn interrupted_deposits(root: &std::path::Path) {
    let docs = root.join("documents");
    std::fs::write(
        docs.join("0123456789abcdef0123456789abcdef.partial"),
        vec![7u8; 300_000],
    )
    .unwrap();
    std::fs::write(
        docs.join("fedcba9876543210fedcba9876543210.sealed"),
        vec![9u8; 1000],
    )
    .unwrap();
}

fn leftovers(folder: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_debris_is_reported_then_removed_by_clean_and_by_a_restart() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let node = net.node(&hub, "caf-976").await;
    let root = net.node_dir("caf-976");
    let real = add_document(
        &root,
        net.tmp.path(),
        "P1",
        "identity",
        "a.pdf",
        &pdf(b"A", 64),
    )
    .await;
    let real_file = passerelle_node::vault::DocFiles::new(&root).sealed(&real);
    let real_bytes = std::fs::read(&real_file).unwrap();
    node.stop().await;

    // Stopped: doctor reports the debris and prints the command.
    interrupted_deposits(&root);
    let r = doctor::run(&root, passerelle_link::now(), PATIENCE).await;
    let c = r.get("debris").unwrap();
    assert_eq!(c.status, Status::Warn, "{}", doctor::render(&r));
    assert!(
        c.detail
            .contains("1 partial deposit file(s) (300000 bytes)")
            && c.detail
                .contains("1 sealed file(s) without a record (1000 bytes)"),
        "{}",
        c.detail
    );
    let fix = c.fix.clone().unwrap();
    assert_eq!(
        fix,
        format!("passerelle-node doctor --clean --dir {}", root.display())
    );
    assert_eq!(
        r.get("store").unwrap().status,
        Status::Ok,
        "{}",
        doctor::render(&r)
    );

    // doctor --clean removes it.
    let removed = doctor::clean(&root).await.unwrap();
    assert_eq!((removed.count(), removed.bytes()), (2, 301_000));
    let r = doctor::run(&root, passerelle_link::now(), PATIENCE).await;
    assert_eq!(
        r.get("debris").unwrap().status,
        Status::Ok,
        "{}",
        doctor::render(&r)
    );
    assert_eq!(
        leftovers(&root.join("documents")),
        vec![format!("{real}.sealed")]
    );

    // Again, then a restart: nothing partial or orphan is left, the real
    // document is untouched, and the metrics count what was removed.
    interrupted_deposits(&root);
    let node = passerelle_node::serve::start(&root).await.unwrap();
    assert_eq!(
        leftovers(&root.join("documents")),
        vec![format!("{real}.sealed")]
    );
    assert_eq!(std::fs::read(&real_file).unwrap(), real_bytes);
    let metrics = passerelle_node::metrics::render(node.shared());
    assert!(
        metrics.contains("passerelle_node_debris_removed_total 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("passerelle_node_debris_files 0"),
        "{metrics}"
    );
    let r = doctor::run(&root, passerelle_link::now(), PATIENCE).await;
    assert_eq!(
        r.get("debris").unwrap().status,
        Status::Ok,
        "{}",
        doctor::render(&r)
    );
    assert_eq!(
        r.get("store").unwrap().status,
        Status::Ok,
        "{}",
        doctor::render(&r)
    );
    node.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vault_upload_debris_is_removed_at_start_and_real_uploads_kept() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let vault = hub.ctx().hub.dir.vault();
    let upload = passerelle_vault::uploads::store(
        &vault,
        &hub.ctx().vault().store,
        "person-1",
        &passerelle_protocol::seal::Key::generate(),
        "fiche.pdf",
        passerelle_protocol::vault::Category::Identity,
        "application/pdf",
        &pdf(b"U", 8),
        passerelle_link::now(),
    )
    .unwrap();
    let quic = hub.quic_addr;
    hub.stop().await;
    // An upload killed while writing, and one killed before its record.
    let uploads = vault.join("uploads");
    std::fs::write(
        uploads.join("0123456789abcdef0123456789abcdef.tmp"),
        vec![1u8; 5000],
    )
    .unwrap();
    std::fs::write(
        uploads.join("fedcba9876543210fedcba9876543210.sealed"),
        vec![2u8; 700],
    )
    .unwrap();
    let hub = net.start_hub(Some(quic)).await;
    assert_eq!(leftovers(&uploads), vec![format!("{}.sealed", upload.id)]);
    let (status, _, metrics) = passerelle_tests::http_get(hub.http_addr, "/metrics").await;
    assert_eq!(status, 200, "{metrics}");
    let removed: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("passerelle_vault_debris_removed_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no removed counter: {metrics}"));
    assert!(removed >= 2, "{metrics}");
    assert!(
        metrics.contains("passerelle_vault_debris_files 0"),
        "{metrics}"
    );
    hub.stop().await;
}
