//! Outputs that cannot hurt their readers, over real HTTP: a CSV
//! download never starts a text cell with a formula character, every
//! published ratio carries exactly its declared decimals in every format
//! (API, CSV and JSON downloads, page, admin listing), and a verifiable
//! copy prints the portal's configured public address.

use passerelle_hub_core::french;
use passerelle_link::output::Format;
use passerelle_tests::{
    http_bytes, http_get, refresh, rows, rows_csv,
    vault::{add_document, create_account, csrf, link, pdf},
    Net,
};

/// Two indicators of the test node's dataset: a rate with two declared
/// decimals, and a sum whose id a spreadsheet would read as a formula.
const CATALOG: &str = r#"
[[indicator]]
id = "taux-recues"
title = "Personnes reçues pour 1 000 habitants"
theme = "activite"
unit = "pour 1 000 habitants"
definition = "Personnes reçues rapportées à la population."
sources = ["Test"]
frequency = "trimestrielle"
formula = "rate"
numerator = ["personnes_recues"]
denominator = ["ref:population"]
per = 1000
decimals = 2

[[indicator]]
id = "-recues"
title = "Personnes reçues (identifiant piège)"
theme = "activite"
unit = "personnes"
definition = "Le même nombre, sous un identifiant qui commence par un tiret."
sources = ["Test"]
frequency = "trimestrielle"
formula = "sum"
numerator = ["personnes_recues"]
"#;

/// A hub with [`CATALOG`] and a data node, both indicators refreshed.
async fn observatory(
    net: &Net,
) -> (
    passerelle_hub::server::HubHandle,
    passerelle_node::serve::NodeHandle,
) {
    let dir = net.tmp.path().join("catalog");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("test.toml"), CATALOG).unwrap();
    let path = net.hub_dir().join("hub.toml");
    let mut c = passerelle_config::HubConfig::load(&path).unwrap();
    c.catalog_dir = Some(dir);
    std::fs::write(&path, c.template()).unwrap();
    let hub = net.start_hub(None).await;
    let data = rows(7, &["2025-T1", "2025-T2"]);
    let node = net
        .data_node(&hub, "asso-a", Some(&rows_csv(&data)), false)
        .await;
    refresh(&hub, "taux-recues").await;
    refresh(&hub, "-recues").await;
    (hub, node)
}

/// Whether `v` has at most `d` decimals.
fn has_decimals(v: f64, d: i32) -> bool {
    let scaled = v * 10f64.powi(d);
    (scaled - scaled.round()).abs() < 1e-6
}

#[tokio::test]
async fn every_published_ratio_has_its_declared_decimals_in_every_format() {
    let net = Net::new();
    let (hub, node) = observatory(&net).await;
    let addr = hub.http_addr;

    // CSV: exactly two decimals on every published value.
    let (status, _, csv) = http_get(addr, "/donnees/taux-recues.csv").await;
    assert_eq!(status, 200);
    let mut published = Vec::new();
    for line in csv.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (level, code, period, value) = (f[1], f[2], f[4], f[5]);
        if value.is_empty() {
            continue;
        }
        let (_, frac) = value.split_once('.').expect("a decimal point");
        assert_eq!(frac.len(), 2, "{line}");
        published.push((
            level.to_string(),
            code.to_string(),
            period.to_string(),
            value.parse::<f64>().unwrap(),
        ));
    }
    assert!(
        published.iter().any(|p| !has_decimals(p.3, 0)),
        "no fractional rate to check: {csv}"
    );

    // API and JSON download: the same values, no more digits.
    for path in ["/api/indicators/taux-recues", "/donnees/taux-recues.json"] {
        let (status, _, json) = http_get(addr, path).await;
        assert_eq!(status, 200, "{path}");
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v["indicator"]["decimals"], 2);
        let mut seen = 0;
        for c in v["cells"].as_array().unwrap() {
            let Some(x) = c["value"].as_f64() else {
                continue;
            };
            assert!(has_decimals(x, 2), "{path}: {c}");
            let in_csv = published
                .iter()
                .find(|p| p.1 == c["code"] && p.2 == c["period"])
                .unwrap_or_else(|| panic!("{path}: not in the CSV: {c}"));
            assert_eq!(in_csv.3, x, "{path}: {c}");
            seen += 1;
        }
        assert_eq!(seen, published.len(), "{path}");
    }

    // The page: each commune's value of a period, written with its two
    // decimals the French way.
    let period = published
        .iter()
        .find(|p| p.0 == "commune")
        .expect("a published commune")
        .2
        .clone();
    let (status, _, html) = http_get(
        addr,
        &format!("/indicateur/taux-recues?niveau=commune&periode={period}"),
    )
    .await;
    assert_eq!(status, 200);
    for (_, code, _, v) in published
        .iter()
        .filter(|p| p.0 == "commune" && p.2 == period)
    {
        let row = html
            .split("<tr>")
            .find(|r| r.contains(&format!("<td>{code}</td>")))
            .unwrap_or_else(|| panic!("no row for {code}"));
        assert!(row.contains(&french::number(*v, 2)), "{v}: {row}");
    }

    // The admin listing, in each format.
    let ind = passerelle_tests::indicator(&hub, "taux-recues");
    let r = hub.ctx().observatory.latest("taux-recues").unwrap();
    let json: serde_json::Value = serde_json::from_str(&passerelle_hub::cli::render_indicator(
        &ind,
        &r,
        None,
        Format::Json,
    ))
    .unwrap();
    for c in json["cells"].as_array().unwrap() {
        if let Some(x) = c["value"].as_f64() {
            assert!(has_decimals(x, 2), "{c}");
        }
    }
    let listing = passerelle_hub::cli::render_indicator(&ind, &r, None, Format::Csv);
    for line in listing.lines().skip(1) {
        let value = line.split(',').nth(4).unwrap();
        if !value.is_empty() {
            assert_eq!(value.split_once('.').unwrap().1.len(), 2, "{line}");
        }
    }
    node.stop().await;
    hub.stop().await;
}

#[tokio::test]
async fn a_csv_download_neutralizes_every_text_cell_a_spreadsheet_would_run() {
    let net = Net::new();
    let (hub, node) = observatory(&net).await;
    let (status, _, csv) = http_get(hub.http_addr, "/donnees/-recues.csv").await;
    assert_eq!(status, 200);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("indicateur,niveau,code,nom,periode,valeur,statut")
    );
    let mut rows = 0;
    for line in lines {
        // The id is written as text, never as a formula.
        assert!(line.starts_with("'-recues,"), "{line}");
        for field in line.split(',') {
            let field = field.trim_start_matches('"');
            assert!(
                !field.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{line}"
            );
        }
        rows += 1;
    }
    assert!(rows > 0);
    node.stop().await;
    hub.stop().await;
}

#[tokio::test]
async fn a_copy_prints_the_configured_public_address() {
    let net = Net::new();
    let path = net.hub_dir().join("hub.toml");
    let mut c = passerelle_config::HubConfig::load(&path).unwrap();
    c.portal_url = Some("https://passerelle.example.fr".into());
    std::fs::write(&path, c.template()).unwrap();
    let hub = net.start_hub(None).await;
    let caf = net.node(&hub, "caf-976").await;
    let root = net.node_dir("caf-976");
    let files = tempfile::tempdir().unwrap();
    let awa = create_account(&hub, "0639123456", "motdepasse-awa").await;
    link(&hub, &awa, &root, "CAF-123").await;
    let doc = add_document(
        &root,
        files.path(),
        "CAF-123",
        "social-rights",
        "attestation.pdf",
        &pdf(b"attestation", 4),
    )
    .await;
    let token = csrf(&hub, &awa).await;
    let (status, _, copy) = http_bytes(
        hub.http_addr,
        "POST",
        &format!("/coffre/copie/caf-976/{doc}"),
        &[("Cookie", &awa)],
        format!("csrf={token}").as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    let text = String::from_utf8_lossy(&copy);
    assert!(
        text.contains("https://passerelle.example.fr/verifier/"),
        "the copy does not print the public address"
    );
    let listen = hub.http_addr.to_string();
    assert!(
        !text.contains(&format!("http://{listen}")) && !text.contains("http://127.0.0.1"),
        "the copy prints a listening address"
    );
    caf.stop().await;
    hub.stop().await;
}
