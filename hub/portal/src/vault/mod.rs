//! The beneficiary's vault pages, in plain French: big buttons, few words,
//! no JavaScript. Every page needs the person's session; every form
//! carries the session's CSRF token (sign-in and creation: a double-submit
//! token in a cookie); sign-in attempts are limited per address.
//!
//! - [`account`]: creating an account, signing in and out, password reset.
//! - [`documents`]: the documents, downloads, copies, uploads, link codes,
//!   the export.
//! - [`sharing`]: consents and the access journal.

use std::{fmt::Write as _, net::SocketAddr, sync::Arc};

use axum::{
    body::{Body, Bytes},
    extract::{ConnectInfo, Multipart, Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use passerelle_link::now;
use passerelle_protocol::{
    audit::Event,
    ids::NodeId,
    sign::constant_time_eq,
    vault::{procedure_label, Category, Grantee, Requester, Scope, PROCEDURES},
};

use super::{
    layout::{date, esc, page},
    partner::{client_ip, client_key, cookies, private},
};
use passerelle_hub_core::federation::Incoming;
use passerelle_vault::{self as vault, accounts, consent, duplicate, links, uploads};

use crate::state::Ctx;

mod account;
mod documents;
mod sharing;

pub use account::*;
pub use documents::*;
pub use sharing::*;

const SESSION: &str = "pv_session";

const FORM: &str = "pv_form";

/// The person's live session.
pub fn session(ctx: &Ctx, headers: &HeaderMap) -> Option<(String, accounts::PersonSession)> {
    let token = cookies(headers).remove(SESSION)?;
    let s = ctx.person_sessions.get(&token, now())?;
    Some((token, s))
}

fn to_start() -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, "/coffre")]).into_response()
}

fn back(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

fn refused(ctx: &Ctx) -> Response {
    private(
        StatusCode::FORBIDDEN,
        page(ctx, "Formulaire refusé", maud::PreEscaped(("<h1>Formulaire refusé</h1><p>Ce formulaire a expiré. <a class=\"gros\" href=\"/coffre\">Recommencer</a></p>").to_string())),
    )
}

/// Why an institution's documents cannot be shown or opened, in plain
/// French.
pub fn access_french(e: &vault::AccessError) -> String {
    use passerelle_protocol::message::Refusal;
    use vault::AccessError as E;
    match e {
        E::Refused(Refusal::Access(a)) => a.french().to_string(),
        E::Refused(_) => "L'institution n'a pas pu répondre. Réessayez plus tard.".to_string(),
        E::Outdated => "Cette institution doit mettre à jour son logiciel Passerelle pour montrer ses documents. Réessayez plus tard.".to_string(),
        E::Unreachable => "Cette institution ne répond pas pour le moment. Réessayez plus tard.".to_string(),
        E::NotLinked => "Ce document n'existe pas, ou il ne vous concerne pas.".to_string(),
        E::Unrecorded => "L'accès n'a pas pu être enregistré dans le journal ; il est donc refusé. Réessayez plus tard.".to_string(),
    }
}

fn alert(msg: &str) -> String {
    format!("<p class=\"demo\" role=\"alert\">{}</p>", esc(msg))
}

/// Form fields, repeated keys kept.
pub(super) fn fields(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// The first value of a form field, or empty.
pub(super) fn field<'a>(f: &'a [(String, String)], name: &str) -> &'a str {
    f.iter()
        .find(|(k, _)| k == name)
        .map_or("", |(_, v)| v.as_str())
}

fn csrf_ok(s: &accounts::PersonSession, f: &[(String, String)]) -> bool {
    let given = field(f, "csrf");
    !given.is_empty() && constant_time_eq(s.csrf.as_bytes(), given.as_bytes())
}

fn hidden(s: &accounts::PersonSession) -> String {
    format!("<input type=\"hidden\" name=\"csrf\" value=\"{}\">", s.csrf)
}

fn menu(s: &accounts::PersonSession) -> String {
    format!(
        "<nav class=\"menu\" aria-label=\"Mon coffre\"><a class=\"gros\" href=\"/coffre\">Mes documents</a>\
<a class=\"gros\" href=\"/coffre/partages\">Partager</a><a class=\"gros\" href=\"/coffre/journal\">Qui a vu mes documents</a>\
<form method=\"post\" action=\"/coffre/lier\">{h}<button class=\"gros\" type=\"submit\">Relier une institution</button></form>\
<a class=\"gros\" href=\"/coffre/export\">Tout télécharger</a>\
<form method=\"post\" action=\"/coffre/deconnexion\">{h}<button class=\"gros clair\" type=\"submit\">Me déconnecter</button></form></nav>",
        h = hidden(s)
    )
}

fn vault_page(ctx: &Ctx, title: &str, s: Option<&accounts::PersonSession>, body: &str) -> String {
    let head = s.map(menu).unwrap_or_default();
    page(
        ctx,
        title,
        maud::PreEscaped((format!("{head}{body}")).to_string()),
    )
}

/// A form token in a cookie (double submit) for forms without a session.
fn with_form_cookie(status: StatusCode, html: String, token: &str) -> Response {
    let mut res = private(status, html);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{FORM}={token}; HttpOnly; Secure; SameSite=Strict; Path=/coffre; Max-Age=1800"
    )) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

fn form_token_ok(headers: &HeaderMap, f: &[(String, String)]) -> bool {
    let expected = cookies(headers).remove(FORM).unwrap_or_default();
    let given = field(f, "csrf");
    !given.is_empty() && constant_time_eq(expected.as_bytes(), given.as_bytes())
}

fn new_token() -> String {
    passerelle_protocol::hex::encode(&passerelle_link::random16())
}

/// Adds the session cookie to a response.
fn with_session(mut res: Response, token: &str, ttl: u64) -> Response {
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{SESSION}={token}; HttpOnly; Secure; SameSite=Strict; Path=/coffre; Max-Age={ttl}"
    )) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

fn signed_in(token: &str, ttl: u64, to: &str) -> Response {
    with_session(back(to), token, ttl)
}

/// A file sent for download: its type, its name, never cached.
fn file_response(body: Body, mime: &str, name: &str) -> Response {
    let mut res = Response::new(body);
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(mime).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_DISPOSITION, attachment(name));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Logs an access the hub refused before asking any node.
fn refused_here(ctx: &Ctx, person: &str, subject: &str, why: &str) {
    ctx.vault.log(Event {
        actor: "person".into(),
        action: "download_refused".into(),
        person: Some(person.to_string()),
        subject: subject.to_string(),
        procedure: None,
        detail: why.to_string(),
    });
}

/// The content-disposition of a download.
fn attachment(name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in name.as_bytes() {
        if b.is_ascii_alphanumeric() || b".-_".contains(b) {
            encoded.push(*b as char);
        } else {
            let _ = write!(encoded, "%{b:02X}");
        }
    }
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}
