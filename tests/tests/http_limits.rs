//! The portal's HTTP bounds over real HTTP on loopback, as an attacker
//! would try them: a multipart form with a huge text field and an
//! oversized form are refused before they are sent in full, thousands of
//! idle connections from one address neither lock others out nor stay
//! open, and `/metrics` behind the trusted proxy goes by the address the
//! proxy appended, never by a missing header.

use std::{net::SocketAddr, time::Duration};

use passerelle_tests::{http, Net};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

/// Longest wait for something the server must do on its own.
const PATIENCE: Duration = Duration::from_secs(20);

/// Rewrites the hub's configuration before it starts.
fn configure(net: &Net, change: impl FnOnce(&mut passerelle_config::HubConfig)) {
    let path = net.hub_dir().join("hub.toml");
    let mut c = passerelle_config::HubConfig::load(&path).unwrap();
    change(&mut c);
    std::fs::write(&path, c.template()).unwrap();
}

/// Sends `head` and `first`, the start of a body announced longer, then
/// waits (sending nothing more) for the reply's status line.
async fn partial_request(addr: SocketAddr, head: &str, first: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(first).await.unwrap();
    s.flush().await.unwrap();
    let mut got = Vec::new();
    let read = tokio::time::timeout(PATIENCE, async {
        let mut buf = [0u8; 4096];
        while !got.windows(2).any(|w| w == b"\r\n") {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer before the body was sent in full");
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test]
async fn a_multipart_form_with_a_huge_text_field_is_refused_before_it_is_sent() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let boundary = "passerelle-huge-field";
    let announced = 50 * 1024 * 1024;
    let head = format!(
        "POST /verifier/ABCD-EFGH-JKLM HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {announced}\r\n\r\n"
    );
    let mut first =
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n")
            .into_bytes();
    first.extend(std::iter::repeat_n(b'=', 256 * 1024));
    // 256 KiB of a 50 MiB text field, and the answer comes: the server
    // refused the field without waiting for (or keeping) the rest.
    let status = partial_request(hub.http_addr, &head, &first).await;
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    hub.stop().await;
}

#[tokio::test]
async fn a_form_over_the_body_limit_is_refused_before_it_is_sent() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let head = "POST /partenaires/connexion HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                Content-Type: application/x-www-form-urlencoded\r\n\
                Content-Length: 52428800\r\n\r\n";
    // 128 KiB of a 50 MiB form, and the answer comes.
    let mut first = b"email=a%40b.fr&password=".to_vec();
    first.extend(std::iter::repeat_n(b'x', 128 * 1024));
    let status = partial_request(hub.http_addr, head, &first).await;
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    hub.stop().await;
}

/// A GET from the loopback address `source`: the status.
async fn get_from(source: [u8; 4], addr: SocketAddr, path: &str, headers: &str) -> u16 {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::from((source, 0))).unwrap();
    let mut s = socket.connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw).await;
    String::from_utf8_lossy(&raw)
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn behind_the_trusted_proxy_metrics_go_by_the_forwarded_address_only() {
    let net = Net::new();
    configure(&net, |c| {
        c.trusted_proxy = Some("127.0.0.1".parse().unwrap());
        c.metrics_allow = vec!["192.0.2.7".parse().unwrap()];
    });
    let hub = net.start_hub(None).await;
    let addr = hub.http_addr;
    let proxy = [127, 0, 0, 1];
    for path in ["/metrics", "/sante"] {
        // Through the proxy, for an address not allowed: refused.
        let h = "X-Forwarded-For: 203.0.113.9\r\n";
        assert_eq!(get_from(proxy, addr, path, h).await, 403, "{path}");
        // A first entry the client wrote itself does not count.
        let h = "X-Forwarded-For: 192.0.2.7, 203.0.113.9\r\n";
        assert_eq!(get_from(proxy, addr, path, h).await, 403, "{path}");
        // The proxy sent no header: its client is unknown, refused.
        assert_eq!(get_from(proxy, addr, path, "").await, 403, "{path}");
        // The allowed address, as the proxy appended it.
        let h = "X-Forwarded-For: 203.0.113.9, 192.0.2.7\r\n";
        assert_eq!(get_from(proxy, addr, path, h).await, 200, "{path}");
        // The hub machine itself, not through the proxy.
        assert_eq!(
            get_from([127, 0, 0, 2], addr, path, "").await,
            200,
            "{path}"
        );
        // A forwarding header from a peer that is not the proxy.
        let h = "X-Forwarded-For: 192.0.2.7\r\n";
        assert_eq!(get_from([127, 0, 0, 2], addr, path, h).await, 403, "{path}");
    }
    hub.stop().await;
}

#[tokio::test]
async fn thousands_of_idle_connections_are_closed_and_others_still_served() {
    let net = Net::new();
    configure(&net, |c| {
        c.http_header_timeout = Duration::from_secs(1);
        c.http_max_connections_per_address = 16;
    });
    let hub = net.start_hub(None).await;
    let addr = hub.http_addr;
    // 2,000 connections from 127.0.0.2 that never send a byte.
    let mut idle = Vec::with_capacity(2000);
    for _ in 0..2000 {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from(([127, 0, 0, 2], 0))).unwrap();
        idle.push(socket.connect(addr).await.unwrap());
    }
    // Other clients are served meanwhile.
    for _ in 0..5 {
        assert_eq!(http(addr, "GET", "/healthz", &[], "").await.0, 200);
    }
    // Every idle connection is closed: over the cap at once, the others by
    // the header timeout.
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
    assert_eq!(http(addr, "GET", "/healthz", &[], "").await.0, 200);
    hub.stop().await;
}
