//! The partners' second factor (RFC 6238 codes): shared with the node's
//! console, in `passerelle-web`.

pub use passerelle_web::totp::*;
