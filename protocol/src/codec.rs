//! The single bincode call site. Every decode is bounded: bytes from the
//! network never make the decoder allocate more than the limit, and a bad
//! byte string gives an error, never a panic. Switching codec (postcard, say)
//! is a change to this file only.

use serde::{de::DeserializeOwned, Serialize};

/// Largest value the codec decodes, whatever the frame limit says.
pub const DECODE_LIMIT: usize = 64 * 1024 * 1024;

/// Why a value could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The value could not be serialized (a bug, or a value too large).
    #[error("cannot encode message: {0}")]
    Encode(String),
    /// The bytes are not a valid message of the expected type.
    #[error("malformed message: {0}")]
    Decode(String),
    /// Bytes were left over after the message.
    #[error("malformed message: {0} trailing bytes")]
    Trailing(usize),
}

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<DECODE_LIMIT>()
}

/// Encodes a value.
///
/// # Errors
/// When serde refuses the value or it exceeds [`DECODE_LIMIT`].
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    bincode::serde::encode_to_vec(value, config()).map_err(|e| CodecError::Encode(e.to_string()))
}

/// Decodes a whole byte string into one value; trailing bytes are an error.
///
/// # Errors
/// When the bytes are not exactly one valid value of type `T`.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (value, used) = bincode::serde::decode_from_slice(bytes, config())
        .map_err(|e| CodecError::Decode(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError::Trailing(bytes.len() - used));
    }
    Ok(value)
}
