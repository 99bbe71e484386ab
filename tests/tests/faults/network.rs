//! A node reaches the hub through the fault-injecting relay: under loss,
//! delay, reordering and duplication every refresh gives the right
//! figures or says which node is missing (never a wrong figure), a
//! document fetched through the hub arrives byte for byte or not at all,
//! and after the link is cut and restored the node comes back by itself.

use std::time::Duration;

use passerelle_protocol::ids::NodeId;
use passerelle_tests::{
    eventually, http_bytes, refresh,
    relay::{Faults, Relay},
    rows, rows_csv,
    vault::{add_document, create_account, link, pdf},
    wait_connected, wait_datasets, Net,
};

use crate::{budget, judge, rounds, seed, until_complete, Seen, Tally, INDICATOR};

const NODE: &str = "asso-a";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refreshes_and_downloads_through_a_faulty_link_are_right_or_clearly_missing() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let csv = rows_csv(&rows(7, &["2025-T1", "2025-T2"]));
    let root = net.data_node_dir(&hub, NODE, Some(&csv), false).await;
    let relay = Relay::start(hub.quic_addr, seed()).await;
    let path = root.join("node.toml");
    let mut config = passerelle_config::NodeConfig::load(&path).unwrap();
    config.hub = format!("127.0.0.1:{}", relay.addr.port()).parse().unwrap();
    std::fs::write(&path, config.template()).unwrap();
    let node = passerelle_node::serve::start(&root).await.unwrap();
    wait_connected(&hub, NODE).await;
    wait_datasets(&hub, NODE).await;
    let id = NodeId::new(NODE).unwrap();

    // A person's document on the node, to fetch through the hub.
    let cookie = create_account(&hub, "0639123456", "motdepasse-awa").await;
    link(&hub, &cookie, &root, "CAF-1").await;
    let files = tempfile::tempdir().unwrap();
    let doc = pdf(b"ATTESTATION", 128);
    let doc_id = add_document(&root, files.path(), "CAF-1", "housing", "a.pdf", &doc).await;
    let doc_path = format!("/coffre/institution/{NODE}/{doc_id}");

    let right = refresh(&hub, INDICATOR).await;
    assert!(right.coverage.complete(), "{:?}", right.coverage);
    let right = right.cells;
    let mut tally = Tally::new("network");
    let (mut fetched, mut refused, mut cuts) = (0u32, 0u32, 0u32);
    let ms = Duration::from_millis;
    let phases = [
        (
            "loss 10 %",
            Faults {
                loss: 0.10,
                ..Faults::NONE
            },
        ),
        (
            "delay 40 ms, jitter 5 ms",
            Faults {
                delay: ms(40),
                jitter: ms(5),
                ..Faults::NONE
            },
        ),
        (
            "reorder 30 %",
            Faults {
                reorder: 0.30,
                jitter: ms(10),
                ..Faults::NONE
            },
        ),
        (
            "duplicate 30 %",
            Faults {
                duplicate: 0.30,
                ..Faults::NONE
            },
        ),
        (
            "all at once",
            Faults {
                loss: 0.05,
                duplicate: 0.10,
                reorder: 0.10,
                delay: ms(10),
                jitter: ms(5),
            },
        ),
        (
            "loss 40 %",
            Faults {
                loss: 0.40,
                ..Faults::NONE
            },
        ),
    ];
    let mut seen = Seen::default();
    for (name, faults) in phases {
        relay.set_faults(faults);
        let started = std::time::Instant::now();
        // Bounded in count and in time (a share of the suite's budget).
        let phase_budget = budget() / 8;
        let mut done = 0;
        while done < rounds() && started.elapsed() < phase_budget {
            done += 1;
            judge(&refresh(&hub, INDICATOR).await, NODE, &right, &mut seen);
            tally.checks += 1;
            if faults.loss >= 0.2 {
                continue;
            }
            let (status, _, body) =
                http_bytes(hub.http_addr, "GET", &doc_path, &[("Cookie", &cookie)], b"").await;
            if status == 200 && body.len() == doc.len() {
                assert!(body == doc, "{name}: the document arrived altered");
                fetched += 1;
            } else {
                // Refused or cut short, visibly: never a wrong document.
                assert!(
                    status != 200 || body.len() < doc.len(),
                    "{name}: {status}, {} bytes",
                    body.len()
                );
                assert_ne!(status, 404, "{name}: a network fault answered 404");
                refused += 1;
            }
            tally.checks += 1;
        }
        if faults.loss < 0.2 {
            // A moderately bad link still gets answers through.
            until_complete(&hub, NODE, &right, &mut seen).await;
        }
        eprintln!(
            "faults: network: {name}: {done} round(s), {seen:?} after {:.1} s, relay {:?}",
            started.elapsed().as_secs_f64(),
            relay.stats()
        );
        tally.rounds += 1;
    }

    // Cut and restored: both sides notice, the refresh says the node is
    // missing, then the node comes back by itself and the figures too.
    relay.set_faults(Faults::NONE);
    while cuts < rounds().div_ceil(5) && tally.started.elapsed() < budget() {
        relay.cut(true);
        eventually("both sides notice the cut", Duration::from_secs(8), || {
            let down = hub.live(&id).is_none() && !node.link().connected;
            async move { down }
        })
        .await;
        let during = refresh(&hub, INDICATOR).await;
        assert!(!during.coverage.complete());
        judge(&during, NODE, &right, &mut seen);
        relay.cut(false);
        eventually("the node reconnects", Duration::from_secs(20), || {
            let up = hub
                .live(&id)
                .is_some_and(|l| l.protocol() == passerelle_protocol::PROTOCOL_VERSION);
            async move { up }
        })
        .await;
        until_complete(&hub, NODE, &right, &mut seen).await;
        cuts += 1;
        tally.checks += 1;
    }
    eprintln!(
        "faults: network: {} phase(s) of {} round(s), {cuts} cut(s); refreshes {seen:?}; documents fetched whole {fetched}, refused or cut short {refused}; {} invariant check(s), 0 violations, {:.1} s; relay {:?}",
        tally.rounds,
        rounds(),
        tally.checks,
        tally.started.elapsed().as_secs_f64(),
        relay.stats()
    );
    node.stop().await;
    hub.stop().await;
}
