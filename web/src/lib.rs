//! # passerelle-web
//!
//! What Passerelle's two web applications share: the hub's portal
//! (`hub/portal/`) and the node's console (`node/src/console/`). Both are
//! server-rendered French pages that work without JavaScript, for people
//! on a cheap phone; they look the same, sign people in the same way, and
//! refuse forged forms the same way. This crate holds that common part, so
//! the node gets it without any hub crate.
//!
//! It knows no account type, no store and no route: the applications keep
//! their accounts and words; they pass what this crate needs through small
//! traits ([`session::Entry`], [`session::Backend`],
//! [`signin::Credentials`]).
//!
//! ## Layout
//! - [`style`]: the stylesheet, the page skeleton, and the pieces every
//!   form or table shares (CSRF field, alert, column heads).
//! - [`csrf`]: form tokens and their constant-time check.
//! - [`french`]: numbers and dates the French way, in Mayotte time.
//! - [`session`]: sessions keyed by the SHA-256 of a cookie token, over a
//!   store the application chooses (memory at the hub, the node's store at
//!   the node).
//! - [`cookie`]: reading cookies, writing the session cookie, the
//!   client's address behind a trusted proxy, private responses.
//! - [`ratelimit`]: attempts per key (sign-in limits).
//! - [`password`]: argon2id hashes, new-password rules, first passwords.
//! - [`totp`]: the second factor (RFC 6238 codes).
//! - [`signin`]: the steps of a sign-in after the password.
//! - [`forms`]: the forms of those steps and of a password change, with
//!   their words.
//! - [`qr`]: QR codes as inline SVG (enrolling an authenticator app).
//! - [`https`]: a TLS acceptor from configured PEM files.
//! - [`multipart`]: bounded reading of multipart forms.

pub mod cookie;
pub mod csrf;
pub mod forms;
pub mod french;
pub mod https;
pub mod multipart;
pub mod password;
pub mod qr;
pub mod ratelimit;
pub mod session;
pub mod signin;
pub mod style;
pub mod totp;
