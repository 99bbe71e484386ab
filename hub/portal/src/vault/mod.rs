//! The beneficiary's vault pages, in plain words (French, and the
//! languages of [`crate::i18n`]): big buttons, few words,
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
//! - [`icons`]: the pictures beside the main actions.
//!
//! Their words are Fluent messages (`hub/portal/locales/*/vault.ftl`),
//! read through [`crate::i18n::Tr`] in the reader's language.

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
    vault::{Category, Grantee, Requester, Scope, PROCEDURES},
};

use super::{
    layout::page,
    partner::{client_ip, client_key, private},
};
use passerelle_hub_core::federation::{Incoming, TransferError};
use passerelle_vault::{self as vault, accounts, consent, duplicate, links, uploads};

use crate::{i18n::Tr, state::Ctx};
use icons::{icon, Icon};

mod account;
mod documents;
mod export;
pub mod extract;
pub mod icons;
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

/// A vault refusal in plain words (in the reader's language): what the
/// person can do next.
pub fn refusal_french(r: &vault::Refusal) -> String {
    use vault::Refusal as R;
    let tr = Tr::current();
    match r {
        R::ConsentEndsInPast => tr.t("refus-fin-passee"),
        // The rule is one year (366 days, for leap years).
        R::ConsentTooLong { .. } => tr.t("refus-trop-long"),
        R::ConsentWithoutScope => tr.t("refus-sans-document"),
        R::ConsentWithoutProcedure => tr.t("refus-sans-demarche"),
        R::UnknownConsent => tr.t("refus-autorisation-inconnue"),
        R::BadResetCode => tr.t("refus-code-reinitialisation"),
        R::BadRescueCode { attempts_left: 0 } => tr.t("refus-secours-dernier-essai"),
        R::BadRescueCode { attempts_left } => {
            tr.a("refus-secours-faux", &[("essais", (*attempts_left).into())])
        }
        R::LinkCodeExpired => tr.t("refus-code-liaison-expire"),
        R::UnknownLinkCode => tr.t("refus-code-liaison-inconnu"),
        R::LoginTaken => tr.t("refus-identifiant-pris"),
        R::QuotaFull {
            max_bytes,
            max_files,
            linked: true,
        } => tr.a(
            "refus-coffre-plein",
            &[
                ("mo", (max_bytes / MIB).into()),
                ("fichiers", (*max_files).into()),
            ],
        ),
        R::QuotaFull {
            max_bytes,
            max_files,
            linked: false,
        } => tr.a(
            "refus-coffre-plein-sans-institution",
            &[
                ("mo", (max_bytes / MIB).into()),
                ("fichiers", (*max_files).into()),
                ("mo-relie", (vault::quota::LINKED.max_bytes / MIB).into()),
            ],
        ),
        // Not yet in the translation files (French in every language).
        R::ShareNeedsProfessional => "Vos documents déposés se partagent avec une personne précise : choisissez un professionnel, pas toute une institution.".into(),
        R::GranteeWithoutKey => "Ce professionnel ne peut pas encore recevoir vos documents déposés : il doit d'abord se connecter une fois à son espace. Réessayez plus tard, ou partagez seulement les documents des institutions.".into(),
        R::WrongPassword => "Ce n'est pas le bon mot de passe.".into(),
        R::NotLinked => "Cette institution n'est pas reliée à votre coffre.".into(),
        R::ScopeTooLarge { max } => tr.a("refus-trop-de-documents", &[("max", (*max).into())]),
        R::TooManyConsents { max } => tr.a("refus-trop-d-autorisations", &[("max", (*max).into())]),
        R::TooManyLinkCodes { max } => tr.a("refus-trop-de-codes", &[("max", (*max).into())]),
    }
}

/// A mebibyte, for sizes people read.
const MIB: u64 = 1024 * 1024;

/// Every access failure once: its code in the journal (the
/// [`vault::AccessError`]'s text), the message key of what a page says,
/// and that of what the journal says. A refusal by the node is apart: the
/// node gives its reason.
const ACCESS_WORDS: &[(&str, &str, &str)] = &[
    ("unreachable", "acces-injoignable", "journal-injoignable"),
    ("timed_out", "acces-trop-long", "journal-trop-long"),
    (
        "outdated",
        "acces-logiciel-ancien",
        "journal-logiciel-ancien",
    ),
    ("not_linked", "acces-pas-a-vous", "journal-pas-a-vous"),
    ("unrecorded", "acces-non-note", "journal-non-note"),
];

/// The message keys the code builds at run time (the tests check that
/// French has each, as for the keys written in the code).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn dynamic_keys() -> Vec<&'static str> {
    ACCESS_WORDS
        .iter()
        .flat_map(|(_, page, journal)| [*page, *journal])
        .collect()
}

/// Why an institution's documents cannot be shown or opened, in plain
/// words (in the reader's language).
pub fn access_french(e: &vault::AccessError) -> String {
    use passerelle_protocol::message::Refusal;
    use vault::AccessError as E;
    let tr = Tr::current();
    match e {
        E::Refused(Refusal::Access(a)) => a.french().to_string(),
        E::Refused(_) => tr.t("acces-institution-sans-reponse"),
        other => {
            let code = other.to_string();
            ACCESS_WORDS
                .iter()
                .find(|(c, ..)| *c == code)
                .map_or_else(|| tr.t("acces-erreur"), |(_, page, _)| tr.t(page))
        }
    }
}

/// A failed access as the journal records it (`who: code`), in plain
/// words for the journal page.
fn failure_french(detail: &str) -> String {
    if let Some(words) = upload_sharing::journal_words(detail) {
        return words.into();
    }
    let tr = Tr::current();
    if let Some((who, _)) = detail.split_once(": refused: ") {
        return tr.a("journal-refuse-par-institution", &[("qui", who.into())]);
    }
    for (code, _, journal) in ACCESS_WORDS {
        if let Some(who) = detail.strip_suffix(&format!(": {code}")) {
            let why = tr.t(journal);
            return tr.a(
                "journal-echec",
                &[("qui", who.into()), ("raison", why.into())],
            );
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
        let (key, status) = match e {
            TransferError::Stalled { .. } => ("transfert-arrete", StatusCode::GATEWAY_TIMEOUT),
            TransferError::Cut { .. } | TransferError::Short { .. } => {
                ("transfert-coupe", StatusCode::BAD_GATEWAY)
            }
            TransferError::TooLong { .. } | TransferError::Mismatch { .. } => {
                ("transfert-different", StatusCode::BAD_GATEWAY)
            }
        };
        Self {
            french: Tr::current().t(key),
            network: Some(status),
        }
    }
}

pub(crate) use crate::layout::{alert, column_heads as table_head, csrf_field as hidden};

fn menu(s: &accounts::PersonSession) -> Markup {
    let tr = Tr::current();
    html! {
        nav.menu aria-label=(tr.t("menu-nom")) {
            a.gros href="/coffre" { (icon(Icon::Documents)) (tr.t("menu-documents")) }
            a.gros href="/coffre/partages" { (icon(Icon::Share)) (tr.t("menu-partager")) }
            a.gros href="/coffre/journal" { (icon(Icon::Journal)) (tr.t("menu-journal")) }
            form method="post" action="/coffre/lier" {
                (hidden(&s.csrf))
                button.gros type="submit" { (icon(Icon::Link)) (tr.t("menu-relier")) }
            }
            a.gros href="/coffre/export" { (icon(Icon::Download)) (tr.t("menu-tout-telecharger")) }
            a.gros href="/coffre/compte" { (icon(Icon::Account)) (tr.t("menu-compte")) }
            form method="post" action="/coffre/deconnexion" {
                (hidden(&s.csrf))
                button.gros.clair type="submit" { (icon(Icon::SignOut)) (tr.t("menu-deconnexion")) }
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
