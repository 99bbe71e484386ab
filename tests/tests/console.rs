//! The node's console in a real browser (Debian's Chromium, driven by
//! `tests/browser/console.mjs`), with axe-core on every page, under the
//! console's own Content-Security-Policy: a data officer imports a file
//! with errors and reads the report, then a good one; she cannot validate
//! her own batch; a second agent validates it; a counter agent links a
//! person with the code of their vault and deposits a document, which the
//! person then sees in their vault. Then the command line acts on the
//! same node, and the audit chain names each agent and operator and
//! checks (`passerelle-node audit verify`). Screenshots land in
//! `target/browser-artifacts-console/`.

use std::process::Command;

use passerelle_node::admin::{self, Request, Response};
use passerelle_tests::{browser, rows, rows_csv, Net};

/// Accessibility findings accepted, each with its reason: (page, axe rule,
/// why). None: every finding is fixed in the templates instead.
const ACCEPTED: &[(&str, &str, &str)] = &[];

async fn agent(root: &std::path::Path, login: &str, name: &str, roles: &[&str]) -> String {
    let req = Request::AgentAdd {
        login: login.into(),
        name: name.into(),
        roles: roles.iter().map(ToString::to_string).collect(),
        by: "operator:admin-test".into(),
    };
    match admin::request(root, req, &mut |_| {})
        .await
        .expect("agent add")
    {
        Response::AgentPassword { password, .. } => password,
        other => panic!("{other:?}"),
    }
}

/// Runs `passerelle-node ARGS --dir ROOT` as the operating-system user
/// `awa`, off the test's runtime (the node serves on it): whether it
/// succeeded, and its stderr.
async fn cli(root: &std::path::Path, args: &[&str]) -> (bool, String) {
    let exe = passerelle_tests::node_exe!();
    let mut cmd = Command::new(exe);
    cmd.args(args).arg("--dir").arg(root).env("USER", "awa");
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("passerelle-node runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn agents_import_validate_link_and_deposit_in_chromium() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    // A node whose batches wait for a second person's validation, with
    // its console on loopback.
    let root = net.data_node_dir(&hub, "asso-a", None, true).await;
    let path = root.join("node.toml");
    let mut config = passerelle_config::NodeConfig::load(&path).unwrap();
    config.console_listen = Some("127.0.0.1:0".parse().unwrap());
    std::fs::write(&path, config.template()).unwrap();
    let node = passerelle_node::serve::start(&root)
        .await
        .expect("node starts");
    passerelle_tests::wait_connected(&hub, "asso-a").await;
    let console = node.console_addr().expect("the console is served");

    let ana = agent(&root, "ana", "Ana Import", &["data", "validator", "admin"]).await;
    let bob = agent(&root, "bob", "Bob Valide", &["validator"]).await;
    let cleo = agent(&root, "cleo", "Cléo Guichet", &["counter"]).await;
    // A person with a vault, showing a link code at the counter.
    let person =
        passerelle_tests::vault::create_account(&hub, "0639556677", "mot-de-passe-lie").await;
    let code = passerelle_tests::vault::link_code(&hub, &person).await;

    let good = rows_csv(&rows(11, &["2025-T1"]));
    let work = tempfile::tempdir().unwrap();
    let good_file = work.path().join("recues-2025-T1.csv");
    std::fs::write(&good_file, &good).unwrap();

    let report = browser::run(
        "console.mjs",
        format!("http://{console}"),
        "browser-artifacts-console",
        vec![ana, bob, cleo, code, good_file.display().to_string()],
    )
    .await;
    let pages = browser::pages(&report);
    assert_eq!(
        pages,
        [
            "connexion",
            "premier-mot-de-passe",
            "accueil",
            "donnees",
            "rapport-erreurs",
            "rapport-import",
            "lot-en-attente",
            "journal",
            "agents",
            "validation",
            "revenir",
            "guichet",
            "dossier-relie",
            "depot",
            "compte",
            "double-facteur",
        ]
    );
    // The report lists every bad row, on screen and in the file.
    assert_eq!(report["errorsCsv"][0], "\u{feff}ligne;colonne;raison");
    assert_eq!(
        report["errorsCsv"].as_array().unwrap().len(),
        3,
        "{report:#}"
    );
    let found = browser::violations(&report, ACCEPTED);
    assert!(found.is_empty(), "{found:#?}");

    // The person sees the document deposited at the counter, in their
    // vault, among the institution's.
    let (status, home) = passerelle_tests::vault::page(&hub, &person, "/coffre").await;
    assert_eq!(status, 200);
    assert!(
        home.contains("attestation-guichet.pdf") && home.contains("Institution asso-a"),
        "{home}"
    );

    // Once the person gives the institution a consent, the counter sees it
    // (what the person page asks the hub), with its procedure and end.
    let token = passerelle_tests::vault::csrf(&hub, &person).await;
    let until = passerelle_link::output::time(Some(passerelle_link::now() + 10 * 86400));
    let form = format!(
        "csrf={token}&categorie=social-rights&qui=inst%3Aasso-a&demarche=rsa&autre=&fin={}",
        &until[..10]
    );
    let (status, _, p) = passerelle_tests::http(
        hub.http_addr,
        "POST",
        "/coffre/partages",
        &[("Cookie", &person)],
        &form,
    )
    .await;
    assert_eq!(status, 200, "{p}");
    let given = admin::consents(node.shared(), "DOS-7").await.unwrap();
    assert_eq!(given.len(), 1, "{given:?}");
    assert_eq!(
        (
            given[0].holder.as_str(),
            given[0].procedure.as_str(),
            &given[0].grantee
        ),
        (
            "asso-a",
            "rsa",
            &passerelle_protocol::vault::Grantee::Institution(
                passerelle_protocol::ids::NodeId::new("asso-a").unwrap()
            )
        )
    );
    assert!(given[0].not_after > passerelle_link::now() + 9 * 86400);
    assert!(admin::consents(node.shared(), "DOS-8")
        .await
        .unwrap()
        .is_empty());

    // The command line on the same node: an operator imports and removes
    // nothing of the agents'; the chain names everyone and holds.
    let f = good_file.display().to_string();
    let (ok, err) = cli(&root, &["import", "--dataset", "personnes_recues", &f]).await;
    assert!(ok, "{err}");
    let (ok, err) = cli(&root, &["audit", "verify"]).await;
    assert!(ok && err.contains("audit chain intact"), "{err}");
    let records = admin::audit_report(&root).await.unwrap().records;
    let done: Vec<(String, &str)> = records
        .iter()
        .map(|r| (r.event.actor.to_string(), r.event.action.as_str()))
        .filter(|(_, a)| !matches!(*a, "list" | "agent_add"))
        .collect();
    let want = [
        ("agent:ana", "batch_import"),
        ("agent:bob", "batch_validate"),
        ("agent:cleo", "link"),
        ("agent:cleo", "document_add"),
        ("operator:awa", "batch_import"),
    ];
    let got: Vec<(&str, &str)> = done.iter().map(|(a, b)| (a.as_str(), *b)).collect();
    assert_eq!(got, want, "{records:#?}");
    let deposit = records
        .iter()
        .find(|r| r.event.action.as_str() == "document_add")
        .unwrap();
    assert_eq!(
        (
            deposit.event.person.as_deref(),
            deposit.event.procedure.as_deref()
        ),
        (Some("DOS-7"), Some("rsa"))
    );

    node.stop().await;
    hub.stop().await;
}

#[tokio::test]
async fn the_console_serves_https_from_its_certificate_files() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let root = net.enroll(&hub, "asso-b").await;
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_path, key_path) = (root.join("console.crt"), root.join("console.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let path = root.join("node.toml");
    let mut config = passerelle_config::NodeConfig::load(&path).unwrap();
    config.console_listen = Some("127.0.0.1:0".parse().unwrap());
    config.console.https_cert = Some(cert_path);
    config.console.https_key = Some(key_path);
    std::fs::write(&path, config.template()).unwrap();
    let node = passerelle_node::serve::start(&root)
        .await
        .expect("node starts");
    let addr = node.console_addr().unwrap();

    let page = passerelle_tests::https_get(addr, &cert, "/connexion").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    let lower = page.to_ascii_lowercase();
    assert!(
        lower.contains("strict-transport-security: max-age=31536000"),
        "{page}"
    );
    assert!(
        lower.contains("content-security-policy: default-src 'self'"),
        "{page}"
    );
    assert!(page.contains("Connexion à la console"), "{page}");
    // The pages of a signed-in agent send anyone else to the sign-in.
    let page = passerelle_tests::https_get(addr, &cert, "/journal").await;
    let lower = page.to_ascii_lowercase();
    assert!(page.starts_with("HTTP/1.1 303"), "{page}");
    assert!(
        lower.contains("location: /connexion") && lower.contains("cache-control: no-store"),
        "{page}"
    );
    // Plain HTTP on the HTTPS port gets no page.
    let (status, _, _) = passerelle_tests::http_get(addr, "/connexion").await;
    assert_ne!(status, 200);
    node.stop().await;
    hub.stop().await;
}
