//! E-mail through an SMTP relay, with lettre (tokio, rustls over ring).
//! One connection per message: codes and notices are few. STARTTLS is
//! required when asked for (never opportunistic); plain SMTP is refused
//! by the configuration check except to a relay on this machine.

use std::time::Duration;

use lettre::{
    message::{header::ContentType, Mailbox},
    transport::smtp::{
        authentication::Credentials,
        client::{Tls, TlsParameters},
    },
    AsyncSmtpTransport, AsyncTransport, Tokio1Executor,
};
use passerelle_config::{MailConfig, MailTls};

use super::{Identifier, Message, SendError, Sender, Sending};

/// How long one exchange with the relay may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// An SMTP relay.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    relay: String,
}

impl Smtp {
    /// The relay `[mail]` names.
    ///
    /// # Errors
    /// When `smtp` or `from` do not read, or the password file cannot be
    /// read.
    pub fn new(config: &MailConfig) -> Result<Self, SendError> {
        let (host, port) = config
            .host_port()
            .ok_or_else(|| SendError::Build(format!("{:?} is not host:port", config.smtp)))?;
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| SendError::Build(format!("from {:?}: {e}", config.from)))?;
        let tls = |host: &str| {
            TlsParameters::new(host.to_string()).map_err(|e| SendError::Build(e.to_string()))
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .timeout(Some(TIMEOUT));
        builder = match config.tls {
            MailTls::None => builder.tls(Tls::None),
            MailTls::Starttls => builder.tls(Tls::Required(tls(&host)?)),
            MailTls::Tls => builder.tls(Tls::Wrapper(tls(&host)?)),
        };
        if let (Some(user), Some(file)) = (&config.user, &config.password_file) {
            let password = super::read_secret(file)?;
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(Self {
            transport: builder.build(),
            from,
            relay: format!("{} ({})", config.smtp, config.tls.as_str()),
        })
    }
}

impl Sender for Smtp {
    fn describe(&self) -> String {
        format!("e-mail via {}", self.relay)
    }

    fn send<'a>(&'a self, to: &'a Identifier, message: &'a Message) -> Sending<'a> {
        Box::pin(async move {
            let Identifier::Email(address) = to else {
                return Err(SendError::Build("not an e-mail address".into()));
            };
            let to: Mailbox = address
                .parse()
                .map_err(|e| SendError::Build(format!("to: {e}")))?;
            let email = lettre::Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(message.subject.clone())
                .header(ContentType::TEXT_PLAIN)
                .body(message.text.clone())
                .map_err(|e| SendError::Build(e.to_string()))?;
            self.transport
                .send(email)
                .await
                .map(|_| ())
                .map_err(|e| SendError::Smtp(e.to_string()))
        })
    }
}
