//! The public portal over real HTTP: French pages, security headers, and
//! no public page, download or API response carrying a small cell.

use passerelle_tests::{http_get, rows, rows_csv, Net};

#[path = "portal/audience.rs"]
mod audience;
#[path = "portal/breakdowns.rs"]
mod breakdowns;
#[path = "portal/directory_actors.rs"]
mod directory_actors;
#[path = "portal/exports.rs"]
mod exports;
#[path = "portal/figures.rs"]
mod figures;
#[path = "portal/programmes.rs"]
mod programmes;
#[path = "portal/small_cells.rs"]
mod small_cells;

#[tokio::test]
async fn pages_are_french_with_security_headers_level_switch_and_openapi() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let node = net
        .data_node(
            &hub,
            "asso-a",
            Some(&rows_csv(&rows(8, &["2025-T1", "2025-T2"]))),
            false,
        )
        .await;
    passerelle_tests::refresh(&hub, "personnes-recues").await;

    let (status, headers, html) = http_get(hub.http_addr, "/").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("<html lang=\"fr\">") && html.contains("Thèmes"),
        "{html}"
    );
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert!(header("content-security-policy").contains("default-src 'self'"));
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("x-content-type-options"), "nosniff");

    let (status, _, html) =
        http_get(hub.http_addr, "/indicateur/personnes-recues?niveau=epci").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("aria-current=\"page\">Par intercommunalité (EPCI)"),
        "level switch"
    );
    assert!(
        html.contains("CC de Petite-Terre")
            && html.contains("Pourquoi certains chiffres sont masqués")
    );
    assert!(
        html.contains("<caption>Évolution : Personnes reçues"),
        "the time series is also a table"
    );
    let (status, _, html) = http_get(hub.http_addr, "/theme/activite").await;
    assert_eq!(status, 200);
    assert!(html.contains("<svg") && html.contains("Personnes reçues"));
    assert!(
        html.len() < 150 * 1024,
        "dashboard with its map is {} bytes",
        html.len()
    );

    let (status, _, html) = http_get(hub.http_addr, "/indicateur/inconnu").await;
    assert_eq!(status, 404);
    assert!(html.contains("Page introuvable"));
    // Every area's errors come out of one error type: the French page in
    // the site's shell, never cached, with the security headers.
    let (status, headers, html) = http_get(hub.http_addr, "/nulle-part").await;
    assert_eq!(status, 404);
    assert!(
        html.contains("Page introuvable") && html.contains("Mon coffre-fort"),
        "{html}"
    );
    let has = |name: &str, value: &str| headers.iter().any(|(k, v)| k == name && v == value);
    assert!(has("cache-control", "no-store"), "{headers:?}");
    assert!(has("x-content-type-options", "nosniff"), "{headers:?}");
    let (status, _, html) = http_get(
        hub.http_addr,
        "/donnees/personnes-recues.csv?niveau=quartier",
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        html.contains("Niveau inconnu") && html.contains("<html lang=\"fr\""),
        "{html}"
    );
    let (status, _, html) = http_get(hub.http_addr, "/ressources/absent.pdf").await;
    assert_eq!(status, 404);
    assert!(html.contains("Page introuvable"), "{html}");
    let (status, _, doc) = http_get(hub.http_addr, "/api/openapi.json").await;
    assert_eq!(status, 200);
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    assert!(doc["paths"]["/api/indicators/{id}"]["get"].is_object());
    let (status, _, geo) = http_get(hub.http_addr, "/api/geography").await;
    assert_eq!(status, 200);
    assert!(geo.contains("\"population_2017\":71437"));
    node.stop().await;
    hub.stop().await;
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    h.iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

fn cookie(h: &[(String, String)], name: &str) -> Option<String> {
    header(h, "set-cookie").iter().find_map(|c| {
        c.strip_prefix(&format!("{name}="))?
            .split(';')
            .next()
            .map(String::from)
    })
}

#[tokio::test]
async fn partner_pages_need_a_session_and_every_form_its_token() {
    use passerelle_tests::http;
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let node = net
        .data_node(
            &hub,
            "asso-a",
            Some(&rows_csv(&rows(9, &["2025-T1", "2025-T2"]))),
            false,
        )
        .await;
    for id in ["personnes-recues", "communes-desservies"] {
        passerelle_tests::refresh(&hub, id).await;
    }
    let inst = passerelle_protocol::ids::NodeId::new("asso-a").unwrap();
    let password = passerelle_tests::vault::add_partner(&hub, "Agent@Asso.fr", "Agent A", &inst);
    let addr = hub.http_addr;

    // No session: every partner page sends to the sign-in form.
    for path in ["/partenaires", "/partenaires/rapport"] {
        let (status, h, _) = http_get(addr, path).await;
        assert_eq!(
            (status, header(&h, "location")),
            (303, vec!["/partenaires/connexion"]),
            "{path}"
        );
    }

    // The sign-in form sets a double-submit token.
    let (status, h, form) = http_get(addr, "/partenaires/connexion").await;
    assert_eq!(status, 200);
    let token = cookie(&h, "pl_login").unwrap();
    assert!(form.contains(&format!("name=\"csrf\" value=\"{token}\"")));
    let jar = format!("pl_login={token}");
    let good = format!("email=agent%40asso.fr&password={password}&csrf={token}");

    // Without the token, or with another one: refused.
    let (status, _, _) = http(
        addr,
        "POST",
        "/partenaires/connexion",
        &[("Cookie", &jar)],
        &format!("email=agent%40asso.fr&password={password}"),
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, _) = http(
        addr,
        "POST",
        "/partenaires/connexion",
        &[("Cookie", "pl_login=other")],
        &good,
    )
    .await;
    assert_eq!(status, 403);

    // A wrong password is refused in French.
    let (status, _, page) = http(
        addr,
        "POST",
        "/partenaires/connexion",
        &[("Cookie", &jar)],
        &format!("email=agent%40asso.fr&password=faux&csrf={token}"),
    )
    .await;
    assert_eq!(status, 401);
    assert!(page.contains("Adresse ou mot de passe incorrect"));

    // The right one opens a session in a hardened cookie.
    let (status, h, _) = http(
        addr,
        "POST",
        "/partenaires/connexion",
        &[("Cookie", &jar)],
        &good,
    )
    .await;
    assert_eq!(status, 303);
    let set = header(&h, "set-cookie")
        .into_iter()
        .find(|c| c.starts_with("pl_session="))
        .unwrap()
        .to_string();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict"] {
        assert!(set.contains(attr), "{set}");
    }
    let session = format!("pl_session={}", cookie(&h, "pl_session").unwrap());
    let (status, h, home) = http(addr, "GET", "/partenaires", &[("Cookie", &session)], "").await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "cache-control"), vec!["no-store"]);
    assert!(
        home.contains("Le réseau")
            && home.contains("Institution asso-a")
            && home.contains("personnes_recues"),
        "{home}"
    );
    let (status, _, report) = http(
        addr,
        "GET",
        "/partenaires/rapport?territoire=976",
        &[("Cookie", &session)],
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        report.contains("Bilan d'activité — Mayotte — 2025-T2")
            && report.contains("Communes où des personnes ont été reçues"),
        "{report}"
    );
    assert!(report.contains("id=\"imprimer\"") && report.contains("/static/imprimer.js"));
    assert!(
        report.contains("Programme :</strong> Institution asso-a"),
        "{report}"
    );
    assert!(
        !report.contains("Contrats d'engagement"),
        "another programme's indicator: {report}"
    );

    // Sign-out without the session's token is refused; with it, it works.
    let (status, _, _) = http(
        addr,
        "POST",
        "/partenaires/deconnexion",
        &[("Cookie", &session)],
        "",
    )
    .await;
    assert_eq!(status, 403);
    let csrf = home
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let (status, _, _) = http(
        addr,
        "POST",
        "/partenaires/deconnexion",
        &[("Cookie", &session)],
        &format!("csrf={csrf}"),
    )
    .await;
    assert_eq!(status, 303);
    let (status, _, _) = http(addr, "GET", "/partenaires", &[("Cookie", &session)], "").await;
    assert_eq!(status, 303, "the session is closed");

    // Sign-in attempts are limited per address (10 at once by default,
    // then one every 6 s; every attempt counted before any work): two
    // were made above, so at least 8 more pass (a few more if the bucket
    // refilled meanwhile), then the next is refused.
    let bad = format!("email=agent%40asso.fr&password=faux&csrf={token}");
    let mut codes = Vec::new();
    while codes.last() != Some(&429) && codes.len() < 20 {
        codes.push(
            http(
                addr,
                "POST",
                "/partenaires/connexion",
                &[("Cookie", &jar)],
                &bad,
            )
            .await
            .0,
        );
    }
    assert!(
        codes.iter().filter(|c| **c == 401).count() >= 8,
        "{codes:?}"
    );
    assert_eq!(codes.last(), Some(&429), "{codes:?}");
    let (status, _, _) = http(
        addr,
        "POST",
        "/partenaires/connexion",
        &[("Cookie", &jar)],
        &good,
    )
    .await;
    assert_eq!(
        status, 429,
        "blocked even with the right password until the bucket refills"
    );
    // A forged X-Forwarded-For changes nothing when no proxy is trusted.
    let spoof = [
        ("Cookie", jar.as_str()),
        ("X-Forwarded-For", "198.51.100.7"),
    ];
    assert_eq!(
        http(addr, "POST", "/partenaires/connexion", &spoof, &good)
            .await
            .0,
        429
    );

    // At most five accounts per institution.
    for i in 2..=5 {
        passerelle_hub_core::partners::add(&hub.ctx().hub, &format!("a{i}@asso.fr"), "A", &inst, 0)
            .unwrap();
    }
    let err = passerelle_hub_core::partners::add(&hub.ctx().hub, "a6@asso.fr", "A", &inst, 0)
        .unwrap_err();
    assert!(err.to_string().contains("already has 5 accounts"), "{err}");
    node.stop().await;
    hub.stop().await;
}

#[tokio::test]
async fn directory_entries_travel_over_the_link_and_are_searchable() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let root = net.enroll(&hub, "asso-a").await;
    let path = root.join("node.toml");
    let mut config = passerelle_config::NodeConfig::load(&path).unwrap();
    config.directory = Some(passerelle_protocol::directory::DirectoryEntry {
        description: "Aide aux démarches en ligne".into(),
        services: vec!["Permanence numérique".into()],
        themes: vec!["numerique".into()],
        communes: vec!["97601".into()],
        hours: "Le mardi".into(),
        ..Default::default()
    });
    std::fs::write(&path, config.template()).unwrap();
    let node = passerelle_node::serve::start(&root).await.unwrap();
    passerelle_tests::wait_connected(&hub, "asso-a").await;
    let store = hub.ctx().hub.store.clone();
    passerelle_tests::eventually(
        "directory entry received",
        std::time::Duration::from_secs(10),
        || {
            let n = store.directory().map(|d| d.len()).unwrap_or(0);
            async move { n == 1 }
        },
    )
    .await;

    let (status, _, all) = http_get(hub.http_addr, "/annuaire").await;
    assert_eq!(status, 200);
    assert!(
        all.contains("Institution asso-a")
            && all.contains("Permanence numérique")
            && all.contains("Acoua"),
        "{all}"
    );
    let (_, _, acoua) = http_get(
        hub.http_addr,
        "/annuaire?commune=97601&theme=numerique&q=d%C3%A9marches",
    )
    .await;
    assert!(
        acoua.contains("1 structure(s).") && acoua.contains("Institution asso-a"),
        "{acoua}"
    );
    let (_, _, elsewhere) = http_get(hub.http_addr, "/annuaire?commune=97611").await;
    assert!(elsewhere.contains("0 structure(s).") && !elsewhere.contains("Institution asso-a"));

    // A bad entry in node.toml is refused, naming the key.
    let mut bad = config.clone();
    bad.directory.as_mut().unwrap().communes = vec!["75056".into()];
    std::fs::write(net.tmp.path().join("bad.toml"), bad.template()).unwrap();
    let err = passerelle_config::NodeConfig::load(&net.tmp.path().join("bad.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("key `directory`") && err.contains("\"75056\""),
        "{err}"
    );
    node.stop().await;
    hub.stop().await;
}

/// Signs in through the form; returns the session cookie and its CSRF token.
async fn sign_in(addr: std::net::SocketAddr, email: &str, password: &str) -> (String, String) {
    use passerelle_tests::http;
    let (_, h, _) = http_get(addr, "/partenaires/connexion").await;
    let token = cookie(&h, "pl_login").unwrap();
    let form = format!(
        "email={}&password={password}&csrf={token}",
        email.replace('@', "%40")
    );
    let (status, h, _) = http(
        addr,
        "POST",
        "/partenaires/connexion",
        &[("Cookie", &format!("pl_login={token}"))],
        &form,
    )
    .await;
    assert_eq!(status, 303);
    let session = format!("pl_session={}", cookie(&h, "pl_session").unwrap());
    let (_, _, home) = http(addr, "GET", "/partenaires", &[("Cookie", &session)], "").await;
    let csrf = home
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    (session, csrf)
}

fn multipart(csrf: &str, title: &str, file: &str) -> String {
    let b = "----passerelle";
    let mut s = String::new();
    for (k, v) in [
        ("csrf", csrf),
        ("title", title),
        ("theme", "emploi"),
        ("date", "2025-06-30"),
    ] {
        s.push_str(&format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    s.push_str(&format!("--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"etude.pdf\"\r\nContent-Type: application/pdf\r\n\r\n{file}\r\n--{b}--\r\n"));
    s
}

#[tokio::test]
async fn partners_publish_pdfs_that_the_public_downloads_and_nothing_else() {
    use passerelle_tests::http;
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let node = net.data_node(&hub, "asso-a", None, false).await;
    let inst = passerelle_protocol::ids::NodeId::new("asso-a").unwrap();
    let password = passerelle_tests::vault::add_partner(&hub, "agent@asso.fr", "Agent A", &inst);
    let addr = hub.http_addr;
    let ct = (
        "Content-Type",
        "multipart/form-data; boundary=----passerelle",
    );
    let pdf = "%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";

    // No session: sent to sign in, nothing stored.
    let (status, _, _) = http(
        addr,
        "POST",
        "/partenaires/ressources",
        &[ct],
        &multipart("x", "Étude", pdf),
    )
    .await;
    assert_eq!(status, 303);
    let (session, csrf) = sign_in(addr, "agent@asso.fr", &password).await;
    // A session without its token: refused.
    let (status, _, _) = http(
        addr,
        "POST",
        "/partenaires/ressources",
        &[ct, ("Cookie", &session)],
        &multipart("autre", "Étude", pdf),
    )
    .await;
    assert_eq!(status, 403);
    // A JPEG named .pdf: refused in French, nothing stored.
    let jpeg = "\u{ff}\u{d8}\u{ff}\u{e0}JFIF";
    let (status, _, page) = http(
        addr,
        "POST",
        "/partenaires/ressources",
        &[ct, ("Cookie", &session)],
        &multipart(&csrf, "Photo", jpeg),
    )
    .await;
    assert_eq!(status, 422);
    assert!(page.contains("n'est pas un PDF"), "{page}");
    assert!(hub
        .ctx()
        .hub
        .store
        .resources::<passerelle_observatory::resources::Resource>()
        .unwrap()
        .is_empty());

    // A real PDF is published and downloadable by anyone, byte for byte.
    let (status, h, _) = http(
        addr,
        "POST",
        "/partenaires/ressources",
        &[ct, ("Cookie", &session)],
        &multipart(&csrf, "Bilan 2025", pdf),
    )
    .await;
    assert_eq!((status, header(&h, "location")), (303, vec!["/ressources"]));
    let (_, _, list) = http_get(addr, "/ressources?theme=emploi").await;
    assert!(
        list.contains("Bilan 2025") && list.contains("Institution asso-a"),
        "{list}"
    );
    let id = list
        .split("/ressources/")
        .nth(1)
        .unwrap()
        .split(".pdf")
        .next()
        .unwrap()
        .to_string();
    let (status, h, body) = http_get(addr, &format!("/ressources/{id}.pdf")).await;
    assert_eq!(status, 200);
    assert_eq!(header(&h, "content-type"), vec!["application/pdf"]);
    assert_eq!(body, pdf);
    let (status, _, _) = http_get(addr, "/ressources/..%2Fhub.pdf").await;
    assert_eq!(status, 404);
    node.stop().await;
    hub.stop().await;
}

#[tokio::test]
async fn the_portal_serves_https_with_hsts_when_given_certificate_files() {
    let net = Net::new();
    // A certificate for 127.0.0.1, as a site's PEM files would be.
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let (cert_path, key_path) = (
        net.tmp.path().join("portail.crt"),
        net.tmp.path().join("portail.key"),
    );
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let config = net.hub_dir().join("hub.toml");
    let mut c = passerelle_config::HubConfig::load(&config).unwrap();
    (c.https_cert, c.https_key) = (Some(cert_path), Some(key_path));
    std::fs::write(&config, c.template()).unwrap();
    let hub = net.start_hub(None).await;
    let addr = hub.http_addr;

    let page = passerelle_tests::https_get(addr, &cert, "/").await;
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(
        page.to_ascii_lowercase()
            .contains("strict-transport-security: max-age=31536000"),
        "{page}"
    );
    assert!(page.contains("<html lang=\"fr\">"));
    // Plain HTTP on the HTTPS port gets no page.
    let (status, _, _) = http_get(addr, "/").await;
    assert_ne!(status, 200);

    // A client that never finishes its headers is cut off, over TLS too.
    let tls = tokio_rustls::TlsConnector::from(passerelle_tests::tls_client(&cert))
        .connect(
            rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap(),
            tokio::net::TcpStream::connect(addr).await.unwrap(),
        )
        .await
        .unwrap();
    hung_up_on_before_its_headers_end(tls).await;
    hub.stop().await;
}

/// Sends the start of a request and never its end, and returns once the
/// portal hangs up (its header timeout is ten seconds); fails if the
/// connection is still open after thirty.
async fn hung_up_on_before_its_headers_end(
    mut io: impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    io.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        .await
        .unwrap();
    io.flush().await.unwrap();
    let mut page = Vec::new();
    let closed = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = io.read(&mut buf).await {
            page.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "a client slow to send its headers is still connected"
    );
    let page = String::from_utf8_lossy(&page);
    assert!(!page.contains("<html"), "{page}");
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let tcp = tokio::net::TcpStream::connect(hub.http_addr).await.unwrap();
    hung_up_on_before_its_headers_end(tcp).await;
    // The portal still serves everyone else.
    let (status, _, _) = http_get(hub.http_addr, "/").await;
    assert_eq!(status, 200);
    hub.stop().await;
}

#[tokio::test]
async fn withdrawn_accounts_and_revoked_institutions_lose_their_sessions() {
    use passerelle_hub::admin::{dispatch_live, Request};
    use passerelle_tests::http;
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let node = net.data_node(&hub, "asso-a", None, false).await;
    let inst = passerelle_protocol::ids::NodeId::new("asso-a").unwrap();
    let p1 = passerelle_tests::vault::add_partner(&hub, "un@asso.fr", "Un", &inst);
    let p2 = passerelle_tests::vault::add_partner(&hub, "deux@asso.fr", "Deux", &inst);
    let addr = hub.http_addr;
    let (s1, _) = sign_in(addr, "un@asso.fr", &p1).await;
    let (s2, _) = sign_in(addr, "deux@asso.fr", &p2).await;
    for s in [&s1, &s2] {
        assert_eq!(
            http(addr, "GET", "/partenaires", &[("Cookie", s)], "")
                .await
                .0,
            200
        );
    }
    // Removing an account ends its sessions at once.
    dispatch_live(
        hub.ctx(),
        Request::PartnerRemove {
            email: "un@asso.fr".into(),
        },
    )
    .await;
    assert_eq!(
        http(addr, "GET", "/partenaires", &[("Cookie", &s1)], "")
            .await
            .0,
        303
    );
    assert_eq!(
        http(addr, "GET", "/partenaires", &[("Cookie", &s2)], "")
            .await
            .0,
        200
    );
    // Revoking the institution ends its staff's sessions, and they cannot
    // sign in again.
    dispatch_live(
        hub.ctx(),
        Request::Revoke {
            node_id: inst.clone(),
        },
    )
    .await;
    assert_eq!(
        http(addr, "GET", "/partenaires", &[("Cookie", &s2)], "")
            .await
            .0,
        303
    );
    let (_, h, _) = http_get(addr, "/partenaires/connexion").await;
    let token = cookie(&h, "pl_login").unwrap();
    let form = format!("email=deux%40asso.fr&password={p2}&csrf={token}");
    let (status, _, _) = http(
        addr,
        "POST",
        "/partenaires/connexion",
        &[("Cookie", &format!("pl_login={token}"))],
        &form,
    )
    .await;
    assert_eq!(status, 401);
    node.stop().await;
    hub.stop().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_has_its_own_sign_in_limit() {
    use passerelle_tests::http;
    let net = Net::new();
    let config = net.hub_dir().join("hub.toml");
    let mut c = passerelle_config::HubConfig::load(&config).unwrap();
    c.trusted_proxy = Some("127.0.0.1".parse().unwrap());
    std::fs::write(&config, c.template()).unwrap();
    let hub = net.start_hub(None).await;
    let addr = hub.http_addr;
    let (_, h, _) = http_get(addr, "/partenaires/connexion").await;
    let token = cookie(&h, "pl_login").unwrap();
    let jar = format!("pl_login={token}");
    let bad = format!("email=x%40y.fr&password=faux&csrf={token}");
    // Ten at once, then one every 6 s: a refusal comes within a few more.
    let mut codes = Vec::new();
    while codes.last() != Some(&429) && codes.len() < 20 {
        let h = [
            ("Cookie", jar.as_str()),
            ("X-Forwarded-For", "10.9.9.9, 203.0.113.1"),
        ];
        codes.push(
            http(addr, "POST", "/partenaires/connexion", &h, &bad)
                .await
                .0,
        );
    }
    assert!(
        codes.iter().filter(|c| **c == 401).count() >= 10,
        "{codes:?}"
    );
    assert_eq!(codes.last(), Some(&429), "{codes:?}");
    // Another client behind the same proxy is not locked out (signing in
    // to another account: the first one has its own limit too).
    let h = [
        ("Cookie", jar.as_str()),
        ("X-Forwarded-For", "10.9.9.9, 203.0.113.2"),
    ];
    let other = format!("email=z%40y.fr&password=faux&csrf={token}");
    assert_eq!(
        http(addr, "POST", "/partenaires/connexion", &h, &other)
            .await
            .0,
        401
    );
    hub.stop().await;
}

/// Password guesses spread over many addresses still meet a limit: after
/// `login_per_minute` attempts on one account within a minute, the next
/// is refused before any password check, whatever its address; another
/// account is not affected.
#[tokio::test]
async fn sign_in_attempts_are_limited_per_account_across_addresses() {
    use passerelle_tests::http_bytes_from;
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let addr = hub.http_addr;
    let per_minute = hub.ctx().hub.config.login_per_minute.get();
    let (_, h, _) = http_get(addr, "/partenaires/connexion").await;
    let token = cookie(&h, "pl_login").unwrap();
    let jar = format!("pl_login={token}");
    let attempt = |n: u32, email: &'static str| {
        let jar = jar.clone();
        let token = token.clone();
        async move {
            // Each attempt from its own address: the per-address limit
            // never applies.
            let source = std::net::IpAddr::from([127, 0, 1, n as u8 + 1]);
            let body = format!("email={email}&password=faux&csrf={token}");
            let (status, _, page) = http_bytes_from(
                Some(source),
                addr,
                "POST",
                "/partenaires/connexion",
                &[("Cookie", &jar)],
                body.as_bytes(),
            )
            .await;
            (status, String::from_utf8_lossy(&page).into_owned())
        }
    };
    // The window is the wall-clock minute: if it turns during the burst
    // the count starts again, so allow up to two windows' worth.
    let mut refused = None;
    for n in 0..2 * per_minute + 1 {
        let (status, page) = attempt(n, "agent%40asso.fr").await;
        match status {
            401 => assert!(page.contains("Adresse ou mot de passe incorrect")),
            429 => {
                refused = Some((n, page));
                break;
            }
            other => panic!("attempt {n}: {other}"),
        }
    }
    let (n, page) = refused.expect("the account's attempts were never limited");
    assert!(n >= per_minute, "limited after {n} attempts");
    assert!(page.contains("Trop de tentatives pour ce compte"), "{page}");
    // Another account, from yet another address, is checked as usual.
    let (status, _) = attempt(200, "autre%40asso.fr").await;
    assert_eq!(status, 401);
    hub.stop().await;
}

/// The legal pages answer in French with the configured contact, and every
/// page starts with the skip link and ends with the legal links.
#[tokio::test]
async fn legal_pages_are_linked_from_every_page_with_the_contact() {
    let net = Net::new();
    let toml = net.hub_dir().join("hub.toml");
    let mut c = passerelle_config::HubConfig::load(&toml).unwrap();
    c.contact = Some("dpo@deets.example.fr".into());
    std::fs::write(&toml, c.template()).unwrap();
    let hub = net.start_hub(None).await;
    let addr = hub.http_addr;
    for (path, says) in [
        ("/mentions-legales", "Qui publie ce site"),
        ("/donnees-personnelles", "Vos droits"),
        ("/accessibilite", "non conforme"),
    ] {
        let (status, _, page) = http_get(addr, path).await;
        assert_eq!(status, 200, "{path}");
        assert!(page.contains(says), "{path}: {page}");
        assert!(
            page.contains("mailto:dpo@deets.example.fr"),
            "{path}: {page}"
        );
    }
    for path in ["/", "/coffre", "/annuaire", "/verifier", "/confiance"] {
        let (_, _, page) = http_get(addr, path).await;
        let skip = page.find("href=\"#contenu\"").expect("skip link");
        let header = page.find("<header").expect("header");
        assert!(skip < header, "{path}: the skip link comes first");
        for link in [
            "/mentions-legales",
            "/donnees-personnelles",
            "/accessibilite",
        ] {
            assert!(page.contains(&format!("href=\"{link}\"")), "{path}: {link}");
        }
    }
    hub.stop().await;
}
