//! FranceConnect (any `[[vault_oidc]]` provider) for the vault, against
//! the real provider on loopback (`tests/oidc/provider.mjs`): a person
//! attaches it and signs in with it, their upload still opens; a new
//! device needs the password once; a password reset forgets the devices;
//! an unattached identity is refused; a person without it is unaffected.

use passerelle_tests::{
    hidden_field,
    oidc::Browser,
    oidc_setup::{jar_with, setup, with_hint, Setup},
};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_attaches_franceconnect_and_signs_in_with_it() {
    use passerelle_tests::{http_bytes, vault};
    let s = setup().await;
    let addr = s.hub.http_addr;

    // Awa has a vault account with an upload.
    let (awa, rescue) =
        vault::create_account_with_rescue(addr, "awa@exemple.fr", "motdepasse-awa").await;
    let doc = vault::pdf(b"attestation-awa", 4);
    assert_eq!(vault::upload(addr, &awa, None, "a.pdf", &doc).await, 303);
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
