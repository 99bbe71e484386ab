//! The hub anchors each node's audit chain: it keeps the last head it saw,
//! and a chain found shorter, or rewritten from an earlier record (even
//! with every hash recomputed, so that it still verifies on its own), is
//! flagged on the network health page and in the metrics.

use std::time::Duration;

use passerelle_node::admin::{self, Request};
use passerelle_protocol::{audit::Record, codec, ids::NodeId};
use passerelle_tests::{eventually, http, Net};

async fn add_document(root: &std::path::Path, name: &str) {
    let path = root.join(name);
    std::fs::write(&path, b"%PDF-1.4 x\n%%EOF\n").unwrap();
    admin::request(
        root,
        Request::DocumentAdd {
            local_id: "P1".into(),
            category: "identity".into(),
            path,
            by: "t".into(),
        },
        &mut |_| {},
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_or_rewritten_node_chains_are_flagged() {
    let net = Net::new();
    let toml = net.hub_dir().join("hub.toml");
    let mut config = passerelle_config::HubConfig::load(&toml).unwrap();
    config.status_interval = Duration::from_millis(300);
    std::fs::write(&toml, config.template()).unwrap();
    let hub = net.start_hub(None).await;
    let a = net.node(&hub, "node-a").await;
    let b = net.node(&hub, "node-b").await;
    for (root, n) in [(net.node_dir("node-a"), 2), (net.node_dir("node-b"), 2)] {
        for i in 0..n {
            add_document(&root, &format!("d{i}.pdf")).await;
        }
    }
    for id in ["node-a", "node-b"] {
        let id = NodeId::new(id).unwrap();
        eventually("anchor of two records", Duration::from_secs(10), || {
            let a = hub.ctx().hub.store.audit_anchor(&id).unwrap();
            async move { a.is_some_and(|a| a.records == 2 && a.broken.is_none()) }
        })
        .await;
    }
    a.stop().await;
    b.stop().await;

    // A: the last record removed. B: record 0 rewritten, hashes recomputed.
    {
        let db = passerelle_tests::open_raw_store(&net.node_dir("node-a").join("store"));
        db.open_tree("audit")
            .unwrap()
            .remove(1u64.to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    {
        let db = passerelle_tests::open_raw_store(&net.node_dir("node-b").join("store"));
        let t = db.open_tree("audit").unwrap();
        let old: Record = codec::decode(&t.get(0u64.to_be_bytes()).unwrap().unwrap()).unwrap();
        let mut event = old.event.clone();
        event.detail = "rewritten".into();
        let first = Record::next(None, old.at, event);
        let second_old: Record =
            codec::decode(&t.get(1u64.to_be_bytes()).unwrap().unwrap()).unwrap();
        let second = Record::next(Some(&first), second_old.at, second_old.event);
        t.insert(0u64.to_be_bytes(), codec::encode(&first).unwrap())
            .unwrap();
        t.insert(1u64.to_be_bytes(), codec::encode(&second).unwrap())
            .unwrap();
        db.flush().unwrap();
    }
    // B's chain verifies on its own: only the anchor can tell.
    let store = passerelle_node::store::Store::open(&net.node_dir("node-b").join("store")).unwrap();
    assert!(store.audit_verify().unwrap().is_ok());
    drop(store);

    let a = passerelle_node::serve::start(&net.node_dir("node-a"))
        .await
        .unwrap();
    let b = passerelle_node::serve::start(&net.node_dir("node-b"))
        .await
        .unwrap();
    for (id, why) in [
        ("node-a", "shrank from 2 to 1"),
        ("node-b", "record 1 no longer has the hash"),
    ] {
        let id = NodeId::new(id).unwrap();
        eventually(&format!("{id} flagged"), Duration::from_secs(10), || {
            let a = hub.ctx().hub.store.audit_anchor(&id).unwrap();
            async move {
                a.and_then(|a| a.broken)
                    .is_some_and(|(_, w)| w.contains(why))
            }
        })
        .await;
    }
    let (_, _, page) = http(hub.http_addr, "GET", "/sante", &[], "").await;
    assert_eq!(page.matches("<strong>altéré</strong>").count(), 2, "{page}");
    let (_, _, metrics) = http(hub.http_addr, "GET", "/metrics", &[], "").await;
    assert!(
        metrics.contains("passerelle_node_audit_chains_broken 2"),
        "{metrics}"
    );
    a.stop().await;
    b.stop().await;
    hub.stop().await;
}
