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

/// The heads of the hub's chain a node keeps, and the divergence.
async fn hub_heads(
    root: &std::path::Path,
) -> (
    Vec<passerelle_node::store::hub_heads::HubHeadRecord>,
    Option<passerelle_node::store::hub_heads::Divergence>,
) {
    match admin::request(root, Request::HubHeads, &mut |_| {})
        .await
        .unwrap()
    {
        admin::Response::HubHeads(heads, diverged) => (heads, diverged),
        other => panic!("{other:?}"),
    }
}

/// A hub with a short status poll, one node, and `n` records in the hub's
/// chain that the node has been shown and seen proven.
async fn hub_and_node_with_chain(
    net: &Net,
    n: u64,
) -> (
    passerelle_hub::server::HubHandle,
    passerelle_node::serve::NodeHandle,
) {
    let toml = net.hub_dir().join("hub.toml");
    let mut config = passerelle_config::HubConfig::load(&toml).unwrap();
    config.status_interval = Duration::from_millis(300);
    std::fs::write(&toml, config.template()).unwrap();
    let hub = net.start_hub(None).await;
    let node = net.node(&hub, "node-a").await;
    for i in 0..n {
        hub.ctx().vault().log(passerelle_protocol::audit::Event {
            actor: passerelle_protocol::audit::Actor::Person,
            action: passerelle_protocol::audit::Action::Download,
            person: Some("p1".into()),
            subject: format!("doc-{i}"),
            procedure: None,
            detail: String::new(),
        });
    }
    let root = net.node_dir("node-a");
    eventually(
        "the hub's head kept and proven",
        Duration::from_secs(15),
        || {
            let root = root.clone();
            async move {
                let (heads, diverged) = hub_heads(&root).await;
                diverged.is_none()
                    && heads
                        .first()
                        .is_some_and(|h| h.records == n && h.confirmed_at.is_some())
            }
        },
    )
    .await;
    (hub, node)
}

/// Edits the hub's chain on disk (the hub stopped).
fn edit_hub_chain(net: &Net, edit: impl FnOnce(&sled::Tree)) {
    let db = passerelle_tests::open_raw_store(&net.hub_dir().join("store"));
    edit(&db.open_tree("vault_audit").unwrap());
    db.flush().unwrap();
}

async fn diverged_and_doctor_says_so(net: &Net, at: u64, why: &str) {
    let root = net.node_dir("node-a");
    eventually(
        "the node caught the hub's chain",
        Duration::from_secs(15),
        || {
            let root = root.clone();
            async move { hub_heads(&root).await.1.is_some() }
        },
    )
    .await;
    let d = hub_heads(&root).await.1.unwrap();
    assert_eq!(d.at, at, "{d:?}");
    assert!(d.why.contains(why), "{d:?}");
    let r =
        passerelle_node::doctor::run(&root, passerelle_link::now(), Duration::from_secs(2)).await;
    let check = r.get("hub-chain").unwrap();
    assert_eq!(
        check.status,
        passerelle_node::doctor::Status::Fail,
        "{}",
        passerelle_node::doctor::render(&r)
    );
    assert!(
        check.detail.contains(&format!("diverged at record {at}")),
        "{}",
        check.detail
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_hub_chain_is_caught_by_a_node_that_saw_an_earlier_head() {
    let net = Net::new();
    // Damages or restores the hub's sled store itself.
    net.use_sled();
    let (hub, node) = hub_and_node_with_chain(&net, 6).await;
    let port = hub.quic_addr;
    hub.stop().await;
    // The last two records removed: what remains still verifies.
    edit_hub_chain(&net, |t| {
        t.remove(5u64.to_be_bytes()).unwrap();
        t.remove(4u64.to_be_bytes()).unwrap();
    });
    let hub = net.start_hub(Some(port)).await;
    diverged_and_doctor_says_so(&net, 4, "fewer than the 6").await;
    node.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rewritten_hub_chain_is_caught_even_with_every_hash_recomputed() {
    let net = Net::new();
    // Damages or restores the hub's sled store itself.
    net.use_sled();
    let (hub, node) = hub_and_node_with_chain(&net, 6).await;
    let port = hub.quic_addr;
    hub.stop().await;
    // Record 2 rewritten, and every hash from there recomputed: the chain
    // verifies on its own.
    edit_hub_chain(&net, |t| {
        let read = |seq: u64| -> Record {
            codec::decode(&t.get(seq.to_be_bytes()).unwrap().unwrap()).unwrap()
        };
        let mut prev = Some(read(1));
        for seq in 2..6 {
            let old = read(seq);
            let mut event = old.event.clone();
            if seq == 2 {
                event.detail = "rewritten".into();
            }
            let new = Record::next(prev.as_ref(), old.at, event);
            t.insert(seq.to_be_bytes(), codec::encode(&new).unwrap())
                .unwrap();
            prev = Some(new);
        }
    });
    let store = passerelle_hub_core::store::Store::open(&net.hub_dir().join("store")).unwrap();
    let vault = passerelle_vault::store::VaultStore::new(store);
    assert_eq!(vault.audit_verify().unwrap().unwrap().records, 6);
    drop(vault);
    let hub = net.start_hub(Some(port)).await;
    // More records after the restart: the hub's statement then has to
    // prove the head of 6 the node keeps, and cannot.
    hub.ctx().vault().log(passerelle_protocol::audit::Event {
        actor: passerelle_protocol::audit::Actor::Hub,
        action: passerelle_protocol::audit::Action::Download,
        person: None,
        subject: "after".into(),
        procedure: None,
        detail: String::new(),
    });
    diverged_and_doctor_says_so(&net, 5, "no longer has the hash").await;
    // The heads kept stay as they were: evidence, not overwritten.
    let (heads, _) = hub_heads(&net.node_dir("node-a")).await;
    assert_eq!(heads.first().map(|h| h.records), Some(6));
    node.stop().await;
    hub.stop().await;
}

/// The public trust page: the CA's fingerprint (computed here from the
/// CA certificate), the institutions with their certificates' periods, and
/// the hub chain's head with how many institutions' nodes hold it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trust_page_shows_the_ca_fingerprint_and_who_holds_the_hub_head() {
    let net = Net::new();
    let (hub, node) = hub_and_node_with_chain(&net, 3).await;
    let fingerprint = passerelle_protocol::hex::encode(&passerelle_protocol::sign::sha256(
        hub.ctx().ca.cert_der(),
    ));
    let (status, _, body) = http(hub.http_addr, "GET", "/api/trust", &[], "").await;
    assert_eq!(status, 200);
    let t: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(t["ca_fingerprints"][0], fingerprint.as_str(), "{t}");
    let institutions = t["institutions"].as_array().unwrap();
    assert_eq!(institutions.len(), 1, "{t}");
    assert_eq!(institutions[0]["node_id"], "node-a");
    assert_eq!(institutions[0]["keeps_hub_head"], 3);
    assert!(institutions[0]["certificate_until"]
        .as_str()
        .unwrap()
        .ends_with('Z'));
    assert_eq!(t["hub_chain"]["records"], 3);
    assert_eq!(t["hub_chain"]["held_by"], 1);

    let (status, _, page) = http(hub.http_addr, "GET", "/confiance", &[], "").await;
    assert_eq!(status, 200);
    // As the verifier prints it, to compare character for character.
    assert!(page.contains(&fingerprint), "{page}");
    assert!(page.contains("Institution node-a"), "{page}");
    assert!(
        page.contains("3 inscription(s)") && page.contains("1 institution(s)"),
        "{page}"
    );
    assert!(page.contains("(heure de Mayotte)"), "{page}");
    node.stop().await;
    hub.stop().await;
}
