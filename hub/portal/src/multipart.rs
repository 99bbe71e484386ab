//! Bounded reading of multipart forms: shared with the node's console, in
//! `passerelle-web`.

pub use passerelle_web::multipart::*;
