//! A programme's quarterly report: its figures against its targets, a
//! masked figure shown as « < seuil » and never compared, interventions per
//! staff member, the written part entered by a partner of the institution
//! running it (CSRF-protected, bounded, escaped, audited, refused to other
//! institutions), and a printable page.

use passerelle_hub_core::french::number;
use passerelle_protocol::{
    audit::{Action, Actor},
    geo::Level,
    ids::NodeId,
};
use passerelle_tests::{
    by_sex, hidden_field, http, rows, rows_csv,
    vault::{add_partner, partner_session},
    Net,
};

use super::figures::{html_figures, Shown};

const PROGRAMMES: &str = r#"
[[programme]]
id = "accueil-test"
title = "Accueil de test"
institution = "asso-a"
description = "Programme d'essai."
indicators = ["personnes-recues", "communes-desservies"]
interventions = "personnes-recues"
staff = { "2025-T2" = 4 }

[[programme.target]]
indicator = "personnes-recues"
period = "2025-T1"
value = 150

[[programme.target]]
indicator = "personnes-recues"
period = "2025-T2"
value = 200
"#;

const PAGE: &str = "/partenaires/programme/accueil-test";

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn a_programme_report_shows_figures_against_targets_and_the_partners_written_part() {
    // `personnes-recues` broken down by sex: the report's activity by
    // category.
    let net = Net::new();
    net.catalog(&[
        ("programmes.toml", PROGRAMMES),
        ("sexe.toml", &by_sex("personnes-recues", "Personnes reçues")),
    ]);
    let hub = net.start_hub(None).await;
    // 2025-T2 is well filled; 2025-T1 has three people, below the threshold
    // even for the department.
    let mut csv = rows_csv(&rows(9, &["2025-T2"]));
    for sex in ["F", "M", "F"] {
        csv.push_str(&format!("97611,2025-T1,{sex}\n"));
    }
    let node = net.data_node(&hub, "asso-a", Some(&csv), false).await;
    net.enroll(&hub, "asso-b").await;
    for id in ["personnes-recues", "communes-desservies"] {
        passerelle_tests::refresh(&hub, id).await;
    }
    let addr = hub.http_addr;
    let get = |cookie: String, path: String| async move {
        let (s, _, p) = http(addr, "GET", &path, &[("Cookie", &cookie)], "").await;
        (s, p)
    };

    let (status, _, _) = http(addr, "GET", PAGE, &[], "").await;
    assert_eq!(status, 303, "a partner page needs a session");

    add_partner(
        &hub,
        "ana@asso-a.fr",
        "Ana",
        &NodeId::new("asso-a").unwrap(),
    );
    add_partner(
        &hub,
        "bob@asso-b.fr",
        "Bob",
        &NodeId::new("asso-b").unwrap(),
    );
    let ana = partner_session(&hub, "ana@asso-a.fr").await;
    let bob = partner_session(&hub, "bob@asso-b.fr").await;

    let (status, list) = get(ana.clone(), "/partenaires/programmes".into()).await;
    assert_eq!(status, 200);
    assert!(list.contains(&format!("href=\"{PAGE}\"")) && list.contains("Accueil de test"));

    // 2025-T2: the published department figure, its target, the rate
    // reached and interventions per staff member.
    let result = hub
        .ctx()
        .observatory
        .latest("personnes-recues")
        .expect("published");
    let v = result
        .cells
        .iter()
        .find(|c| c.level == Level::Department && c.period.to_string() == "2025-T2")
        .and_then(|c| c.value)
        .expect("a released department figure");
    let (status, page) = get(ana.clone(), format!("{PAGE}?periode=2025-T2")).await;
    assert_eq!(status, 200, "{page}");
    let figures = html_figures(&page).expect("every figure tied to its cell");
    assert!(
        figures.contains(&(
            "personnes-recues".into(),
            Level::Department,
            "976".into(),
            "2025-T2".into(),
            Shown::Value(v)
        )),
        "{figures:?}"
    );
    assert!(page.contains("<td class=\"n cible\">200</td>"), "{page}");
    assert!(
        page.contains(&format!(
            "<td class=\"n atteinte\">{} %</td>",
            number(v / 200.0 * 100.0, 0)
        )),
        "{page}"
    );
    assert!(
        page.contains(&format!("<strong>{}</strong>", number(v / 4.0, 1))),
        "interventions per staff member: {page}"
    );
    assert!(page.contains("n'a pas encore rédigé"));

    // Its activity by category: each sex's department figure, as composed.
    assert!(page.contains("<h2>Activité par catégorie</h2>"), "{page}");
    let bd = &result.breakdowns[0];
    for sex in ["F", "M"] {
        let cell = bd
            .cells
            .iter()
            .find(|c| {
                c.category == sex
                    && c.cell.level == Level::Department
                    && c.cell.period.to_string() == "2025-T2"
            })
            .expect("a composed category");
        let shown = cell.cell.value.map_or(Shown::Absent, Shown::Value);
        assert!(
            figures.contains(&(
                format!("personnes-recues#sexe={sex}"),
                Level::Department,
                "976".into(),
                "2025-T2".into(),
                shown
            )),
            "{sex}: {figures:?}"
        );
    }
    assert!(page.contains("<th scope=\"row\">Femmes</th>"), "{page}");

    // Printable: a print button, and the print style hides the forms.
    assert!(page.contains("id=\"imprimer\"") && page.contains("/static/imprimer.js"));
    let print = page.split("@media print{").nth(1).expect("a print style");
    let print = &print[..print.find('}').expect("rule")];
    assert!(
        print.contains(".choix") && print.contains("#imprimer"),
        "{print}"
    );
    assert!(page.contains("<form class=\"choix\" method=\"post\""));

    // 2025-T1: three people, masked: « < seuil », never compared.
    let (_, page_t1) = get(ana.clone(), format!("{PAGE}?periode=2025-T1")).await;
    let figures = html_figures(&page_t1).expect("every figure tied to its cell");
    assert!(
        figures.contains(&(
            "personnes-recues".into(),
            Level::Department,
            "976".into(),
            "2025-T1".into(),
            Shown::Absent
        )),
        "{figures:?}"
    );
    assert!(
        page_t1.contains("data-period=\"2025-T1\">&lt; seuil</td>"),
        "{page_t1}"
    );
    assert!(page_t1.contains("<td class=\"n cible\">150</td>"));
    assert!(page_t1.contains("<td class=\"n atteinte\">—</td>"));
    assert!(page_t1.contains("Aucun effectif déclaré"));

    // The written part: refused without the session's token.
    let csrf = hidden_field(&page, "csrf").expect("the form's token");
    let text = "Faits marquants <script>alert(1)</script>\r\n\r\nDeuxième paragraphe";
    for token in ["", "faux"] {
        let body = format!("csrf={token}&periode=2025-T2&texte={}", encode(text));
        let (status, _, _) = http(addr, "POST", PAGE, &[("Cookie", &ana)], &body).await;
        assert_eq!(status, 403);
    }
    let body = format!("csrf={csrf}&periode=2025-T2&texte={}", encode(text));
    let (status, headers, _) = http(addr, "POST", PAGE, &[("Cookie", &ana)], &body).await;
    assert_eq!(status, 303);
    assert!(headers
        .iter()
        .any(|(k, v)| k == "location" && v == &format!("{PAGE}?periode=2025-T2")));
    let (_, page) = get(ana.clone(), format!("{PAGE}?periode=2025-T2")).await;
    assert!(
        page.contains("<p>Faits marquants &lt;script&gt;alert(1)&lt;/script&gt;</p><p>Deuxième paragraphe</p>"),
        "{page}"
    );
    assert!(!page.contains("<script>alert"));
    assert!(page.contains("Rédigé par ana@asso-a.fr"));

    // Recorded in the hub's audit chain, by whom and for what.
    let records = hub
        .ctx()
        .vault()
        .store
        .audit_page(0)
        .expect("audit")
        .records;
    let written: Vec<_> = records
        .iter()
        .filter(|r| r.event.action == Action::ReportWritten)
        .collect();
    assert_eq!(written.len(), 1, "{records:?}");
    assert_eq!(written[0].event.subject, "programme:accueil-test");
    assert_eq!(
        written[0].event.actor,
        Actor::Professional {
            account: "ana@asso-a.fr".into(),
            institution: "asso-a".into()
        }
    );
    assert!(written[0].event.detail.starts_with("2025-T2"));

    // Bounded: a text too long is refused and the saved one stays.
    let long = "x".repeat(passerelle_observatory::programme::NOTE_MAX_CHARS + 1);
    let body = format!("csrf={csrf}&periode=2025-T2&texte={long}");
    let (status, _, refused) = http(addr, "POST", PAGE, &[("Cookie", &ana)], &body).await;
    assert_eq!(status, 400);
    assert!(refused.contains("trop long"));
    // A period the programme does not have is refused.
    let body = format!("csrf={csrf}&periode=2019-T1&texte=bilan");
    let (status, _, _) = http(addr, "POST", PAGE, &[("Cookie", &ana)], &body).await;
    assert_eq!(status, 400);

    // Another institution's partner reads the report but cannot write it.
    let (status, page_b) = get(bob.clone(), format!("{PAGE}?periode=2025-T2")).await;
    assert_eq!(status, 200);
    assert!(page_b.contains("Deuxième paragraphe"));
    assert!(!page_b.contains("method=\"post\" action=\"/partenaires/programme/"));
    let (_, home_b) = get(bob.clone(), "/partenaires".into()).await;
    let csrf_b = hidden_field(&home_b, "csrf").expect("bob's token");
    let body = format!("csrf={csrf_b}&periode=2025-T2&texte=remplac%C3%A9");
    let (status, _, _) = http(addr, "POST", PAGE, &[("Cookie", &bob)], &body).await;
    assert_eq!(status, 403);

    let (_, page) = get(ana.clone(), format!("{PAGE}?periode=2025-T2")).await;
    assert!(page.contains("Deuxième paragraphe") && !page.contains("remplacé"));
    let records = hub
        .ctx()
        .vault()
        .store
        .audit_page(0)
        .expect("audit")
        .records;
    assert_eq!(
        records
            .iter()
            .filter(|r| r.event.action == Action::ReportWritten)
            .count(),
        1,
        "refused writes are not recorded as written"
    );

    let (status, _, _) = http(
        addr,
        "GET",
        "/partenaires/programme/inconnu",
        &[("Cookie", &ana)],
        "",
    )
    .await;
    assert_eq!(status, 404);

    node.stop().await;
    hub.stop().await;
}
