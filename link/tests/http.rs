//! The one HTTP server of both binaries, plain and over TLS: the peer
//! address reaches handlers, a client that never finishes its headers and
//! an idle keep-alive connection are closed by the header timeout, and the
//! stop ends every connection.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{extract::ConnectInfo, routing::get, Router};
use passerelle_link::http::{serve, Timeouts};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::oneshot,
    task::JoinHandle,
    time::Instant,
};
use tokio_rustls::{TlsAcceptor, TlsConnector};

const TIMEOUTS: Timeouts = Timeouts {
    handshake: Duration::from_secs(2),
    header_read: Duration::from_millis(300),
    grace: Duration::from_secs(1),
};

/// Longest wait for something the server must do on its own.
const PATIENCE: Duration = Duration::from_secs(10);

struct Server {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
    tls: Option<TlsConnector>,
}

/// A self-signed certificate for 127.0.0.1: the server's acceptor and a
/// client that trusts it.
fn tls_pair() -> (TlsAcceptor, TlsConnector) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap(),
        )
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (
        TlsAcceptor::from(Arc::new(server)),
        TlsConnector::from(Arc::new(client)),
    )
}

async fn start(tls: bool) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route(
        "/",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { format!("hello {peer}") }),
    );
    let (acceptor, connector) = if tls {
        let (a, c) = tls_pair();
        (Some(a), Some(c))
    } else {
        (None, None)
    };
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(serve(listener, app, acceptor, TIMEOUTS, async move {
        let _ = stopped.await;
    }));
    Server {
        addr,
        stop,
        task,
        tls: connector,
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

impl Server {
    /// Stops the server and waits for it to finish.
    async fn stop(self) {
        self.stop.send(()).unwrap();
        self.task.await.unwrap();
    }

    /// A connection, its TLS handshake done when the server speaks TLS;
    /// and the client's own address.
    async fn connect(&self) -> (Box<dyn Io>, SocketAddr) {
        let tcp = TcpStream::connect(self.addr).await.unwrap();
        let local = tcp.local_addr().unwrap();
        match &self.tls {
            None => (Box::new(tcp), local),
            Some(c) => {
                let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
                (Box::new(c.connect(name, tcp).await.unwrap()), local)
            }
        }
    }
}

/// Reads until the server closes the connection (cleanly or not) and
/// returns what came, failing if it stays open past [`PATIENCE`].
async fn read_until_closed(io: &mut Box<dyn Io>) -> String {
    let mut out = Vec::new();
    let closed = tokio::time::timeout(PATIENCE, async {
        let mut buf = [0u8; 4096];
        loop {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "connection still open after {PATIENCE:?}");
    String::from_utf8_lossy(&out).into_owned()
}

/// Sends `bytes`, then reads until the server closes the connection.
async fn exchange(io: &mut Box<dyn Io>, bytes: &[u8]) -> String {
    io.write_all(bytes).await.unwrap();
    io.flush().await.unwrap();
    read_until_closed(io).await
}

async fn a_slow_client_is_cut_by_the_header_timeout(tls: bool) {
    let server = start(tls).await;
    // Before the connection: the server's clock cannot start earlier.
    let started = Instant::now();
    let (mut io, _) = server.connect().await;
    let reply = exchange(&mut io, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n").await;
    assert!(
        started.elapsed() >= TIMEOUTS.header_read,
        "closed before the timeout"
    );
    assert!(!reply.contains("hello"), "{reply}");
    server.stop().await;
}

async fn requests_see_the_peer_and_idle_connections_close(tls: bool) {
    let server = start(tls).await;
    let (mut io, local) = server.connect().await;
    // Keep-alive: the server answers, then closes the idle connection.
    let reply = exchange(&mut io, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.ends_with(&format!("hello {local}")), "{reply}");
    server.stop().await;
}

async fn the_stop_ends_every_connection(tls: bool) {
    let server = start(tls).await;
    let (mut idle, _) = server.connect().await;
    server.stop.send(()).unwrap();
    tokio::time::timeout(PATIENCE, server.task)
        .await
        .expect("the server stops")
        .unwrap();
    read_until_closed(&mut idle).await;
    assert!(
        TcpStream::connect(server.addr).await.is_err(),
        "still accepting"
    );
}

#[tokio::test]
async fn plain_a_slow_client_is_cut_by_the_header_timeout() {
    a_slow_client_is_cut_by_the_header_timeout(false).await;
}

#[tokio::test]
async fn tls_a_slow_client_is_cut_by_the_header_timeout() {
    a_slow_client_is_cut_by_the_header_timeout(true).await;
}

#[tokio::test]
async fn plain_requests_see_the_peer_and_idle_connections_close() {
    requests_see_the_peer_and_idle_connections_close(false).await;
}

#[tokio::test]
async fn tls_requests_see_the_peer_and_idle_connections_close() {
    requests_see_the_peer_and_idle_connections_close(true).await;
}

#[tokio::test]
async fn plain_the_stop_ends_every_connection() {
    the_stop_ends_every_connection(false).await;
}

#[tokio::test]
async fn tls_the_stop_ends_every_connection() {
    the_stop_ends_every_connection(true).await;
}
