//! Messages to people: one-time codes and notices, sent to the phone
//! number or e-mail address they sign in with. Senders are pluggable
//! behind [`Sender`]: [`smtp::Smtp`] (e-mail through an SMTP relay, with
//! lettre) and [`sms::HttpSms`] (text messages through an HTTP gateway).
//! [`Senders`] picks the one for an identifier, from `hub.toml`.
//!
//! The words of a message are the portal's business (in French); this
//! module carries them and never logs them: a message may hold a code.

pub mod sms;
pub mod smtp;

use std::{future::Future, pin::Pin, sync::Arc};

use passerelle_config::HubConfig;

/// Where a message goes: the identifier a person signs in with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identifier {
    /// An e-mail address, normalised.
    Email(String),
    /// A phone number, in the national form (`0639123456`).
    Phone(String),
}

impl Identifier {
    /// The identifier of a normalised login
    /// ([`crate::accounts::normalise_login`]).
    pub fn of_login(login: &str) -> Self {
        if login.contains('@') {
            Self::Email(login.to_string())
        } else {
            Self::Phone(login.to_string())
        }
    }

    /// The phone number in international form: Mayotte's and La
    /// Réunion's numbers (`0639…`, `0269…`, `0692…`, `0693…`, `0262…`)
    /// under +262, other French numbers under +33.
    pub fn international(&self) -> Option<String> {
        match self {
            Self::Email(_) => None,
            Self::Phone(n) => {
                let rest = n.strip_prefix('0')?;
                let cc = if ["0639", "0269", "0692", "0693", "0262"]
                    .iter()
                    .any(|p| n.starts_with(p))
                {
                    "262"
                } else {
                    "33"
                };
                Some(format!("+{cc}{rest}"))
            }
        }
    }
}

/// A message: a subject (for e-mail) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The e-mail subject.
    pub subject: String,
    /// The text, short enough for a text message.
    pub text: String,
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No sender is configured for this kind of identifier.
    #[error("no sender is configured for {0}")]
    NotConfigured(&'static str),
    /// The address or the message could not be written.
    #[error("message not built: {0}")]
    Build(String),
    /// The SMTP relay refused or failed.
    #[error("SMTP relay: {0}")]
    Smtp(String),
    /// The SMS gateway refused or failed.
    #[error("SMS gateway: {0}")]
    Sms(String),
    /// A sender's secret file could not be read.
    #[error("{path}: {why}")]
    Secret {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        why: String,
    },
}

/// A future that sends one message.
pub type Sending<'a> = Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;

/// Something that delivers messages to one kind of identifier.
pub trait Sender: Send + Sync {
    /// What it is, for the operator (`e-mail via smtp.example.fr:587`).
    fn describe(&self) -> String;

    /// Sends `message` to `to`.
    fn send<'a>(&'a self, to: &'a Identifier, message: &'a Message) -> Sending<'a>;
}

/// What became of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Handed to a sender.
    Sent,
    /// Nothing configured for it, and `danger_show_codes` set: the portal
    /// shows it on the page (demonstration and tests only).
    Shown(Message),
}

/// The configured senders.
#[derive(Clone, Default)]
pub struct Senders {
    mail: Option<Arc<dyn Sender>>,
    sms: Option<Arc<dyn Sender>>,
    /// Show messages nobody can send (demonstration and tests only).
    pub show: bool,
}

impl std::fmt::Debug for Senders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Senders")
            .field("mail", &self.mail.as_ref().map(|s| s.describe()))
            .field("sms", &self.sms.as_ref().map(|s| s.describe()))
            .field("show", &self.show)
            .finish()
    }
}

impl Senders {
    /// The senders `hub.toml` names; `demo` shows what cannot be sent.
    ///
    /// # Errors
    /// When a secret file cannot be read or a sender cannot be built.
    pub fn from_config(config: &HubConfig, demo: bool) -> Result<Self, SendError> {
        let mail = match &config.mail {
            Some(m) => Some(Arc::new(smtp::Smtp::new(m)?) as Arc<dyn Sender>),
            None => None,
        };
        let sms = match &config.sms {
            Some(s) => Some(Arc::new(sms::HttpSms::new(s)?) as Arc<dyn Sender>),
            None => None,
        };
        Ok(Self {
            mail,
            sms,
            show: demo || config.messages.danger_show_codes,
        })
    }

    /// Senders given by hand (tests, or another gateway).
    pub fn new(mail: Option<Arc<dyn Sender>>, sms: Option<Arc<dyn Sender>>, show: bool) -> Self {
        Self { mail, sms, show }
    }

    /// The sender for an identifier, if one is configured.
    pub fn sender(&self, to: &Identifier) -> Option<&Arc<dyn Sender>> {
        match to {
            Identifier::Email(_) => self.mail.as_ref(),
            Identifier::Phone(_) => self.sms.as_ref(),
        }
    }

    /// Whether a code can reach this identifier (sent, or shown).
    pub fn can_reach(&self, to: &Identifier) -> bool {
        self.show || self.sender(to).is_some()
    }

    /// What is configured, for `/sante` and the operator: e-mail, SMS.
    pub fn describe(&self) -> (Option<String>, Option<String>) {
        (
            self.mail.as_ref().map(|s| s.describe()),
            self.sms.as_ref().map(|s| s.describe()),
        )
    }

    /// Sends a message, or hands it back to be shown when nothing can
    /// send it and showing is allowed (the message is then logged: this
    /// happens only in demonstrations and tests).
    ///
    /// # Errors
    /// When no sender can take it, or the sender fails.
    pub async fn send(&self, to: &Identifier, message: &Message) -> Result<Delivery, SendError> {
        match self.sender(to) {
            Some(s) => s.send(to, message).await.map(|()| Delivery::Sent),
            None if self.show => {
                tracing::warn!(
                    text = %message.text,
                    "danger_show_codes: message shown instead of sent (demonstration only)"
                );
                Ok(Delivery::Shown(message.clone()))
            }
            None => Err(SendError::NotConfigured(match to {
                Identifier::Email(_) => "e-mail ([mail] in hub.toml)",
                Identifier::Phone(_) => "text messages ([sms] in hub.toml)",
            })),
        }
    }
}

/// Reads a secret from a file that only its owner may read.
///
/// # Errors
/// When the file is missing, empty, or readable by others.
pub(crate) fn read_secret(path: &std::path::Path) -> Result<String, SendError> {
    let bad = |why: String| SendError::Secret {
        path: path.to_path_buf(),
        why,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| bad(e.to_string()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(bad(format!(
                "readable by others (mode {:o}); chmod 600 it",
                mode & 0o777
            )));
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let text = text.trim().to_string();
    if text.is_empty() {
        return Err(bad("is empty".into()));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_go_international() {
        let p = Identifier::of_login("0639123456");
        assert_eq!(p.international().as_deref(), Some("+262639123456"));
        let f = Identifier::of_login("0612345678");
        assert_eq!(f.international().as_deref(), Some("+33612345678"));
        assert_eq!(Identifier::of_login("a@b.fr").international(), None);
    }

    #[tokio::test]
    async fn nothing_configured_is_refused_unless_shown() {
        let m = Message {
            subject: "s".into(),
            text: "t".into(),
        };
        let to = Identifier::of_login("0639123456");
        let none = Senders::default();
        assert!(!none.can_reach(&to));
        assert!(matches!(
            none.send(&to, &m).await,
            Err(SendError::NotConfigured(_))
        ));
        let shown = Senders::new(None, None, true);
        assert_eq!(shown.send(&to, &m).await.unwrap(), Delivery::Shown(m));
    }

    #[test]
    fn secrets_readable_by_others_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("token");
        std::fs::write(&p, "s3cret\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read_secret(&p).is_err());
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_secret(&p).unwrap(), "s3cret");
    }
}
