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

use passerelle_hub::admin::{Request, Response};
use passerelle_tests::{
    hidden_field,
    oidc::{location, Browser},
    oidc_setup::{setup, with_hint, Setup, SIRET},
};

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
