//! Protocol version negotiation: the hub serves a node one minor version
//! behind. The old node is played here by a minimal peer with a real
//! enrolled certificate that speaks only version 2, as the released node
//! did: it refuses any other envelope version and reads only bodies
//! addressed to it by name. Current nodes beside it get one signed body
//! for a whole fan-out.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use passerelle_hub_core::federation::Question;
use passerelle_link::{endpoint, stream};
use passerelle_protocol::{
    codec,
    envelope::{Outcome, QueryBodyV2, ReplyBody, SignedQuery, SignedReply},
    frame::MAX_CONTROL_FRAME,
    ids::NodeId,
    message::{Answer, NodeStatus, Query, Refusal},
};
use passerelle_tests::{eventually, Net};

/// What the old node received: envelope version, the node the body names
/// and the query's version.
type Seen = Arc<Mutex<Vec<(u16, String, u16)>>>;

async fn old_node(
    root: std::path::PathBuf,
    hub: std::net::SocketAddr,
    seen: Seen,
    forge: Arc<AtomicBool>,
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
            let (creds, seen, forge) = (creds.clone(), seen.clone(), forge.clone());
            tokio::spawn(async move {
                let Ok(payload) = stream::read_frame(&mut recv, MAX_CONTROL_FRAME).await else {
                    return;
                };
                let signed: SignedQuery = codec::decode(&payload).unwrap();
                let Ok(body) = codec::decode::<QueryBodyV2>(&signed.body) else {
                    seen.lock()
                        .unwrap()
                        .push((signed.version, "(unreadable)".into(), 0));
                    return;
                };
                seen.lock().unwrap().push((
                    signed.version,
                    body.audience.to_string(),
                    body.query.since(),
                ));
                let outcome = if signed.version != 2 {
                    Outcome::Refused(Refusal::UnsupportedVersion {
                        got: signed.version,
                        supported: 2,
                    })
                } else if body.query.since() > 2 {
                    Outcome::Refused(Refusal::Malformed("unknown variant".into()))
                } else {
                    Outcome::Answered(match body.query {
                        Query::Status => Answer::Status(NodeStatus {
                            version: "0.9.0".into(),
                            protocol: 2,
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
                // When told to, it signs with a key of its own making.
                let key = if forge.load(Ordering::Relaxed) {
                    let doc = ring::signature::Ed25519KeyPair::generate_pkcs8(
                        &ring::rand::SystemRandom::new(),
                    )
                    .unwrap();
                    passerelle_protocol::sign::SigningKey::from_pkcs8(doc.as_ref()).unwrap()
                } else {
                    passerelle_protocol::sign::SigningKey::from_pkcs8(&creds.key_pkcs8).unwrap()
                };
                let mut signed = SignedReply::sign(&reply, &key).unwrap();
                signed.version = 2;
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
    let forge = Arc::new(AtomicBool::new(false));
    let _ep = old_node(root, hub.quic_addr, seen.clone(), forge.clone()).await;
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
    assert_eq!(live.protocol(), 2);
    let key = &hub.ctx().hub.key;
    let asked =
        passerelle_hub_core::federation::ask(&live, key, Query::Ping, Duration::from_secs(5))
            .await
            .unwrap();
    assert!(matches!(
        asked.body.outcome,
        Outcome::Answered(Answer::Pong)
    ));

    // Two current nodes beside it speak version 3.
    let nodes = [
        net.node(&hub, "nouveau-976").await,
        net.node(&hub, "recent-976").await,
    ];
    let mut current = Vec::new();
    for name in ["nouveau-976", "recent-976"] {
        let newer = NodeId::new(name).unwrap();
        eventually(
            "the new node's version known",
            Duration::from_secs(10),
            || {
                let p = hub.live(&newer).map(|l| l.protocol());
                async move { p == Some(3) }
            },
        )
        .await;
        current.push(hub.live(&newer).unwrap());
    }

    // One fan-out to all three: the current nodes share one signed body
    // (the same query id comes back from both), the old node gets its own,
    // addressed to it by name in version 2.
    let before = seen.lock().unwrap().len();
    let ping_all = || {
        let questions = [live.clone(), current[0].clone(), current[1].clone()]
            .into_iter()
            .map(|live| Question {
                live,
                query: Query::Ping,
            })
            .collect();
        passerelle_hub_core::federation::ask_all(key, questions, Duration::from_secs(5))
    };
    let asked = ping_all().await;
    let ids: Vec<_> = asked
        .iter()
        .map(|a| {
            let a = a.as_ref().expect("every node answers");
            assert!(matches!(a.body.outcome, Outcome::Answered(Answer::Pong)));
            a.body.query_id.expect("the query id echoed")
        })
        .collect();
    assert_eq!(ids[1], ids[2], "one signed body for the current nodes");
    assert_ne!(ids[0], ids[1], "the old node's own body");

    // A forged reply among good ones: the batch fails, the replies are
    // checked one by one, and only the forged one is refused.
    forge.store(true, Ordering::Relaxed);
    let asked = ping_all().await;
    match &asked[0] {
        Err(passerelle_hub::HubError::Node { node, why }) => {
            assert_eq!(node, "ancien-976");
            assert!(why.contains("signature does not verify"), "{why}");
        }
        other => panic!("the forged reply was taken: {other:?}"),
    }
    assert!(asked[1..].iter().all(|a| a
        .as_ref()
        .is_ok_and(|a| matches!(a.body.outcome, Outcome::Answered(Answer::Pong)))));

    let seen = seen.lock().unwrap().clone();
    assert!(seen.len() > before, "{seen:?}");
    assert!(
        seen.iter().all(|(envelope, audience, since)| *envelope == 2
            && audience == "ancien-976"
            && *since <= 2),
        "the old node saw only version-2 queries addressed to it: {seen:?}"
    );
    for node in nodes {
        node.stop().await;
    }
    hub.stop().await;
}
