//! Breakdowns end to end: an indicator declared `by = ["sexe"]`, fed by
//! two institutions, is composed category by category; its sheet shows a
//! bar chart and a table per breakdown whose every figure is the stored
//! one (or « secret statistique »); its CSV (both dialects), JSON download
//! and API carry the same cells; `verify-indicator` re-checks them.

use std::collections::HashMap;

use passerelle_config::NodeConfig;
use passerelle_observatory::{compose::Status, refresh as observatory};
use passerelle_protocol::geo::{self, Level};
use passerelle_tests::{by_sex, http_bytes, http_get, rows, rows_csv, Net};

use super::figures::csv_fields_with;

const PERIODS: [&str; 2] = ["2025-T1", "2025-T2"];

/// True counts per (level, code, period, sex) of the rows of both nodes.
fn truth(rows: &[(String, String, &str)]) -> HashMap<(Level, String, String, String), u64> {
    let mut t = HashMap::new();
    for (commune, period, sex) in rows {
        let i = geo::commune_index(commune).expect("generated commune");
        for level in Level::ALL {
            let code = geo::parent_code(i, level).to_string();
            *t.entry((level, code, period.clone(), sex.to_string()))
                .or_default() += 1;
        }
    }
    t
}

/// The text of the table cell marked with this unit, period and category.
fn shown(html: &str, code: &str, period: &str, cat: &str) -> String {
    let key =
        format!("data-code=\"{code}\" data-period=\"{period}\" data-category=\"sexe={cat}\">");
    let at = html
        .match_indices(&key)
        .map(|(i, _)| i)
        .find(|i| {
            html[..*i]
                .rfind('<')
                .is_some_and(|s| html[s..].starts_with("<td"))
        })
        .unwrap_or_else(|| panic!("no table cell {key}"));
    let rest = &html[at + key.len()..];
    rest[..rest.find("</td>").expect("cell closed")].to_string()
}

#[tokio::test]
async fn breakdowns_compose_render_download_and_verify() {
    let net = Net::new();
    net.catalog(&[(
        "sexe.toml",
        &by_sex("recues-par-sexe", "Personnes reçues, par sexe"),
    )]);
    let hub = net.start_hub(None).await;
    let (rows_a, rows_b) = (rows(31, &PERIODS), rows(32, &PERIODS));
    let a = net
        .data_node(&hub, "asso-a", Some(&rows_csv(&rows_a)), false)
        .await;
    let b = net
        .data_node(&hub, "asso-b", Some(&rows_csv(&rows_b)), false)
        .await;
    let result = passerelle_tests::refresh(&hub, "recues-par-sexe").await;
    let policy = NodeConfig::load(&net.node_dir("asso-a").join("node.toml"))
        .unwrap()
        .policy;
    assert!(
        policy.rounding <= 1,
        "the truth below is of unrounded counts"
    );
    let min_cell = policy.min_cell as f64;
    let all: Vec<_> = rows_a.iter().chain(&rows_b).cloned().collect();
    let truth = truth(&all);

    // Composed: every released figure is the true count of both
    // institutions, and never a small one; categories add up to the total.
    assert_eq!(result.breakdowns.len(), 1);
    let bd = &result.breakdowns[0];
    assert!(bd.published(), "{:?}", bd.failed);
    assert_eq!(bd.by, "sexe");
    assert_eq!(bd.provenance.len(), 2);
    let mut cats = bd.categories.clone();
    cats.sort();
    assert_eq!(cats, ["F", "M"]);
    let (mut released, mut withheld) = (0, 0);
    for c in &bd.cells {
        let key = (
            c.cell.level,
            c.cell.code.clone(),
            c.cell.period.to_string(),
            c.category.clone(),
        );
        match c.cell.value {
            Some(v) => {
                released += 1;
                assert_eq!(v, *truth.get(&key).unwrap_or(&0) as f64, "{key:?}");
                assert!(v == 0.0 || v >= min_cell, "small cell {key:?}: {v}");
            }
            None => {
                withheld += 1;
                assert_eq!(c.cell.status, Status::Suppressed, "{key:?}");
            }
        }
    }
    assert!(
        released > 0 && withheld > 0,
        "{released} released, {withheld} withheld"
    );
    for t in result.cells.iter().filter(|t| t.value.is_some()) {
        let parts: Vec<f64> = bd
            .categories
            .iter()
            .filter_map(|cat| {
                bd.cells
                    .iter()
                    .find(|c| {
                        &c.category == cat
                            && c.cell.level == t.level
                            && c.cell.code == t.code
                            && c.cell.period == t.period
                    })
                    .and_then(|c| c.cell.value)
            })
            .collect();
        if parts.len() == bd.categories.len() {
            assert_eq!(parts.iter().sum::<f64>(), t.value.unwrap_or_default());
        }
    }

    // Verifiable from the stored record; a changed category figure is not.
    let stored: observatory::IndicatorResult = hub
        .ctx()
        .hub
        .store
        .latest_result("recues-par-sexe")
        .unwrap()
        .unwrap();
    assert_eq!(stored.breakdowns, result.breakdowns);
    let cas = [hub.ctx().ca.cert_der().to_vec()];
    let ind = passerelle_tests::indicator(&hub, "recues-par-sexe");
    observatory::verify(&cas, &ind, &stored).unwrap();
    let mut edited = stored.clone();
    let c = edited.breakdowns[0]
        .cells
        .iter_mut()
        .find(|c| c.cell.value.is_some())
        .unwrap();
    c.cell.value = c.cell.value.map(|v| v + 1.0);
    let err = observatory::verify(&cas, &ind, &edited)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("breakdown by sexe") && err.contains("recomputed"),
        "{err}"
    );

    // The sheet: a chart and a table; each figure the stored one.
    let addr = hub.http_addr;
    let (status, _, html) = http_get(addr, "/indicateur/recues-par-sexe").await;
    assert_eq!(status, 200);
    assert!(html.contains("Répartition par sexe — 2025-T2"), "{html}");
    assert!(html.contains("<svg") && html.contains("data-category=\"sexe=F\""));
    let latest = "2025-T2";
    let units = std::iter::once((Level::Department, geo::DEPARTMENT_CODE))
        .chain(geo::EPCIS.iter().map(|e| (Level::Epci, e.siren)));
    for (level, code) in units {
        for cat in ["F", "M"] {
            let cell = bd
                .cells
                .iter()
                .find(|c| {
                    c.category == cat
                        && c.cell.level == level
                        && c.cell.code == code
                        && c.cell.period.to_string() == latest
                })
                .expect("cell composed");
            let text = shown(&html, code, latest, cat);
            match cell.cell.value {
                Some(v) => assert!(
                    text.starts_with(&passerelle_hub_core::french::number(v, 0)),
                    "{code} {cat}: {text}"
                ),
                None => {
                    assert!(text.contains("secret statistique"), "{code} {cat}: {text}");
                }
            }
        }
    }

    // CSV in both dialects: one row per cell, the same values.
    for french in [false, true] {
        let path = if french {
            "/donnees/recues-par-sexe.csv?par=sexe&format=csv-fr"
        } else {
            "/donnees/recues-par-sexe.csv?par=sexe"
        };
        assert!(
            html.contains(&path.replace('&', "&amp;")),
            "sheet links {path}"
        );
        let (status, _, body) = http_bytes(addr, "GET", path, &[], b"").await;
        assert_eq!(status, 200, "{path}");
        let text = String::from_utf8(body).unwrap();
        let text = text.trim_start_matches('\u{feff}');
        let sep = if french { ';' } else { ',' };
        let mut lines = text.lines();
        let header = csv_fields_with(lines.next().unwrap(), sep).unwrap();
        assert_eq!(header[6], "categorie");
        let rows: Vec<Vec<String>> = lines.map(|l| csv_fields_with(l, sep).unwrap()).collect();
        assert_eq!(rows.len(), bd.cells.len(), "{path}");
        for (r, c) in rows.iter().zip(&bd.cells) {
            assert_eq!(r[1], "sexe");
            assert_eq!(r[3], c.cell.code);
            assert_eq!(r[6], c.category);
            let v = c.cell.value.map(|v| format!("{v:.0}")).unwrap_or_default();
            assert_eq!(r[7], v, "{path} {r:?}");
        }
    }
    let (status, _, _) = http_bytes(
        addr,
        "GET",
        "/donnees/recues-par-sexe.csv?par=commune",
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 404, "an undeclared breakdown is not found");

    // JSON download and API: the same cells, at every level or one.
    for path in [
        "/api/indicators/recues-par-sexe",
        "/donnees/recues-par-sexe.json",
    ] {
        let (status, _, body) = http_get(addr, path).await;
        assert_eq!(status, 200, "{path}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        let j = &v["breakdowns"][0];
        assert_eq!(j["by"], "sexe");
        assert_eq!(j["published"], true);
        let cells = j["cells"].as_array().unwrap();
        assert_eq!(cells.len(), bd.cells.len());
        for (jc, c) in cells.iter().zip(&bd.cells) {
            assert_eq!(jc["category"], c.category.as_str());
            assert_eq!(jc["code"], c.cell.code.as_str());
            assert_eq!(jc["value"].as_f64(), c.cell.value);
        }
    }
    let (_, _, body) = http_get(addr, "/api/indicators/recues-par-sexe?level=epci").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let cells = v["breakdowns"][0]["cells"].as_array().unwrap();
    assert!(!cells.is_empty() && cells.iter().all(|c| c["level"] == "epci"));
    let (_, _, api) = http_get(addr, "/api/openapi.json").await;
    assert!(api.contains("\"Breakdown\"") && api.contains("breakdowns"));

    a.stop().await;
    b.stop().await;
    hub.stop().await;
}
