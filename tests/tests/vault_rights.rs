//! The person's rights end to end, over real HTTP and QUIC on loopback:
//! unlinking one institution and deleting the account. Afterwards no
//! upload file, link, consent or session remains, the nodes are told to
//! forget the person (one offline at the time, told once it is back), the
//! journal is kept as configured then purged, and every audit chain still
//! verifies.

use std::time::Duration;

use passerelle_hub::admin::{self as hub_admin, Request as HubRequest};
use passerelle_protocol::{audit::Action, ids::NodeId, vault::Pseudonym};
use passerelle_tests::{
    eventually, http,
    vault::{add_partner, create_account, csrf, link, page, partner_session, upload},
    Net,
};
use passerelle_vault::{links::pseudonym, rights};

fn linked(node: &passerelle_node::serve::NodeHandle, p: &Pseudonym) -> bool {
    node.shared().store().local_id(p).unwrap().is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn deleting_an_account_erases_it_and_tells_every_node() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let caf = net.node(&hub, "caf-976").await;
    let cd = net.node(&hub, "cd-976").await;
    let (caf_id, cd_id) = (
        NodeId::new("caf-976").unwrap(),
        NodeId::new("cd-976").unwrap(),
    );
    add_partner(&hub, "ana@caf976.fr", "Ana Madi", &caf_id);
    let _ana = partner_session(&hub, "ana@caf976.fr").await;
    let awa = create_account(&hub, "0639123456", "motdepasse-awa").await;
    link(&hub, &awa, &net.node_dir("caf-976"), "CAF-1").await;
    link(&hub, &awa, &net.node_dir("cd-976"), "CD-1").await;
    let store = &hub.ctx().vault().store;
    let person = store.person_by_login("0639123456").unwrap().unwrap().id;
    let (p_caf, p_cd) = (
        pseudonym(store, &person, &caf_id).unwrap(),
        pseudonym(store, &person, &cd_id).unwrap(),
    );
    assert!(linked(&caf, &p_caf) && linked(&cd, &p_cd));

    // An upload, a consent to the CD over CAF papers, a share to Ana.
    let doc = passerelle_tests::vault::pdf(b"AVIS-DE-SITUATION", 8);
    let status = upload(hub.http_addr, &awa, Some("resources"), "avis.pdf", &doc).await;
    assert_eq!(status, 303);
    let token = csrf(&hub, &awa).await;
    let upload = store.uploads(&person).unwrap().remove(0);
    let fin = passerelle_hub_core::french::day(passerelle_link::now() + 30 * 86400);
    for body in [
        format!("csrf={token}&categorie=resources&qui=inst%3Acd-976&demarche=rsa&fin={fin}"),
        format!(
            "csrf={token}&depot={}&qui=pro%3Aana%40caf976.fr&demarche=rsa&fin={fin}",
            upload.id
        ),
    ] {
        let (status, _, p) = http(
            hub.http_addr,
            "POST",
            "/coffre/partages",
            &[("Cookie", &awa)],
            &body,
        )
        .await;
        assert_eq!(status, 200, "{p}");
    }
    assert!(!store.consents_of(&person).unwrap().is_empty());
    assert_eq!(store.shares_of(&person).unwrap().len(), 1);

    // Unlink the CD: its link ends, the consents given to it end, the
    // node forgets the pseudonym; the CAF stays.
    let (status, account) = page(&hub, &awa, "/coffre/compte").await;
    assert_eq!(status, 200);
    assert!(account.contains("Supprimer mon compte"), "{account}");
    assert!(account.contains("journal"), "{account}");
    let (status, _, p) = http(
        hub.http_addr,
        "POST",
        "/coffre/compte/delier/cd-976",
        &[("Cookie", &awa)],
        &format!("csrf={token}"),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert!(p.contains("n'est plus reliée"), "{p}");
    let now = passerelle_link::now();
    assert!(store
        .consents_of(&person)
        .unwrap()
        .iter()
        .all(|c| !c.active(now)));
    assert_eq!(store.links(&person).unwrap().len(), 1);
    eventually(
        "the CD forgets the person",
        Duration::from_secs(10),
        || async { !linked(&cd, &p_cd) },
    )
    .await;
    assert!(linked(&caf, &p_caf));
    // Its professionals are no longer offered for sharing.
    let (_, form) = page(&hub, &awa, "/coffre/partages").await;
    assert!(
        form.contains("inst:caf-976") && !form.contains("inst:cd-976"),
        "{form}"
    );
    // Linked again (the same record), for the deletion below.
    link(&hub, &awa, &net.node_dir("cd-976"), "CD-1").await;
    assert!(linked(&cd, &p_cd));

    // The CD goes offline; the person deletes the account. A wrong
    // password is refused first.
    cd.stop().await;
    let (status, _, p) = http(
        hub.http_addr,
        "POST",
        "/coffre/compte/supprimer",
        &[("Cookie", &awa)],
        &format!("csrf={token}&mdp=pas-le-bon&confirme=oui"),
    )
    .await;
    assert_eq!(status, 401, "{p}");
    assert!(store.person(&person).unwrap().is_some());
    let (status, _, p) = http(
        hub.http_addr,
        "POST",
        "/coffre/compte/supprimer",
        &[("Cookie", &awa)],
        &format!("csrf={token}&mdp=motdepasse-awa&confirme=oui"),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert!(p.contains("Votre compte est supprimé"), "{p}");

    // Nothing of the account is left in the store or the folder.
    assert!(store.person(&person).unwrap().is_none());
    assert!(store.person_by_login("0639123456").unwrap().is_none());
    assert!(store.uploads(&person).unwrap().is_empty());
    assert!(store.links(&person).unwrap().is_empty());
    assert!(store.consents_of(&person).unwrap().is_empty());
    assert!(store
        .all_consents()
        .unwrap()
        .iter()
        .all(|c| c.person != person));
    assert!(store.all_shares().unwrap().is_empty());
    let uploads_dir = net.hub_dir().join("vault").join("uploads");
    let left: Vec<_> = std::fs::read_dir(&uploads_dir).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
    // Its session is closed.
    let (status, _, _) = http(
        hub.http_addr,
        "GET",
        "/coffre/compte",
        &[("Cookie", &awa)],
        "",
    )
    .await;
    assert_ne!(status, 200);
    assert!(hub
        .ctx()
        .portal
        .person_sessions
        .get(awa.split_once('=').unwrap().1, passerelle_link::now())
        .is_none());

    // The CAF, online, is told at once; the CD when it is back.
    eventually(
        "the CAF forgets the person",
        Duration::from_secs(10),
        || async { !linked(&caf, &p_caf) },
    )
    .await;
    assert_eq!(store.forgets_for(&cd_id).unwrap(), vec![p_cd.clone()]);
    let cd = passerelle_node::serve::start(&net.node_dir("cd-976"))
        .await
        .unwrap();
    eventually(
        "the CD forgets the person once back",
        Duration::from_secs(20),
        || async { !linked(&cd, &p_cd) && store.forgets_for(&cd_id).unwrap().is_empty() },
    )
    .await;
    assert!(store.all_forgets().unwrap().is_empty());
    // The nodes' chains record it and verify.
    for root in [net.node_dir("caf-976"), net.node_dir("cd-976")] {
        let report = passerelle_node::admin::audit_report(&root).await.unwrap();
        assert!(report.check.is_ok(), "{:?}", report.check);
        assert!(report
            .records
            .iter()
            .any(|r| r.event.action == Action::Unlink));
    }

    // The journal is kept as configured, then purged by the sweep; the
    // hub's chain verifies throughout.
    let retention = rights::Retention::of(&hub.ctx().hub.config.vault);
    let journal = store.audit_of(&person, 500).unwrap();
    assert!(journal
        .iter()
        .any(|r| r.event.action == Action::AccountDelete));
    let vault_dir = net.hub_dir().join("vault");
    let deleted_at = store.erased(&person).unwrap().unwrap().deleted_at;
    let before = deleted_at + retention.journal_days * 86400 - 1;
    let swept = rights::sweep(&vault_dir, store, &retention, before).unwrap();
    assert_eq!(swept.journals_purged, 0);
    assert_eq!(store.audit_of(&person, 500).unwrap().len(), journal.len());
    let swept = rights::sweep(&vault_dir, store, &retention, before + 1).unwrap();
    assert_eq!(swept.journals_purged, 1);
    assert!(store.audit_of(&person, 500).unwrap().is_empty());
    let check = hub_admin::request(&net.hub_dir(), HubRequest::AuditVerify)
        .await
        .unwrap();
    assert!(
        matches!(check, hub_admin::Response::AuditCheck(Ok(_))),
        "{check:?}"
    );

    caf.stop().await;
    cd.stop().await;
    hub.stop().await;
}
