//! The portal in a real browser: Debian's Chromium, driven by
//! `tests/browser/run.mjs` (playwright-core), with axe-core on every page.
//! The portal's own Content-Security-Policy applies (it is not bypassed):
//! a page that needs a blocked script, or logs any error, fails the run.
//! Every axe finding fails the test, whatever its impact, unless listed
//! in [`ACCEPTED`] with its reason. Needs `chromium`, `node` and `npm ci`
//! in `tests/browser` (`.ci/setup` installs them). Screenshots land in
//! `target/browser-artifacts/`, emptied at the start of each run.

use passerelle_tests::{browser, rows, rows_csv, Net};

/// Accessibility findings accepted, each with its reason: (page, axe rule,
/// why). None today: every finding is fixed in the templates instead.
const ACCEPTED: &[(&str, &str, &str)] = &[];

#[tokio::test]
async fn portal_works_in_chromium_without_accessibility_violations() {
    let net = Net::new();
    // The second factor offered (not asked of an account without it), so
    // that its enrolment page is checked too.
    net.set_partner_totp(passerelle_config::PartnerTotp::Optional);
    let hub = net.start_hub(None).await;
    let node = net
        .data_node(
            &hub,
            "asso-a",
            Some(&rows_csv(&rows(11, &["2025-T1", "2025-T2"]))),
            false,
        )
        .await;
    hub.ctx().observatory.refresh_all(&hub.ctx().fed).await;
    let inst = passerelle_protocol::ids::NodeId::new("asso-a").unwrap();
    let password = passerelle_tests::vault::add_partner(&hub, "agent@asso.fr", "Agent A", &inst);
    // A person linked to the institution, for the keyboard-only walk that
    // grants a consent (sharing needs an institution to share with).
    let linked =
        passerelle_tests::vault::create_account(&hub, "0639445566", "mot-de-passe-lie").await;
    passerelle_tests::vault::link(&hub, &linked, &net.node_dir("asso-a"), "ASSO-7").await;

    let report = browser::run(
        "run.mjs",
        format!("http://{}", hub.http_addr),
        "browser-artifacts",
        vec![
            "agent@asso.fr".into(),
            password,
            "0639445566".into(),
            "mot-de-passe-lie".into(),
        ],
    )
    .await;
    let pages = browser::pages(&report);
    assert_eq!(
        pages,
        [
            "accueil",
            "tableau-de-bord",
            "fiche-par-commune",
            "fiche-par-epci",
            "connexion",
            "espace-partenaires",
            "bilan-activite",
            "partenaires-coffre",
            "partenaires-ressources",
            "partenaires-mot-de-passe",
            "partenaires-double-facteur",
            "coffre-accueil",
            "coffre-code",
            "coffre-code-secours",
            "coffre-documents",
            "coffre-partager",
            "coffre-journal",
            "coffre-compte",
            "coffre-langue-swb",
            "coffre-langue-fr",
            "verifier",
            "themes",
            "donnees-ouvertes",
            "annuaire",
            "ressources",
            "sante-du-reseau",
            "coffre-connexion",
            "coffre-recuperer",
            "coffre-compte",
            "confiance",
            "mentions-legales",
            "donnees-personnelles",
            "accessibilite",
            "clavier-coffre",
            "clavier-partage"
        ]
    );
    // The keyboard-only walk reached every control of sign-in and of a
    // grant, and the language switch, with Tab (the script checks that
    // each focused control showed its focus).
    assert_eq!(
        report["keyboard"],
        serde_json::json!([
            "lien Me connecter",
            "identifiant",
            "mot de passe",
            "bouton Me connecter",
            "menu Partager",
            "case Logement",
            "avec qui",
            "démarche",
            "autre démarche",
            "date de fin",
            "bouton Donner",
            "langue Shimaore",
            "langue Français"
        ])
    );
    assert_eq!(
        report["csvHeader"],
        "indicateur,niveau,code,nom,periode,valeur,statut"
    );
    // Every finding of axe, whatever its impact, fails the test unless it
    // is accepted above with its reason.
    let found = browser::violations(&report, ACCEPTED);
    assert!(found.is_empty(), "{found:#?}");
    browser::assert_screenshots("browser-artifacts", &pages);
    node.stop().await;
    hub.stop().await;
}
