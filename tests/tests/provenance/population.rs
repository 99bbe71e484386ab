//! A rate over the operator's population figures: its denominators are
//! recorded, carried in the bundle and used by every recomputation.

use super::*;

/// Per sex, 3 people of each age under 60 and 1 of each age from 60, in
/// every commune (INSEE's « Population par sexe et âge » layout): 41 × 2
/// people aged 60 or more per commune.
fn population_file() -> String {
    let mut out = String::from("NIVGEO;CODGEO;LIBGEO;SEXE;AGED100;NB\n");
    for c in passerelle_protocol::geo::COMMUNES.iter() {
        for sex in [1, 2] {
            for age in 0..=100 {
                let n = if age < 60 { 3 } else { 1 };
                out.push_str(&format!("COM;{};{};{sex};{age};{n}\n", c.code, c.name));
            }
        }
    }
    out
}

#[tokio::test]
async fn a_rate_over_the_operators_population_records_its_denominators_and_verifies() {
    let net = Net::new();
    let catalog = net.hub_dir().join("catalogue");
    std::fs::create_dir_all(&catalog).unwrap();
    std::fs::write(
        catalog.join("taux.toml"),
        r#"[[indicator]]
id = "recues-pour-1000-seniors"
title = "Personnes reçues pour 1 000 personnes de 60 ans ou plus (essai)"
theme = "personnes-agees"
unit = "pour 1 000"
definition = "d"
sources = ["Associations"]
frequency = "trimestrielle"
formula = "rate"
numerator = ["personnes_recues"]
denominator = ["ref:population:60+"]
per = 1000
"#,
    )
    .unwrap();
    net.configure(|c| c.catalog_dir = Some(catalog));
    let file = net.hub_dir().join("pop1b-2024.csv");
    std::fs::write(&file, population_file()).unwrap();
    let years = passerelle_hub::population::import(&net.hub_dir(), &file, Some(2024)).unwrap();
    assert_eq!(years, vec![2024]);
    let hub = net.start_hub(None).await;
    let node = net
        .data_node(&hub, "asso-a", Some(&large_rows(&["2025-T1"])), false)
        .await;
    let id = "recues-pour-1000-seniors";
    let result = passerelle_tests::refresh(&hub, id).await;
    // 2025 divides by the 2024 figures (the latest not after 2025).
    assert_eq!(result.denominators.source_years(), vec![2024]);
    let counts = passerelle_tests::refresh(&hub, ID).await;
    let commune = passerelle_protocol::geo::COMMUNES[0].code;
    let count = counts
        .cells
        .iter()
        .find(|c| c.code == commune && c.level == passerelle_protocol::geo::Level::Commune)
        .and_then(|c| c.value)
        .unwrap();
    let rate = result
        .cells
        .iter()
        .find(|c| c.code == commune && c.level == passerelle_protocol::geo::Level::Commune)
        .and_then(|c| c.value)
        .unwrap();
    assert_eq!(
        rate,
        passerelle_provenance::formula::round(count / 82.0 * 1000.0, 1)
    );
    // The sheet says which year the rate divides by.
    let (_, _, html) = http_get(hub.http_addr, &format!("/indicateur/{id}")).await;
    assert!(
        html.contains("population de l&#39;année 2024")
            || html.contains("population de l'année 2024"),
        "{html}"
    );

    // A rate's public bundle discloses no answer (its cells are not the
    // node's counts); it still carries the denominators, under the hub's
    // signature, and verifies.
    let fp = sha256(hub.ctx().ca.cert_der());
    let (status, _, public) = passerelle_tests::http_bytes(
        hub.http_addr,
        "GET",
        &format!("/indicateur/{id}/preuve?niveau=commune&periode=2025-T1"),
        &[],
        b"",
    )
    .await;
    assert_eq!(status, 200);
    let (_, s) = parts(&public);
    assert!(!s.denominators.is_empty());
    assert!(check(&public, Some(fp)).ok());
    // The auditor's export has every answer: the verifier recomputes every
    // value with the recorded denominators.
    let body = match passerelle_hub::admin::request(
        &net.hub_dir(),
        passerelle_hub::admin::Request::Provenance {
            id: id.into(),
            full: true,
        },
    )
    .await
    .unwrap()
    {
        passerelle_hub::admin::Response::Bundle(t) => t.into_bytes(),
        other => panic!("{other:?}"),
    };
    let report = check(&body, Some(fp));
    assert!(report.ok(), "{:?}", report.failures);
    assert!(
        report.checked.iter().any(|l| l.contains("recomputed")),
        "{:?}",
        report.checked
    );
    // Without them, the built-in 2017 figures have no age band: every
    // recomputed value differs from the published one.
    let f = check(
        &rewrite(&body, |s| s.denominators.0.clear(), |_| {}),
        Some(fp),
    )
    .failures;
    assert!(f.contains(&Failure::HubSignature), "{f:?}");
    assert!(
        f.iter().any(|x| matches!(x, Failure::Value { .. })),
        "{f:?}"
    );
    // The operator's offline check recomputes with the stored denominators.
    let stored = passerelle_observatory::provenance::latest_with_provenance(&hub.ctx().hub, id)
        .unwrap()
        .unwrap();
    let ind = passerelle_tests::indicator(&hub, id);
    passerelle_observatory::refresh::verify(&hub.ctx().hub.trusted_cas, &ind, &stored)
        .expect("verifies offline");
    node.stop().await;
    hub.stop().await;
}
