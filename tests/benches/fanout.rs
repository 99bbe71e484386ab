//! Benchmark: the hub's fan-out against N nodes, beside its floors.
//!
//! The hub is the real program (`passerelle-test-hub serve`) in its own
//! process, so its CPU and memory are its own. N light nodes run in this
//! process (`passerelle_tests::swarm`): each has a certificate from the
//! hub's CA, its own mutual-TLS QUIC connection from its own socket, and
//! answers through the node library's answer path from a small cube.
//!
//! For each N: compose one indicator (`personnes-recues`, the admin
//! socket's `indicator --refresh`) K times: median and p99 time, hub CPU
//! per answer, and the answers per second that gives; hub memory per
//! linked node, before any composition and after the first ones; the
//! time for every node to be back after the hub is killed and started
//! again on the same port.
//!
//! Floors, measured first in the same run against the same hub keys: one
//! bare request/response on an open mutual-TLS QUIC connection (same
//! sizes as a query and its answer), and one signed query to one node
//! (sign, send, the node checks and answers, verify the reply).
//!
//! Run: `cargo bench -p passerelle-tests --bench fanout`. Environment:
//! `FANOUT_N` (default `1,10,100,1000,5000`), `FANOUT_SVG` (where the plot
//! goes; default `target/fanout/fanout.svg`). Identities are kept per N in
//! `target/fanout/`, so only the first run enrolls.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};

use passerelle_hub::admin::{Request, Response};
use passerelle_hub_core::{ops, paths::HubDir};
use passerelle_link::{endpoint, now, random16, stream};
use passerelle_protocol::{
    aggregate::{AggregateQuery, Measure},
    envelope::{Outcome, QueryBody, SignedQuery, SignedReply},
    frame::MAX_CONTROL_FRAME,
    message::Query,
    PROTOCOL_VERSION,
};
use passerelle_tests::{
    plot,
    process::{free_hub_addrs, HubProcess},
    swarm::{self, Data, Member, Swarm, Target},
};

const INDICATOR: &str = "personnes-recues";

fn work() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fanout")
}

fn pct(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

/// A hub folder for N nodes, made once.
fn hub_folder(n: usize) -> PathBuf {
    let root = work().join(format!("n{n}"));
    if !root.join("hub.toml").exists() {
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.parent().expect("parent")).expect("work folder");
        passerelle_hub_core::init::init(
            &HubDir::create(&root).expect("hub folder"),
            Some("Banc d'essai".into()),
            Vec::new(),
        )
        .expect("hub init");
    }
    // The hub's scheduled refresh of its whole catalog out of the way: it
    // would fan out to the same nodes in the middle of the measures.
    let toml = root.join("hub.toml");
    let text = std::fs::read_to_string(&toml).expect("hub.toml");
    let mut text = text.replace(
        "refresh_after_start = \"30s\"",
        "refresh_after_start = \"1h\"",
    );
    // Beyond 1,000 nodes on two shared cores, the nodes' own answering
    // (about 1.5 ms of CPU each, interval protection included) no longer
    // fits the default 10 s query timeout, nor the 30 s status polls
    // (five queries per node) beside it: both are widened, and said so.
    if n > 1000 {
        text = text
            .replace("query_timeout = \"10s\"", "query_timeout = \"2m\"")
            .replace("status_interval = \"30s\"", "status_interval = \"10m\"");
    }
    assert!(
        text.contains("refresh_after_start = \"1h\""),
        "{}: no refresh_after_start to set; delete the folder to make it again",
        toml.display()
    );
    std::fs::write(&toml, text).expect("hub.toml");
    root
}

fn aggregate() -> Query {
    Query::Aggregate(AggregateQuery {
        dataset: swarm::DATASET.into(),
        measure: Measure::Count,
        periods: vec![],
        by: None,
    })
}

/// Admits every certificate the CA signed (the floors need no registry).
#[derive(Debug)]
struct AdmitAll;

impl passerelle_certs::tls::PeerGate for AdmitAll {
    fn admit(&self, _: &passerelle_certs::NodeIdentity) -> Result<(), String> {
        Ok(())
    }
}

struct Floors {
    bare_us: f64,
    signed_us: f64,
    signed_cpu_us: f64,
    bare_cpu_us: f64,
}

/// The floors, with the hub folder's keys and one member.
async fn floors(root: &Path, member: &Arc<Member>) -> Floors {
    const ROUNDS: usize = 400;
    let hub = ops::Hub::open(root).expect("hub folder");
    let chain = [hub.hub_cert_der.clone(), hub.hub_issuer_der.clone()];
    let tls = passerelle_certs::tls::hub_server_config(
        &hub.trusted_cas,
        &chain,
        &hub.hub_key_pkcs8,
        Arc::new(AdmitAll),
    )
    .expect("tls");
    let ep = endpoint::server(
        "127.0.0.1:0".parse().unwrap(),
        tls,
        endpoint::Liveness::default(),
        &hub.hub_key_pkcs8,
        endpoint::Intake::default(),
    )
    .expect("endpoint");
    let addr = ep.local_addr().unwrap();
    let target = Arc::new(Target {
        hub: addr,
        cas: hub.trusted_cas.clone(),
        data: Data::new().expect("cube"),
    });
    let me = getrusage_self();

    // Signed query to one node: what `federation::ask` does, without the
    // registry, metrics and log.
    let nodes = Swarm::start(std::slice::from_ref(member), target.clone());
    let conn = ep.accept().await.unwrap().await.unwrap();
    endpoint::open_link(&conn);
    let id = member.identity.node_id.clone();
    let mut times = Vec::new();
    let (mut q_len, mut a_len) = (0, 0);
    let cpu0 = getrusage_self() - me;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let query_id = random16();
        let body = QueryBody {
            query_id,
            issued_at: now(),
            nonce: random16(),
            audience: passerelle_protocol::envelope::Audience::Node(id.clone()),
            query: aggregate(),
        };
        let signed = SignedQuery::sign_version(&body, &hub.key, PROTOCOL_VERSION).unwrap();
        let reply: SignedReply =
            stream::exchange(&conn, &signed, MAX_CONTROL_FRAME, Duration::from_secs(10))
                .await
                .unwrap();
        let body = reply
            .verify(&member.identity.public_key, &id, Some(&query_id))
            .unwrap();
        assert!(matches!(body.outcome, Outcome::Answered(_)), "{body:?}");
        times.push(start.elapsed().as_secs_f64() * 1e6);
        q_len = passerelle_protocol::codec::encode(&signed).unwrap().len();
        a_len = passerelle_protocol::codec::encode(&reply).unwrap().len();
    }
    let signed_cpu = getrusage_self() - me - cpu0;
    let signed_us = pct(&times, 0.5);
    conn.close(0u32.into(), b"done");
    nodes.stop().await;

    // Bare request/response of the same sizes on an open connection.
    let client = {
        let (c, _) = passerelle_certs::tls::node_client_config_watched(
            &hub.trusted_cas,
            std::slice::from_ref(&member.cert_der),
            &member.key_pkcs8,
        )
        .unwrap();
        endpoint::client_config(c, endpoint::Liveness::default()).unwrap()
    };
    let cep = endpoint::client(addr).unwrap();
    let answer = vec![7u8; a_len];
    let echo = tokio::spawn(async move {
        let conn = cep
            .connect_with(client, addr, "127.0.0.1")
            .unwrap()
            .await
            .unwrap();
        while let Ok((mut send, mut recv)) = conn.accept_bi().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let _ = stream::read_frame(&mut recv, MAX_CONTROL_FRAME).await;
                let _ = stream::write_frame(&mut send, &answer, MAX_CONTROL_FRAME).await;
                let _ = send.finish();
            });
        }
    });
    let conn = ep.accept().await.unwrap().await.unwrap();
    endpoint::open_link(&conn);
    let query = vec![9u8; q_len];
    let mut times = Vec::new();
    let cpu0 = getrusage_self() - me;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let (mut send, mut recv) = conn.open_bi().await.unwrap();
        stream::write_frame(&mut send, &query, MAX_CONTROL_FRAME)
            .await
            .unwrap();
        send.finish().unwrap();
        let got = stream::read_frame(&mut recv, MAX_CONTROL_FRAME)
            .await
            .unwrap();
        assert_eq!(got.len(), a_len);
        times.push(start.elapsed().as_secs_f64() * 1e6);
    }
    let bare_cpu = getrusage_self() - me - cpu0;
    conn.close(0u32.into(), b"done");
    echo.abort();
    ep.close(0u32.into(), b"done");
    println!(
        "floors: query {q_len} B, answer {a_len} B; {ROUNDS} rounds each (both ends in this process)"
    );
    Floors {
        bare_us: pct(&times, 0.5),
        signed_us,
        signed_cpu_us: signed_cpu.as_secs_f64() * 1e6 / ROUNDS as f64,
        bare_cpu_us: bare_cpu.as_secs_f64() * 1e6 / ROUNDS as f64,
    }
}

fn getrusage_self() -> Duration {
    swarm::rusage(libc::RUSAGE_SELF)
}

async fn admin(root: &Path, req: Request) -> Option<Response> {
    passerelle_link::admin::call::<_, Response>(root, &req)
        .await
        .ok()
        .flatten()
}

async fn connected(root: &Path) -> usize {
    match admin(root, Request::Nodes).await {
        Some(Response::Nodes(rows)) => rows.iter().filter(|r| r.connected).count(),
        _ => 0,
    }
}

/// Waits until the hub lists `n` nodes connected; the time it took.
async fn wait_connected(root: &Path, n: usize, patience: Duration) -> Option<Duration> {
    let start = Instant::now();
    let mut said = Instant::now();
    while start.elapsed() < patience {
        let now = connected(root).await;
        if now >= n {
            return Some(start.elapsed());
        }
        if said.elapsed() > Duration::from_secs(10) {
            eprintln!(
                "  {now} of {n} nodes connected after {:.0} s",
                start.elapsed().as_secs_f64()
            );
            said = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// One composition through the admin socket; how many nodes answered.
async fn compose(root: &Path) -> usize {
    match admin(
        root,
        Request::Indicator {
            id: INDICATOR.into(),
            refresh: true,
        },
    )
    .await
    {
        Some(Response::Indicator(_, r)) => r.coverage.answered.len(),
        Some(Response::Drafted(_, d)) => d.result.coverage.answered.len(),
        other => panic!("refresh: {other:?}"),
    }
}

/// What one N gave.
struct Row {
    n: usize,
    median_ms: f64,
    p99_ms: f64,
    cpu_per_answer_us: f64,
    net_cpu_per_answer_us: f64,
    idle_cpu: f64,
    answers_per_s: f64,
    kb_per_node: f64,
    kb_linked: f64,
    connect_s: f64,
    back_s: Option<f64>,
}

async fn measure(n: usize, exe: &Path) -> (Row, Option<Floors>) {
    let root = hub_folder(n);
    let (members, cas) = swarm::enroll(&root, n).expect("enrollment");
    let floors = if n == 1 {
        Some(floors(&root, &members[0]).await)
    } else {
        None
    };
    let (quic, http) = free_hub_addrs();
    let mut hub = HubProcess::start(exe, &root, quic, http).await;
    let pid = hub.pid();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss0 = swarm::rss(pid);
    let target = Arc::new(Target {
        hub: quic,
        cas,
        data: Data::new().expect("cube"),
    });
    // Nodes do not all start at the same instant: their first attempts
    // are spread over N / 500 seconds (10 s for 5,000). Reconnection
    // after a hub restart, below, is every node at once.
    let started = Instant::now();
    let spread = Duration::from_millis(n as u64 * 2);
    let nodes = Swarm::start_spread(&members, target.clone(), spread);
    let patience = Duration::from_secs(60 + n as u64 / 20);
    wait_connected(&root, n, patience)
        .await
        .unwrap_or_else(|| panic!("{n} nodes not connected"));
    let connect_s = started.elapsed().as_secs_f64();
    // Memory of the links alone: linked, their first status polls done,
    // no composition yet.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let kb_linked = (swarm::rss(pid).saturating_sub(rss0)) as f64 / n as f64 / 1024.0;
    // Every node's status (and so its dataset claim) is known once a
    // composition hears from all of them.
    let deadline = Instant::now() + patience;
    while compose(&root).await < n {
        assert!(Instant::now() < deadline, "not every node answers");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Idle memory: let the first status polls and the compositions settle.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_n = swarm::rss(pid);
    let kb_per_node = (rss_n.saturating_sub(rss0)) as f64 / n as f64 / 1024.0;
    // What the hub spends on N idle links (keep-alives, status polls), to
    // tell it apart from the compositions.
    let idle0 = swarm::cpu(pid);
    let idle_t = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_rate = (swarm::cpu(pid) - idle0).as_secs_f64() / idle_t.elapsed().as_secs_f64();

    let k = match n {
        0..=100 => 41,
        101..=1000 => 11,
        _ => 5,
    };
    let mut times = Vec::new();
    let cpu0 = swarm::cpu(pid);
    let t0 = Instant::now();
    for _ in 0..k {
        let start = Instant::now();
        let answered = compose(&root).await;
        times.push(start.elapsed().as_secs_f64() * 1e3);
        assert_eq!(answered, n, "a node did not answer");
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = swarm::cpu(pid) - cpu0;

    // Reconnection: kill the hub, start it again on the same ports.
    hub.kill();
    let killed = Instant::now();
    let hub = HubProcess::start(exe, &root, quic, http).await;
    let back = wait_connected(&root, n, Duration::from_secs(90))
        .await
        .map(|_| killed.elapsed().as_secs_f64());
    nodes.stop().await;
    drop(hub);
    let row = Row {
        n,
        median_ms: pct(&times, 0.5),
        p99_ms: pct(&times, 0.99),
        cpu_per_answer_us: cpu.as_secs_f64() * 1e6 / (k * n) as f64,
        net_cpu_per_answer_us: (cpu.as_secs_f64() - idle_rate * wall).max(0.0) * 1e6
            / (k * n) as f64,
        idle_cpu: idle_rate,
        answers_per_s: (k * n) as f64 / wall,
        kb_per_node,
        kb_linked,
        connect_s,
        back_s: back,
    };
    (row, floors)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    passerelle_tests::setup();
    let ns: Vec<usize> = std::env::var("FANOUT_N")
        .unwrap_or_else(|_| "1,10,100,1000,5000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_passerelle-test-hub"));
    let mut rows = Vec::new();
    let mut floor = None;
    let mut ns = ns;
    if !ns.contains(&1) {
        ns.insert(0, 1); // the floors are measured with the 1-node folder
    }
    for &n in &ns {
        let (row, f) = measure(n, &exe).await;
        println!(
            "N={:>5}: compose median {:.2} ms, p99 {:.2} ms; hub CPU {:.0} µs/answer ({:.0} net of idle {:.0} %); {:.0} answers/s; {:.1} KB/node linked, {:.1} after composing; all linked in {:.1} s; back after restart in {}",
            row.n, row.median_ms, row.p99_ms, row.cpu_per_answer_us, row.net_cpu_per_answer_us, row.idle_cpu * 100.0, row.answers_per_s, row.kb_linked, row.kb_per_node, row.connect_s,
            row.back_s.map_or("> 90 s".into(), |s| format!("{s:.1} s"))
        );
        rows.push(row);
        floor = floor.or(f);
    }
    let f = floor.expect("floors measured");
    println!(
        "floors: bare mTLS QUIC request/response {:.0} µs (CPU both ends {:.0} µs); signed query to one node {:.0} µs (CPU both ends {:.0} µs)",
        f.bare_us, f.bare_cpu_us, f.signed_us, f.signed_cpu_us
    );
    println!("\n| N | compose median | p99 | × 1-node | hub CPU / answer (net of idle) | hub CPU idle | answers/s | hub KB / node linked (after composing) | all linked | back after hub restart |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let one = rows[0].median_ms;
    for r in &rows {
        println!(
            "| {} | {:.2} ms | {:.2} ms | {:.1}× | {:.0} µs ({:.0} µs) | {:.0} % | {:.0} | {:.0} ({:.0}) | {:.1} s | {} |",
            r.n,
            r.median_ms,
            r.p99_ms,
            r.median_ms / one,
            r.cpu_per_answer_us,
            r.net_cpu_per_answer_us,
            r.idle_cpu * 100.0,
            r.answers_per_s,
            r.kb_linked,
            r.kb_per_node,
            r.connect_s,
            r.back_s.map_or("> 90 s".into(), |s| format!("{s:.1} s"))
        );
    }
    let svg = plot::loglog(
        "Composer un indicateur : temps selon le nombre de nœuds",
        &rows
            .iter()
            .map(|r| (r.n as f64, r.median_ms))
            .collect::<Vec<_>>(),
        &rows
            .iter()
            .map(|r| (r.n as f64, r.p99_ms))
            .collect::<Vec<_>>(),
        f.signed_us / 1e3,
        f.bare_us / 1e3,
    );
    let out = std::env::var("FANOUT_SVG")
        .map(PathBuf::from)
        .unwrap_or_else(|_| work().join("fanout.svg"));
    std::fs::write(&out, svg).expect("plot written");
    println!("plot: {}", out.display());
}
