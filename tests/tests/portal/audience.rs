//! Catalog-defined themes, partner-only indicators and territory
//! portraits, over real HTTP.

use passerelle_hub::server::HubHandle;
use passerelle_protocol::{geo, ids::NodeId};
use passerelle_tests::{
    http_get, rows, rows_csv,
    vault::{add_partner, page, partner_session},
    Net,
};

const RESERVED: &str = "recues-reservees";
const RESERVED_TITLE: &str = "Accueils réservés aux partenaires (essai)";

/// A catalog folder: a theme of its own (youth), a public indicator in it
/// with an operator's reference, and a partner-only one.
fn catalog(dir: &std::path::Path) {
    std::fs::write(
        dir.join("themes.toml"),
        r#"[[theme]]
id = "jeunesse"
name = "Jeunesse (essai)"
description = "Les jeunes de 16 à 25 ans."
order = 45
"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("jeunesse.toml"),
        format!(
            r#"[[indicator]]
id = "jeunes-recus"
title = "Jeunes reçus (essai)"
theme = "jeunesse"
unit = "personnes"
definition = "d"
sources = ["Associations"]
frequency = "trimestrielle"
formula = "sum"
numerator = ["personnes_recues"]
reference = {{ value = 12.5, label = "Outre-mer", source = "Source de référence (essai) 2022" }}

[[indicator]]
id = "{RESERVED}"
title = "{RESERVED_TITLE}"
theme = "jeunesse"
unit = "personnes"
definition = "d"
sources = ["Associations"]
frequency = "trimestrielle"
formula = "sum"
numerator = ["personnes_recues"]
audience = "partners"
"#
        ),
    )
    .unwrap();
}

async fn hub_with_catalog(net: &Net) -> HubHandle {
    let dir = net.hub_dir().join("catalogue");
    std::fs::create_dir_all(&dir).unwrap();
    catalog(&dir);
    net.configure(|c| c.catalog_dir = Some(dir));
    net.start_hub(None).await
}

#[tokio::test]
async fn a_partner_only_indicator_is_absent_from_every_public_answer_and_present_for_partners() {
    let net = Net::new();
    let hub = hub_with_catalog(&net).await;
    let _node = net
        .data_node(
            &hub,
            "asso-a",
            Some(&rows_csv(&rows(3, &["2025-T1"]))),
            false,
        )
        .await;
    let published = passerelle_tests::refresh(&hub, RESERVED).await;
    assert!(!published.cells.is_empty());
    passerelle_tests::refresh(&hub, "jeunes-recus").await;

    let epci = geo::EPCIS[0].siren;
    let public = [
        "/".to_string(),
        "/themes".into(),
        "/theme/jeunesse".into(),
        "/donnees".into(),
        "/donnees/catalogue.jsonld".into(),
        "/api/catalog".into(),
        "/api/openapi.json".into(),
        "/api/geography".into(),
        "/territoires".into(),
        "/territoire/976".into(),
        format!("/territoire/{epci}"),
        "/territoire/97611".into(),
        "/ressources".into(),
        "/annuaire".into(),
    ];
    // The same whether or not a partner is signed in: public pages are
    // the public view (and cached as such).
    add_partner(
        &hub,
        "ana@asso.fr",
        "Ana Madi",
        &NodeId::new("asso-a").unwrap(),
    );
    let ana = partner_session(&hub, "ana@asso.fr").await;
    for cookie in ["", ana.as_str()] {
        for path in &public {
            let (status, body) = page(&hub, cookie, path).await;
            assert_eq!(status, 200, "{path}");
            assert!(
                !body.contains(RESERVED) && !body.contains(RESERVED_TITLE),
                "{path} shows the partner-only indicator"
            );
        }
    }
    assert!(http_get(hub.http_addr, "/theme/jeunesse")
        .await
        .2
        .contains("Jeunes reçus (essai)"));
    // The open-data catalog lists the public one beside it.
    assert!(http_get(hub.http_addr, "/donnees/catalogue.jsonld")
        .await
        .2
        .contains("/donnees/jeunes-recus.csv"));
    // Its own addresses answer as for an indicator that does not exist.
    for path in [
        format!("/indicateur/{RESERVED}"),
        format!("/indicateur/{RESERVED}?niveau=epci"),
        format!("/donnees/{RESERVED}.csv"),
        format!("/donnees/{RESERVED}.json"),
        format!("/donnees/{RESERVED}.csv?niveau=department"),
        format!("/donnees/{RESERVED}.csv?format=csv-fr"),
        format!("/api/indicators/{RESERVED}"),
        format!("/api/indicators/{RESERVED}?level=commune"),
        format!("/indicateur/{RESERVED}/preuve"),
        format!("/api/indicators/{RESERVED}/provenance"),
    ] {
        for cookie in ["", ana.as_str()] {
            let (status, body) = page(&hub, cookie, &path).await;
            assert_eq!(status, 404, "{path}");
            assert!(!body.contains(RESERVED_TITLE), "{path}");
        }
    }
    // A public indicator of the same theme answers everywhere.
    for path in [
        "/indicateur/jeunes-recus",
        "/donnees/jeunes-recus.csv",
        "/api/indicators/jeunes-recus",
        "/indicateur/jeunes-recus/preuve",
    ] {
        assert_eq!(http_get(hub.http_addr, path).await.0, 200, "{path}");
    }

    // Partners see it in their area, with its values.
    let (status, home) = page(&hub, &ana, "/partenaires").await;
    assert_eq!(status, 200);
    assert!(home.contains("/partenaires/indicateurs"));
    let (status, list) = page(&hub, &ana, "/partenaires/indicateurs").await;
    assert_eq!(status, 200);
    assert!(
        list.contains(RESERVED_TITLE) && !list.contains("Jeunes reçus (essai)"),
        "{list}"
    );
    let (status, sheet) = page(&hub, &ana, &format!("/partenaires/indicateur/{RESERVED}")).await;
    assert_eq!(status, 200);
    let department = published
        .cells
        .iter()
        .find(|c| c.level == geo::Level::Department && c.value.is_some())
        .expect("a department value");
    let shown = passerelle_hub_core::french::number(department.value.unwrap(), 0);
    assert!(
        sheet.contains(RESERVED_TITLE)
            && sheet.contains("réservé aux partenaires")
            && sheet.contains(&shown),
        "{sheet}"
    );
    // Not without a session.
    for path in [
        "/partenaires/indicateurs",
        &format!("/partenaires/indicateur/{RESERVED}"),
    ] {
        let (status, _, _) = http_get(hub.http_addr, path).await;
        assert_eq!(status, 303, "{path}");
    }
}

#[tokio::test]
async fn territory_portraits_list_every_public_indicator_for_commune_epci_and_department() {
    let net = Net::new();
    let hub = hub_with_catalog(&net).await;
    let _node = net
        .data_node(
            &hub,
            "asso-a",
            Some(&rows_csv(&rows(5, &["2025-T1"]))),
            false,
        )
        .await;
    passerelle_tests::refresh(&hub, "jeunes-recus").await;
    let ctx = hub.ctx();
    let public = ctx
        .observatory
        .catalog_for(passerelle_observatory::Reader::Public);
    assert!(public.len() >= 18);
    let commune = geo::COMMUNES[0];
    let epci = geo::EPCIS[commune.epci];
    for (code, name, compared) in [
        ("976", geo::DEPARTMENT_NAME, false),
        (epci.siren, epci.name, true),
        (commune.code, commune.name, true),
    ] {
        let (status, _, html) = http_get(hub.http_addr, &format!("/territoire/{code}")).await;
        assert_eq!(status, 200, "{code}");
        assert!(
            html.contains(&format!("Portrait de territoire : {name}")),
            "{code}"
        );
        for ind in &public {
            assert!(
                html.contains(&format!("href=\"/indicateur/{}\"", ind.id)),
                "{code}: {} missing",
                ind.id
            );
        }
        assert!(!html.contains(RESERVED), "{code}");
        // Beside Mayotte's value, and the operator's reference with its source.
        assert!(
            html.contains(&format!("<th scope=\"col\">{name}</th>")),
            "{code}"
        );
        if compared {
            assert!(html.contains("<th scope=\"col\">Mayotte</th>"), "{code}");
        }
        assert!(
            html.contains("Source de référence (essai) 2022")
                && html.contains("valeur fournie par l'opérateur")
                && html.contains("12,5"),
            "{code}"
        );
        // The custom theme is a section of its own.
        assert!(html.contains("<h2>Jeunesse (essai)</h2>"), "{code}");
        // Printable: the site's print stylesheet hides the navigation.
        assert!(html.contains("@media print"), "{code}");
    }
    // A computed value shows: the commune's own and Mayotte's.
    let r = ctx.observatory.latest("jeunes-recus").unwrap();
    let mayotte = r
        .cells
        .iter()
        .find(|c| c.level == geo::Level::Department && c.value.is_some())
        .unwrap();
    let (_, _, html) = http_get(hub.http_addr, &format!("/territoire/{}", commune.code)).await;
    assert!(html.contains(&passerelle_hub_core::french::number(
        mayotte.value.unwrap(),
        0
    )));
    for bad in ["/territoire/97699", "/territoire/abc", "/territoire/"] {
        assert_eq!(http_get(hub.http_addr, bad).await.0, 404, "{bad}");
    }
    // Themes come from the catalog: the custom one is listed, in its order.
    let (_, _, themes) = http_get(hub.http_addr, "/themes").await;
    let at = |id: &str| {
        themes
            .find(&format!("href=\"/theme/{id}\""))
            .unwrap_or_else(|| panic!("{id} missing"))
    };
    assert!(at("jeunesse") > at("personnes-agees") && at("jeunesse") < at("emploi"));
    assert!(themes.contains("Les jeunes de 16 à 25 ans."));
}
