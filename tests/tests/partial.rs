//! Publishing rules end to end: when one of two providers of a dataset
//! does not answer, the refresh is kept as a draft that names the missing
//! institution and why; the published figure, the public page and the
//! open exports keep the last complete result (with a note on the page and
//! a flag in the JSON); partners see the draft with its coverage. When the
//! provider answers again, a complete result is published and the note
//! goes.
//!
//! The hub and one node run in this process; the node that stops
//! answering runs in a child process (see `passerelle_tests::process`) so
//! it can be frozen for real (SIGSTOP).

use std::time::Duration;

use passerelle_hub_core::store::History;
use passerelle_observatory::{
    publish::{Absence, Decision, HeldBack, Share},
    IndicatorResult,
};
use passerelle_protocol::{geo::Level, ids::NodeId};
use passerelle_tests::{
    eventually, http, http_get, node_exe, process::NodeProcess, refresh_decided, rows, rows_csv,
    set_cookie, wait_connected, wait_datasets, Net,
};

const ID: &str = "personnes-recues";

/// The department's value in a result.
fn department(r: &IndicatorResult) -> f64 {
    r.cells
        .iter()
        .filter(|c| c.level == Level::Department && c.value.is_some())
        .max_by_key(|c| c.period)
        .and_then(|c| c.value)
        .expect("a released department value")
}

/// Signs a partner in through the form; returns the session cookie.
async fn sign_in(addr: std::net::SocketAddr, email: &str, password: &str) -> String {
    let (_, h, _) = http_get(addr, "/partenaires/connexion").await;
    let token = set_cookie(&h, "pl_login").expect("login cookie");
    let form = format!(
        "email={}&password={password}&csrf={token}",
        email.replace('@', "%40")
    );
    let (status, h, _) = http(
        addr,
        "POST",
        "/partenaires/connexion",
        &[("Cookie", &format!("pl_login={token}"))],
        &form,
    )
    .await;
    assert_eq!(status, 303);
    format!("pl_session={}", set_cookie(&h, "pl_session").unwrap())
}

/// The public API's JSON for the indicator.
async fn api(addr: std::net::SocketAddr) -> serde_json::Value {
    let (status, _, body) = http_get(addr, &format!("/api/indicators/{ID}?level=department")).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_that_does_not_answer_leaves_the_published_figure_and_makes_a_stated_draft() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let addr = hub.http_addr;
    let a = net
        .data_node(
            &hub,
            "asso-a",
            Some(&rows_csv(&rows(1, &["2025-T1"]))),
            false,
        )
        .await;
    let root = net
        .data_node_dir(
            &hub,
            "asso-b",
            Some(&rows_csv(&rows(2, &["2025-T1"]))),
            false,
        )
        .await;
    let b = NodeProcess::spawn(node_exe!(), &root);
    wait_connected(&hub, "asso-b").await;
    wait_datasets(&hub, "asso-b").await;
    let inst = NodeId::new("asso-a").unwrap();
    let password = passerelle_tests::vault::add_partner(&hub, "agent@asso-a.fr", "Agent A", &inst);

    // Both answer: published.
    let Decision::Publish(complete) = refresh_decided(&hub, ID).await else {
        panic!("a complete result is published")
    };
    assert!(complete.coverage.complete(), "{:?}", complete.coverage);
    let figure = department(&complete);
    let (_, _, page) = http_get(addr, &format!("/indicateur/{ID}?niveau=epci")).await;
    assert!(!page.contains("Actualisation incomplète"), "{page}");

    // asso-b freezes: the refresh is a draft naming it and why.
    b.signal("STOP");
    let decision = refresh_decided(&hub, ID).await;
    let Decision::Draft(draft) = &decision else {
        panic!("a partial result was published: {decision:?}")
    };
    assert_eq!(draft.held_back, HeldBack::Incomplete);
    assert_eq!(
        draft.share,
        Share {
            answered: 1,
            expected: 2
        }
    );
    assert_eq!(draft.gaps.len(), 1, "{:?}", draft.gaps);
    let gap = &draft.gaps[0];
    assert_eq!(
        (gap.node_id.as_str(), gap.name.as_str()),
        ("asso-b", "Institution asso-b")
    );
    assert!(
        matches!(
            gap.why,
            Absence::Dead { .. } | Absence::TimedOut { .. } | Absence::NotConnected
        ),
        "{:?}",
        gap.why
    );
    assert!(
        department(&draft.result) < figure,
        "the draft is a partial sum"
    );

    // The published figure does not change.
    let published: IndicatorResult = hub.ctx().hub.store.latest_result(ID).unwrap().unwrap();
    assert_eq!(published, complete);
    assert_eq!(*hub.ctx().observatory.latest(ID).unwrap(), {
        let mut light = complete.clone();
        light.provenance.clear();
        light
    });

    // The public page shows it, dated, with a note naming who is missing.
    let (status, _, page) = http_get(addr, &format!("/indicateur/{ID}?niveau=epci")).await;
    assert_eq!(status, 200);
    assert!(page.contains("Actualisation incomplète"), "{page}");
    assert!(page.contains("Institution asso-b"), "{page}");
    assert!(page.contains("dernier résultat complet"), "{page}");
    assert!(
        !page.contains(&gap.why.to_string()),
        "no technical reason in public"
    );

    // The open exports carry the published figure only, with typed fields.
    let json = api(addr).await;
    assert_eq!(json["cells"][0]["value"].as_f64(), Some(figure), "{json}");
    assert_eq!(json["newer_refresh_incomplete"], serde_json::json!(true));
    assert!(
        json["newer_refresh_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{json}"
    );
    assert!(
        json["published_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{json}"
    );
    assert_eq!(json["coverage"]["complete"], serde_json::json!(true));
    let (_, _, csv) = http_get(addr, &format!("/donnees/{ID}.csv?niveau=department")).await;
    let line = csv.lines().nth(1).expect("a department line");
    let value: f64 = line.split(',').nth(5).unwrap().parse().unwrap();
    assert_eq!(value, figure, "{csv}");

    // Partners see the draft: coverage, the missing institution and why.
    let session = sign_in(addr, "agent@asso-a.fr", &password).await;
    let (status, _, home) = http(addr, "GET", "/partenaires", &[("Cookie", &session)], "").await;
    assert_eq!(status, 200);
    assert!(
        home.contains("Actualisations incomplètes (brouillons)"),
        "{home}"
    );
    assert!(
        home.contains("1 contribution reçue sur 2 attendues"),
        "{home}"
    );
    assert!(home.contains("Institution asso-b"), "{home}");
    let why = match gap.why {
        Absence::Dead { .. } => "a cessé de répondre pendant l'actualisation (liaison coupée)",
        Absence::TimedOut { .. } => "n'a pas répondu à temps",
        _ => "n'était pas connecté à la plateforme",
    };
    assert!(
        home.contains(why) || home.contains(&why.replace('\'', "&#39;")),
        "{why}: {home}"
    );

    // History keeps both, told apart.
    let history = hub.ctx().observatory.history(ID).unwrap();
    assert!(
        matches!(
            history.as_slice(),
            [History::Published(_), History::Draft(_)]
        ),
        "{} entries",
        history.len()
    );

    // asso-b answers again: a complete result is published, the note goes.
    // The operator's command says so too: the admin socket answers a
    // draft, not a result.
    let reply = passerelle_hub::admin::request(
        &net.hub_dir(),
        passerelle_hub::admin::Request::Indicator {
            id: ID.into(),
            refresh: true,
        },
    )
    .await
    .unwrap();
    let passerelle_hub::admin::Response::Drafted(_, d) = reply else {
        panic!("the admin socket presented a partial refresh as a result: {reply:?}")
    };
    assert_eq!(d.gaps.len(), 1, "{:?}", d.gaps);
    assert_eq!(d.gaps[0].node_id, "asso-b");

    b.signal("CONT");
    let id = NodeId::new("asso-b").unwrap();
    eventually("asso-b reconnects", Duration::from_secs(20), || {
        let back = hub.live(&id).is_some();
        async move { back }
    })
    .await;
    let Decision::Publish(again) = refresh_decided(&hub, ID).await else {
        panic!("the complete result is published again")
    };
    assert_eq!(department(&again), figure);
    assert!(hub.ctx().observatory.pending_draft(ID).is_none());
    let json = api(addr).await;
    assert_eq!(json["newer_refresh_incomplete"], serde_json::json!(false));
    assert!(json["newer_refresh_at"].is_null());
    let (_, _, page) = http_get(addr, &format!("/indicateur/{ID}?niveau=epci")).await;
    assert!(!page.contains("Actualisation incomplète"), "{page}");
    drop(b);
    a.stop().await;
    hub.stop().await;
}
