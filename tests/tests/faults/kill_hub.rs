//! `passerelle-hub serve` killed outright in the middle of a refresh and
//! of a person's upload, over and over, and started again on the same
//! addresses: after each kill the hub's store opens, the published figures
//! are the right ones (or clearly labelled as missing a node), their
//! provenance checks, the audit chain verifies, every upload the portal
//! acknowledged is there and every stored upload reads back to the bytes
//! sent; after each restart the nodes come back by themselves.

use std::{
    net::SocketAddr,
    path::Path,
    time::{Duration, Instant},
};

use passerelle_hub::admin::{self, Request, Response};
use passerelle_observatory::{compose::ResultCell, IndicatorResult};
use passerelle_protocol::ids::NodeId;
use passerelle_tests::{
    eventually, hub_exe, multipart,
    process::{free_hub_addrs, HubProcess},
    relay::{Faults, Relay, Rng},
    rows, rows_csv,
    vault::{create_account_at, csrf_at, pdf, sign_in_at},
    Net,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::{seed, Tally};

use crate::INDICATOR;

/// Starts the hub program on `addrs`.
async fn start(net: &Net, (quic, http): (SocketAddr, SocketAddr)) -> HubProcess {
    HubProcess::start(hub_exe!(), &net.hub_dir(), quic, http).await
}

/// The hub's latest result of the indicator, refreshed first if asked
/// (from the running hub, or from its folder when it is stopped).
async fn indicator(root: &Path, refresh: bool) -> Result<IndicatorResult, String> {
    let req = Request::Indicator {
        id: INDICATOR.into(),
        refresh,
    };
    match admin::request(root, req).await {
        Ok(Response::Indicator(_, result)) => Ok(*result),
        Ok(other) => panic!("unexpected reply {other:?}"),
        Err(e) => Err(e.to_string()),
    }
}

/// Whether the running hub lists every one of `ids` connected.
async fn all_connected(root: &Path, ids: &[&str]) -> bool {
    let Ok(Response::Nodes(rows)) = admin::request(root, Request::Nodes).await else {
        return false;
    };
    ids.iter()
        .all(|id| rows.iter().any(|r| r.node_id == *id && r.connected))
}

/// The audit chain of a hub (running or stopped) verifies.
async fn audit_intact(root: &Path) {
    match admin::request(root, Request::AuditVerify)
        .await
        .expect("audit")
    {
        Response::AuditCheck(check) => assert!(check.is_ok(), "audit chain broken: {check:?}"),
        other => panic!("unexpected reply {other:?}"),
    }
}

/// The invariants on the published figures of the stopped hub.
async fn check_published(root: &Path, baseline: &[ResultCell]) {
    let published = indicator(root, false)
        .await
        .expect("the published result reads after a kill (the store opens)");
    if published.coverage.complete() {
        assert_eq!(published.cells, baseline, "a wrong figure is published");
    } else {
        // Partial publication is item 1 of issue 12 (another branch); what
        // must hold here is that a partial result says so.
        assert!(!published.coverage.failed.is_empty());
    }
    match admin::request(
        root,
        Request::Verify {
            id: INDICATOR.into(),
        },
    )
    .await
    {
        Ok(Response::Verified(_)) => {}
        other => panic!("the provenance of the published result does not check: {other:?}"),
    }
    audit_intact(root).await;
}

/// A complete refresh, once every node is back and the hub knows what
/// each provides (each has answered): its figures, and how long it took.
async fn complete_refresh(root: &Path, ids: &[&str]) -> (Vec<ResultCell>, Duration) {
    eventually("every node is connected", Duration::from_secs(30), || {
        all_connected(root, ids)
    })
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let started = Instant::now();
        let result = indicator(root, true).await.expect("refresh");
        let took = started.elapsed();
        let answered = |id: &&str| result.coverage.answered.iter().any(|a| a.node_id == *id);
        if result.coverage.complete() && ids.iter().all(answered) {
            return (result.cells, took);
        }
        assert!(
            Instant::now() < deadline,
            "no complete refresh: {:?}",
            result.coverage
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_killed_at_random_points_never_publish_a_wrong_figure() {
    let net = Net::new();
    let root = net.hub_dir();
    let addrs = free_hub_addrs();
    let mut hub = start(&net, addrs).await;
    let hub_addr: passerelle_config::HubAddr =
        format!("127.0.0.1:{}", addrs.0.port()).parse().unwrap();
    let ids = ["asso-a", "asso-b"];
    // asso-b answers through a slow link, so that a refresh lasts long
    // enough for most kills to land in its middle.
    let relay = Relay::start(addrs.0, seed()).await;
    relay.set_faults(Faults {
        delay: Duration::from_millis(25),
        ..Faults::NONE
    });
    let slow: passerelle_config::HubAddr =
        format!("127.0.0.1:{}", relay.addr.port()).parse().unwrap();
    let mut nodes = Vec::new();
    for (n, id) in ids.iter().enumerate() {
        let Response::Token(token) = admin::request(
            &root,
            Request::Enroll {
                node_id: NodeId::new(*id).unwrap(),
                name: format!("Institution {id}"),
            },
        )
        .await
        .unwrap() else {
            panic!("no token")
        };
        let to = if n == 0 { &hub_addr } else { &slow };
        let node_root = net.enroll_at(to.clone(), &token, id).await;
        let csv = rows_csv(&rows(n as u64 + 1, &["2025-T1", "2025-T2"]));
        passerelle_tests::declare_and_import(&node_root, Some(&csv), false);
        // The operator allows it to provide the dataset, as
        // `passerelle-hub datasets allow` does.
        let allowed = admin::request(
            &root,
            Request::Datasets(passerelle_hub_core::providers::Action::Allow {
                node_id: NodeId::new(*id).unwrap(),
                dataset: "personnes_recues".into(),
            }),
        )
        .await
        .unwrap();
        assert!(matches!(allowed, Response::Providers(_)), "{allowed:?}");
        nodes.push(passerelle_node::serve::start(&node_root).await.unwrap());
    }
    let mut rng = Rng::new(seed() ^ 0xEF5);
    let mut tally = Tally::new("refresh");

    // Round 0 runs to the end: the right figures, and how long a refresh
    // takes here (the kills are spread over that span).
    let (baseline, full) = complete_refresh(&root, &ids).await;
    assert!(!baseline.is_empty());
    tally.rounds = 1;
    while tally.more() {
        let dir = root.clone();
        let asked = tokio::spawn(async move { indicator(&dir, true).await });
        // A random point of a whole refresh's span (or just after it):
        // the invariants hold wherever the kill lands.
        tokio::time::sleep(full.mul_f64(1.2 * rng.unit())).await;
        let answered = asked.is_finished();
        hub.kill();
        match asked.await.unwrap() {
            Ok(result) if answered => {
                tally.finished += 1;
                assert!(result.coverage.complete(), "{:?}", result.coverage);
                assert_eq!(result.cells, baseline, "a wrong figure was composed");
            }
            _ => tally.interrupted += 1,
        }
        tally.rounds += 1;
        check_published(&root, &baseline).await;
        hub = start(&net, addrs).await;
        let (cells, _) = complete_refresh(&root, &ids).await;
        assert_eq!(cells, baseline, "a wrong figure after a restart");
        tally.checks += 1;
    }
    hub.kill();
    check_published(&root, &baseline).await;
    for node in nodes {
        node.stop().await;
    }
    eprintln!("faults: refresh: a whole refresh took {full:?}");
    tally.report();
}

/// The document of round `r`, and its name.
fn upload(r: u32) -> (String, Vec<u8>) {
    (
        format!("depot-{r}.pdf"),
        pdf(format!("UPLOAD-{r}").as_bytes(), 128),
    )
}

/// How an upload is interrupted.
#[derive(Debug, Clone, Copy)]
enum Cut {
    /// Half the body sent.
    MidBody,
    /// The whole body sent, killed at once.
    AfterBody,
    /// The whole body sent, killed after a random share of an upload's
    /// whole span.
    Later(f64),
}

/// Sends an upload and kills the hub as `cut` says; whether the portal
/// acknowledged it (303) before the kill.
async fn upload_killed(
    hub: &mut HubProcess,
    cookie: &str,
    r: u32,
    cut: Cut,
    full: Duration,
) -> bool {
    let token = csrf_at(hub.http_addr, cookie).await;
    let (name, bytes) = upload(r);
    let (ct, body) = multipart(&[
        ("csrf", None, token.as_bytes()),
        ("type", None, b"housing"),
        ("fichier", Some(&name), &bytes),
    ]);
    let mut s = tokio::net::TcpStream::connect(hub.http_addr).await.unwrap();
    let head = format!(
        "POST /coffre/depots HTTP/1.1\r\nHost: {}\r\nCookie: {cookie}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        hub.http_addr,
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    match cut {
        Cut::MidBody => {
            s.write_all(&body[..body.len() / 2]).await.unwrap();
            s.flush().await.unwrap();
        }
        Cut::AfterBody => s.write_all(&body).await.unwrap(),
        Cut::Later(share) => {
            s.write_all(&body).await.unwrap();
            tokio::time::sleep(full.mul_f64(share)).await;
        }
    }
    hub.kill();
    let mut reply = Vec::new();
    let _ = s.read_to_end(&mut reply).await;
    reply.starts_with(b"HTTP/1.1 303")
}

/// The invariants on the uploads of the stopped hub: the store opens and
/// its audit chain verifies; every acknowledged upload is recorded, with
/// its sealed file. Returns the recorded uploads (id, round).
fn check_uploads(root: &Path, login: &str, acknowledged: &[u32]) -> Vec<(String, u32)> {
    let hub = passerelle_hub_core::ops::Hub::open(root).expect("the store opens after a kill");
    let vault = passerelle_vault::store::VaultStore::new(hub.store.clone());
    let person = vault.person_by_login(login).unwrap().expect("the account");
    let mut out = Vec::new();
    for u in vault.uploads(&person.id).unwrap() {
        let r: u32 = u
            .name
            .strip_prefix("depot-")
            .and_then(|n| n.strip_suffix(".pdf"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("an upload from nowhere: {}", u.name));
        assert_eq!(u.size, upload(r).1.len() as u64, "round {r}");
        let file = root
            .join("vault")
            .join("uploads")
            .join(format!("{}.sealed", u.id));
        assert!(file.exists(), "the upload of round {r} has no file");
        out.push((u.id, r));
    }
    for r in acknowledged {
        assert!(
            out.iter().any(|(_, k)| k == r),
            "the acknowledged upload of round {r} is lost"
        );
    }
    assert!(vault.audit_verify().unwrap().is_ok(), "audit chain broken");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_killed_at_random_points_are_whole_or_absent() {
    let net = Net::new();
    let root = net.hub_dir();
    let addrs = free_hub_addrs();
    let mut hub = start(&net, addrs).await;
    let (login, password) = ("awa@exemple.fr", "motdepasse-awa");
    let mut cookie = create_account_at(hub.http_addr, login, password).await;
    let mut rng = Rng::new(seed() ^ 0x0B);
    let mut tally = Tally::new("upload");

    // Round 0 runs to the end: how long an upload takes here.
    let started = Instant::now();
    let token = csrf_at(hub.http_addr, &cookie).await;
    let (name, bytes) = upload(0);
    let (ct, body) = multipart(&[
        ("csrf", None, token.as_bytes()),
        ("type", None, b"housing"),
        ("fichier", Some(&name), &bytes),
    ]);
    let (status, _, _) = passerelle_tests::http_bytes(
        hub.http_addr,
        "POST",
        "/coffre/depots",
        &[("Cookie", &cookie), ("Content-Type", &ct)],
        &body,
    )
    .await;
    assert_eq!(status, 303);
    let full = started.elapsed();
    let mut acknowledged = vec![0];
    tally.rounds = 1;
    while tally.more() {
        let r = tally.rounds;
        let cut = match r % 3 {
            0 => Cut::MidBody,
            1 => Cut::AfterBody,
            _ => Cut::Later(1.2 * rng.unit()),
        };
        if upload_killed(&mut hub, &cookie, r, cut, full).await {
            tally.finished += 1;
            acknowledged.push(r);
        } else {
            tally.interrupted += 1;
        }
        tally.rounds += 1;
        let stored = check_uploads(&root, login, &acknowledged);
        // Back up: every stored upload reads back, byte for byte.
        hub = start(&net, addrs).await;
        cookie = sign_in_at(hub.http_addr, login, password).await;
        for (id, k) in &stored {
            let (status, _, got) = passerelle_tests::http_bytes(
                hub.http_addr,
                "GET",
                &format!("/coffre/depots/{id}"),
                &[("Cookie", &cookie)],
                b"",
            )
            .await;
            assert_eq!(status, 200, "the upload of round {k}");
            assert!(
                got == upload(*k).1,
                "the upload of round {k} reads back different"
            );
        }
        // Room for the next rounds (an account not linked to any
        // institution holds 20 files): the checked uploads are deleted.
        if stored.len() >= 10 {
            for (id, k) in &stored {
                let token = csrf_at(hub.http_addr, &cookie).await;
                let (status, _, _) = passerelle_tests::http(
                    hub.http_addr,
                    "POST",
                    &format!("/coffre/depots/{id}/supprimer"),
                    &[("Cookie", &cookie)],
                    &format!("csrf={token}"),
                )
                .await;
                assert_eq!(status, 200, "the upload of round {k} not deleted");
            }
            acknowledged.clear();
        }
        audit_intact(&root).await;
        tally.checks += 1;
    }
    hub.kill();
    eprintln!("faults: upload: a whole upload took {full:?}");
    tally.report();
}
