//! Two hub instances on one PostgreSQL database (issue 13, item 6): the
//! same CA, keys and configuration in two folders, one database schema.
//! A node keeps a link to each instance (`link.instances`); a partner's
//! and a person's portal sessions opened on one instance are served by the
//! other; what one instance publishes, the other's pages show at once
//! (its page cache dropped); either instance composes from the node and
//! fetches its documents; one instance stopping leaves the other whole;
//! a node revoked in the database without the other instance being told
//! loses its link to it all the same.
//!
//! It needs `PASSERELLE_TEST_PG` (`.ci/run` starts a private PostgreSQL
//! server and runs the suite a second time with it); without it the test
//! says so and returns.

use std::{net::SocketAddr, time::Duration};

use passerelle_config::NodeConfig;
use passerelle_tests::{
    eventually, http, http_bytes, rows, rows_csv, test_pg,
    vault::{add_document, create_account, link, page, partner_session, pdf},
    wait_connected, wait_datasets, Net,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_serve_the_same_sessions_and_the_same_nodes() {
    if test_pg().is_none() {
        eprintln!(
            "skipped: PASSERELLE_TEST_PG is not set (the PostgreSQL pass of .ci/run sets it)"
        );
        return;
    }
    let net = Net::new();
    assert!(net.on_postgres());
    // Each instance runs its gate again on its links at this pace.
    net.configure(|c| c.status_interval = Duration::from_millis(300));
    let a = net.start_hub(None).await;
    let b_root = net.second_instance("hub-b");
    let b = net.start_instance(&b_root).await;

    // A node enrolled through A, with data, linked to both instances.
    let csv = rows_csv(&rows(7, &["2024"]));
    let root = net.data_node_dir(&a, "caf-976", Some(&csv), false).await;
    let path = root.join("node.toml");
    let mut config = NodeConfig::load(&path).unwrap();
    let loopback = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
    config.link.instances = vec![loopback(a.quic_addr.port()), loopback(b.quic_addr.port())];
    std::fs::write(&path, config.template()).unwrap();
    let node = passerelle_node::serve::start(&root)
        .await
        .expect("node starts");
    wait_connected(&a, "caf-976").await;
    wait_connected(&b, "caf-976").await;
    wait_datasets(&b, "caf-976").await;

    // A's portal renders (and caches) the sheet before anything is
    // published.
    let sheet = "/indicateur/personnes-recues";
    let (status, _, before) = http(a.http_addr, "GET", sheet, &[], "").await;
    assert_eq!(status, 200);
    assert!(before.contains("pas encore été calculé"), "{before}");
    let (status, _, _) = http(
        a.http_addr,
        "GET",
        "/api/indicators/personnes-recues",
        &[],
        "",
    )
    .await;
    assert_eq!(status, 404);

    // B composes from the node over its own link and publishes into the
    // shared store; A's page and API show that result at once.
    let published = passerelle_tests::refresh(&b, "personnes-recues").await;
    assert_eq!(published.provenance.len(), 1, "the node answered B");
    let (status, _, after) = http(a.http_addr, "GET", sheet, &[], "").await;
    assert_eq!(status, 200);
    assert!(
        !after.contains("pas encore été calculé"),
        "A served its stale page: {after}"
    );
    let (status, _, api) = http(
        a.http_addr,
        "GET",
        "/api/indicators/personnes-recues",
        &[],
        "",
    )
    .await;
    assert_eq!(status, 200, "{api}");
    assert!(
        api.contains(&format!("\"computed_at\":{}", published.computed_at)),
        "{api}"
    );

    // A partner signs in on A; B serves the same session.
    let caf = passerelle_protocol::ids::NodeId::new("caf-976").unwrap();
    passerelle_hub_core::partners::add(&a.ctx().hub, "ana@caf976.fr", "Ana Madi", &caf, 0).unwrap();
    let partner = partner_session(&a, "ana@caf976.fr").await;
    let (status, home) = page(&b, &partner, "/partenaires").await;
    assert_eq!(status, 200, "{home}");
    assert!(home.contains("Ana Madi"), "{home}");

    // A person creates an account on A and is linked to the node there;
    // B serves their session (the data key unwrapped from the store with
    // the cookie) and fetches their document from the node over B's link.
    let person = create_account(&a, "0639123456", "motdepasse-awa").await;
    link(&a, &person, &root, "CAF-123").await;
    let files = tempfile::tempdir().unwrap();
    let bytes = pdf(b"attestation", 200);
    let doc = add_document(
        &root,
        files.path(),
        "CAF-123",
        "social-rights",
        "attestation.pdf",
        &bytes,
    )
    .await;
    let (status, vault) = page(&b, &person, "/coffre").await;
    assert_eq!(status, 200);
    assert!(vault.contains("attestation.pdf"), "{vault}");
    let (status, _, body) = http_bytes(
        b.http_addr,
        "GET",
        &format!("/coffre/institution/caf-976/{doc}"),
        &[("Cookie", &person)],
        b"",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body, bytes, "the document through B differs");

    // The person signs out on A: B refuses the cookie too.
    let token = passerelle_tests::vault::csrf(&b, &person).await;
    let (status, _, _) = http(
        a.http_addr,
        "POST",
        "/coffre/deconnexion",
        &[("Cookie", &person)],
        &format!("csrf={token}"),
    )
    .await;
    assert_eq!(status, 303);
    let (status, _, _) = http(
        b.http_addr,
        "GET",
        "/coffre/journal",
        &[("Cookie", &person)],
        "",
    )
    .await;
    assert_ne!(status, 200, "B still served a closed session");

    // A stops: B keeps the node and the partner's session, and composes.
    a.stop().await;
    let (status, home) = page(&b, &partner, "/partenaires").await;
    assert_eq!(status, 200, "{home}");
    let again = passerelle_tests::refresh(&b, "personnes-recues").await;
    assert_eq!(again.provenance.len(), 1);

    // The node is revoked from A's folder while A is stopped (as
    // `passerelle-hub revoke` does with the hub down): nothing tells B,
    // whose gate, run again on its links, closes the node's link, and
    // refuses it when it dials again.
    assert!(b.live(&caf).is_some());
    let stopped = passerelle_hub_core::ops::Hub::open(&net.hub_dir()).unwrap();
    passerelle_hub_core::ops::revoke(&stopped, None, &caf, passerelle_link::now()).unwrap();
    drop(stopped);
    eventually("B drops the revoked node", Duration::from_secs(10), || {
        let gone = b.live(&caf).is_none();
        async move { gone }
    })
    .await;
    // The node keeps dialling (A is down, B refuses it): B stays shut.
    let attempts = node.link().attempts;
    eventually("the node dials again", Duration::from_secs(10), || {
        let again = node.link().attempts > attempts + 1;
        async move { again }
    })
    .await;
    assert!(b.live(&caf).is_none(), "B took the revoked node back");
    node.stop().await;
    b.stop().await;
}
