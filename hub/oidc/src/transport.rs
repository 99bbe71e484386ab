//! The HTTP transport the OpenID Connect library speaks through: one
//! HTTP/1.1 request per connection over the workspace's hyper, tokio and
//! rustls (ring, Mozilla's roots). It moves bytes only; every check of
//! what comes back is the library's.
//!
//! It refuses `http://` except on a loopback address when the provider's
//! configuration allows it (tests), follows no redirect (a redirect is an
//! answer the library refuses), bounds each reply to [`MAX_BODY`] bytes and
//! each exchange to [`TIMEOUT`].

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::HOST;
use hyper_util::rt::TokioIo;
use openidconnect::{HttpRequest, HttpResponse};
use tokio::io::{AsyncRead, AsyncWrite};

/// Largest reply accepted (discovery, JWKS, tokens, user info).
pub const MAX_BODY: usize = 256 * 1024;
/// Longest exchange, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Why an exchange with a provider failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The address is not `https://` (nor an allowed loopback `http://`).
    #[error("refused address {0} (https only; http on loopback only when allowed)")]
    Refused(String),
    /// Connecting, TLS or HTTP failed.
    #[error("exchange with {host} failed: {why}")]
    Failed {
        /// The provider's host.
        host: String,
        /// What failed.
        why: String,
    },
    /// The reply did not come in time.
    #[error("no reply from {0} in time")]
    Timeout(String),
}

/// The transport of one provider.
#[derive(Clone)]
pub struct Transport {
    allow_loopback_http: bool,
    tls: tokio_rustls::TlsConnector,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("allow_loopback_http", &self.allow_loopback_http)
            .finish_non_exhaustive()
    }
}

impl Transport {
    /// A transport trusting Mozilla's roots; `allow_loopback_http` lets
    /// `http://` through to loopback addresses only.
    ///
    /// # Errors
    /// When rustls refuses its own default versions (never in practice).
    pub fn new(allow_loopback_http: bool) -> Result<Self, TransportError> {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| TransportError::Failed {
            host: String::new(),
            why: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Self {
            allow_loopback_http,
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
        })
    }

    /// Sends one request and reads the whole (bounded) reply.
    ///
    /// # Errors
    /// [`TransportError`].
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let uri = request.uri().clone();
        let host = uri.host().unwrap_or("").to_string();
        match tokio::time::timeout(TIMEOUT, self.exchange(request)).await {
            Ok(r) => r,
            Err(_) => Err(TransportError::Timeout(host)),
        }
    }

    async fn exchange(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let uri = request.uri().clone();
        let refused = || TransportError::Refused(uri.to_string());
        let host = uri.host().ok_or_else(refused)?.to_string();
        let bare = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http")
                if self.allow_loopback_http
                    && passerelle_config::oidc::is_loopback_http(&format!("http://{host}")) =>
            {
                false
            }
            _ => return Err(refused()),
        };
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let failed = |why: String| TransportError::Failed {
            host: host.clone(),
            why,
        };
        let tcp = tokio::net::TcpStream::connect((bare.as_str(), port))
            .await
            .map_err(|e| failed(e.to_string()))?;
        let authority = uri
            .authority()
            .map(|a| a.as_str().to_string())
            .ok_or_else(refused)?;
        let (mut parts, body) = request.into_parts();
        parts.uri = uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| failed(e.to_string()))?;
        parts.headers.insert(
            HOST,
            authority
                .parse()
                .map_err(|e: hyper::header::InvalidHeaderValue| failed(e.to_string()))?,
        );
        let request = hyper::Request::from_parts(parts, Full::new(Bytes::from(body)));
        if https {
            let name = rustls::pki_types::ServerName::try_from(bare.clone())
                .map_err(|e| failed(e.to_string()))?;
            let tls = self
                .tls
                .connect(name, tcp)
                .await
                .map_err(|e| failed(e.to_string()))?;
            one_request(tls, request).await.map_err(failed)
        } else {
            one_request(tcp, request).await.map_err(failed)
        }
    }
}

/// One HTTP/1.1 exchange on a connection.
async fn one_request<S>(io: S, request: hyper::Request<Full<Bytes>>) -> Result<HttpResponse, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(conn);
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let (parts, body) = response.into_parts();
        let bytes = Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok(hyper::Response::from_parts(parts, bytes.to_vec()))
    }
    .await;
    driver.abort();
    result
}

impl<'c> openidconnect::AsyncHttpClient<'c> for Transport {
    type Error = TransportError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(url: &str) -> HttpRequest {
        hyper::Request::get(url).body(Vec::new()).unwrap()
    }

    #[tokio::test]
    async fn plain_http_is_refused_before_any_connection_unless_loopback_and_allowed() {
        let strict = Transport::new(false).unwrap();
        let tests = Transport::new(true).unwrap();
        // Refused before connecting: no packet leaves for these.
        for (t, url) in [
            (&strict, "http://127.0.0.1:9/x"),
            (&tests, "http://10.1.2.3/x"),
            (&tests, "http://provider.example.fr/x"),
            (&tests, "ftp://127.0.0.1/x"),
        ] {
            assert!(
                matches!(t.send(get(url)).await, Err(TransportError::Refused(_))),
                "{url}"
            );
        }
        // Allowed on loopback: it tries (and finds nothing on a closed port).
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let r = tests.send(get(&format!("http://127.0.0.1:{port}/x"))).await;
        assert!(matches!(r, Err(TransportError::Failed { .. })), "{r:?}");
    }
}
