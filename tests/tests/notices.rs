//! Deposits by institutions and the notices persons ask for, end to end:
//! a real hub and node on loopback, the portal over HTTP, and a real SMTP
//! server (aiosmtpd) receiving the mail.

use std::time::Duration;

use passerelle_config::{MailConfig, MailTls};
use passerelle_protocol::{audit, ids::NodeId};
use passerelle_tests::{
    eventually, hidden_field, http, set_cookie,
    smtp::SmtpServer,
    vault::{
        add_document, add_partner, ask_code, code_in, csrf, enter_code, link, page,
        partner_session, pdf,
    },
    Net,
};

const PASSWORD: &str = "un-mot-de-passe";

/// Creates an account with the code mailed to `email`; the session cookie.
async fn mailed_account(addr: std::net::SocketAddr, smtp: &SmtpServer, email: &str) -> String {
    let before = smtp.messages_to(email).len();
    let (step, p) = ask_code(addr, email).await;
    let mails = smtp.wait_for(email, before + 1).await;
    let code = mails
        .iter()
        .find_map(|m| code_in(&m[m.find("\n\n").unwrap_or(0)..]))
        .expect("a code in the mail");
    let (status, h, p) = enter_code(addr, &step, &p, &code, PASSWORD).await;
    assert_eq!(status, 200, "{p}");
    format!("pv_session={}", set_cookie(&h, "pv_session").unwrap())
}

/// The text part of the mails to `to` (after the headers).
fn bodies(smtp: &SmtpServer, to: &str) -> Vec<String> {
    smtp.messages_to(to)
        .into_iter()
        .map(|m| m[m.find("\n\n").unwrap_or(0)..].to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deposit_shows_at_once_and_deposits_views_and_ending_consents_are_mailed_once() {
    let net = Net::new();
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(dir.path()).await;
    net.configure(|c| {
        c.messages.danger_show_codes = false;
        c.messages.interval = Duration::from_secs(1);
        c.mail = Some(MailConfig {
            smtp: smtp.addr.to_string(),
            from: "Passerelle <ne-pas-repondre@passerelle.test>".into(),
            tls: MailTls::None,
            user: None,
            password_file: None,
        });
    });
    let hub = net.start_hub(None).await;
    let addr = hub.http_addr;
    let _caf = net.node(&hub, "caf-976").await;
    let caf_root = net.node_dir("caf-976");
    let caf_id = NodeId::new("caf-976").unwrap();
    let caf_name = hub.ctx().fed.node_name(&caf_id);
    add_partner(&hub, "ana@caf976.fr", "Ana Madi", &caf_id);
    let files = tempfile::tempdir().unwrap();

    // Awa asks for notices; Zoe does not. Both are linked at the CAF.
    let awa = mailed_account(addr, &smtp, "awa@example.fr").await;
    let zoe = mailed_account(addr, &smtp, "zoe@example.fr").await;
    let (_, settings) = page(&hub, &awa, "/coffre/compte").await;
    assert!(settings.contains("M'avertir"), "{settings}");
    let token = hidden_field(&settings, "csrf").unwrap();
    let (status, _, p) = http(
        addr,
        "POST",
        "/coffre/compte",
        &[("Cookie", &awa)],
        &format!("csrf={token}&avis=oui"),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert!(p.contains("Vos choix sont enregistrés"), "{p}");
    link(&hub, &awa, &caf_root, "CAF-123").await;
    link(&hub, &zoe, &caf_root, "CAF-456").await;

    // The CAF deposits a document for each at its node: Awa sees hers at
    // once, among the CAF's documents.
    let marker = b"QUITTANCE-SECRETE-7d1e";
    let doc = add_document(
        &caf_root,
        files.path(),
        "CAF-123",
        "social-rights",
        "quittance-secrete.pdf",
        &pdf(marker, 2),
    )
    .await;
    add_document(
        &caf_root,
        files.path(),
        "CAF-456",
        "social-rights",
        "pour-zoe.pdf",
        &pdf(b"zoe", 2),
    )
    .await;
    let (status, home) = page(&hub, &awa, "/coffre").await;
    assert_eq!(status, 200);
    let caf_at = home.find(&caf_name).expect("the CAF's heading");
    let doc_at = home
        .find("quittance-secrete.pdf")
        .expect("the deposit listed");
    assert!(doc_at > caf_at, "listed under the CAF: {home}");
    assert!(!home.contains("pour-zoe.pdf"));

    // (a) Awa is mailed that a document arrived, without its name.
    eventually("the deposit notice", Duration::from_secs(20), || async {
        bodies(&smtp, "awa@example.fr")
            .iter()
            .any(|b| b.contains("un nouveau document de"))
    })
    .await;
    // (b) and (c): she lets Ana (CAF) see it until tomorrow; Ana opens it.
    let token = csrf(&hub, &awa).await;
    let tomorrow = passerelle_link::output::time(Some(passerelle_link::now() + 86_400));
    let form = format!(
        "csrf={token}&doc=caf-976%7C{doc}&qui=pro%3Aana%40caf976.fr&demarche=rsa&autre=&fin={}",
        &tomorrow[..10]
    );
    let (status, _, p) = http(addr, "POST", "/coffre/partages", &[("Cookie", &awa)], &form).await;
    assert_eq!(status, 200, "{p}");
    let person = hub
        .ctx()
        .vault()
        .store
        .person_by_login("awa@example.fr")
        .unwrap()
        .unwrap()
        .id;
    let cid = hub.ctx().vault().store.consents_of(&person).unwrap()[0]
        .consent
        .id
        .clone();
    let ana = partner_session(&hub, "ana@caf976.fr").await;
    let (status, _, _) = http(
        addr,
        "GET",
        &format!("/partenaires/coffre/{cid}/caf-976/{doc}"),
        &[("Cookie", &ana)],
        "",
    )
    .await;
    assert_eq!(status, 200);
    eventually(
        "the view and consent-ending notices",
        Duration::from_secs(20),
        || async {
            let b = bodies(&smtp, "awa@example.fr");
            b.iter().any(|b| b.contains("a ouvert un document"))
                && b.iter().any(|b| b.contains("se termine le"))
        },
    )
    .await;

    // Each was sent once: a round that ran after them all sends nothing
    // more. A record written now is read by the next round; once the
    // chain's cursor passed it, that round is over.
    let store = hub.ctx().vault().store.clone();
    eventually("every notice done", Duration::from_secs(20), || async {
        store
            .notices()
            .unwrap()
            .iter()
            .all(|(_, o)| o.done_at.is_some() && !o.gave_up)
    })
    .await;
    let sent = bodies(&smtp, "awa@example.fr");
    // Two rounds: the second starts after the first one's sending ended.
    for _ in 0..2 {
        assert!(hub.ctx().vault().log(audit::Event {
            actor: audit::Actor::Hub,
            action: audit::Action::Other("test-mark".into()),
            person: None,
            subject: "-".into(),
            procedure: None,
            detail: String::new(),
        }));
        let end = store.audit_end().unwrap();
        eventually("a later round", Duration::from_secs(20), || async {
            store.notice_cursor("audit").unwrap().unwrap_or(0) >= end
        })
        .await;
    }
    let after = bodies(&smtp, "awa@example.fr");
    assert_eq!(after.len(), sent.len(), "a notice was sent twice");
    // Code, deposit, view, consent ending: four mails, none naming the
    // document.
    assert_eq!(after.len(), 4, "{after:#?}");
    for b in &after {
        assert!(!b.contains("quittance"), "a notice names the document: {b}");
    }
    assert!(after.iter().any(|b| b.contains(&caf_name)), "{after:#?}");
    // Zoe asked for nothing: only her code.
    assert_eq!(bodies(&smtp, "zoe@example.fr").len(), 1);
    // The deposit is in Awa's journal.
    let (_, journal) = page(&hub, &awa, "/coffre/journal").await;
    assert!(journal.contains("document ajouté"), "{journal}");
    hub.stop().await;
}
