//! Enrollment end to end: a real hub, real nodes, real QUIC on loopback.

use passerelle_hub::admin;
use passerelle_hub_core::ops;
use passerelle_node::NodeError;
use passerelle_protocol::{
    enroll::{Token, TokenRecord},
    ids::NodeId,
    sign::sha256,
};
use passerelle_tests::{eventually, Net};
use std::time::Duration;

#[tokio::test]
async fn enrolled_node_connects_and_is_listed() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let node = net.node(&hub, "caf-976").await;

    // The private key stayed on the node and is owner-only.
    let key = net.node_dir("caf-976").join("node.key");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // The hub's listing (through its admin socket, as the CLI does) shows
    // the node connected, with the certificate's expiry and a last-seen
    // time once the first signed status answer arrived.
    let cert_not_after = node.shared().link();
    assert!(cert_not_after.connected);
    let dir = net.hub_dir();
    eventually("status recorded", Duration::from_secs(10), || {
        let dir = dir.clone();
        async move {
            match admin::request(&dir, admin::Request::Nodes).await.unwrap() {
                admin::Response::Nodes(rows) => {
                    rows.len() == 1 && rows[0].connected && rows[0].last_seen.is_some()
                }
                _ => false,
            }
        }
    })
    .await;
    let admin::Response::Nodes(rows) = admin::request(&dir, admin::Request::Nodes).await.unwrap()
    else {
        panic!()
    };
    let identity = passerelle_certs::NodeIdentity::from_der(
        &passerelle_certs::files::read_pem(
            &net.node_dir("caf-976").join("node.crt"),
            "CERTIFICATE",
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(rows[0].node_id, "caf-976");
    assert_eq!(rows[0].name, "Institution caf-976");
    assert_eq!(rows[0].cert_not_after, identity.not_after);
    assert_eq!(rows[0].version.as_deref(), Some(passerelle_node::VERSION));

    node.stop().await;
    hub.stop().await;
}

#[tokio::test]
async fn token_works_once_and_bad_tokens_are_refused() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let token = net.token(&hub, "cd-976");
    net.init_node(&hub, &net.node_dir("first"), &token)
        .await
        .expect("first use");

    let reuse = net
        .init_node(&hub, &net.node_dir("second"), &token)
        .await
        .unwrap_err();
    assert!(
        matches!(&reuse, NodeError::EnrollRefused(m) if m.contains("already used")),
        "{reuse}"
    );
    assert!(
        !net.node_dir("second").join("node.key").exists(),
        "nothing kept after a refusal"
    );

    // A well-formed token the hub never issued.
    let fp = hub.ctx().ca.fingerprint();
    let unknown = Token {
        secret: [42; 16],
        ca_fingerprint: fp,
    }
    .encode();
    let err = net
        .init_node(&hub, &net.node_dir("third"), &unknown)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, NodeError::EnrollRefused(m) if m.contains("unknown enrollment token")),
        "{err}"
    );

    // An expired token.
    let secret = [7; 16];
    hub.ctx()
        .hub
        .store
        .put_token(&TokenRecord {
            node_id: NodeId::new("late").unwrap(),
            name: "Late".into(),
            secret_hash: sha256(&secret),
            issued_at: 1,
            expires_at: 2,
            used_at: None,
        })
        .unwrap();
    let expired = Token {
        secret,
        ca_fingerprint: fp,
    }
    .encode();
    let err = net
        .init_node(&hub, &net.node_dir("fourth"), &expired)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, NodeError::EnrollRefused(m) if m.contains("expired")),
        "{err}"
    );

    // A token pinned to another CA: the node refuses the hub before
    // sending its secret.
    let foreign = Token {
        secret: [1; 16],
        ca_fingerprint: [9; 32],
    }
    .encode();
    let err = net
        .init_node(&hub, &net.node_dir("fifth"), &foreign)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("not the hub this token was issued for"),
        "{err}"
    );

    // An already enrolled node id gets no second token until revoked.
    let again =
        ops::issue_token(&hub.ctx().hub, &NodeId::new("cd-976").unwrap(), "CD", 0).unwrap_err();
    assert!(again.to_string().contains("already enrolled"), "{again}");
    hub.stop().await;
}
