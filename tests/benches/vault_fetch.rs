//! Benchmark: a 50 MB document fetched from a node through the hub by an
//! HTTPS client, side by side with the same file downloaded over HTTPS
//! from nginx on the same machine (or, without nginx, from a minimal
//! rustls file server in this process).
//!
//! Path through the hub: curl → hub portal (HTTPS) → signed query over
//! the node's mutual-TLS QUIC link → node opens the sealed file chunk by
//! chunk → bytes stream back, hashed by the hub on the way.
//!
//! Run: `cargo bench -p passerelle-tests --bench vault_fetch` (needs curl;
//! nginx optional). Nine alternating rounds; medians and their ratio.

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

use passerelle_node::admin::{self as node_admin, Request as NodeRequest};
use passerelle_tests::Net;

const SIZE: usize = 50 * 1024 * 1024;
const ROUNDS: usize = 9;

fn curl(url: &str, cookie: Option<&str>) -> f64 {
    let mut cmd = Command::new("curl");
    cmd.args(["-sk", "--fail", "-o", "/dev/null", "-w", "%{size_download}"]);
    if let Some(c) = cookie {
        cmd.args(["-b", c]);
    }
    let start = Instant::now();
    let out = cmd.arg(url).output().expect("curl runs");
    let secs = start.elapsed().as_secs_f64();
    let got: usize = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0);
    assert!(
        out.status.success() && got == SIZE,
        "{url}: {got} bytes, {}",
        String::from_utf8_lossy(&out.stderr)
    );
    SIZE as f64 / secs / 1e6
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn write_tls(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let ck =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let (cert, key) = (dir.join("bench.crt"), dir.join("bench.key"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    (cert, key)
}

/// nginx serving `file` over HTTPS on a free port; `None` without nginx.
fn nginx(work: &Path, file: &Path, cert: &Path, key: &Path) -> Option<(u16, std::process::Child)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let conf = work.join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "worker_processes 2; pid {w}/nginx.pid; error_log {w}/nginx-error.log; daemon off;\n\
events {{ worker_connections 64; }}\n\
http {{ access_log off; sendfile on; server {{ listen 127.0.0.1:{port} ssl; ssl_certificate {c}; ssl_certificate_key {k};\n\
location / {{ root {d}; }} }} }}\n",
            w = work.display(),
            c = cert.display(),
            k = key.display(),
            d = file.parent().unwrap().display()
        ),
    )
    .ok()?;
    let child = Command::new("nginx")
        .arg("-c")
        .arg(&conf)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    std::thread::sleep(Duration::from_millis(500));
    Some((port, child))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let net = Net::new();
    let work = net.tmp.path().join("bench");
    std::fs::create_dir_all(work.join("www")).unwrap();
    let (cert, key) = write_tls(&work);
    // The hub serves its portal over HTTPS, like the baseline.
    let hub_toml = net.hub_dir().join("hub.toml");
    let mut config = passerelle_config::HubConfig::load(&hub_toml).unwrap();
    config.https_cert = Some(cert.clone());
    config.https_key = Some(key.clone());
    std::fs::write(&hub_toml, config.template()).unwrap();
    let hub = net.start_hub(None).await;
    let node = net.node(&hub, "caf-976").await;
    let root = net.node_dir("caf-976");

    let mut doc = b"%PDF-1.4\n".to_vec();
    let mut x = 0x9E37_79B9_u32;
    while doc.len() < SIZE - 6 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        doc.extend_from_slice(&x.to_le_bytes());
    }
    doc.truncate(SIZE - 6);
    doc.extend_from_slice(b"%%EOF\n");
    let file = work.join("www").join("document.pdf");
    std::fs::write(&file, &doc).unwrap();

    let ctx = hub.ctx().clone();
    let created = passerelle_vault::accounts::create(
        &ctx.vault().store,
        "0639000000",
        "banc-d-essai",
        None,
        0,
    )
    .unwrap();
    let (code, _) = passerelle_vault::links::new_code(
        &ctx.vault().store,
        &created.account.id,
        passerelle_link::now(),
    )
    .unwrap();
    node_admin::request(
        &root,
        NodeRequest::Link {
            local_id: "P1".into(),
            code,
            by: "bench".into(),
        },
        &mut |_| {},
    )
    .await
    .unwrap();
    let id = match node_admin::request(
        &root,
        NodeRequest::DocumentAdd {
            local_id: "P1".into(),
            category: "resources".into(),
            path: file.clone(),
            by: "bench".into(),
        },
        &mut |_| {},
    )
    .await
    .unwrap()
    {
        node_admin::Response::Document(d) => d.id,
        other => panic!("{other:?}"),
    };
    let (token, _) = ctx.portal.person_sessions.open(
        &created.account,
        created.key,
        passerelle_link::now(),
        3600,
    );
    let cookie = format!("pv_session={token}");
    let through = format!(
        "https://127.0.0.1:{}/coffre/institution/caf-976/{id}",
        hub.http_addr.port()
    );

    let mut baseline_name = "nginx (HTTPS, 2 workers)";
    let (direct_url, mut child, server) = match nginx(&work, &file, &cert, &key) {
        Some((port, child)) => (
            format!("https://127.0.0.1:{port}/document.pdf"),
            Some(child),
            None,
        ),
        None => {
            baseline_name = "in-process rustls file server";
            let (port, task) = rustls_server(&cert, &key, doc.clone()).await;
            (
                format!("https://127.0.0.1:{port}/document.pdf"),
                None,
                Some(task),
            )
        }
    };

    // The link alone: the hub drains the document from the node (QUIC,
    // at-rest decryption, hashing), no HTTP.
    let live = hub
        .live(&passerelle_protocol::ids::NodeId::new("caf-976").unwrap())
        .unwrap();
    let person = passerelle_vault::links::pseudonym(
        &ctx.vault().store,
        &created.account.id,
        &live.identity.node_id,
    )
    .unwrap();
    let mut link_rates = Vec::new();
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let incoming = passerelle_hub_core::federation::fetch(
            &live,
            &ctx.hub.key,
            person.clone(),
            id.clone(),
            passerelle_protocol::vault::Requester::Person,
            Duration::from_secs(60),
            Duration::from_secs(60),
        )
        .await
        .unwrap()
        .unwrap();
        let mut incoming = incoming;
        while let Some(c) = incoming.next_chunk().await {
            c.unwrap();
        }
        assert_eq!(incoming.received() as usize, SIZE);
        link_rates.push(SIZE as f64 / start.elapsed().as_secs_f64() / 1e6);
    }

    let nginx_pid = child.as_ref().map(std::process::Child::id);
    let rounds = |through: String, cookie: String, direct: String| async move {
        let (mut hub_rates, mut direct_rates) = (Vec::new(), Vec::new());
        let (mut hub_cpu, mut direct_cpu) = (Cpu::default(), Cpu::default());
        for _ in 0..ROUNDS {
            let (u, c) = (through.clone(), cookie.clone());
            let before = Cpu::now(nginx_pid);
            hub_rates.push(
                tokio::task::spawn_blocking(move || curl(&u, Some(&c)))
                    .await
                    .unwrap(),
            );
            hub_cpu.add(Cpu::now(nginx_pid) - before);
            let u = direct.clone();
            let before = Cpu::now(nginx_pid);
            direct_rates.push(
                tokio::task::spawn_blocking(move || curl(&u, None))
                    .await
                    .unwrap(),
            );
            direct_cpu.add(Cpu::now(nginx_pid) - before);
        }
        (hub_rates, direct_rates, hub_cpu, direct_cpu)
    };
    println!("50 MB document, {ROUNDS} alternating rounds each, curl on loopback; baseline: {baseline_name}");
    let (hub_rates, direct_rates, hub_cpu, direct_cpu) =
        rounds(through, cookie, direct_url.clone()).await;
    let (h, d) = (median(hub_rates.clone()), median(direct_rates.clone()));
    println!("through the hub, portal over HTTPS: median {h:.0} MB/s  {hub_rates:.0?}");
    println!("direct over HTTPS:                  median {d:.0} MB/s  {direct_rates:.0?}");
    println!("ratio hub(HTTPS) / direct(HTTPS): {:.2}", h / d);
    hub_cpu.print("through the hub (HTTPS)", nginx_pid.is_some());
    direct_cpu.print("direct (HTTPS)", nginx_pid.is_some());
    println!(
        "link alone (node → hub over QUIC, no HTTP): median {:.0} MB/s",
        median(link_rates)
    );

    // The portal in plain HTTP, as behind a reverse proxy that terminates
    // TLS on another machine: same node, same link.
    let quic = hub.quic_addr;
    drop(live);
    drop(ctx);
    hub.stop().await;
    config.https_cert = None;
    config.https_key = None;
    std::fs::write(&hub_toml, config.template()).unwrap();
    let hub = net.start_hub(Some(quic)).await;
    passerelle_tests::wait_connected(&hub, "caf-976").await;
    let ctx = hub.ctx().clone();
    let (account, key) =
        passerelle_vault::accounts::sign_in(&ctx.vault().store, "0639000000", "banc-d-essai")
            .unwrap()
            .unwrap();
    let (token, _) = ctx
        .portal
        .person_sessions
        .open(&account, key, passerelle_link::now(), 3600);
    let through = format!(
        "http://127.0.0.1:{}/coffre/institution/caf-976/{id}",
        hub.http_addr.port()
    );
    let (hub_rates, direct_rates, hub_cpu, direct_cpu) =
        rounds(through, format!("pv_session={token}"), direct_url).await;
    let (h, d) = (median(hub_rates.clone()), median(direct_rates.clone()));
    println!("through the hub, portal over HTTP:  median {h:.0} MB/s  {hub_rates:.0?}");
    println!("direct over HTTPS:                  median {d:.0} MB/s  {direct_rates:.0?}");
    println!("ratio hub(HTTP) / direct(HTTPS): {:.2}", h / d);
    hub_cpu.print("through the hub (HTTP)", nginx_pid.is_some());
    direct_cpu.print("direct (HTTPS)", nginx_pid.is_some());

    if let Some(c) = child.as_mut() {
        // SIGTERM: the master stops its workers too (SIGKILL would orphan them).
        let _ = Command::new("kill").arg(c.id().to_string()).status();
        let _ = c.wait();
    }
    if let Some(t) = server {
        t.abort();
    }
    drop(ctx);
    node.stop().await;
    hub.stop().await;
}

/// CPU time spent while documents were fetched: this process (the hub and
/// the node), curl (finished children), nginx's workers.
#[derive(Debug, Clone, Copy, Default)]
struct Cpu {
    this: Duration,
    curl: Duration,
    nginx: Duration,
    fetches: u32,
}

impl Cpu {
    fn now(nginx: Option<u32>) -> Self {
        use passerelle_tests::swarm::rusage;
        let workers = nginx.map_or(Duration::ZERO, |m| {
            std::fs::read_to_string(format!("/proc/{m}/task/{m}/children"))
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .map(passerelle_tests::swarm::cpu)
                .sum()
        });
        Self {
            this: rusage(libc::RUSAGE_SELF),
            curl: rusage(libc::RUSAGE_CHILDREN),
            nginx: workers,
            fetches: 0,
        }
    }

    fn add(&mut self, d: Self) {
        self.this += d.this;
        self.curl += d.curl;
        self.nginx += d.nginx;
        self.fetches += 1;
    }

    /// CPU milliseconds per MB on each side, and in all.
    fn print(&self, what: &str, nginx: bool) {
        let mb = f64::from(self.fetches) * SIZE as f64 / 1e6;
        let ms = |d: Duration| d.as_secs_f64() * 1e3 / mb;
        let server = if nginx { "nginx" } else { "file server" };
        println!(
            "  CPU per MB, {what}: hub and node {:.2} ms, {server} {:.2} ms, curl {:.2} ms; in all {:.2} ms",
            ms(self.this),
            ms(self.nginx),
            ms(self.curl),
            ms(self.this + self.curl + self.nginx)
        );
    }
}

impl std::ops::Sub for Cpu {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        Self {
            this: self.this.saturating_sub(o.this),
            curl: self.curl.saturating_sub(o.curl),
            nginx: self.nginx.saturating_sub(o.nginx),
            fetches: 0,
        }
    }
}

/// A minimal HTTPS server that answers every request with `body`.
async fn rustls_server(
    cert: &Path,
    key: &Path,
    body: Vec<u8>,
) -> (u16, tokio::task::JoinHandle<()>) {
    use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let certs = CertificateDer::pem_file_iter(cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let body = std::sync::Arc::new(body);
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, body) = (acceptor.clone(), body.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = vec![0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = tls.write_all(head.as_bytes()).await;
                let _ = tls.write_all(&body).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (port, task)
}
