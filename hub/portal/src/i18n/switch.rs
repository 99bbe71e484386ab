//! The language of a request and the switch that changes it.
//!
//! A layer ([`scope`]) runs every request under `/coffre` with its
//! language: the `lang` cookie when it names a language offered, or else
//! the first offered language of the browser's `Accept-Language`, or
//! French. The switch on every vault page is a set of plain links to
//! `/coffre/langue/{code}?retour=…` (no JavaScript): that route sets the
//! cookie and sends the person back to the page they were on.

use std::sync::Arc;

use axum::{
    extract::{Path, RawQuery, Request},
    http::{header, HeaderMap, HeaderValue, Method},
    middleware::Next,
    response::{IntoResponse, Response},
};
use maud::{html, Markup};

use super::{Lang, Tr};
use crate::{state::Ctx, PortalError};

/// The cookie that keeps the chosen language.
pub const COOKIE: &str = "lang";

/// Where the translated pages live.
const PREFIX: &str = "/coffre";

/// What the request being served knows of its language.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The language of the page.
    pub lang: Lang,
    /// Where the switch sends the person back (a vault page that answers
    /// a GET); `None` outside the vault, where no switch is shown.
    pub back: Option<String>,
}

tokio::task_local! {
    static CURRENT: Scope;
}

/// The scope of the request being served; French and no switch outside
/// the vault's requests.
pub fn current() -> Scope {
    CURRENT.try_with(Clone::clone).unwrap_or(Scope {
        lang: Lang::Fr,
        back: None,
    })
}

/// The layer: runs the vault's requests with their language.
pub async fn scope(req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if path != PREFIX && !path.starts_with("/coffre/") {
        return next.run(req).await;
    }
    let s = Scope {
        lang: chosen(req.headers()),
        back: Some(back_to(req.method(), path)),
    };
    CURRENT.scope(s, next.run(req)).await
}

/// The language a request asks for: its cookie, else its
/// `Accept-Language`, else French.
pub fn chosen(headers: &HeaderMap) -> Lang {
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .and_then(|(_, v)| Lang::parse(v));
    cookie
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(accepted)
        })
        .unwrap_or(Lang::Fr)
}

/// The first offered language of an `Accept-Language` value, by quality
/// then order (`swb, fr;q=0.8`); `None` when it names none.
pub fn accepted(value: &str) -> Option<Lang> {
    let mut best: Option<(u16, Lang)> = None;
    // A long header is not read past its first items.
    for item in value.split(',').take(32) {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .map_or(1000, quality);
        if let Some(lang) = Lang::parse(primary) {
            if q > 0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
    }
    best.map(|(_, l)| l)
}

/// A quality value (`0.8`) in thousandths; 0 when it does not parse.
fn quality(text: &str) -> u16 {
    text.trim()
        .parse::<f32>()
        .ok()
        .filter(|q| (0.0..=1.0).contains(q))
        // Within 0..=1000 after the check above.
        .map_or(0, |q| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let t = (q * 1000.0).round() as u16;
            t
        })
}

/// Where the switch sends the person back: the page itself when it was
/// asked with GET, otherwise the page the form came from (a form's answer
/// has no address of its own to come back to).
fn back_to(method: &Method, path: &str) -> String {
    if (method == Method::GET || method == Method::HEAD) && safe_back(path) {
        return path.to_string();
    }
    if path.starts_with("/coffre/partages") {
        "/coffre/partages".into()
    } else {
        PREFIX.into()
    }
}

/// Whether a path is one the switch may send back to: a vault page,
/// written with plain characters only (no other site, no `..`).
fn safe_back(path: &str) -> bool {
    (path == PREFIX || path.starts_with("/coffre/"))
        && path.len() <= 200
        && !path.contains("//")
        && !path.contains("..")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b))
}

/// The switch's route.
pub fn router() -> axum::Router<Arc<Ctx>> {
    axum::Router::new().route("/coffre/langue/{code}", axum::routing::get(change))
}

/// GET `/coffre/langue/{code}?retour=/coffre/…`: keeps the language in the
/// `lang` cookie (a year) and goes back. Unknown languages are not found;
/// a `retour` that is not a vault page goes to `/coffre`.
pub async fn change(Path(code): Path<String>, RawQuery(query): RawQuery) -> Response {
    let Some(lang) = Lang::parse(&code) else {
        return PortalError::NotFound.into_response();
    };
    let back = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "retour")
        .map(|(_, v)| v.into_owned())
        .filter(|p| safe_back(p))
        .unwrap_or_else(|| PREFIX.to_string());
    let mut res = crate::vault::extract::redirect(&back);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly",
        lang.code()
    )) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// The switch, on every vault page: each language by its own name (in
/// that language, marked with its `lang`), the current one marked, those
/// without a reviewed translation said to be in progress. Nothing outside
/// the vault.
pub fn language_switch(tr: &Tr) -> Markup {
    let s = current();
    let Some(back) = s.back else {
        return html! {};
    };
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("retour", &back)
        .finish();
    html! {
        nav.langues aria-label=(tr.t("langue-choix")) {
            @for l in Lang::ALL {
                @if l == s.lang {
                    strong lang=(l.code()) aria-current="true" { (l.name()) }
                } @else {
                    a lang=(l.code()) hreflang=(l.code()) href={ "/coffre/langue/" (l.code()) "?" (query) } {
                        (l.name())
                    }
                }
                @if !l.reviewed() {
                    " " span.note { "(" (tr.t("langue-en-cours")) ")" }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_an_offered_language_by_quality() {
        assert_eq!(accepted("swb, fr;q=0.8"), Some(Lang::Swb));
        assert_eq!(accepted("fr-FR,fr;q=0.9,swb;q=0.5"), Some(Lang::Fr));
        assert_eq!(accepted("en-US,swb;q=0.7,fr;q=0.6"), Some(Lang::Swb));
        assert_eq!(accepted("en, de"), None);
        assert_eq!(accepted("swb;q=0, fr;q=0.1"), Some(Lang::Fr));
        assert_eq!(accepted("swb;q=abc"), None);
        assert_eq!(accepted(""), None);
    }

    #[test]
    fn the_cookie_wins_over_the_browser() {
        let mut h = HeaderMap::new();
        assert_eq!(chosen(&h), Lang::Fr);
        h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("swb"));
        assert_eq!(chosen(&h), Lang::Swb);
        h.insert(header::COOKIE, HeaderValue::from_static("a=b; lang=fr"));
        assert_eq!(chosen(&h), Lang::Fr);
        // An unknown language in the cookie is ignored.
        h.insert(header::COOKIE, HeaderValue::from_static("lang=xx"));
        assert_eq!(chosen(&h), Lang::Swb);
    }

    #[test]
    fn the_switch_only_sends_back_to_vault_pages() {
        assert_eq!(back_to(&Method::GET, "/coffre/journal"), "/coffre/journal");
        assert_eq!(
            back_to(&Method::POST, "/coffre/partages/x/retirer"),
            "/coffre/partages"
        );
        assert_eq!(back_to(&Method::POST, "/coffre/depots"), "/coffre");
        assert!(safe_back("/coffre"));
        for bad in [
            "/coffrefort",
            "//evil.example/coffre",
            "/coffre//evil.example",
            "/coffre/../partenaires",
            "https://evil.example/coffre",
            "/coffre/a b",
            "/coffre/%2e%2e",
            "/partenaires",
        ] {
            assert!(!safe_back(bad), "{bad}");
        }
    }
}
