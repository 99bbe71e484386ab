//! # passerelle-config
//!
//! The TOML configuration of a hub (`hub.toml`) and of a node (`node.toml`).
//! Unknown keys are refused, values are typed so serde does the parsing, and
//! every error names the file, the line, the key and why, with a fix where
//! one is obvious. This crate reads and writes files; it opens no socket.
//!
//! ## Layout
//! - [`error`]: the error type and its rendering.
//! - [`addr`]: `HOST:PORT` addresses of the hub.
//! - [`hub`]: `hub.toml`.
//! - [`node`]: `node.toml`.

pub mod addr;
pub mod error;
pub mod hub;
pub mod node;

pub use addr::HubAddr;
pub use error::{ConfigError, Problem};
pub use hub::HubConfig;
pub use node::NodeConfig;

use std::path::Path;

/// Parses a TOML file into a config type, mapping serde's complaint to a
/// [`Problem`] that names the line and key.
fn parse<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::io(path, e))?;
    toml::from_str(&text).map_err(|e| ConfigError::from_toml(path, &text, &e))
}
