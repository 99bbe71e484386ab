//! The node's integration API and watched folders end to end: a real hub,
//! a node with `api_listen` on loopback and a watched folder, requests
//! over real HTTP.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use passerelle_config::NodeConfig;
use passerelle_hub::server::HubHandle;
use passerelle_node::{
    admin::{Request, Response},
    api::tokens::{self, Scope},
    serve::NodeHandle,
};
use passerelle_protocol::audit::Action;
use passerelle_tests::{
    eventually, http_bytes, rows, rows_csv,
    vault::{create_account, link, pdf},
    wait_connected, Net,
};

const DATASET: &str = "personnes_recues";

/// A data node with a second dataset (`autre`), the API on loopback and
/// a watched folder for `personnes_recues`; its folder and drop folder.
async fn api_node(net: &Net, hub: &HubHandle) -> (NodeHandle, PathBuf, PathBuf) {
    let root = net.data_node_dir(hub, "caf-976", None, false).await;
    let drop = net.tmp.path().join("depot-caf");
    std::fs::create_dir_all(&drop).unwrap();
    let path = root.join("node.toml");
    let mut config = NodeConfig::load(&path).unwrap();
    let mut other = config.datasets[0].clone();
    other.name = "autre".into();
    config.datasets[0].drop_folder = Some(drop.clone());
    config.datasets.push(other);
    config.api_listen = Some("127.0.0.1:0".parse().unwrap());
    std::fs::write(&path, config.template()).unwrap();
    let node = passerelle_node::serve::start(&root)
        .await
        .expect("node starts");
    wait_connected(hub, "caf-976").await;
    (node, root, drop)
}

async fn post(node: &NodeHandle, path: &str, token: &str, body: &[u8]) -> (u16, serde_json::Value) {
    let auth = format!("Bearer {token}");
    let (status, _, body) = http_bytes(
        node.api_addr().expect("API served"),
        "POST",
        path,
        &[("Authorization", &auth)],
        body,
    )
    .await;
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    (status, json)
}

fn batches(node: &NodeHandle) -> Vec<passerelle_node::store::BatchMeta> {
    node.shared().store().batches().unwrap()
}

/// Audit records of `action` by `actor` (the node's chain).
fn audited(node: &NodeHandle, actor: &str, action: Action) -> usize {
    let store = node.shared().store();
    let mut n = 0;
    let mut from = 0;
    loop {
        let page = store.audit_page(from).unwrap();
        n += page
            .records
            .iter()
            .filter(|r| r.event.action == action && r.event.actor.to_string() == actor)
            .count();
        match page.next {
            Some(next) => from = next,
            None => return n,
        }
    }
}

/// A token made through the node's admin socket by the operator `awa`.
async fn make_token(root: &Path, name: &str, scope: &str) -> String {
    let req = Request::TokenAdd {
        name: name.into(),
        scope: scope.into(),
        by: "operator:awa".into(),
    };
    match passerelle_node::admin::request(root, req, &mut |_| {}).await {
        Ok(Response::Token { record, token }) => {
            assert_eq!(record.name, name);
            token
        }
        other => panic!("token add: {other:?}"),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, out);
        } else if p.is_file() {
            out.push(p);
        }
    }
}

#[tokio::test]
async fn a_dataset_token_pushes_only_its_dataset_and_is_never_kept_in_clear() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let (node, root, _) = api_node(&net, &hub).await;
    // Made through the running node, as `token add` does: written in its
    // audit chain with who made them.
    let token = make_token(&root, "logiciel-rsa", &format!("dataset:{DATASET}")).await;
    let depot = make_token(&root, "ged", "deposit").await;
    assert_eq!(audited(&node, "operator:awa", Action::TokenAdd), 2);
    let csv = rows_csv(&rows(7, &["2025"]));

    // Its own dataset: imported as a batch, recorded as the token.
    let (status, reply) = post(
        &node,
        &format!("/api/v1/datasets/{DATASET}/files?name=export.csv"),
        &token,
        csv.as_bytes(),
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    let batch = reply["batch"].as_u64().unwrap();
    let all = batches(&node);
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].id, all[0].dataset.as_str()), (batch, DATASET));
    assert_eq!(all[0].imported_by, "token:logiciel-rsa");
    assert_eq!(all[0].file, "export.csv");
    assert_eq!(audited(&node, "token:logiciel-rsa", Action::BatchImport), 1);

    // Another dataset, or a deposit: refused, nothing written, the
    // refusal in the audit chain.
    let (status, reply) = post(
        &node,
        "/api/v1/datasets/autre/files",
        &token,
        csv.as_bytes(),
    )
    .await;
    assert_eq!(status, 403, "{reply}");
    let (status, _) = post(
        &node,
        "/api/v1/persons/dossier-1/documents?category=resources",
        &token,
        &pdf(b"x", 2),
    )
    .await;
    assert_eq!(status, 403);
    // The deposit token pushes no dataset either.
    let (status, _) = post(
        &node,
        &format!("/api/v1/datasets/{DATASET}/files"),
        &depot,
        csv.as_bytes(),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(batches(&node).len(), 1);
    assert_eq!(node.shared().store().all_documents().unwrap().len(), 0);
    assert_eq!(audited(&node, "token:logiciel-rsa", Action::ApiRefused), 2);
    assert_eq!(audited(&node, "token:ged", Action::ApiRefused), 1);

    // A bad file: every bad row said, nothing imported, recorded.
    let bad = "code_commune,periode,sexe\n97601,2025,F\n99999,2025,F\n97602,2025,X\n";
    let (status, reply) = post(
        &node,
        &format!("/api/v1/datasets/{DATASET}/files"),
        &token,
        bad.as_bytes(),
    )
    .await;
    assert_eq!(status, 422, "{reply}");
    assert_eq!(reply["error"], "import_refused");
    let lines: Vec<u64> = reply["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![3, 4]);
    assert!(
        reply["issues"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("99999")),
        "{reply}"
    );
    assert_eq!(batches(&node).len(), 1);
    assert_eq!(
        audited(&node, "token:logiciel-rsa", Action::ImportRefused),
        1
    );

    // No token, a wrong one, a removed one: 401.
    let (status, _) = post(
        &node,
        &format!("/api/v1/datasets/{DATASET}/files"),
        "",
        csv.as_bytes(),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = post(
        &node,
        &format!("/api/v1/datasets/{DATASET}/files"),
        &format!("{token}0"),
        csv.as_bytes(),
    )
    .await;
    assert_eq!(status, 401);
    let removed = passerelle_node::admin::request(
        &root,
        Request::TokenRemove {
            name: "ged".into(),
            by: "operator:awa".into(),
        },
        &mut |_| {},
    )
    .await
    .unwrap();
    assert!(matches!(removed, Response::TokenRemoved(t) if t.name == "ged"));
    assert_eq!(audited(&node, "operator:awa", Action::TokenRemove), 1);
    let (status, _) = post(
        &node,
        "/api/v1/persons/dossier-1/documents?category=resources",
        &depot,
        &pdf(b"x", 2),
    )
    .await;
    assert_eq!(status, 401);

    // Neither token is anywhere in the node folder, in clear (the audit
    // chain included).
    let mut files = Vec::new();
    files_under(&root, &mut files);
    for secret in [&token, &depot] {
        let hex = &secret[tokens::PREFIX.len()..];
        for f in &files {
            let bytes = std::fs::read(f).unwrap_or_default();
            assert!(
                !contains(&bytes, hex.as_bytes()),
                "{} holds a token",
                f.display()
            );
        }
    }
    node.stop().await;
    hub.stop().await;
}

#[tokio::test]
async fn a_deposit_for_a_person_not_linked_is_refused() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let (node, root, _) = api_node(&net, &hub).await;
    let (_, depot) = tokens::add(&root, "ged", Scope::Deposit, passerelle_link::now()).unwrap();
    let awa = create_account(&hub, "0639123456", "motdepasse-awa").await;
    link(&hub, &awa, &root, "dossier-42").await;
    let doc = pdf(b"ATTESTATION-API", 4);

    let (status, reply) = post(
        &node,
        "/api/v1/persons/dossier-7/documents?category=resources&name=attestation.pdf",
        &depot,
        &doc,
    )
    .await;
    assert_eq!(status, 409, "{reply}");
    assert_eq!(reply["error"], "not_linked");
    assert!(node.shared().store().all_documents().unwrap().is_empty());
    assert_eq!(audited(&node, "token:ged", Action::ApiRefused), 1);

    let (status, reply) = post(
        &node,
        "/api/v1/persons/dossier-42/documents?category=resources&name=attestation.pdf",
        &depot,
        &doc,
    )
    .await;
    assert_eq!(status, 201, "{reply}");
    let docs = node.shared().store().documents_of("dossier-42").unwrap();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].id, reply["id"].as_str().unwrap());
    assert_eq!(
        (docs[0].name.as_str(), docs[0].added_by.as_str()),
        ("attestation.pdf", "token:ged")
    );
    assert_eq!(audited(&node, "token:ged", Action::DocumentAdd), 1);
    // Its content is checked as on the command line.
    let (status, _) = post(
        &node,
        "/api/v1/persons/dossier-42/documents?category=resources",
        &depot,
        b"not a pdf",
    )
    .await;
    assert_eq!(status, 422);
    // Nothing received is left behind.
    assert!(
        !root.join("api-incoming").exists()
            || std::fs::read_dir(root.join("api-incoming"))
                .unwrap()
                .next()
                .is_none()
    );
    node.stop().await;
    hub.stop().await;
}

#[tokio::test]
async fn unknown_tokens_are_rate_limited_and_the_openapi_document_describes_every_route() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let (node, root, _) = api_node(&net, &hub).await;
    let addr = node.api_addr().unwrap();

    let (status, _, body) = http_bytes(addr, "GET", "/openapi.json", &[], b"").await;
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_slice(&body).expect("OpenAPI is JSON");
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (method, path) in passerelle_node::api::ROUTES {
        assert!(
            paths.get(*path).and_then(|p| p.get(*method)).is_some(),
            "{method} {path} undescribed"
        );
        // And every described route is served (not the fallback's 404).
        let url = path.replace("{dataset}", DATASET).replace("{person}", "p1");
        let (status, _, _) = http_bytes(addr, &method.to_uppercase(), &url, &[], b"").await;
        assert_ne!(status, 404, "{method} {path} not served");
    }
    let described: usize = paths.values().map(|p| p.as_object().unwrap().len()).sum();
    assert_eq!(described, passerelle_node::api::ROUTES.len());

    let (_, token) = tokens::add(
        &root,
        "logiciel-rsa",
        Scope::Dataset(DATASET.into()),
        passerelle_link::now(),
    )
    .unwrap();
    let csv = rows_csv(&rows(3, &["2025"]));
    // The GETs above were the openapi document and two unauthenticated
    // POSTs: two failures already.
    let mut refused = 2;
    while refused < passerelle_node::api::MAX_FAILURES {
        let (status, _) = post(
            &node,
            &format!("/api/v1/datasets/{DATASET}/files"),
            "pnt_guess",
            csv.as_bytes(),
        )
        .await;
        assert_eq!(status, 401);
        refused += 1;
    }
    // Now even the right token waits for the window to end.
    let (status, reply) = post(
        &node,
        &format!("/api/v1/datasets/{DATASET}/files"),
        &token,
        csv.as_bytes(),
    )
    .await;
    assert_eq!(status, 429, "{reply}");
    assert!(batches(&node).is_empty());
    node.stop().await;
    hub.stop().await;
}

#[tokio::test]
async fn a_dropped_file_is_imported_or_rejected_with_its_report() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let (node, _, drop) = api_node(&net, &hub).await;

    // A file still being written under a .part name is left alone.
    std::fs::write(drop.join("suivant.csv.part"), "code_commune,periode").unwrap();
    std::fs::write(drop.join("janvier.csv"), rows_csv(&rows(5, &["2025"]))).unwrap();
    std::fs::write(
        drop.join("fevrier.csv"),
        "code_commune;periode;sexe\n97601;2025;F\n97601;2025;H\n",
    )
    .unwrap();
    eventually("both files taken", Duration::from_secs(30), || {
        let done = drop.join("done/janvier.csv").exists();
        let rejected = drop.join("rejected/fevrier.csv.erreurs.csv").exists();
        async move { done && rejected }
    })
    .await;
    let all = batches(&node);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].imported_by, "folder:personnes_recues");
    assert_eq!(all[0].file, "janvier.csv");
    assert_eq!(
        audited(&node, "folder:personnes_recues", Action::BatchImport),
        1
    );
    assert_eq!(
        audited(&node, "folder:personnes_recues", Action::ImportRefused),
        1
    );
    assert!(drop.join("rejected/fevrier.csv").exists());
    assert!(!drop.join("janvier.csv").exists() && !drop.join("fevrier.csv").exists());
    let report = std::fs::read_to_string(drop.join("rejected/fevrier.csv.erreurs.csv")).unwrap();
    let report = report
        .strip_prefix('\u{feff}')
        .expect("a byte-order mark for spreadsheets");
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "ligne;colonne;raison");
    assert_eq!(lines.len(), 2, "{report}");
    // The reason in French, as the console says it: staff read it.
    assert!(
        lines[1].starts_with("3;sexe;« H » n'est pas une valeur permise"),
        "{report}"
    );
    assert!(drop.join("suivant.csv.part").exists());
    node.stop().await;
    hub.stop().await;
}
