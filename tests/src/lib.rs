//! # passerelle-tests
//!
//! Shared harness for end-to-end tests: a real hub and real nodes on
//! loopback, each in a temporary folder, on ports the OS picks. Tests live
//! in `tests/`; this library only sets them up.
//!
//! - [`oidc`]: a real OpenID Connect provider on loopback, a
//!   browser-like client, captured logs; [`oidc_setup`]: a hub using it.
//! - [`flood`]: QUIC Initial packets that start handshakes and never
//!   finish them.
//! - [`process`]: nodes and hubs in child processes (the real programs),
//!   to kill or freeze for real.
//! - [`relay`]: a UDP relay that loses, delays, reorders, duplicates or
//!   cuts datagrams between a node and the hub.
//! - [`disk`]: a small filesystem to fill (tmpfs, as root).
//! - [`smtp`]: a real SMTP server (aiosmtpd) and a recording SMS
//!   gateway, for codes and notices.
//! - [`vault`]: a person's account, link codes and documents, over HTTP
//!   and the node's admin socket.
//! - [`swarm`]: many light nodes in one process, for the fan-out
//!   benchmark; [`plot`]: its log-log SVG chart.
//!
//! With `PASSERELLE_TEST_PG` set to a PostgreSQL server
//! (`postgresql://USER@HOST:PORT/DATABASE`), every hub a [`Net`] makes
//! keeps its store there, in a schema of its own per network; `.ci/run`
//! runs the suite that way after the run on sled. Tests of sled itself
//! (damaged or full stores, restores into the hub folder) call
//! [`Net::use_sled`].

use std::{future::Future, path::PathBuf, time::Duration};

use passerelle_config::{HubAddr, NodeConfig};
use passerelle_hub::server::{self, HubHandle, Listen};
use passerelle_hub_core::{ops, paths::HubDir};
use passerelle_node::{paths::NodeDir, serve::NodeHandle};
use passerelle_protocol::ids::NodeId;

pub mod browser;
pub mod disk;
pub mod flood;
pub mod oidc;
pub mod oidc_setup;
pub mod plot;
pub mod process;
pub mod relay;
pub mod smtp;
pub mod swarm;
pub mod vault;

/// Installs the crypto provider and a test log subscriber.
pub fn setup() {
    passerelle_certs::install_crypto_provider();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PASSERELLE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

/// Opens a stopped node's or hub's store with sled itself, to damage it on
/// purpose. sled lets the lock of a closed handle go in the background, so
/// this waits (a few seconds at most) for it first, as `Store::open` does.
///
/// # Panics
/// When the store stays held or does not open.
pub fn open_raw_store(store: &std::path::Path) -> sled::Db {
    let free = passerelle_link::lock::wait_until_free(&store.join("db"), Duration::from_secs(5))
        .expect("store lock readable");
    assert!(free, "{}: still held", store.display());
    sled::open(store).expect("store opens")
}

/// Waits until `check` holds, polling, for at most `patience`.
///
/// # Panics
/// When the condition never holds: the test fails with `what`.
pub async fn eventually<F, Fut>(what: &str, patience: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {patience:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A test network: one hub folder and any number of node folders.
pub struct Net {
    /// Keeps the folders alive.
    pub tmp: tempfile::TempDir,
}

impl Net {
    /// A new network with an initialised hub folder.
    pub fn new() -> Self {
        Self::new_with(|_| ())
    }

    /// A new network; `prepare` gets the temporary folder before the hub
    /// folder is made in it (to mount a small filesystem there, say).
    pub fn new_with(prepare: impl FnOnce(&std::path::Path)) -> Self {
        setup();
        let tmp = tempfile::tempdir().expect("tempdir");
        prepare(tmp.path());
        let net = Self { tmp };
        passerelle_hub_core::init::init(
            &HubDir::create(&net.hub_dir()).unwrap(),
            Some("DEETS test".into()),
            Vec::new(),
        )
        .expect("hub init");
        // The tests sign partners in with their password alone unless they
        // set `partner_totp` themselves (tests/tests/partner_accounts.rs).
        net.set_partner_totp(passerelle_config::PartnerTotp::Off);
        // Account creation codes are shown on the page (no SMS nor mail
        // sender in most tests); tests/tests/verified.rs sends them for
        // real.
        net.configure(|c| c.messages.danger_show_codes = true);
        if let Some(url) = test_pg() {
            net.configure(|c| {
                c.store = passerelle_config::StoreConfig::postgres(url, fresh_schema());
                // Each hub keeps few connections: tests run in parallel.
                c.store.connections = std::num::NonZeroU32::new(2).expect("non-zero");
            });
        }
        net
    }

    /// Keeps this network's hub store on sled whatever
    /// `PASSERELLE_TEST_PG` says: for tests of sled itself.
    pub fn use_sled(&self) {
        self.configure(|c| c.store = passerelle_config::StoreConfig::default());
    }

    /// Whether the hub's store is a PostgreSQL database.
    pub fn on_postgres(&self) -> bool {
        let path = self.hub_dir().join("hub.toml");
        passerelle_config::HubConfig::load(&path)
            .expect("hub.toml")
            .store
            .engine
            == passerelle_config::store::Engine::Postgres
    }

    /// A second instance of the hub: a folder of its own with the same
    /// configuration, certificates and keys (so the same database and
    /// schema), without the first folder's store lock, sockets or data
    /// files. Returns its folder.
    pub fn second_instance(&self, name: &str) -> PathBuf {
        let to = self.tmp.path().join(name);
        copy_hub_files(&self.hub_dir(), &to);
        to
    }

    /// Starts the hub instance of folder `root` on free loopback ports.
    pub async fn start_instance(&self, root: &std::path::Path) -> HubHandle {
        let listen = Listen {
            quic: Some("127.0.0.1:0".parse().unwrap()),
            http: Some("127.0.0.1:0".parse().unwrap()),
        };
        server::start(root, listen, false)
            .await
            .expect("hub instance starts")
    }

    /// Changes the hub's configuration file.
    pub fn configure(&self, change: impl FnOnce(&mut passerelle_config::HubConfig)) {
        let path = self.hub_dir().join("hub.toml");
        let mut c = passerelle_config::HubConfig::load(&path).expect("hub.toml");
        change(&mut c);
        std::fs::write(&path, c.template()).expect("hub.toml written");
    }

    /// Writes catalog files (name, text) into the hub's `catalogue` folder
    /// and points `catalog_dir` at it.
    pub fn catalog(&self, files: &[(&str, &str)]) {
        let dir = self.hub_dir().join("catalogue");
        std::fs::create_dir_all(&dir).expect("catalog folder");
        for (name, text) in files {
            std::fs::write(dir.join(name), text).expect("catalog file");
        }
        self.configure(|c| c.catalog_dir = Some(dir));
    }

    /// Writes `partner_totp` into the hub's configuration.
    pub fn set_partner_totp(&self, value: passerelle_config::PartnerTotp) {
        let path = self.hub_dir().join("hub.toml");
        let mut c = passerelle_config::HubConfig::load(&path).expect("hub.toml");
        c.partner_totp = value;
        std::fs::write(&path, c.template()).expect("hub.toml written");
    }

    /// The hub folder.
    pub fn hub_dir(&self) -> PathBuf {
        self.tmp.path().join("hub")
    }

    /// A node folder.
    pub fn node_dir(&self, id: &str) -> PathBuf {
        self.tmp.path().join("nodes").join(id)
    }

    /// Starts the hub on free loopback ports (or the given QUIC address).
    pub async fn start_hub(&self, quic: Option<std::net::SocketAddr>) -> HubHandle {
        let listen = Listen {
            quic: Some(quic.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap())),
            http: Some("127.0.0.1:0".parse().unwrap()),
        };
        server::start(&self.hub_dir(), listen, false)
            .await
            .expect("hub starts")
    }

    /// Issues a token on the running hub.
    pub fn token(&self, hub: &HubHandle, id: &str) -> String {
        ops::issue_token(
            &hub.ctx().hub,
            &NodeId::new(id).unwrap(),
            &format!("Institution {id}"),
            passerelle_link::now(),
        )
        .expect("token")
    }

    /// Enrolls a node through the real token flow and tunes its link for
    /// quick reconnection in tests.
    pub async fn enroll(&self, hub: &HubHandle, id: &str) -> PathBuf {
        let token = self.token(hub, id);
        self.enroll_at(hub_addr(hub), &token, id).await
    }

    /// Enrolls a node with a hub at `hub` (running in this process or
    /// another) with `token`, and tunes its link for quick reconnection.
    pub async fn enroll_at(&self, hub: HubAddr, token: &str, id: &str) -> PathBuf {
        let root = self.node_dir(id);
        let dir = NodeDir::create(&root).expect("node folder");
        passerelle_node::enroll::init(&dir, hub, token)
            .await
            .expect("enrollment");
        let path = root.join("node.toml");
        let mut config = NodeConfig::load(&path).unwrap();
        config.link.reconnect_min = Duration::from_millis(50);
        config.link.reconnect_max = Duration::from_millis(300);
        std::fs::write(&path, config.template()).unwrap();
        root
    }

    /// Runs `node init` in `root` against the running hub.
    pub async fn init_node(
        &self,
        hub: &HubHandle,
        root: &std::path::Path,
        token: &str,
    ) -> Result<passerelle_node::enroll::Enrolled, passerelle_node::NodeError> {
        let dir = NodeDir::create(root)?;
        passerelle_node::enroll::init(&dir, hub_addr(hub), token).await
    }

    /// Enrolls and starts a node, and waits until the hub lists it connected.
    pub async fn node(&self, hub: &HubHandle, id: &str) -> NodeHandle {
        let root = self.enroll(hub, id).await;
        let node = passerelle_node::serve::start(&root)
            .await
            .expect("node starts");
        wait_connected(hub, id).await;
        node
    }
}

/// The PostgreSQL server the tests use, if any (`PASSERELLE_TEST_PG`).
pub fn test_pg() -> Option<String> {
    std::env::var("PASSERELLE_TEST_PG")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

/// A schema name no other test uses.
pub fn fresh_schema() -> String {
    let bytes = passerelle_link::random16();
    format!(
        "t_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// Copies a hub folder's own files (configuration, certificates, keys,
/// catalog) into `to`: not its store, lock, sockets or data folders.
fn copy_hub_files(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let ty = e.file_type().unwrap();
        if ty.is_file()
            && !name.ends_with(".lock")
            && !name.ends_with(".sock")
            && !name.starts_with('.')
        {
            std::fs::copy(e.path(), to.join(&*name)).unwrap();
        }
    }
}

impl Default for Net {
    fn default() -> Self {
        Self::new()
    }
}

/// The hub's address as nodes write it.
pub fn hub_addr(hub: &HubHandle) -> HubAddr {
    format!("127.0.0.1:{}", hub.quic_addr.port())
        .parse()
        .unwrap()
}

/// Waits until the hub has a live connection from `id` and knows the
/// protocol version it speaks (from its first status reply).
pub async fn wait_connected(hub: &HubHandle, id: &str) {
    let id = NodeId::new(id).unwrap();
    eventually(&format!("{id} connected"), Duration::from_secs(10), || {
        let ok = hub
            .live(&id)
            .is_some_and(|l| l.protocol() == passerelle_protocol::PROTOCOL_VERSION);
        async move { ok }
    })
    .await;
}

/// Rows of a small records dataset `personnes_recues` (commune, period,
/// sex), generated from a seed, with many small cells.
pub fn rows(seed: u64, periods: &[&str]) -> Vec<(String, String, &'static str)> {
    let mut x = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut next = move |n: u64| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) % n
    };
    let mut out = Vec::new();
    for p in periods {
        for c in &passerelle_protocol::geo::COMMUNES {
            // Half the communes get a handful of people, the rest dozens.
            let n = if next(2) == 0 {
                next(12)
            } else {
                15 + next(60)
            };
            for _ in 0..n {
                out.push((
                    c.code.to_string(),
                    p.to_string(),
                    if next(2) == 0 { "F" } else { "M" },
                ));
            }
        }
    }
    out
}

/// The CSV text of [`rows`].
pub fn rows_csv(rows: &[(String, String, &'static str)]) -> String {
    let mut s = String::from("code_commune,periode,sexe\n");
    for (c, p, x) in rows {
        s.push_str(&format!("{c},{p},{x}\n"));
    }
    s
}

/// A catalog entry summing the test nodes' `personnes_recues`, in total
/// and by sex (the test nodes share that breakdown), as catalog text.
pub fn by_sex(id: &str, title: &str) -> String {
    format!(
        r#"
[[indicator]]
id = "{id}"
title = "{title}"
theme = "activite"
unit = "personnes"
definition = "Personnes reçues, en tout et par sexe."
sources = ["Associations test"]
frequency = "trimestrielle"
formula = "sum"
numerator = ["personnes_recues"]
by = ["sexe"]
"#
    )
}

/// The `personnes_recues` declaration and a policy sharing it.
pub fn recues_config(
    validation: bool,
) -> (
    Vec<passerelle_config::dataset::DatasetConfig>,
    passerelle_config::dataset::PolicyConfig,
) {
    use passerelle_config::dataset::*;
    let d = DatasetConfig {
        name: "personnes_recues".into(),
        title: Some("Personnes reçues (test)".into()),
        kind: DatasetKind::Records,
        commune: "code_commune".into(),
        period: "periode".into(),
        count_column: None,
        dimensions: vec![DimensionConfig {
            column: "sexe".into(),
            kind: DimensionKind::Sex,
            values: vec![],
        }],
        measures: vec![],
        require_validation: validation,
        drop_folder: None,
    };
    let p = PolicyConfig {
        share: vec![ShareConfig {
            dataset: "personnes_recues".into(),
            by: vec!["sexe".into()],
            measures: vec![],
            levels: passerelle_protocol::geo::Level::ALL.to_vec(),
        }],
        ..PolicyConfig::default()
    };
    (vec![d], p)
}

impl Net {
    /// Enrolls a node, declares `personnes_recues` and imports `csv` (when
    /// given), without starting it; returns its folder.
    pub async fn data_node_dir(
        &self,
        hub: &HubHandle,
        id: &str,
        csv: Option<&str>,
        validation: bool,
    ) -> PathBuf {
        let root = self.claiming_node_dir(hub, id, csv, validation).await;
        approve(hub, id, "personnes_recues");
        root
    }

    /// [`Net::data_node_dir`] without the operator's approval: the node
    /// claims `personnes_recues`, and is not asked for it until allowed.
    pub async fn claiming_node_dir(
        &self,
        hub: &HubHandle,
        id: &str,
        csv: Option<&str>,
        validation: bool,
    ) -> PathBuf {
        let root = self.enroll(hub, id).await;
        declare_and_import(&root, csv, validation);
        root
    }

    /// Enrolls a node, declares `personnes_recues`, imports `csv` (when
    /// given), starts it and waits until the hub knows its datasets.
    pub async fn data_node(
        &self,
        hub: &HubHandle,
        id: &str,
        csv: Option<&str>,
        validation: bool,
    ) -> NodeHandle {
        let root = self.data_node_dir(hub, id, csv, validation).await;
        let node = passerelle_node::serve::start(&root)
            .await
            .expect("node starts");
        wait_connected(hub, id).await;
        if csv.is_some() && !validation {
            wait_datasets(hub, id).await;
        }
        node
    }
}

/// Declares `personnes_recues` in an enrolled node folder and imports
/// `csv` (when given) as agent-a.
///
/// # Panics
/// When the folder or the import fails.
pub fn declare_and_import(root: &std::path::Path, csv: Option<&str>, validation: bool) {
    let path = root.join("node.toml");
    let mut config = NodeConfig::load(&path).unwrap();
    (config.datasets, config.policy) = recues_config(validation);
    std::fs::write(&path, config.template()).unwrap();
    if let Some(csv) = csv {
        let file = root.join("recues.csv");
        std::fs::write(&file, csv).unwrap();
        let store = passerelle_node::store::Store::open(&root.join("store")).unwrap();
        passerelle_node::batches::import_file(
            &config,
            &store,
            "personnes_recues",
            &file,
            "agent-a",
            passerelle_link::now(),
            &mut |_| {},
        )
        .unwrap();
    }
}

/// The hub operator allows node `id` to provide `dataset`, as
/// `passerelle-hub datasets allow` does.
///
/// # Panics
/// When the node is not enrolled.
pub fn approve(hub: &HubHandle, id: &str, dataset: &str) {
    passerelle_hub_core::providers::decide(
        &hub.ctx().hub.store,
        &NodeId::new(id).unwrap(),
        dataset,
        passerelle_hub_core::providers::Decision::Allowed,
        passerelle_link::now(),
    )
    .expect("provider approved");
}

/// Waits until the hub knows the datasets a node reported.
pub async fn wait_datasets(hub: &HubHandle, id: &str) {
    let nid = NodeId::new(id).unwrap();
    let store = hub.ctx().hub.store.clone();
    eventually("datasets reported", Duration::from_secs(10), || {
        let ok = store
            .node(&nid)
            .ok()
            .flatten()
            .is_some_and(|n| !n.datasets.is_empty());
        async move { ok }
    })
    .await;
}

/// A TLS client that trusts `cert` only.
pub fn tls_client(cert: &rcgen::Certificate) -> std::sync::Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).unwrap();
    std::sync::Arc::new(
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

/// GET `path` over TLS from a server on loopback whose certificate is
/// `cert` (for `127.0.0.1`): the whole response, as text.
pub async fn https_get(
    addr: std::net::SocketAddr,
    cert: &rcgen::Certificate,
    path: &str,
) -> String {
    let config = tls_client(cert);
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let conn = rustls::ClientConnection::new(config, name).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, std::net::TcpStream::connect(addr).unwrap());
        tls.write_all(request.as_bytes()).unwrap();
        let mut out = Vec::new();
        let _ = tls.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    })
    .await
    .unwrap()
}

/// A plain HTTP/1.1 GET on loopback: status, headers (lower-case names) and
/// body.
pub async fn http_get(
    addr: std::net::SocketAddr,
    path: &str,
) -> (u16, Vec<(String, String)>, String) {
    http(addr, "GET", path, &[], "").await
}

/// A plain HTTP/1.1 request; `form` is sent as an urlencoded body.
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    form: &str,
) -> (u16, Vec<(String, String)>, String) {
    let (status, headers, body) = http_bytes(addr, method, path, headers, form.as_bytes()).await;
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// A plain HTTP/1.1 request with a body of bytes; the reply's body as
/// bytes (chunked transfer decoded).
pub async fn http_bytes(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    http_bytes_from(None, addr, method, path, headers, body).await
}

/// As [`http_bytes`], from the loopback address `source` when given
/// (e.g. 127.0.0.7: the portal sees a different client).
pub async fn http_bytes_from(
    source: Option<std::net::IpAddr>,
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = match source {
        None => tokio::net::TcpStream::connect(addr).await,
        Some(ip) => {
            let socket = tokio::net::TcpSocket::new_v4().expect("tcp socket");
            socket
                .bind(std::net::SocketAddr::new(ip, 0))
                .expect("bind the source address");
            socket.connect(addr).await
        }
    }
    .expect("connect to the portal");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if method == "POST" {
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            req.push_str("Content-Type: application/x-www-form-urlencoded\r\n");
        }
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    // The server may answer (and close) before reading a refused body.
    let _ = s.write_all(body).await;
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw).await;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = raw.get(split + 4..).unwrap_or(&[]).to_vec();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect::<Vec<_>>();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked { dechunk(&body) } else { body };
    (status, headers, body)
}

fn dechunk(mut s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(at) = s.windows(2).position(|w| w == b"\r\n") {
        let size = String::from_utf8_lossy(&s[..at]);
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        let rest = &s[at + 2..];
        out.extend_from_slice(rest.get(..n).unwrap_or(rest));
        s = rest.get(n + 2..).unwrap_or(&[]);
    }
    out
}

/// A multipart/form-data body: `(name, file name if a file, bytes)`.
/// Returns the content-type header value and the body.
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "passerelle-test-boundary-7f3a";
    let mut body = Vec::new();
    for (name, file, bytes) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match file {
            Some(f) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
            ),
            None => body.extend_from_slice(format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes()),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The value of a cookie a response sets.
pub fn set_cookie(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .find_map(|(_, v)| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or("").to_string())
}

/// The value of a hidden form field named `name` in a page.
pub fn hidden_field(page: &str, name: &str) -> Option<String> {
    let at = page.find(&format!("name=\"{name}\" value=\""))?;
    let rest = &page[at + name.len() + 15..];
    Some(rest[..rest.find('"')?].to_string())
}

/// The catalog entry of an indicator of the running hub.
pub fn indicator(hub: &HubHandle, id: &str) -> passerelle_observatory::catalog::Indicator {
    hub.ctx()
        .observatory
        .indicator(id)
        .unwrap_or_else(|| panic!("no indicator {id}"))
        .clone()
}

/// Recomposes an indicator from the connected nodes now: what was
/// composed, whether it was published or kept as a draft.
pub async fn refresh(hub: &HubHandle, id: &str) -> passerelle_observatory::IndicatorResult {
    refresh_decided(hub, id).await.into_result()
}

/// Recomposes an indicator from the connected nodes now, and says whether
/// the result was published or kept as a draft.
pub async fn refresh_decided(
    hub: &HubHandle,
    id: &str,
) -> passerelle_observatory::publish::Decision {
    passerelle_observatory::refresh::refresh(
        &hub.ctx().observatory,
        &hub.ctx().fed,
        &indicator(hub, id),
    )
    .await
    .expect("refresh")
}
