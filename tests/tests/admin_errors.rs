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
