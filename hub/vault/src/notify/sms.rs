//! Text messages through an HTTP gateway. Gateways differ; this one
//! shape is what the hub speaks, and a small adapter in front of a
//! provider's own API does the rest:
//!
//! ```text
//! POST <url>
//! Authorization: Bearer <token read from token_file>
//! Content-Type: application/json
//!
//! {"to": "+262639123456", "text": "…"}
//! ```
//!
//! Any 2xx status means the gateway took the message. HTTPS is checked
//! against the Mozilla roots (webpki-roots); plain HTTP is allowed by the
//! configuration check only to this machine. hyper speaks HTTP/1.1 over
//! one connection per message.

use std::{sync::Arc, time::Duration};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{header, Request, Uri};
use hyper_util::rt::TokioIo;
use passerelle_config::SmsConfig;
use tokio::net::TcpStream;

use super::{Identifier, Message, SendError, Sender, Sending};

/// How long one exchange with the gateway may take.
const TIMEOUT: Duration = Duration::from_secs(20);

/// The most of a gateway's answer read (it is only logged on failure).
const MAX_ANSWER: usize = 4096;

/// An HTTP gateway for text messages.
pub struct HttpSms {
    url: Uri,
    token: String,
    tls: Option<tokio_rustls::TlsConnector>,
}

impl HttpSms {
    /// The gateway `[sms]` names.
    ///
    /// # Errors
    /// When the address does not read or the token file cannot be read.
    pub fn new(config: &SmsConfig) -> Result<Self, SendError> {
        let url: Uri = config
            .url
            .parse()
            .map_err(|e| SendError::Build(format!("sms url {:?}: {e}", config.url)))?;
        let tls = match url.scheme_str() {
            Some("https") => {
                let roots = rustls::RootCertStore::from_iter(
                    webpki_roots::TLS_SERVER_ROOTS.iter().cloned(),
                );
                let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .map_err(|e| SendError::Build(e.to_string()))?
                .with_root_certificates(roots)
                .with_no_client_auth();
                Some(tokio_rustls::TlsConnector::from(Arc::new(config)))
            }
            Some("http") => None,
            _ => return Err(SendError::Build("sms url: not http(s)".into())),
        };
        if url.host().is_none() {
            return Err(SendError::Build("sms url: no host".into()));
        }
        Ok(Self {
            url,
            token: super::read_secret(&config.token_file)?,
            tls,
        })
    }

    async fn post(&self, body: Vec<u8>) -> Result<(), SendError> {
        let fail = |e: &dyn std::fmt::Display| SendError::Sms(e.to_string());
        let host = self.url.host().unwrap_or_default();
        let port = self
            .url
            .port_u16()
            .unwrap_or(if self.tls.is_some() { 443 } else { 80 });
        let tcp = TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port))
            .await
            .map_err(|e| fail(&e))?;
        let request = Request::post(
            self.url
                .path_and_query()
                .map_or("/", hyper::http::uri::PathAndQuery::as_str),
        )
        .header(
            header::HOST,
            self.url.authority().map_or(host, |a| a.as_str()),
        )
        .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| fail(&e))?;
        let response = match &self.tls {
            Some(tls) => {
                let name = rustls::pki_types::ServerName::try_from(
                    host.trim_start_matches('[')
                        .trim_end_matches(']')
                        .to_string(),
                )
                .map_err(|e| fail(&e))?;
                let stream = tls.connect(name, tcp).await.map_err(|e| fail(&e))?;
                exchange(TokioIo::new(stream), request).await?
            }
            None => exchange(TokioIo::new(tcp), request).await?,
        };
        if response.0.is_success() {
            Ok(())
        } else {
            Err(SendError::Sms(format!(
                "status {}: {}",
                response.0,
                String::from_utf8_lossy(&response.1)
            )))
        }
    }
}

/// One request on a new HTTP/1.1 connection: the status and the start
/// of the answer.
async fn exchange<I>(
    io: I,
    request: Request<Full<Bytes>>,
) -> Result<(hyper::StatusCode, Vec<u8>), SendError>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let fail = |e: &dyn std::fmt::Display| SendError::Sms(e.to_string());
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| fail(&e))?;
    let driver = tokio::spawn(conn);
    let response = sender.send_request(request).await.map_err(|e| fail(&e))?;
    let status = response.status();
    let mut body = response.into_body();
    let mut answer = Vec::new();
    while answer.len() < MAX_ANSWER {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    answer.extend_from_slice(&data[..data.len().min(MAX_ANSWER - answer.len())]);
                }
            }
            Some(Err(e)) => return Err(fail(&e)),
            None => break,
        }
    }
    drop(sender);
    driver.abort();
    Ok((status, answer))
}

impl Sender for HttpSms {
    fn describe(&self) -> String {
        format!(
            "SMS via {}://{}",
            self.url.scheme_str().unwrap_or("http"),
            self.url.authority().map_or("", |a| a.as_str())
        )
    }

    fn send<'a>(&'a self, to: &'a Identifier, message: &'a Message) -> Sending<'a> {
        Box::pin(async move {
            let number = to
                .international()
                .ok_or_else(|| SendError::Build("not a phone number".into()))?;
            let body = serde_json::to_vec(&serde_json::json!({
                "to": number,
                "text": message.text,
            }))
            .map_err(|e| SendError::Build(e.to_string()))?;
            tokio::time::timeout(TIMEOUT, self.post(body))
                .await
                .map_err(|_| SendError::Sms(format!("no answer within {TIMEOUT:?}")))?
        })
    }
}
