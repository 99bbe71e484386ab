//! `node.toml`: a node's configuration.

use std::{path::Path, time::Duration};

use passerelle_protocol::ids::NodeId;
use serde::{Deserialize, Serialize};

use crate::{
    dataset::{DatasetConfig, PolicyConfig},
    error::Problem,
    ConfigError, HubAddr,
};

/// A node's configuration, written by `passerelle-node init`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// This node's id, as its certificate names it.
    pub node_id: NodeId,
    /// Where the hub listens.
    pub hub: HubAddr,
    /// Connection tuning; defaults suit most sites.
    #[serde(default)]
    pub link: LinkConfig,
    /// Datasets this node holds.
    #[serde(default)]
    pub datasets: Vec<DatasetConfig>,
    /// What it shares, and how it protects what it shares.
    #[serde(default)]
    pub policy: PolicyConfig,
    /// Its entry in the portal's directory of actors, if it publishes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<passerelle_protocol::directory::DirectoryEntry>,
    /// A local address to serve Prometheus metrics on (`/metrics`); off
    /// when absent. Keep it on loopback or a management network.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// The integration API for business software (`/api/v1`, token
    /// authenticated); off when absent. Plain HTTP: a loopback address,
    /// unless [`Self::api_behind_proxy`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_listen: Option<std::net::SocketAddr>,
    /// The API is reached only through a TLS-terminating reverse proxy on
    /// this machine's network, which allows a non-loopback `api_listen`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub api_behind_proxy: bool,
    /// The address to serve the console on: the web application of the
    /// institution's agents (imports, validations, the counter, the
    /// journal), for its own network; off when absent. See
    /// [`ConsoleConfig`] for HTTPS and the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console_listen: Option<std::net::SocketAddr>,
    /// How the console is served and signs agents in (`[console]`).
    #[serde(default, skip_serializing_if = "ConsoleConfig::is_default")]
    pub console: ConsoleConfig,
}

/// The `[console]` table: how the console is served and signs its agents
/// in. Plain HTTP is accepted only on a loopback address, or behind the
/// institution's reverse proxy (`trusted_proxy`), which then is the only
/// client it answers; anywhere else the console needs `https_cert` and
/// `https_key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleConfig {
    /// Certificate chain (PEM) to serve the console over HTTPS, with
    /// `https_key`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub https_cert: Option<std::path::PathBuf>,
    /// Private key (PEM) of `https_cert`, readable by the node only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub https_key: Option<std::path::PathBuf>,
    /// The institution's reverse proxy, which terminates TLS in front of a
    /// plain-HTTP console: the only client answered, and the one whose
    /// `X-Forwarded-For` names the agent's address (for sign-in limits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trusted_proxy: Option<std::net::IpAddr>,
    /// Whether agents need a second factor (an authenticator app's code).
    pub totp: crate::SecondFactor,
    /// How long an agent stays signed in.
    #[serde(with = "humantime_serde")]
    pub session_ttl: Duration,
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        Self {
            https_cert: None,
            https_key: None,
            trusted_proxy: None,
            totp: crate::SecondFactor::Optional,
            session_ttl: Duration::from_secs(8 * 3600),
        }
    }
}

impl ConsoleConfig {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// Whether the console is served over HTTPS by the node itself.
    pub fn https(&self) -> bool {
        self.https_cert.is_some() && self.https_key.is_some()
    }
}

/// How the node keeps its link to the hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkConfig {
    /// Keep-alive interval on an idle link (keeps NAT mappings open). The
    /// hub is declared gone after three intervals without a packet from it.
    #[serde(with = "humantime_serde")]
    pub keep_alive: Duration,
    /// A link silent this long is considered lost.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// A connection attempt the hub has not completed within this is
    /// dropped and tried again (after the reconnection wait): a first
    /// packet lost while the hub was busy would otherwise hold the node
    /// for its whole idle timeout.
    #[serde(with = "humantime_serde")]
    pub handshake_timeout: Duration,
    /// First delay before reconnecting.
    #[serde(with = "humantime_serde")]
    pub reconnect_min: Duration,
    /// Longest delay between reconnection attempts.
    #[serde(with = "humantime_serde")]
    pub reconnect_max: Duration,
    /// Largest accepted difference between the hub's clock and the node's.
    #[serde(with = "humantime_serde")]
    pub clock_window: Duration,
    /// Renew the certificate over the link when less than this is left
    /// (or half its life, if shorter).
    #[serde(with = "humantime_serde")]
    pub renew_before: Duration,
    /// The addresses of the hub's instances when it runs several on one
    /// database: the node keeps one link to each (every instance then
    /// reaches every node), checking each against the hub certificate
    /// for `hub`'s host. Empty: one link to `hub`.
    pub instances: Vec<std::net::SocketAddr>,
}

impl Default for LinkConfig {
    fn default() -> Self {
        Self {
            keep_alive: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(30),
            handshake_timeout: Duration::from_secs(10),
            reconnect_min: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(30),
            clock_window: Duration::from_secs(300),
            renew_before: Duration::from_secs(30 * 86400),
            instances: Vec::new(),
        }
    }
}

const CONSOLE_EXAMPLE: &str = r#"
# How the console is served and signs its agents in.
# [console]
# https_cert = "/etc/passerelle/console.crt"   # with https_key: HTTPS
# https_key = "/etc/passerelle/console.key"
# trusted_proxy = "192.0.2.10"    # plain HTTP behind this reverse proxy only
# totp = "optional"               # "required": every agent enrols a second factor
# session_ttl = "8h"
"#;

const EXAMPLE_DATA: &str = r#"#
# [[datasets]]
# name = "rsa"                    # name used in queries
# title = "Foyers allocataires du RSA"
# kind = "records"                # one row per person; or "cells" with count_column
# commune = "code_commune"        # column with the INSEE code (97601 to 97617)
# period = "periode"              # column with 2024, 2024-T3 or 2024-09
# require_validation = false      # true: a second person validates each batch
# drop_folder = "/srv/depot/rsa"  # watched folder: a file dropped here is imported
# [[datasets.dimensions]]
# column = "sexe"
# kind = "sex"                    # values F and M
# [[datasets.dimensions]]
# column = "tranche_age"
# kind = "age_band"
# values = ["moins de 25 ans", "25-49 ans", "50 ans et plus"]
# [[datasets.measures]]
# name = "montant"
# column = "montant_verse"
#
# [policy]
# min_cell = 11                   # smallest released cell
# dominance = 0.85                # sums: withhold a cell one contributor dominates
# rounding = 0                    # round released counts to a multiple (0: none)
# [[policy.share]]
# dataset = "rsa"
# by = ["sexe", "tranche_age"]    # breakdowns allowed
# measures = ["montant"]          # sums shared (the count always is)
# levels = ["commune", "epci", "department"]
"#;

impl NodeConfig {
    /// A node's configuration with every default: no dataset, nothing
    /// shared, no directory entry, nothing served but the link to the hub
    /// (what `node init` writes).
    pub fn new(node_id: NodeId, hub: HubAddr) -> Self {
        Self {
            node_id,
            hub,
            link: LinkConfig::default(),
            datasets: Vec::new(),
            policy: PolicyConfig::default(),
            directory: None,
            metrics_listen: None,
            api_listen: None,
            api_behind_proxy: false,
            console_listen: None,
            console: ConsoleConfig::default(),
        }
    }

    /// Reads and checks `node.toml`.
    ///
    /// # Errors
    /// Every problem in the file, with line and key.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        crate::load_checked(path, Self::problems)
    }

    /// Parses and checks the text of `node.toml` without touching the disk
    /// (what [`Self::load`] does once the file is read); `path` only names
    /// the file in errors. Any text gives a value or an error, never a panic.
    ///
    /// # Errors
    /// Every problem in the text, with line and key.
    pub fn parse_str(path: &Path, text: &str) -> Result<Self, ConfigError> {
        crate::check_text(path, text, Self::problems)
    }

    /// Cross-key rules, all reported at once.
    pub fn problems(&self) -> Vec<Problem> {
        let l = &self.link;
        let mut out = Vec::new();
        let mut bad = |key: &str, why: &str, fix: &str| {
            out.push(Problem {
                line: None,
                key: Some(key.into()),
                why: why.into(),
                fix: Some(fix.into()),
            })
        };
        if l.keep_alive.is_zero() || l.keep_alive >= l.idle_timeout {
            bad(
                "link.keep_alive",
                "must be above zero and below link.idle_timeout",
                "e.g. keep_alive = \"1s\", idle_timeout = \"30s\"",
            );
        }
        if l.handshake_timeout < Duration::from_secs(1) || l.handshake_timeout > l.idle_timeout {
            bad(
                "link.handshake_timeout",
                "must be at least 1 second (a handshake takes a few round trips) and at most link.idle_timeout",
                "e.g. handshake_timeout = \"10s\"",
            );
        }
        if l.reconnect_min.is_zero() || l.reconnect_min > l.reconnect_max {
            bad(
                "link.reconnect_min",
                "must be above zero and at most link.reconnect_max",
                "e.g. \"500ms\" and \"30s\"",
            );
        }
        if l.clock_window < Duration::from_secs(5) {
            bad(
                "link.clock_window",
                "is under 5 seconds: ordinary clock drift would refuse queries",
                "e.g. \"5m\"",
            );
        }
        if let Some(addr) = self.api_listen {
            if !addr.ip().is_loopback() && !self.api_behind_proxy {
                bad(
                    "api_listen",
                    "is not a loopback address: the API speaks plain HTTP and its tokens would cross the network in clear",
                    "listen on 127.0.0.1 (or ::1) and put a TLS reverse proxy in front, then set api_behind_proxy = true",
                );
            }
        }
        self.console_problems(&mut bad);
        out.extend(crate::dataset::problems(&self.datasets, &self.policy));
        if let Some(d) = &self.directory {
            for why in d.problems() {
                out.push(Problem {
                    line: None,
                    key: Some("directory".into()),
                    why,
                    fix: None,
                });
            }
        }
        out
    }

    /// The console's rules: its certificate and key go together; plain
    /// HTTP only on loopback or behind the named proxy; a session lasts.
    fn console_problems(&self, bad: &mut impl FnMut(&str, &str, &str)) {
        let c = &self.console;
        if c.https_cert.is_some() != c.https_key.is_some() {
            bad(
                "console.https_cert",
                "https_cert and https_key go together",
                "give both files, or neither (then plain HTTP, on loopback or behind trusted_proxy)",
            );
        }
        if let Some(addr) = self.console_listen {
            if !addr.ip().is_loopback() && !c.https() && c.trusted_proxy.is_none() {
                bad(
                    "console_listen",
                    "plain HTTP on an address other than loopback: agents' passwords and people's documents would cross the network in clear",
                    "give console.https_cert and console.https_key, or put the console behind your reverse proxy (console.trusted_proxy = \"ITS-ADDRESS\"), or listen on 127.0.0.1",
                );
            }
        }
        if c.session_ttl < Duration::from_secs(60) || c.session_ttl > Duration::from_secs(7 * 86400)
        {
            bad(
                "console.session_ttl",
                "must be between 1 minute and 7 days",
                "e.g. \"8h\" (a working day)",
            );
        }
    }

    /// The file `node init` writes.
    pub fn template(&self) -> String {
        let h = crate::human_duration;
        let l = &self.link;
        format!(
            r#"# Passerelle node configuration. Unknown keys are refused.

# This node's id, as its certificate names it. Do not change it: the
# certificate would no longer match.
node_id = "{id}"

# Where the hub listens (HOST:PORT, UDP). The node dials out; no inbound
# port is needed on this site.
hub = "{hub}"

# Prometheus metrics on a local address (off when absent), e.g.
# metrics_listen = "127.0.0.1:9476"
{metrics}

# The integration API for business software (off when absent): push a
# dataset file, deposit a document, with tokens made by
# `passerelle-node token add`. Plain HTTP, so a loopback address unless a
# TLS reverse proxy is in front (then api_behind_proxy = true), e.g.
# api_listen = "127.0.0.1:9477"
{api}

# The console, the web application of your agents (imports, validations,
# the counter, the journal), on your own network; off when absent. Plain
# HTTP only on 127.0.0.1 or behind your reverse proxy; see [console].
# console_listen = "127.0.0.1:8476"
{console_listen}

[link]
# Keep-alive on an idle link, so NAT and firewalls keep the flow open. A
# hub silent for three keep-alive intervals is taken for gone: the node
# closes the link and reconnects.
keep_alive = "{ka}"
# A link silent this long is considered lost and re-established.
idle_timeout = "{idle}"
# A connection attempt the hub has not completed within this is dropped
# and tried again (a hub restarting with many nodes may lose a first packet).
handshake_timeout = "{handshake}"
# Reconnection waits grow from reconnect_min to reconnect_max, with jitter.
reconnect_min = "{rmin}"
reconnect_max = "{rmax}"
# Largest accepted difference between the hub's clock and this node's.
clock_window = "{window}"
# The certificate is renewed over the link, without downtime, when less
# than this is left of it (or half its life, if that is shorter).
renew_before = "{renew}"
# A hub running several instances on one database: the address of each.
# The node keeps a link to every one (each checked against the hub
# certificate for the host of `hub`); without it, one link to `hub`.
{instances}
{console}{data}"#,
            id = self.node_id,
            hub = self.hub,
            metrics = self
                .metrics_listen
                .map(|a| format!("metrics_listen = \"{a}\""))
                .unwrap_or_default(),
            api = match (self.api_listen, self.api_behind_proxy) {
                (None, _) => String::new(),
                (Some(a), false) => format!("api_listen = \"{a}\""),
                (Some(a), true) => format!("api_listen = \"{a}\"\napi_behind_proxy = true"),
            },
            console_listen = self
                .console_listen
                .map(|a| format!("console_listen = \"{a}\""))
                .unwrap_or_default(),
            console = self.console_section(),
            ka = h(l.keep_alive),
            idle = h(l.idle_timeout),
            handshake = h(l.handshake_timeout),
            rmin = h(l.reconnect_min),
            rmax = h(l.reconnect_max),
            window = h(l.clock_window),
            renew = h(l.renew_before),
            instances = if l.instances.is_empty() {
                "# instances = [\"192.0.2.10:4433\", \"192.0.2.11:4433\"]".to_string()
            } else {
                format!(
                    "instances = [{}]",
                    l.instances
                        .iter()
                        .map(|a| format!("\"{a}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            data = self.data_sections(),
        )
    }

    /// The `[console]` table, or a commented example while it keeps its
    /// defaults.
    fn console_section(&self) -> String {
        if self.console.is_default() {
            return CONSOLE_EXAMPLE.to_string();
        }
        #[derive(Serialize)]
        struct Section<'a> {
            console: &'a ConsoleConfig,
        }
        format!(
            "\n# How the console is served and signs its agents in.\n{}",
            toml::to_string(&Section {
                console: &self.console
            })
            .expect("config serializes")
        )
    }

    /// The `[[datasets]]` and `[policy]` sections, or a commented example
    /// when nothing is declared yet.
    fn data_sections(&self) -> String {
        #[derive(Serialize)]
        struct Data<'a> {
            // Only tables may follow [link]: a bare key would land inside it.
            #[serde(skip_serializing_if = "<[DatasetConfig]>::is_empty")]
            datasets: &'a [DatasetConfig],
            policy: &'a PolicyConfig,
            #[serde(skip_serializing_if = "Option::is_none")]
            directory: &'a Option<passerelle_protocol::directory::DirectoryEntry>,
        }
        let mut out = String::from(
            "\n# Datasets this node holds, and its sharing policy. Nothing is shared\n# unless listed under [[policy.share]]. Cells with fewer than min_cell\n# contributors never leave the node.\n",
        );
        if self.datasets.is_empty()
            && self.policy == PolicyConfig::default()
            && self.directory.is_none()
        {
            out.push_str(EXAMPLE_DATA);
        } else {
            let data = Data {
                datasets: &self.datasets,
                policy: &self.policy,
                directory: &self.directory,
            };
            out.push_str(&toml::to_string(&data).expect("config serializes"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_listens_on_loopback_unless_behind_a_proxy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        let mut config = NodeConfig {
            api_listen: Some("127.0.0.1:9477".parse().unwrap()),
            ..NodeConfig::new(
                NodeId::new("caf-976").unwrap(),
                "localhost:4433".parse().unwrap(),
            )
        };
        std::fs::write(&path, config.template()).unwrap();
        assert_eq!(NodeConfig::load(&path).unwrap(), config);
        config.api_listen = Some("0.0.0.0:9477".parse().unwrap());
        std::fs::write(&path, config.template()).unwrap();
        let err = NodeConfig::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("api_listen") && err.contains("loopback"),
            "{err}"
        );
        config.api_behind_proxy = true;
        std::fs::write(&path, config.template()).unwrap();
        assert_eq!(NodeConfig::load(&path).unwrap(), config);
    }

    #[test]
    fn template_round_trips_and_bad_keys_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        let mut config = NodeConfig::new(
            NodeId::new("caf-976").unwrap(),
            "localhost:4433".parse().unwrap(),
        );
        std::fs::write(&path, config.template()).unwrap();
        assert_eq!(NodeConfig::load(&path).unwrap(), config);

        // A directory entry without datasets is written after [link] as a
        // table of its own, and reads back.
        let mut listed = config.clone();
        listed.directory = Some(passerelle_protocol::directory::DirectoryEntry {
            hours: "Le mardi".into(),
            ..Default::default()
        });
        std::fs::write(&path, listed.template()).unwrap();
        assert_eq!(NodeConfig::load(&path).unwrap(), listed);

        // The instances of a hub on several processes read back.
        let mut several = config.clone();
        several.link.instances = vec![
            "127.0.0.1:4433".parse().unwrap(),
            "[::1]:4434".parse().unwrap(),
        ];
        std::fs::write(&path, several.template()).unwrap();
        assert_eq!(NodeConfig::load(&path).unwrap(), several);

        // The commented example, uncommented, is a valid declaration, and
        // declared datasets and policy survive a rewrite of the file.
        let example: Vec<&str> = EXAMPLE_DATA
            .lines()
            .map(|l| l.strip_prefix("# ").or(l.strip_prefix('#')).unwrap_or(l))
            .collect();
        let with_data = format!(
            "node_id = \"caf-976\"\nhub = \"localhost:4433\"\n{}\n",
            example.join("\n")
        );
        std::fs::write(&path, &with_data).unwrap();
        config = NodeConfig::load(&path).unwrap();
        assert_eq!(config.datasets.len(), 1);
        assert_eq!(config.datasets[0].dimensions[1].allowed().len(), 3);
        assert_eq!(config.policy.share[0].by, vec!["sexe", "tranche_age"]);
        std::fs::write(&path, config.template()).unwrap();
        assert_eq!(NodeConfig::load(&path).unwrap(), config);

        let text = config.template().replace("keep_alive =", "keepalive =");
        std::fs::write(&path, text).unwrap();
        let err = NodeConfig::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("node.toml") && err.contains("key `keepalive`"),
            "{err}"
        );

        // A handshake bound longer than the idle timeout, or too short for
        // a round trip, is named with its fix.
        for bad in ["\"40s\"", "\"200ms\""] {
            let text = config.template().replace(
                "handshake_timeout = \"10s\"",
                &format!("handshake_timeout = {bad}"),
            );
            std::fs::write(&path, text).unwrap();
            let err = NodeConfig::load(&path).unwrap_err().to_string();
            assert!(
                err.contains("link.handshake_timeout") && err.contains("idle_timeout"),
                "{err}"
            );
        }

        std::fs::write(&path, "node_id = \"CAF\"\nhub = \"localhost:4433\"\n").unwrap();
        let err = NodeConfig::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("line 1") && err.contains("invalid node id"),
            "{err}"
        );

        std::fs::write(&path, "node_id = \"caf\"\nhub = \"localhost\"\n").unwrap();
        let err = NodeConfig::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("key `hub`") && err.contains("HOST:PORT"),
            "{err}"
        );
    }
}

#[cfg(test)]
mod console_tests {
    use super::*;

    fn base() -> NodeConfig {
        NodeConfig::new(
            NodeId::new("caf-976").unwrap(),
            "localhost:4433".parse().unwrap(),
        )
    }

    #[test]
    fn the_console_table_round_trips_and_plain_http_stays_local() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        let mut config = base();
        config.console_listen = Some("127.0.0.1:8476".parse().unwrap());
        std::fs::write(&path, config.template()).unwrap();
        assert_eq!(NodeConfig::load(&path).unwrap(), config);

        config.console_listen = Some("0.0.0.0:8476".parse().unwrap());
        config.console.totp = crate::SecondFactor::Required;
        config.console.trusted_proxy = Some("192.0.2.10".parse().unwrap());
        std::fs::write(&path, config.template()).unwrap();
        assert_eq!(NodeConfig::load(&path).unwrap(), config);

        // On the network without TLS nor proxy: refused, with the fix.
        config.console.trusted_proxy = None;
        std::fs::write(&path, config.template()).unwrap();
        let err = NodeConfig::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("key `console_listen`") && err.contains("console.https_cert"),
            "{err}"
        );
        config.console.https_cert = Some("/etc/passerelle/console.crt".into());
        std::fs::write(&path, config.template()).unwrap();
        let err = NodeConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("go together"), "{err}");
        config.console.https_key = Some("/etc/passerelle/console.key".into());
        config.console.session_ttl = Duration::from_secs(12 * 3600);
        std::fs::write(&path, config.template()).unwrap();
        assert_eq!(NodeConfig::load(&path).unwrap(), config);
        let text = config
            .template()
            .replace("session_ttl = \"12h\"", "session_ttl = \"1s\"");
        std::fs::write(&path, text).unwrap();
        let err = NodeConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("console.session_ttl"), "{err}");
    }
}

#[cfg(test)]
mod example {
    use super::*;

    /// `deploy/node.example.toml` is what `node init` writes.
    #[test]
    fn shipped_example_matches_the_template() {
        let config = NodeConfig::new(
            NodeId::new("caf-976").unwrap(),
            "hub.example.org:4433".parse().unwrap(),
        );
        crate::check_example("node.example.toml", &config.template());
    }
}
