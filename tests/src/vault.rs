//! The vault seen from outside: a person's account and session over
//! HTTP, link codes redeemed at a node, documents added on a node.

use std::{net::SocketAddr, path::Path};

use passerelle_hub::server::HubHandle;
use passerelle_node::admin::{
    self as node_admin, Request as NodeRequest, Response as NodeResponse,
};

use crate::{hidden_field, http, set_cookie};

/// A PDF of about `kib` KiB that carries `marker` many times.
pub fn pdf(marker: &[u8], kib: usize) -> Vec<u8> {
    let mut v = b"%PDF-1.4\n".to_vec();
    while v.len() < kib * 1024 {
        v.extend_from_slice(marker);
        v.extend_from_slice(format!(" {}\n", v.len()).as_bytes());
    }
    v.extend_from_slice(b"%%EOF\n");
    v
}

/// Creates an account over HTTP; returns the session cookie.
pub async fn create_account(hub: &HubHandle, login: &str, password: &str) -> String {
    create_account_at(hub.http_addr, login, password).await
}

/// Creates an account on the portal at `addr`; returns the session cookie.
pub async fn create_account_at(addr: SocketAddr, login: &str, password: &str) -> String {
    create_account_with_rescue(addr, login, password).await.0
}

/// Creates an account on the portal at `addr`; returns the session cookie
/// and the rescue code shown once.
pub async fn create_account_with_rescue(
    addr: SocketAddr,
    login: &str,
    password: &str,
) -> (String, String) {
    let (step, page) = ask_code(addr, login).await;
    let code = shown_message_code(&page).expect("the code shown (danger_show_codes)");
    let (status, h, page) = enter_code(addr, &step, &page, &code, password).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Votre code de secours"), "{page}");
    let cookie = format!(
        "pv_session={}",
        set_cookie(&h, "pv_session").expect("session cookie")
    );
    (cookie, shown_code(&page, "code de secours"))
}

/// Asks the portal for an account creation code for `login`: the step's
/// token (the `pv_etape` cookie) and the page.
pub async fn ask_code(addr: SocketAddr, login: &str) -> (String, String) {
    let (status, h, page) = http(addr, "GET", "/coffre/creer", &[], "").await;
    assert_eq!(status, 200);
    let form = format!("pv_form={}", set_cookie(&h, "pv_form").unwrap());
    let csrf = hidden_field(&page, "csrf").unwrap();
    let body = format!("csrf={csrf}&identifiant={}", login.replace('+', "%2B"));
    let (status, h, page) = http(addr, "POST", "/coffre/creer", &[("Cookie", &form)], &body).await;
    assert_eq!(status, 200, "{page}");
    assert!(set_cookie(&h, "pv_form").is_some());
    (set_cookie(&h, "pv_etape").expect("step cookie"), page)
}

/// Posts a code and a password on a code page (its form token is also
/// the form cookie's), for the step `step`: status, headers and page.
pub async fn enter_code(
    addr: SocketAddr,
    step: &str,
    page: &str,
    code: &str,
    password: &str,
) -> (u16, Vec<(String, String)>, String) {
    let csrf = hidden_field(page, "csrf").unwrap();
    let cookies = format!("pv_form={csrf}; pv_etape={step}");
    let body = format!("csrf={csrf}&code={code}&mdp={password}&mdp2={password}");
    http(
        addr,
        "POST",
        "/coffre/creer/code",
        &[("Cookie", &cookies)],
        &body,
    )
    .await
}

/// The six-digit code in a text (a message received, or shown).
pub fn code_in(text: &str) -> Option<String> {
    let b = text.as_bytes();
    (0..b.len().saturating_sub(5)).find_map(|i| {
        let run = &b[i..i + 6];
        let alone = (i == 0 || !b[i - 1].is_ascii_digit())
            && b.get(i + 6).is_none_or(|c| !c.is_ascii_digit());
        (alone && run.iter().all(u8::is_ascii_digit))
            .then(|| String::from_utf8_lossy(run).into_owned())
    })
}

/// The code in the message a demonstration page shows instead of sending.
pub fn shown_message_code(page: &str) -> Option<String> {
    let at = page.find("id=\"message-demo\"")?;
    let rest = &page[at..];
    code_in(&rest[..rest.find("</p>")?])
}

/// The code a page shows in its `<p class="code" aria-label="…">`.
pub fn shown_code(page: &str, label: &str) -> String {
    let at = page
        .find(&format!("aria-label=\"{label}\""))
        .unwrap_or_else(|| panic!("no {label} in {page}"));
    let rest = &page[at..];
    rest[rest.find('>').unwrap() + 1..rest.find("</p>").unwrap()].to_string()
}

/// Signs a partner professional in (with a password set for the test);
/// returns the session cookie.
pub async fn partner_session(hub: &HubHandle, email: &str) -> String {
    let ctx = hub.ctx();
    let mut a = ctx.hub.store.account(email).unwrap().unwrap();
    a.password_hash = passerelle_hub_core::partners::hash_password("mot-de-passe-pro").unwrap();
    a.must_change_password = false;
    ctx.hub.store.put_account(&a).unwrap();
    let (_, h, p) = http(hub.http_addr, "GET", "/partenaires/connexion", &[], "").await;
    let jar = format!("pl_login={}", set_cookie(&h, "pl_login").unwrap());
    let csrf = hidden_field(&p, "csrf").unwrap();
    let body = format!(
        "email={}&password=mot-de-passe-pro&csrf={csrf}",
        email.replace('@', "%40")
    );
    let (status, h, p) = http(
        hub.http_addr,
        "POST",
        "/partenaires/connexion",
        &[("Cookie", &jar)],
        &body,
    )
    .await;
    assert_eq!(status, 303, "{p}");
    format!("pl_session={}", set_cookie(&h, "pl_session").unwrap())
}

/// A page of the portal as `cookie` sees it: status and body.
pub async fn page(hub: &HubHandle, cookie: &str, path: &str) -> (u16, String) {
    let (s, _, p) = http(hub.http_addr, "GET", path, &[("Cookie", cookie)], "").await;
    (s, p)
}

/// The session's CSRF token, read from the vault's home page.
pub async fn csrf(hub: &HubHandle, cookie: &str) -> String {
    csrf_at(hub.http_addr, cookie).await
}

/// The session's CSRF token on the portal at `addr`.
pub async fn csrf_at(addr: SocketAddr, cookie: &str) -> String {
    let (_, _, p) = http(addr, "GET", "/coffre/journal", &[("Cookie", cookie)], "").await;
    hidden_field(&p, "csrf").expect("csrf in the menu")
}

/// Signs in on the portal at `addr`; returns the session cookie.
pub async fn sign_in_at(addr: SocketAddr, login: &str, password: &str) -> String {
    let (status, h, page) = http(addr, "GET", "/coffre/connexion", &[], "").await;
    assert_eq!(status, 200);
    let form = format!("pv_form={}", set_cookie(&h, "pv_form").unwrap());
    let csrf = hidden_field(&page, "csrf").unwrap();
    let body = format!("csrf={csrf}&identifiant={login}&mdp={password}");
    let (status, h, page) = http(
        addr,
        "POST",
        "/coffre/connexion",
        &[("Cookie", &form)],
        &body,
    )
    .await;
    assert_eq!(status, 303, "{page}");
    format!(
        "pv_session={}",
        set_cookie(&h, "pv_session").expect("session cookie")
    )
}

/// A link code the person's vault shows (to give at an institution).
pub async fn link_code(hub: &HubHandle, cookie: &str) -> String {
    let token = csrf(hub, cookie).await;
    let (status, _, p) = http(
        hub.http_addr,
        "POST",
        "/coffre/lier",
        &[("Cookie", cookie)],
        &format!("csrf={token}"),
    )
    .await;
    assert_eq!(status, 200);
    let at = p.find("class=\"code\"").unwrap();
    let rest = &p[at..];
    rest[rest.find('>').unwrap() + 1..rest.find("</p>").unwrap()].to_string()
}

/// Shows a link code on the portal and has the node redeem it.
pub async fn link(hub: &HubHandle, cookie: &str, node_root: &Path, local_id: &str) {
    let code = &link_code(hub, cookie).await;
    let reply = node_admin::request(
        node_root,
        NodeRequest::Link {
            local_id: local_id.into(),
            code: code.into(),
            by: "agent".into(),
        },
        &mut |_| {},
    )
    .await
    .expect("link");
    assert!(matches!(reply, NodeResponse::Linked(_)));
    // A code serves once.
    let again = node_admin::request(
        node_root,
        NodeRequest::Link {
            local_id: format!("{local_id}-bis"),
            code: code.into(),
            by: "agent".into(),
        },
        &mut |_| {},
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(again.contains("unknown or already used"), "{again}");
}

/// Adds a document for `local_id` on a node through its admin socket
/// (the file is written in `dir` first); returns its id.
pub async fn add_document(
    node_root: &Path,
    dir: &Path,
    local_id: &str,
    category: &str,
    name: &str,
    bytes: &[u8],
) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    match node_admin::request(
        node_root,
        NodeRequest::DocumentAdd {
            local_id: local_id.into(),
            category: category.into(),
            path,
            by: "agent".into(),
        },
        &mut |_| {},
    )
    .await
    .expect("document add")
    {
        NodeResponse::Document(d) => d.id,
        other => panic!("{other:?}"),
    }
}

/// Creates a partner account whose first password needs no change (for
/// tests about something else than the first sign-in); returns the password.
pub fn add_partner(
    hub: &HubHandle,
    email: &str,
    name: &str,
    institution: &passerelle_protocol::ids::NodeId,
) -> String {
    let ctx = hub.ctx();
    let password =
        passerelle_hub_core::partners::add(&ctx.hub, email, name, institution, 0).expect("partner");
    let mut a = ctx
        .hub
        .store
        .account(&email.to_lowercase())
        .unwrap()
        .unwrap();
    a.must_change_password = false;
    ctx.hub.store.put_account(&a).unwrap();
    password
}

/// Uploads `doc` as `name` (of the `type` given, when one is) to the
/// person's vault over HTTP, with a fresh form token; the status answered
/// (303 when it was kept).
pub async fn upload(
    addr: SocketAddr,
    cookie: &str,
    kind: Option<&str>,
    name: &str,
    doc: &[u8],
) -> u16 {
    let token = csrf_at(addr, cookie).await;
    let mut parts: Vec<(&str, Option<&str>, &[u8])> = vec![("csrf", None, token.as_bytes())];
    if let Some(kind) = kind {
        parts.push(("type", None, kind.as_bytes()));
    }
    parts.push(("fichier", Some(name), doc));
    let (ct, body) = crate::multipart(&parts);
    let (status, _, _) = crate::http_bytes(
        addr,
        "POST",
        "/coffre/depots",
        &[("Cookie", cookie), ("Content-Type", &ct)],
        &body,
    )
    .await;
    status
}
