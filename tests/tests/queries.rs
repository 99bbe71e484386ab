//! Signed queries over the live link: tampering, replay and oversized
//! frames are refused by the node, which says why in a signed reply.

use std::time::Duration;

use passerelle_hub_core::federation;
use passerelle_link::{now, random16, stream};
use passerelle_protocol::{
    envelope::{Outcome, QueryBody, SignedQuery, SignedReply},
    frame::MAX_CONTROL_FRAME,
    ids::NodeId,
    message::{Answer, Query, Refusal},
};
use passerelle_tests::Net;

const T: Duration = Duration::from_secs(5);

fn body(node: &str) -> QueryBody {
    QueryBody {
        query_id: random16(),
        issued_at: now(),
        nonce: random16(),
        audience: passerelle_protocol::envelope::Audience::Node(NodeId::new(node).unwrap()),
        query: Query::Status,
    }
}

#[tokio::test]
async fn tampered_replayed_and_misaddressed_queries_are_refused() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let node = net.node(&hub, "caf-976").await;
    let live = hub.live(&NodeId::new("caf-976").unwrap()).unwrap();
    let key = &hub.ctx().hub.key;

    // A good query is answered, and the answer is signed by the node.
    let good = SignedQuery::sign(&body("caf-976"), key).unwrap();
    let first = federation::send(&live, &good, None, T).await.unwrap();
    assert!(
        matches!(first.body.outcome, Outcome::Answered(Answer::Status(_))),
        "{:?}",
        first.body.outcome
    );

    // The same bytes again: replay.
    let again = federation::send(&live, &good, None, T).await.unwrap();
    assert_eq!(again.body.outcome, Outcome::Refused(Refusal::Replayed));

    // One flipped bit in the signature.
    let mut tampered = SignedQuery::sign(&body("caf-976"), key).unwrap();
    tampered.signature[10] ^= 0x01;
    let r = federation::send(&live, &tampered, None, T).await.unwrap();
    assert_eq!(r.body.outcome, Outcome::Refused(Refusal::BadSignature));

    // One flipped bit in the signed body.
    let mut tampered = SignedQuery::sign(&body("caf-976"), key).unwrap();
    let n = tampered.body.len();
    tampered.body[n - 1] ^= 0x01;
    let r = federation::send(&live, &tampered, None, T).await.unwrap();
    assert_eq!(r.body.outcome, Outcome::Refused(Refusal::BadSignature));

    // Signed by someone else than the hub (the node's own CA key).
    let ca_key =
        passerelle_protocol::sign::SigningKey::from_pkcs8(&hub.ctx().ca.key_pkcs8()).unwrap();
    let forged = SignedQuery::sign(&body("caf-976"), &ca_key).unwrap();
    let r = federation::send(&live, &forged, None, T).await.unwrap();
    assert_eq!(r.body.outcome, Outcome::Refused(Refusal::BadSignature));

    // Addressed to another node.
    let other = SignedQuery::sign(&body("cd-976"), key).unwrap();
    let r = federation::send(&live, &other, None, T).await.unwrap();
    assert_eq!(
        r.body.outcome,
        Outcome::Refused(Refusal::WrongAudience {
            addressed_to: "cd-976".into()
        })
    );

    // Stale: issued ten minutes ago.
    let mut old = body("caf-976");
    old.issued_at -= 600;
    let r = federation::send(&live, &SignedQuery::sign(&old, key).unwrap(), None, T)
        .await
        .unwrap();
    assert!(
        matches!(r.body.outcome, Outcome::Refused(Refusal::Stale { .. })),
        "{:?}",
        r.body.outcome
    );

    // Every refusal was logged by the node, with its reason.
    let report = passerelle_node::admin::status(&net.node_dir("caf-976"))
        .await
        .unwrap();
    let outcomes: Vec<&str> = report
        .recent_queries
        .iter()
        .map(|q| q.outcome.as_str())
        .collect();
    for kind in ["replayed", "bad_signature", "wrong_audience", "stale"] {
        assert!(outcomes.contains(&kind), "{kind} not in {outcomes:?}");
    }
    // Each bad-signature cause (signature, body, signer) is its own record.
    assert_eq!(
        outcomes.iter().filter(|o| **o == "bad_signature").count(),
        3,
        "{outcomes:?}"
    );
    assert!(report.running && report.link.as_ref().is_some_and(|l| l.connected));

    // Stopped, the same report comes from the store: the log persisted.
    node.stop().await;
    let stopped = passerelle_node::admin::status(&net.node_dir("caf-976"))
        .await
        .unwrap();
    assert!(!stopped.running && stopped.link.is_none());
    // Every record seen while it ran is still there (the hub's status
    // polls may have added newer ones).
    assert!(report.recent_queries.len() >= 7, "{outcomes:?}");
    for q in &report.recent_queries {
        assert!(
            stopped.recent_queries.contains(q),
            "{q:?} not kept after the restart"
        );
    }
    hub.stop().await;
}

#[tokio::test]
async fn oversized_frame_is_refused_from_its_header() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let node = net.node(&hub, "caf-976").await;
    let live = hub.live(&NodeId::new("caf-976").unwrap()).unwrap();

    // Announce a 1 GiB frame and send nothing after the header. A node that
    // tried to read (or allocate) the payload would wait for bytes that
    // never come; the refusal arriving proves it judged the header alone.
    let (mut send, mut recv) = live.conn.open_bi().await.unwrap();
    send.write_all(&(1u32 << 30).to_be_bytes()).await.unwrap();
    let reply: SignedReply =
        tokio::time::timeout(T, stream::read_message(&mut recv, MAX_CONTROL_FRAME))
            .await
            .unwrap()
            .unwrap();
    let body = reply
        .verify(&live.identity.public_key, &live.identity.node_id, None)
        .unwrap();
    assert_eq!(
        body.outcome,
        Outcome::Refused(Refusal::FrameTooLarge {
            len: 1 << 30,
            max: MAX_CONTROL_FRAME
        })
    );

    // The link is still good for the next query.
    let ok = federation::ask(&live, &hub.ctx().hub.key, Query::Ping, T)
        .await
        .unwrap();
    assert_eq!(ok.body.outcome, Outcome::Answered(Answer::Pong));
    node.stop().await;
    hub.stop().await;
}
