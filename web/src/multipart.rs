//! Bounded reading of multipart forms. A form's text fields (a token, a
//! title, a date) are short: each is read piece by piece and refused at
//! the first byte over [`FIELD_LIMIT`], so a huge text field is never
//! buffered. Files have their own, larger limits, enforced by their
//! readers as the bytes arrive; the whole body is also capped by the
//! route's `DefaultBodyLimit`.
//!
//! Readers call this before any token check: the bound holds for every
//! sender, signed in or not.

use axum::{
    extract::multipart::{Field, MultipartError},
    http::StatusCode,
};

/// Largest text field of any form, in bytes.
pub const FIELD_LIMIT: usize = 4 * 1024;

/// Largest body of a form without files, in bytes (every route but the
/// uploads).
pub const FORM_LIMIT: usize = 64 * 1024;

/// Why a form could not be read.
#[derive(Debug)]
pub enum FormError {
    /// A text field is longer than [`FIELD_LIMIT`].
    FieldTooLong,
    /// The body was cut, malformed, too slow or over the route's limit.
    Read(MultipartError),
}

impl FormError {
    /// The HTTP status of the refusal.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::FieldTooLong => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Read(e) => e.status(),
        }
    }
}

impl From<MultipartError> for FormError {
    fn from(e: MultipartError) -> Self {
        Self::Read(e)
    }
}

/// Reads a text field, at most [`FIELD_LIMIT`] bytes; invalid UTF-8 is
/// replaced.
///
/// # Errors
/// [`FormError::FieldTooLong`] at the first piece over the limit, without
/// reading further; [`FormError::Read`] when the body fails.
pub async fn text(field: &mut Field<'_>) -> Result<String, FormError> {
    let mut bytes = Vec::new();
    while let Some(piece) = field.chunk().await? {
        if bytes.len() + piece.len() > FIELD_LIMIT {
            return Err(FormError::FieldTooLong);
        }
        bytes.extend_from_slice(&piece);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
