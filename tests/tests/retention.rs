//! Bounded history: after many refreshes an indicator keeps its configured
//! number of results with every signed answer and summaries of the rest;
//! what is pruned was archived first as a bundle the standalone verifier
//! accepts, and the published figure still verifies.

use passerelle_observatory::retention;
use passerelle_protocol::{hex, sign::sha256};
use passerelle_tests::{rows_csv, Net};

const ID: &str = "personnes-recues";
const REFRESHES: usize = 12;
const FULL: usize = 3;

/// At least 20 people in every commune and period, so every cell is
/// released.
fn large_rows() -> String {
    let mut rows = Vec::new();
    for p in ["2025-T1", "2025-T2"] {
        for c in passerelle_protocol::geo::COMMUNES {
            for k in 0..24 {
                rows.push((
                    c.code.to_string(),
                    p.to_string(),
                    if k % 2 == 0 { "F" } else { "M" },
                ));
            }
        }
    }
    rows_csv(&rows)
}

fn verify(bundle: &std::path::Path, fingerprint: &[u8; 32]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_passerelle-test-verify"))
        .arg(bundle)
        .arg("--ca-fingerprint")
        .arg(hex::encode(fingerprint))
        .output()
        .expect("the verifier runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success() && text.contains("VERIFIED"), text)
}

// Several threads: the hub serves the admin socket while this test waits
// on the command-line program.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_refreshes_stay_within_the_configured_history_and_what_is_kept_verifies() {
    let net = Net::new();
    let config_path = net.hub_dir().join("hub.toml");
    let mut config = passerelle_config::HubConfig::load(&config_path).unwrap();
    config.history_full_refreshes = std::num::NonZeroU32::new(FULL as u32).unwrap();
    config.history_full_months = 0;
    config.history_archive = Some("archive".into());
    std::fs::write(&config_path, config.template()).unwrap();

    let hub = net.start_hub(None).await;
    let node = net
        .data_node(&hub, "asso-a", Some(&large_rows()), false)
        .await;
    let ctx = hub.ctx();
    let mut full_sizes = Vec::new();
    for _ in 0..REFRESHES {
        passerelle_tests::refresh(&hub, ID).await;
        let e = retention::entries(&ctx.hub, ID).unwrap();
        full_sizes.push(e.published.last().unwrap().bytes as u64);
        // What the scheduled refresh does after each pass.
        retention::apply_configured(&ctx.hub, &ctx.observatory.catalog).expect("pruned");
    }

    let e = retention::entries(&ctx.hub, ID).unwrap();
    assert_eq!(e.published.len(), FULL, "results kept with their answers");
    assert_eq!(
        e.summaries.len(),
        REFRESHES - FULL,
        "the others as summaries"
    );
    let largest_full = *full_sizes.iter().max().unwrap();
    let largest_summary = e.summaries.iter().map(|k| k.bytes as u64).max().unwrap();
    assert!(
        largest_summary < largest_full,
        "a summary drops the answers"
    );
    let kept: u64 = [&e.published, &e.summaries]
        .into_iter()
        .flatten()
        .map(|k| k.bytes as u64)
        .sum();
    let bound = FULL as u64 * largest_full + (REFRESHES - FULL) as u64 * largest_summary;
    assert!(kept <= bound, "{kept} bytes kept, bound {bound}");
    assert!(
        kept < full_sizes.iter().sum::<u64>(),
        "retention kept less than every result in full"
    );

    // The summaries keep the published figures and the answers' digest.
    let summaries: Vec<retention::Summary> = ctx.hub.store.summaries(ID).unwrap();
    assert!(summaries
        .iter()
        .all(|s| s.contributions == 1 && !s.cells.is_empty()));

    // Every pruned result was archived first, and the archive verifies.
    let fp = sha256(ctx.ca.cert_der());
    let archive = net.hub_dir().join("archive").join(ID);
    let mut archived: Vec<_> = std::fs::read_dir(&archive)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    archived.sort();
    assert_eq!(archived.len(), REFRESHES - FULL, "{archived:?}");
    for file in [&archived[0], &archived[archived.len() - 1]] {
        let (ok, text) = verify(file, &fp);
        assert!(ok, "{}: {text}", file.display());
    }

    // The figure the portal publishes still verifies.
    let (status, _, body) = passerelle_tests::http_bytes(
        hub.http_addr,
        "GET",
        &format!("/indicateur/{ID}/preuve"),
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 200);
    let latest = net.hub_dir().join("latest.json");
    std::fs::write(&latest, &body).unwrap();
    let (ok, text) = verify(&latest, &fp);
    assert!(ok, "{text}");

    // `history status` and `history export` through the running hub.
    let status = std::process::Command::new(passerelle_tests::hub_exe!())
        .args(["history", "status", "--format", "json", "--dir"])
        .arg(net.hub_dir())
        .output()
        .unwrap();
    assert!(status.status.success(), "{status:?}");
    let rows: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    let row = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["indicator"] == ID)
        .expect("the indicator is listed");
    assert_eq!(row["full"], FULL);
    assert_eq!(row["summaries"], REFRESHES - FULL);
    let out = net.hub_dir().join("export");
    let export = std::process::Command::new(passerelle_tests::hub_exe!())
        .args(["history", "export", "--indicator", ID, "--to"])
        .arg(&out)
        .arg("--dir")
        .arg(net.hub_dir())
        .output()
        .unwrap();
    assert!(export.status.success(), "{export:?}");
    let exported: Vec<_> = std::fs::read_dir(out.join(ID)).unwrap().collect();
    assert_eq!(exported.len(), FULL);

    node.stop().await;
    hub.stop().await;
}

#[tokio::test]
async fn nothing_is_pruned_when_the_archive_cannot_be_written() {
    let net = Net::new();
    let config_path = net.hub_dir().join("hub.toml");
    let mut config = passerelle_config::HubConfig::load(&config_path).unwrap();
    config.history_full_refreshes = std::num::NonZeroU32::new(1).unwrap();
    config.history_full_months = 0;
    // A file where the archive folder should be: nothing can be written.
    config.history_archive = Some("archive".into());
    std::fs::write(&config_path, config.template()).unwrap();
    std::fs::write(net.hub_dir().join("archive"), b"not a folder").unwrap();

    let hub = net.start_hub(None).await;
    let node = net
        .data_node(&hub, "asso-a", Some(&large_rows()), false)
        .await;
    let ctx = hub.ctx();
    for _ in 0..3 {
        passerelle_tests::refresh(&hub, ID).await;
    }
    assert!(
        retention::apply_configured(&ctx.hub, &ctx.observatory.catalog).is_none(),
        "the pass fails"
    );
    let e = retention::entries(&ctx.hub, ID).unwrap();
    assert_eq!(e.published.len(), 3, "every answer is still there");
    assert!(e.summaries.is_empty());

    node.stop().await;
    hub.stop().await;
}
