//! The vault's pages for the people who read them: times in Mayotte's
//! local time, end dates that mean the end of the day there, and the
//! language switch (cookie, `Accept-Language`, the `lang` of the page),
//! over real HTTP against a real hub.

use passerelle_hub_core::french;
use passerelle_tests::{
    http,
    vault::{create_account, csrf, link, page},
    Net,
};

/// The value of a response header (names are lower case).
fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn vault_pages_show_mayotte_time_and_consents_end_at_local_midnight() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let cd = net.node(&hub, "cd-976").await;
    let before = passerelle_link::now();
    let awa = create_account(&hub, "0639123456", "motdepasse-awa").await;
    link(&hub, &awa, &net.node_dir("cd-976"), "CD-55").await;
    let after = passerelle_link::now();

    // The journal says when the account was created, in Mayotte's time
    // and named so; never in UTC.
    let (status, journal) = page(&hub, &awa, "/coffre/journal").await;
    assert_eq!(status, 200);
    assert!(!journal.contains("UTC"), "{journal}");
    let shown = |t: u64| format!("<td>{}</td>", french::date(t));
    assert!(
        (before..=after).any(|t| journal.contains(&shown(t))),
        "the creation time in Mayotte time: {journal}"
    );

    // A consent "until" a day, typed in the form: it runs to midnight at
    // the end of that day in Mayotte, and reads as that day, included.
    let fin = french::day(after + 10 * 86_400);
    let token = csrf(&hub, &awa).await;
    let form =
        format!("csrf={token}&categorie=housing&qui=inst%3Acd-976&demarche=rsa&autre=&fin={fin}");
    let (status, _, p) = http(
        hub.http_addr,
        "POST",
        "/coffre/partages",
        &[("Cookie", &awa)],
        &form,
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert!(p.contains("L'autorisation est donnée."), "{p}");
    let c = hub.ctx().vault().store.all_consents().unwrap().remove(0);
    let end = french::end_of_day(&fin).unwrap();
    assert_eq!(c.consent.not_after, end);
    // Midnight in Mayotte is 21:00 UTC the day before midnight UTC.
    assert_eq!(end % 86_400, 21 * 3600);
    assert!(c.active(end - 60) && !c.active(end));
    let last = french::last_day(end).unwrap();
    assert_eq!(
        last,
        format!("{}/{}/{}", &fin[8..10], &fin[5..7], &fin[..4])
    );
    assert!(p.contains(&format!("<td>{last} inclus</td>")), "{p}");
    assert!(p.contains("minuit, heure de Mayotte"), "{p}");

    cd.stop().await;
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_language_switch_sets_a_cookie_and_the_page_says_its_language() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let addr = hub.http_addr;

    // French by default, with the switch on vault pages only.
    let (_, _, p) = http(addr, "GET", "/coffre", &[], "").await;
    assert!(p.contains("<html lang=\"fr\">"), "{p}");
    assert!(p.contains("aria-label=\"Langue\""), "{p}");
    assert!(
        p.contains("href=\"/coffre/langue/swb?retour=%2Fcoffre\"")
            && p.contains("(en cours de traduction)"),
        "{p}"
    );
    let (_, _, public) = http(addr, "GET", "/", &[("Cookie", "lang=swb")], "").await;
    assert!(
        public.contains("<html lang=\"fr\">"),
        "the public portal stays French"
    );
    assert!(
        !public.contains("/coffre/langue/"),
        "no switch outside the vault"
    );

    // The browser's language is the default; the cookie wins over it.
    let (_, _, p) = http(
        addr,
        "GET",
        "/coffre/connexion",
        &[("Accept-Language", "swb, fr;q=0.5")],
        "",
    )
    .await;
    assert!(p.contains("<html lang=\"swb\">"), "{p}");
    // No reviewed Shimaore yet: every message falls back to French.
    assert!(
        p.contains("Me connecter") && p.contains("Mot de passe"),
        "{p}"
    );
    assert!(
        p.contains("href=\"/coffre/langue/fr?retour=%2Fcoffre%2Fconnexion\""),
        "{p}"
    );
    let (_, _, p) = http(
        addr,
        "GET",
        "/coffre/connexion",
        &[("Accept-Language", "swb"), ("Cookie", "lang=fr")],
        "",
    )
    .await;
    assert!(p.contains("<html lang=\"fr\">"), "{p}");

    // The switch: a plain link that sets the cookie and goes back.
    let (status, h, _) = http(
        addr,
        "GET",
        "/coffre/langue/swb?retour=/coffre/recuperer",
        &[],
        "",
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(header(&h, "location"), Some("/coffre/recuperer"));
    let cookie = header(&h, "set-cookie").unwrap();
    assert!(
        cookie.starts_with("lang=swb;") && cookie.contains("Max-Age=31536000"),
        "{cookie}"
    );
    // Signed in, in the chosen language: every vault page says it.
    let awa = create_account(&hub, "0639123456", "motdepasse-awa").await;
    let jar = format!("{awa}; lang=swb");
    for path in ["/coffre", "/coffre/partages", "/coffre/journal"] {
        let (status, p) = page(&hub, &jar, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(p.contains("<html lang=\"swb\">"), "{path}: {p}");
        assert!(
            p.contains(&format!("retour={}", path.replace('/', "%2F"))),
            "{path}"
        );
    }
    // Only vault pages are places to go back to; unknown languages are
    // not found.
    for (query, to) in [
        ("retour=//evil.example/coffre", "/coffre"),
        ("retour=https://evil.example", "/coffre"),
        ("retour=/partenaires", "/coffre"),
        ("retour=/coffre/../partenaires", "/coffre"),
        ("", "/coffre"),
        ("retour=/coffre/journal", "/coffre/journal"),
    ] {
        let (status, h, _) =
            http(addr, "GET", &format!("/coffre/langue/fr?{query}"), &[], "").await;
        assert_eq!(status, 303, "{query}");
        assert_eq!(header(&h, "location"), Some(to), "{query}");
    }
    let (status, _, _) = http(addr, "GET", "/coffre/langue/xx", &[], "").await;
    assert_eq!(status, 404);
    hub.stop().await;
}
