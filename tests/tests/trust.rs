//! Adversary tests, real QUIC on loopback: an enrolled node claiming
//! another institution's dataset changes no published figure until the
//! operator allows it; a stolen node key cannot renew outside its window
//! nor more than once per window; connections fighting over one node id
//! raise an alert and are held off; an older certificate cut off while in
//! use raises an alert; the handshake gate checks the certified key.

use std::{path::Path, time::Duration};

use passerelle_certs::{
    files::{read_pem, read_pem_all, read_private_key, CERTIFICATE},
    tls, NodeIdentity,
};
use passerelle_hub::admin::{self, Request, Response};
use passerelle_hub_core::{providers::Action, registry::CLOSE_CONTESTED, renewal};
use passerelle_link::{endpoint, stream};
use passerelle_protocol::{
    frame::MAX_CONTROL_FRAME,
    ids::NodeId,
    message::{NodeRequest, NodeResponse},
};
use passerelle_tests::{
    eventually, http, refresh, rows, rows_csv, wait_connected, wait_datasets, Net,
};

/// A QUIC link to the hub made with credentials of our choosing (a thief
/// holding a node's key, say): the client endpoint and the connection.
async fn link(
    hub: std::net::SocketAddr,
    cas: &[Vec<u8>],
    cert: &[u8],
    key: &[u8],
) -> Result<(quinn::Endpoint, quinn::Connection), String> {
    let tls = tls::node_client_config(cas, &[cert.to_vec()], key).map_err(|e| e.to_string())?;
    let config = endpoint::client_config(tls, Default::default()).map_err(|e| e.to_string())?;
    let ep = endpoint::client(hub).map_err(|e| e.to_string())?;
    let conn = ep
        .connect_with(config, hub, "localhost")
        .map_err(|e| e.to_string())?
        .await
        .map_err(|e| e.to_string())?;
    Ok((ep, conn))
}

/// A node folder's certificate, key and trusted CAs.
fn creds(root: &Path) -> (Vec<u8>, Vec<u8>, Vec<Vec<u8>>) {
    (
        read_pem(&root.join("node.crt"), CERTIFICATE).unwrap(),
        read_private_key(&root.join("node.key")).unwrap(),
        read_pem_all(&root.join("ca.crt"), CERTIFICATE).unwrap(),
    )
}

/// Waits until the hub's registered link of `id` is the one from `conn`.
async fn registered(hub: &passerelle_hub::server::HubHandle, id: &NodeId, ep: &quinn::Endpoint) {
    let port = ep.local_addr().unwrap().port();
    eventually("link registered", Duration::from_secs(10), || {
        let ok = hub
            .live(id)
            .is_some_and(|l| l.conn.remote_address().port() == port);
        async move { ok }
    })
    .await;
}

fn counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_claiming_another_institutions_dataset_changes_no_figure_until_allowed() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let periods = ["2025-T1", "2025-T2"];
    let a = net
        .data_node(&hub, "asso-a", Some(&rows_csv(&rows(11, &periods))), false)
        .await;
    let before = refresh(&hub, "personnes-recues").await;
    assert_eq!(before.coverage.answered.len(), 1);

    // An enrolled node declares the same dataset, with figures of its own.
    let root = net
        .claiming_node_dir(&hub, "intrus", Some(&rows_csv(&rows(99, &periods))), false)
        .await;
    let intruder = passerelle_node::serve::start(&root).await.unwrap();
    wait_connected(&hub, "intrus").await;
    wait_datasets(&hub, "intrus").await;

    let after = refresh(&hub, "personnes-recues").await;
    assert_eq!(after.cells, before.cells, "no published figure changed");
    let named: Vec<&str> = after
        .coverage
        .answered
        .iter()
        .map(|a| a.node_id.as_str())
        .chain(after.coverage.failed.iter().map(|f| f.node_id.as_str()))
        .collect();
    assert_eq!(named, ["asso-a"], "only approved providers are named");
    assert_eq!(after.provenance.len(), 1);
    let latest: passerelle_observatory::IndicatorResult = hub
        .ctx()
        .hub
        .store
        .latest_result("personnes-recues")
        .unwrap()
        .unwrap();
    assert!(latest
        .coverage
        .answered
        .iter()
        .all(|a| a.node_id == "asso-a"));

    // The claim is pending: listed, and on the health page.
    let Response::Providers(pending) =
        admin::request(&net.hub_dir(), Request::Datasets(Action::Pending))
            .await
            .unwrap()
    else {
        panic!("unexpected reply")
    };
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(
        (pending[0].node_id.as_str(), pending[0].dataset.as_str()),
        ("intrus", "personnes_recues")
    );
    let (_, _, page) = http(hub.http_addr, "GET", "/sante", &[], "").await;
    assert!(
        page.contains("Jeux de données en attente de votre approbation")
            && page.contains("--node-id intrus --dataset personnes_recues")
            && page.contains("partenaire(s) demandent votre attention"),
        "{page}"
    );

    // Once the operator allows it, it contributes.
    let Response::Providers(allowed) = admin::request(
        &net.hub_dir(),
        Request::Datasets(Action::Allow {
            node_id: NodeId::new("intrus").unwrap(),
            dataset: "personnes_recues".into(),
        }),
    )
    .await
    .unwrap() else {
        panic!("unexpected reply")
    };
    assert_eq!(allowed[0].state, "allowed");
    let both = refresh(&hub, "personnes-recues").await;
    assert_eq!(both.coverage.answered.len(), 2);
    assert_ne!(both.cells, before.cells, "its figures now count");
    intruder.stop().await;
    a.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_outside_its_window_is_refused() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let root = net.enroll(&hub, "caf-976").await;
    // A fresh certificate: its renewal window opens halfway through its life.
    let (cert, key, cas) = creds(&root);
    let (ep, conn) = link(hub.quic_addr, &cas, &cert, &key).await.unwrap();
    let csr = passerelle_certs::ca::node_request("caf-976").unwrap();
    let reply: NodeResponse = stream::exchange(
        &conn,
        &NodeRequest::Renew {
            csr_der: csr.csr_der,
        },
        MAX_CONTROL_FRAME,
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    let NodeResponse::Refused(why) = reply else {
        panic!("renewed outside the window: {reply:?}")
    };
    assert!(why.contains("renewed too early"), "{why}");
    let id = NodeId::new("caf-976").unwrap();
    let node = hub.ctx().hub.store.node(&id).unwrap().unwrap();
    assert_eq!(node.serial, NodeIdentity::from_der(&cert).unwrap().serial);
    let (_, _, metrics) = http(hub.http_addr, "GET", "/metrics", &[], "").await;
    assert!(
        counter(&metrics, "passerelle_renewals_refused_total") >= 1,
        "{metrics}"
    );
    ep.close(0u32.into(), b"");
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_is_renewed_at_most_once_per_window() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let root = net.enroll(&hub, "caf-976").await;
    let id = NodeId::new("caf-976").unwrap();
    let (_, _, cas) = creds(&root);
    // A certificate in its renewal window: 20 s left of 120.
    let now = passerelle_link::now();
    let req = passerelle_certs::ca::node_request("caf-976").unwrap();
    let der = hub
        .ctx()
        .ca
        .issue_node(&req.csr_der, &id, "Institution caf-976", now - 100, 120)
        .unwrap();
    let short = NodeIdentity::from_der(&der).unwrap();
    renewal::record_issued(&hub.ctx().hub.store, &short, &[0; 32], now).unwrap();
    let (ep, conn) = link(hub.quic_addr, &cas, &der, &req.key_pkcs8)
        .await
        .unwrap();
    let renew = |conn: quinn::Connection| async move {
        let csr = passerelle_certs::ca::node_request("caf-976").unwrap();
        stream::exchange::<_, NodeResponse>(
            &conn,
            &NodeRequest::Renew {
                csr_der: csr.csr_der,
            },
            MAX_CONTROL_FRAME,
            Duration::from_secs(10),
        )
        .await
        .unwrap()
    };
    let NodeResponse::Renewed {
        cert_der: first, ..
    } = renew(conn.clone()).await
    else {
        panic!("first renewal refused")
    };
    // Its reply lost, the node asks again: the unused renewal is replaced
    // (and revoked).
    let NodeResponse::Renewed {
        cert_der: second, ..
    } = renew(conn.clone()).await
    else {
        panic!("retry refused")
    };
    let first = NodeIdentity::from_der(&first).unwrap();
    let revoked = hub.ctx().hub.store.serial(&first.serial).unwrap().unwrap();
    assert!(
        revoked.revoked_at.is_some(),
        "the unused renewal is revoked"
    );
    // A third time: refused, whoever asks.
    let third = renew(conn.clone()).await;
    let NodeResponse::Refused(why) = third else {
        panic!("renewed a third time: {third:?}")
    };
    assert!(why.contains("already renewed"), "{why}");
    // The renewed certificate used: the older one is superseded and the
    // renewal record pruned.
    let second_id = NodeIdentity::from_der(&second).unwrap();
    renewal::connected_with(&hub.ctx().hub.store, &second_id, passerelle_link::now()).unwrap();
    let renewals: passerelle_hub_core::store::Keyspace<renewal::RenewalRecord> = hub
        .ctx()
        .hub
        .store
        .keyspace(passerelle_hub_core::store::FederationSpace::Renewals);
    assert!(
        renewals.get(id.as_str().as_bytes()).unwrap().is_none(),
        "pruned"
    );
    assert!(hub
        .ctx()
        .hub
        .store
        .serial(&short.serial)
        .unwrap()
        .unwrap()
        .revoked_at
        .is_some());
    ep.close(0u32.into(), b"");
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_fighting_over_one_node_id_raise_an_alert_and_are_held_off() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let root = net.enroll(&hub, "caf-976").await;
    let id = NodeId::new("caf-976").unwrap();
    // The node and a thief with its key take turns.
    let (cert, key, cas) = creds(&root);
    let (ep1, c1) = link(hub.quic_addr, &cas, &cert, &key).await.unwrap();
    registered(&hub, &id, &ep1).await;
    let (ep2, _c2) = link(hub.quic_addr, &cas, &cert, &key).await.unwrap();
    registered(&hub, &id, &ep2).await;
    let closed = c1.closed().await;
    assert!(closed.to_string().contains("replaced"), "{closed}");
    let (ep3, c3) = link(hub.quic_addr, &cas, &cert, &key).await.unwrap();
    registered(&hub, &id, &ep3).await;
    // Second fight: a replacing connection is now refused for a while.
    let (ep4, c4) = link(hub.quic_addr, &cas, &cert, &key).await.unwrap();
    match c4.closed().await {
        quinn::ConnectionError::ApplicationClosed(c) => {
            assert_eq!(c.error_code, CLOSE_CONTESTED.into());
        }
        other => panic!("not held off: {other}"),
    }
    assert_eq!(
        hub.live(&id).unwrap().conn.remote_address().port(),
        ep3.local_addr().unwrap().port(),
        "the link in place keeps serving"
    );
    assert!(c3.close_reason().is_none());
    let contest = hub.ctx().registry.contest(&id).unwrap();
    assert_eq!((contest.total_fights, contest.held_off), (2, 1));
    let (_, _, metrics) = http(hub.http_addr, "GET", "/metrics", &[], "").await;
    assert!(
        counter(&metrics, "passerelle_link_contests_total") >= 2,
        "{metrics}"
    );
    assert!(
        counter(&metrics, "passerelle_link_replacements_held_off_total") >= 1,
        "{metrics}"
    );
    let (_, _, page) = http(hub.http_addr, "GET", "/sante", &[], "").await;
    assert!(
        page.contains("2 connexion(s) concurrente(s) pour cet identifiant")
            && page.contains("1 reconnexion(s) retenue(s)")
            && page.contains("passerelle-hub revoke --node-id caf-976"),
        "{page}"
    );
    for ep in [ep1, ep2, ep3, ep4] {
        ep.close(0u32.into(), b"");
    }
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_certificate_cut_off_while_in_use_raises_an_alert() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let root = net.enroll(&hub, "caf-976").await;
    let id = NodeId::new("caf-976").unwrap();
    let (old_cert, old_key, cas) = creds(&root);
    let (ep1, c1) = link(hub.quic_addr, &cas, &old_cert, &old_key)
        .await
        .unwrap();
    registered(&hub, &id, &ep1).await;
    // A newer certificate of the node (as a renewal issues it).
    let req = passerelle_certs::ca::node_request("caf-976").unwrap();
    let now = passerelle_link::now();
    let der = hub
        .ctx()
        .ca
        .issue_node(&req.csr_der, &id, "Institution caf-976", now, 86_400)
        .unwrap();
    let newer = NodeIdentity::from_der(&der).unwrap();
    renewal::record_issued(&hub.ctx().hub.store, &newer, &[0; 32], now).unwrap();
    hub.ctx()
        .hub
        .store
        .update_node(&id, |n| n.serial = newer.serial.clone())
        .unwrap();
    let (ep2, _c2) = link(hub.quic_addr, &cas, &der, &req.key_pkcs8)
        .await
        .unwrap();
    registered(&hub, &id, &ep2).await;
    let _ = c1.closed().await;
    assert_eq!(hub.ctx().registry.contest(&id).unwrap().certs_cut, 1);
    let (_, _, metrics) = http(hub.http_addr, "GET", "/metrics", &[], "").await;
    assert!(
        counter(&metrics, "passerelle_link_older_certificates_cut_total") >= 1,
        "{metrics}"
    );
    let (_, _, page) = http(hub.http_addr, "GET", "/sante", &[], "").await;
    assert!(
        page.contains("Un ancien certificat encore en usage a été coupé 1 fois"),
        "{page}"
    );
    // The older certificate is superseded: refused from now on.
    let again = match link(hub.quic_addr, &cas, &old_cert, &old_key).await {
        Err(e) => e,
        Ok((_ep, conn)) => conn.closed().await.to_string(),
    };
    assert!(!again.is_empty());
    assert_eq!(
        hub.live(&id).unwrap().identity.serial,
        newer.serial,
        "the newer certificate's link stays"
    );
    ep1.close(0u32.into(), b"");
    ep2.close(0u32.into(), b"");
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handshake_gate_refuses_a_certificate_whose_key_is_not_the_certified_one() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let root = net.enroll(&hub, "caf-976").await;
    let (cert, key, cas) = creds(&root);
    let serial = NodeIdentity::from_der(&cert).unwrap().serial;
    // The registry says another key was certified under this serial.
    let keys: passerelle_hub_core::store::Keyspace<
        [u8; 32],
        passerelle_hub_core::store::keyspace::Raw,
    > = hub
        .ctx()
        .hub
        .store
        .keyspace(passerelle_hub_core::store::FederationSpace::SerialKeys);
    assert!(
        keys.get(serial.as_bytes()).unwrap().is_some(),
        "recorded at enrollment"
    );
    keys.insert(serial.as_bytes(), &[9; 32]).unwrap();
    let refused = match link(hub.quic_addr, &cas, &cert, &key).await {
        Err(e) => e,
        Ok((_ep, conn)) => {
            // Under TLS 1.3 a refused client certificate shows on first I/O.
            let r: Result<Vec<u8>, _> =
                stream::exchange(&conn, &vec![1u8], MAX_CONTROL_FRAME, Duration::from_secs(5))
                    .await;
            assert!(r.is_err());
            conn.close_reason()
                .map(|r| r.to_string())
                .unwrap_or_default()
        }
    };
    assert!(
        hub.live(&NodeId::new("caf-976").unwrap()).is_none(),
        "{refused}"
    );
    hub.stop().await;
}
