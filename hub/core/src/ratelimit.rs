//! Attempts per key: shared with the node's console, in `passerelle-web`.

pub use passerelle_web::ratelimit::*;
