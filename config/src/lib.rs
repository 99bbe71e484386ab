//! # passerelle-config
//!
//! The TOML configuration of a hub (`hub.toml`) and of a node (`node.toml`).
//! Unknown keys are refused, values are typed so serde does the parsing, and
//! every error names the file, the line, the key and why, with a fix where
//! one is obvious. This crate reads and writes files; it opens no socket.
//!
//! ## Layout
//! - [`error`]: the error type and its rendering.
//! - [`factor`]: when accounts need a second factor (hub and node).
//! - [`addr`]: `HOST:PORT` addresses of the hub.
//! - [`dataset`]: datasets a node holds and its sharing policy.
//! - [`hub`]: the hub file, `hub.toml`.
//! - [`messages`]: the `[messages]`, `[mail]` and `[sms]` sections of
//!   `hub.toml` (codes and notices sent to people).
//! - [`node`]: the node file, `node.toml`.
//! - [`oidc`]: the OpenID Connect providers of `hub.toml`.
//! - [`quic`]: the `quic_*` keys of `hub.toml` (admission control).
//! - [`store`]: the `[store]` keys of `hub.toml` (sled or PostgreSQL).
//! - [`vault`]: the `[vault]` table of `hub.toml` (retention).

pub mod addr;
pub mod dataset;
pub mod error;
pub mod factor;
pub mod hub;
mod hub_template;
pub mod messages;
pub mod node;
pub mod oidc;
pub mod quic;
pub mod store;
pub mod upstream;
pub mod vault;

pub use addr::HubAddr;
pub use error::{ConfigError, Problem};
pub use factor::SecondFactor;
pub use hub::{HubConfig, PartnerTotp};
pub use messages::{MailConfig, MailTls, Messages, SmsConfig};
pub use node::NodeConfig;
pub use oidc::OidcProvider;
pub use quic::QuicLimits;
pub use store::StoreConfig;
pub use upstream::UpstreamConfig;
pub use vault::VaultSettings;

use std::path::Path;

/// A duration as an operator writes it: the largest whole unit among
/// days, hours, minutes, seconds and milliseconds (`90d`, `24h`, `500ms`).
pub fn human_duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
    ] {
        if ms > 0 && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// Checks a shipped example file against what the code writes, or rewrites
/// it when `PASSERELLE_BLESS=1` (after a deliberate template change).
#[cfg(test)]
pub(crate) fn check_example(name: &str, generated: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(name);
    if std::env::var("PASSERELLE_BLESS").as_deref() == Ok("1") {
        std::fs::write(&path, generated).unwrap();
    }
    let shipped = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        shipped, generated,
        "deploy/{name} is stale: run PASSERELLE_BLESS=1 cargo test -p passerelle-config"
    );
}

/// Parses a TOML file and applies its cross-key rules, reporting every
/// problem at once.
fn load_checked<T: serde::de::DeserializeOwned>(
    path: &Path,
    problems: impl Fn(&T) -> Vec<Problem>,
) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::io(path, e))?;
    check_text(path, &text, problems)
}

/// Parses TOML text and applies its cross-key rules, as [`load_checked`]
/// does once the file is read. Pure: `path` only names the file in errors.
fn check_text<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
    problems: impl Fn(&T) -> Vec<Problem>,
) -> Result<T, ConfigError> {
    let config: T = toml::from_str(text).map_err(|e| ConfigError::from_toml(path, text, &e))?;
    let found = problems(&config);
    if found.is_empty() {
        Ok(config)
    } else {
        Err(ConfigError::invalid(path, found))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn durations_read_plainly_and_parse_back() {
        for (d, text) in [
            (Duration::from_secs(90 * 86400), "90d"),
            (Duration::from_secs(86400), "1d"),
            (Duration::from_secs(7200), "2h"),
            (Duration::from_secs(300), "5m"),
            (Duration::from_secs(30), "30s"),
            (Duration::from_millis(500), "500ms"),
            (Duration::ZERO, "0ms"),
        ] {
            assert_eq!(super::human_duration(d), text);
            assert_eq!(
                humantime_serde::re::humantime::parse_duration(text).unwrap(),
                d
            );
        }
    }
}
