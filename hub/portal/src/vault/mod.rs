//! The beneficiary's vault pages, in plain French: big buttons, few words,
//! no JavaScript. Every page needs the person's session; every form
//! carries the session's CSRF token (sign-in and creation: a double-submit
//! token in a cookie); sign-in attempts are limited per address. Pages are
//! maud templates: every text is escaped by the template engine.
//!
//! - [`extract`]: the person's session and CSRF-checked forms as
//!   extractors (and the professional's, for [`crate::pro_vault`]).
//! - [`account`]: creating an account, signing in and out, password reset.
//! - [`documents`]: the documents, downloads, copies, uploads.
//! - [`linking`]: link codes.
//! - [`export`]: the export of everything as one ZIP.
//! - [`sharing`]: consents and the access journal.
//! - [`identify`]: codes sent to the person's phone or e-mail (account
//!   creation, sign-in from a new device).
//! - [`settings`]: the account page (notices, codes from new devices).
//! - [`upload_sharing`]: the person's uploads in consents (keys sealed to
//!   the professional).
//! - [`rights`]: the account page: unlink an institution, delete the
//!   account; the inactivity notice.
//! - [`oidc`]: FranceConnect attached to an account, and sign-in with it.

use std::{fmt::Write as _, net::SocketAddr, sync::Arc};

use axum::{
    body::{Body, Bytes},
    extract::{ConnectInfo, Multipart, Path, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::Response,
};
use maud::{html, Markup};
use passerelle_link::now;
use passerelle_protocol::{
    audit::{Action, Actor, Event},
    ids::NodeId,
    vault::{procedure_label, Category, Grantee, Requester, Scope, PROCEDURES},
};

use super::{
    layout::{date, page},
    partner::{client_ip, client_key, private},
};
use passerelle_hub_core::federation::{Incoming, TransferError};
use passerelle_vault::{self as vault, accounts, consent, duplicate, links, uploads};

use crate::state::Ctx;

mod account;
mod documents;
mod export;
pub mod extract;
pub mod identify;
mod linking;
mod oidc;
mod rights;
mod settings;
mod sharing;
mod upload_sharing;

pub use account::*;
pub use documents::*;
pub use export::*;
pub use linking::*;
pub use rights::{account_page, delete_account, unlink};
pub use settings::*;
pub use sharing::*;

use extract::{redirect, token_ok, Checked, FormCookie, Person};

/// The beneficiary's vault pages.
pub fn router() -> axum::Router<Arc<Ctx>> {
    use axum::{
        extract::DefaultBodyLimit,
        routing::{get, post},
    };
    axum::Router::new()
        .route("/coffre", get(home))
        .route("/coffre/creer", get(create_page).post(identify::create))
        .route("/coffre/creer/code", post(identify::create_code))
        .route("/coffre/connexion", get(login_page).post(login))
        .route("/coffre/connexion/code", post(identify::sign_in_code))
        .route("/coffre/compte", get(account_page).post(save_settings))
        .route("/coffre/deconnexion", post(logout))
        .route("/coffre/recuperer", get(reset_page).post(reset))
        .route("/coffre/institution/{node}/{doc}", get(download))
        .route("/coffre/copie/{node}/{doc}", post(copy))
        .route(
            "/coffre/depots",
            post(upload).layer(DefaultBodyLimit::max(
                uploads::MAX_UPLOAD + crate::multipart::FORM_LIMIT,
            )),
        )
        .route("/coffre/depots/{id}", get(upload_download))
        .route("/coffre/depots/{id}/supprimer", post(upload_delete))
        .route("/coffre/lier", post(link_code))
        .route("/coffre/partages", get(consents).post(grant))
        .route("/coffre/partages/{id}/retirer", post(revoke))
        .route("/coffre/journal", get(journal))
        .route("/coffre/export", get(export))
        .route("/coffre/compte/supprimer", post(delete_account))
        .route("/coffre/compte/delier/{node}", post(unlink))
        .merge(oidc::routes(axum::Router::new()))
}

const SESSION: &str = "pv_session";

const FORM: &str = "pv_form";

fn refused(_ctx: &Ctx) -> Response {
    use axum::response::IntoResponse;
    crate::PortalError::FormExpired { back: "/coffre" }.into_response()
}

/// A vault refusal in plain French: what the person can do next.
pub fn refusal_french(r: &vault::Refusal) -> String {
    use vault::Refusal as R;
    match r {
        R::ConsentEndsInPast => "La date de fin doit être après aujourd'hui.".into(),
        // The rule is one year (366 days, for leap years).
        R::ConsentTooLong { .. } => "Une autorisation dure un an au plus.".into(),
        R::ConsentWithoutScope => "Choisissez au moins un document ou un type de document.".into(),
        R::ConsentWithoutProcedure => "Dites pour quelle démarche vous donnez cette autorisation.".into(),
        R::UnknownConsent => "Cette autorisation n'existe pas.".into(),
        R::BadResetCode => "Ce code n'est pas valable. Demandez un nouveau code à un professionnel.".into(),
        R::BadRescueCode { attempts_left: 0 } => "Le code de secours n'est pas le bon, et c'était le dernier essai : le code donné par le professionnel ne vaut plus. Demandez un nouveau code à un professionnel.".into(),
        R::BadRescueCode { attempts_left } => format!(
            "Le code de secours n'est pas le bon. Vérifiez-le et réessayez avec le même code du professionnel (encore {attempts_left} essai{}), ou laissez la case vide (vos documents déposés seront alors effacés).",
            if *attempts_left > 1 { "s" } else { "" }
        ),
        R::LinkCodeExpired => "Ce code de liaison a expiré. Affichez un nouveau code dans votre coffre.".into(),
        R::UnknownLinkCode => "Ce code de liaison n'est pas connu, ou il a déjà servi.".into(),
        R::LoginTaken => "Un compte existe déjà avec cet identifiant.".into(),
        R::QuotaFull { max_bytes, max_files, linked: true } => format!(
            "Votre coffre est plein ({} Mo ou {max_files} documents au plus). Supprimez un document avant d'en ajouter un.",
            max_bytes / MIB
        ),
        R::QuotaFull { max_bytes, max_files, linked: false } => format!(
            "Votre coffre est plein : tant qu'aucune institution n'est reliée à votre coffre, vous pouvez déposer {max_files} documents et {} Mo au plus. Supprimez un document, ou reliez une institution pour avoir jusqu'à {} Mo.",
            max_bytes / MIB,
            vault::quota::LINKED.max_bytes / MIB
        ),
        R::ScopeTooLarge { max } => format!(
            "Une autorisation peut porter sur {max} documents ou types de document au plus. Choisissez-en moins, ou donnez une deuxième autorisation."
        ),
        R::TooManyConsents { max } => format!(
            "Vous avez déjà {max} autorisations en cours, c'est le maximum. Retirez-en une avant d'en donner une nouvelle."
        ),
        R::ShareNeedsProfessional => "Vos documents déposés se partagent avec une personne précise : choisissez un professionnel, pas toute une institution.".into(),
        R::GranteeWithoutKey => "Ce professionnel ne peut pas encore recevoir vos documents déposés : il doit d'abord se connecter une fois à son espace. Réessayez plus tard, ou partagez seulement les documents des institutions.".into(),
        R::WrongPassword => "Ce n'est pas le bon mot de passe.".into(),
        R::NotLinked => "Cette institution n'est pas reliée à votre coffre.".into(),
        R::TooManyLinkCodes { max } => format!(
            "Vous avez déjà {max} codes de liaison en attente. Montrez l'un d'eux au guichet, ou attendez qu'ils expirent (30 minutes)."
        ),
    }
}

/// A mebibyte, for sizes people read.
const MIB: u64 = 1024 * 1024;

/// Every access failure once: its code in the journal (the
/// [`vault::AccessError`]'s text), what a page says, and what the journal
/// says. A refusal by the node is apart: the node gives its reason.
const ACCESS_WORDS: &[(&str, &str, &str)] = &[
    (
        "unreachable",
        "Cette institution ne répond pas pour le moment. Réessayez plus tard.",
        "l'institution ne répondait pas",
    ),
    (
        "timed_out",
        "Cette institution met trop de temps à répondre. Réessayez plus tard.",
        "l'institution a mis trop de temps à répondre",
    ),
    (
        "outdated",
        "Cette institution doit mettre à jour son logiciel Passerelle pour montrer ses documents. Réessayez plus tard.",
        "le logiciel de l'institution doit être mis à jour",
    ),
    (
        "not_linked",
        "Ce document n'existe pas, ou il ne vous concerne pas.",
        "ce document ne vous concerne pas",
    ),
    (
        "unrecorded",
        "L'accès n'a pas pu être enregistré dans le journal ; il est donc refusé. Réessayez plus tard.",
        "l'accès n'a pas pu être noté, il a donc été refusé",
    ),
];

/// Why an institution's documents cannot be shown or opened, in plain
/// French.
pub fn access_french(e: &vault::AccessError) -> String {
    use passerelle_protocol::message::Refusal;
    use vault::AccessError as E;
    match e {
        E::Refused(Refusal::Access(a)) => a.french().to_string(),
        E::Refused(_) => "L'institution n'a pas pu répondre. Réessayez plus tard.".to_string(),
        other => {
            let code = other.to_string();
            ACCESS_WORDS.iter().find(|(c, ..)| *c == code).map_or_else(
                || "Une erreur s'est produite. Réessayez plus tard.".into(),
                |(_, page, _)| (*page).to_string(),
            )
        }
    }
}

/// A failed access as the journal records it (`who: code`), in plain
/// French for the journal page.
fn failure_french(detail: &str) -> String {
    if let Some(words) = upload_sharing::journal_words(detail) {
        return words.into();
    }
    if let Some((who, _)) = detail.split_once(": refused: ") {
        return format!("{who} : l'institution a refusé l'accès");
    }
    for (code, _, journal) in ACCESS_WORDS {
        if let Some(who) = detail.strip_suffix(&format!(": {code}")) {
            return format!("{who} : {journal}");
        }
    }
    detail.to_string()
}

/// Why a document was not sent, in plain French, with the HTTP status of
/// a network failure: 502 when the node is unreachable, cut off or sent
/// something wrong, 504 when it did not answer in time. `None` for a
/// refusal, which each page answers with its own status. A network
/// failure is never a 404.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotSent {
    /// What the person reads.
    pub french: String,
    /// The status of a network failure.
    pub network: Option<StatusCode>,
}

impl NotSent {
    /// The status to answer, `refused` when the node or the hub refused.
    pub fn status(&self, refused: StatusCode) -> StatusCode {
        self.network.unwrap_or(refused)
    }
}

impl From<&vault::AccessError> for NotSent {
    fn from(e: &vault::AccessError) -> Self {
        use vault::AccessError as E;
        Self {
            french: access_french(e),
            network: match e {
                E::Unreachable => Some(StatusCode::BAD_GATEWAY),
                E::TimedOut => Some(StatusCode::GATEWAY_TIMEOUT),
                _ => None,
            },
        }
    }
}

impl From<&TransferError> for NotSent {
    fn from(e: &TransferError) -> Self {
        let (french, status) = match e {
            TransferError::Stalled { .. } => (
                "L'institution a cessé d'envoyer le document. Réessayez plus tard.",
                StatusCode::GATEWAY_TIMEOUT,
            ),
            TransferError::Cut { .. } | TransferError::Short { .. } => (
                "Le document n'est pas arrivé en entier : la liaison avec l'institution a été coupée. Réessayez plus tard.",
                StatusCode::BAD_GATEWAY,
            ),
            TransferError::TooLong { .. } | TransferError::Mismatch { .. } => (
                "Le document reçu ne correspond pas à celui que l'institution a annoncé ; il ne vous est pas transmis.",
                StatusCode::BAD_GATEWAY,
            ),
        };
        Self {
            french: french.to_string(),
            network: Some(status),
        }
    }
}

pub(crate) use crate::layout::{alert, column_heads as table_head, csrf_field as hidden};

fn menu(s: &accounts::PersonSession) -> Markup {
    html! {
        nav.menu aria-label="Mon coffre" {
            a.gros href="/coffre" { "Mes documents" }
            a.gros href="/coffre/partages" { "Partager" }
            a.gros href="/coffre/journal" { "Qui a vu mes documents" }
            form method="post" action="/coffre/lier" {
                (hidden(&s.csrf))
                button.gros type="submit" { "Relier une institution" }
            }
            a.gros href="/coffre/export" { "Tout télécharger" }
            a.gros href="/coffre/compte" { "Mon compte" }
            form method="post" action="/coffre/deconnexion" {
                (hidden(&s.csrf))
                button.gros.clair type="submit" { "Me déconnecter" }
            }
        }
    }
}

/// A vault page: the person's menu (when signed in) above `body`.
fn vault_page(ctx: &Ctx, title: &str, s: Option<&accounts::PersonSession>, body: Markup) -> String {
    page(
        ctx,
        title,
        html! {
            @if let Some(s) = s { (menu(s)) }
            (body)
        },
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
    with_session(redirect(to), token, ttl)
}

/// A file sent for download: its type, its name, never cached.
pub(crate) fn file_response(body: Body, mime: &str, name: &str) -> Response {
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

/// Logs in the person's journal what they did (or were refused).
fn person_did(ctx: &Ctx, person: &str, action: Action, subject: &str, detail: String) {
    ctx.vault.log(Event {
        actor: Actor::Person,
        action,
        person: Some(person.to_string()),
        subject: subject.to_string(),
        procedure: None,
        detail,
    });
}

/// Logs an access the hub refused before asking any node.
fn refused_here(ctx: &Ctx, person: &str, subject: &str, why: &str) {
    person_did(
        ctx,
        person,
        Action::DownloadRefused,
        subject,
        why.to_string(),
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

#[cfg(test)]
mod words_tests {
    use super::*;
    use vault::AccessError as E;

    #[test]
    fn every_access_failure_has_its_words_on_pages_and_in_the_journal() {
        for e in [
            E::Unreachable,
            E::TimedOut,
            E::Outdated,
            E::NotLinked,
            E::Unrecorded,
        ] {
            let page = access_french(&e);
            assert!(
                !page.contains("Une erreur s'est produite"),
                "{e:?} has no page words"
            );
            let journal = failure_french(&format!("CAF Mayotte: {e}"));
            assert!(journal.starts_with("CAF Mayotte : "), "{e:?}: {journal}");
            assert!(
                !journal.contains(&e.to_string()),
                "{e:?} shows its code: {journal}"
            );
        }
        assert_eq!(
            failure_french("CAF Mayotte: refused: no consent"),
            "CAF Mayotte : l'institution a refusé l'accès"
        );
    }
}
