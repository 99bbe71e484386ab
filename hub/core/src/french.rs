//! French number and date formatting (Mayotte time): shared with the
//! node's console, in `passerelle-web`.

pub use passerelle_web::french::*;
