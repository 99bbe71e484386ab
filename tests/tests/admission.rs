//! What a connection may do once admitted: enrollment gets one stream,
//! a node's unfinished requests do not block its link (either way), and
//! refusals at the handshake are counted by reason.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use passerelle_certs::{ca::node_request, tls, Ca};
use passerelle_hub::server::HubHandle;
use passerelle_hub_core::federation;
use passerelle_link::{endpoint, now, stream};
use passerelle_protocol::{
    enroll::{EnrollRequest, EnrollResponse},
    envelope::Outcome,
    frame::MAX_CONTROL_FRAME,
    ids::NodeId,
    message::{Answer, NodeRequest, NodeResponse, Query},
};
use passerelle_tests::{http_get, Net};

const PATIENCE: Duration = Duration::from_secs(20);

/// A connection to the hub with `tls`.
async fn connect(
    hub: SocketAddr,
    tls: rustls::ClientConfig,
) -> Result<(quinn::Endpoint, quinn::Connection), quinn::ConnectionError> {
    let config = endpoint::client_config(tls, Default::default()).unwrap();
    let ep = endpoint::client(hub).unwrap();
    let conn = ep.connect_with(config, hub, "localhost").unwrap().await?;
    Ok((ep, conn))
}

/// The enrolled node `id`'s link credentials.
fn node_tls(net: &Net, id: &str) -> rustls::ClientConfig {
    let dir = passerelle_node::paths::NodeDir::existing(&net.node_dir(id)).unwrap();
    let creds = passerelle_node::identity::Credentials::load(&dir).unwrap();
    tls::node_client_config(
        &creds.cas,
        std::slice::from_ref(&creds.cert_der),
        &creds.key_pkcs8,
    )
    .unwrap()
}

#[tokio::test]
async fn an_enrollment_connection_gets_one_stream_only() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let fingerprint = passerelle_protocol::sign::sha256(hub.ctx().ca.cert_der());
    let tls = tls::enroll_client_config(fingerprint).unwrap();
    let (ep, conn) = connect(hub.quic_addr, tls).await.unwrap();

    let (mut send, mut recv) = conn.open_bi().await.unwrap();
    let req = EnrollRequest {
        version: passerelle_protocol::PROTOCOL_VERSION,
        secret: [7; 16],
        csr_der: node_request("curieux").unwrap().csr_der,
    };
    stream::write_message(&mut send, &req, MAX_CONTROL_FRAME)
        .await
        .unwrap();
    let resp: EnrollResponse =
        tokio::time::timeout(PATIENCE, stream::read_message(&mut recv, MAX_CONTROL_FRAME))
            .await
            .unwrap()
            .unwrap();
    assert!(matches!(resp, EnrollResponse::Refused(_)), "{resp:?}");

    // The first stream is over; a second is never granted: the opening
    // waits until the hub closes the connection.
    let second = tokio::time::timeout(PATIENCE, conn.open_bi())
        .await
        .expect("the hub closes the connection");
    assert!(second.is_err(), "a second stream was granted");
    assert!(conn.open_uni().await.is_err());
    ep.close(0u32.into(), b"");
    hub.stop().await;
}

#[tokio::test]
async fn unfinished_requests_from_a_node_do_not_block_its_link() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    net.enroll(&hub, "bavard").await;
    let (ep, conn) = connect(hub.quic_addr, node_tls(&net, "bavard"))
        .await
        .unwrap();

    // Every stream but one left unfinished: two bytes of a header each.
    let mut held = Vec::new();
    for _ in 0..endpoint::LINK_STREAMS - 1 {
        let (mut send, recv) = tokio::time::timeout(PATIENCE, conn.open_bi())
            .await
            .unwrap()
            .unwrap();
        send.write_all(&[0, 0]).await.unwrap();
        held.push((send, recv));
    }
    // The last one still gets its answer.
    let bad_code = NodeRequest::RedeemLink {
        code: "ZZZZ-ZZZZ".into(),
    };
    let resp: NodeResponse = stream::exchange(&conn, &bad_code, MAX_CONTROL_FRAME, PATIENCE)
        .await
        .unwrap();
    assert!(matches!(resp, NodeResponse::Refused(_)), "{resp:?}");

    // The hub gives up on each unfinished request at the read deadline;
    // once the client lets go, every place is free again.
    for (send, _) in &held {
        let patience = stream::READ_DEADLINE + PATIENCE;
        let stopped = tokio::time::timeout(patience, send.stopped())
            .await
            .expect("the hub stops reading at its deadline");
        assert_eq!(stopped.unwrap(), Some(1u32.into()));
    }
    drop(held);
    let mut answered = Vec::new();
    for _ in 0..endpoint::LINK_STREAMS {
        let conn = conn.clone();
        let req = bad_code.clone();
        answered.push(tokio::spawn(async move {
            stream::exchange::<_, NodeResponse>(&conn, &req, MAX_CONTROL_FRAME, PATIENCE).await
        }));
    }
    for a in answered {
        let r = a.await.unwrap();
        assert!(matches!(r, Ok(NodeResponse::Refused(_))), "{r:?}");
    }
    ep.close(0u32.into(), b"");
    hub.stop().await;
}

#[tokio::test]
async fn a_query_the_hub_never_finishes_does_not_block_the_next() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let node = net.node(&hub, "lent").await;
    let live = hub.live(&NodeId::new("lent").unwrap()).unwrap();
    let mut held = Vec::new();
    for _ in 0..32 {
        let (mut send, recv) = live.conn.open_bi().await.unwrap();
        send.write_all(&[0, 0]).await.unwrap();
        held.push((send, recv));
    }
    let ok = federation::ask(&live, &hub.ctx().hub.key, Query::Ping, PATIENCE)
        .await
        .unwrap();
    assert_eq!(ok.body.outcome, Outcome::Answered(Answer::Pong));
    // The node gives up on each unfinished query at its read deadline.
    for (send, _) in &held {
        let patience = stream::READ_DEADLINE + PATIENCE;
        let stopped = tokio::time::timeout(patience, send.stopped())
            .await
            .expect("the node stops reading at its deadline");
        assert_eq!(stopped.unwrap(), Some(1u32.into()));
    }
    drop(held);
    node.stop().await;
    hub.stop().await;
}

/// The count of refusals for `reason` in `/metrics`.
async fn refused(hub: &HubHandle, reason: &str) -> f64 {
    let (_, _, text) = http_get(hub.http_addr, "/metrics").await;
    let line = format!("passerelle_quic_handshakes_refused_total{{reason=\"{reason}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&line)?.parse().ok())
        .unwrap_or(0.0)
}

/// Waits until refusals for `reason` are counted above `before`.
async fn counted(hub: &HubHandle, reason: &str, before: f64) {
    let what = format!("a refusal counted as {reason}");
    passerelle_tests::eventually(&what, PATIENCE, || async move {
        refused(hub, reason).await > before
    })
    .await;
}

/// Tries a link exchange (a refused client certificate shows on the first
/// I/O under TLS 1.3, not at connect).
async fn try_link(hub: SocketAddr, tls: rustls::ClientConfig) {
    let Ok((ep, conn)) = connect(hub, tls).await else {
        return;
    };
    let _ = stream::exchange::<_, Vec<u8>>(&conn, &vec![1u8], MAX_CONTROL_FRAME, PATIENCE).await;
    ep.close(0u32.into(), b"");
}

#[tokio::test]
async fn refusals_at_the_handshake_are_counted_by_reason() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let cas = vec![hub.ctx().ca.cert_der().to_vec()];
    let id = NodeId::new("intrus").unwrap();
    // A certificate from another CA.
    let before = refused(&hub, "foreign_ca").await;
    let foreign = Ca::generate("Autre", now(), 86400).unwrap();
    let req = node_request("intrus").unwrap();
    let cert = foreign
        .issue_node(&req.csr_der, &id, "Intrus", now(), 86400)
        .unwrap();
    try_link(
        hub.quic_addr,
        tls::node_client_config(&cas, &[cert], &req.key_pkcs8).unwrap(),
    )
    .await;
    counted(&hub, "foreign_ca", before).await;

    // A certificate of this CA the registry never issued (or revoked).
    let before = refused(&hub, "revoked").await;
    let req = node_request("intrus").unwrap();
    let cert = hub
        .ctx()
        .ca
        .issue_node(&req.csr_der, &id, "Intrus", now(), 86400)
        .unwrap();
    try_link(
        hub.quic_addr,
        tls::node_client_config(&cas, &[cert], &req.key_pkcs8).unwrap(),
    )
    .await;
    counted(&hub, "revoked", before).await;

    // No certificate on the link.
    let before = refused(&hub, "no_certificate").await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cas[0].clone().into()).unwrap();
    let plain = |alpn: &[u8]| {
        let mut c = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots.clone())
        .with_no_client_auth();
        c.alpn_protocols = vec![alpn.to_vec()];
        c
    };
    try_link(hub.quic_addr, plain(passerelle_protocol::ALPN_LINK)).await;
    counted(&hub, "no_certificate", before).await;

    // A protocol the hub does not speak.
    let before = refused(&hub, "wrong_alpn").await;
    try_link(hub.quic_addr, plain(b"h3")).await;
    counted(&hub, "wrong_alpn", before).await;

    assert!(hub.ctx().registry.connected().is_empty(), "nobody got in");
    hub.stop().await;
}
