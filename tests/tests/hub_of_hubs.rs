//! Hub of hubs, end to end over real QUIC on loopback: two regional hubs,
//! each with its own partner node, are enrolled as nodes of a national hub
//! (`upstream::enroll` with a token, as `passerelle-hub upstream enroll`
//! does). The national hub composes `personnes-recues` from the regional
//! hubs' published figures only: each national figure is the sum of the
//! regional ones, a cell a region withholds stays withheld, the national
//! bundle verifies and chains to each regional bundle, which verifies down
//! to the partner's signed answer; the national hub has links to the two
//! regional hubs and to nothing else, and a regional hub refuses a query
//! the national hub did not sign.
//!
//! Geography: Passerelle's reference geography is Mayotte alone
//! (`protocol::geo`), so both regions here publish on it; each stands for
//! one region's partners, and the national figure adds them cell by cell.

use std::time::Duration;

use passerelle_hub::server::HubHandle;
use passerelle_observatory::{compose::Status, provenance, IndicatorResult};
use passerelle_protocol::{
    aggregate::{AggregateQuery, Measure},
    envelope::{Outcome, QueryBody, SignedQuery},
    geo::Level,
    ids::NodeId,
    message::{Answer, Query, Refusal},
    sign::{sha256, SigningKey},
};
use passerelle_provenance::bundle::{Kind, Scope};
use passerelle_tests::{
    approve, hub_addr, indicator, rows, rows_csv, wait_connected, wait_datasets, Net,
};

const ID: &str = "personnes-recues";
/// The dataset name under which a regional hub offers `personnes-recues`.
const DATASET: &str = "personnes_recues";
const TIMEOUT: Duration = Duration::from_secs(10);

/// A regional hub enrolled with `national` as node `id`, started, with one
/// partner node holding `seed`'s rows, and its `personnes-recues`
/// published.
async fn region(
    national: &HubHandle,
    national_net: &Net,
    id: &str,
    node: &str,
    seed: u64,
) -> (
    Net,
    HubHandle,
    passerelle_node::serve::NodeHandle,
    IndicatorResult,
) {
    let net = Net::new();
    let token = national_net.token(national, id);
    let enrolled = passerelle_hub::upstream::enroll(&net.hub_dir(), hub_addr(national), &token)
        .await
        .expect("regional hub enrolled upstream");
    assert_eq!(enrolled.as_str(), id);
    // A second enrollment of the same folder is refused.
    let again = national_net.token(national, &format!("{id}-bis"));
    assert!(matches!(
        passerelle_hub::upstream::enroll(&net.hub_dir(), hub_addr(national), &again).await,
        Err(passerelle_hub::upstream::UpstreamError::AlreadyEnrolled(_))
    ));
    net.configure(|c| {
        let u = c.upstream.as_mut().expect("[upstream] written by enroll");
        u.reconnect_min = Duration::from_millis(50);
        u.reconnect_max = Duration::from_millis(300);
    });
    let hub = net.start_hub(None).await;
    let partner = net
        .data_node(
            &hub,
            node,
            Some(&rows_csv(&rows(seed, &["2025-T1"]))),
            false,
        )
        .await;
    let published = match passerelle_tests::refresh_decided(&hub, ID).await {
        passerelle_observatory::publish::Decision::Publish(r) => r,
        other => panic!("regional result not published: {other:?}"),
    };
    wait_connected(national, id).await;
    wait_datasets(national, id).await;
    approve(national, id, DATASET);
    (net, hub, partner, published)
}

fn cell(r: &IndicatorResult, level: Level, code: &str) -> (Status, Option<f64>) {
    let c = r
        .cells
        .iter()
        .find(|c| c.level == level && c.code == code)
        .unwrap_or_else(|| panic!("no cell {level:?} {code}"));
    (c.status, c.value)
}

/// The auditor's export of a hub's latest `personnes-recues` (every signed
/// answer), as JSON.
fn audit_bundle(hub: &HubHandle) -> Vec<u8> {
    let h = &hub.ctx().hub;
    let result = provenance::latest_with_provenance(h, ID)
        .unwrap()
        .expect("a published result");
    let b = provenance::bundle(
        h,
        &indicator(hub, ID),
        &result,
        Scope::default(),
        Kind::Audit,
        passerelle_link::now(),
    )
    .unwrap();
    serde_json::to_vec(&b).unwrap()
}

fn forger() -> SigningKey {
    let doc =
        ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    SigningKey::from_pkcs8(doc.as_ref()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_national_hub_composes_over_two_regional_hubs() {
    let nnet = Net::new();
    let national = nnet.start_hub(None).await;
    let (_anet, a_hub, a_node, a) = region(&national, &nnet, "region-a", "asso-a", 3).await;
    let (_bnet, b_hub, b_node, b) = region(&national, &nnet, "region-b", "asso-b", 11).await;

    // The national hub has links to the two regional hubs only, and has
    // never enrolled a partner node.
    let mut linked: Vec<String> = national
        .ctx()
        .registry
        .connected()
        .iter()
        .map(|n| n.to_string())
        .collect();
    linked.sort();
    assert_eq!(linked, ["region-a", "region-b"]);
    for partner in ["asso-a", "asso-b"] {
        let id = NodeId::new(partner).unwrap();
        assert!(national.ctx().hub.store.node(&id).unwrap().is_none());
        assert!(national.live(&id).is_none());
    }

    let n = match passerelle_tests::refresh_decided(&national, ID).await {
        passerelle_observatory::publish::Decision::Publish(r) => r,
        other => panic!("national result not published: {other:?}"),
    };
    assert_eq!(n.coverage.answered.len(), 2, "{:?}", n.coverage);

    // Every national cell is the sum of the two regional published cells;
    // a cell either region withholds stays withheld.
    let (mut summed, mut withheld) = (0, 0);
    for c in &n.cells {
        let (sa, va) = cell(&a, c.level, &c.code);
        let (sb, vb) = cell(&b, c.level, &c.code);
        match (sa, sb) {
            (Status::Suppressed, _) | (_, Status::Suppressed) => {
                assert_eq!((c.status, c.value), (Status::Suppressed, None), "{c:?}");
                withheld += 1;
            }
            (Status::Missing, Status::Missing) => assert_eq!(c.status, Status::Missing),
            // A region without the cell adds nothing to it.
            _ => {
                let sum = va.unwrap_or(0.0) + vb.unwrap_or(0.0);
                assert_eq!((c.status, c.value), (Status::Released, Some(sum)), "{c:?}");
                summed += 1;
            }
        }
    }
    assert!(
        summed > 0 && withheld > 0,
        "summed {summed}, withheld {withheld}"
    );
    assert_eq!(
        cell(&n, Level::Department, "976"),
        (
            Status::Released,
            Some(
                cell(&a, Level::Department, "976").1.unwrap()
                    + cell(&b, Level::Department, "976").1.unwrap()
            )
        )
    );

    // Provenance: the national export verifies and recomputes every value
    // from the regional hubs' signed answers; each regional export
    // verifies down to its partner's signed answer, and is the result the
    // national bundle's answer from that region was taken from.
    let national_fp = sha256(national.ctx().ca.cert_der());
    let nb = audit_bundle(&national);
    let report = passerelle_verify::check(&nb, Some(national_fp));
    assert!(report.ok(), "{:?}", report.failures);
    assert!(
        report.checked.iter().any(|l| l.contains("recomputed")),
        "{:?}",
        report.checked
    );
    assert_eq!(passerelle_verify::composed(&nb).unwrap().len(), 2);
    for (hub, id, partner) in [
        (&a_hub, "region-a", "asso-a"),
        (&b_hub, "region-b", "asso-b"),
    ] {
        let rb = audit_bundle(hub);
        let r = passerelle_verify::check(&rb, Some(sha256(hub.ctx().ca.cert_der())));
        assert!(r.ok(), "{id}: {:?}", r.failures);
        let (_, s) = parts(&rb);
        assert_eq!(s.contributions.len(), 1);
        assert_eq!(s.contributions[0].node_id, partner);
        assert_eq!(passerelle_verify::chain(&nb, &rb).unwrap(), id);
        // A regional statement that is not the one answered does not chain.
        let moved = restate(&rb, |s| s.computed_at += 1);
        assert!(matches!(
            passerelle_verify::chain(&nb, &moved),
            Err(passerelle_verify::Failure::Mismatch(_))
        ));
    }
    // The public national bundle verifies too (it discloses no regional
    // answer: two sources are combined).
    let (status, _, public) = passerelle_tests::http_bytes(
        national.http_addr,
        "GET",
        &format!("/indicateur/{ID}/preuve?niveau=department&periode=2025-T1"),
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 200);
    assert!(passerelle_verify::check(&public, Some(national_fp)).ok());

    // A regional hub answers only what the national hub signed.
    let live = national.live(&NodeId::new("region-a").unwrap()).unwrap();
    let q = Query::Aggregate(AggregateQuery {
        dataset: DATASET.into(),
        measure: Measure::Count,
        periods: vec![],
        by: None,
    });
    let forged = passerelle_hub_core::federation::ask(&live, &forger(), q.clone(), TIMEOUT)
        .await
        .unwrap();
    assert!(
        matches!(forged.body.outcome, Outcome::Refused(Refusal::BadSignature)),
        "{:?}",
        forged.body.outcome
    );
    let body = QueryBody {
        query_id: [7; 16],
        issued_at: passerelle_link::now(),
        nonce: [8; 16],
        audience: passerelle_protocol::envelope::Audience::Node(NodeId::new("region-a").unwrap()),
        query: q.clone(),
    };
    let mut unsigned = SignedQuery::sign(&body, &national.ctx().hub.key).unwrap();
    unsigned.signature.clear();
    let refused = passerelle_hub_core::federation::send(&live, &unsigned, Some([7; 16]), TIMEOUT)
        .await
        .unwrap();
    assert!(
        matches!(
            refused.body.outcome,
            Outcome::Refused(Refusal::BadSignature | Refusal::Malformed(_))
        ),
        "{:?}",
        refused.body.outcome
    );
    let genuine = national.ctx().fed.ask(&live, q).await.unwrap();
    assert!(
        matches!(genuine.body.outcome, Outcome::Answered(Answer::Composed(_))),
        "{:?}",
        genuine.body.outcome
    );
    // A breakdown is not published, so not answered.
    let by = Query::Aggregate(AggregateQuery {
        dataset: DATASET.into(),
        measure: Measure::Count,
        periods: vec![],
        by: Some("sexe".into()),
    });
    let asked = national.ctx().fed.ask(&live, by).await.unwrap();
    assert!(matches!(
        asked.body.outcome,
        Outcome::Refused(Refusal::OutOfPolicy(_))
    ));

    a_node.stop().await;
    b_node.stop().await;
    a_hub.stop().await;
    b_hub.stop().await;
    national.stop().await;
}

fn parts(
    bytes: &[u8],
) -> (
    passerelle_provenance::bundle::Bundle,
    passerelle_provenance::bundle::Statement,
) {
    let b: passerelle_provenance::bundle::Bundle = serde_json::from_slice(bytes).unwrap();
    let s = serde_json::from_str(b.statement.get()).unwrap();
    (b, s)
}

/// The bundle with its statement changed by `edit` (not signed again).
fn restate(
    bytes: &[u8],
    edit: impl FnOnce(&mut passerelle_provenance::bundle::Statement),
) -> Vec<u8> {
    let (mut b, mut s) = parts(bytes);
    edit(&mut s);
    b.statement =
        serde_json::value::RawValue::from_string(serde_json::to_string(&s).unwrap()).unwrap();
    serde_json::to_vec(&b).unwrap()
}
