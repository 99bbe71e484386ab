//! Partner sign-in with OpenID Connect against a real provider
//! (`oidc-provider`, started on loopback by `tests/oidc/provider.mjs`):
//! a professional signs in, a request is recorded, the operator approves
//! it, the next sign-in opens a session, sign-out goes through the
//! provider's logout; an ID token with a wrong audience, a wrong issuer or
//! an expired one, a replayed state and a wrong nonce are each refused and
//! logged.
//!
//! The provider signs every token with its own key (published in its
//! JWKS). For the audience, issuer and expiry cases it serves clients
//! whose ID token it re-signs, with that same key, after changing one
//! claim (see `provider.mjs`): the signature verifies, only the claim
//! check can refuse them. The nonce case is a browser that changes the
//! nonce in the authorization request; the replay sends a used callback
//! again.

use std::net::SocketAddr;

use passerelle_config::{HubConfig, OidcProvider};
use passerelle_hub::{
    admin::{Request, Response},
    server::{self, HubHandle, Listen},
};
use passerelle_tests::{
    hidden_field,
    oidc::{capture_logs, location, Browser, Logs, TestProvider},
    process::free_hub_addrs,
    Net,
};
use serde_json::json;

const SIRET: &str = "53475389700013";

/// A network whose hub knows the test provider under four names: the
/// honest client, and the three whose ID tokens are tampered with.
struct Setup {
    net: Net,
    hub: HubHandle,
    portal: String,
    _provider: TestProvider,
    issuer: String,
    logs: Logs,
}

fn provider(name: &str, client: &str, issuer: &str, secret: &std::path::Path) -> OidcProvider {
    OidcProvider {
        name: name.into(),
        label: format!("Fournisseur {name}"),
        issuer: issuer.into(),
        client_id: client.into(),
        client_secret_file: secret.to_path_buf(),
        scopes: ["openid", "email", "siret", "profile"]
            .map(String::from)
            .to_vec(),
        email_claim: "email".into(),
        organisation_claim: "siret".into(),
        acr_values: None,
        allow_insecure_loopback_issuer: true,
    }
}

async fn setup() -> Setup {
    let logs = capture_logs();
    let net = Net::new();
    let (quic, http) = free_hub_addrs();
    let portal = format!("http://{http}");
    let secret = "un-secret-de-test-assez-long-pour-le-fournisseur";
    let secret_file = net.tmp.path().join("oidc.secret");
    std::fs::write(&secret_file, secret).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&secret_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let clients: Vec<_> = [
        ("passerelle", None),
        ("passerelle-aud", Some("aud")),
        ("passerelle-iss", Some("iss")),
        ("passerelle-exp", Some("exp")),
    ]
    .into_iter()
    .map(|(id, tamper)| {
        json!({
            "client_id": id,
            "client_secret": secret,
            "redirect_uris": [format!("{portal}/partenaires/oidc/retour")],
            "post_logout_redirect_uris": [format!("{portal}/")],
            "tamper": tamper,
        })
    })
    .chain(std::iter::once(json!({
        "client_id": "passerelle-coffre",
        "client_secret": secret,
        "redirect_uris": [format!("{portal}/coffre/oidc/retour")],
    })))
    .collect();
    let provider_process = TestProvider::start(
        &json!({
            "clients": clients,
            "accounts": {
                "alice": { "email": "Alice.Martin@caf976.fr", "siret": SIRET,
                           "given_name": "Alice", "usual_name": "Martin" },
                "awa": { "given_name": "Awa", "family_name": "Saïd" },
                "bob": { "given_name": "Bob", "family_name": "Ali" },
            },
        }),
        net.tmp.path(),
    );
    let issuer = provider_process.issuer.clone();
    let path = net.hub_dir().join("hub.toml");
    let mut c = HubConfig::load(&path).unwrap();
    c.portal_url = Some(portal.clone());
    c.partner_oidc = vec![
        provider("proconnect", "passerelle", &issuer, &secret_file),
        provider("aud", "passerelle-aud", &issuer, &secret_file),
        provider("iss", "passerelle-iss", &issuer, &secret_file),
        provider("exp", "passerelle-exp", &issuer, &secret_file),
    ];
    c.vault_oidc = vec![OidcProvider {
        scopes: ["openid", "profile"].map(String::from).to_vec(),
        ..provider("franceconnect", "passerelle-coffre", &issuer, &secret_file)
    }];
    std::fs::write(&path, c.template()).unwrap();
    // The template writes the providers back as they are.
    assert_eq!(HubConfig::load(&path).unwrap(), c);
    let hub = server::start(
        &net.hub_dir(),
        Listen {
            quic: Some(quic),
            http: Some(http),
        },
        false,
    )
    .await
    .expect("hub starts");
    Setup {
        net,
        hub,
        portal,
        _provider: provider_process,
        issuer,
        logs,
    }
}

/// Where the portal sends the browser to sign in with `provider`: the
/// provider's authorization URL, with the account the provider's
/// interaction logs in (`login_hint`, the test's stand-in for a person
/// typing their credentials).
async fn authorization(s: &Setup, b: &mut Browser, provider: &str) -> String {
    let (status, h, _) = b
        .request(
            "GET",
            &format!("{}/partenaires/oidc/connexion/{provider}", s.portal),
            "",
        )
        .await;
    with_hint(s, status, &h, "alice")
}

/// The provider's authorization URL a reply sends to, with the account
/// the provider logs in.
fn with_hint(s: &Setup, status: u16, h: &[(String, String)], who: &str) -> String {
    assert_eq!(status, 303);
    let to = location(h).unwrap();
    assert!(to.starts_with(&s.issuer), "{to}");
    for p in [
        "code_challenge=",
        "code_challenge_method=S256",
        "state=",
        "nonce=",
    ] {
        assert!(to.contains(p), "{p} missing from {to}");
    }
    format!("{to}&login_hint={who}")
}

/// Follows an authorization URL through the provider back to the portal's
/// callback; returns the callback URL, not yet visited.
async fn to_callback(s: &Setup, b: &mut Browser, auth: &str) -> String {
    let stop = format!("{}/partenaires/oidc/retour", s.portal);
    let (url, reply) = b.follow(auth, &stop).await;
    assert!(url.starts_with(&stop), "stopped at {url}: {reply:?}");
    url
}

async fn sign_in(
    s: &Setup,
    b: &mut Browser,
    provider: &str,
) -> (u16, Vec<(String, String)>, String) {
    let auth = authorization(s, b, provider).await;
    let callback = to_callback(s, b, &auth).await;
    b.request("GET", &callback, "").await
}

async fn requests(s: &Setup) -> Vec<passerelle_hub_core::partners::oidc::Request> {
    let r = passerelle_hub::admin::request(&s.net.hub_dir(), Request::PartnerRequests)
        .await
        .expect("admin request");
    match r {
        Response::PartnerRequests(list) => list,
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_professional_is_approved_then_signs_in_and_out() {
    let s = setup().await;
    s.net.enroll(&s.hub, "caf-976").await;
    let mut b = Browser::default();

    // The sign-in page offers the provider.
    let (_, _, page) = b
        .request("GET", &format!("{}/partenaires/connexion", s.portal), "")
        .await;
    assert!(
        page.contains("/partenaires/oidc/connexion/proconnect"),
        "{page}"
    );
    assert!(page.contains("Se connecter avec Fournisseur proconnect"));

    // First sign-in: no account, a request for the operator.
    let (status, h, page) = sign_in(&s, &mut b, "proconnect").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Demande d'accès transmise"), "{page}");
    assert!(!b.jar.contains_key("pl_session"), "{h:?}");
    let list = requests(&s).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let r = &list[0];
    assert_eq!(
        (
            r.email.as_str(),
            r.organisation.as_str(),
            r.subject.as_str(),
            r.name.as_str()
        ),
        ("alice.martin@caf976.fr", SIRET, "alice", "Alice Martin")
    );
    assert!(page.contains(&r.id));
    assert!(s
        .hub
        .ctx()
        .hub
        .store
        .account("alice.martin@caf976.fr")
        .unwrap()
        .is_none());

    // Still no account before the operator decides: the same request.
    let (status, _, page) = sign_in(&s, &mut b, "proconnect").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(requests(&s).await.len(), 1);

    // An unknown institution is refused; then the operator approves.
    let approve = |node: &str| Request::PartnerApprove {
        id: r.id.clone(),
        institution: passerelle_protocol::ids::NodeId::new(node).unwrap(),
    };
    let err = passerelle_hub::admin::request(&s.net.hub_dir(), approve("nobody"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("nobody"), "{err}");
    match passerelle_hub::admin::request(&s.net.hub_dir(), approve("caf-976"))
        .await
        .unwrap()
    {
        Response::Approved(email) => assert_eq!(email, "alice.martin@caf976.fr"),
        other => panic!("{other:?}"),
    }
    assert!(requests(&s).await.is_empty());
    // The account has no password: the password form does not open it.
    let account = s
        .hub
        .ctx()
        .hub
        .store
        .account("alice.martin@caf976.fr")
        .unwrap()
        .unwrap();
    assert!(!passerelle_hub_core::partners::verify_password(
        "!oidc",
        &account.password_hash
    ));

    // The next sign-in opens a session (a page of the portal goes on to
    // the partners' home, so that the session's SameSite=Strict cookie
    // comes with that navigation, which is no longer the provider's).
    let (status, _, page) = sign_in(&s, &mut b, "proconnect").await;
    assert_eq!(status, 200);
    assert!(page.contains("url=/partenaires\""), "{page}");
    assert!(b.jar.contains_key("pl_session"));
    assert!(
        !b.jar.contains_key("pl_oidc"),
        "the sign-in cookie is forgotten"
    );
    let (status, _, home) = b
        .request("GET", &format!("{}/partenaires", s.portal), "")
        .await;
    assert_eq!(status, 200);
    assert!(home.contains("Bonjour Alice Martin"), "{home}");
    assert!(s.logs.has_line(&[
        "partner signed in with a provider",
        "alice.martin@caf976.fr"
    ]));

    // Sign-out ends the session here and goes through the provider's logout.
    let csrf = hidden_field(&home, "csrf").unwrap();
    let (status, h, _) = b
        .request(
            "POST",
            &format!("{}/partenaires/deconnexion", s.portal),
            &format!("csrf={csrf}"),
        )
        .await;
    assert_eq!(status, 303);
    let to = location(&h).unwrap();
    assert!(
        to.starts_with(&format!("{}/session/end?id_token_hint=", s.issuer)),
        "{to}"
    );
    assert!(to.contains("post_logout_redirect_uri="), "{to}");
    let (status, _, _) = b.request("GET", &to, "").await;
    assert_eq!(
        status, 200,
        "the provider knows the token and the address back"
    );
    let (status, h, _) = b
        .request("GET", &format!("{}/partenaires", s.portal), "")
        .await;
    assert_eq!(
        (status, location(&h).as_deref()),
        (303, Some("/partenaires/connexion"))
    );

    // A removed account takes its binding with it: signing in again is a
    // new request, not a new account.
    passerelle_hub::admin::request(
        &s.net.hub_dir(),
        Request::PartnerRemove {
            email: "alice.martin@caf976.fr".into(),
        },
    )
    .await
    .unwrap();
    let (status, _, page) = sign_in(&s, &mut Browser::default(), "proconnect").await;
    assert_eq!(status, 200);
    assert!(page.contains("Demande d'accès transmise"), "{page}");
    assert_eq!(requests(&s).await.len(), 1);
    s.hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_tokens_and_replays_are_refused_and_logged() {
    let s = setup().await;
    s.net.enroll(&s.hub, "caf-976").await;

    // Tokens signed with the provider's key, one claim changed.
    for (provider, reason) in [("aud", "audience"), ("iss", "issuer"), ("exp", "expired")] {
        let mut b = Browser::default();
        let (status, _, page) = sign_in(&s, &mut b, provider).await;
        assert_eq!(status, 401, "{provider}: {page}");
        assert!(page.contains("La connexion n'a pas abouti"), "{page}");
        assert!(!b.jar.contains_key("pl_session"));
        assert!(
            s.logs.has_line(&[
                "partner sign-in refused: ID token",
                &format!("provider={provider}"),
                &format!("reason=\"{reason}\"")
            ]),
            "{provider} not logged:\n{}",
            s.logs.text()
        );
    }
    assert!(
        requests(&s).await.is_empty(),
        "no refused token makes a request"
    );

    // A browser whose authorization request had its nonce changed.
    let mut b = Browser::default();
    let auth = authorization(&s, &mut b, "proconnect").await;
    let forged = auth
        .split('&')
        .map(|p| {
            if p.starts_with("nonce=") {
                "nonce=forged-nonce"
            } else {
                p
            }
        })
        .collect::<Vec<_>>()
        .join("&");
    assert_ne!(forged, auth);
    let callback = to_callback(&s, &mut b, &forged).await;
    let (status, _, _) = b.request("GET", &callback, "").await;
    assert_eq!(status, 401);
    assert!(
        s.logs.has_line(&[
            "partner sign-in refused: ID token",
            "provider=proconnect",
            "reason=\"nonce\""
        ]),
        "nonce not logged:\n{}",
        s.logs.text()
    );

    // A callback used once, then replayed: with its own cookie, without
    // one, and with the cookie of another sign-in under way.
    let mut b = Browser::default();
    let auth = authorization(&s, &mut b, "proconnect").await;
    let callback = to_callback(&s, &mut b, &auth).await;
    let cookie = b.jar.get("pl_oidc").cloned().expect("sign-in cookie");
    let (status, _, page) = b.request("GET", &callback, "").await;
    assert_eq!(status, 200, "first use (a request): {page}");
    let replay = |cookie: Option<String>| {
        let callback = callback.clone();
        async move {
            let (addr, path): (SocketAddr, String) = passerelle_tests::oidc::split_url(&callback);
            let header = cookie.map(|c| format!("pl_oidc={c}")).unwrap_or_default();
            passerelle_tests::http(addr, "GET", &path, &[("Cookie", &header)], "").await
        }
    };
    let (status, _, _) = replay(Some(cookie)).await;
    assert_eq!(status, 400);
    let (status, _, _) = replay(None).await;
    assert_eq!(status, 400);
    assert!(s
        .logs
        .has_line(&["partner sign-in refused: no sign-in under way for this state"]));
    let mut other = Browser::default();
    authorization(&s, &mut other, "proconnect").await;
    let fresh = other
        .jar
        .get("pl_oidc")
        .cloned()
        .expect("another sign-in's cookie");
    let (status, _, _) = replay(Some(fresh)).await;
    assert_eq!(status, 400);
    assert!(s.logs.has_line(&[
        "partner sign-in refused: state does not match",
        "provider=proconnect"
    ]));
    assert!(!b.jar.contains_key("pl_session") && !other.jar.contains_key("pl_session"));
    s.hub.stop().await;
}

/// Follows a vault sign-in or attachment from the portal's reply `(status,
/// headers)` through the provider as `who`, and visits the callback.
async fn vault_round(
    s: &Setup,
    b: &mut Browser,
    reply: (u16, Vec<(String, String)>),
    who: &str,
) -> (u16, Vec<(String, String)>, String) {
    let auth = with_hint(s, reply.0, &reply.1, who);
    let stop = format!("{}/coffre/oidc/retour", s.portal);
    let (url, r) = b.follow(&auth, &stop).await;
    assert!(url.starts_with(&stop), "stopped at {url}: {r:?}");
    b.request("GET", &url, "").await
}

async fn vault_sign_in(
    s: &Setup,
    b: &mut Browser,
    who: &str,
) -> (u16, Vec<(String, String)>, String) {
    let (status, h, _) = b
        .request(
            "GET",
            &format!("{}/coffre/oidc/connexion/franceconnect", s.portal),
            "",
        )
        .await;
    vault_round(s, b, (status, h), who).await
}

fn jar_with(cookie: &str) -> Browser {
    let (k, v) = cookie.split_once('=').unwrap();
    let mut b = Browser::default();
    b.jar.insert(k.into(), v.into());
    b
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_attaches_franceconnect_and_signs_in_with_it() {
    use passerelle_tests::{http_bytes, multipart, vault};
    let s = setup().await;
    let addr = s.hub.http_addr;

    // Awa has a vault account with an upload.
    let (awa, rescue) =
        vault::create_account_with_rescue(addr, "awa@exemple.fr", "motdepasse-awa").await;
    let token = vault::csrf_at(addr, &awa).await;
    let doc = vault::pdf(b"attestation-awa", 4);
    let (ct, body) = multipart(&[
        ("csrf", None, token.as_bytes()),
        ("fichier", Some("a.pdf"), &doc),
    ]);
    let (status, _, _) = http_bytes(
        addr,
        "POST",
        "/coffre/depots",
        &[("Cookie", &awa), ("Content-Type", &ct)],
        &body,
    )
    .await;
    assert_eq!(status, 303);
    let person = s.hub.ctx().hub.store.clone();
    let vs = passerelle_vault::store::VaultStore::new(person);
    let awa_id = vs.person_by_login("awa@exemple.fr").unwrap().unwrap().id;
    let up = vs.uploads(&awa_id).unwrap().remove(0);
    let opens = |cookie: String| {
        let path = format!("/coffre/depots/{}", up.id);
        async move { http_bytes(addr, "GET", &path, &[("Cookie", &cookie)], b"").await }
    };

    // She attaches the provider from her vault.
    let mut phone = jar_with(&awa);
    let (status, _, page) = phone
        .request("GET", &format!("{}/coffre/franceconnect", s.portal), "")
        .await;
    assert_eq!(status, 200, "{page}");
    let csrf = hidden_field(&page, "csrf").unwrap();
    let (status, h, _) = phone
        .request(
            "POST",
            &format!("{}/coffre/oidc/relier", s.portal),
            &format!("csrf={csrf}&fournisseur=franceconnect"),
        )
        .await;
    let (status, _, page) = vault_round(&s, &mut phone, (status, h), "awa").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("est relié à votre coffre"), "{page}");
    assert!(
        phone.jar.contains_key("pv_appareil"),
        "this device is remembered"
    );
    assert_eq!(
        passerelle_vault::oidc::person_for(&s.hub.ctx().hub.store, "franceconnect", "awa").unwrap(),
        Some(awa_id.clone())
    );

    // Signed out, she signs in with the provider on this device: her
    // upload still opens (the data key was unwrapped).
    phone.jar.remove("pv_session");
    let (status, _, page) = vault_sign_in(&s, &mut phone, "awa").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("url=/coffre\""), "{page}");
    let session = format!(
        "pv_session={}",
        phone.jar.get("pv_session").expect("a session")
    );
    let (status, _, got) = opens(session.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(got, doc, "the upload opens after the provider's sign-in");

    // On a new device the provider alone does not open the vault: her
    // password once, and the provider then suffices there too.
    let mut laptop = Browser::default();
    let (status, _, page) = vault_sign_in(&s, &mut laptop, "awa").await;
    assert_eq!(status, 401, "{page}");
    assert!(page.contains("nouvel appareil"), "{page}");
    assert!(!laptop.jar.contains_key("pv_session"));
    let (_, _, form) = laptop
        .request("GET", &format!("{}/coffre/connexion", s.portal), "")
        .await;
    assert!(
        form.contains("Me connecter avec Fournisseur franceconnect"),
        "{form}"
    );
    let csrf = hidden_field(&form, "csrf").unwrap();
    let (status, _, _) = laptop
        .request(
            "POST",
            &format!("{}/coffre/connexion", s.portal),
            &format!("csrf={csrf}&identifiant=awa%40exemple.fr&mdp=motdepasse-awa"),
        )
        .await;
    assert_eq!(status, 303);
    assert!(laptop.jar.contains_key("pv_appareil"));
    laptop.jar.remove("pv_session");
    let (status, _, _) = vault_sign_in(&s, &mut laptop, "awa").await;
    assert_eq!(status, 200);
    let session = format!("pv_session={}", laptop.jar.get("pv_session").unwrap());
    assert_eq!(opens(session).await.2, doc);
    // The device cookie, under another provider identity, opens nothing:
    // Bob's provider account is attached to no vault. (A browser with
    // that cookie only: the provider's own session would sign Awa in.)
    let mut shared = jar_with(&format!("pv_appareil={}", laptop.jar["pv_appareil"]));
    let (status, _, page) = vault_sign_in(&s, &mut shared, "bob").await;
    assert_eq!(status, 401);
    assert!(page.contains("n'est relié à aucun coffre"), "{page}");

    // A password reset forgets every device (the data key may change
    // with it): the provider alone no longer opens the vault on the phone.
    let code = passerelle_vault::accounts::code(2);
    let t = passerelle_link::now();
    vs.put_code_replacing(
        passerelle_vault::store::CodeKind::Reset,
        &passerelle_vault::accounts::code_hash(&code),
        &passerelle_vault::store::PendingCode {
            person: awa_id.clone(),
            expires_at: t + 600,
            issued_by: "test".into(),
            attempts: 0,
        },
        t,
    )
    .unwrap();
    let mut desk = Browser::default();
    let (_, _, form) = desk
        .request("GET", &format!("{}/coffre/recuperer", s.portal), "")
        .await;
    let csrf = hidden_field(&form, "csrf").unwrap();
    let (status, _, page) = desk
        .request(
            "POST",
            &format!("{}/coffre/recuperer", s.portal),
            &format!("csrf={csrf}&identifiant=awa%40exemple.fr&code={code}&secours={rescue}&mdp=nouveau-awa&mdp2=nouveau-awa"),
        )
        .await;
    assert_eq!(status, 200, "{page}");
    phone.jar.remove("pv_session");
    let (status, _, page) = vault_sign_in(&s, &mut phone, "awa").await;
    assert_eq!(status, 401, "{page}");
    assert!(page.contains("nouvel appareil"), "{page}");

    // Bob, without the provider, is unaffected: password sign-in, no
    // device cookie.
    vault::create_account_at(addr, "bob@exemple.fr", "motdepasse-bob").await;
    let mut other = Browser::default();
    let (_, _, form) = other
        .request("GET", &format!("{}/coffre/connexion", s.portal), "")
        .await;
    let csrf = hidden_field(&form, "csrf").unwrap();
    let (status, _, _) = other
        .request(
            "POST",
            &format!("{}/coffre/connexion", s.portal),
            &format!("csrf={csrf}&identifiant=bob%40exemple.fr&mdp=motdepasse-bob"),
        )
        .await;
    assert_eq!(status, 303);
    assert!(other.jar.contains_key("pv_session") && !other.jar.contains_key("pv_appareil"));
    assert!(s
        .logs
        .has_line(&["vault sign-in refused: provider identity attached to no account"]));
    s.hub.stop().await;
}
