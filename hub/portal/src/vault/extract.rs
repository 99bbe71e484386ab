//! Who is asking, as axum extractors, so that no vault handler looks a
//! session up or checks a form's token by hand:
//!
//! - [`Person`]: the person's live session; without one the request is
//!   answered with a redirect to `/coffre`. `Option<Person>` for pages
//!   that also serve visitors.
//! - [`Professional`]: a partner professional's live session and account;
//!   without one, a redirect to the partners' sign-in.
//! - [`Checked`]: a posted form whose `csrf` field matches the token of
//!   who sent it ([`Person`], [`Professional`], or [`FormCookie`] for the
//!   forms shown before any session: creation, sign-in, reset). A
//!   mismatch is answered with the "form refused" page (403).

use std::{convert::Infallible, ops::Deref, sync::Arc};

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request},
    http::{header, request::Parts, StatusCode},
    response::{IntoResponse, Response},
};
use passerelle_hub_core::partners::Account;
use passerelle_link::now;
use passerelle_protocol::sign::constant_time_eq;
use passerelle_vault::accounts::PersonSession;

use super::{refused, FORM, SESSION};
use crate::{
    partner::{self, cookies},
    state::Ctx,
};

/// Posted form fields, in order, repeated keys kept.
#[derive(Debug, Default)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// Parses an urlencoded body.
    pub fn parse(body: &[u8]) -> Self {
        Self(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of a field, or empty.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of a field, in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Whether a form's token is the expected one (never when empty).
pub fn token_ok(expected: &str, given: &str) -> bool {
    !given.is_empty() && constant_time_eq(expected.as_bytes(), given.as_bytes())
}

/// The signed-in person: the session and its cookie token. Derefs to the
/// session.
#[derive(Debug)]
pub struct Person {
    /// The session cookie's token (to close the session).
    pub token: String,
    /// The live session.
    pub session: PersonSession,
}

impl Person {
    fn of(ctx: &Ctx, parts: &Parts) -> Option<Self> {
        let token = cookies(&parts.headers).remove(SESSION)?;
        let session = ctx.person_sessions.get(&token, now())?;
        Some(Self { token, session })
    }
}

impl Deref for Person {
    type Target = PersonSession;
    fn deref(&self) -> &PersonSession {
        &self.session
    }
}

impl FromRequestParts<Arc<Ctx>> for Person {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, ctx: &Arc<Ctx>) -> Result<Self, Response> {
        Self::of(ctx, parts).ok_or_else(|| redirect("/coffre"))
    }
}

impl OptionalFromRequestParts<Arc<Ctx>> for Person {
    type Rejection = Infallible;
    async fn from_request_parts(
        parts: &mut Parts,
        ctx: &Arc<Ctx>,
    ) -> Result<Option<Self>, Infallible> {
        Ok(Self::of(ctx, parts))
    }
}

/// A signed-in partner professional, with their account.
#[derive(Debug)]
pub struct Professional {
    /// The session's form token.
    pub csrf: String,
    /// The account, as stored now.
    pub account: Account,
}

impl FromRequestParts<Arc<Ctx>> for Professional {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, ctx: &Arc<Ctx>) -> Result<Self, Response> {
        partner::session(ctx, &parts.headers)
            .and_then(|(_, s)| {
                let account = ctx.hub.store.account(&s.email).ok().flatten()?;
                Some(Self {
                    csrf: s.csrf,
                    account,
                })
            })
            .ok_or_else(partner::to_login)
    }
}

/// The double-submit token of a form shown without a session, from its
/// cookie (empty when there is none, which no form matches).
#[derive(Debug)]
pub struct FormCookie(String);

impl FromRequestParts<Arc<Ctx>> for FormCookie {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, _: &Arc<Ctx>) -> Result<Self, Response> {
        Ok(Self(
            cookies(&parts.headers).remove(FORM).unwrap_or_default(),
        ))
    }
}

/// Whoever a form's token must match, and how a mismatch is answered.
pub trait Sender: FromRequestParts<Arc<Ctx>, Rejection = Response> + Send {
    /// The token the form must carry.
    fn csrf(&self) -> &str;
    /// The answer to a form without the right token.
    fn refuse(ctx: &Ctx) -> Response;
}

impl Sender for Person {
    fn csrf(&self) -> &str {
        &self.session.csrf
    }
    fn refuse(ctx: &Ctx) -> Response {
        refused(ctx)
    }
}

impl Sender for Professional {
    fn csrf(&self) -> &str {
        &self.csrf
    }
    fn refuse(ctx: &Ctx) -> Response {
        partner::forbidden(ctx)
    }
}

impl Sender for FormCookie {
    fn csrf(&self) -> &str {
        &self.0
    }
    fn refuse(ctx: &Ctx) -> Response {
        refused(ctx)
    }
}

/// A posted form whose `csrf` field matched the sender's token.
#[derive(Debug)]
pub struct Checked<S> {
    /// Who sent it.
    pub by: S,
    /// Its fields.
    pub fields: Fields,
}

impl<S: Sender> FromRequest<Arc<Ctx>> for Checked<S> {
    type Rejection = Response;
    async fn from_request(req: Request, ctx: &Arc<Ctx>) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let by = S::from_request_parts(&mut parts, ctx).await;
        // The body is read first, as a plain `Bytes` argument would be.
        let body = Bytes::from_request(Request::from_parts(parts, body), ctx)
            .await
            .map_err(IntoResponse::into_response)?;
        let by = by?;
        let fields = Fields::parse(&body);
        if !token_ok(by.csrf(), fields.get("csrf")) {
            return Err(S::refuse(ctx));
        }
        Ok(Self { by, fields })
    }
}

/// A "see other" redirect.
pub fn redirect(to: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_string())]).into_response()
}

#[cfg(test)]
mod tests {
    use super::{token_ok, Fields};

    #[test]
    fn fields_keep_order_and_repeats() {
        let f = Fields::parse(b"doc=a%7C1&csrf=t&doc=b%7C2&autre=l%27aide");
        assert_eq!(f.get("csrf"), "t");
        assert_eq!(f.get("doc"), "a|1");
        assert_eq!(f.all("doc").collect::<Vec<_>>(), ["a|1", "b|2"]);
        assert_eq!(f.get("autre"), "l'aide");
        assert_eq!(f.get("absent"), "");
    }

    #[test]
    fn an_empty_token_never_matches() {
        assert!(token_ok("abc", "abc"));
        assert!(!token_ok("abc", "abd"));
        assert!(!token_ok("", ""));
        assert!(!token_ok("abc", ""));
    }
}
