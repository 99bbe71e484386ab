//! A flood of unfinished handshakes from one address. Alone in its file so
//! that the process-wide gauges it reads count this hub only.

use std::{net::SocketAddr, time::Duration};

use passerelle_config::HubConfig;
use passerelle_hub_core::federation;
use passerelle_protocol::{
    envelope::Outcome,
    ids::NodeId,
    message::{Answer, Query},
};
use passerelle_tests::{eventually, flood::Flood, http_get, wait_connected, Net};

/// The value of an unlabelled metric in `/metrics`.
async fn metric(http: SocketAddr, name: &str) -> Option<f64> {
    let (status, _, text) = http_get(http, "/metrics").await;
    assert_eq!(status, 200);
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

async fn pong(hub: &passerelle_hub::server::HubHandle, id: &str) -> bool {
    let Some(live) = hub.live(&NodeId::new(id).unwrap()) else {
        return false;
    };
    federation::ask(
        &live,
        &hub.ctx().hub.key,
        Query::Ping,
        Duration::from_secs(10),
    )
    .await
    .is_ok_and(|a| a.body.outcome == Outcome::Answered(Answer::Pong))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_unfinished_handshakes_stay_at_the_cap_and_nodes_keep_answering() {
    let net = Net::new();
    let path = net.hub_dir().join("hub.toml");
    let mut config = HubConfig::load(&path).unwrap();
    config.quic_max_handshakes = 64.try_into().unwrap();
    config.quic_retry_above = 32;
    config.quic_handshakes_per_address = 16.try_into().unwrap();
    config.quic_handshake_timeout = Duration::from_secs(3);
    std::fs::write(&path, config.template()).unwrap();
    let cap = 16u32;

    let hub = net.start_hub(None).await;
    let a = net.node(&hub, "caf-976").await;
    let b = net.node(&hub, "ccas-mamoudzou").await;

    // Another loopback address than the nodes': the flood's own address.
    let from: std::net::IpAddr = "127.0.0.2".parse().unwrap();
    let mut flood = Flood::new(from, hub.quic_addr).await;
    let admission = hub.ctx().admission.clone();
    let max = config.quic_max_handshakes.get() as usize;
    let within_caps = |flood: &Flood| {
        let (total, from_flood) = (admission.load().0, admission.handshakes_from(from));
        assert!(
            from_flood <= cap && total <= max,
            "{from_flood} handshakes from the flood, {total} in all, after {} packets",
            flood.sent
        );
        from_flood
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while within_caps(&flood) < cap || flood.sent < 2000 {
        assert!(tokio::time::Instant::now() < deadline, "cap never reached");
        flood.send(200).await;
    }
    // Thousands more: the count stays at the cap, the rest are asked to
    // prove their address (and never do); the nodes keep answering.
    for _ in 0..15 {
        flood.send(200).await;
        within_caps(&flood);
        assert!(
            pong(&hub, "caf-976").await && pong(&hub, "ccas-mamoudzou").await,
            "a node stopped answering during the flood"
        );
    }
    assert!(flood.sent >= 5000, "{} sent", flood.sent);
    // The gauge shows the cap while the flood goes on.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        flood.send(50).await;
        let gauge = metric(hub.http_addr, "passerelle_quic_handshakes_pending").await;
        if gauge == Some(f64::from(cap)) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gauge at {gauge:?}, never {cap}"
        );
    }
    within_caps(&flood);
    let retried = metric(
        hub.http_addr,
        "passerelle_quic_attempts_shed_total{action=\"retry\"}",
    )
    .await
    .unwrap_or(0.0);
    assert!(retried > 0.0, "no Retry asked");

    // A node from another address connects during the flood.
    let c = net.node(&hub, "mairie-dembeni").await;
    flood.send(200).await;
    assert!(pong(&hub, "mairie-dembeni").await);
    for id in ["caf-976", "ccas-mamoudzou"] {
        wait_connected(&hub, id).await;
    }

    // Flood over: the unfinished handshakes reach their deadline and go.
    eventually("handshakes given up", Duration::from_secs(30), || {
        let n = admission.load().0;
        async move { n == 0 }
    })
    .await;
    let timeouts = metric(
        hub.http_addr,
        "passerelle_quic_handshakes_refused_total{reason=\"timeout\"}",
    )
    .await
    .unwrap_or(0.0);
    assert!(
        timeouts >= f64::from(cap),
        "{timeouts} handshakes timed out"
    );
    assert_eq!(
        metric(hub.http_addr, "passerelle_quic_handshakes_pending").await,
        Some(0.0)
    );
    a.stop().await;
    b.stop().await;
    c.stop().await;
    hub.stop().await;
}
