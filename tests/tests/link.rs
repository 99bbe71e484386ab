//! The link: reconnection, revocation, and peers refused at the handshake.

use std::{sync::Arc, time::Duration};

use passerelle_certs::{ca::node_request, files, tls, Ca};
use passerelle_hub::admin;
use passerelle_link::{endpoint, now, stream};
use passerelle_protocol::{frame::MAX_CONTROL_FRAME, ids::NodeId, message::Query};
use passerelle_tests::{eventually, wait_connected, Net};

#[tokio::test]
async fn node_reconnects_after_the_hub_restarts() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let port = hub.quic_addr;
    let node = net.node(&hub, "caf-976").await;

    hub.stop().await;
    eventually("node sees the link down", Duration::from_secs(10), || {
        let up = node.link().connected;
        async move { !up }
    })
    .await;

    // Same address, new process state: the node finds it again by itself.
    let hub = net.start_hub(Some(port)).await;
    wait_connected(&hub, "caf-976").await;
    let live = hub.live(&NodeId::new("caf-976").unwrap()).unwrap();
    let asked = passerelle_hub_core::federation::ask(
        &live,
        &hub.ctx().hub.key,
        Query::Ping,
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert!(matches!(
        asked.body.outcome,
        passerelle_protocol::envelope::Outcome::Answered(_)
    ));
    assert!(node.link().attempts >= 2);
    node.stop().await;
    hub.stop().await;
}

#[tokio::test]
async fn revoked_node_is_disconnected_at_once_and_refused_after() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let node = net.node(&hub, "caf-976").await;
    let other = net.node(&hub, "cd-976").await;

    // Through the admin socket, as `passerelle-hub revoke` does.
    let admin::Response::Revoked(r) = admin::request(
        &net.hub_dir(),
        admin::Request::Revoke {
            node_id: NodeId::new("caf-976").unwrap(),
        },
    )
    .await
    .unwrap() else {
        panic!("unexpected reply")
    };
    assert!(r.disconnected);
    let id = NodeId::new("caf-976").unwrap();
    assert!(hub.live(&id).is_none(), "disconnected at once");

    // The node keeps trying (reconnect_max is 300 ms in tests) and is
    // refused every time: it never comes back.
    eventually("node attempts again", Duration::from_secs(10), || {
        let n = node.link().attempts;
        async move { n >= 4 }
    })
    .await;
    assert!(hub.live(&id).is_none(), "revoked node readmitted");
    let err = node.link().last_error.unwrap_or_default();
    assert!(err.contains("refused this node's certificate"), "{err}");
    assert!(
        hub.live(&NodeId::new("cd-976").unwrap()).is_some(),
        "others unaffected"
    );

    let admin::Response::Nodes(rows) = admin::request(&net.hub_dir(), admin::Request::Nodes)
        .await
        .unwrap()
    else {
        panic!()
    };
    let row = rows.iter().find(|r| r.node_id == "caf-976").unwrap();
    assert!(row.revoked_at.is_some() && !row.connected);
    node.stop().await;
    other.stop().await;
    hub.stop().await;
}

/// How the hub turned a peer away.
#[derive(Debug, PartialEq, Eq)]
enum Refused {
    /// At the TLS handshake, with this alert.
    Alert(rustls::AlertDescription),
    /// After the handshake, closing the connection with this code.
    Closed(u64),
}

/// Connects to the hub on the link ALPN with the given client credentials
/// and tries an exchange: `Ok` when the hub let a stream through, else how
/// it refused. Anything else (a timeout, a reset) fails the test: a
/// refusal must be told apart from a connection that merely ended.
async fn link_accepted(
    hub_addr: std::net::SocketAddr,
    cas: &[Vec<u8>],
    chain: Option<(Vec<u8>, Vec<u8>)>,
) -> Result<(), Refused> {
    let tls = match chain {
        Some((cert, key)) => tls::node_client_config(cas, &[cert], &key).unwrap(),
        None => {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(cas[0].clone().into()).unwrap();
            let mut c = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
            c.alpn_protocols = vec![passerelle_protocol::ALPN_LINK.to_vec()];
            c
        }
    };
    let config = endpoint::client_config(tls, Default::default()).unwrap();
    let ep = endpoint::client(hub_addr).unwrap();
    let refusal = |e: &quinn::ConnectionError| match e {
        quinn::ConnectionError::ConnectionClosed(c) => {
            let code = u64::from(c.error_code);
            match u8::try_from(code.wrapping_sub(0x100)) {
                Ok(alert) if (0x100..0x200).contains(&code) => {
                    Refused::Alert(rustls::AlertDescription::from(alert))
                }
                _ => panic!("closed with a transport error that is not a TLS alert: {c}"),
            }
        }
        quinn::ConnectionError::ApplicationClosed(c) => Refused::Closed(u64::from(c.error_code)),
        other => panic!("not a refusal: {other}"),
    };
    let conn = match ep
        .connect_with(config, hub_addr, "localhost")
        .unwrap()
        .await
    {
        Ok(c) => c,
        Err(e) => return Err(refusal(&e)),
    };
    // Under TLS 1.3 a refused client certificate shows on the first I/O,
    // not at connect: try an exchange.
    let r: Result<Vec<u8>, _> =
        stream::exchange(&conn, &vec![1u8], MAX_CONTROL_FRAME, Duration::from_secs(5)).await;
    let closed = conn.close_reason();
    ep.close(0u32.into(), b"");
    match (r, closed) {
        (_, Some(reason)) => Err(refusal(&reason)),
        (Err(e), None) => panic!("the exchange failed on an open connection: {e}"),
        (Ok(_), None) => Ok(()),
    }
}

#[tokio::test]
async fn foreign_expired_unknown_and_certless_peers_are_refused() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let cas = vec![hub.ctx().ca.cert_der().to_vec()];
    let id = NodeId::new("intrus").unwrap();

    // A certificate from another CA, naming a plausible node.
    let foreign = Ca::generate("Autre", now(), 86400).unwrap();
    let req = node_request("intrus").unwrap();
    let cert = foreign
        .issue_node(&req.csr_der, &id, "Intrus", now(), 86400)
        .unwrap();
    let err = link_accepted(hub.quic_addr, &cas, Some((cert, req.key_pkcs8)))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Refused::Alert(rustls::AlertDescription::UnknownCA),
        "foreign CA"
    );

    // A certificate from the right CA that the registry never issued.
    let req = node_request("intrus").unwrap();
    let cert = hub
        .ctx()
        .ca
        .issue_node(&req.csr_der, &id, "Intrus", now(), 86400)
        .unwrap();
    let err = link_accepted(hub.quic_addr, &cas, Some((cert, req.key_pkcs8)))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Refused::Alert(rustls::AlertDescription::CertificateRevoked),
        "unissued"
    );

    // An expired certificate of an enrolled node.
    let req = node_request("ancien").unwrap();
    let old = NodeId::new("ancien").unwrap();
    let cert = hub
        .ctx()
        .ca
        .issue_node(&req.csr_der, &old, "Ancien", now() - 10 * 86400, 3600)
        .unwrap();
    let serial = passerelle_certs::NodeIdentity::from_der(&cert)
        .unwrap()
        .serial;
    hub.ctx()
        .hub
        .store
        .put_serial(
            &serial,
            &passerelle_hub_core::store::SerialRecord {
                node_id: old.clone(),
                issued_at: 0,
                revoked_at: None,
            },
        )
        .unwrap();
    let err = link_accepted(hub.quic_addr, &cas, Some((cert, req.key_pkcs8)))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        Refused::Alert(rustls::AlertDescription::CertificateExpired),
        "expired"
    );

    // No certificate at all on the link ALPN.
    let err = link_accepted(hub.quic_addr, &cas, None).await.unwrap_err();
    assert_eq!(
        err,
        Refused::Closed(passerelle_hub_core::registry::CLOSE_NO_CERT.into()),
        "no certificate"
    );

    assert!(hub.ctx().registry.connected().is_empty(), "nobody got in");
    hub.stop().await;
}

#[tokio::test]
async fn node_refuses_a_server_presenting_a_node_certificate() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let root = net.enroll(&hub, "caf-976").await;
    let addr = hub.quic_addr;
    hub.stop().await;

    // An impostor on the hub's address with a genuine node certificate of
    // the same CA (another node's), accepting any client.
    let hub_dir = passerelle_hub_core::paths::HubDir::existing(&net.hub_dir()).unwrap();
    let ca_der = files::read_pem(&hub_dir.ca_cert(), files::CERTIFICATE).unwrap();
    let ca = Ca::from_parts(&ca_der, files::read_private_key(&hub_dir.ca_key()).unwrap()).unwrap();
    let req = node_request("x").unwrap();
    let node_cert = ca
        .issue_node(
            &req.csr_der,
            &NodeId::new("autre").unwrap(),
            "Autre",
            now(),
            86400,
        )
        .unwrap();
    let mut server = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS13])
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![node_cert.into(), ca_der.into()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(req.key_pkcs8.into()),
    )
    .unwrap();
    server.alpn_protocols = vec![passerelle_protocol::ALPN_LINK.to_vec()];
    let impostor = endpoint::server(
        addr,
        server,
        Default::default(),
        b"impostor",
        Default::default(),
    )
    .unwrap();
    let accepted = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = accepted.clone();
    let ep = impostor.clone();
    let task = tokio::spawn(async move {
        while let Some(inc) = ep.accept().await {
            if inc.await.is_ok() {
                flag.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
    });

    let node = passerelle_node::serve::start(&root).await.unwrap();
    eventually("node tried the impostor", Duration::from_secs(10), || {
        let n = node.link().attempts;
        async move { n >= 3 }
    })
    .await;
    assert!(!node.link().connected);
    assert!(
        !accepted.load(std::sync::atomic::Ordering::SeqCst),
        "handshake completed with an impostor"
    );
    let err = node.link().last_error.unwrap_or_default();
    assert!(
        err.contains("certificate") || err.contains("alert"),
        "{err}"
    );
    node.stop().await;
    impostor.close(0u32.into(), b"");
    task.abort();
}

#[tokio::test]
async fn a_handshake_left_unanswered_is_tried_again_well_before_the_idle_timeout() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let root = net.enroll(&hub, "caf-976").await;
    let addr = hub.quic_addr;
    hub.stop().await;
    let path = root.join("node.toml");
    let mut config = passerelle_config::NodeConfig::load(&path).unwrap();
    config.link.handshake_timeout = Duration::from_secs(1);
    assert_eq!(config.link.idle_timeout, Duration::from_secs(30));
    std::fs::write(&path, config.template()).unwrap();

    // A hub too busy to answer: its address takes every packet and answers
    // none (as a hub at its handshake cap drops first packets).
    let hole = tokio::net::UdpSocket::bind(addr).await.unwrap();
    let senders = Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let seen = senders.clone();
    let task = tokio::spawn(async move {
        let mut buf = vec![0u8; 65536];
        while let Ok((_, from)) = hole.recv_from(&mut buf).await {
            seen.lock().unwrap().insert(from);
        }
    });

    let node = passerelle_node::serve::start(&root).await.unwrap();
    // Without the bound, the first attempt would wait for the whole 30 s
    // idle timeout.
    eventually(
        "three attempts, each from a fresh socket",
        Duration::from_secs(20),
        || {
            let (n, from) = (node.link().attempts, senders.lock().unwrap().len());
            async move { n >= 3 && from >= 2 }
        },
    )
    .await;
    assert!(!node.link().connected);
    let err = node.link().last_error.unwrap_or_default();
    assert!(err.contains("handshake within 1 s"), "{err}");
    node.stop().await;
    task.abort();
}
