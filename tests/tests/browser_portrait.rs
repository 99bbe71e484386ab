//! The territory portraits in a real browser: Debian's Chromium, driven by
//! `tests/browser/portrait.mjs` (playwright-core), with axe-core on each
//! page, under the portal's own Content-Security-Policy. Every axe finding
//! fails the test. Needs `chromium`, `node` and `npm ci` in
//! `tests/browser` (`.ci/setup`). Screenshots land in
//! `target/browser-portrait/`.

use passerelle_protocol::geo;
use passerelle_tests::{browser, rows, rows_csv, Net};

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

    let report = browser::run(
        "portrait.mjs",
        format!("http://{}", hub.http_addr),
        "browser-portrait",
        vec![geo::COMMUNES[0].name.into()],
    )
    .await;
    let pages = browser::pages(&report);
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
    browser::assert_screenshots("browser-portrait", &pages);
    node.stop().await;
    hub.stop().await;
}
