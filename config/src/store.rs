//! `[store]` in `hub.toml`: where the hub keeps its state. `sled` (the
//! default) is an embedded database in the hub folder, for one hub
//! process; `postgres` is a PostgreSQL database that several hub
//! instances share (behind a load balancer, or for the database's own
//! managed backups).

use std::{num::NonZeroU32, path::PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Problems;

/// The storage engine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// sled, embedded, in the hub folder's `store/`.
    #[default]
    Sled,
    /// A PostgreSQL database, shared by every instance that names it.
    Postgres,
}

impl Engine {
    /// As written in `hub.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sled => "sled",
            Self::Postgres => "postgres",
        }
    }
}

/// Where the hub keeps its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `sled` or `postgres`.
    pub engine: Engine,
    /// The PostgreSQL connection address
    /// (`postgresql://USER@HOST:PORT/DATABASE`, or key=value pairs); with
    /// `postgres`. Better without the password: see `password_file`.
    pub url: Option<String>,
    /// A file holding the database password (its first line), readable by
    /// the hub only; relative to the hub folder.
    pub password_file: Option<PathBuf>,
    /// The schema the hub's table lives in (created when missing). Every
    /// instance of one hub names the same database and schema.
    pub schema: String,
    /// Connections each instance keeps to the database.
    pub connections: NonZeroU32,
    /// Allows a database host that is neither this machine nor a local
    /// socket: the connection is not encrypted (no TLS), so the network
    /// between the hub and the database must be private (a VPN, a private
    /// link).
    pub plaintext_network: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            engine: Engine::Sled,
            url: None,
            password_file: None,
            schema: "passerelle".into(),
            connections: NonZeroU32::new(4).expect("non-zero"),
            plaintext_network: false,
        }
    }
}

impl StoreConfig {
    /// A PostgreSQL store at `url`, in `schema`, with the defaults.
    pub fn postgres(url: impl Into<String>, schema: impl Into<String>) -> Self {
        Self {
            engine: Engine::Postgres,
            url: Some(url.into()),
            schema: schema.into(),
            ..Self::default()
        }
    }

    pub(crate) fn problems(&self, out: &mut Problems) {
        if !is_identifier(&self.schema) {
            out.bad(
                "store.schema",
                format!("{:?} is not a plain name", self.schema),
                "use lower-case letters, digits and _ (not first a digit), at most 63",
            );
        }
        match self.engine {
            Engine::Sled => {
                if self.url.is_some() || self.password_file.is_some() {
                    out.bad(
                        "store.url",
                        "is set but store.engine is \"sled\"",
                        "set store.engine = \"postgres\", or remove store.url and store.password_file",
                    );
                }
            }
            Engine::Postgres => match self.url.as_deref() {
                None => out.bad(
                    "store.url",
                    "is missing (store.engine is \"postgres\")",
                    "give the database, e.g. \"postgresql://passerelle@127.0.0.1:5432/passerelle\"",
                ),
                Some(url) => match url_host(url) {
                    None => out.bad(
                        "store.url",
                        format!("{url:?} is not a postgresql:// address"),
                        "write postgresql://USER@HOST:PORT/DATABASE",
                    ),
                    Some(host) if !is_local(&host) && !self.plaintext_network => out.bad(
                        "store.url",
                        format!("the database host {host:?} is not this machine, and the hub speaks to PostgreSQL without TLS"),
                        "reach it over a private network (VPN) and set store.plaintext_network = true, or use a local socket or 127.0.0.1",
                    ),
                    Some(_) => {}
                },
            },
        }
    }
}

/// A schema name written without quotes.
fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit()
}

/// The host of a `postgres(ql)://` address ("" for the default local
/// socket; a `host=` parameter wins).
fn url_host(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("postgresql://")
        .or_else(|| url.strip_prefix("postgres://"))?;
    if let Some((_, query)) = rest.split_once('?') {
        for pair in query.split('&') {
            if let Some(h) = pair.strip_prefix("host=") {
                return Some(h.replace("%2F", "/").replace("%2f", "/"));
            }
        }
    }
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let hosts = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = hosts.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        hosts.split(':').next().unwrap_or("")
    };
    Some(host.to_string())
}

/// This machine: the default or a named local socket, `localhost`, a
/// loopback address.
fn is_local(host: &str) -> bool {
    host.is_empty()
        || host.starts_with('/')
        || host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The section as `hub.toml` writes it (commented out for sled).
pub fn template(store: &StoreConfig) -> String {
    let head = r#"
# Where the hub keeps its state: "sled", embedded in the hub folder (one hub
# process), or "postgres", a PostgreSQL database several hub instances share
# (README, "Storage, and several hub instances": every instance has the same
# hub folder files, CA and keys, and names the same database and schema).
# The connection has no TLS: keep the database on this machine, or on a
# private network with store.plaintext_network = true. The password goes in
# store.password_file (its first line), not in the address. (Dotted keys:
# the same as a [store] table.)
"#;
    match store.engine {
        Engine::Sled => format!(
            "{head}store.engine = \"sled\"\n# store.engine = \"postgres\"\n# store.url = \"postgresql://passerelle@127.0.0.1:5432/passerelle\"\n# store.password_file = \"pg-password\"\n# store.schema = \"passerelle\"\n# store.connections = 4\n"
        ),
        Engine::Postgres => {
            let mut s = format!(
                "{head}store.engine = \"postgres\"\nstore.url = {:?}\n",
                store.url.as_deref().unwrap_or_default()
            );
            match &store.password_file {
                Some(p) => s.push_str(&format!(
                    "store.password_file = {:?}\n",
                    p.display().to_string()
                )),
                None => s.push_str("# store.password_file = \"pg-password\"\n"),
            }
            s.push_str(&format!(
                "store.schema = {:?}\nstore.connections = {}\n",
                store.schema, store.connections
            ));
            if store.plaintext_network {
                s.push_str("store.plaintext_network = true\n");
            }
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HubConfig;

    #[test]
    fn the_store_section_reads_back_as_written() {
        let mut c = HubConfig::default();
        let path = std::path::Path::new("hub.toml");
        assert_eq!(HubConfig::parse_str(path, &c.template()).unwrap(), c);
        let mut s = StoreConfig::postgres("postgresql://passerelle@127.0.0.1:5432/hub", "region");
        s.password_file = Some("pg-password".into());
        c.store = s;
        assert_eq!(HubConfig::parse_str(path, &c.template()).unwrap(), c);
    }

    #[test]
    fn a_remote_database_needs_a_private_network_and_postgres_needs_an_address() {
        let problems = |s: StoreConfig| {
            let mut out = Problems::default();
            s.problems(&mut out);
            out.into_vec()
                .into_iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
        };
        for local in [
            "postgresql://u@127.0.0.1:5432/db",
            "postgres://u@localhost/db",
            "postgresql:///db",
            "postgresql://u@[::1]:5433/db",
            "postgresql:///db?host=%2Fvar%2Frun%2Fpostgresql",
        ] {
            assert_eq!(
                problems(StoreConfig::postgres(local, "p")),
                Vec::<String>::new(),
                "{local}"
            );
        }
        let remote = StoreConfig::postgres("postgresql://u@db.example.fr/db", "p");
        let p = problems(remote.clone());
        assert!(p.len() == 1 && p[0].contains("without TLS"), "{p:?}");
        assert!(problems(StoreConfig {
            plaintext_network: true,
            ..remote
        })
        .is_empty());
        let p = problems(StoreConfig {
            engine: Engine::Postgres,
            ..StoreConfig::default()
        });
        assert!(p.len() == 1 && p[0].contains("store.url"), "{p:?}");
        let p = problems(StoreConfig::postgres("mysql://x", "p"));
        assert!(p.len() == 1 && p[0].contains("postgresql://"), "{p:?}");
        let p = problems(StoreConfig::postgres("postgresql:///db", "Bad-Name"));
        assert!(p.len() == 1 && p[0].contains("store.schema"), "{p:?}");
    }
}
