//! The `[messages]`, `[mail]` and `[sms]` sections of `hub.toml`: how the
//! hub sends one-time codes and notices to people (e-mail through an SMTP
//! relay, text messages through an HTTP gateway), and how often it looks
//! for notices to send.

use std::{path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

use crate::error::Problems;

/// How the hub talks to its SMTP relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MailTls {
    /// Plain SMTP, allowed only to a relay on this machine (loopback).
    None,
    /// SMTP upgraded with STARTTLS (required, not opportunistic).
    #[default]
    Starttls,
    /// SMTP inside TLS from the first byte (SMTPS, usually port 465).
    Tls,
}

impl MailTls {
    /// The value as written in `hub.toml`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Starttls => "starttls",
            Self::Tls => "tls",
        }
    }
}

/// `[mail]`: an SMTP relay for e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// The relay, `host:port`.
    pub smtp: String,
    /// The sender address (`Passerelle <ne-pas-repondre@example.fr>`).
    pub from: String,
    /// How the connection is protected.
    #[serde(default)]
    pub tls: MailTls,
    /// A user name, when the relay asks for one (with `password_file`).
    #[serde(default)]
    pub user: Option<String>,
    /// A file holding the relay's password, readable by the hub only.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

impl MailConfig {
    /// The relay's host and port, when `smtp` reads as `host:port`.
    pub fn host_port(&self) -> Option<(String, u16)> {
        let (host, port) = self.smtp.rsplit_once(':')?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let port = port.parse().ok()?;
        (!host.is_empty()).then(|| (host.to_string(), port))
    }

    /// Whether the relay is this machine.
    pub fn is_loopback(&self) -> bool {
        self.host_port().is_some_and(|(h, _)| {
            h == "localhost"
                || h.parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        })
    }
}

/// `[sms]`: an HTTP gateway for text messages. The hub sends
/// `POST url` with `Authorization: Bearer <token>` and the JSON body
/// `{"to": "+262639123456", "text": "…"}`; any 2xx status means sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsConfig {
    /// The gateway's address (`https://…`; `http://` to this machine only).
    pub url: String,
    /// A file holding the gateway's bearer token, readable by the hub only.
    pub token_file: PathBuf,
}

/// `[messages]`: codes and notices sent to people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Messages {
    /// How often the hub looks for notices to send (and asks connected
    /// nodes for new deposits).
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// How long before a consent ends the person is told, once.
    #[serde(with = "humantime_serde")]
    pub consent_warning: Duration,
    /// Demonstration and tests only: with no sender for an identifier,
    /// show the message (and its code) on the page and in the hub's log
    /// instead of sending it. Anyone could then create an account with
    /// someone else's phone number.
    pub danger_show_codes: bool,
}

impl Default for Messages {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            consent_warning: Duration::from_secs(3 * 86400),
            danger_show_codes: false,
        }
    }
}

/// Cross-key rules of the three sections.
pub(crate) fn problems(
    messages: &Messages,
    mail: Option<&MailConfig>,
    sms: Option<&SmsConfig>,
    out: &mut Problems,
) {
    if messages.interval < Duration::from_secs(1) {
        out.bad(
            "messages.interval",
            "is under one second",
            "use e.g. \"1m\"",
        );
    }
    if messages.consent_warning.is_zero() {
        out.bad(
            "messages.consent_warning",
            "is zero: nobody would be warned",
            "use e.g. \"3d\"",
        );
    }
    if let Some(m) = mail {
        if m.host_port().is_none() {
            out.bad(
                "mail.smtp",
                format!("{:?} is not host:port", m.smtp),
                "e.g. \"smtp.example.fr:587\"",
            );
        }
        if !m.from.contains('@') {
            out.bad(
                "mail.from",
                format!("{:?} is not an e-mail address", m.from),
                "e.g. \"Passerelle <ne-pas-repondre@example.fr>\"",
            );
        }
        if m.tls == MailTls::None && !m.is_loopback() {
            out.bad(
                "mail.tls",
                "\"none\" sends codes in clear over the network",
                "use \"starttls\" or \"tls\"; \"none\" is for a relay on this machine (127.0.0.1)",
            );
        }
        if m.user.is_some() != m.password_file.is_some() {
            out.bad(
                "mail.user/mail.password_file",
                "only one of the two is set",
                "set both when the relay asks for a password, or neither",
            );
        }
    }
    if let Some(s) = sms {
        let local = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|p| s.url.starts_with(p));
        if !(s.url.starts_with("https://") || local) {
            out.bad(
                "sms.url",
                format!("{:?} is not an https:// address", s.url),
                "give the gateway's https:// address (http:// only to this machine)",
            );
        }
    }
}

/// The three settings as `hub init` writes them: inline tables (the same
/// TOML as `[messages]`, `[mail]` and `[sms]` sections), so that keys
/// added at the end of the file stay top-level keys.
pub(crate) fn template(
    messages: &Messages,
    mail: Option<&MailConfig>,
    sms: Option<&SmsConfig>,
) -> String {
    let h = crate::human_duration;
    let mail = match mail {
        Some(m) => {
            let auth = match (&m.user, &m.password_file) {
                (Some(u), Some(p)) => format!(
                    ", user = {u:?}, password_file = {:?}",
                    p.display().to_string()
                ),
                _ => String::new(),
            };
            format!(
                "mail = {{ smtp = {:?}, from = {:?}, tls = \"{}\"{auth} }}",
                m.smtp,
                m.from,
                m.tls.as_str()
            )
        }
        None => "# mail = { smtp = \"smtp.example.fr:587\", from = \"Passerelle <ne-pas-repondre@example.fr>\", tls = \"starttls\", user = \"passerelle\", password_file = \"/etc/passerelle/smtp.password\" }".into(),
    };
    let sms = match sms {
        Some(s) => format!(
            "sms = {{ url = {:?}, token_file = {:?} }}",
            s.url,
            s.token_file.display().to_string()
        ),
        None => "# sms = { url = \"https://sms.example.fr/api/send\", token_file = \"/etc/passerelle/sms.token\" }".into(),
    };
    format!(
        r#"
# Codes and notices sent to people. The hub looks every `interval` for
# notices to send (a document deposited, a document viewed under a
# consent, a consent ending within `consent_warning`) to those who asked
# for them, and asks the connected nodes for new deposits.
# danger_show_codes is for demonstrations and tests only: with no sender
# for a phone number or an e-mail address, the message and its one-time
# code are shown on the page and in the log instead of being sent.
# (A [messages] section at the end of the file says the same.)
messages = {{ interval = "{interval}", consent_warning = "{warning}", danger_show_codes = {show} }}

# E-mail through an SMTP relay (or a [mail] section at the end of the
# file): tls = "starttls" (port 587), "tls" (SMTPS, port 465) or "none"
# (only to a relay on this machine); user and password_file when the
# relay asks for a password (the file readable by the hub only).
{mail}

# Text messages through an HTTP gateway (or an [sms] section): the hub
# sends POST url with "Authorization: Bearer <token>" (the token read from
# token_file, readable by the hub only) and the JSON body
# {{"to": "+262639123456", "text": "..."}}; a 2xx status means sent.
{sms}
"#,
        interval = h(messages.interval),
        warning = h(messages.consent_warning),
        show = messages.danger_show_codes,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(smtp: &str, tls: MailTls) -> MailConfig {
        MailConfig {
            smtp: smtp.into(),
            from: "Passerelle <p@example.fr>".into(),
            tls,
            user: None,
            password_file: None,
        }
    }

    #[test]
    fn plain_smtp_only_to_this_machine() {
        let keys = |m: &MailConfig| {
            let mut out = Problems::default();
            problems(&Messages::default(), Some(m), None, &mut out);
            out.into_vec()
                .into_iter()
                .filter_map(|p| p.key)
                .collect::<Vec<_>>()
        };
        assert!(keys(&mail("127.0.0.1:2525", MailTls::None)).is_empty());
        assert!(keys(&mail("[::1]:25", MailTls::None)).is_empty());
        assert!(keys(&mail("localhost:25", MailTls::None)).is_empty());
        assert_eq!(
            keys(&mail("smtp.example.fr:25", MailTls::None)),
            ["mail.tls"]
        );
        assert!(keys(&mail("smtp.example.fr:587", MailTls::Starttls)).is_empty());
        assert_eq!(keys(&mail("smtp.example.fr", MailTls::Tls)), ["mail.smtp"]);
    }

    #[test]
    fn sections_and_inline_tables_read_the_same_and_round_trip() {
        use crate::HubConfig;
        let path = std::path::Path::new("hub.toml");
        let sections = HubConfig::parse_str(
            path,
            "[mail]\nsmtp = \"127.0.0.1:2525\"\nfrom = \"p@example.fr\"\ntls = \"none\"\n[sms]\nurl = \"https://sms.example.fr/send\"\ntoken_file = \"/etc/t\"\n",
        )
        .unwrap();
        assert_eq!(sections.mail.as_ref().unwrap().tls, MailTls::None);
        let again = HubConfig::parse_str(path, &sections.template()).unwrap();
        assert_eq!(again, sections);
        // A key added at the end of the written file stays top-level.
        let appended = format!("{}contact = \"dpo@example.fr\"\n", sections.template());
        assert_eq!(
            HubConfig::parse_str(path, &appended)
                .unwrap()
                .contact
                .as_deref(),
            Some("dpo@example.fr")
        );
    }

    #[test]
    fn sms_gateway_over_https_or_to_this_machine() {
        let keys = |url: &str| {
            let mut out = Problems::default();
            let s = SmsConfig {
                url: url.into(),
                token_file: "t".into(),
            };
            problems(&Messages::default(), None, Some(&s), &mut out);
            out.into_vec().len()
        };
        assert_eq!(keys("https://sms.example.fr/send"), 0);
        assert_eq!(keys("http://127.0.0.1:9000/send"), 0);
        assert_eq!(keys("http://sms.example.fr/send"), 1);
    }
}
