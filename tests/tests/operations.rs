//! Operations: Prometheus metrics and the network health page on a real
//! hub with a data node; who may read them; JSON logs on demand.

use passerelle_tests::{http, refresh, rows, rows_csv, Net};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_and_health_page_show_the_network_to_the_hub_machine_only() {
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
    refresh(&hub, "personnes-recues").await;
    let addr = hub.http_addr;
    let _ = http(addr, "GET", "/", &[], "").await;

    let (status, h, text) = http(addr, "GET", "/metrics", &[], "").await;
    assert_eq!(status, 200, "{text}");
    assert!(h
        .iter()
        .any(|(k, v)| k == "content-type" && v.starts_with("text/plain; version=0.0.4")));
    for line in [
        "passerelle_nodes_enrolled 1",
        "passerelle_nodes_connected 1",
        "passerelle_indicator_coverage_ratio{indicator=\"personnes-recues\"} 1",
        "passerelle_portal_requests_total{area=\"public\",status=\"2xx\"}",
        "passerelle_query_duration_seconds_bucket{kind=\"aggregate\",le=\"+Inf\"}",
    ] {
        assert!(text.contains(line), "{line} missing:\n{text}");
    }
    let answered: u64 = text
        .lines()
        .find(|l| l.starts_with("passerelle_queries_total{kind=\"aggregate\",result=\"answered\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("aggregate queries counted");
    assert!(answered >= 1);

    let (status, _, page) = http(addr, "GET", "/sante", &[], "").await;
    assert_eq!(status, 200);
    // "connecté" as a word of its own ("déconnecté" must not count).
    let connected_word = page
        .match_indices("connecté")
        .any(|(at, _)| !page[..at].ends_with(|c: char| c.is_alphanumeric()));
    assert!(
        page.contains("Institution asso-a")
            && connected_word
            && !page.contains("déconnecté")
            && page.contains("personnes_recues (importé le"),
        "{page}"
    );
    // Times in Mayotte's time, named so.
    assert!(
        page.contains("(heure de Mayotte)") && !page.contains("UTC"),
        "{page}"
    );
    assert!(
        page.contains("Tous les partenaires sont connectés"),
        "{page}"
    );

    // Through a reverse proxy (a forwarded request), both are refused.
    for path in ["/metrics", "/sante"] {
        let (status, _, _) =
            http(addr, "GET", path, &[("X-Forwarded-For", "203.0.113.9")], "").await;
        assert_eq!(status, 403, "{path}");
    }

    // A disconnected node shows on the page.
    node.stop().await;
    passerelle_tests::eventually("node gone", std::time::Duration::from_secs(10), || {
        let gone = hub
            .live(&passerelle_protocol::ids::NodeId::new("asso-a").unwrap())
            .is_none();
        async move { gone }
    })
    .await;
    let (_, _, page) = http(addr, "GET", "/sante", &[], "").await;
    assert!(
        page.contains("<strong>déconnecté</strong>")
            && page.contains("1 partenaire(s) demandent votre attention"),
        "{page}"
    );
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_serves_its_metrics_on_the_local_address_it_is_given() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let root = net.enroll(&hub, "asso-m").await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let path = root.join("node.toml");
    let mut config = passerelle_config::NodeConfig::load(&path).unwrap();
    config.metrics_listen = Some(port);
    std::fs::write(&path, config.template()).unwrap();
    assert_eq!(
        passerelle_config::NodeConfig::load(&path)
            .unwrap()
            .metrics_listen,
        Some(port)
    );
    let node = passerelle_node::serve::start(&root).await.unwrap();
    passerelle_tests::wait_connected(&hub, "asso-m").await;
    // The hub's status poll is a query the node counts.
    passerelle_tests::eventually(
        "a status query counted",
        std::time::Duration::from_secs(10),
        || async move {
            let (_, _, t) = http(port, "GET", "/metrics", &[], "").await;
            t.contains("passerelle_node_queries_total{kind=\"status\",outcome=\"answered\"}")
        },
    )
    .await;
    let (status, _, text) = http(port, "GET", "/metrics", &[], "").await;
    assert_eq!(status, 200);
    for line in [
        "passerelle_node_link_up 1",
        "passerelle_node_datasets 0",
        "passerelle_node_documents 0",
        "passerelle_node_certificate_seconds_left ",
    ] {
        assert!(text.contains(line), "{line} missing:\n{text}");
    }
    let (status, _, _) = http(port, "GET", "/other", &[], "").await;
    assert_eq!(status, 404);
    node.stop().await;
    hub.stop().await;
}
