//! Partners' accounts over real HTTP on loopback: the first sign-in forces
//! a new password; the second factor (TOTP) where `partner_totp` requires
//! it, with wrong codes refused and counted and used codes refused; and a
//! person shares only with the institutions they are linked to.

use passerelle_config::PartnerTotp;
use passerelle_protocol::ids::NodeId;
use passerelle_tests::{
    hidden_field, http, set_cookie,
    vault::{create_account, csrf},
    Net,
};
use std::net::SocketAddr;
use totp_rs::{Algorithm, Secret, TOTP};

fn location(h: &[(String, String)]) -> String {
    h.iter()
        .find(|(k, _)| k == "location")
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// How long the session cookie a response sets lasts, in seconds.
fn max_age(h: &[(String, String)]) -> Option<u64> {
    h.iter()
        .filter(|(k, v)| k == "set-cookie" && v.starts_with("pl_session="))
        .find_map(|(_, v)| v.split("Max-Age=").nth(1)?.split(';').next()?.parse().ok())
}

/// Posts the sign-in form: status, where it sends, the session cookie.
async fn sign_in(addr: SocketAddr, email: &str, password: &str) -> (u16, String, Option<String>) {
    let (status, to, session, _) = sign_in_for(addr, email, password).await;
    (status, to, session)
}

/// [`sign_in`], with how long the session cookie lasts.
async fn sign_in_for(
    addr: SocketAddr,
    email: &str,
    password: &str,
) -> (u16, String, Option<String>, Option<u64>) {
    let (_, h, p) = http(addr, "GET", "/partenaires/connexion", &[], "").await;
    let jar = format!("pl_login={}", set_cookie(&h, "pl_login").unwrap());
    let csrf = hidden_field(&p, "csrf").unwrap();
    let body = format!(
        "email={}&password={password}&csrf={csrf}",
        email.replace('@', "%40")
    );
    let (status, h, _) = http(
        addr,
        "POST",
        "/partenaires/connexion",
        &[("Cookie", &jar)],
        &body,
    )
    .await;
    let session = set_cookie(&h, "pl_session").map(|c| format!("pl_session={c}"));
    (status, location(&h), session, max_age(&h))
}

async fn get(addr: SocketAddr, path: &str, cookie: &str) -> (u16, String, String) {
    let (status, h, p) = http(addr, "GET", path, &[("Cookie", cookie)], "").await;
    (status, location(&h), p)
}

async fn post(addr: SocketAddr, path: &str, cookie: &str, body: &str) -> (u16, String, String) {
    let (status, h, p) = http(addr, "POST", path, &[("Cookie", cookie)], body).await;
    (status, location(&h), p)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_first_sign_in_forces_a_new_password() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    net.enroll(&hub, "asso-a").await;
    let addr = hub.http_addr;
    let inst = NodeId::new("asso-a").unwrap();
    let first =
        passerelle_hub_core::partners::add(&hub.ctx().hub, "agent@asso.fr", "Agent A", &inst, 0)
            .unwrap();

    // The first password is accepted, but leads only to the change form.
    let (status, to, session) = sign_in(addr, "agent@asso.fr", &first).await;
    assert_eq!((status, to.as_str()), (303, "/partenaires/mot-de-passe"));
    let session = session.unwrap();
    for path in [
        "/partenaires",
        "/partenaires/rapport",
        "/partenaires/coffre",
    ] {
        let (status, to, _) = get(addr, path, &session).await;
        assert_eq!(
            (status, to.as_str()),
            (303, "/partenaires/connexion"),
            "{path}"
        );
    }
    let (status, to, _) = get(addr, "/partenaires/connexion", &session).await;
    assert_eq!((status, to.as_str()), (303, "/partenaires/mot-de-passe"));
    let (status, _, form) = get(addr, "/partenaires/mot-de-passe", &session).await;
    assert_eq!(status, 200);
    assert!(form.contains("ne sert qu'une fois"), "{form}");
    let csrf = hidden_field(&form, "csrf").unwrap();

    // The rules, in French.
    let new = "un-mot-de-passe-neuf";
    for (current, nouveau, again, status, says) in [
        (
            first.as_str(),
            "court",
            "court",
            400,
            "au moins 12 caractères",
        ),
        (first.as_str(), new, "autre-chose-encore", 400, "diffèrent"),
        (
            first.as_str(),
            first.as_str(),
            first.as_str(),
            400,
            "différent de l'actuel",
        ),
        (
            "pas-le-bon-mot",
            new,
            new,
            401,
            "Mot de passe actuel incorrect",
        ),
    ] {
        let body = format!("csrf={csrf}&actuel={current}&nouveau={nouveau}&confirmation={again}");
        let (got, _, page) = post(addr, "/partenaires/mot-de-passe", &session, &body).await;
        assert_eq!(got, status, "{page}");
        assert!(page.contains(says), "{says}: {page}");
    }
    let (status, _, _) = get(addr, "/partenaires", &session).await;
    assert_eq!(status, 303, "still nothing else");
    // Without the session's token: refused.
    let body = format!("actuel={first}&nouveau={new}&confirmation={new}");
    let (status, _, _) = post(addr, "/partenaires/mot-de-passe", &session, &body).await;
    assert_eq!(status, 403);

    // Changed: the partner pages open, under a new session.
    let body = format!("csrf={csrf}&actuel={first}&nouveau={new}&confirmation={new}");
    let (status, h, _) = http(
        addr,
        "POST",
        "/partenaires/mot-de-passe",
        &[("Cookie", &session)],
        &body,
    )
    .await;
    assert_eq!((status, location(&h).as_str()), (303, "/partenaires"));
    let renewed = format!("pl_session={}", set_cookie(&h, "pl_session").unwrap());
    let (status, _, home) = get(addr, "/partenaires", &renewed).await;
    assert_eq!(status, 200);
    assert!(home.contains("Changer mon mot de passe"), "{home}");
    let (status, _, _) = get(addr, "/partenaires", &session).await;
    assert_eq!(status, 303, "the session of the first password is closed");
    let account = hub
        .ctx()
        .hub
        .store
        .account("agent@asso.fr")
        .unwrap()
        .unwrap();
    assert!(!account.must_change_password);

    // The old password no longer works; the new one does, straight in.
    let (status, _, session) = sign_in(addr, "agent@asso.fr", &first).await;
    assert_eq!((status, session), (401, None));
    let (status, to, session) = sign_in(addr, "agent@asso.fr", new).await;
    assert_eq!((status, to.as_str()), (303, "/partenaires"));
    let (status, _, _) = get(addr, "/partenaires", &session.unwrap()).await;
    assert_eq!(status, 200);
    hub.stop().await;
}

/// The code of `secret` for a step after `last` (never a used one).
fn fresh_code(totp: &TOTP, last: u64) -> String {
    let now = passerelle_link::now() / 30;
    totp.generate(now.max(last + 1) * 30)
}

fn last_step(hub: &passerelle_hub::server::HubHandle, email: &str) -> u64 {
    hub.ctx()
        .hub
        .store
        .account(email)
        .unwrap()
        .unwrap()
        .totp_last_step
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_required_second_factor_is_enrolled_then_asked_and_wrong_codes_are_counted() {
    let net = Net::new();
    net.set_partner_totp(PartnerTotp::Required);
    let hub = net.start_hub(None).await;
    net.enroll(&hub, "asso-a").await;
    let addr = hub.http_addr;
    let inst = NodeId::new("asso-a").unwrap();
    let email = "agent@asso.fr";
    let password = passerelle_tests::vault::add_partner(&hub, email, "Agent A", &inst);

    // After the password: enrol first, nothing else.
    let (status, to, session) = sign_in(addr, email, &password).await;
    assert_eq!((status, to.as_str()), (303, "/partenaires/double-facteur"));
    let session = session.unwrap();
    let (status, _, _) = get(addr, "/partenaires", &session).await;
    assert_eq!(status, 303);
    let (status, _, page) = get(addr, "/partenaires/double-facteur", &session).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("<svg")
            && page.contains("aria-label=\"Code QR")
            && page.contains("application d'authentification"),
        "{page}"
    );
    let at = page.find("id=\"cle\">").unwrap() + "id=\"cle\">".len();
    let key = &page[at..at + page[at..].find('<').unwrap()];
    let secret = Secret::Encoded(key.to_string()).to_bytes().unwrap();
    let totp = TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, secret);
    let csrf = hidden_field(&page, "csrf").unwrap();

    // A wrong first code is refused; the right one enrols and opens.
    let right = fresh_code(&totp, 0);
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);
    let (status, _, page) = post(
        addr,
        "/partenaires/double-facteur",
        &session,
        &format!("csrf={csrf}&code={wrong}"),
    )
    .await;
    assert_eq!(status, 401);
    assert!(page.contains("Code incorrect"), "{page}");
    let (status, to, _) = post(
        addr,
        "/partenaires/double-facteur",
        &session,
        &format!("csrf={csrf}&code={right}"),
    )
    .await;
    assert_eq!((status, to.as_str()), (303, "/partenaires"));
    let (status, _, _) = get(addr, "/partenaires", &session).await;
    assert_eq!(status, 200);
    let used = last_step(&hub, email);
    assert!(
        hub.ctx()
            .hub
            .store
            .account(email)
            .unwrap()
            .unwrap()
            .totp_enabled
    );

    // Signing in again: the password alone opens no session, and what it
    // opens lasts 15 minutes.
    let (status, to, session, lasts) = sign_in_for(addr, email, &password).await;
    assert_eq!((status, to.as_str()), (303, "/partenaires/code"));
    assert_eq!(lasts, Some(15 * 60));
    let session = session.unwrap();
    let (status, _, _) = get(addr, "/partenaires", &session).await;
    assert_eq!(status, 303);
    let (status, _, page) = get(addr, "/partenaires/code", &session).await;
    assert_eq!(status, 200);
    assert!(page.contains("Code de vérification"));
    let csrf = hidden_field(&page, "csrf").unwrap();
    // The code already used is refused.
    let (status, _, page) = post(
        addr,
        "/partenaires/code",
        &session,
        &format!("csrf={csrf}&code={right}"),
    )
    .await;
    assert_eq!(status, 401);
    if passerelle_link::now() / 30 <= used + 1 {
        assert!(page.contains("déjà servi"), "{page}");
    }
    let (status, _, _) = get(addr, "/partenaires", &session).await;
    assert_eq!(status, 303);
    // A code of a step not used yet opens the session, for the whole
    // session_ttl (8 hours by default).
    let code = fresh_code(&totp, used);
    let (status, h, _) = http(
        addr,
        "POST",
        "/partenaires/code",
        &[("Cookie", &session)],
        &format!("csrf={csrf}&code={code}"),
    )
    .await;
    assert_eq!((status, location(&h).as_str()), (303, "/partenaires"));
    assert_eq!(max_age(&h), Some(8 * 3600));
    let (status, _, _) = get(addr, "/partenaires", &session).await;
    assert_eq!(status, 200);

    // Wrong codes count against the account's limit (10 at once, then one
    // every 6 s, sign-ins included): once over it, even a right code is
    // refused until the bucket refills.
    let (_, to, session) = sign_in(addr, email, &password).await;
    assert_eq!(to, "/partenaires/code");
    let session = session.unwrap();
    let (_, _, page) = get(addr, "/partenaires/code", &session).await;
    let csrf = hidden_field(&page, "csrf").unwrap();
    let wrong = format!(
        "{:06}",
        (fresh_code(&totp, last_step(&hub, email))
            .parse::<u32>()
            .unwrap()
            + 1)
            % 1_000_000
    );
    let mut codes = Vec::new();
    while codes.last() != Some(&429) && codes.len() < 20 {
        let body = format!("csrf={csrf}&code={wrong}");
        codes.push(post(addr, "/partenaires/code", &session, &body).await.0);
    }
    assert!(
        codes.iter().filter(|c| **c == 401).count() >= 1,
        "{codes:?}"
    );
    assert_eq!(codes.last(), Some(&429), "{codes:?}");
    let right = fresh_code(&totp, last_step(&hub, email));
    let (status, _, page) = post(
        addr,
        "/partenaires/code",
        &session,
        &format!("csrf={csrf}&code={right}"),
    )
    .await;
    assert_eq!(status, 429, "{page}");
    assert!(page.contains("Trop de tentatives"));
    let (status, _, _) = get(addr, "/partenaires", &session).await;
    assert_eq!(status, 303);
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_person_shares_only_with_institutions_they_are_linked_to() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let caf = net.node(&hub, "caf-976").await;
    let cd = net.node(&hub, "cd-976").await;
    let (caf_id, cd_id) = (
        NodeId::new("caf-976").unwrap(),
        NodeId::new("cd-976").unwrap(),
    );
    passerelle_tests::vault::add_partner(&hub, "ana@caf976.fr", "Ana Madi", &caf_id);
    passerelle_tests::vault::add_partner(&hub, "bob@cd976.fr", "Bob Ali", &cd_id);
    let awa = create_account(&hub, "0639123456", "motdepasse-awa").await;
    let person = hub
        .ctx()
        .vault()
        .store
        .person_by_login("0639123456")
        .unwrap()
        .unwrap()
        .id;
    hub.ctx()
        .vault()
        .store
        .put_link(&person, &caf_id, passerelle_link::now())
        .unwrap();

    let (status, _, page) = get(hub.http_addr, "/coffre/partages", &awa).await;
    assert_eq!(status, 200);
    assert!(page.contains("value=\"inst:caf-976\""), "{page}");
    assert!(page.contains("value=\"pro:ana@caf976.fr\""), "{page}");
    assert!(!page.contains("inst:cd-976"), "{page}");
    assert!(
        !page.contains("bob@cd976.fr") && !page.contains("Bob Ali"),
        "{page}"
    );

    // Nor can the form be forged to name them.
    let token = csrf(&hub, &awa).await;
    for who in ["inst%3Acd-976", "pro%3Abob%40cd976.fr"] {
        let body = format!("csrf={token}&categorie=rsa&qui={who}&demarche=rsa&fin=2099-12-31");
        let (status, _, page) = post(hub.http_addr, "/coffre/partages", &awa, &body).await;
        assert_eq!(status, 400, "{page}");
        assert!(page.contains("Choisissez avec qui partager"), "{page}");
    }
    caf.stop().await;
    cd.stop().await;
    hub.stop().await;
}

/// A lost phone: the operator forgets the account's second factor
/// (`passerelle-hub partner reset-totp`); its sessions end and the next
/// sign-in enrols again instead of asking a code.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_operator_resets_a_lost_second_factor() {
    let net = Net::new();
    net.set_partner_totp(PartnerTotp::Required);
    let hub = net.start_hub(None).await;
    net.enroll(&hub, "asso-a").await;
    let addr = hub.http_addr;
    let inst = NodeId::new("asso-a").unwrap();
    let email = "agent@asso.fr";
    let password = passerelle_tests::vault::add_partner(&hub, email, "Agent A", &inst);
    // Enrolled already (its secret in the store).
    let store = &hub.ctx().hub.store;
    let mut a = store.account(email).unwrap().unwrap();
    a.totp_secret = Some(vec![7; 20]);
    a.totp_enabled = true;
    store.put_account(&a).unwrap();
    let listed =
        passerelle_hub::admin::request(&net.hub_dir(), passerelle_hub::admin::Request::Partners)
            .await
            .unwrap();
    let passerelle_hub::admin::Response::Partners(rows) = listed else {
        panic!("{listed:?}")
    };
    assert!(
        rows.iter().any(|r| r.email == email && r.second_factor),
        "{rows:?}"
    );
    let (_, to, session) = sign_in(addr, email, &password).await;
    assert_eq!(to, "/partenaires/code");
    let session = session.unwrap();
    assert_eq!(get(addr, "/partenaires/code", &session).await.0, 200);

    passerelle_hub::admin::request(
        &net.hub_dir(),
        passerelle_hub::admin::Request::PartnerResetTotp {
            email: email.into(),
        },
    )
    .await
    .unwrap();
    let a = store.account(email).unwrap().unwrap();
    assert!(!a.totp_enabled && a.totp_secret.is_none());
    // `partner list` says so.
    let listed =
        passerelle_hub::admin::request(&net.hub_dir(), passerelle_hub::admin::Request::Partners)
            .await
            .unwrap();
    let passerelle_hub::admin::Response::Partners(rows) = listed else {
        panic!("{listed:?}")
    };
    assert!(
        rows.iter().any(|r| r.email == email && !r.second_factor),
        "{rows:?}"
    );
    // The session waiting for a code is gone.
    assert_eq!(get(addr, "/partenaires/code", &session).await.0, 303);
    // The next sign-in enrols again.
    let (_, to, _) = sign_in(addr, email, &password).await;
    assert_eq!(to, "/partenaires/double-facteur");
    // An unknown account is refused by name.
    let err = passerelle_hub::admin::request(
        &net.hub_dir(),
        passerelle_hub::admin::Request::PartnerResetTotp {
            email: "nobody@asso.fr".into(),
        },
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("nobody@asso.fr"), "{err}");
    hub.stop().await;
}
