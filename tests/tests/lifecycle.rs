//! Certificate lifecycle: a node renews its certificate over the link
//! before expiry and keeps serving; the hub rotates its CA with an overlap
//! during which both CAs are trusted.

use std::time::Duration;

use passerelle_certs::files::{read_pem, read_pem_all, write_pem, CERTIFICATE, PRIVATE_KEY};
use passerelle_protocol::ids::NodeId;
use passerelle_tests::{eventually, wait_connected, Net};

fn serial_on_disk(root: &std::path::Path) -> String {
    let der = read_pem(&root.join("node.crt"), CERTIFICATE).unwrap();
    passerelle_certs::NodeIdentity::from_der(&der)
        .unwrap()
        .serial
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_renews_its_certificate_over_the_link_and_keeps_serving() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let root = net.enroll(&hub, "caf-976").await;
    let id = NodeId::new("caf-976").unwrap();
    // Give the node a certificate in the second half of a one-day life
    // (11 h left): due for renewal, and valid for the whole test however
    // slow the machine.
    let now = passerelle_link::now();
    let req = passerelle_certs::ca::node_request("caf-976").unwrap();
    let der = hub
        .ctx()
        .ca
        .issue_node(
            &req.csr_der,
            &id,
            "Institution caf-976",
            now - 13 * 3600,
            86400,
        )
        .unwrap();
    let short = passerelle_certs::NodeIdentity::from_der(&der).unwrap();
    hub.ctx()
        .hub
        .store
        .put_serial(
            &short.serial,
            &passerelle_hub_core::store::SerialRecord {
                node_id: id.clone(),
                issued_at: now,
                revoked_at: None,
            },
        )
        .unwrap();
    write_pem(&root.join("node.key"), PRIVATE_KEY, &[&req.key_pkcs8]).unwrap();
    write_pem(&root.join("node.crt"), CERTIFICATE, &[&der]).unwrap();

    let node = passerelle_node::serve::start(&root).await.unwrap();
    eventually(
        "renewed certificate on disk",
        Duration::from_secs(15),
        || {
            let changed = serial_on_disk(&root) != short.serial;
            async move { changed }
        },
    )
    .await;
    let renewed = serial_on_disk(&root);
    let ident = passerelle_certs::NodeIdentity::from_der(
        &read_pem(&root.join("node.crt"), CERTIFICATE).unwrap(),
    )
    .unwrap();
    assert!(
        ident.not_after > now + 80 * 86400,
        "a full-length certificate"
    );
    // A new key too: the renewed certificate matches the key on disk.
    let key = passerelle_protocol::sign::SigningKey::from_pkcs8(
        &passerelle_certs::files::read_private_key(&root.join("node.key")).unwrap(),
    )
    .unwrap();
    assert_eq!(key.public(), ident.public_key);
    assert_ne!(ident.public_key, short.public_key);
    // The hub recorded it, the node reconnected with it and answers.
    eventually("hub knows the new serial", Duration::from_secs(10), || {
        let ok = hub.ctx().hub.store.node(&id).unwrap().unwrap().serial == renewed;
        async move { ok }
    })
    .await;
    wait_connected(&hub, "caf-976").await;
    eventually(
        "a live link with the new certificate",
        Duration::from_secs(10),
        || {
            let ok = hub.live(&id).is_some_and(|l| l.identity.serial == renewed);
            async move { ok }
        },
    )
    .await;
    let live = hub.live(&id).unwrap();
    let asked = passerelle_hub_core::federation::ask(
        &live,
        &hub.ctx().hub.key,
        passerelle_protocol::message::Query::Ping,
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert!(matches!(
        asked.body.outcome,
        passerelle_protocol::envelope::Outcome::Answered(_)
    ));
    // No staged file is left behind; a restart loads the new credentials.
    assert!(!root.join("node.crt.new").exists() && !root.join("node.key.new").exists());
    node.stop().await;
    let node = passerelle_node::serve::start(&root).await.unwrap();
    wait_connected(&hub, "caf-976").await;
    assert_eq!(serial_on_disk(&root), renewed, "no second renewal");
    node.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_rotates_its_ca_with_an_overlap() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let quic = hub.quic_addr;
    let a = net.node(&hub, "node-a").await;
    let b_root = net.enroll(&hub, "node-b").await; // stays offline
    let hub_key = hub.ctx().hub.key.public();
    let old_ca = hub.ctx().hub.trusted_cas[0].clone();
    hub.stop().await;

    passerelle_hub_core::ops::rotate_ca(&net.hub_dir(), passerelle_link::now()).unwrap();
    assert!(
        passerelle_hub_core::ops::rotate_ca(&net.hub_dir(), passerelle_link::now()).is_err(),
        "one rotation at a time"
    );
    let hub = net.start_hub(Some(quic)).await;
    let new_ca = hub.ctx().hub.trusted_cas[0].clone();
    assert_ne!(new_ca, old_ca);
    assert_eq!(hub.ctx().hub.trusted_cas.len(), 2);
    // Node A comes back (old certificate, trusted during the overlap),
    // learns the new CA, renews from it.
    let a_root = net.node_dir("node-a");
    eventually(
        "node A renewed from the new CA",
        Duration::from_secs(20),
        || {
            let der = read_pem(&a_root.join("node.crt"), CERTIFICATE).unwrap();
            let ok = passerelle_certs::tls::verify_node_cert(
                std::slice::from_ref(&new_ca),
                &der,
                passerelle_link::now(),
            )
            .is_ok()
                && read_pem_all(&a_root.join("ca.crt"), CERTIFICATE)
                    .unwrap()
                    .len()
                    == 2;
            async move { ok }
        },
    )
    .await;
    wait_connected(&hub, "node-a").await;

    // Finishing refuses while node B still holds an old certificate.
    hub.stop().await;
    let err =
        passerelle_hub_core::ops::finish_ca_rotation(&net.hub_dir(), false, passerelle_link::now())
            .unwrap_err()
            .to_string();
    assert!(err.contains("node-b") && !err.contains("node-a"), "{err}");
    let cut =
        passerelle_hub_core::ops::finish_ca_rotation(&net.hub_dir(), true, passerelle_link::now())
            .unwrap();
    assert_eq!(cut, vec!["node-b".to_string()]);

    let hub = net.start_hub(Some(quic)).await;
    assert_eq!(hub.ctx().hub.trusted_cas, vec![new_ca.clone()]);
    assert_eq!(hub.ctx().hub.hub_issuer_der, new_ca);
    assert_eq!(
        hub.ctx().hub.key.public(),
        hub_key,
        "same hub key: past signatures stay valid"
    );
    // Node A reconnects to the re-certified hub.
    wait_connected(&hub, "node-a").await;
    eventually(
        "node A trusts only the new CA",
        Duration::from_secs(20),
        || {
            let ok =
                read_pem_all(&a_root.join("ca.crt"), CERTIFICATE).unwrap() == vec![new_ca.clone()];
            async move { ok }
        },
    )
    .await;
    // Node B, offline during the overlap, is cut off; the doctor says why.
    let report =
        passerelle_node::doctor::run(&b_root, passerelle_link::now(), Duration::from_secs(2)).await;
    let quic_check = report.get("quic").unwrap();
    assert_eq!(
        quic_check.status,
        passerelle_node::doctor::Status::Fail,
        "{}",
        passerelle_node::doctor::render(&report)
    );
    assert!(
        quic_check
            .detail
            .contains("not signed by the CA this node trusts"),
        "{}",
        quic_check.detail
    );
    a.stop().await;
    hub.stop().await;
}
