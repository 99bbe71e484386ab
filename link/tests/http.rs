//! The one HTTP server of both binaries, plain and over TLS: the peer
//! address reaches handlers, a client that never finishes its headers and
//! an idle keep-alive connection are closed by the header timeout, a
//! stalled body by the body timeout, thousands of idle connections by the
//! caps and timeouts while real requests are served, and the stop ends
//! every connection.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{extract::ConnectInfo, routing::get, Router};
use passerelle_link::http::{serve, Caps, Timeouts};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::{TcpListener, TcpSocket, TcpStream},
    sync::oneshot,
    task::JoinHandle,
    time::Instant,
};
use tokio_rustls::{TlsAcceptor, TlsConnector};

const TIMEOUTS: Timeouts = Timeouts {
    handshake: Duration::from_secs(2),
    header_read: Duration::from_millis(300),
    body: Duration::from_millis(300),
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
    start_capped(tls, Caps::default()).await
}

async fn start_capped(tls: bool, caps: Caps) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route(
        "/",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { format!("hello {peer}") })
            .post(|body: String| async move { format!("got {}", body.len()) }),
    );
    let (acceptor, connector) = if tls {
        let (a, c) = tls_pair();
        (Some(a), Some(c))
    } else {
        (None, None)
    };
    let (stop, stopped) = oneshot::channel();
    let task = tokio::spawn(serve(listener, app, acceptor, TIMEOUTS, caps, async move {
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

/// Opens `n` TCP connections to the server, spread over the loopback
/// addresses `127.0.0.{2..2+from}`, and sends nothing on them.
async fn idle_connections(server: &Server, n: usize, from: u8) -> Vec<TcpStream> {
    let mut idle = Vec::with_capacity(n);
    for i in 0..n {
        let source = std::net::Ipv4Addr::new(127, 0, 0, 2 + (i % from as usize) as u8);
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from((source, 0))).unwrap();
        idle.push(socket.connect(server.addr).await.unwrap());
    }
    idle
}

/// Waits until the server has closed every one of `idle`.
async fn all_closed(idle: Vec<TcpStream>) {
    let closed = tokio::time::timeout(PATIENCE, async {
        for mut c in idle {
            let mut buf = [0u8; 64];
            loop {
                match c.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "idle connections still open after {PATIENCE:?}"
    );
}

/// A real request from 127.0.0.1 is answered.
async fn served(server: &Server) -> bool {
    let (mut io, _) = server.connect().await;
    let reply = exchange(&mut io, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").await;
    reply.starts_with("HTTP/1.1 200")
}

async fn idle_connections_from_one_address_are_capped_and_closed(tls: bool) {
    let server = start_capped(
        tls,
        Caps {
            total: 1024,
            per_address: 32,
            unlimited: Vec::new(),
        },
    )
    .await;
    let idle = idle_connections(&server, 2000, 1).await;
    // The flood from 127.0.0.2 holds 32 places at most: others still get in.
    for _ in 0..5 {
        assert!(served(&server).await, "a real request was not served");
    }
    all_closed(idle).await;
    assert!(served(&server).await);
    server.stop().await;
}

async fn idle_connections_from_many_addresses_fill_the_total_then_go(tls: bool) {
    let server = start_capped(
        tls,
        Caps {
            total: 100,
            per_address: 32,
            unlimited: Vec::new(),
        },
    )
    .await;
    // 8 addresses × 32 places would be 256: the total holds them to 100.
    let idle = idle_connections(&server, 2000, 8).await;
    all_closed(idle).await;
    assert!(
        served(&server).await,
        "not served once the idle ones are gone"
    );
    server.stop().await;
}

async fn headers_trickled_byte_by_byte_are_cut(tls: bool) {
    let server = start(tls).await;
    let (mut io, _) = server.connect().await;
    io.write_all(b"GET / HTTP/1.1\r\nX-Slow: ").await.unwrap();
    // One byte every 50 ms would take 100 s to finish this header: the
    // header timeout counts from the start, not from the last byte.
    let cut = tokio::time::timeout(PATIENCE, async {
        for _ in 0..2000 {
            if io.write_all(b"a").await.is_err() || io.flush().await.is_err() {
                return;
            }
            let mut buf = [0u8; 64];
            let read = tokio::time::timeout(Duration::from_millis(50), io.read(&mut buf)).await;
            if let Ok(Ok(0) | Err(_)) = read {
                return;
            }
        }
        panic!("the whole header went through");
    })
    .await;
    assert!(cut.is_ok(), "still open after {PATIENCE:?}");
    server.stop().await;
}

async fn a_stalled_body_is_cut_by_the_body_timeout(tls: bool) {
    let server = start(tls).await;
    let (mut io, _) = server.connect().await;
    // Ten bytes of the hundred announced, then silence.
    let reply = exchange(
        &mut io,
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n0123456789",
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 400"), "{reply}");
    assert!(!reply.contains("got"), "{reply}");
    // A whole body is read.
    let (mut io, _) = server.connect().await;
    let reply = exchange(
        &mut io,
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\n0123456789",
    )
    .await;
    assert!(reply.ends_with("got 10"), "{reply}");
    server.stop().await;
}

#[tokio::test]
async fn plain_idle_connections_from_one_address_are_capped_and_closed() {
    idle_connections_from_one_address_are_capped_and_closed(false).await;
}

#[tokio::test]
async fn tls_idle_connections_from_one_address_are_capped_and_closed() {
    idle_connections_from_one_address_are_capped_and_closed(true).await;
}

#[tokio::test]
async fn plain_idle_connections_from_many_addresses_fill_the_total_then_go() {
    idle_connections_from_many_addresses_fill_the_total_then_go(false).await;
}

#[tokio::test]
async fn tls_idle_connections_from_many_addresses_fill_the_total_then_go() {
    idle_connections_from_many_addresses_fill_the_total_then_go(true).await;
}

#[tokio::test]
async fn plain_headers_trickled_byte_by_byte_are_cut() {
    headers_trickled_byte_by_byte_are_cut(false).await;
}

#[tokio::test]
async fn tls_headers_trickled_byte_by_byte_are_cut() {
    headers_trickled_byte_by_byte_are_cut(true).await;
}

#[tokio::test]
async fn plain_a_stalled_body_is_cut_by_the_body_timeout() {
    a_stalled_body_is_cut_by_the_body_timeout(false).await;
}

#[tokio::test]
async fn tls_a_stalled_body_is_cut_by_the_body_timeout() {
    a_stalled_body_is_cut_by_the_body_timeout(true).await;
}
