//! The territory portraits and an indicator's breakdown in a real browser: Debian's Chromium, driven by
//! `tests/browser/portrait.mjs` (playwright-core), with axe-core on each
//! page, under the portal's own Content-Security-Policy. Every axe finding
//! fails the test. Needs `chromium`, `node` and `npm ci` in
//! `tests/browser` (`.ci/setup`). Screenshots land in
//! `target/browser-portrait/`.

use passerelle_protocol::geo;
use passerelle_tests::{browser, by_sex, rows, rows_csv, Net};

#[tokio::test]
async fn portraits_and_breakdowns_work_in_chromium_without_accessibility_violations() {
    let net = Net::new();
    net.catalog(&[(
        "sexe.toml",
        &by_sex("recues-par-sexe", "Personnes reçues (essai)"),
    )]);
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
    let result: passerelle_observatory::refresh::IndicatorResult = hub
        .ctx()
        .hub
        .store
        .latest_result("recues-par-sexe")
        .unwrap()
        .expect("composed");
    let bd = &result.breakdowns[0];
    assert!(bd.published(), "{:?}", bd.failed);

    let report = browser::run(
        "portrait.mjs",
        format!("http://{}", hub.http_addr),
        "browser-portrait",
        vec![geo::COMMUNES[0].name.into(), "recues-par-sexe".into()],
    )
    .await;
    let pages = browser::pages(&report);
    assert_eq!(
        pages,
        [
            "territoires",
            "portrait-commune",
            "portrait-epci",
            "portrait-departement",
            "indicateur-repartition"
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

    // The breakdown as shown: a bar per category with a figure at the
    // department, a row per category whose cells are the composed ones.
    let shown = &report["breakdown"];
    assert_eq!(
        shown["chart"],
        "Personnes reçues (essai) par sexe, Mayotte, 2025-T1"
    );
    let department = |cat: &str| {
        bd.cells
            .iter()
            .find(|c| {
                c.category == cat
                    && c.cell.level == geo::Level::Department
                    && c.cell.period.to_string() == "2025-T1"
            })
            .expect("department cell")
            .cell
            .value
    };
    let bars = shown["bars"].as_array().unwrap();
    for cat in ["F", "M"] {
        let bar = bars.iter().find(|b| b["category"] == format!("sexe={cat}"));
        assert_eq!(bar.is_some(), department(cat).is_some(), "{cat}: {bars:?}");
        if department(cat).is_some_and(|v| v > 0.0) {
            assert_eq!(bar.unwrap()["shown"], true, "{cat}: {bars:?}");
        }
    }
    let rows_shown = shown["rows"].as_array().unwrap();
    let heads: Vec<&str> = rows_shown
        .iter()
        .map(|r| r["head"].as_str().unwrap())
        .collect();
    let territories: Vec<&str> = std::iter::once("Mayotte")
        .chain(geo::EPCIS.iter().map(|e| e.name))
        .collect();
    assert_eq!(heads, territories);
    for r in rows_shown {
        for c in r["cells"].as_array().unwrap() {
            let cat = c["category"].as_str().unwrap().trim_start_matches("sexe=");
            let cell = bd
                .cells
                .iter()
                .find(|x| x.category == cat && x.cell.code == c["code"].as_str().unwrap())
                .expect("a composed cell behind every figure");
            let text = c["text"].as_str().unwrap();
            match cell.cell.value {
                Some(v) => assert_eq!(text, passerelle_hub_core::french::number(v, 0)),
                None => assert_eq!(text, "secret statistique"),
            }
        }
    }
    assert_eq!(
        shown["columns"],
        serde_json::json!(["Territoire", "Femmes", "Hommes"])
    );
    assert_eq!(shown["csv"].as_array().unwrap().len(), 2, "{shown:#}");
    assert_eq!(shown["overflow"], false, "the table fits a phone's width");

    node.stop().await;
    hub.stop().await;
}
