//! `hub.toml`: the hub's configuration.

use std::{net::SocketAddr, num::NonZeroU32, path::Path, time::Duration};

use serde::{Deserialize, Serialize};

use crate::{
    error::{Problem, Problems},
    ConfigError, QuicLimits,
};

/// When partner accounts need a second factor (`partner_totp`): the
/// same choice as the node console's `console_totp`.
pub type PartnerTotp = crate::SecondFactor;

/// The hub's configuration. Every key is optional; defaults suit a first run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HubConfig {
    /// Who runs the hub; named in the CA certificate.
    pub name: String,
    /// Host names and IP addresses nodes use to reach the hub; the hub
    /// certificate is issued for them.
    pub public_names: Vec<String>,
    /// UDP address of the QUIC listener.
    pub quic_listen: SocketAddr,
    /// TCP address of the web portal.
    pub http_listen: SocketAddr,
    /// How long a web client may take to send a request's headers; also
    /// how long an idle keep-alive connection stays open.
    #[serde(with = "humantime_serde")]
    pub http_header_timeout: Duration,
    /// Longest pause while a web client sends a request body.
    #[serde(with = "humantime_serde")]
    pub http_body_timeout: Duration,
    /// Web connections open at once, all clients together.
    pub http_max_connections: usize,
    /// Web connections open at once from one address (IPv6: one /64);
    /// `trusted_proxy` is held by `http_max_connections` only.
    pub http_max_connections_per_address: usize,
    /// How long an enrollment token stays valid.
    #[serde(with = "humantime_serde")]
    pub token_ttl: Duration,
    /// Validity of the node certificates the hub issues.
    #[serde(with = "humantime_serde")]
    pub node_cert_validity: Duration,
    /// How often the hub asks each connected node for its status.
    #[serde(with = "humantime_serde")]
    pub status_interval: Duration,
    /// How long the hub waits for a node's answer.
    #[serde(with = "humantime_serde")]
    pub query_timeout: Duration,
    /// How often the hub checks that each node's link still answers; the
    /// hub sends QUIC keep-alives at this pace on a quiet link.
    #[serde(with = "humantime_serde")]
    pub liveness_interval: Duration,
    /// A node whose link stays silent this long is declared dead: its
    /// connection is closed and queries skip it at once.
    #[serde(with = "humantime_serde")]
    pub dead_after: Duration,
    /// A document coming from a node that makes no progress this long is
    /// abandoned (the download ends with an error).
    #[serde(with = "humantime_serde")]
    pub stall_timeout: Duration,
    /// Enrollment attempts accepted per minute from one address.
    pub enroll_per_minute: NonZeroU32,
    /// Diagnostic probes (`passerelle-node doctor`) accepted per minute from
    /// one address; counted apart from enrollments.
    pub probe_per_minute: NonZeroU32,
    /// QUIC handshakes in progress at most ([`QuicLimits::max_handshakes`]).
    pub quic_max_handshakes: NonZeroU32,
    /// Handshakes in progress above which unproven addresses are asked to
    /// Retry ([`QuicLimits::retry_above`]).
    pub quic_retry_above: u32,
    /// Handshakes in progress at most from one IP address.
    pub quic_handshakes_per_address: NonZeroU32,
    /// Connections at most from one IP address.
    pub quic_connections_per_address: NonZeroU32,
    /// A QUIC handshake not finished in this time is dropped.
    #[serde(with = "humantime_serde")]
    pub quic_handshake_timeout: Duration,
    /// How often every indicator is recomposed from the nodes.
    #[serde(with = "humantime_serde")]
    pub refresh_interval: Duration,
    /// How long after the hub starts the first scheduled refresh runs
    /// (never later than one interval): time for the nodes to reconnect.
    #[serde(with = "humantime_serde")]
    pub refresh_after_start: Duration,
    /// A folder of extra indicator files (`*.toml`), added to the shipped
    /// catalog; an entry with a shipped id replaces it.
    pub catalog_dir: Option<std::path::PathBuf>,
    /// A GeoJSON FeatureCollection of commune boundaries for the maps; the
    /// shipped schematic map is used when absent.
    pub boundaries: Option<std::path::PathBuf>,
    /// The feature property holding each commune's INSEE code.
    pub boundaries_code_property: String,
    /// Partner accounts allowed per institution.
    pub partner_accounts_per_institution: usize,
    /// How long a partner stays signed in.
    #[serde(with = "humantime_serde")]
    pub session_ttl: Duration,
    /// Sign-in attempts allowed per address (IPv6: per /64) per minute.
    pub login_per_minute: NonZeroU32,
    /// When partner accounts need a second factor (a TOTP code).
    pub partner_totp: PartnerTotp,
    /// Certificate chain (PEM) for serving the portal over HTTPS; with
    /// `https_key`. Without them the portal speaks plain HTTP, for a reverse
    /// proxy that terminates TLS (and sends HSTS) in front of it.
    pub https_cert: Option<std::path::PathBuf>,
    /// Private key (PEM) of `https_cert`, readable by the hub only.
    pub https_key: Option<std::path::PathBuf>,
    /// Address of a reverse proxy in front of the portal. Requests from it
    /// are attributed to the last address it appends to `X-Forwarded-For`
    /// (for the sign-in limit); that header is ignored from anyone else.
    pub trusted_proxy: Option<std::net::IpAddr>,
    /// The portal's public address (`https://…`), printed on verifiable
    /// copies and their QR codes. Without it, see [`HubConfig::public_url`].
    pub portal_url: Option<String>,
    /// Where people write for questions about the site and their personal
    /// data (an e-mail or postal address), shown on the legal pages.
    pub contact: Option<String>,
    /// Addresses allowed to read `/metrics` and the network health page
    /// `/sante`, besides the hub machine itself; judged by the connection's
    /// address, or from `trusted_proxy` by the address it appended to
    /// `X-Forwarded-For` (a request without one is refused).
    pub metrics_allow: Vec<std::net::IpAddr>,
    /// Codes and notices sent to people (`[messages]`).
    pub messages: crate::messages::Messages,
    /// An SMTP relay for e-mail (`[mail]`).
    pub mail: Option<crate::messages::MailConfig>,
    /// An HTTP gateway for text messages (`[sms]`).
    pub sms: Option<crate::messages::SmsConfig>,
    /// The vault's retention settings (`[vault]`).
    pub vault: crate::VaultSettings,
    /// How many of each indicator's latest published results keep every
    /// signed answer (their provenance, checkable with `verify-indicator`).
    pub history_full_refreshes: NonZeroU32,
    /// Besides, the last published result of each of this many latest
    /// months (Mayotte time) keeps its signed answers too (0: none).
    pub history_full_months: u32,
    /// Past those, a published result is kept as a summary (figures,
    /// coverage, the digest of its signed answers); summaries older than
    /// this many days are deleted (0: kept forever). Drafts beyond the
    /// `history_full_refreshes` latest are deleted.
    pub history_summary_days: u32,
    /// A folder where each published result's checkable bundle is written
    /// before its signed answers are pruned (relative to the hub folder);
    /// without it they are pruned without a copy.
    pub history_archive: Option<std::path::PathBuf>,
    /// OpenID Connect providers partner professionals sign in with
    /// (`[[partner_oidc]]`, e.g. ProConnect); password accounts keep
    /// working beside them.
    pub partner_oidc: Vec<crate::OidcProvider>,
    /// OpenID Connect providers a beneficiary may attach to their vault
    /// account (`[[vault_oidc]]`, e.g. FranceConnect).
    pub vault_oidc: Vec<crate::OidcProvider>,
    /// The national hub this hub answers as a node (`[upstream]`, hub of
    /// hubs), when it is enrolled with one.
    pub upstream: Option<crate::UpstreamConfig>,
    /// Where the hub keeps its state (`[store]`): sled in the hub folder,
    /// or a PostgreSQL database several instances share.
    pub store: crate::StoreConfig,
}

impl Default for HubConfig {
    fn default() -> Self {
        let quic = QuicLimits::default();
        Self {
            name: "DEETS Mayotte".into(),
            public_names: vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            quic_listen: SocketAddr::from(([0, 0, 0, 0], 4433)),
            http_listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            http_header_timeout: Duration::from_secs(10),
            http_body_timeout: Duration::from_secs(30),
            http_max_connections: 1024,
            http_max_connections_per_address: 64,
            token_ttl: Duration::from_secs(24 * 3600),
            node_cert_validity: Duration::from_secs(90 * 86400),
            status_interval: Duration::from_secs(30),
            query_timeout: Duration::from_secs(10),
            liveness_interval: Duration::from_secs(1),
            dead_after: Duration::from_secs(3),
            stall_timeout: Duration::from_secs(5),
            enroll_per_minute: NonZeroU32::new(10).expect("non-zero"),
            probe_per_minute: NonZeroU32::new(60).expect("non-zero"),
            quic_max_handshakes: quic.max_handshakes,
            quic_retry_above: quic.retry_above,
            quic_handshakes_per_address: quic.handshakes_per_address,
            quic_connections_per_address: quic.connections_per_address,
            quic_handshake_timeout: quic.handshake_timeout,
            refresh_interval: Duration::from_secs(3600),
            refresh_after_start: Duration::from_secs(30),
            catalog_dir: None,
            boundaries: None,
            boundaries_code_property: "code".into(),
            partner_accounts_per_institution: 5,
            session_ttl: Duration::from_secs(8 * 3600),
            login_per_minute: NonZeroU32::new(10).expect("non-zero"),
            partner_totp: PartnerTotp::Required,
            https_cert: None,
            https_key: None,
            trusted_proxy: None,
            portal_url: None,
            contact: None,
            metrics_allow: Vec::new(),
            messages: crate::messages::Messages::default(),
            mail: None,
            sms: None,
            vault: crate::VaultSettings::default(),
            history_full_refreshes: NonZeroU32::new(48).expect("non-zero"),
            history_full_months: 24,
            history_summary_days: 1096,
            history_archive: None,
            partner_oidc: Vec::new(),
            vault_oidc: Vec::new(),
            upstream: None,
            store: crate::StoreConfig::default(),
        }
    }
}

impl HubConfig {
    /// The admission limits of the QUIC listener (the `quic_*` keys).
    pub fn quic(&self) -> QuicLimits {
        QuicLimits {
            max_handshakes: self.quic_max_handshakes,
            retry_above: self.quic_retry_above,
            handshakes_per_address: self.quic_handshakes_per_address,
            connections_per_address: self.quic_connections_per_address,
            handshake_timeout: self.quic_handshake_timeout,
        }
    }

    /// Reads and checks `hub.toml`.
    ///
    /// # Errors
    /// Every problem in the file, with line and key.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        crate::load_checked(path, Self::problems)
    }

    /// The portal's public address, printed on verifiable copies and in
    /// their QR codes: `portal_url` when set; otherwise the first of
    /// `public_names` with the port of `http_listen`, over `https://` when
    /// the hub serves HTTPS itself (`https_cert`). Never a listening
    /// address such as `127.0.0.1`, unless it is a public name.
    pub fn public_url(&self) -> String {
        if let Some(u) = &self.portal_url {
            return u.trim_end_matches('/').to_string();
        }
        let https = self.https_cert.is_some();
        let host = match self.public_names.first() {
            Some(n) if n.parse::<std::net::Ipv6Addr>().is_ok() => format!("[{n}]"),
            Some(n) => n.clone(),
            None => self.http_listen.ip().to_string(),
        };
        let port = self.http_listen.port();
        let scheme = if https { "https" } else { "http" };
        if (https && port == 443) || (!https && port == 80) {
            format!("{scheme}://{host}")
        } else {
            format!("{scheme}://{host}:{port}")
        }
    }

    /// Parses and checks the text of `hub.toml` without touching the disk
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
        let mut out = Problems::default();
        self.identity_problems(&mut out);
        self.credential_problems(&mut out);
        self.timing_problems(&mut out);
        crate::messages::problems(
            &self.messages,
            self.mail.as_ref(),
            self.sms.as_ref(),
            &mut out,
        );
        crate::oidc::problems("partner_oidc", &self.partner_oidc, &mut out);
        crate::oidc::problems("vault_oidc", &self.vault_oidc, &mut out);
        self.store.problems(&mut out);
        let mut out = out.into_vec();
        out.extend(self.quic().problems());
        out
    }

    /// Who runs the hub and the addresses it is reached at.
    fn identity_problems(&self, out: &mut Problems) {
        if self.name.trim().is_empty() {
            out.bad("name", "is empty", "name the institution that runs the hub");
        }
        if let Some(u) = &self.portal_url {
            let rest = u
                .strip_prefix("https://")
                .or_else(|| u.strip_prefix("http://"));
            if rest.is_none_or(|r| r.is_empty() || r.contains(char::is_whitespace)) {
                out.bad(
                    "portal_url",
                    format!("{u:?} is not an http(s) address"),
                    "give the address people type, e.g. \"https://passerelle.example.fr\"",
                );
            }
        }
        if self.public_names.is_empty() {
            out.bad(
                "public_names",
                "is empty",
                "list the host names nodes use, e.g. [\"hub.example.org\"]",
            );
        }
        for n in &self.public_names {
            let ok = n.parse::<std::net::IpAddr>().is_ok()
                || (!n.is_empty()
                    && n.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'));
            if !ok {
                out.bad(
                    "public_names",
                    format!("{n:?} is neither a host name nor an IP address"),
                    "use names like hub.example.org",
                );
            }
        }
    }

    /// Enrollment tokens, node certificates and the portal's HTTPS pair.
    fn credential_problems(&self, out: &mut Problems) {
        if self.token_ttl.is_zero() {
            out.bad(
                "token_ttl",
                "is zero: tokens would expire at once",
                "use e.g. \"24h\"",
            );
        }
        if self.node_cert_validity < Duration::from_secs(3600) {
            out.bad(
                "node_cert_validity",
                "is under one hour",
                "use e.g. \"90d\"",
            );
        }
        if self.https_cert.is_some()
            && self
                .portal_url
                .as_deref()
                .is_some_and(|u| u.starts_with("http://"))
        {
            out.bad(
                "portal_url",
                "is an http:// address while the portal serves HTTPS (https_cert)",
                "write it with https://: it is printed on verifiable copies",
            );
        }
        if self.https_cert.is_some() != self.https_key.is_some() {
            out.bad(
                "https_cert/https_key",
                "only one of the two is set",
                "set both to serve HTTPS, or neither behind a reverse proxy",
            );
        }
    }

    /// Intervals and timeouts: refresh, status, queries, liveness, stalls.
    fn timing_problems(&self, out: &mut Problems) {
        self.vault.problems(out);
        if self.refresh_interval < Duration::from_secs(10) {
            out.bad("refresh_interval", "is under 10 seconds", "use e.g. \"1h\"");
        }
        if self.status_interval.is_zero() || self.query_timeout.is_zero() {
            out.bad(
                "status_interval/query_timeout",
                "must be above zero",
                "use e.g. \"30s\" and \"10s\"",
            );
        }
        if self.liveness_interval.is_zero() || self.dead_after < 2 * self.liveness_interval {
            out.bad(
                "liveness_interval/dead_after",
                "dead_after must be at least twice liveness_interval, which must be above zero",
                "use e.g. \"1s\" and \"3s\"",
            );
        }
        if self.stall_timeout.is_zero() {
            out.bad(
                "stall_timeout",
                "is zero: every download would be abandoned",
                "use e.g. \"5s\"",
            );
        }
        self.http_problems(out);
    }

    /// The portal's HTTP timeouts and connection caps.
    fn http_problems(&self, out: &mut Problems) {
        if self.http_header_timeout.is_zero() || self.http_body_timeout.is_zero() {
            out.bad(
                "http_header_timeout/http_body_timeout",
                "must be above zero",
                "use e.g. \"10s\" and \"30s\"",
            );
        }
        if self.http_max_connections_per_address == 0
            || self.http_max_connections < self.http_max_connections_per_address
        {
            out.bad(
                "http_max_connections/http_max_connections_per_address",
                "the per-address cap must be above zero and at most the total",
                "use e.g. 1024 and 64",
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_reads_back_as_the_same_config() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.toml");
        let mut config = HubConfig::default();
        config.public_names.push("hub.example.org".into());
        std::fs::write(&path, config.template()).unwrap();
        assert_eq!(HubConfig::load(&path).unwrap(), config);
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.toml");
        std::fs::write(&path, "name = \"x\"\nquic_listn = \"0.0.0.0:1\"\n").unwrap();
        let err = HubConfig::load(&path).unwrap_err().to_string();
        assert!(err.contains("hub.toml"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("key `quic_listn`"), "{err}");
        assert!(err.contains("unknown field"), "{err}");
    }

    #[test]
    fn bad_value_and_cross_key_problems_are_all_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.toml");
        std::fs::write(&path, "\nquic_listen = \"nowhere\"\n").unwrap();
        let err = HubConfig::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("line 2") && err.contains("key `quic_listen`"),
            "{err}"
        );

        std::fs::write(
            &path,
            "name = \"\"\npublic_names = []\ntoken_ttl = \"0s\"\n",
        )
        .unwrap();
        match HubConfig::load(&path).unwrap_err() {
            ConfigError::Invalid { problems, .. } => assert_eq!(problems.len(), 3, "{problems:?}"),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn liveness_needs_room_for_two_checks_before_a_node_is_dead() {
        let mut config = HubConfig {
            dead_after: Duration::from_secs(1),
            ..HubConfig::default()
        };
        let keys: Vec<_> = config.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, [Some("liveness_interval/dead_after".to_string())]);
        config.dead_after = Duration::from_secs(2);
        assert!(config.problems().is_empty());
        config.stall_timeout = Duration::ZERO;
        assert_eq!(config.problems().len(), 1);
    }

    #[test]
    fn the_public_url_is_the_public_address_over_https_when_on() {
        let mut c = HubConfig::default();
        assert_eq!(c.public_url(), "http://localhost:8080");
        c.public_names = vec!["hub.example.org".into()];
        c.https_cert = Some("c.pem".into());
        c.https_key = Some("k.pem".into());
        c.http_listen = "0.0.0.0:443".parse().unwrap();
        assert_eq!(c.public_url(), "https://hub.example.org");
        c.public_names = vec!["2001:db8::1".into()];
        c.http_listen = "[::]:8443".parse().unwrap();
        assert_eq!(c.public_url(), "https://[2001:db8::1]:8443");
        c.portal_url = Some("https://passerelle.example.fr/".into());
        assert_eq!(c.public_url(), "https://passerelle.example.fr");
        assert!(c.problems().is_empty());
        // An http:// address printed on copies while HTTPS is on.
        c.portal_url = Some("http://passerelle.example.fr".into());
        let keys: Vec<_> = c.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(keys, [Some("portal_url".to_string())]);
    }

    #[test]
    fn http_timeouts_and_caps_are_checked() {
        let mut c = HubConfig {
            http_body_timeout: Duration::ZERO,
            ..HubConfig::default()
        };
        c.http_max_connections = 10;
        c.http_max_connections_per_address = 20;
        let keys: Vec<_> = c.problems().into_iter().map(|p| p.key).collect();
        assert_eq!(
            keys,
            [
                Some("http_header_timeout/http_body_timeout".to_string()),
                Some("http_max_connections/http_max_connections_per_address".to_string())
            ]
        );
    }
}

#[cfg(test)]
mod example {
    /// `deploy/hub.example.toml` is what `hub init` writes with defaults.
    #[test]
    fn shipped_example_matches_the_template() {
        crate::check_example("hub.example.toml", &super::HubConfig::default().template());
    }
}
