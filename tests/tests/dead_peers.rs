//! Dead peers are noticed fast: a node process killed or frozen is
//! dropped by the hub within seconds (not at the 30 s idle timeout),
//! queries skip it at once with a stated reason, and a download through
//! the hub fails promptly and visibly (an error page before the first
//! byte, an incomplete body after it; never a 404, never a hang).
//!
//! The hub runs in this process; each node runs in a child process (the
//! `passerelle-node` program, see `passerelle_tests::process`) so it can
//! be SIGKILLed or SIGSTOPped for real.

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use passerelle_config::HubConfig;
use passerelle_hub::admin;
use passerelle_protocol::ids::NodeId;
use passerelle_tests::{
    eventually, http, node_exe,
    process::NodeProcess,
    refresh,
    relay::Relay,
    rows, rows_csv,
    vault::{add_document, create_account, link, pdf},
    wait_connected, wait_datasets, Net,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long a node may take to answer: long, so that a test finishing
/// well within it shows the liveness check, not the timeout, at work.
const QUERY_TIMEOUT: Duration = Duration::from_secs(30);
/// The bound on noticing a dead node (dead after 3 s by default).
const NOTICED: Duration = Duration::from_secs(8);

fn slow_query_timeout(net: &Net) {
    let path = net.hub_dir().join("hub.toml");
    let mut config = HubConfig::load(&path).unwrap();
    config.query_timeout = QUERY_TIMEOUT;
    std::fs::write(&path, config.template()).unwrap();
}

async fn listed_connected(net: &Net, id: &str) -> bool {
    let admin::Response::Nodes(rows) = admin::request(&net.hub_dir(), admin::Request::Nodes)
        .await
        .unwrap()
    else {
        panic!("unexpected reply")
    };
    rows.iter().any(|r| r.node_id == id && r.connected)
}

/// Why a refresh result says a node's contribution is missing.
fn missing_because(result: &passerelle_observatory::IndicatorResult, node: &str) -> String {
    result
        .coverage
        .failed
        .iter()
        .find(|f| f.node_id == node)
        .unwrap_or_else(|| panic!("{node} is not named: {:?}", result.coverage))
        .reason
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_node_is_dropped_within_seconds_and_refreshes_do_not_wait_for_it() {
    let net = Net::new();
    slow_query_timeout(&net);
    let hub = net.start_hub(None).await;
    let csv = rows_csv(&rows(1, &["2025-T1"]));
    let root = net.data_node_dir(&hub, "asso-a", Some(&csv), false).await;
    let mut node = NodeProcess::spawn(node_exe!(), &root);
    wait_connected(&hub, "asso-a").await;
    wait_datasets(&hub, "asso-a").await;
    let id = NodeId::new("asso-a").unwrap();
    assert!(listed_connected(&net, "asso-a").await);
    let before = refresh(&hub, "personnes-recues").await;
    assert!(before.coverage.complete(), "{:?}", before.coverage);

    node.kill();
    let killed = Instant::now();
    // A refresh that starts at once asks the node, which never answers:
    // the liveness check cuts the question short when it finds the link
    // silent, long before the query timeout.
    let (during, ()) = tokio::join!(
        async {
            let r = refresh(&hub, "personnes-recues").await;
            (r, killed.elapsed())
        },
        eventually("the hub drops the killed node", NOTICED, || {
            let gone = hub.live(&id).is_none();
            async move { gone }
        })
    );
    let (result, took) = during;
    assert!(
        took < QUERY_TIMEOUT / 3,
        "refresh took {took:?}; the query timeout is {QUERY_TIMEOUT:?}"
    );
    let why = missing_because(&result, "asso-a");
    assert!(why.contains("not connected"), "{why}");
    assert!(!listed_connected(&net, "asso-a").await);

    // Once dropped, the node is skipped without a question.
    let started = Instant::now();
    let after = refresh(&hub, "personnes-recues").await;
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(missing_because(&after, "asso-a"), "not connected");
    hub.stop().await;
}

/// A download read at the client's pace: the response head and the first
/// body bytes, the rest when asked.
struct Download {
    stream: tokio::net::TcpStream,
    head: String,
    body: u64,
}

impl Download {
    /// Sends the request on a socket with a small receive buffer (so the
    /// transfer waits for the reader) and reads until the first body bytes.
    async fn start(addr: SocketAddr, path: &str, cookie: &str) -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(64 * 1024).unwrap();
        let mut stream = socket.connect(addr).await.unwrap();
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "the response ended before its body");
            raw.extend_from_slice(&buf[..n]);
            if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                if raw.len() > at + 4 {
                    let head = String::from_utf8_lossy(&raw[..at]).into_owned();
                    let body = (raw.len() - at - 4) as u64;
                    return Self { stream, head, body };
                }
            }
        }
    }

    /// The announced length.
    fn content_length(&self) -> u64 {
        self.head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .expect("a content-length")
    }

    /// Reads to the end (or a connection error); the body bytes received.
    async fn finish(mut self) -> u64 {
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match self.stream.read(&mut buf).await {
                Ok(0) | Err(_) => return self.body,
                Ok(n) => self.body += n as u64,
            }
        }
    }
}

/// A node process holding a document far larger than the link, the hub
/// and the sockets hold in flight, for a person signed in on the portal.
struct BigDocument {
    node: NodeProcess,
    cookie: String,
    /// The download's address on the portal.
    path: String,
    size: u64,
}

async fn big_document(net: &Net, hub: &passerelle_hub::server::HubHandle) -> BigDocument {
    let root = net.enroll(hub, "caf-976").await;
    let node = NodeProcess::spawn(node_exe!(), &root);
    wait_connected(hub, "caf-976").await;
    let cookie = create_account(hub, "0639123456", "motdepasse-awa").await;
    link(hub, &cookie, &root, "CAF-123").await;
    let files = tempfile::tempdir().unwrap();
    let big = pdf(b"GROS-DOCUMENT", 32 * 1024);
    let doc = add_document(
        &root,
        files.path(),
        "CAF-123",
        "social-rights",
        "gros.pdf",
        &big,
    )
    .await;
    BigDocument {
        node,
        cookie,
        path: format!("/coffre/institution/caf-976/{doc}"),
        size: big.len() as u64,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_from_a_frozen_or_killed_node_fail_within_seconds_and_visibly() {
    let net = Net::new();
    slow_query_timeout(&net);
    let hub = net.start_hub(None).await;
    let BigDocument {
        mut node,
        cookie,
        path,
        size,
    } = big_document(&net, &hub).await;
    let id = NodeId::new("caf-976").unwrap();

    // Frozen before the first byte: an error page in French, 502 or 504,
    // as soon as the hub finds the link silent.
    node.signal("STOP");
    let frozen = Instant::now();
    let (status, _, page) = http(hub.http_addr, "GET", &path, &[("Cookie", &cookie)], "").await;
    assert!(
        frozen.elapsed() < NOTICED,
        "answered after {:?}",
        frozen.elapsed()
    );
    assert!(status == 502 || status == 504, "{status}: {page}");
    assert!(page.contains("Document indisponible"), "{page}");
    assert!(page.contains("Réessayez plus tard"), "{page}");

    // Thawed, the node finds its link closed and reconnects by itself.
    node.signal("CONT");
    wait_connected(&hub, "caf-976").await;

    // Killed mid-transfer: the body ends short, within seconds.
    let download = Download::start(hub.http_addr, &path, &cookie).await;
    assert!(
        download.head.starts_with("HTTP/1.1 200"),
        "{}",
        download.head
    );
    assert_eq!(download.content_length(), size);
    node.kill();
    let killed = Instant::now();
    let got = tokio::time::timeout(QUERY_TIMEOUT, download.finish())
        .await
        .expect("the download hangs");
    assert!(
        killed.elapsed() < NOTICED,
        "ended after {:?}",
        killed.elapsed()
    );
    assert!(
        got < size,
        "the whole document arrived before the kill: {got} bytes"
    );

    // Asked after the node died: 502 with a French page, never a 404.
    eventually("the hub drops the killed node", NOTICED, || {
        let gone = hub.live(&id).is_none();
        async move { gone }
    })
    .await;
    let (status, _, page) = http(hub.http_addr, "GET", &path, &[("Cookie", &cookie)], "").await;
    assert_eq!(status, 502, "{page}");
    assert!(
        page.contains("Cette institution ne répond pas pour le moment"),
        "{page}"
    );
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_that_stops_making_progress_ends_at_the_stall_deadline() {
    let net = Net::new();
    // The liveness check is made slow here, so that only the per-read
    // deadline (stall_timeout, 5 s by default) can end the transfer.
    let toml = net.hub_dir().join("hub.toml");
    let mut config = HubConfig::load(&toml).unwrap();
    config.query_timeout = QUERY_TIMEOUT;
    config.dead_after = Duration::from_secs(120);
    std::fs::write(&toml, config.template()).unwrap();
    let hub = net.start_hub(None).await;
    let doc = big_document(&net, &hub).await;

    let download = Download::start(hub.http_addr, &doc.path, &doc.cookie).await;
    assert!(
        download.head.starts_with("HTTP/1.1 200"),
        "{}",
        download.head
    );
    doc.node.signal("STOP");
    let frozen = Instant::now();
    let got = tokio::time::timeout(QUERY_TIMEOUT, download.finish())
        .await
        .expect("the download hangs");
    let took = frozen.elapsed();
    // Not before the deadline (less the moment a read may already have
    // been waiting when the node froze), and soon after it.
    let (stall, margin) = (config.stall_timeout, Duration::from_secs(1));
    assert!(
        took + margin >= stall && took < stall + 5 * margin,
        "ended after {took:?}"
    );
    assert!(got < doc.size, "the whole document arrived: {got} bytes");
    let id = NodeId::new("caf-976").unwrap();
    assert!(
        hub.live(&id).is_some(),
        "the liveness check acted, not the stall deadline"
    );
    hub.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_link_is_noticed_on_both_sides_within_seconds_and_the_node_comes_back() {
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let root = net.enroll(&hub, "caf-976").await;
    let relay = Relay::start(hub.quic_addr, 12).await;
    let path = root.join("node.toml");
    let mut config = passerelle_config::NodeConfig::load(&path).unwrap();
    config.hub = format!("127.0.0.1:{}", relay.addr.port()).parse().unwrap();
    std::fs::write(&path, config.template()).unwrap();
    let node = passerelle_node::serve::start(&root).await.unwrap();
    wait_connected(&hub, "caf-976").await;
    let id = NodeId::new("caf-976").unwrap();

    relay.cut(true);
    eventually("both sides notice the cut", NOTICED, || {
        let done = hub.live(&id).is_none() && !node.link().connected;
        async move { done }
    })
    .await;
    let why = node.link().last_error.unwrap_or_default();
    assert!(why.contains("the hub stopped answering"), "{why}");

    // The network is back: the node reconnects by itself.
    relay.cut(false);
    eventually("the node reconnects", Duration::from_secs(20), || {
        let up = hub
            .live(&id)
            .is_some_and(|l| l.protocol() == passerelle_protocol::PROTOCOL_VERSION);
        async move { up }
    })
    .await;
    node.stop().await;
    hub.stop().await;
}
