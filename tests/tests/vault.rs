//! The digital vault end to end: a real hub and two institution nodes on
//! loopback, the portal over real HTTP.

use std::{path::Path, time::Duration};

use passerelle_hub::server::HubHandle;
use passerelle_node::admin as node_admin;
use passerelle_protocol::{
    ids::NodeId,
    message::Refusal,
    vault::{AccessRefusal, Consent, Grantee, Pseudonym, Requester, Scope, SignedConsent},
};
use passerelle_tests::{
    hidden_field, http, http_bytes, multipart, set_cookie,
    vault::{add_document, create_account, csrf, link, page, pdf},
    Net,
};
use passerelle_vault as vault;

const MARKER: &[u8] = b"ATTESTATION-CAF-PLAINTEXT-4f9c2e";

fn jpeg() -> Vec<u8> {
    let mut j = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0, 0xFF, 0xC0, 0, 11, 8, 0, 2, 0, 2, 3, 1, 0x11, 0,
    ];
    j.extend_from_slice(b"photo du livret de famille");
    j.extend_from_slice(&[0xFF, 0xD9]);
    j
}

async fn node_audit(root: &Path) -> node_admin::AuditReport {
    node_admin::audit_report(root).await.unwrap()
}

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let kind = std::fs::symlink_metadata(&p).unwrap().file_type();
        if kind.is_dir() {
            files_under(&p, out);
        } else if kind.is_file() {
            out.push(p);
        }
    }
}

/// Asks the node directly, as the hub would, with a requester of our
/// making: this checks the node's own refusals, not the hub's.
async fn node_fetch(
    hub: &HubHandle,
    node: &str,
    person: &Pseudonym,
    doc: &str,
    requester: Requester,
) -> Result<Vec<u8>, Refusal> {
    let live = hub
        .live(&NodeId::new(node).unwrap())
        .expect("node connected");
    match passerelle_hub_core::federation::fetch(
        &live,
        &hub.ctx().hub.key,
        person.clone(),
        doc.into(),
        requester,
        Duration::from_secs(10),
        Duration::from_secs(10),
    )
    .await
    .expect("exchange")
    {
        Ok(incoming) => Ok(incoming.read_all().await.expect("whole document")),
        Err(r) => Err(r),
    }
}

fn professional(inst: &str, account: &str, consent: &SignedConsent) -> Requester {
    Requester::Professional {
        institution: NodeId::new(inst).unwrap(),
        account: account.into(),
        consent: consent.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn link_list_download_consent_duplicate_and_audit_across_two_nodes() {
    let net = Net::new();
    // Damages or restores the hub's sled store itself.
    net.use_sled();
    let hub = net.start_hub(None).await;
    let caf = net.node(&hub, "caf-976").await;
    let cd = net.node(&hub, "cd-976").await;
    let (caf_root, cd_root) = (net.node_dir("caf-976"), net.node_dir("cd-976"));
    let files = tempfile::tempdir().unwrap();
    let ctx = hub.ctx().clone();
    let cd_id = NodeId::new("cd-976").unwrap();
    passerelle_hub_core::partners::add(&ctx.hub, "ana@cd976.fr", "Ana Madi", &cd_id, 0).unwrap();
    passerelle_hub_core::partners::add(&ctx.hub, "bob@cd976.fr", "Bob Ali", &cd_id, 0).unwrap();

    // Two persons; the first is linked at both institutions, the second at one.
    let awa = create_account(&hub, "0639123456", "motdepasse-awa").await;
    let other = create_account(&hub, "0639654321", "motdepasse-zoe").await;
    link(&hub, &awa, &caf_root, "CAF-123").await;
    link(&hub, &awa, &cd_root, "CD-55").await;
    link(&hub, &other, &caf_root, "CAF-999").await;

    let attestation = pdf(MARKER, 300); // several sealed chunks
    let att_id = add_document(
        &caf_root,
        files.path(),
        "CAF-123",
        "social-rights",
        "attestation-caf.pdf",
        &attestation,
    )
    .await;
    let payslip = pdf(b"bulletin", 2);
    let slip_id = add_document(
        &caf_root,
        files.path(),
        "CAF-123",
        "resources",
        "bulletin.pdf",
        &payslip,
    )
    .await;
    let photo = jpeg();
    let photo_id = add_document(
        &cd_root,
        files.path(),
        "CD-55",
        "family",
        "livret.jpg",
        &photo,
    )
    .await;
    let zoe_doc = add_document(
        &caf_root,
        files.path(),
        "CAF-999",
        "identity",
        "zoe.pdf",
        &pdf(b"zoe", 1),
    )
    .await;

    // The vault lists the documents of both institutions.
    let (status, home) = page(&hub, &awa, "/coffre").await;
    assert_eq!(status, 200);
    for needle in [
        "Institution caf-976",
        "Institution cd-976",
        "attestation-caf.pdf",
        "bulletin.pdf",
        "livret.jpg",
        "Attestation de droits sociaux",
    ] {
        assert!(home.contains(needle), "{needle} missing: {home}");
    }
    assert!(
        !home.contains("zoe.pdf"),
        "another person's document listed"
    );

    // Downloads are equal byte for byte.
    for (node, id, bytes) in [
        ("caf-976", &att_id, &attestation),
        ("cd-976", &photo_id, &photo),
    ] {
        let (status, h, body) = http_bytes(
            hub.http_addr,
            "GET",
            &format!("/coffre/institution/{node}/{id}"),
            &[("Cookie", &awa)],
            b"",
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(&body, bytes, "download of {id} differs");
        assert!(h
            .iter()
            .any(|(k, v)| k == "cache-control" && v == "no-store"));
    }
    // Changing an id in the URL does not show another person's document.
    let (status, _, body) = http(
        hub.http_addr,
        "GET",
        &format!("/coffre/institution/caf-976/{zoe_doc}"),
        &[("Cookie", &awa)],
        "",
    )
    .await;
    assert_eq!(status, 404);
    assert!(body.contains("ne vous concerne pas"), "{body}");
    let (status, _, _) = http(
        hub.http_addr,
        "GET",
        &format!("/coffre/institution/caf-976/{att_id}"),
        &[("Cookie", &other)],
        "",
    )
    .await;
    assert_eq!(status, 404);
    // Without a session: back to the start.
    let (status, _, _) = http(
        hub.http_addr,
        "GET",
        &format!("/coffre/institution/caf-976/{att_id}"),
        &[],
        "",
    )
    .await;
    assert_eq!(status, 303);

    // Nothing on the node's disk reads as the document.
    let mut all = Vec::new();
    files_under(&caf_root, &mut all);
    assert!(all
        .iter()
        .any(|p| p.extension().is_some_and(|e| e == "sealed")));
    for p in &all {
        let bytes = std::fs::read(p).unwrap();
        assert!(
            !bytes.windows(MARKER.len()).any(|w| w == MARKER),
            "plaintext found in {}",
            p.display()
        );
    }

    // Awa grants Ana (CD) her CAF attestation, for the RSA, over the portal.
    let token = csrf(&hub, &awa).await;
    let form = format!("csrf={token}&doc=caf-976%7C{att_id}&qui=pro%3Aana%40cd976.fr&demarche=rsa&autre=&fin=2099-12-31");
    let (status, _, p) = http(
        hub.http_addr,
        "POST",
        "/coffre/partages",
        &[("Cookie", &awa)],
        &form,
    )
    .await;
    assert!(
        status == 400 && p.contains("un an au plus"),
        "a consent is one year at most: {p}"
    );
    let until = passerelle_link::output::time(Some(passerelle_link::now() + 10 * 86400));
    let form = format!(
        "csrf={token}&doc=caf-976%7C{att_id}&qui=pro%3Aana%40cd976.fr&demarche=rsa&autre=&fin={}",
        &until[..10]
    );
    let (status, _, p) = http(
        hub.http_addr,
        "POST",
        "/coffre/partages",
        &[("Cookie", &awa)],
        &form,
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert!(
        p.contains("Ana Madi") && p.contains("Revenu de solidarité active"),
        "{p}"
    );
    let consents = ctx
        .vault()
        .store
        .consents_of(
            &ctx.vault()
                .store
                .person_by_login("0639123456")
                .unwrap()
                .unwrap()
                .id,
        )
        .unwrap();
    assert_eq!(consents.len(), 1);
    let granted = consents[0].clone();
    assert_eq!(granted.consent.holder.as_str(), "caf-976");

    // Ana signs in to the partner space and downloads it.
    let ana = partner_session(&hub, "ana@cd976.fr").await;
    let (status, shared) = page(&hub, &ana, "/partenaires/coffre").await;
    assert_eq!(status, 200);
    assert!(
        shared.contains("0639123456") && shared.contains("Revenu de solidarité active"),
        "{shared}"
    );
    let cid = &granted.consent.id;
    let (status, docs) = page(&hub, &ana, &format!("/partenaires/coffre/{cid}")).await;
    assert_eq!(status, 200);
    assert!(
        docs.contains("attestation-caf.pdf") && !docs.contains("bulletin.pdf"),
        "only the consented document is listed: {docs}"
    );
    let (status, _, body) = http_bytes(
        hub.http_addr,
        "GET",
        &format!("/partenaires/coffre/{cid}/caf-976/{att_id}"),
        &[("Cookie", &ana)],
        b"",
    )
    .await;
    assert_eq!((status, body == attestation), (200, true));
    // Not the other document, not with Bob's session.
    let (status, _, _) = http(
        hub.http_addr,
        "GET",
        &format!("/partenaires/coffre/{cid}/caf-976/{slip_id}"),
        &[("Cookie", &ana)],
        "",
    )
    .await;
    assert_eq!(status, 403);
    let bob = partner_session(&hub, "bob@cd976.fr").await;
    let (status, _, _) = http(
        hub.http_addr,
        "GET",
        &format!("/partenaires/coffre/{cid}/caf-976/{att_id}"),
        &[("Cookie", &bob)],
        "",
    )
    .await;
    assert_eq!(status, 403);

    // A professional may hand a reset code only to a person their
    // institution linked: Ana (CD) for Awa (linked at CD), not for Zoe.
    let (_, pro_home) = page(&hub, &ana, "/partenaires/coffre").await;
    let pro_csrf = hidden_field(&pro_home, "csrf").unwrap();
    let (status, _, p) = http(
        hub.http_addr,
        "POST",
        "/partenaires/coffre/code",
        &[("Cookie", &ana)],
        &format!("csrf={pro_csrf}&identifiant=0639654321"),
    )
    .await;
    assert_eq!(status, 403, "{p}");
    assert!(p.contains("ne peut pas lui donner de code"), "{p}");
    let (status, _, p) = http(
        hub.http_addr,
        "POST",
        "/partenaires/coffre/code",
        &[("Cookie", &ana)],
        &format!("csrf={pro_csrf}&identifiant=0639123456"),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert!(p.contains("Code à donner à la personne"), "{p}");

    // The node itself refuses whatever the hub might forward.
    let awa_id = ctx
        .vault()
        .store
        .person_by_login("0639123456")
        .unwrap()
        .unwrap()
        .id;
    let p_caf = vault::links::pseudonym(
        &ctx.vault().store,
        &awa_id,
        &NodeId::new("caf-976").unwrap(),
    )
    .unwrap();
    let signed = &granted.signed;
    assert_eq!(
        node_fetch(
            &hub,
            "caf-976",
            &p_caf,
            &att_id,
            professional("cd-976", "ana@cd976.fr", signed)
        )
        .await
        .unwrap(),
        attestation
    );
    let refused = |r: Result<Vec<u8>, Refusal>| match r {
        Err(Refusal::Access(a)) => a,
        other => panic!(
            "expected an access refusal, got {:?}",
            other.map(|b| b.len())
        ),
    };
    // A consent for another document.
    assert_eq!(
        refused(
            node_fetch(
                &hub,
                "caf-976",
                &p_caf,
                &slip_id,
                professional("cd-976", "ana@cd976.fr", signed)
            )
            .await
        ),
        AccessRefusal::OutOfScope
    );
    // Presented by another grantee.
    assert_eq!(
        refused(
            node_fetch(
                &hub,
                "caf-976",
                &p_caf,
                &att_id,
                professional("cd-976", "bob@cd976.fr", signed)
            )
            .await
        ),
        AccessRefusal::OtherGrantee
    );
    // No consent of the hub's making (signed by another key).
    let rogue = {
        let doc = ring::signature::Ed25519KeyPair::generate_pkcs8(&ring::rand::SystemRandom::new())
            .unwrap();
        let key = passerelle_protocol::sign::SigningKey::from_pkcs8(doc.as_ref()).unwrap();
        SignedConsent::sign(&granted.consent, &key).unwrap()
    };
    assert_eq!(
        refused(
            node_fetch(
                &hub,
                "caf-976",
                &p_caf,
                &att_id,
                professional("cd-976", "ana@cd976.fr", &rogue)
            )
            .await
        ),
        AccessRefusal::BadSignature
    );
    // An expired consent, though signed by the hub.
    let now = passerelle_link::now();
    let expired = Consent {
        id: "e".repeat(32),
        holder: NodeId::new("caf-976").unwrap(),
        person: p_caf.clone(),
        grantee: Grantee::Institution(cd_id.clone()),
        scope: Scope::Documents(vec![att_id.clone()]),
        procedure: "logement".into(),
        issued_at: now - 100,
        not_before: now - 100,
        not_after: now - 10,
    };
    let expired = SignedConsent::sign(&expired, &ctx.hub.key).unwrap();
    assert_eq!(
        refused(
            node_fetch(
                &hub,
                "caf-976",
                &p_caf,
                &att_id,
                professional("cd-976", "ana@cd976.fr", &expired)
            )
            .await
        ),
        AccessRefusal::Expired
    );
    // A consent is for one person: Awa's cannot open Zoe's document.
    let zoe_id = ctx
        .vault()
        .store
        .person_by_login("0639654321")
        .unwrap()
        .unwrap()
        .id;
    let p_zoe = vault::links::pseudonym(
        &ctx.vault().store,
        &zoe_id,
        &NodeId::new("caf-976").unwrap(),
    )
    .unwrap();
    assert_eq!(
        refused(
            node_fetch(
                &hub,
                "caf-976",
                &p_zoe,
                &zoe_doc,
                professional("cd-976", "ana@cd976.fr", signed)
            )
            .await
        ),
        AccessRefusal::OtherPerson
    );

    // Awa revokes in one click; the next request stops, at the hub and at the node.
    let (status, _, p) = http(
        hub.http_addr,
        "POST",
        &format!("/coffre/partages/{cid}/retirer"),
        &[("Cookie", &awa)],
        &format!("csrf={token}"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(p.contains("Retirée le"), "{p}");
    let (status, _, _) = http(
        hub.http_addr,
        "GET",
        &format!("/partenaires/coffre/{cid}/caf-976/{att_id}"),
        &[("Cookie", &ana)],
        "",
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(
        refused(
            node_fetch(
                &hub,
                "caf-976",
                &p_caf,
                &att_id,
                professional("cd-976", "ana@cd976.fr", signed)
            )
            .await
        ),
        AccessRefusal::Revoked
    );

    // Every refusal is in the node's chain, which still checks.
    let report = node_audit(&caf_root).await;
    let head = report.check.clone().expect("node chain intact");
    let refusals: Vec<&str> = report
        .records
        .iter()
        .filter(|r| r.event.action == passerelle_protocol::audit::Action::DownloadRefused)
        .map(|r| r.event.detail.as_str())
        .collect();
    for why in [
        "outside the consent",
        "someone else",
        "signature",
        "expired",
        "another person",
        "revoked",
        "no such document",
    ] {
        assert!(
            refusals.iter().any(|d| d.contains(why)),
            "no logged refusal saying {why:?}: {refusals:?}"
        );
    }
    assert!(report.records.iter().any(|r| r.event.action
        == passerelle_protocol::audit::Action::Download
        && r.event.actor.to_string() == "professional:ana@cd976.fr@cd-976"
        && r.event.procedure.as_deref() == Some("rsa")));

    // The person sees who saw what, when, for which procedure.
    let (_, journal) = page(&hub, &awa, "/coffre/journal").await;
    assert!(
        journal.contains("Ana Madi (Institution cd-976)")
            && journal.contains("a ouvert")
            && journal.contains("Revenu de solidarité active"),
        "{journal}"
    );
    assert!(journal.contains("autorisation retirée"), "{journal}");

    // A verifiable copy verifies; a modified one does not.
    let (status, h, copy) = http_bytes(
        hub.http_addr,
        "POST",
        &format!("/coffre/copie/caf-976/{att_id}"),
        &[("Cookie", &awa)],
        format!("csrf={token}").as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        copy.starts_with(b"%PDF-") && copy.windows(attestation.len()).any(|w| w == attestation),
        "the original travels inside the copy"
    );
    let disposition = h
        .iter()
        .find(|(k, _)| k == "content-disposition")
        .unwrap()
        .1
        .clone();
    let code = disposition
        .split("copie-verifiable-")
        .nth(1)
        .unwrap()
        .split(".pdf")
        .next()
        .unwrap()
        .to_string();
    let (status, public) = page(&hub, "", &format!("/verifier/{code}")).await;
    assert_eq!(status, 200);
    assert!(
        public.contains("Institution caf-976")
            && !public.contains("0639123456")
            && !public.contains("attestation-caf"),
        "{public}"
    );
    let verify = |bytes: Vec<u8>| {
        let code = code.clone();
        let addr = hub.http_addr;
        async move {
            let (ct, body) = multipart(&[("copie", Some("copie.pdf"), &bytes)]);
            let (s, _, b) = http_bytes(
                addr,
                "POST",
                &format!("/verifier/{code}"),
                &[("Content-Type", &ct)],
                &body,
            )
            .await;
            (s, String::from_utf8_lossy(&b).into_owned())
        }
    };
    let (_, ok) = verify(copy.clone()).await;
    assert!(ok.contains("Authentique"), "{ok}");
    let mut forged = copy.clone();
    let at = forged
        .windows(MARKER.len())
        .position(|w| w == MARKER)
        .unwrap();
    forged[at] ^= 0x20;
    let (_, ko) = verify(forged).await;
    assert!(
        ko.contains("Non conforme") && !ko.contains("Authentique"),
        "{ko}"
    );
    let (status, unknown) = page(&hub, "", "/verifier/AAAA-AAAA-AAAA").await;
    assert_eq!(status, 404, "{unknown}");

    // The hub's chain checks; an edited record is found, at hub and node.
    let hub_head = ctx
        .vault()
        .store
        .audit_verify()
        .unwrap()
        .expect("hub chain intact");
    assert!(hub_head.records > 10);
    drop(ctx);
    caf.stop().await;
    cd.stop().await;
    hub.stop().await;
    tamper(&caf_root.join("store"), "audit", 3);
    let report = node_audit(&caf_root).await;
    assert_eq!(report.check.unwrap_err().seq, 3);
    assert!(head.records > 3);
    tamper(&net.hub_dir().join("store"), "vault_audit", 5);
    let hub_ctl =
        passerelle_hub::admin::request(&net.hub_dir(), passerelle_hub::admin::Request::AuditVerify)
            .await
            .unwrap();
    match hub_ctl {
        passerelle_hub::admin::Response::AuditCheck(Err(broken)) => assert_eq!(broken.seq, 5),
        other => panic!("{other:?}"),
    }
}

/// Edits the event of one audit record in place, keeping its hash.
fn tamper(store: &Path, tree: &str, seq: u64) {
    let db = passerelle_tests::open_raw_store(store);
    let t = db.open_tree(tree).unwrap();
    let raw = t.get(seq.to_be_bytes()).unwrap().expect("record exists");
    let mut r: passerelle_protocol::audit::Record =
        passerelle_protocol::codec::decode(&raw).unwrap();
    r.event.detail.push_str(" (edited)");
    t.insert(
        seq.to_be_bytes(),
        passerelle_protocol::codec::encode(&r).unwrap(),
    )
    .unwrap();
    db.flush().unwrap();
}

async fn partner_session(hub: &HubHandle, email: &str) -> String {
    // Accounts get a random first password: set a known one for the test.
    let ctx = hub.ctx();
    let mut a = ctx.hub.store.account(email).unwrap().unwrap();
    a.password_hash = passerelle_hub_core::partners::hash_password("mot-de-passe-pro").unwrap();
    a.must_change_password = false;
    ctx.hub.store.put_account(&a).unwrap();
    let (_, h, p) = http(hub.http_addr, "GET", "/partenaires/connexion", &[], "").await;
    let jar = format!("pl_login={}", set_cookie(&h, "pl_login").unwrap());
    let csrf = hidden_field(&p, "csrf").unwrap();
    let body = format!(
        "email={}&password=mot-de-passe-pro&csrf={csrf}",
        email.replace('@', "%40")
    );
    let (status, h, p) = http(
        hub.http_addr,
        "POST",
        "/partenaires/connexion",
        &[("Cookie", &jar)],
        &body,
    )
    .await;
    assert_eq!(status, 303, "{p}");
    format!("pl_session={}", set_cookie(&h, "pl_session").unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_uploads_are_refused_in_french_and_nothing_is_stored() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let awa = create_account(&hub, "awa@exemple.fr", "motdepasse-awa").await;
    let token = csrf(&hub, &awa).await;
    let upload = |name: &'static str, bytes: Vec<u8>| {
        let (addr, cookie, token) = (hub.http_addr, awa.clone(), token.clone());
        async move {
            let (ct, body) = multipart(&[
                ("csrf", None, token.as_bytes()),
                ("type", None, b"housing"),
                ("fichier", Some(name), &bytes),
            ]);
            let (s, _, b) = http_bytes(
                addr,
                "POST",
                "/coffre/depots",
                &[("Cookie", &cookie), ("Content-Type", &ct)],
                &body,
            )
            .await;
            (s, String::from_utf8_lossy(&b).into_owned())
        }
    };
    let person = hub
        .ctx()
        .vault()
        .store
        .person_by_login("awa@exemple.fr")
        .unwrap()
        .unwrap()
        .id;
    let good = pdf(b"QUITTANCE-LOYER-PLAINTEXT", 40);
    for (name, bytes, says) in [
        ("notes.pdf", b"just some text".to_vec(), "ni un PDF"),
        ("vide.pdf", Vec::new(), "vide"),
        ("photo.jpg", good.clone(), "contenu est un PDF"),
        ("gros.pdf", pdf(b"x", 11 * 1024), "trop gros"),
        ("coupe.pdf", good[..good.len() - 10].to_vec(), "incomplet"),
    ] {
        let (status, page) = upload(name, bytes).await;
        assert!((400..500).contains(&status), "{name}: {status}");
        assert!(page.contains(says), "{name}: expected {says:?} in {page}");
        assert!(
            hub.ctx().vault().store.uploads(&person).unwrap().is_empty(),
            "{name} stored"
        );
        let dir = net.hub_dir().join("vault").join("uploads");
        assert!(
            !dir.exists() || std::fs::read_dir(&dir).unwrap().next().is_none(),
            "{name} left a file"
        );
    }
    // Without the session's token: refused, nothing stored.
    let (ct, body) = multipart(&[("csrf", None, b"forged"), ("fichier", Some("q.pdf"), &good)]);
    let (status, _, _) = http_bytes(
        hub.http_addr,
        "POST",
        "/coffre/depots",
        &[("Cookie", &awa), ("Content-Type", &ct)],
        &body,
    )
    .await;
    assert_eq!(status, 403);

    // A good one is sealed on disk, reads back, exports, and deletes for good.
    // Its body is random bytes, which no compression shrinks: any 64 bytes
    // of it found in any file of the hub's folder is plaintext at rest.
    let mut noise = vec![0u8; 8 * 1024];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut noise).unwrap();
    let good = [b"%PDF-1.4\n".as_slice(), &noise, b"\n%%EOF\n"].concat();
    let (status, _) = upload("quittance.pdf", good.clone()).await;
    assert_eq!(status, 303);
    let ups = hub.ctx().vault().store.uploads(&person).unwrap();
    assert_eq!(ups.len(), 1);
    let windows: std::collections::HashSet<&[u8]> = noise.windows(64).collect();
    let mut all = Vec::new();
    files_under(&net.hub_dir(), &mut all);
    assert!(all
        .iter()
        .any(|p| p.starts_with(net.hub_dir().join("vault").join("uploads"))));
    for p in &all {
        let b = std::fs::read(p).unwrap();
        assert!(
            !b.windows(64).any(|w| windows.contains(w)),
            "plaintext in {}",
            p.display()
        );
    }

    // Another person cannot read or delete it by its id.
    let bob = create_account(&hub, "bob@exemple.fr", "motdepasse-bob").await;
    let bob_token = csrf(&hub, &bob).await;
    let (status, _, got) = http_bytes(
        hub.http_addr,
        "GET",
        &format!("/coffre/depots/{}", ups[0].id),
        &[("Cookie", &bob)],
        b"",
    )
    .await;
    assert_eq!(status, 404);
    assert!(!got.windows(64).any(|w| windows.contains(w)));
    let (status, _, _) = http(
        hub.http_addr,
        "POST",
        &format!("/coffre/depots/{}/supprimer", ups[0].id),
        &[("Cookie", &bob)],
        &format!("csrf={bob_token}"),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(hub.ctx().vault().store.uploads(&person).unwrap().len(), 1);
    let (status, _, back) = http_bytes(
        hub.http_addr,
        "GET",
        &format!("/coffre/depots/{}", ups[0].id),
        &[("Cookie", &awa)],
        b"",
    )
    .await;
    assert_eq!((status, back == good), (200, true));
    let (status, _, zip) = http_bytes(
        hub.http_addr,
        "GET",
        "/coffre/export",
        &[("Cookie", &awa)],
        b"",
    )
    .await;
    assert_eq!(status, 200);
    let path = net.tmp.path().join("export.zip");
    std::fs::write(&path, &zip).unwrap();
    let out = std::process::Command::new("python3")
        .args(["-c", "import sys,zipfile,json; z=zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; m=json.loads(z.read('manifeste.json')); print(len(m['documents'])); sys.stdout.buffer.write(z.read('mes-depots/quittance.pdf')[:9])"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "1\n%PDF-1.4\n");
    let (status, _, page) = http(
        hub.http_addr,
        "POST",
        &format!("/coffre/depots/{}/supprimer", ups[0].id),
        &[("Cookie", &awa)],
        &format!("csrf={token}"),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(hub.ctx().vault().store.uploads(&person).unwrap().is_empty());
    assert!(
        std::fs::read_dir(net.hub_dir().join("vault").join("uploads"))
            .unwrap()
            .next()
            .is_none(),
        "deleted file still on disk"
    );
    hub.stop().await;
}
