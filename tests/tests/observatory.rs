//! The observatory end to end: node datasets, disclosure control on the
//! wire, federated composition, coverage and provenance.

use std::{collections::HashMap, time::Duration};

use passerelle_observatory::{compose::Status, refresh as observatory};
use passerelle_protocol::{
    aggregate::{AggregateQuery, CellValue, Measure},
    codec,
    envelope::{Outcome, ReplyBody},
    geo::{self, Level},
    ids::NodeId,
    message::{Answer, Query, Refusal},
};
use passerelle_tests::{indicator, rows, rows_csv, Net};

const T: Duration = Duration::from_secs(10);
const PERIODS: [&str; 2] = ["2025-T1", "2025-T2"];

/// Raw counts per (level, code, period) from generated rows.
fn raw(rows: &[(String, String, &'static str)]) -> HashMap<(Level, String, String), u64> {
    let mut m = HashMap::new();
    for (c, p, _) in rows {
        let i = geo::commune_index(c).unwrap();
        for level in Level::ALL {
            *m.entry((level, geo::parent_code(i, level).to_string(), p.clone()))
                .or_insert(0) += 1;
        }
    }
    m
}

#[tokio::test]
async fn composed_figures_equal_the_raw_rows_and_partial_results_name_the_missing_node() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let (rows_a, rows_b) = (rows(1, &PERIODS), rows(2, &PERIODS));
    let a = net
        .data_node(&hub, "asso-a", Some(&rows_csv(&rows_a)), false)
        .await;
    let b = net
        .data_node(&hub, "asso-b", Some(&rows_csv(&rows_b)), false)
        .await;
    let ind = indicator(&hub, "personnes-recues");

    let decision = observatory::refresh(&hub.ctx().observatory, &hub.ctx().fed, &ind)
        .await
        .unwrap();
    assert!(decision.published());
    let result = decision.into_result();
    assert!(result.coverage.complete(), "{:?}", result.coverage);
    assert_eq!(result.coverage.answered.len(), 2);
    let (ra, rb) = (raw(&rows_a), raw(&rows_b));
    let mut released = 0;
    for c in &result.cells {
        let key = (c.level, c.code.clone(), c.period.to_string());
        let expect = ra.get(&key).copied().unwrap_or(0) + rb.get(&key).copied().unwrap_or(0);
        if c.status == Status::Released {
            released += 1;
            assert_eq!(c.value, Some(expect as f64), "{c:?}");
        }
    }
    let suppressed = result
        .cells
        .iter()
        .filter(|c| c.status == Status::Suppressed)
        .count();
    assert!(
        released > 10 && suppressed > 0,
        "released {released}, suppressed {suppressed}"
    );
    let dept = result
        .cells
        .iter()
        .find(|c| c.level == Level::Department)
        .unwrap();
    assert_eq!(dept.status, Status::Released);

    // Provenance: every signature checks and every value recomputes; a
    // tampered contribution or a changed figure is caught.
    let stored = hub
        .ctx()
        .hub
        .store
        .latest_result("personnes-recues")
        .unwrap()
        .unwrap();
    let cas = [hub.ctx().ca.cert_der().to_vec()];
    let v = observatory::verify(&cas, &ind, &stored).unwrap();
    assert_eq!(v.contributions, 2);
    let mut tampered = stored.clone();
    let n = tampered.provenance[0].signed.body.len();
    tampered.provenance[0].signed.body[n - 3] ^= 1;
    assert!(observatory::verify(&cas, &ind, &tampered).is_err());
    let mut edited = stored.clone();
    let c = edited
        .cells
        .iter_mut()
        .find(|c| c.status == Status::Released)
        .unwrap();
    c.value = c.value.map(|v| v + 1.0);
    let err = observatory::verify(&cas, &ind, &edited)
        .unwrap_err()
        .to_string();
    assert!(err.contains("recomputed"), "{err}");

    // One node stops: the next result is partial, names it, and is kept as
    // a draft; the complete result stays published.
    b.stop().await;
    let decision = observatory::refresh(&hub.ctx().observatory, &hub.ctx().fed, &ind)
        .await
        .unwrap();
    assert!(!decision.published(), "a partial result was published");
    let partial = decision.into_result();
    assert_eq!(
        hub.ctx()
            .hub
            .store
            .latest_result::<observatory::IndicatorResult>("personnes-recues")
            .unwrap()
            .unwrap(),
        stored
    );
    assert!(!partial.coverage.complete());
    assert!(
        partial
            .coverage
            .failed
            .iter()
            .any(|f| f.node_id == "asso-b"),
        "{:?}",
        partial.coverage.failed
    );
    assert_eq!(partial.coverage.answered.len(), 1);

    // A figure altered where it is stored: `verify-indicator` (the admin
    // request it sends to the running hub) refuses the newest result and
    // names the cell.
    hub.ctx()
        .hub
        .store
        .put_result("personnes-recues", edited.computed_at + 1, &edited)
        .unwrap();
    let err = passerelle_hub::admin::request(
        &net.hub_dir(),
        passerelle_hub::admin::Request::Verify {
            id: "personnes-recues".into(),
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            &err,
            passerelle_hub_core::HubError::Refused(passerelle_hub_core::Refusal::Verification { why, .. })
                if why.contains("recomputed")
        ),
        "{err:?}"
    );
    a.stop().await;
    hub.stop().await;
}

#[tokio::test]
async fn cells_under_the_threshold_never_leave_the_node_and_policy_is_enforced() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let rows_a = rows(3, &PERIODS);
    let a = net
        .data_node(&hub, "asso-a", Some(&rows_csv(&rows_a)), false)
        .await;
    let live = hub.live(&NodeId::new("asso-a").unwrap()).unwrap();
    let key = &hub.ctx().hub.key;

    let q = AggregateQuery {
        dataset: "personnes_recues".into(),
        measure: Measure::Count,
        periods: vec![],
        by: Some("sexe".into()),
    };
    let asked = passerelle_hub_core::federation::ask(&live, key, Query::Aggregate(q), T)
        .await
        .unwrap();
    // Decode the bytes exactly as they crossed the wire.
    let body: ReplyBody = codec::decode(&asked.signed.body).unwrap();
    let Outcome::Answered(Answer::Aggregate(answer)) = body.outcome else {
        panic!("{:?}", body.outcome)
    };
    let mut by_cell: HashMap<(String, String, Option<String>), u64> = HashMap::new();
    for (c, p, s) in &rows_a {
        let i = geo::commune_index(c).unwrap();
        for level in Level::ALL {
            for cat in [None, Some(s.to_string())] {
                *by_cell
                    .entry((geo::parent_code(i, level).to_string(), p.clone(), cat))
                    .or_insert(0) += 1;
            }
        }
    }
    let mut small = 0;
    for cell in &answer.cells {
        let raw = by_cell
            .get(&(
                cell.code.clone(),
                cell.period.to_string(),
                cell.category.clone(),
            ))
            .copied()
            .unwrap_or(0);
        match cell.value {
            CellValue::Released(v) => {
                assert!(v == 0.0 || v >= 11.0, "small value on the wire: {cell:?}");
                assert_eq!(v, raw as f64, "{cell:?}");
            }
            CellValue::Suppressed(_) => {}
        }
        if (1..11).contains(&raw) {
            small += 1;
            assert!(
                matches!(cell.value, CellValue::Suppressed(_)),
                "{cell:?} has {raw} people"
            );
        }
    }
    assert!(small > 5, "the generated data has small cells ({small})");

    // Outside the policy: refused, with the reason, and logged at the node.
    for (q, why) in [
        (
            AggregateQuery {
                dataset: "rsa".into(),
                measure: Measure::Count,
                periods: vec![],
                by: None,
            },
            "not shared",
        ),
        (
            AggregateQuery {
                dataset: "personnes_recues".into(),
                measure: Measure::Count,
                periods: vec![],
                by: Some("age".into()),
            },
            "by \"age\"",
        ),
        (
            AggregateQuery {
                dataset: "personnes_recues".into(),
                measure: Measure::Sum("montant".into()),
                periods: vec![],
                by: None,
            },
            "measure \"montant\"",
        ),
    ] {
        let r = passerelle_hub_core::federation::ask(&live, key, Query::Aggregate(q), T)
            .await
            .unwrap();
        match r.body.outcome {
            Outcome::Refused(Refusal::OutOfPolicy(reason)) => {
                assert!(reason.contains(why), "{reason}")
            }
            other => panic!("{other:?}"),
        }
    }
    let report = passerelle_node::admin::status(&net.node_dir("asso-a"))
        .await
        .unwrap();
    for why in ["not shared", "by \"age\"", "measure \"montant\""] {
        assert!(
            report
                .recent_queries
                .iter()
                .any(|q| q.outcome == "out_of_policy" && q.reason.contains(why)),
            "{why} not logged: {:?}",
            report.recent_queries
        );
    }
    a.stop().await;
    hub.stop().await;
}

#[tokio::test]
async fn a_batch_needing_validation_is_not_answered_until_someone_else_validates_it() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let a = net.data_node(&hub, "asso-a", None, true).await;
    let dir = net.node_dir("asso-a");
    let file = dir.join("lot.csv");
    std::fs::write(&file, rows_csv(&rows(4, &PERIODS))).unwrap();

    // Import through the running node's admin socket.
    use passerelle_node::admin::{request, Request, Response};
    let Response::Batch(batch) = request(
        &dir,
        Request::Import {
            dataset: "personnes_recues".into(),
            path: file,
            by: "agent-a".into(),
        },
        &mut |_| {},
    )
    .await
    .unwrap() else {
        panic!()
    };
    let status = passerelle_node::admin::status(&dir).await.unwrap();
    assert_eq!(
        status.pending.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![batch.id]
    );

    let live = hub.live(&NodeId::new("asso-a").unwrap()).unwrap();
    let q = || {
        Query::Aggregate(AggregateQuery {
            dataset: "personnes_recues".into(),
            measure: Measure::Count,
            periods: vec![],
            by: None,
        })
    };
    let r = passerelle_hub_core::federation::ask(&live, &hub.ctx().hub.key, q(), T)
        .await
        .unwrap();
    assert!(
        matches!(r.body.outcome, Outcome::Refused(Refusal::Unavailable(_))),
        "{:?}",
        r.body.outcome
    );

    let same = request(
        &dir,
        Request::Validate {
            batch: batch.id,
            by: "agent-a".into(),
        },
        &mut |_| {},
    )
    .await
    .unwrap_err();
    assert!(
        same.to_string().contains("another person must validate"),
        "{same}"
    );
    request(
        &dir,
        Request::Validate {
            batch: batch.id,
            by: "agent-b".into(),
        },
        &mut |_| {},
    )
    .await
    .unwrap();
    let r = passerelle_hub_core::federation::ask(&live, &hub.ctx().hub.key, q(), T)
        .await
        .unwrap();
    assert!(
        matches!(r.body.outcome, Outcome::Answered(Answer::Aggregate(_))),
        "{:?}",
        r.body.outcome
    );
    assert!(passerelle_node::admin::status(&dir)
        .await
        .unwrap()
        .pending
        .is_empty());
    a.stop().await;
    hub.stop().await;
}

/// A node gives a kept answer again only while the data it came from is in
/// force: an import changes the answer at once, a rollback brings the first
/// one back, and each answer equals the rows in force.
#[tokio::test]
async fn a_kept_answer_is_given_again_only_while_its_data_is_in_force() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let first = rows(4, &PERIODS);
    let a = net
        .data_node(&hub, "asso-a", Some(&rows_csv(&first)), false)
        .await;
    let live = hub.live(&NodeId::new("asso-a").unwrap()).unwrap();
    let ask = || async {
        let q = Query::Aggregate(AggregateQuery {
            dataset: "personnes_recues".into(),
            measure: Measure::Count,
            periods: vec![],
            by: None,
        });
        let r = passerelle_hub_core::federation::ask(&live, &hub.ctx().hub.key, q, T)
            .await
            .unwrap();
        match r.body.outcome {
            Outcome::Answered(Answer::Aggregate(a)) => a,
            other => panic!("{other:?}"),
        }
    };
    // The department's total per period, released, against the rows.
    let totals = |a: &passerelle_protocol::aggregate::AggregateAnswer| {
        let mut t: Vec<(String, f64)> = a
            .cells
            .iter()
            .filter(|c| c.level == Level::Department)
            .map(|c| match c.value {
                CellValue::Released(v) => (c.period.to_string(), v),
                CellValue::Suppressed(s) => panic!("department withheld: {s:?}"),
            })
            .collect();
        t.sort_by(|x, y| x.0.cmp(&y.0));
        t
    };
    let expect = |rows: &[(String, String, &'static str)]| {
        PERIODS
            .iter()
            .map(|p| {
                (
                    p.to_string(),
                    rows.iter().filter(|r| r.1 == *p).count() as f64,
                )
            })
            .collect::<Vec<_>>()
    };
    let tally = || a.shared().answers().tally();

    let one = ask().await;
    assert_eq!(totals(&one), expect(&first));
    assert_eq!((tally().hits, tally().misses), (0, 1));
    let again = ask().await;
    assert_eq!(again, one);
    assert_eq!((tally().hits, tally().misses), (1, 1));

    // A new batch for both periods: in force at once, answered from it.
    use passerelle_node::admin::{request, Request};
    let dir = net.node_dir("asso-a");
    let second = rows(9, &PERIODS);
    assert_ne!(expect(&second), expect(&first));
    let file = dir.join("second.csv");
    std::fs::write(&file, rows_csv(&second)).unwrap();
    let import = Request::Import {
        dataset: "personnes_recues".into(),
        path: file,
        by: "agent-a".into(),
    };
    request(&dir, import, &mut |_| {}).await.unwrap();
    let after = ask().await;
    assert_eq!(totals(&after), expect(&second));
    assert_eq!(tally().misses, 2);

    // Withdrawn: the first batch is in force again, and so its answer.
    let rollback = Request::Rollback {
        dataset: "personnes_recues".into(),
        by: "agent-a".into(),
    };
    request(&dir, rollback, &mut |_| {}).await.unwrap();
    let back = ask().await;
    assert_eq!(totals(&back), expect(&first));
    assert_eq!(back, one);

    let metrics = passerelle_node::metrics::render(a.shared());
    assert!(
        metrics.contains(&format!(
            "passerelle_node_answers_reused_total {}",
            tally().hits
        )) && metrics.contains("passerelle_node_answers_computed_total"),
        "{metrics}"
    );
    a.stop().await;
    hub.stop().await;
}
