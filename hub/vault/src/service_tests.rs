//! The vault service against fake nodes: who is asked, what is refused,
//! and what lands in the audit chain — without sockets.

use std::{collections::HashMap, sync::Mutex};

use passerelle_hub_core::store::Store;
use passerelle_protocol::vault::{AccessRefusal, Category};

use super::*;
use crate::{accounts, links};

/// What a fake node does when asked.
#[derive(Clone)]
enum Behaviour {
    Holds(Vec<DocSummary>),
    Refuses(Refusal),
    Down,
    Slow,
    Old,
}

#[derive(Default)]
struct FakeNodes {
    nodes: HashMap<NodeId, Behaviour>,
    asked: Mutex<Vec<(NodeId, Pseudonym)>>,
}

impl FakeNodes {
    fn reply<T>(
        &self,
        node: &NodeId,
        person: Pseudonym,
        found: impl FnOnce(&[DocSummary]) -> Result<T, Refusal>,
    ) -> Result<Result<T, Refusal>, Unavailable> {
        self.asked.lock().unwrap().push((node.clone(), person));
        match self.nodes.get(node) {
            Some(Behaviour::Holds(d)) => Ok(found(d)),
            Some(Behaviour::Refuses(r)) => Ok(Err(r.clone())),
            Some(Behaviour::Old) => Err(Unavailable::Outdated),
            Some(Behaviour::Slow) => Err(Unavailable::TimedOut),
            Some(Behaviour::Down) | None => Err(Unavailable::Unreachable),
        }
    }
}

impl Nodes for FakeNodes {
    type Download = DocSummary;

    fn name(&self, node: &NodeId) -> String {
        format!("Institution {node}")
    }

    async fn documents(
        &self,
        node: &NodeId,
        person: Pseudonym,
        _requester: Requester,
    ) -> Result<Result<Vec<DocSummary>, Refusal>, Unavailable> {
        self.reply(node, person, |d| Ok(d.to_vec()))
    }

    async fn fetch(
        &self,
        node: &NodeId,
        person: Pseudonym,
        document: String,
        _requester: Requester,
    ) -> Result<Result<DocSummary, Refusal>, Unavailable> {
        self.reply(node, person, |d| {
            d.iter()
                .find(|x| x.id == document)
                .cloned()
                .ok_or(Refusal::Access(AccessRefusal::NoSuchDocument))
        })
    }

    fn described(download: &DocSummary) -> &DocSummary {
        download
    }
}

fn doc(id: &str, name: &str) -> DocSummary {
    DocSummary {
        id: id.into(),
        category: Category::Identity,
        name: name.into(),
        mime: "application/pdf".into(),
        size: 100,
        added_at: 1,
        sha256: [7; 32],
    }
}

fn id(s: &str) -> NodeId {
    NodeId::new(s).unwrap()
}

fn hub_key() -> SigningKey {
    let pkcs8 =
        ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new()).unwrap();
    SigningKey::from_pkcs8(pkcs8.as_ref()).unwrap()
}

struct Setup {
    vault: Vault<FakeNodes>,
    person: String,
    _dir: tempfile::TempDir,
}

/// A person linked to `linked`; the fake network knows `nodes`.
fn setup(nodes: &[(&str, Behaviour)], linked: &[&str]) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let store = VaultStore::new(Store::open(&dir.path().join("store")).unwrap());
    let person = accounts::create(&store, "0639000001", "un mot de passe", None, 1)
        .unwrap()
        .account
        .id;
    for node in linked {
        let (code, _) = links::new_code(&store, &person, 1).unwrap();
        links::redeem(&store, &id(node), node, &code, 2).unwrap();
    }
    let fake = FakeNodes {
        nodes: nodes.iter().map(|(n, b)| (id(n), b.clone())).collect(),
        ..FakeNodes::default()
    };
    Setup {
        vault: Vault::new(store, fake, &hub_key(), "https://portail.example/".into()),
        person,
        _dir: dir,
    }
}

/// The person's journal, without the link records of the setup.
fn journal(s: &Setup) -> Vec<(String, String, String)> {
    s.vault
        .store
        .audit_of(&s.person, 100)
        .unwrap()
        .into_iter()
        .filter(|r| r.event.action != Action::Link)
        .map(|r| (r.event.action.to_string(), r.event.subject, r.event.detail))
        .collect()
}

#[tokio::test]
async fn holdings_ask_only_linked_institutions_under_their_own_pseudonym() {
    let s = setup(
        &[
            (
                "caf-976",
                Behaviour::Holds(vec![doc("d1", "attestation.pdf")]),
            ),
            ("cd-976", Behaviour::Holds(vec![doc("d2", "autre.pdf")])),
        ],
        &["caf-976"],
    );
    let h = s.vault.holdings(&s.person, &Requester::Person).await;
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].node, id("caf-976"));
    assert_eq!(h[0].name, "Institution caf-976");
    assert_eq!(h[0].documents.as_ref().unwrap()[0].id, "d1");
    let asked = s.vault.nodes().asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1, "the unlinked institution is never asked");
    let expected = links::pseudonym(&s.vault.store, &s.person, &id("caf-976")).unwrap();
    assert_eq!(asked[0], (id("caf-976"), expected));
    let j = journal(&s);
    assert_eq!(j.len(), 1);
    assert_eq!(j[0].0, "list");
    assert_eq!(j[0].1, "caf-976");
}

#[tokio::test]
async fn failures_are_typed_and_logged_with_a_stable_code() {
    let s = setup(
        &[
            ("caf-976", Behaviour::Down),
            ("cd-976", Behaviour::Old),
            (
                "ft-976",
                Behaviour::Refuses(Refusal::Access(AccessRefusal::NotLinked)),
            ),
        ],
        &["caf-976", "cd-976", "ft-976"],
    );
    let mut h = s.vault.holdings(&s.person, &Requester::Person).await;
    h.sort_by(|a, b| a.node.as_str().cmp(b.node.as_str()));
    let errors: Vec<_> = h.iter().map(|x| x.documents.clone().unwrap_err()).collect();
    assert_eq!(
        errors,
        [
            AccessError::Unreachable,
            AccessError::Outdated,
            AccessError::Refused(Refusal::Access(AccessRefusal::NotLinked)),
        ]
    );
    let mut j = journal(&s);
    j.sort_by(|a, b| a.1.cmp(&b.1));
    assert!(
        j.iter().all(|(action, ..)| action == "list_failed"),
        "{j:?}"
    );
    assert_eq!(j[0].2, "Institution caf-976: unreachable");
    assert_eq!(j[1].2, "Institution cd-976: outdated");
    assert!(j[2].2.starts_with("Institution ft-976: refused: "), "{j:?}");
}

#[tokio::test]
async fn a_node_that_does_not_answer_in_time_is_told_apart_from_an_unreachable_one() {
    let s = setup(&[("caf-976", Behaviour::Slow)], &["caf-976"]);
    let err = s
        .vault
        .open(&s.person, &id("caf-976"), "d1", &Requester::Person)
        .await
        .unwrap_err();
    assert_eq!(err, AccessError::TimedOut);
    let j = journal(&s);
    assert_eq!(j[0].0, "download_refused");
    assert_eq!(j[0].2, "Institution caf-976: timed_out");
}

#[tokio::test]
async fn a_document_of_an_unlinked_institution_is_refused_without_asking_it() {
    let s = setup(
        &[("cd-976", Behaviour::Holds(vec![doc("d2", "autre.pdf")]))],
        &[],
    );
    let err = s
        .vault
        .open(&s.person, &id("cd-976"), "d2", &Requester::Person)
        .await
        .unwrap_err();
    assert_eq!(err, AccessError::NotLinked);
    assert!(s.vault.nodes().asked.lock().unwrap().is_empty());
    let j = journal(&s);
    assert_eq!(j.len(), 1);
    assert_eq!(j[0].0, "download_refused");
    assert_eq!(j[0].1, "cd-976/d2");
    assert_eq!(j[0].2, "Institution cd-976: not_linked");
}

#[tokio::test]
async fn an_opened_document_is_logged_with_its_name() {
    let s = setup(
        &[(
            "caf-976",
            Behaviour::Holds(vec![doc("d1", "attestation.pdf")]),
        )],
        &["caf-976"],
    );
    let got = s
        .vault
        .open(&s.person, &id("caf-976"), "d1", &Requester::Person)
        .await
        .unwrap();
    assert_eq!(got.name, "attestation.pdf");
    let j = journal(&s);
    assert_eq!(j[0].0, "download");
    assert!(j[0].2.ends_with("attestation.pdf"), "{j:?}");
    let missing = s
        .vault
        .open(&s.person, &id("caf-976"), "absent", &Requester::Person)
        .await
        .unwrap_err();
    assert_eq!(
        missing,
        AccessError::Refused(Refusal::Access(AccessRefusal::NoSuchDocument))
    );
    assert_eq!(s.vault.base_url(), "https://portail.example");
}
