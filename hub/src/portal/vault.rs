//! The beneficiary's vault pages, in plain French: big buttons, few words,
//! no JavaScript. Every page needs the person's session; every form
//! carries the session's CSRF token (sign-in and creation: a double-submit
//! token in a cookie); sign-in attempts are limited per address.

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
use crate::{
    federation::Incoming,
    server::Ctx,
    vault::{self, accounts, consent, duplicate, links, uploads},
};

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
        page(ctx, "Formulaire refusé", "<h1>Formulaire refusé</h1><p>Ce formulaire a expiré. <a class=\"gros\" href=\"/coffre\">Recommencer</a></p>"),
    )
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
    page(ctx, title, &format!("{head}{body}"))
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

/// GET `/coffre`: the documents, or the welcome page.
pub async fn home(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Response {
    match session(&ctx, &headers) {
        Some((_, s)) => documents_page(&ctx, &s, None, StatusCode::OK).await,
        None => private(
            StatusCode::OK,
            page(
                &ctx,
                "Mon coffre-fort",
                "<h1>Mon coffre-fort numérique</h1>\
<p>Vos papiers au même endroit : ceux que les institutions ont sur vous, et ceux que vous ajoutez. Vous choisissez qui peut les voir.</p>\
<a class=\"gros\" href=\"/coffre/connexion\">Me connecter</a>\
<a class=\"gros\" href=\"/coffre/creer\">Créer mon compte</a>\
<a class=\"gros clair\" href=\"/coffre/recuperer\">J'ai oublié mon mot de passe</a>\
<p class=\"note\">Un travailleur social peut vous aider à créer votre compte.</p>",
            ),
        ),
    }
}

async fn documents_page(
    ctx: &Ctx,
    s: &accounts::PersonSession,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let mut body = String::from("<h1>Mes documents</h1>");
    if let Some(m) = message {
        body.push_str(&alert(m));
    }
    body.push_str("<h2>Documents des institutions</h2>");
    let holdings = vault::holdings(ctx, &s.person, &Requester::Person).await;
    if holdings.is_empty() {
        body.push_str("<p>Aucune institution n'est encore reliée à votre coffre. Touchez « Relier une institution » et montrez le code au guichet.</p>");
    }
    for h in &holdings {
        let _ = write!(body, "<h3>{}</h3>", esc(&h.name));
        match &h.documents {
            Err(e) => body.push_str(&alert(e)),
            Ok(d) if d.is_empty() => body.push_str("<p>Aucun document pour le moment.</p>"),
            Ok(docs) => {
                body.push_str("<ul class=\"docs\">");
                for d in docs {
                    let _ = write!(
                        body,
                        "<li class=\"carte\"><strong>{cat}</strong><br>{name}<br><span class=\"note\">Ajouté le {when}</span>\
<a class=\"gros\" href=\"/coffre/institution/{node}/{id}\">Télécharger</a>\
<form method=\"post\" action=\"/coffre/copie/{node}/{id}\">{h}<button class=\"gros clair\" type=\"submit\">Faire une copie vérifiable</button></form></li>",
                        cat = d.category.label(),
                        name = esc(&d.name),
                        when = date(d.added_at),
                        node = esc(h.node.as_str()),
                        id = esc(&d.id),
                        h = hidden(s)
                    );
                }
                body.push_str("</ul>");
            }
        }
    }
    body.push_str("<h2>Mes documents déposés</h2>");
    let ups = ctx.vault.uploads(&s.person).unwrap_or_default();
    if ups.is_empty() {
        body.push_str("<p>Vous n'avez encore rien déposé.</p>");
    } else {
        body.push_str("<ul class=\"docs\">");
        for u in &ups {
            let _ = write!(
                body,
                "<li class=\"carte\"><strong>{cat}</strong><br>{name}<br><span class=\"note\">Déposé le {when}</span>\
<a class=\"gros\" href=\"/coffre/depots/{id}\">Télécharger</a>\
<form method=\"post\" action=\"/coffre/depots/{id}/supprimer\">{h}<button class=\"gros clair\" type=\"submit\">Supprimer pour toujours</button></form></li>",
                cat = u.category.label(),
                name = esc(&u.name),
                when = date(u.added_at),
                id = esc(&u.id),
                h = hidden(s)
            );
        }
        body.push_str("</ul>");
    }
    let mut options = String::new();
    for c in Category::ALL {
        let _ = write!(
            options,
            "<option value=\"{}\">{}</option>",
            c.code(),
            c.label()
        );
    }
    let _ = write!(
        body,
        "<h3>Ajouter un document</h3><form method=\"post\" action=\"/coffre/depots\" enctype=\"multipart/form-data\">{h}\
<p><label for=\"fichier\">Le fichier (PDF ou photo, {max} Mo au plus)</label><br>\
<input id=\"fichier\" name=\"fichier\" type=\"file\" accept=\"application/pdf,image/jpeg,image/png\" required></p>\
<p><label for=\"type\">C'est quoi ?</label><br><select id=\"type\" name=\"type\">{options}</select></p>\
<p><button class=\"gros\" type=\"submit\">Déposer</button></p></form>\
<p class=\"note\">Vos documents déposés sont chiffrés avec une clé que seul votre mot de passe (ou votre code de secours) ouvre : personne d'autre ne peut les lire, pas même la plateforme.</p>",
        h = hidden(s),
        max = uploads::MAX_UPLOAD / (1024 * 1024)
    );
    private(status, vault_page(ctx, "Mes documents", Some(s), &body))
}

fn account_form(
    ctx: &Ctx,
    action: &str,
    title: &str,
    intro: &str,
    message: Option<&str>,
    extra: &str,
    button: &str,
) -> (String, String) {
    let token = new_token();
    let body = format!(
        "<h1>{title}</h1>{msg}{intro}<form method=\"post\" action=\"{action}\"><input type=\"hidden\" name=\"csrf\" value=\"{token}\">\
<p><label for=\"identifiant\">Numéro de téléphone ou adresse e-mail</label><br><input id=\"identifiant\" name=\"identifiant\" autocomplete=\"username\" inputmode=\"email\" required></p>\
{extra}<p><button class=\"gros\" type=\"submit\">{button}</button></p></form><p><a href=\"/coffre\">Retour</a></p>",
        msg = message.map(alert).unwrap_or_default(),
    );
    (page(ctx, title, &body), token)
}

const PASSWORD: &str = "<p><label for=\"mdp\">Mot de passe</label><br><input id=\"mdp\" name=\"mdp\" type=\"password\" autocomplete=\"current-password\" required></p>";
const NEW_PASSWORD: &str = "<p><label for=\"mdp\">Choisissez un mot de passe (8 caractères au moins)</label><br><input id=\"mdp\" name=\"mdp\" type=\"password\" autocomplete=\"new-password\" minlength=\"8\" required></p>\
<p><label for=\"mdp2\">Tapez-le une deuxième fois</label><br><input id=\"mdp2\" name=\"mdp2\" type=\"password\" autocomplete=\"new-password\" required></p>";

fn create_form(ctx: &Ctx, message: Option<&str>, status: StatusCode) -> Response {
    let (html, token) = account_form(
        ctx,
        "/coffre/creer",
        "Créer mon compte",
        "<p>Un seul compte suffit pour tous vos papiers.</p>",
        message,
        NEW_PASSWORD,
        "Créer mon compte",
    );
    with_form_cookie(status, html, &token)
}

/// GET `/coffre/creer`.
pub async fn create_page(State(ctx): State<Arc<Ctx>>) -> Response {
    create_form(&ctx, None, StatusCode::OK)
}

/// The page that shows the rescue code, once.
pub fn rescue_page(
    ctx: &Ctx,
    s: Option<&accounts::PersonSession>,
    code: &str,
    intro: &str,
) -> String {
    vault_page(
        ctx,
        "Votre code de secours",
        s,
        &format!(
            "<h1>Votre code de secours</h1>{intro}<p class=\"code\" aria-label=\"code de secours\">{}</p>\
<p><strong>Notez ce code sur un papier et gardez-le bien.</strong> Il ne sera plus jamais affiché.</p>\
<p>Si vous oubliez votre mot de passe, ce code permet de garder les documents que vous avez déposés. Sans lui, ils seront perdus : personne ne peut les ouvrir à votre place.</p>\
<a class=\"gros\" href=\"/coffre\">J'ai noté mon code</a>",
            esc(code)
        ),
    )
}

async fn limited(ctx: &Ctx, peer: SocketAddr, headers: &HeaderMap) -> bool {
    !ctx.login_limiter
        .handle_attempt(client_key(client_ip(ctx, peer.ip(), headers)), now())
}

/// POST `/coffre/creer`.
pub async fn create(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = fields(&body);
    if !form_token_ok(&headers, &f) {
        return refused(&ctx);
    }
    if limited(&ctx, peer, &headers).await {
        return create_form(
            &ctx,
            Some("Trop de tentatives. Attendez une minute."),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let login = match accounts::normalise_login(field(&f, "identifiant")) {
        Ok(l) => l,
        Err(m) => return create_form(&ctx, Some(m), StatusCode::BAD_REQUEST),
    };
    if let Err(m) = accounts::check_password(field(&f, "mdp"), field(&f, "mdp2")) {
        return create_form(&ctx, Some(m), StatusCode::BAD_REQUEST);
    }
    let Ok(_permit) = ctx.password_checks.try_acquire() else {
        return create_form(
            &ctx,
            Some("Le service est très sollicité. Réessayez dans un instant."),
            StatusCode::SERVICE_UNAVAILABLE,
        );
    };
    let t = now();
    match accounts::create(&ctx.vault, &login, field(&f, "mdp"), None, t) {
        Ok(c) => {
            vault::log(&ctx, Event { actor: "person".into(), action: "account_create".into(), person: Some(c.account.id.clone()), subject: "-".into(), procedure: None, detail: String::new() });
            let ttl = ctx.hub.config.session_ttl.as_secs();
            let (token, s) = ctx.person_sessions.open(&c.account, c.key, t, ttl);
            let html = rescue_page(&ctx, Some(&s), &c.rescue_code, "<p>Votre compte est créé.</p>");
            with_session(private(StatusCode::OK, html), &token, ttl)
        }
        Err(crate::HubError::Refused(_)) => create_form(&ctx, Some("Un compte existe déjà avec cet identifiant. Connectez-vous, ou demandez un code de réinitialisation à un professionnel."), StatusCode::CONFLICT),
        Err(error) => {
            tracing::error!(%error, "account not created");
            create_form(&ctx, Some("Le compte n'a pas pu être créé. Réessayez plus tard."), StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

fn login_form(ctx: &Ctx, message: Option<&str>, status: StatusCode) -> Response {
    let (html, token) = account_form(
        ctx,
        "/coffre/connexion",
        "Me connecter",
        "",
        message,
        PASSWORD,
        "Me connecter",
    );
    with_form_cookie(status, html, &token)
}

/// GET `/coffre/connexion`.
pub async fn login_page(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Response {
    if session(&ctx, &headers).is_some() {
        return to_start();
    }
    login_form(&ctx, None, StatusCode::OK)
}

/// POST `/coffre/connexion`.
pub async fn login(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = fields(&body);
    if !form_token_ok(&headers, &f) {
        return refused(&ctx);
    }
    if limited(&ctx, peer, &headers).await {
        return login_form(
            &ctx,
            Some("Trop de tentatives. Attendez une minute."),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let Ok(_permit) = ctx.password_checks.try_acquire() else {
        return login_form(
            &ctx,
            Some("Le service est très sollicité. Réessayez dans un instant."),
            StatusCode::SERVICE_UNAVAILABLE,
        );
    };
    let wrong = "Identifiant ou mot de passe incorrect.";
    let Ok(login) = accounts::normalise_login(field(&f, "identifiant")) else {
        return login_form(&ctx, Some(wrong), StatusCode::UNAUTHORIZED);
    };
    match accounts::sign_in(&ctx.vault, &login, field(&f, "mdp")) {
        Ok(Some((account, key))) => {
            let ttl = ctx.hub.config.session_ttl.as_secs();
            let (token, _) = ctx.person_sessions.open(&account, key, now(), ttl);
            signed_in(&token, ttl, "/coffre")
        }
        Ok(None) => login_form(&ctx, Some(wrong), StatusCode::UNAUTHORIZED),
        Err(error) => {
            tracing::error!(%error, "sign-in failed");
            login_form(
                &ctx,
                Some("La connexion n'a pas pu se faire. Réessayez plus tard."),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
        }
    }
}

/// POST `/coffre/deconnexion`.
pub async fn logout(State(ctx): State<Arc<Ctx>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some((token, s)) = session(&ctx, &headers) else {
        return to_start();
    };
    if !csrf_ok(&s, &fields(&body)) {
        return refused(&ctx);
    }
    ctx.person_sessions.close(&token);
    let mut res = back("/coffre");
    res.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "pv_session=; HttpOnly; Secure; SameSite=Strict; Path=/coffre; Max-Age=0",
        ),
    );
    res
}

const RESET_FIELDS: &str = "<p><label for=\"code\">Le code donné par le professionnel</label><br><input id=\"code\" name=\"code\" autocomplete=\"one-time-code\" required></p>\
<p><label for=\"secours\">Votre code de secours, si vous l'avez (sinon laissez vide)</label><br><input id=\"secours\" name=\"secours\"></p>";

fn reset_form(ctx: &Ctx, message: Option<&str>, status: StatusCode) -> Response {
    let (html, token) = account_form(
        ctx,
        "/coffre/recuperer",
        "Mot de passe oublié",
        "<p>Allez voir un professionnel d'une institution partenaire avec une pièce d'identité. Il vous donnera un code, valable 30 minutes.</p>",
        message,
        &format!("{RESET_FIELDS}{NEW_PASSWORD}"),
        "Changer mon mot de passe",
    );
    with_form_cookie(status, html, &token)
}

/// GET `/coffre/recuperer`.
pub async fn reset_page(State(ctx): State<Arc<Ctx>>) -> Response {
    reset_form(&ctx, None, StatusCode::OK)
}

/// POST `/coffre/recuperer`.
pub async fn reset(
    State(ctx): State<Arc<Ctx>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = fields(&body);
    if !form_token_ok(&headers, &f) {
        return refused(&ctx);
    }
    if limited(&ctx, peer, &headers).await {
        return reset_form(
            &ctx,
            Some("Trop de tentatives. Attendez une minute."),
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let Ok(login) = accounts::normalise_login(field(&f, "identifiant")) else {
        return reset_form(
            &ctx,
            Some("Ce code n'est pas valable. Demandez un nouveau code à un professionnel."),
            StatusCode::BAD_REQUEST,
        );
    };
    if let Err(m) = accounts::check_password(field(&f, "mdp"), field(&f, "mdp2")) {
        return reset_form(&ctx, Some(m), StatusCode::BAD_REQUEST);
    }
    let Ok(_permit) = ctx.password_checks.try_acquire() else {
        return reset_form(
            &ctx,
            Some("Le service est très sollicité. Réessayez dans un instant."),
            StatusCode::SERVICE_UNAVAILABLE,
        );
    };
    let t = now();
    let rescue = Some(field(&f, "secours"));
    match accounts::reset(
        &ctx.vault,
        &login,
        field(&f, "code"),
        rescue,
        field(&f, "mdp"),
        t,
    ) {
        Ok(r) => {
            ctx.person_sessions.close_all(&r.account.id);
            let mut lost = 0;
            if !r.kept_uploads {
                // Nobody can open them any more: remove them for good.
                for u in ctx.vault.uploads(&r.account.id).unwrap_or_default() {
                    if uploads::delete(&ctx.hub.dir.vault(), &ctx.vault, &u).is_ok() {
                        lost += 1;
                    }
                }
            }
            vault::log(
                &ctx,
                Event {
                    actor: "person".into(),
                    action: "password_reset".into(),
                    person: Some(r.account.id.clone()),
                    subject: "-".into(),
                    procedure: None,
                    detail: format!(
                        "code from {}; uploads kept: {}",
                        r.code_issued_by, r.kept_uploads
                    ),
                },
            );
            let ttl = ctx.hub.config.session_ttl.as_secs();
            let (token, s) = ctx.person_sessions.open(&r.account, r.key, t, ttl);
            let html = match &r.new_rescue_code {
                Some(code) => rescue_page(&ctx, Some(&s), code, &format!("<p>Votre mot de passe est changé.{}</p>", if lost > 0 { format!(" Sans votre ancien code de secours, vos {lost} document(s) déposé(s) ont été effacés. Les documents des institutions sont toujours là.") } else { String::new() })),
                None => vault_page(&ctx, "Mot de passe changé", Some(&s), "<h1>Mot de passe changé</h1><p>Vos documents déposés sont toujours là.</p><a class=\"gros\" href=\"/coffre\">Voir mes documents</a>"),
            };
            with_session(private(StatusCode::OK, html), &token, ttl)
        }
        Err(crate::HubError::Refused(m)) => reset_form(&ctx, Some(&m), StatusCode::BAD_REQUEST),
        Err(error) => {
            tracing::error!(%error, "password reset failed");
            reset_form(
                &ctx,
                Some("Le changement n'a pas pu se faire. Réessayez plus tard."),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
        }
    }
}

/// Logs an access the hub refused before asking any node.
fn refused_here(ctx: &Ctx, person: &str, subject: &str, why: &str) {
    vault::log(
        ctx,
        Event {
            actor: "person".into(),
            action: "download_refused".into(),
            person: Some(person.to_string()),
            subject: subject.to_string(),
            procedure: None,
            detail: why.to_string(),
        },
    );
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

/// A response that streams a document from a node, checked as it goes.
pub fn stream_response(incoming: Incoming) -> Response {
    let (mime, size, name) = (
        incoming.doc.mime.clone(),
        incoming.doc.size,
        incoming.doc.name.clone(),
    );
    let state = (
        incoming,
        ring::digest::Context::new(&ring::digest::SHA256),
        0u64,
        false,
    );
    let stream =
        futures_util::stream::unfold(state, |(mut inc, mut h, mut got, done)| async move {
            if done {
                return None;
            }
            let item = inc.next_chunk(&mut h, &mut got).await?;
            let failed = item.is_err();
            if let Err(error) = &item {
                tracing::warn!(%error, "document stream aborted");
            }
            Some((item, (inc, h, got, failed)))
        });
    let mut res = file_response(Body::from_stream(stream), &mime, &name);
    res.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    res
}

/// GET `/coffre/institution/{node}/{doc}`.
pub async fn download(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    Path((node, doc)): Path<(String, String)>,
) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_start();
    };
    let Ok(node) = NodeId::new(&node) else {
        refused_here(
            &ctx,
            &s.person,
            &format!("{node}/{doc}"),
            "no such institution",
        );
        return documents_page(
            &ctx,
            &s,
            Some("Ce document n'existe pas, ou il ne vous concerne pas."),
            StatusCode::NOT_FOUND,
        )
        .await;
    };
    match vault::open(&ctx, &s.person, &node, &doc, &Requester::Person).await {
        Ok(incoming) => stream_response(incoming),
        Err(m) => documents_page(&ctx, &s, Some(&m), StatusCode::NOT_FOUND).await,
    }
}

/// Issues a verifiable copy of a node's document; logged.
pub async fn copy_of(
    ctx: &Ctx,
    person: &str,
    node: &NodeId,
    doc: &str,
    requester: &Requester,
    issued_by: &str,
) -> Result<Response, String> {
    let incoming = vault::open(ctx, person, node, doc, requester).await?;
    let d = incoming.doc.clone();
    let bytes = incoming
        .read_all()
        .await
        .map_err(|_| "Le document n'est pas arrivé en entier. Réessayez.".to_string())?;
    let original = duplicate::Original {
        holder: node.clone(),
        holder_name: vault::node_name(ctx, node),
        category: d.category,
        name: &d.name,
        mime: &d.mime,
        bytes: &bytes,
    };
    let (code, pdf) = duplicate::issue(
        &ctx.vault,
        &ctx.hub.key,
        &vault::base_url(ctx),
        person,
        &original,
        issued_by,
        now(),
    )
    .map_err(|_| "La copie n'a pas pu être faite. Réessayez plus tard.".to_string())?;
    vault::log(
        ctx,
        Event {
            actor: vault::actor(requester),
            action: "duplicate".into(),
            person: Some(person.to_string()),
            subject: format!("{node}/{doc}"),
            procedure: None,
            detail: format!(
                "{} — {} (code {})",
                d.category.label(),
                d.name,
                duplicate::display_code(&code)
            ),
        },
    );
    let name = format!("copie-verifiable-{}.pdf", duplicate::display_code(&code));
    Ok(file_response(Body::from(pdf), "application/pdf", &name))
}

/// POST `/coffre/copie/{node}/{doc}`.
pub async fn copy(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    Path((node, doc)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_start();
    };
    if !csrf_ok(&s, &fields(&body)) {
        return refused(&ctx);
    }
    let Ok(node) = NodeId::new(&node) else {
        refused_here(
            &ctx,
            &s.person,
            &format!("{node}/{doc}"),
            "no such institution",
        );
        return documents_page(
            &ctx,
            &s,
            Some("Ce document n'existe pas, ou il ne vous concerne pas."),
            StatusCode::NOT_FOUND,
        )
        .await;
    };
    match copy_of(
        &ctx,
        &s.person,
        &node,
        &doc,
        &Requester::Person,
        "la personne concernée",
    )
    .await
    {
        Ok(r) => r,
        Err(m) => documents_page(&ctx, &s, Some(&m), StatusCode::NOT_FOUND).await,
    }
}

/// POST `/coffre/depots` (multipart): an upload, checked then sealed.
pub async fn upload(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_start();
    };
    let mut csrf = String::new();
    let mut category = Category::Other;
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut too_big = false;
    loop {
        let mut field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                return documents_page(
                    &ctx,
                    &s,
                    Some("L'envoi a été interrompu. Réessayez."),
                    StatusCode::BAD_REQUEST,
                )
                .await
            }
        };
        match field.name().unwrap_or("") {
            "csrf" => csrf = field.text().await.unwrap_or_default(),
            "type" => {
                category = Category::parse(&field.text().await.unwrap_or_default())
                    .unwrap_or(Category::Other)
            }
            "fichier" => {
                let name = field.file_name().unwrap_or("").to_string();
                let mut bytes = Vec::new();
                loop {
                    match field.chunk().await {
                        Ok(Some(c)) => {
                            if bytes.len() + c.len() > uploads::MAX_UPLOAD {
                                too_big = true;
                                break;
                            }
                            bytes.extend_from_slice(&c);
                        }
                        Ok(None) => break,
                        Err(_) => {
                            return documents_page(
                                &ctx,
                                &s,
                                Some("L'envoi a été interrompu. Réessayez."),
                                StatusCode::BAD_REQUEST,
                            )
                            .await
                        }
                    }
                }
                file = Some((name, bytes));
                if too_big {
                    break;
                }
            }
            _ => {}
        }
    }
    if !too_big && (csrf.is_empty() || !constant_time_eq(s.csrf.as_bytes(), csrf.as_bytes())) {
        return refused(&ctx);
    }
    if too_big {
        let m = format!("Le fichier est trop gros. La limite est de {} Mo : prenez une photo moins lourde ou scannez en PDF.", uploads::MAX_UPLOAD / (1024 * 1024));
        return documents_page(&ctx, &s, Some(&m), StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    let Some((name, bytes)) = file else {
        return documents_page(
            &ctx,
            &s,
            Some("Choisissez un fichier."),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let mime = match uploads::check(&bytes, &name) {
        Ok(m) => m,
        Err(m) => {
            return documents_page(&ctx, &s, Some(&m), StatusCode::UNPROCESSABLE_ENTITY).await
        }
    };
    match uploads::store(
        &ctx.hub.dir.vault(),
        &ctx.vault,
        &s.person,
        &s.key,
        &name,
        category,
        mime,
        &bytes,
        now(),
    ) {
        Ok(u) => {
            vault::log(
                &ctx,
                Event {
                    actor: "person".into(),
                    action: "upload".into(),
                    person: Some(s.person.clone()),
                    subject: u.id.clone(),
                    procedure: None,
                    detail: format!("{} — {}", u.category.label(), u.name),
                },
            );
            back("/coffre")
        }
        Err(crate::HubError::Refused(m)) => {
            documents_page(&ctx, &s, Some(&m), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(error) => {
            tracing::error!(%error, "upload not stored");
            documents_page(
                &ctx,
                &s,
                Some("Le document n'a pas pu être enregistré. Réessayez plus tard."),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
            .await
        }
    }
}

/// GET `/coffre/depots/{id}`.
pub async fn upload_download(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_start();
    };
    let Some(u) = ctx.vault.upload(&s.person, &id).ok().flatten() else {
        refused_here(&ctx, &s.person, &id, "no such upload for this person");
        return documents_page(
            &ctx,
            &s,
            Some("Ce document n'existe pas, ou il ne vous concerne pas."),
            StatusCode::NOT_FOUND,
        )
        .await;
    };
    match uploads::read(&ctx.hub.dir.vault(), &u, &s.key) {
        Ok(bytes) => {
            vault::log(
                &ctx,
                Event {
                    actor: "person".into(),
                    action: "download".into(),
                    person: Some(s.person.clone()),
                    subject: u.id.clone(),
                    procedure: None,
                    detail: format!("{} — {}", u.category.label(), u.name),
                },
            );
            file_response(Body::from(bytes), &u.mime, &u.name)
        }
        Err(error) => {
            tracing::error!(%error, "upload not readable");
            documents_page(
                &ctx,
                &s,
                Some("Ce document ne peut pas être ouvert."),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
            .await
        }
    }
}

/// POST `/coffre/depots/{id}/supprimer`.
pub async fn upload_delete(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_start();
    };
    if !csrf_ok(&s, &fields(&body)) {
        return refused(&ctx);
    }
    let Some(u) = ctx.vault.upload(&s.person, &id).ok().flatten() else {
        refused_here(&ctx, &s.person, &id, "no such upload for this person");
        return documents_page(
            &ctx,
            &s,
            Some("Ce document n'existe pas, ou il ne vous concerne pas."),
            StatusCode::NOT_FOUND,
        )
        .await;
    };
    match uploads::delete(&ctx.hub.dir.vault(), &ctx.vault, &u) {
        Ok(()) => {
            vault::log(
                &ctx,
                Event {
                    actor: "person".into(),
                    action: "delete".into(),
                    person: Some(s.person.clone()),
                    subject: u.id.clone(),
                    procedure: None,
                    detail: format!("{} — {}", u.category.label(), u.name),
                },
            );
            documents_page(&ctx, &s, Some("Le document est supprimé."), StatusCode::OK).await
        }
        Err(error) => {
            tracing::error!(%error, "upload not deleted");
            documents_page(
                &ctx,
                &s,
                Some("Le document n'a pas pu être supprimé. Réessayez plus tard."),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
            .await
        }
    }
}

/// POST `/coffre/lier`: a one-time link code to show at a counter.
pub async fn link_code(State(ctx): State<Arc<Ctx>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_start();
    };
    if !csrf_ok(&s, &fields(&body)) {
        return refused(&ctx);
    }
    match links::new_code(&ctx.vault, &s.person, now()) {
        Ok((code, until)) => private(
            StatusCode::OK,
            vault_page(
                &ctx,
                "Relier une institution",
                Some(&s),
                &format!(
                    "<h1>Relier une institution</h1><p>Montrez ce code au professionnel de l'institution (CAF, France Travail, Conseil départemental…).</p>\
<p class=\"code\" aria-label=\"code à montrer\">{}</p><p>Il sert une seule fois, jusqu'au {}.</p>\
<p class=\"note\">L'institution ne reçoit pas votre identifiant : seulement un numéro qui ne sert qu'à elle.</p>",
                    esc(&code),
                    date(until)
                ),
            ),
        ),
        Err(error) => {
            tracing::error!(%error, "link code not stored");
            documents_page(&ctx, &s, Some("Le code n'a pas pu être créé. Réessayez plus tard."), StatusCode::INTERNAL_SERVER_ERROR).await
        }
    }
}

fn grantee_options(ctx: &Ctx) -> String {
    let mut out = String::new();
    let nodes = ctx.hub.store.nodes().unwrap_or_default();
    for n in nodes.iter().filter(|n| n.revoked_at.is_none()) {
        let _ = write!(
            out,
            "<option value=\"inst:{}\">Tous les professionnels de : {}</option>",
            esc(n.node_id.as_str()),
            esc(&n.name)
        );
    }
    for a in ctx.hub.store.accounts().unwrap_or_default() {
        let inst = nodes
            .iter()
            .find(|n| n.node_id == a.institution && n.revoked_at.is_none());
        if let Some(n) = inst {
            let _ = write!(
                out,
                "<option value=\"pro:{}\">{} ({})</option>",
                esc(&a.email),
                esc(&a.name),
                esc(&n.name)
            );
        }
    }
    out
}

async fn consents_page(
    ctx: &Ctx,
    s: &accounts::PersonSession,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let t = now();
    let mut body = String::from("<h1>Partager mes documents</h1>");
    if let Some(m) = message {
        body.push_str(&alert(m));
    }
    body.push_str("<h2>Mes autorisations</h2>");
    let consents = ctx.vault.consents_of(&s.person).unwrap_or_default();
    if consents.is_empty() {
        body.push_str("<p>Vous n'avez donné aucune autorisation.</p>");
    } else {
        body.push_str("<table><thead><tr><th scope=\"col\">Qui</th><th scope=\"col\">Quoi</th><th scope=\"col\">Pour</th><th scope=\"col\">Jusqu'au</th><th scope=\"col\">État</th></tr></thead><tbody>");
        for c in &consents {
            let state = if let Some(r) = c.revoked_at {
                format!("Retirée le {}", date(r))
            } else if !c.active(t) {
                "Terminée".to_string()
            } else {
                format!("<form method=\"post\" action=\"/coffre/partages/{}/retirer\">{}<button class=\"gros clair\" type=\"submit\">Retirer</button></form>", esc(&c.consent.id), hidden(s))
            };
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{state}</td></tr>",
                esc(&c.grantee_label),
                esc(&c.scope_label),
                esc(procedure_label(&c.consent.procedure)),
                date(c.consent.not_after)
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str(
        "<h2>Donner une autorisation</h2><form method=\"post\" action=\"/coffre/partages\">",
    );
    body.push_str(&hidden(s));
    body.push_str("<fieldset><legend>Quels documents ?</legend>");
    for h in vault::holdings(ctx, &s.person, &Requester::Person).await {
        if let Ok(docs) = &h.documents {
            for d in docs {
                let _ = write!(
                    body,
                    "<p><label><input type=\"checkbox\" name=\"doc\" value=\"{}|{}\"> {} : {} ({})</label></p>",
                    esc(h.node.as_str()),
                    esc(&d.id),
                    d.category.label(),
                    esc(&d.name),
                    esc(&h.name)
                );
            }
        }
    }
    body.push_str("<p>Ou tous mes documents de ce type :</p>");
    for c in Category::ALL {
        let _ = write!(
            body,
            "<p><label><input type=\"checkbox\" name=\"categorie\" value=\"{}\"> {}</label></p>",
            c.code(),
            c.label()
        );
    }
    body.push_str("</fieldset><p><label for=\"qui\">Avec qui ?</label><br><select id=\"qui\" name=\"qui\" required>");
    body.push_str(&grantee_options(ctx));
    body.push_str("</select></p><p><label for=\"demarche\">Pour quelle démarche ?</label><br><select id=\"demarche\" name=\"demarche\">");
    for (code, label) in PROCEDURES {
        let _ = write!(body, "<option value=\"{code}\">{label}</option>");
    }
    let until = passerelle_link::output::time(Some(t + 30 * 86400));
    let _ = write!(
        body,
        "<option value=\"autre\">Autre démarche</option></select></p>\
<p><label for=\"autre\">Autre démarche (écrivez-la)</label><br><input id=\"autre\" name=\"autre\"></p>\
<p><label for=\"fin\">Jusqu'à quand ?</label><br><input id=\"fin\" name=\"fin\" type=\"date\" value=\"{}\" required></p>\
<p><button class=\"gros\" type=\"submit\">Donner l'autorisation</button></p></form>\
<p class=\"note\">Vous pouvez retirer une autorisation à tout moment. Chaque consultation est notée dans « Qui a vu mes documents ».</p>",
        &until[..10]
    );
    private(status, vault_page(ctx, "Partager", Some(s), &body))
}

/// GET `/coffre/partages`.
pub async fn consents(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Response {
    match session(&ctx, &headers) {
        Some((_, s)) => consents_page(&ctx, &s, None, StatusCode::OK).await,
        None => to_start(),
    }
}

/// Days since the epoch of a `YYYY-MM-DD` date.
fn parse_date(text: &str) -> Option<u64> {
    let mut parts = text.trim().splitn(3, '-');
    let (y, m, d): (i64, i64, i64) = (
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
        parts.next()?.parse().ok()?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || !(1970..=9999).contains(&y) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    u64::try_from(era * 146_097 + doe - 719_468).ok()
}

/// POST `/coffre/partages`: grant.
pub async fn grant(State(ctx): State<Arc<Ctx>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_start();
    };
    let f = fields(&body);
    if !csrf_ok(&s, &f) {
        return refused(&ctx);
    }
    let t = now();
    let linked: Vec<NodeId> = ctx
        .vault
        .links(&s.person)
        .unwrap_or_default()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    // Chosen documents, per holding node (only nodes linked to the person).
    let mut scopes: Vec<(NodeId, Scope, String)> = Vec::new();
    let mut docs: std::collections::BTreeMap<NodeId, Vec<String>> = Default::default();
    for (k, v) in &f {
        if k == "doc" {
            if let Some((n, id)) = v.split_once('|') {
                if let Ok(n) = NodeId::new(n) {
                    if linked.contains(&n) {
                        docs.entry(n).or_default().push(id.to_string());
                    }
                }
            }
        }
    }
    for (n, ids) in docs {
        let label = format!(
            "{} document(s) de {}",
            ids.len(),
            vault::node_name(&ctx, &n)
        );
        scopes.push((n, Scope::Documents(ids), label));
    }
    let cats: Vec<Category> = f
        .iter()
        .filter(|(k, _)| k == "categorie")
        .filter_map(|(_, v)| Category::parse(v).ok())
        .collect();
    if !cats.is_empty() {
        let words: Vec<&str> = cats.iter().map(|c| c.label()).collect();
        for n in &linked {
            scopes.push((
                n.clone(),
                Scope::Categories(cats.clone()),
                format!("{} ({})", words.join(", "), vault::node_name(&ctx, n)),
            ));
        }
    }
    let who = field(&f, "qui");
    let grantee = if let Some(n) = who.strip_prefix("inst:") {
        NodeId::new(n)
            .ok()
            .and_then(|n| {
                ctx.hub
                    .store
                    .node(&n)
                    .ok()
                    .flatten()
                    .filter(|r| r.revoked_at.is_none())
            })
            .map(|r| {
                (
                    Grantee::Institution(r.node_id.clone()),
                    format!("Tous les professionnels de {}", r.name),
                )
            })
    } else if let Some(e) = who.strip_prefix("pro:") {
        ctx.hub.store.account(e).ok().flatten().map(|a| {
            let inst = vault::node_name(&ctx, &a.institution);
            (
                Grantee::Professional {
                    institution: a.institution.clone(),
                    account: a.email.clone(),
                },
                format!("{} ({inst})", a.name),
            )
        })
    } else {
        None
    };
    let Some(grantee) = grantee else {
        return consents_page(
            &ctx,
            &s,
            Some("Choisissez avec qui partager."),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let procedure = match field(&f, "demarche") {
        "autre" => field(&f, "autre")
            .trim()
            .chars()
            .take(120)
            .collect::<String>(),
        code if PROCEDURES.iter().any(|(c, _)| *c == code) => code.to_string(),
        _ => String::new(),
    };
    let Some(day) = parse_date(field(&f, "fin")) else {
        return consents_page(
            &ctx,
            &s,
            Some("Choisissez une date de fin."),
            StatusCode::BAD_REQUEST,
        )
        .await;
    };
    let g = consent::Grant {
        person: s.person.clone(),
        grantee,
        scopes,
        procedure,
        until: (day + 1) * 86400,
    };
    match consent::grant(&ctx.vault, &ctx.hub.key, &g, t) {
        Ok(_) => consents_page(&ctx, &s, Some("L'autorisation est donnée."), StatusCode::OK).await,
        Err(crate::HubError::Refused(m)) => {
            consents_page(&ctx, &s, Some(&m), StatusCode::BAD_REQUEST).await
        }
        Err(error) => {
            tracing::error!(%error, "consent not recorded");
            consents_page(
                &ctx,
                &s,
                Some("L'autorisation n'a pas pu être enregistrée. Réessayez plus tard."),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
            .await
        }
    }
}

/// POST `/coffre/partages/{id}/retirer`: revoke, and tell the node now.
pub async fn revoke(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_start();
    };
    if !csrf_ok(&s, &fields(&body)) {
        return refused(&ctx);
    }
    match consent::revoke(&ctx.vault, &s.person, &id, now()) {
        Ok(c) => {
            if let Some(live) = ctx.registry.get(&c.consent.holder) {
                if let Err(error) = crate::federation::send_revocations(
                    &live,
                    &ctx.hub.key,
                    vec![c.consent.id.clone()],
                    ctx.hub.config.query_timeout,
                )
                .await
                {
                    // The hub refuses it already; the node hears at its next status poll.
                    tracing::warn!(%error, "revocation not delivered now");
                }
            }
            consents_page(
                &ctx,
                &s,
                Some("L'autorisation est retirée. Plus personne ne peut l'utiliser."),
                StatusCode::OK,
            )
            .await
        }
        Err(crate::HubError::Refused(m)) => {
            consents_page(&ctx, &s, Some(&m), StatusCode::NOT_FOUND).await
        }
        Err(error) => {
            tracing::error!(%error, "consent not revoked");
            consents_page(
                &ctx,
                &s,
                Some("L'autorisation n'a pas pu être retirée. Réessayez."),
                StatusCode::INTERNAL_SERVER_ERROR,
            )
            .await
        }
    }
}

/// Who did it, in words.
fn who(ctx: &Ctx, actor: &str) -> String {
    if actor == "person" {
        return "Vous".into();
    }
    if let Some(rest) = actor.strip_prefix("professional:") {
        if let Some((account, node)) = rest.rsplit_once('@') {
            let name = ctx
                .hub
                .store
                .account(account)
                .ok()
                .flatten()
                .map_or_else(|| account.to_string(), |a| a.name);
            let inst = NodeId::new(node)
                .map(|n| vault::node_name(ctx, &n))
                .unwrap_or_default();
            return format!("{name} ({inst})");
        }
    }
    if let Some(node) = actor.strip_prefix("node:") {
        return NodeId::new(node)
            .map(|n| vault::node_name(ctx, &n))
            .unwrap_or_default();
    }
    actor.to_string()
}

/// GET `/coffre/journal`: who saw what, when, for which procedure.
pub async fn journal(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_start();
    };
    let mut body = String::from("<h1>Qui a vu mes documents</h1><p>Tout ce qui touche à vos documents est noté ici, et ne peut pas être effacé.</p>\
<table><thead><tr><th scope=\"col\">Quand</th><th scope=\"col\">Qui</th><th scope=\"col\">Quoi</th><th scope=\"col\">Pour quelle démarche</th></tr></thead><tbody>");
    for r in ctx.vault.audit_of(&s.person, 300).unwrap_or_default() {
        let e = &r.event;
        if e.actor == "person" && e.action == "list" {
            continue;
        }
        let what = match e.action.as_str() {
            "list" => format!("a regardé la liste de vos documents ({})", e.detail),
            "download" => format!("a ouvert : {}", e.detail),
            "download_refused" | "list_failed" => {
                format!("accès refusé ou impossible : {}", e.detail)
            }
            "consent_grant" => format!("autorisation donnée : {}", e.detail),
            "consent_revoke" => format!("autorisation retirée : {}", e.detail),
            "duplicate" => format!("copie vérifiable faite : {}", e.detail),
            "upload" => format!("document déposé : {}", e.detail),
            "delete" => format!("document supprimé : {}", e.detail),
            "link" => "a relié votre dossier à votre coffre".into(),
            "account_create" => "compte créé".into(),
            "password_reset" => "mot de passe changé".into(),
            "reset_code_issued" => "a donné un code pour changer le mot de passe".into(),
            other => other.to_string(),
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            date(r.at),
            esc(&who(&ctx, &e.actor)),
            esc(&what),
            esc(e.procedure.as_deref().unwrap_or("—"))
        );
    }
    body.push_str("</tbody></table>");
    private(
        StatusCode::OK,
        vault_page(&ctx, "Qui a vu mes documents", Some(&s), &body),
    )
}

/// GET `/coffre/export`: everything the person holds, as one ZIP streamed
/// as it is written (uploads, every linked institution's documents, and a
/// `manifeste.json`). Each document fetched is logged like a download.
pub async fn export(State(ctx): State<Arc<Ctx>>, headers: HeaderMap) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_start();
    };
    vault::log(
        &ctx,
        Event {
            actor: "person".into(),
            action: "export".into(),
            person: Some(s.person.clone()),
            subject: "-".into(),
            procedure: None,
            detail: String::new(),
        },
    );
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let task_ctx = ctx.clone();
    tokio::spawn(async move {
        if let Err(error) = write_export(&task_ctx, &s, &tx).await {
            tracing::warn!(%error, "export aborted");
            let _ = tx.send(Err(std::io::Error::other(error))).await;
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    file_response(
        Body::from_stream(stream),
        "application/zip",
        "mon-coffre.zip",
    )
}

async fn write_export(
    ctx: &Ctx,
    s: &accounts::PersonSession,
    tx: &tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), String> {
    let send = |b: Vec<u8>| async move {
        tx.send(Ok(Bytes::from(b)))
            .await
            .map_err(|_| "client went away".to_string())
    };
    let mut zip = vault::zip::Zip::default();
    let mut manifest = Vec::new();
    let mut used = std::collections::HashSet::new();
    // Names from institutions and uploads become one safe path segment
    // each: no separators, no dot-only names.
    fn segment(t: &str) -> String {
        let t: String = t
            .chars()
            .map(|c| {
                if c == '/' || c == '\\' || c.is_control() {
                    '_'
                } else {
                    c
                }
            })
            .collect();
        if t.trim_matches('.').trim().is_empty() {
            "_".to_string()
        } else {
            t
        }
    }
    let mut unique = |dir: &str, name: &str, id: &str| {
        let (dir, clean) = (segment(dir), segment(name));
        let mut path = format!("{dir}/{clean}");
        if !used.insert(path.clone()) {
            path = format!("{dir}/{}-{clean}", &id[..8.min(id.len())]);
            used.insert(path.clone());
        }
        path
    };
    for u in ctx.vault.uploads(&s.person).map_err(|e| e.to_string())? {
        let bytes = uploads::read(&ctx.hub.dir.vault(), &u, &s.key).map_err(|e| e.to_string())?;
        let path = unique("mes-depots", &u.name, &u.id);
        send(zip.start(&path).map_err(|e| e.to_string())?).await?;
        zip.data(&bytes);
        send(bytes).await?;
        send(zip.end().map_err(|e| e.to_string())?).await?;
        manifest.push(serde_json::json!({"fichier": path, "origine": "déposé par vous", "type": u.category.label(), "nom": u.name, "octets": u.size, "date": passerelle_link::output::time(Some(u.added_at))}));
    }
    for h in vault::holdings(ctx, &s.person, &Requester::Person).await {
        let Ok(docs) = h.documents else {
            manifest.push(serde_json::json!({"institution": h.name, "erreur": h.documents.err()}));
            continue;
        };
        for d in docs {
            let mut incoming =
                vault::open(ctx, &s.person, &h.node, &d.id, &Requester::Person).await?;
            let path = unique(&h.name, &d.name, &d.id);
            send(zip.start(&path).map_err(|e| e.to_string())?).await?;
            let mut hasher = ring::digest::Context::new(&ring::digest::SHA256);
            let mut got = 0;
            while let Some(chunk) = incoming.next_chunk(&mut hasher, &mut got).await {
                let chunk = chunk.map_err(|e| e.to_string())?;
                zip.data(&chunk);
                tx.send(Ok(chunk))
                    .await
                    .map_err(|_| "client went away".to_string())?;
            }
            send(zip.end().map_err(|e| e.to_string())?).await?;
            manifest.push(serde_json::json!({"fichier": path, "origine": h.name, "type": d.category.label(), "nom": d.name, "octets": d.size, "sha256": passerelle_protocol::hex::encode(&d.sha256), "date": passerelle_link::output::time(Some(d.added_at))}));
        }
    }
    let m = serde_json::to_vec_pretty(&serde_json::json!({"coffre": "Passerelle", "exporte_le": passerelle_link::output::time(Some(now())), "documents": manifest})).map_err(|e| e.to_string())?;
    send(zip.start("manifeste.json").map_err(|e| e.to_string())?).await?;
    zip.data(&m);
    send(m).await?;
    send(zip.finish().map_err(|e| e.to_string())?).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_convert() {
        assert_eq!(super::parse_date("1970-01-01"), Some(0));
        assert_eq!(super::parse_date("2026-11-23"), Some(1_795_392_000 / 86400));
        assert_eq!(super::parse_date("2026-13-01"), None);
        assert_eq!(super::parse_date("hier"), None);
    }
}
