//! The portal's one error type. A handler returns [`PortalError`] (or
//! `Result<_, PortalError>` and `?`); its [`IntoResponse`] sets the status
//! and leaves the error in the response's extensions, and the
//! [`render`] layer at the top of the router, which holds the context,
//! writes the French page around it. Internal failures are logged where
//! they are converted and never shown in detail.

use std::sync::Arc;

use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
};
use maud::html;

use crate::{layout::page, state::Ctx};

/// What went wrong, as the person reading the page needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortalError {
    /// No such page, indicator, document or file (404).
    NotFound,
    /// The request is malformed; the French sentence says what to change
    /// (400).
    BadRequest(&'static str),
    /// A form came back without its token, or with an expired one (403):
    /// start again from `back`.
    FormExpired {
        /// Where to start again.
        back: &'static str,
    },
    /// An operations page asked from an address not allowed (403). The
    /// reader is an operator: the text names the setting, in English.
    OpsForbidden,
    /// A node or the network failed while fetching (502 or 504); the
    /// French sentence says what happened.
    Gateway {
        /// 502 or 504.
        status: StatusCode,
        /// What the person reads.
        french: String,
    },
    /// Something failed on the hub; it was logged (500).
    Internal,
    /// The service is busy or a dependency is down (503).
    Unavailable,
}

impl PortalError {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::FormExpired { .. } | Self::OpsForbidden => StatusCode::FORBIDDEN,
            Self::Gateway { status, .. } => *status,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The page's title and text, in plain words: French, or the
    /// language of a vault page ([`crate::i18n`]). A bad request's reason
    /// is given by its handler, in French.
    fn words(&self) -> (String, String) {
        let tr = crate::i18n::Tr::current();
        match self {
            Self::NotFound => (tr.t("erreur-introuvable"), tr.t("erreur-introuvable-texte")),
            Self::BadRequest(why) => (tr.t("erreur-demande"), (*why).to_string()),
            Self::FormExpired { .. } => {
                (tr.t("erreur-formulaire"), tr.t("erreur-formulaire-texte"))
            }
            Self::OpsForbidden => (tr.t("erreur-acces"), String::new()),
            Self::Gateway { french, .. } => (tr.t("erreur-document"), french.clone()),
            Self::Internal => (tr.t("erreur-interne"), tr.t("erreur-interne-texte")),
            Self::Unavailable => (tr.t("erreur-occupe"), tr.t("erreur-occupe-texte")),
        }
    }
}

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        let mut res = self.status().into_response();
        res.extensions_mut().insert(self);
        res
    }
}

impl From<passerelle_hub_core::HubError> for PortalError {
    fn from(error: passerelle_hub_core::HubError) -> Self {
        tracing::error!(%error, "portal request failed");
        Self::Internal
    }
}

impl From<passerelle_hub_core::store::StoreError> for PortalError {
    fn from(error: passerelle_hub_core::store::StoreError) -> Self {
        tracing::error!(%error, "portal request failed on the store");
        Self::Internal
    }
}

impl From<passerelle_vault::VaultError> for PortalError {
    fn from(error: passerelle_vault::VaultError) -> Self {
        tracing::error!(%error, "vault request failed");
        Self::Internal
    }
}

/// The layer that writes the page of a [`PortalError`] response; every
/// other response passes untouched.
pub async fn render(State(ctx): State<Arc<Ctx>>, res: Response) -> Response {
    let Some(error) = res.extensions().get::<PortalError>().cloned() else {
        return res;
    };
    let (mut parts, _) = res.into_parts();
    if error == PortalError::OpsForbidden {
        parts.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        let body = "forbidden: add this address to metrics_allow in hub.toml\n";
        return Response::from_parts(parts, body.into());
    }
    let (title, text) = error.words();
    let back = match &error {
        PortalError::FormExpired { back } => *back,
        _ => "/",
    };
    let tr = crate::i18n::Tr::current();
    let again = if back == "/" {
        tr.t("erreur-retour-accueil")
    } else {
        tr.t("erreur-recommencer")
    };
    let body = page(
        &ctx,
        &title,
        html! {
            h1 { (title) }
            @if !text.is_empty() { p { (text) } }
            p { a.gros href=(back) { (again) } }
        },
    );
    let mut res = Html(body).into_response();
    *res.status_mut() = parts.status;
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            res.headers_mut().insert(name.clone(), value.clone());
        }
    }
    // An error is about this request only: never kept by a cache.
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
