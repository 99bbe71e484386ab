//! A node process frozen (SIGSTOP) and thawed (SIGCONT), over and over:
//! briefly (below the hub's dead-after delay, the link survives) or until
//! the hub drops it. A refresh during the freeze gives the right figures
//! or says the node is missing, never a wrong figure and never a hang;
//! after the thaw the node is back by itself with the right figures.

use std::time::{Duration, Instant};

use passerelle_protocol::ids::NodeId;
use passerelle_tests::{
    eventually, node_exe, process::NodeProcess, refresh, relay::Rng, rows, rows_csv,
    wait_connected, wait_datasets, Net,
};

use crate::{judge, seed, until_complete, Seen, Tally, INDICATOR};

const NODE: &str = "asso-a";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_node_is_reported_missing_and_comes_back_when_thawed() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let dead_after = hub.ctx().hub.config.dead_after;
    let csv = rows_csv(&rows(3, &["2025-T1"]));
    let root = net.data_node_dir(&hub, NODE, Some(&csv), false).await;
    let node = NodeProcess::spawn(node_exe!(), &root);
    wait_connected(&hub, NODE).await;
    wait_datasets(&hub, NODE).await;
    let id = NodeId::new(NODE).unwrap();
    let right = refresh(&hub, INDICATOR).await;
    assert!(right.coverage.complete(), "{:?}", right.coverage);
    let right = right.cells;
    let mut rng = Rng::new(seed() ^ 0x570);
    let mut tally = Tally::new("freeze");
    let mut seen = Seen::default();

    while tally.more() {
        let brief = tally.rounds.is_multiple_of(2);
        node.signal("STOP");
        let frozen = Instant::now();
        if brief {
            // Frozen for a random part of the dead-after delay: a refresh
            // asked meanwhile is answered after the thaw, or says the node
            // is missing; the link survives or comes back.
            let length = dead_after.mul_f64(0.6 * rng.unit());
            let (result, ()) = tokio::join!(refresh(&hub, INDICATOR), async {
                tokio::time::sleep(length).await;
                node.signal("CONT");
            });
            judge(&result, NODE, &right, &mut seen);
            tally.finished += 1;
        } else {
            // Frozen until the hub drops it: the refresh says it is
            // missing, within seconds.
            let result = refresh(&hub, INDICATOR).await;
            assert!(
                frozen.elapsed() < dead_after + Duration::from_secs(5),
                "a refresh waited {:?} for a frozen node",
                frozen.elapsed()
            );
            judge(&result, NODE, &right, &mut seen);
            eventually(
                "the hub drops the frozen node",
                Duration::from_secs(10),
                || {
                    let gone = hub.live(&id).is_none();
                    async move { gone }
                },
            )
            .await;
            let during = refresh(&hub, INDICATOR).await;
            assert!(!during.coverage.complete(), "{:?}", during.coverage);
            judge(&during, NODE, &right, &mut seen);
            node.signal("CONT");
            tally.interrupted += 1;
        }
        eventually("the thawed node is back", Duration::from_secs(20), || {
            let up = hub
                .live(&id)
                .is_some_and(|l| l.protocol() == passerelle_protocol::PROTOCOL_VERSION);
            async move { up }
        })
        .await;
        until_complete(&hub, NODE, &right, &mut seen).await;
        tally.rounds += 1;
        tally.checks += 1;
    }
    eprintln!(
        "faults: freeze: {} round(s): {} brief freeze(s), {} until dropped; refreshes {seen:?}; 0 violations, {:.1} s",
        tally.rounds,
        tally.finished,
        tally.interrupted,
        tally.started.elapsed().as_secs_f64()
    );
    drop(node);
    hub.stop().await;
}
