//! Errors on the admin socket are typed: a running hub or node answers a
//! refusal as data the command matches on, the same as when the command
//! serves the request from the store itself.

use passerelle_hub::admin::{self as hub_admin, Request as HubRequest};
use passerelle_hub_core::{HubError, Refusal};
use passerelle_node::{
    admin::{self as node_admin, Request as NodeRequest},
    FailureKind, NodeError,
};
use passerelle_tests::{rows, rows_csv, Net};

fn unknown_indicator(err: &HubError) -> Option<&str> {
    match err {
        HubError::Refused(Refusal::UnknownIndicator { id }) => Some(id),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hub_refusals_are_typed_with_and_without_a_running_hub() {
    let net = Net::new();
    let dir = net.hub_dir();
    let ask = |req| hub_admin::request(&dir, req);

    // Stopped hub: served from the store, the refusal is the hub's own.
    let err = ask(HubRequest::Verify {
        id: "no-such".into(),
    })
    .await
    .unwrap_err();
    assert!(matches!(err, HubError::Refused(_)), "{err:?}");
    assert_eq!(unknown_indicator(&err), Some("no-such"));
    let err = ask(HubRequest::Indicator {
        id: "x".into(),
        refresh: true,
    })
    .await
    .unwrap_err();
    assert!(
        matches!(err, HubError::Refused(Refusal::NeedsRunningHub { .. })),
        "{err:?}"
    );

    // Running hub: the same refusal crosses the socket as data, and the
    // command gets it back as the same typed error.
    let hub = net.start_hub(None).await;
    let err = ask(HubRequest::Indicator {
        id: "no-such".into(),
        refresh: true,
    })
    .await
    .unwrap_err();
    assert_eq!(unknown_indicator(&err), Some("no-such"));
    let err = ask(HubRequest::PartnerRemove {
        email: "nobody@example.org".into(),
    })
    .await
    .unwrap_err();
    assert!(
        matches!(
            &err,
            HubError::Refused(Refusal::UnknownAccount { email }) if email == "nobody@example.org"
        ),
        "{err:?}"
    );
    let err = ask(HubRequest::Restore {
        from: net.tmp.path().join("x.tar"),
    })
    .await
    .unwrap_err();
    assert!(
        matches!(err, HubError::Refused(Refusal::NeedsStoppedHub { .. })),
        "{err:?}"
    );
    // The operator still reads the fix.
    assert!(err.to_string().contains("stop the hub first"), "{err}");
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_failures_carry_their_kind_over_the_socket() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let _node = net
        .data_node(
            &hub,
            "asso-a",
            Some(&rows_csv(&rows(3, &["2025-T1"]))),
            false,
        )
        .await;
    let root = net.node_dir("asso-a");
    let bad = net.tmp.path().join("bad.csv");
    std::fs::write(&bad, "not,the,right,columns\n1,2,3,4\n").unwrap();
    let err = node_admin::request(
        &root,
        NodeRequest::Import {
            dataset: "no-such-dataset".into(),
            path: bad,
            by: "test".into(),
        },
        &mut |_| {},
    )
    .await
    .unwrap_err();
    let NodeError::Remote(remote) = &err else {
        panic!("expected the running node's typed error, got {err:?}");
    };
    assert_eq!(remote.kind, FailureKind::Refused, "{remote:?}");
    assert!(remote.message.contains("no-such-dataset"), "{remote:?}");
    hub.stop().await;
}

/// `audit show` and `audit verify` over a chain far larger than one admin
/// frame, while the hub serves: the listing comes page by page, each reply
/// bounded, the check reads record by record, and the portal keeps
/// answering meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_of_fifty_thousand_records_is_listed_and_checked_while_serving() {
    use passerelle_hub_core::store::{Keyspace, VaultSpace};
    use passerelle_protocol::{
        audit::{Action, Actor, Event, Record},
        codec, frame,
    };
    const N: u64 = 50_000;

    let net = Net::new();
    let hub = net.start_hub(None).await;
    let dir = net.hub_dir();
    // The chain as the vault writes it, in bulk (one flush): each record
    // links to the one before, with a detail long enough that the whole
    // chain is several times an admin frame.
    let audit: Keyspace<Record> = hub.ctx().hub.store.keyspace(VaultSpace::Audit);
    let mut last: Option<Record> = audit.last().unwrap().map(|e| e.value().unwrap());
    let first = last.as_ref().map_or(0, |r| r.seq + 1);
    for i in 0..N {
        let record = Record::next(
            last.as_ref(),
            1_700_000_000 + i,
            Event {
                actor: Actor::Person,
                action: Action::Download,
                person: Some(format!("person-{}", i % 97)),
                subject: format!("doc-{i}"),
                procedure: None,
                detail: format!("{i:0>120}"),
            },
        );
        audit.insert(&record.seq.to_be_bytes(), &record).unwrap();
        last = Some(record);
    }
    audit.flush().unwrap();
    let total = first + N;

    // Meanwhile, the portal answers.
    let http = hub.http_addr;
    let serving = tokio::spawn(async move {
        let mut answered = 0u32;
        for _ in 0..20 {
            let (status, _, _) = passerelle_tests::http_get(http, "/healthz").await;
            assert_eq!(status, 200);
            answered += 1;
        }
        answered
    });

    let records = passerelle_hub::commands::audit_records(&dir).await.unwrap();
    assert_eq!(records.len() as u64, total);
    assert!(records.iter().enumerate().all(|(i, r)| r.seq == i as u64));
    let check = hub_admin::request(&dir, HubRequest::AuditVerify)
        .await
        .unwrap();
    let hub_admin::Response::AuditCheck(Ok(head)) = check else {
        panic!("{check:?}")
    };
    assert_eq!(head.records, total);

    // Every reply fits well inside one admin frame, whatever the chain.
    let whole: usize = records
        .iter()
        .map(|r| codec::encode(r).unwrap().len())
        .sum();
    assert!(whole > frame::MAX_CONTROL_FRAME as usize, "{whole}");
    let page = hub_admin::request(&dir, HubRequest::AuditPage { from: 0 })
        .await
        .unwrap();
    let hub_admin::Response::AuditPage(page) = page else {
        panic!("{page:?}")
    };
    assert!(codec::encode(&page).unwrap().len() < frame::MAX_CONTROL_FRAME as usize / 2);
    assert_eq!(page.next, Some(page.records.len() as u64));
    assert_eq!(serving.await.unwrap(), 20);
    hub.stop().await;
}
