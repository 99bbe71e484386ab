//! A person shares one of their own uploads with a partner professional
//! over real HTTP on loopback: the professional downloads the same bytes,
//! revocation ends it, and nothing in the hub's folder holds the upload's
//! key, the person's data key or the professional's private key in a form
//! the operator could use (nor the database, when the hub's store is one).

use std::path::{Path, PathBuf};

use passerelle_protocol::{audit::Action, ids::NodeId, seal};
use passerelle_tests::{
    hidden_field, http, http_bytes, set_cookie,
    vault::{add_partner, create_account, csrf, link, page, partner_session, upload},
    Net,
};

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if std::fs::symlink_metadata(&p).unwrap().is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Every file under `dir` that holds `needle` anywhere.
fn holding(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut all = Vec::new();
    files_under(dir, &mut all);
    all.into_iter()
        .filter(|p| {
            std::fs::read(p)
                .map(|b| b.windows(needle.len()).any(|w| w == needle))
                .unwrap_or(false)
        })
        .collect()
}

/// [`holding`] over the hub's folder and, when the hub's store is a
/// PostgreSQL database, over every record in it (read through the store's
/// export), named "(the database)".
fn at_rest(net: &Net, store: &passerelle_hub_core::store::Store, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = holding(&net.hub_dir(), needle);
    if net.on_postgres() {
        let mut records = Vec::new();
        passerelle_link::backup::dump::dump(store, &mut records).unwrap();
        if records.windows(needle.len()).any(|w| w == needle) {
            found.push(PathBuf::from("(the database)"));
        }
    }
    found
}

fn cookie_value(cookie: &str) -> &str {
    cookie.split_once('=').unwrap().1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_person_shares_an_upload_with_a_professional_until_revoked() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let caf = net.node(&hub, "caf-976").await;
    let cd = net.node(&hub, "cd-976").await;
    let caf_id = NodeId::new("caf-976").unwrap();
    let cd_id = NodeId::new("cd-976").unwrap();
    add_partner(&hub, "ana@caf976.fr", "Ana Madi", &caf_id);
    add_partner(&hub, "bob@cd976.fr", "Bob Ali", &cd_id);
    // Ana signs in once: her key pair is made, its private half sealed
    // under her password.
    let ana = partner_session(&hub, "ana@caf976.fr").await;
    let bob = partner_session(&hub, "bob@cd976.fr").await;

    let awa = create_account(&hub, "0639123456", "motdepasse-awa").await;
    link(&hub, &awa, &net.node_dir("caf-976"), "CAF-1").await;
    let store = &hub.ctx().vault().store;
    let person = store.person_by_login("0639123456").unwrap().unwrap().id;

    // An upload of random bytes (no compression shrinks them).
    let mut noise = vec![0u8; 4096];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut noise).unwrap();
    let doc = [b"%PDF-1.4\n".as_slice(), &noise, b"\n%%EOF\n"].concat();
    let status = upload(hub.http_addr, &awa, Some("resources"), "avis.pdf", &doc).await;
    assert_eq!(status, 303);
    let token = csrf(&hub, &awa).await;
    let upload = store.uploads(&person).unwrap().remove(0);

    // The sharing form offers the upload, and only professionals of the
    // institutions the person is linked to.
    let (status, form) = page(&hub, &awa, "/coffre/partages").await;
    assert_eq!(status, 200);
    assert!(form.contains(&format!("value=\"{}\"", upload.id)), "{form}");
    assert!(form.contains("value=\"pro:ana@caf976.fr\""), "{form}");
    assert!(
        !form.contains("bob@cd976.fr") && !form.contains("cd-976"),
        "{form}"
    );
    let fin = {
        let at = form.find("name=\"fin\"").unwrap();
        let rest = &form[at..];
        let v = &rest[rest.find("value=\"").unwrap() + 7..];
        v[..v.find('"').unwrap()].to_string()
    };
    let share_to = |who: &str| {
        format!(
            "csrf={token}&depot={}&qui={who}&demarche=rsa&fin={fin}",
            upload.id
        )
    };
    // Forged for a professional of an institution not linked: refused.
    let (status, _, p) = http(
        hub.http_addr,
        "POST",
        "/coffre/partages",
        &[("Cookie", &awa)],
        &share_to("pro%3Abob%40cd976.fr"),
    )
    .await;
    assert_eq!(status, 400, "{p}");
    assert!(store.shares_of(&person).unwrap().is_empty());
    // A whole institution cannot receive an upload.
    let (status, _, p) = http(
        hub.http_addr,
        "POST",
        "/coffre/partages",
        &[("Cookie", &awa)],
        &share_to("inst%3Acaf-976"),
    )
    .await;
    assert_eq!(status, 400, "{p}");
    assert!(p.contains("une personne précise"), "{p}");
    let (status, _, p) = http(
        hub.http_addr,
        "POST",
        "/coffre/partages",
        &[("Cookie", &awa)],
        &share_to("pro%3Aana%40caf976.fr"),
    )
    .await;
    assert_eq!(status, 200, "{p}");
    assert!(p.contains("Mes documents déposés partagés"), "{p}");
    let share = store.shares_of(&person).unwrap().remove(0);
    assert_eq!(share.keys.len(), 1);

    // Ana sees it and downloads the very bytes.
    let (status, home) = page(&hub, &ana, "/partenaires/coffre").await;
    assert_eq!(status, 200);
    assert!(
        home.contains(&format!("/partenaires/depots/{}", share.id)),
        "{home}"
    );
    let (status, list) = page(&hub, &ana, &format!("/partenaires/depots/{}", share.id)).await;
    assert_eq!(status, 200);
    assert!(list.contains("avis.pdf"), "{list}");
    let at = format!("/partenaires/depots/{}/{}", share.id, upload.id);
    let (status, _, got) = http_bytes(hub.http_addr, "GET", &at, &[("Cookie", &ana)], b"").await;
    assert_eq!(status, 200);
    assert_eq!(got, doc);
    // Bob, of another institution, cannot.
    let (status, _, got) = http_bytes(hub.http_addr, "GET", &at, &[("Cookie", &bob)], b"").await;
    assert_eq!(status, 403);
    assert!(!got.windows(64).any(|w| noise.windows(64).any(|n| n == w)));

    // The access is in the person's journal, with who and what for.
    let (_, journal) = page(&hub, &awa, "/coffre/journal").await;
    assert!(journal.contains("Ana Madi"), "{journal}");
    assert!(journal.contains("a ouvert : "), "{journal}");
    // Bob's try, refused, in plain words.
    assert!(journal.contains("donnée à quelqu'un d'autre"), "{journal}");

    // At rest: the keys in clear (taken from the live sessions' memory)
    // are in no file of the hub's folder.
    let ctx = &hub.ctx().portal;
    let data_key = ctx
        .person_sessions
        .get(cookie_value(&awa), passerelle_link::now())
        .unwrap()
        .key;
    let upload_key = seal::unwrap(&data_key, upload.id.as_bytes(), &upload.wrapped_key).unwrap();
    let ana_private = passerelle_portal::pro_keys::of_session(ctx, cookie_value(&ana))
        .unwrap()
        .private_bytes();
    // The scan sees what the store holds: the wrapped forms are there.
    let hub_store = &hub.ctx().hub.store;
    assert!(!at_rest(&net, hub_store, &upload.wrapped_key).is_empty());
    assert!(!at_rest(&net, hub_store, &share.keys[0].sealed).is_empty());
    for (what, key) in [
        ("upload key", upload_key.0),
        ("data key", data_key.0),
        ("professional's private key", ana_private),
    ] {
        assert_eq!(
            at_rest(&net, hub_store, &key),
            Vec::<PathBuf>::new(),
            "{what}"
        );
    }
    // What is stored opens with none of the store's own secrets: the
    // sealed upload key is not the upload key under any key the vault
    // keeps in clear (its pseudonym secret), and Ana's stored private key
    // is sealed under her password.
    let pseudonym_key = seal::Key(store.pseudonym_key().unwrap());
    let w = &share.keys[0];
    assert!(seal::unwrap(&pseudonym_key, upload.id.as_bytes(), &w.sealed).is_err());
    let record = store.pro_key("ana@caf976.fr").unwrap().unwrap();
    assert!(seal::unwrap(
        &pseudonym_key,
        b"pro-key\0ana@caf976.fr",
        &record.wrapped_private
    )
    .is_err());

    // Ana changes her password: her key follows, sealed again under the
    // new one, and the next session opens the upload still.
    let (_, form) = page(&hub, &ana, "/partenaires/mot-de-passe").await;
    let ana_csrf = hidden_field(&form, "csrf").unwrap();
    let (status, h, p) = http(
        hub.http_addr,
        "POST",
        "/partenaires/mot-de-passe",
        &[("Cookie", &ana)],
        &format!(
            "csrf={ana_csrf}&actuel=mot-de-passe-pro&nouveau=un-nouveau-mot-de-passe&confirmation=un-nouveau-mot-de-passe"
        ),
    )
    .await;
    assert_eq!(status, 303, "{p}");
    let ana = format!("pl_session={}", set_cookie(&h, "pl_session").unwrap());
    let (status, _, got) = http_bytes(hub.http_addr, "GET", &at, &[("Cookie", &ana)], b"").await;
    assert_eq!(status, 200);
    assert_eq!(got, doc);
    // Her stored private key opens only under a key derived from her
    // password (argon2id), which no file holds; the person's data key
    // likewise.
    let argon = |secret: &str, salt: &[u8], len: usize| {
        let mut out = vec![0u8; len];
        argon2::Argon2::default()
            .hash_password_into(secret.as_bytes(), salt, &mut out)
            .unwrap();
        out
    };
    let record = store.pro_key("ana@caf976.fr").unwrap().unwrap();
    let ana_kek = argon("un-nouveau-mot-de-passe", &record.salt, 32);
    let opened = seal::unwrap(
        &seal::Key::from_slice(&ana_kek).unwrap(),
        b"pro-key\0ana@caf976.fr",
        &record.wrapped_private,
    )
    .unwrap();
    assert_eq!(opened.0, ana_private);
    let account = store.person(&person).unwrap().unwrap();
    let person_kek = argon("motdepasse-awa", &account.salt, 64);
    for (what, key) in [
        ("her key's", &ana_kek[..]),
        ("the person's", &person_kek[..32]),
    ] {
        assert_eq!(
            at_rest(&net, hub_store, key),
            Vec::<PathBuf>::new(),
            "{what}"
        );
    }

    // Revoked in one click: refused at once, the sealed key erased.
    let (status, _, _) = http(
        hub.http_addr,
        "POST",
        &format!("/coffre/partages/{}/retirer", share.id),
        &[("Cookie", &awa)],
        &format!("csrf={token}"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(store.share(&share.id).unwrap().unwrap().keys.is_empty());
    let (status, _, got) = http_bytes(hub.http_addr, "GET", &at, &[("Cookie", &ana)], b"").await;
    assert_eq!(status, 403);
    assert_ne!(got, doc);
    let refused = store
        .audit_of(&person, 50)
        .unwrap()
        .into_iter()
        .filter(|r| {
            r.event.action == Action::DownloadRefused && r.event.subject.contains(&upload.id)
        })
        .count();
    assert_eq!(refused, 2, "Bob's try and Ana's after revocation");
    assert!(store.audit_verify().unwrap().is_ok());
    caf.stop().await;
    cd.stop().await;
    hub.stop().await;
}
