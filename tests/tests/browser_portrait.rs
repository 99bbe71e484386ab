//! The territory portraits in a real browser: Debian's Chromium, driven by
//! `tests/browser/portrait.mjs` (playwright-core), with axe-core on each
//! page, under the portal's own Content-Security-Policy. Every axe finding
//! fails the test. Needs `chromium`, `node` and `npm ci` in
//! `tests/browser` (`.ci/setup`). Screenshots land in
//! `target/browser-portrait/`.

use std::{path::PathBuf, process::Command};

use passerelle_protocol::geo;
use passerelle_tests::{rows, rows_csv, Net};

#[tokio::test]
async fn territory_portraits_work_in_chromium_without_accessibility_violations() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let node = net
        .data_node(
            &hub,
            "asso-a",
            Some(&rows_csv(&rows(11, &["2025-T1"]))),
            false,
        )
        .await;
    hub.ctx().observatory.refresh_all(&hub.ctx().fed).await;

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let script = root.join("tests/browser/portrait.mjs");
    let artifacts = root.join("target/browser-portrait");
    let base = format!("http://{}", hub.http_addr);
    let commune = geo::COMMUNES[0].name;
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(script)
            .arg(base)
            .arg(&artifacts)
            .arg(commune)
            .output()
    })
    .await
    .unwrap()
    .expect("node is installed (run .ci/setup)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|_| {
        panic!(
            "no report; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    assert!(out.status.success(), "browser test failed: {report:#}");
    let pages: Vec<&str> = report["pages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        pages,
        [
            "territoires",
            "portrait-commune",
            "portrait-epci",
            "portrait-departement"
        ]
    );
    let violations = report["violations"].as_array().unwrap();
    assert!(violations.is_empty(), "{violations:#?}");
    // The print view hides the navigation and keeps one table per theme
    // that has indicators.
    assert_eq!(report["print"]["navigation"], "none");
    assert!(
        report["print"]["tables"].as_u64().unwrap() >= 6,
        "{report:#}"
    );
    for p in &pages {
        assert!(
            root.join(format!("target/browser-portrait/{p}.png"))
                .exists(),
            "screenshot of {p}"
        );
    }
    node.stop().await;
    hub.stop().await;
}
