//! Verified identifiers: an account is created only with a code sent to
//! the phone or e-mail address, through a real SMTP server (aiosmtpd) or
//! an HTTP SMS gateway; the creation pages answer the same whether or
//! not an account already has the identifier.

use passerelle_config::{MailConfig, MailTls, SmsConfig};
use passerelle_protocol::sign::sha256;
use passerelle_tests::{
    hidden_field, http, set_cookie,
    smtp::{SmsGateway, SmtpServer},
    vault::{ask_code, code_in, enter_code, page},
    Net,
};

const PASSWORD: &str = "un-mot-de-passe";

fn with_mail(net: &Net, smtp: &SmtpServer) {
    net.configure(|c| {
        // Many steps from one test address: the per-address limit is not
        // what this test is about.
        c.login_per_minute = std::num::NonZeroU32::new(1000).unwrap();
        c.messages.danger_show_codes = false;
        c.mail = Some(MailConfig {
            smtp: smtp.addr.to_string(),
            from: "Passerelle <ne-pas-repondre@passerelle.test>".into(),
            tls: MailTls::None,
            user: None,
            password_file: None,
        });
    });
}

/// The page with every form token blanked, for comparing two answers.
fn without_tokens(page: &str) -> String {
    let token = hidden_field(page, "csrf").expect("a form token");
    page.replace(&token, "")
}

/// The code in the newest message that has one.
fn newest_code(messages: &[String]) -> Option<String> {
    // Maildir names start with the time: the newest sorts last, but
    // within one second order is not guaranteed, so tests ask for the
    // code right after each send.
    messages.iter().rev().find_map(|m| {
        let body = &m[m.find("\n\n").or_else(|| m.find("\r\n\r\n"))?..];
        code_in(body)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_account_needs_the_code_mailed_to_its_address_and_taken_addresses_look_the_same() {
    let net = Net::new();
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start(dir.path()).await;
    with_mail(&net, &smtp);
    let hub = net.start_hub(None).await;
    let addr = hub.http_addr;
    let store = hub.ctx().vault().store.clone();

    // Ana asks for a code; it arrives by mail, six digits.
    let (ana_step, ana_page) = ask_code(addr, "ana@example.fr").await;
    assert!(
        ana_page.contains("nous venons d'y envoyer un code") && !ana_page.contains("message-demo"),
        "{ana_page}"
    );
    let mails = smtp.wait_for("ana@example.fr", 1).await;
    assert!(mails[0].contains("X-MailFrom: ne-pas-repondre@passerelle.test"));
    let code = newest_code(&mails).expect("a code in the mail");
    // Not in the store, nor its plain hash.
    assert!(store.person_by_login("ana@example.fr").unwrap().is_none());

    // A wrong code is refused and counted.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, _, p) = enter_code(addr, &ana_step, &ana_page, wrong, PASSWORD).await;
    assert_eq!(status, 400, "{p}");
    assert!(p.contains("encore 4 essais"), "{p}");
    let step = ana_step.clone();
    let counted = store
        .take_verification(&sha256(step.as_bytes()))
        .unwrap()
        .unwrap();
    assert_eq!(counted.attempts, 1);
    assert_ne!(counted.code_mac, Some(sha256(code.as_bytes())));
    assert!(store
        .put_verification(
            &sha256(step.as_bytes()),
            &counted,
            100,
            passerelle_link::now()
        )
        .unwrap());

    // The right one creates the account, with its rescue code.
    let (status, h, p) = enter_code(addr, &ana_step, &p, &code, PASSWORD).await;
    assert_eq!(status, 200, "{p}");
    assert!(p.contains("Votre code de secours"), "{p}");
    let session = format!("pv_session={}", set_cookie(&h, "pv_session").unwrap());
    let (status, home) = page(&hub, &session, "/coffre").await;
    assert_eq!(status, 200);
    assert!(home.contains("Mes documents"), "{home}");
    assert!(store.person_by_login("ana@example.fr").unwrap().is_some());
    // A used code does not serve twice.
    let (_, _, fresh) = http(addr, "GET", "/coffre/creer", &[], "").await;
    let (status, _, p) = enter_code(addr, &ana_step, &fresh, &code, PASSWORD).await;
    assert_eq!(status, 400, "{p}");
    assert!(p.contains("n'est plus valable"), "{p}");

    // The creation step answers the same for a taken address and a new
    // one, byte for byte but for the form token.
    let (taken_step, taken) = ask_code(addr, "ana@example.fr").await;
    let (bob_step, new) = ask_code(addr, "bob@example.fr").await;
    assert_eq!(without_tokens(&taken), without_tokens(&new));
    // The mails differ: Ana is told she has an account (no code), Bob
    // gets a code.
    let ana_mails = smtp.wait_for("ana@example.fr", 2).await;
    let told = ana_mails
        .iter()
        .find(|m| {
            m.contains("vous avez d=C3=A9j=C3=A0 un compte")
                || m.contains("vous avez déjà un compte")
        })
        .expect("the mail saying an account exists");
    assert!(
        code_in(&told[told.find("\n\n").unwrap_or(0)..]).is_none(),
        "{told}"
    );
    let bob_mails = smtp.wait_for("bob@example.fr", 1).await;
    let bob_code = newest_code(&bob_mails).unwrap();

    // Tries run out: after five wrong codes the right one is refused too.
    let bob_wrong = if bob_code == "000000" {
        "111111"
    } else {
        "000000"
    };
    let mut last = new.clone();
    for left in (1..5).rev() {
        let (status, _, p) = enter_code(addr, &bob_step, &last, bob_wrong, PASSWORD).await;
        assert_eq!(status, 400);
        assert!(p.contains(&format!("encore {left} essai")), "{p}");
        last = p;
    }
    let (_, _, p) = enter_code(addr, &bob_step, &last, bob_wrong, PASSWORD).await;
    assert!(p.contains("n'est plus valable"), "{p}");
    let (_, _, p) = enter_code(addr, &bob_step, &p, &bob_code, PASSWORD).await;
    assert!(p.contains("n'est plus valable"), "{p}");
    assert!(store.person_by_login("bob@example.fr").unwrap().is_none());

    // An expired code is refused.
    let (carla_step, carla_page) = ask_code(addr, "carla@example.fr").await;
    let carla_code = newest_code(&smtp.wait_for("carla@example.fr", 1).await).unwrap();
    let step = carla_step.clone();
    let mut v = store
        .take_verification(&sha256(step.as_bytes()))
        .unwrap()
        .unwrap();
    v.expires_at = passerelle_link::now() - 1;
    store
        .put_verification(&sha256(step.as_bytes()), &v, 100, 0)
        .unwrap();
    let (status, _, p) = enter_code(addr, &carla_step, &carla_page, &carla_code, PASSWORD).await;
    assert_eq!(status, 400);
    assert!(p.contains("a expiré"), "{p}");
    assert!(store.person_by_login("carla@example.fr").unwrap().is_none());

    // A code for a taken address never changes the account.
    let before = store.person_by_login("ana@example.fr").unwrap().unwrap();
    let (status, _, _) = enter_code(addr, &taken_step, &taken, &code, "autre-mot-de-passe").await;
    assert_eq!(status, 400);
    assert_eq!(
        store.person_by_login("ana@example.fr").unwrap().unwrap(),
        before
    );

    // Codes are limited per identifier (two a minute), whoever asks.
    let (_, h, p) = http(addr, "GET", "/coffre/creer", &[], "").await;
    let form = format!("pv_form={}", set_cookie(&h, "pv_form").unwrap());
    let csrf = hidden_field(&p, "csrf").unwrap();
    let (status, _, p) = http(
        addr,
        "POST",
        "/coffre/creer",
        &[("Cookie", &form)],
        &format!("csrf={csrf}&identifiant=ana@example.fr"),
    )
    .await;
    assert_eq!(status, 429, "{p}");
    assert!(p.contains("Attendez une minute"), "{p}");

    // The network health page says which sender is configured.
    let (_, _, sante) = http(addr, "GET", "/sante", &[], "").await;
    assert!(sante.contains("E-mail : e-mail via 127.0.0.1"), "{sante}");
    hub.stop().await;
}

/// The value of `name` in a `Cookie:` header line.
fn set_cookie_value(cookies: &str, name: &str) -> String {
    cookies
        .split("; ")
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn phone_codes_go_through_the_sms_gateway_and_new_devices_can_be_asked_one() {
    let net = Net::new();
    let gateway = SmsGateway::start().await;
    let token_file = net.tmp.path().join("sms.token");
    std::fs::write(&token_file, "jeton-sms\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    net.configure(|c| {
        c.messages.danger_show_codes = false;
        c.sms = Some(SmsConfig {
            url: format!("http://{}/send", gateway.addr),
            token_file: token_file.clone(),
        });
    });
    let hub = net.start_hub(None).await;
    let addr = hub.http_addr;

    let (step, p) = ask_code(addr, "0639 12 34 56").await;
    passerelle_tests::eventually("the SMS", std::time::Duration::from_secs(10), || async {
        !gateway.texts_to("+262639123456").is_empty()
    })
    .await;
    let posted = gateway.posted.lock().unwrap()[0].clone();
    assert_eq!(posted.authorization, "Bearer jeton-sms");
    let code = code_in(&gateway.texts_to("+262639123456")[0]).unwrap();
    let (status, h, p) = enter_code(addr, &step, &p, &code, PASSWORD).await;
    assert_eq!(status, 200, "{p}");
    let session = format!("pv_session={}", set_cookie(&h, "pv_session").unwrap());

    // Mail is not configured: an e-mail address cannot get a code.
    let (_, h0, p0) = http(addr, "GET", "/coffre/creer", &[], "").await;
    let form = format!("pv_form={}", set_cookie(&h0, "pv_form").unwrap());
    let csrf = hidden_field(&p0, "csrf").unwrap();
    let (status, _, p) = http(
        addr,
        "POST",
        "/coffre/creer",
        &[("Cookie", &form)],
        &format!("csrf={csrf}&identifiant=zoe@example.fr"),
    )
    .await;
    assert_eq!(status, 503, "{p}");
    assert!(p.contains("par e-mail n'est pas encore possible"), "{p}");

    // The person asks for a code from new devices: this browser is known
    // from now on; another one must give the code sent by SMS.
    let (_, settings) = page(&hub, &session, "/coffre/compte").await;
    let csrf = hidden_field(&settings, "csrf").unwrap();
    let (status, h, p) = http(
        addr,
        "POST",
        "/coffre/compte",
        &[("Cookie", &session)],
        &format!("csrf={csrf}&appareil=oui"),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    let device = format!("pv_connu={}", set_cookie(&h, "pv_connu").unwrap());
    let sign_in = |extra: String| async move {
        let (_, h, p) = http(addr, "GET", "/coffre/connexion", &[], "").await;
        let form = format!("pv_form={}", set_cookie(&h, "pv_form").unwrap());
        let csrf = hidden_field(&p, "csrf").unwrap();
        let cookie = if extra.is_empty() {
            form
        } else {
            format!("{form}; {extra}")
        };
        http(
            addr,
            "POST",
            "/coffre/connexion",
            &[("Cookie", &cookie)],
            &format!("csrf={csrf}&identifiant=0639123456&mdp={PASSWORD}"),
        )
        .await
    };
    let (status, _, _) = sign_in(device.clone()).await;
    assert_eq!(status, 303, "the known device signs in with the password");
    let before = gateway.texts_to("+262639123456").len();
    let (status, h, p) = sign_in(String::new()).await;
    assert_eq!(status, 200, "{p}");
    assert!(p.contains("appareil que nous ne connaissons pas"), "{p}");
    assert!(set_cookie(&h, "pv_session").is_none());
    passerelle_tests::eventually(
        "the sign-in SMS",
        std::time::Duration::from_secs(10),
        || async { gateway.texts_to("+262639123456").len() > before },
    )
    .await;
    let texts = gateway.texts_to("+262639123456");
    let code = code_in(texts.last().unwrap()).unwrap();
    let step = format!(
        "pv_form={}; pv_etape={}",
        set_cookie(&h, "pv_form").unwrap(),
        set_cookie(&h, "pv_etape").unwrap()
    );
    let csrf = hidden_field(&p, "csrf").unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, _, p2) = http(
        addr,
        "POST",
        "/coffre/connexion/code",
        &[("Cookie", &step)],
        &format!("csrf={csrf}&code={wrong}"),
    )
    .await;
    assert_eq!(status, 400);
    assert!(p2.contains("encore 4 essais"), "{p2}");
    let csrf = hidden_field(&p2, "csrf").unwrap();
    let step = format!(
        "pv_form={}; pv_etape={}",
        csrf,
        set_cookie_value(&step, "pv_etape")
    );
    let (status, h, _) = http(
        addr,
        "POST",
        "/coffre/connexion/code",
        &[("Cookie", &step)],
        &format!("csrf={csrf}&code={code}"),
    )
    .await;
    assert_eq!(status, 303);
    assert!(set_cookie(&h, "pv_session").is_some());
    assert!(set_cookie(&h, "pv_connu").is_some());
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_a_sender_only_the_counter_creates_accounts_and_the_health_page_says_so() {
    let net = Net::new();
    net.configure(|c| c.messages.danger_show_codes = false);
    let hub = net.start_hub(None).await;
    let addr = hub.http_addr;

    // Nobody can get a code: online creation is closed, for every identifier.
    for login in ["0639777777", "awa@example.fr"] {
        let (_, h, p) = http(addr, "GET", "/coffre/creer", &[], "").await;
        assert!(p.contains("pas encore ouverte"), "{p}");
        let form = format!("pv_form={}", set_cookie(&h, "pv_form").unwrap());
        let csrf = hidden_field(&p, "csrf").unwrap();
        let (status, h, p) = http(
            addr,
            "POST",
            "/coffre/creer",
            &[("Cookie", &form)],
            &format!("csrf={csrf}&identifiant={login}"),
        )
        .await;
        assert_eq!(status, 503, "{p}");
        assert!(p.contains("créer votre compte au guichet"), "{p}");
        assert!(set_cookie(&h, "pv_etape").is_none());
    }
    let (_, _, sante) = http(addr, "GET", "/sante", &[], "").await;
    assert!(
        sante.contains("Aucun envoi n'est configuré") && sante.contains("seuls les guichets"),
        "{sante}"
    );

    // A professional creates the account at the counter, without a code.
    let _ccas = net.node(&hub, "ccas-976").await;
    let inst = passerelle_protocol::ids::NodeId::new("ccas-976").unwrap();
    passerelle_tests::vault::add_partner(&hub, "ana@ccas976.fr", "Ana Madi", &inst);
    let pro = passerelle_tests::vault::partner_session(&hub, "ana@ccas976.fr").await;
    let (_, form) = page(&hub, &pro, "/partenaires/coffre/aide").await;
    let csrf = hidden_field(&form, "csrf").unwrap();
    let (status, _, p) = http(
        addr,
        "POST",
        "/partenaires/coffre/aide",
        &[("Cookie", &pro)],
        &format!("csrf={csrf}&identifiant=0639777777&mdp={PASSWORD}&mdp2={PASSWORD}"),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert!(p.contains("Votre code de secours"), "{p}");
    let account = hub
        .ctx()
        .vault()
        .store
        .person_by_login("0639777777")
        .unwrap()
        .unwrap();
    assert_eq!(
        account.assisted_by.as_deref(),
        Some("professional:ana@ccas976.fr@ccas-976")
    );
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_is_required_when_asked_not_opportunistic() {
    use passerelle_vault::notify::{smtp::Smtp, Identifier, Message, Sender};
    passerelle_tests::setup();
    let dir = tempfile::tempdir().unwrap();
    // aiosmtpd here offers no STARTTLS.
    let smtp = SmtpServer::start(dir.path()).await;
    let config = |tls| MailConfig {
        smtp: smtp.addr.to_string(),
        from: "Passerelle <ne-pas-repondre@passerelle.test>".into(),
        tls,
        user: None,
        password_file: None,
    };
    let to = Identifier::Email("ana@example.fr".into());
    let m = Message {
        subject: "Votre code".into(),
        text: "123456".into(),
    };
    let refused = Smtp::new(&config(MailTls::Starttls))
        .unwrap()
        .send(&to, &m)
        .await;
    assert!(
        refused.is_err(),
        "sent in clear although STARTTLS was required"
    );
    assert!(smtp.messages().is_empty());
    // The same relay in plain SMTP (allowed on loopback only) gets it.
    Smtp::new(&config(MailTls::None))
        .unwrap()
        .send(&to, &m)
        .await
        .unwrap();
    assert_eq!(smtp.wait_for("ana@example.fr", 1).await.len(), 1);
}
