//! Protocol version negotiation: the hub serves a node one minor version
//! behind. The old node is played here by a minimal peer with a real
//! enrolled certificate that speaks only version 1, as the released node
//! did: it refuses any other envelope version and cannot decode queries
//! added since.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use passerelle_link::{endpoint, stream};
use passerelle_protocol::{
    codec,
    envelope::{Outcome, QueryBody, ReplyBody, SignedQuery, SignedReply},
    frame::MAX_CONTROL_FRAME,
    ids::NodeId,
    message::{Answer, NodeStatus, Query, Refusal},
    vault::{Pseudonym, Requester},
};
use passerelle_tests::{eventually, Net};

/// What the old node received: envelope version and the query's version.
type Seen = Arc<Mutex<Vec<(u16, u16)>>>;

async fn old_node(
    root: std::path::PathBuf,
    hub: std::net::SocketAddr,
    seen: Seen,
) -> quinn::Endpoint {
    let dir = passerelle_node::paths::NodeDir::existing(&root).unwrap();
    let creds = passerelle_node::identity::Credentials::load(&dir).unwrap();
    let tls = passerelle_certs::tls::node_client_config(
        &creds.cas,
        std::slice::from_ref(&creds.cert_der),
        &creds.key_pkcs8,
    )
    .unwrap();
    let client = endpoint::client_config(tls, Default::default()).unwrap();
    let ep = endpoint::client(hub).unwrap();
    let conn = ep
        .connect_with(client, hub, "127.0.0.1")
        .unwrap()
        .await
        .unwrap();
    let creds = Arc::new(creds);
    tokio::spawn(async move {
        while let Ok((mut send, mut recv)) = conn.accept_bi().await {
            let (creds, seen) = (creds.clone(), seen.clone());
            tokio::spawn(async move {
                let Ok(payload) = stream::read_frame(&mut recv, MAX_CONTROL_FRAME).await else {
                    return;
                };
                let signed: SignedQuery = codec::decode(&payload).unwrap();
                let body: QueryBody = codec::decode(&signed.body).unwrap();
                seen.lock()
                    .unwrap()
                    .push((signed.version, body.query.since()));
                let outcome = if signed.version != 1 {
                    Outcome::Refused(Refusal::UnsupportedVersion {
                        got: signed.version,
                        supported: 1,
                    })
                } else if body.query.since() > 1 {
                    Outcome::Refused(Refusal::Malformed("unknown variant".into()))
                } else {
                    Outcome::Answered(match body.query {
                        Query::Status => Answer::Status(NodeStatus {
                            version: "0.9.0".into(),
                            protocol: 1,
                            node_id: creds.identity.node_id.clone(),
                            institution: creds.identity.institution.clone(),
                            datasets: Vec::new(),
                            cert_not_after: creds.identity.not_after,
                            now: passerelle_link::now(),
                        }),
                        Query::Directory => Answer::Directory(None),
                        _ => Answer::Pong,
                    })
                };
                let reply = ReplyBody {
                    query_id: Some(body.query_id),
                    node_id: creds.identity.node_id.clone(),
                    issued_at: passerelle_link::now(),
                    outcome,
                };
                let mut signed = SignedReply::sign(&reply, &creds.key).unwrap();
                signed.version = 1;
                let _ = stream::write_message(&mut send, &signed, MAX_CONTROL_FRAME).await;
            });
        }
    });
    ep
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_serves_a_node_one_minor_version_behind() {
    assert_eq!(
        passerelle_protocol::MIN_PROTOCOL_VERSION + 1,
        passerelle_protocol::PROTOCOL_VERSION
    );
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let root = net.enroll(&hub, "ancien-976").await;
    let seen: Seen = Arc::default();
    let _ep = old_node(root, hub.quic_addr, seen.clone()).await;
    let id = NodeId::new("ancien-976").unwrap();

    // The status poll goes through, and the hub records the old version.
    eventually(
        "the old node's status recorded",
        Duration::from_secs(10),
        || {
            let v = hub
                .ctx()
                .hub
                .store
                .node(&id)
                .unwrap()
                .and_then(|n| n.version);
            async move { v.as_deref() == Some("0.9.0") }
        },
    )
    .await;
    let live = hub.live(&id).unwrap();
    assert_eq!(live.protocol(), 1);
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
        Outcome::Answered(Answer::Pong)
    ));

    // Nothing newer is sent: version-2 queries stop at the hub.
    let err = passerelle_hub_core::federation::documents(
        &live,
        &hub.ctx().hub.key,
        Pseudonym("p".into()),
        Requester::Person,
        Duration::from_secs(5),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            passerelle_hub::HubError::Outdated {
                has: 1,
                needs: 2,
                ..
            }
        ),
        "{err}"
    );
    // Had it gone out, it would be seen before a ping sent after it.
    let before = seen.lock().unwrap().len();
    passerelle_hub_core::federation::ask(
        &live,
        &hub.ctx().hub.key,
        Query::Ping,
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    eventually("the ping after it seen", Duration::from_secs(10), || {
        let n = seen.lock().unwrap().len();
        async move { n > before }
    })
    .await;
    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() >= 3, "{seen:?}");
    assert!(
        seen.iter()
            .all(|(envelope, since)| *envelope == 1 && *since == 1),
        "the old node saw only version-1 queries: {seen:?}"
    );

    // A current node next to it speaks version 2.
    let node = net.node(&hub, "nouveau-976").await;
    let newer = NodeId::new("nouveau-976").unwrap();
    eventually(
        "the new node's version known",
        Duration::from_secs(10),
        || {
            let p = hub.live(&newer).map(|l| l.protocol());
            async move { p == Some(2) }
        },
    )
    .await;
    node.stop().await;
    hub.stop().await;
}
