//! The vault's limits end to end, over real HTTP on loopback: consent
//! scopes deduplicated and capped, consents in force capped, link codes
//! capped and purged once expired, the small quota of an account not yet
//! linked (and uploads at once at its edge), the professional's lists a
//! page at a time, and reset codes that survive a mistyped rescue code.

use passerelle_hub::server::HubHandle;
use passerelle_protocol::{ids::NodeId, vault::Scope};
use passerelle_tests::{
    hidden_field, http, http_bytes, multipart, set_cookie,
    vault::{
        add_document, create_account, create_account_with_rescue, csrf, link, partner_session, pdf,
        shown_code,
    },
    Net,
};
use passerelle_vault::{
    accounts::{self, MAX_RESET_ATTEMPTS},
    consent::{MAX_ACTIVE, MAX_SCOPE},
    links::MAX_LINK_CODES,
    quota::{LINKED, UNLINKED},
    store::{CodeKind, PendingCode},
};

const MIB: usize = 1024 * 1024;

/// A test network whose hub lets many sign-ins through (these tests sign
/// in and reset more often than the default allows in a minute).
fn net() -> Net {
    let net = Net::new();
    let config = net.hub_dir().join("hub.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("login_per_minute = 10"), "{text}");
    std::fs::write(
        &config,
        text.replace("login_per_minute = 10", "login_per_minute = 1000"),
    )
    .unwrap();
    net
}

fn person_id(hub: &HubHandle, login: &str) -> String {
    hub.ctx()
        .vault()
        .store
        .person_by_login(login)
        .unwrap()
        .unwrap()
        .id
}

/// Uploads a file; the status and the page.
async fn upload(hub: &HubHandle, cookie: &str, token: &str, bytes: &[u8]) -> (u16, String) {
    let (ct, body) = multipart(&[
        ("csrf", None, token.as_bytes()),
        ("type", None, b"housing"),
        ("fichier", Some("quittance.pdf"), bytes),
    ]);
    let (s, _, b) = http_bytes(
        hub.http_addr,
        "POST",
        "/coffre/depots",
        &[("Cookie", cookie), ("Content-Type", &ct)],
        &body,
    )
    .await;
    (s, String::from_utf8_lossy(&b).into_owned())
}

/// Posts a form as the signed-in person.
async fn post(hub: &HubHandle, cookie: &str, path: &str, body: &str) -> (u16, String) {
    let (s, _, p) = http(hub.http_addr, "POST", path, &[("Cookie", cookie)], body).await;
    (s, p)
}

async fn get(hub: &HubHandle, cookie: &str, path: &str) -> (u16, String) {
    let (s, _, p) = http(hub.http_addr, "GET", path, &[("Cookie", cookie)], "").await;
    (s, p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unlinked_account_has_a_small_quota_that_uploads_at_once_cannot_overrun() {
    let net = net();
    let hub = net.start_hub(None).await;
    let caf = net.node(&hub, "caf-976").await;
    let awa = create_account(&hub, "awa@exemple.fr", "motdepasse-awa").await;
    let token = csrf(&hub, &awa).await;
    let person = person_id(&hub, "awa@exemple.fr");
    assert_eq!(UNLINKED.max_bytes, 10 * MIB as u64);

    // The documents page says how much room there is.
    let (_, home) = get(&hub, &awa, "/coffre").await;
    assert!(home.contains("Place utilisée"), "{home}");
    assert!(home.contains("sur 10 Mo"), "{home}");

    // 6 MiB stored; then four uploads of 3 MiB at once: only one fits.
    let (status, page) = upload(&hub, &awa, &token, &pdf(b"SIX", 6 * 1024)).await;
    assert_eq!(status, 303, "{page}");
    let three = pdf(b"TROIS", 3 * 1024);
    let results = futures_join(
        (0..4)
            .map(|_| {
                let (hub_addr, awa, token, three) =
                    (hub.http_addr, awa.clone(), token.clone(), three.clone());
                tokio::spawn(async move {
                    let (ct, body) = multipart(&[
                        ("csrf", None, token.as_bytes()),
                        ("type", None, b"housing"),
                        ("fichier", Some("quittance.pdf"), &three),
                    ]);
                    let (s, _, b) = http_bytes(
                        hub_addr,
                        "POST",
                        "/coffre/depots",
                        &[("Cookie", &awa), ("Content-Type", &ct)],
                        &body,
                    )
                    .await;
                    (s, String::from_utf8_lossy(&b).into_owned())
                })
            })
            .collect(),
    )
    .await;
    let stored: Vec<_> = results.iter().filter(|(s, _)| *s == 303).collect();
    assert_eq!(stored.len(), 1, "{:?}", statuses(&results));
    for (s, page) in results.iter().filter(|(s, _)| *s != 303) {
        assert_eq!(*s, 422, "{page}");
        assert!(
            page.contains("tant qu'aucune institution n'est reliée"),
            "{page}"
        );
    }
    let ups = hub.ctx().vault().store.uploads(&person).unwrap();
    assert_eq!(ups.len(), 2);
    assert_eq!(
        ups.iter().map(|u| u.size).sum::<u64>(),
        (pdf(b"SIX", 6 * 1024).len() + three.len()) as u64
    );

    // Once an institution is linked, the larger quota applies.
    link(&hub, &awa, &net.node_dir("caf-976"), "CAF-1").await;
    let (status, page) = upload(&hub, &awa, &token, &three).await;
    assert_eq!(status, 303, "{page}");
    let (_, home) = get(&hub, &awa, "/coffre").await;
    assert!(
        home.contains(&format!("sur {} Mo", LINKED.max_bytes / MIB as u64)),
        "{home}"
    );
    caf.stop().await;
    hub.stop().await;
}

async fn futures_join<T>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

fn statuses(r: &[(u16, String)]) -> Vec<u16> {
    r.iter().map(|(s, _)| *s).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_codes_are_capped_and_expired_ones_refused_and_purged() {
    let net = net();
    let hub = net.start_hub(None).await;
    let caf = net.node(&hub, "caf-976").await;
    let caf_root = net.node_dir("caf-976");
    let awa = create_account(&hub, "0639123456", "motdepasse-awa").await;
    let token = csrf(&hub, &awa).await;
    let person = person_id(&hub, "0639123456");
    let store = hub.ctx().vault().store.clone();

    // Two codes that expired a second ago, as a clock would have left them.
    let expired = PendingCode {
        person: person.clone(),
        expires_at: passerelle_link::now() - 1,
        issued_by: "person".into(),
        attempts: 0,
    };
    for c in ["EXPI-RED1", "EXPI-RED2"] {
        store
            .put_code(CodeKind::Link, &accounts::code_hash(c), &expired)
            .unwrap();
    }
    // The node is told this one has expired.
    let refused = passerelle_node::admin::request(
        &caf_root,
        passerelle_node::admin::Request::Link {
            local_id: "CAF-1".into(),
            code: "EXPI-RED1".into(),
            by: "agent".into(),
        },
        &mut |_| {},
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(refused.contains("expired"), "{refused}");
    // The other is purged when a new code is shown, and does not count.
    let mut shown = Vec::new();
    for _ in 0..MAX_LINK_CODES {
        let (status, p) = post(&hub, &awa, "/coffre/lier", &format!("csrf={token}")).await;
        assert_eq!(status, 200, "{p}");
        assert!(p.contains("codes en attente au plus"), "{p}");
        shown.push(shown_code(&p, "code à montrer"));
    }
    assert!(store
        .code(CodeKind::Link, &accounts::code_hash("EXPI-RED2"))
        .unwrap()
        .is_none());
    // One more is refused, in French.
    let (status, p) = post(&hub, &awa, "/coffre/lier", &format!("csrf={token}")).await;
    assert_eq!(status, 429, "{p}");
    assert!(p.contains("codes de liaison en attente"), "{p}");
    // Each shown code still links.
    let reply = passerelle_node::admin::request(
        &caf_root,
        passerelle_node::admin::Request::Link {
            local_id: "CAF-1".into(),
            code: shown[0].clone(),
            by: "agent".into(),
        },
        &mut |_| {},
    )
    .await
    .expect("link");
    assert!(matches!(reply, passerelle_node::admin::Response::Linked(_)));
    // The periodic sweep removes what has expired.
    store
        .put_code(CodeKind::Reset, &accounts::code_hash("EXPI-RED3"), &expired)
        .unwrap();
    assert_eq!(
        passerelle_vault::links::purge_expired(&store, passerelle_link::now()).unwrap(),
        1
    );
    caf.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn consents_are_deduplicated_and_capped_and_the_professional_pages_through_them() {
    let net = net();
    let hub = net.start_hub(None).await;
    let caf = net.node(&hub, "caf-976").await;
    let caf_root = net.node_dir("caf-976");
    let files = tempfile::tempdir().unwrap();
    let ctx = hub.ctx().clone();
    let caf_id = NodeId::new("caf-976").unwrap();
    passerelle_hub_core::partners::add(&ctx.hub, "ana@caf976.fr", "Ana Madi", &caf_id, 0).unwrap();
    let awa = create_account(&hub, "0639123456", "motdepasse-awa").await;
    link(&hub, &awa, &caf_root, "CAF-1").await;
    let token = csrf(&hub, &awa).await;
    let person = person_id(&hub, "0639123456");
    let mut docs = Vec::new();
    for i in 0..12 {
        docs.push(
            add_document(
                &caf_root,
                files.path(),
                "CAF-1",
                "social-rights",
                &format!("attestation-{i:02}.pdf"),
                &pdf(format!("DOC-{i}").as_bytes(), 2),
            )
            .await,
        );
    }
    let until = passerelle_hub_core::french::day(passerelle_link::now() + 30 * 86400);
    let grant = |fields: String| {
        let (hub_addr, awa) = (hub.http_addr, awa.clone());
        let body = format!("csrf={token}&qui=inst%3Acaf-976&demarche=rsa&fin={until}{fields}");
        async move {
            let (s, _, p) = http(
                hub_addr,
                "POST",
                "/coffre/partages",
                &[("Cookie", &awa)],
                &body,
            )
            .await;
            (s, p)
        }
    };
    let doc_field = |id: &str| format!("&doc=caf-976%7C{id}");
    let consents = || ctx.vault().store.consents_of(&person).unwrap();

    // Repeats are removed: one consent listing each document once.
    let (status, p) = grant(
        [&docs[0], &docs[1], &docs[0]]
            .map(|d| doc_field(d))
            .concat(),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert!(p.contains("L'autorisation est donnée"), "{p}");
    let c = consents();
    assert_eq!(c.len(), 1);
    assert_eq!(
        c[0].consent.scope,
        Scope::Documents(vec![docs[0].clone(), docs[1].clone()])
    );
    assert!(
        c[0].scope_label.starts_with("2 document(s)"),
        "{}",
        c[0].scope_label
    );
    // Over the cap: refused in French, nothing recorded.
    let many: String = (0..=MAX_SCOPE)
        .map(|i| doc_field(&format!("{i:032x}")))
        .collect();
    let (status, p) = grant(many).await;
    assert_eq!(status, 400, "{p}");
    assert!(
        p.contains(&format!(
            "{MAX_SCOPE} documents ou types de document au plus"
        )),
        "{p}"
    );
    assert_eq!(consents().len(), 1);
    // Every document of a kind (for the professional's pages below).
    let (status, p) = grant("&categorie=social-rights&categorie=social-rights".into()).await;
    assert_eq!(status, 200, "{p}");
    let by_kind = consents()
        .into_iter()
        .find(|c| matches!(c.consent.scope, Scope::Categories(_)))
        .unwrap();
    assert_eq!(
        by_kind.consent.scope,
        Scope::Categories(vec![passerelle_protocol::vault::Category::SocialRights])
    );
    // Up to the cap of consents in force, then refused in French.
    for i in 2..MAX_ACTIVE {
        let (status, p) = grant(doc_field(&docs[i % docs.len()])).await;
        assert_eq!(status, 200, "consent {i}: {p}");
    }
    let (status, p) = grant(doc_field(&docs[2])).await;
    assert_eq!(status, 400, "{p}");
    assert!(
        p.contains(&format!("déjà {MAX_ACTIVE} autorisations en cours")),
        "{p}"
    );
    assert_eq!(consents().len(), MAX_ACTIVE);

    // The professional's home lists them ten at a time.
    let ana = partner_session(&hub, "ana@caf976.fr").await;
    let (status, p) = get(&hub, &ana, "/partenaires/coffre").await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p.matches("Voir les documents").count(), 10, "{p}");
    assert!(p.contains("href=\"/partenaires/coffre?page=2\""), "{p}");
    assert!(
        p.contains("Page suivante") && !p.contains("Page précédente"),
        "{p}"
    );
    let pages = MAX_ACTIVE.div_ceil(10);
    let (_, last) = get(&hub, &ana, &format!("/partenaires/coffre?page={pages}")).await;
    assert!(
        last.contains("Page précédente") && !last.contains("Page suivante"),
        "{last}"
    );
    assert_eq!(
        last.matches("Voir les documents").count(),
        MAX_ACTIVE - (pages - 1) * 10
    );
    // Beyond the end: the last page; nonsense: the first.
    let (_, beyond) = get(&hub, &ana, "/partenaires/coffre?page=999999").await;
    assert!(
        beyond.contains(&format!("Page {pages} sur {pages}")),
        "{beyond}"
    );
    let (_, nonsense) = get(&hub, &ana, "/partenaires/coffre?page=-3").await;
    assert!(
        nonsense.contains(&format!("Page 1 sur {pages}")),
        "{nonsense}"
    );

    // The documents of one consent, ten at a time.
    let at = format!("/partenaires/coffre/{}", by_kind.consent.id);
    let (status, p) = get(&hub, &ana, &at).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p.matches(">Télécharger<").count(), 10, "{p}");
    assert!(p.contains(&format!("href=\"{at}?page=2\"")), "{p}");
    let (_, p2) = get(&hub, &ana, &format!("{at}?page=2")).await;
    assert_eq!(p2.matches(">Télécharger<").count(), 2, "{p2}");
    assert!(p2.contains(&format!("href=\"{at}?page=1\"")), "{p2}");
    assert!(p2.contains("Page précédente"), "{p2}");
    caf.stop().await;
    hub.stop().await;
}

/// The reset form: its cookie and token, then the post.
async fn reset(hub: &HubHandle, login: &str, code: &str, rescue: &str) -> (u16, String) {
    let (status, h, page) = http(hub.http_addr, "GET", "/coffre/recuperer", &[], "").await;
    assert_eq!(status, 200);
    assert!(page.contains("essais en tout"), "{page}");
    let form = format!("pv_form={}", set_cookie(&h, "pv_form").unwrap());
    let csrf = hidden_field(&page, "csrf").unwrap();
    let body = format!(
        "csrf={csrf}&identifiant={login}&code={code}&secours={rescue}&mdp=nouveau-mdp-1&mdp2=nouveau-mdp-1"
    );
    let (s, _, p) = http(
        hub.http_addr,
        "POST",
        "/coffre/recuperer",
        &[("Cookie", &form)],
        &body,
    )
    .await;
    (s, p)
}

/// A reset code handed out by the professional.
async fn reset_code(hub: &HubHandle, pro: &str, login: &str) -> String {
    let (_, home) = get(hub, pro, "/partenaires/coffre").await;
    let token = hidden_field(&home, "csrf").unwrap();
    let (status, p) = post(
        hub,
        pro,
        "/partenaires/coffre/code",
        &format!("csrf={token}&identifiant={login}"),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    let said = "Code à donner à la personne : ";
    let at = p.find(said).expect("a code") + said.len();
    p[at..].split_whitespace().next().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mistyped_rescue_code_leaves_the_reset_code_usable_for_a_few_tries() {
    let net = net();
    let hub = net.start_hub(None).await;
    let caf = net.node(&hub, "caf-976").await;
    let caf_id = NodeId::new("caf-976").unwrap();
    passerelle_hub_core::partners::add(&hub.ctx().hub, "ana@caf976.fr", "Ana", &caf_id, 0).unwrap();
    let login = "0639123456";
    let (awa, rescue) = create_account_with_rescue(hub.http_addr, login, "motdepasse-awa").await;
    link(&hub, &awa, &net.node_dir("caf-976"), "CAF-1").await;
    let token = csrf(&hub, &awa).await;
    let (status, p) = upload(&hub, &awa, &token, &pdf(b"GARDE", 4)).await;
    assert_eq!(status, 303, "{p}");
    let ana = partner_session(&hub, "ana@caf976.fr").await;

    // A mistyped rescue code: refused, the tries left said; then the same
    // reset code with the right rescue code works, and the uploads stay.
    let code = reset_code(&hub, &ana, login).await;
    let (status, p) = reset(&hub, login, &code, "AAAA-BBBB-CCCC").await;
    assert_eq!(status, 400, "{p}");
    assert!(
        p.contains(&format!("encore {} essais", MAX_RESET_ATTEMPTS - 1)),
        "{p}"
    );
    let (status, p) = reset(&hub, login, &code, &rescue).await;
    assert_eq!(status, 200, "{p}");
    assert!(p.contains("Vos documents déposés sont toujours là"), "{p}");
    assert_eq!(
        hub.ctx()
            .vault()
            .store
            .uploads(&person_id(&hub, login))
            .unwrap()
            .len(),
        1
    );
    // Used once, it is gone.
    let (status, p) = reset(&hub, login, &code, &rescue).await;
    assert_eq!(status, 400, "{p}");
    assert!(p.contains("Ce code n'est pas valable"), "{p}");

    // A new reset code replaces the earlier one.
    let earlier = reset_code(&hub, &ana, login).await;
    let code = reset_code(&hub, &ana, login).await;
    let (status, p) = reset(&hub, login, &earlier, &rescue).await;
    assert_eq!(status, 400, "{p}");
    assert!(p.contains("Ce code n'est pas valable"), "{p}");
    // Too many mistakes: the reset code expires, even for the right one.
    for left in (0..MAX_RESET_ATTEMPTS).rev() {
        let (status, p) = reset(&hub, login, &code, "AAAA-BBBB-CCCC").await;
        assert_eq!(status, 400, "{p}");
        if left == 0 {
            assert!(p.contains("dernier essai"), "{p}");
        } else {
            assert!(p.contains(&format!("encore {left} essai")), "{p}");
        }
    }
    let (status, p) = reset(&hub, login, &code, &rescue).await;
    assert_eq!(status, 400, "{p}");
    assert!(p.contains("Ce code n'est pas valable"), "{p}");
    caf.stop().await;
    hub.stop().await;
}
