//! A hub folder, a node folder and a backup of each, written by the version
//! before the hub was split into crates (`tests/fixtures/v0.1-before-split`,
//! made as its README says), open with this version: every record the old
//! version wrote is found, with its values.

use std::path::{Path, PathBuf};

use passerelle_hub_core::store::Store as HubStore;
use passerelle_node::store::{BatchStatus, Store as NodeStore};
use passerelle_protocol::{enroll::Token, ids::NodeId, sign::sha256, vault::Category};
use passerelle_vault::{
    accounts,
    store::{CodeKind, VaultStore},
};

const NODE: &str = "caf-976";
const DOCUMENT: &str = "04b6643d33ccc349d198eecf3ab9efc4";
const PERSON: &str = "DOS-0042";

/// The fixture, copied (and its folders unpacked) into a fresh temp dir.
fn fixture() -> (tempfile::TempDir, PathBuf) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/v0.1-before-split");
    let tmp = tempfile::tempdir().unwrap();
    let to = tmp.path().to_path_buf();
    for entry in std::fs::read_dir(&from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
    for archive in ["hub.tar.gz", "node.tar.gz"] {
        let status = std::process::Command::new("tar")
            .arg("-xzf")
            .arg(archive)
            .current_dir(&to)
            .status()
            .unwrap();
        assert!(status.success(), "tar -xzf {archive}");
    }
    (tmp, to)
}

fn read(fixture: &Path, name: &str) -> Vec<u8> {
    std::fs::read(fixture.join(name)).unwrap()
}

/// The hub's records: the node, its token and certificate, the partner
/// account, the indicator history, and the vault's keyspaces. Returns the
/// person's pseudonym at the node, derived from the vault's stored secret.
fn check_hub(store_dir: &Path, fixture: &Path) -> String {
    let store = HubStore::open(store_dir).unwrap();
    let node_id = NodeId::new(NODE).unwrap();
    let node = store.node(&node_id).unwrap().expect("node record");
    assert_eq!(node.name, "CAF de Mayotte (fixture)");
    assert_eq!(node.datasets, vec!["personnes_recues".to_string()]);
    assert_eq!(node.version.as_deref(), Some("0.1.0"));
    assert!(node.revoked_at.is_none());
    let serial = store.serial(&node.serial).unwrap().expect("serial record");
    assert_eq!(serial.node_id, node_id);
    assert_eq!(serial.issued_at, node.enrolled_at);
    assert!(store.serial_issuer(&node.serial).unwrap().is_some());

    let token_text = String::from_utf8(read(fixture, "token.txt")).unwrap();
    let token = Token::parse(token_text.trim()).unwrap();
    let record = store
        .token(&token.secret_hash())
        .unwrap()
        .expect("token record");
    assert_eq!(record.node_id, node_id);
    assert_eq!(record.name, "CAF de Mayotte (fixture)");
    assert!(record.used_at.is_some(), "the token was redeemed");

    let account = store
        .account("agent@caf976.fr")
        .unwrap()
        .expect("partner account");
    assert_eq!(account.name, "Agent Fixture");
    assert_eq!(account.institution, node_id);
    assert_eq!(store.accounts().unwrap().len(), 1);

    let result: passerelle_observatory::IndicatorResult = store
        .latest_result("personnes-recues")
        .unwrap()
        .expect("indicator history");
    assert_eq!(result.indicator, "personnes-recues");
    assert_eq!(result.provenance.len(), 1);
    assert_eq!(result.provenance[0].dataset, "personnes_recues");
    assert_eq!(result.coverage.answered[0].node_id, NODE);

    let vault = VaultStore::new(store);
    let login = accounts::normalise_login("0639000042").unwrap();
    let (person, _key) = accounts::sign_in(&vault, &login, "fixture-mot-de-passe")
        .unwrap()
        .expect("the vault account signs in with its password");
    let links = vault.links(&person.id).unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].0, node_id);
    let pending = vault
        .take_code(CodeKind::Link, &accounts::code_hash("EKVE-UMGC"))
        .unwrap()
        .expect("the unused link code");
    assert_eq!(pending.person, person.id);
    let head = vault.audit_verify().unwrap().expect("vault chain intact");
    assert!(head.records >= 3, "{head:?}");
    let mine = vault.audit_of(&person.id, 10).unwrap();
    assert!(
        mine.iter()
            .any(|r| r.event.action == passerelle_protocol::audit::Action::AccountCreate),
        "{mine:?}"
    );
    passerelle_vault::links::pseudonym(&vault, &person.id, &node_id)
        .unwrap()
        .0
}

/// The node's records: the imported batch and its cube, the document and
/// its sealed file, the link to the vault (made with the hub's
/// `pseudonym`), the audit chain, the query log.
fn check_node(root: &Path, fixture: &Path, pseudonym: &str) {
    let store = NodeStore::open(&root.join("store")).unwrap();
    let csv = read(fixture, "recues.csv");
    let batches = store.batches().unwrap();
    assert_eq!(batches.len(), 1);
    let batch = &batches[0];
    assert_eq!(batch.dataset, "personnes_recues");
    assert_eq!(batch.rows, 49);
    assert_eq!(batch.imported_by, "agent-import");
    assert_eq!(batch.file, "recues.csv");
    assert_eq!(
        batch.sha256,
        passerelle_protocol::hex::encode(&sha256(&csv))
    );
    assert_eq!(batch.status, BatchStatus::Active);
    assert_eq!(
        store.datasets().unwrap(),
        vec!["personnes_recues".to_string()]
    );
    let (cubes, newest) = store.active_cubes("personnes_recues").unwrap();
    assert_eq!(newest, Some(batch.imported_at));
    let count_in = |code: &str| -> u64 {
        let index = passerelle_protocol::geo::COMMUNES
            .iter()
            .position(|c| c.code == code)
            .unwrap();
        cubes
            .iter()
            .flat_map(|c| &c.cells)
            .filter(|(k, _)| usize::from(k.commune) == index)
            .map(|(_, a)| a.count)
            .sum()
    };
    assert_eq!(count_in("97611"), 30);
    assert_eq!(count_in("97608"), 14);
    assert_eq!(count_in("97601"), 5);

    let pdf = read(fixture, "attestation.pdf");
    let doc = store.document(DOCUMENT).unwrap().expect("document record");
    assert_eq!(doc.local_id, PERSON);
    assert_eq!(doc.name, "attestation.pdf");
    assert_eq!(doc.category, Category::SocialRights);
    assert_eq!(doc.size, pdf.len() as u64);
    assert_eq!(doc.sha256, sha256(&pdf));
    assert_eq!(doc.added_by, "agent-doc");
    assert_eq!(store.documents_of(PERSON).unwrap(), vec![doc]);
    let files = passerelle_node::vault::DocFiles::new(root);
    assert_eq!(store.check(&files).unwrap(), Vec::<String>::new());

    let link = store.link(PERSON).unwrap().expect("link record");
    assert_eq!(link.linked_by, "agent-lien");
    assert_eq!(
        store.local_id(&link.pseudonym).unwrap().as_deref(),
        Some(PERSON)
    );
    // The vault's pseudonym secret was read back, not made anew.
    assert_eq!(link.pseudonym.0, pseudonym);

    let head = store.audit_verify().unwrap().expect("node chain intact");
    assert!(head.records >= 2, "{head:?}");
    let page = store.audit_page(0).unwrap();
    assert!(
        page.unreadable.is_empty() && page.next.is_none(),
        "{page:?}"
    );
    assert!(page.records.iter().any(|r| r.event.subject == DOCUMENT));
    assert!(!store.recent_queries(10).unwrap().is_empty());
}

/// Restores a backup into a fresh folder with this version's code.
fn restore(fixture: &Path, archive: &str, kind: &str, open_hub: bool) -> PathBuf {
    let root = fixture.join(format!("restored-{kind}"));
    std::fs::create_dir(&root).unwrap();
    let staging = root.join(".restore");
    let summary = if open_hub {
        passerelle_link::backup::unpack(&fixture.join(archive), &staging, kind, HubStore::open)
    } else {
        passerelle_link::backup::unpack(&fixture.join(archive), &staging, kind, NodeStore::open)
    }
    .unwrap();
    assert_eq!(summary.kind, kind);
    assert_eq!(summary.version, "0.1.0");
    let aside = passerelle_link::backup::install(&root, &staging, &root.join("store"), 1).unwrap();
    assert!(aside.is_none());
    root
}

#[test]
fn a_store_and_a_backup_of_the_version_before_the_split_open() {
    let (_tmp, fixture) = fixture();
    let pseudonym = check_hub(&fixture.join("hub/store"), &fixture);
    check_node(&fixture.join("node"), &fixture, &pseudonym);

    let hub = restore(&fixture, "hub-backup.tar", "hub", true);
    assert!(hub.join("hub.toml").exists() && !hub.join("hub.key").exists());
    assert_eq!(check_hub(&hub.join("store"), &fixture), pseudonym);
    let node = restore(&fixture, "node-backup.tar", "node", false);
    assert!(node
        .join("documents")
        .join(format!("{DOCUMENT}.sealed"))
        .exists());
    check_node(&node, &fixture, &pseudonym);
}
