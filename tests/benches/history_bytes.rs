//! Benchmark: what an indicator's history costs in the store, per node and
//! per refresh, with every signed answer kept (a full result) and as a
//! summary (what retention keeps past `history_full_refreshes`), and the
//! steady-state size this gives for a thousand nodes refreshed hourly.
//!
//! Run: `cargo bench -p passerelle-tests --bench history_bytes`. A real
//! hub and real nodes on loopback; the sizes are the stored bytes of the
//! entries (sled's own overhead aside). Bytes per node come from the
//! difference between the same refresh with one and with four providers.

use passerelle_observatory::retention;
use passerelle_tests::{rows, rows_csv, Net};

const ID: &str = "personnes-recues";

/// Stored bytes of one full result and of its summary, with `n` providers.
async fn sizes(n: usize) -> (u64, u64, usize) {
    let net = Net::new();
    let path = net.hub_dir().join("hub.toml");
    let mut c = passerelle_config::HubConfig::load(&path).unwrap();
    c.history_full_refreshes = std::num::NonZeroU32::new(1).unwrap();
    c.history_full_months = 0;
    std::fs::write(&path, c.template()).unwrap();
    let hub = net.start_hub(None).await;
    let periods = ["2025-T1", "2025-T2", "2025-T3", "2025-T4"];
    let mut nodes = Vec::new();
    for i in 0..n {
        let csv = rows_csv(&rows(i as u64 + 1, &periods));
        nodes.push(
            net.data_node(&hub, &format!("asso-{i}"), Some(&csv), false)
                .await,
        );
    }
    let ctx = hub.ctx();
    let first = passerelle_tests::refresh(&hub, ID).await;
    let cells = first.cells.len();
    passerelle_tests::refresh(&hub, ID).await;
    let full = retention::entries(&ctx.hub, ID).unwrap().published[0].bytes as u64;
    retention::apply_configured(&ctx.hub, &ctx.observatory.catalog).unwrap();
    let summary = retention::entries(&ctx.hub, ID).unwrap().summaries[0].bytes as u64;
    for node in nodes {
        node.stop().await;
    }
    hub.stop().await;
    (full, summary, cells)
}

#[tokio::main]
async fn main() {
    let (full1, summary1, cells) = sizes(1).await;
    let (full4, summary4, _) = sizes(4).await;
    let per_node = (full4 - full1) as f64 / 3.0;
    let fixed = full1 as f64 - per_node;
    println!("cells per result: {cells}");
    println!("full result: 1 node {full1} B, 4 nodes {full4} B -> {per_node:.0} B per node per refresh, {fixed:.0} B fixed");
    println!("summary: 1 node {summary1} B, 4 nodes {summary4} B (independent of the node count)");
    // Hourly over a year with the default policy: 48 latest refreshes and
    // 12 month-ends in full (24 months kept, a year elapsed), the rest as
    // summaries (kept 1096 days, so all of the year's).
    let refreshes = 365.0 * 24.0;
    let full_kept = 48.0 + 12.0;
    let nodes = 1000.0;
    let full_bytes = full_kept * (fixed + nodes * per_node);
    let summary_bytes = (refreshes - full_kept) * summary4 as f64;
    let without = refreshes * (fixed + nodes * per_node);
    println!(
        "1,000 nodes, hourly, one year, one indicator: {:.1} MB kept ({:.1} MB full + {:.1} MB summaries) instead of {:.1} GB without retention",
        (full_bytes + summary_bytes) / 1e6,
        full_bytes / 1e6,
        summary_bytes / 1e6,
        without / 1e9
    );
}
