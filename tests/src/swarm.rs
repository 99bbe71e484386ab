//! Many light nodes in one process, for the fan-out benchmark
//! (`benches/fanout.rs`).
//!
//! Each member is a real node identity: its key and certificate come from
//! the hub's own CA through the enrollment path (`ops::issue_token`, a CSR,
//! `ops::redeem`), and it holds its own mutual-TLS QUIC connection to the
//! hub from its own UDP socket. It answers every stream through the node
//! library's answer path (`passerelle_node::answer::handle_payload`:
//! version, signature, audience, clock window, replay, policy, then
//! `data::aggregate::answer` with disclosure control) from one small
//! in-memory cube, keeping its answers while the data is unchanged as a
//! node does (`data::answers`), and signs each reply with its key. It reconnects the way
//! a node does: liveness watch (three silent keep-alive intervals),
//! exponential backoff with full jitter.
//!
//! What it leaves out of a real node, so that a thousand fit in one
//! process: the store (no query log, no audit chain, no sled), renewal and
//! documents.

use std::{
    net::{Ipv4Addr, SocketAddr},
    path::Path,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use anyhow::Context;
use passerelle_certs::{tls, HubIdentity, NodeIdentity};
use passerelle_config::dataset::{DatasetConfig, PolicyConfig};
use passerelle_hub_core::{ops, providers};
use passerelle_link::{
    backoff::{unit_random, Backoff},
    endpoint::{self, Liveness},
    liveness, now, stream,
};
use passerelle_node::{
    answer::{self, DataSource, SelfDescription},
    data::{answers::Answers, cube::Cube},
};
use passerelle_protocol::{
    aggregate::{AggregateAnswer, AggregateQuery},
    enroll::{EnrollRequest, EnrollResponse, Token},
    envelope::{QueryCheck, SignedReply},
    frame::MAX_CONTROL_FRAME,
    ids::NodeId,
    message::Refusal,
    replay::NonceCache,
    sign::{PublicKey, SigningKey},
    PROTOCOL_VERSION,
};
use tokio::{sync::watch, task::JoinHandle};

/// The dataset every member provides.
pub const DATASET: &str = "personnes_recues";

/// One enrolled node identity.
pub struct Member {
    /// What its certificate says.
    pub identity: NodeIdentity,
    /// Its key, for answer signatures.
    pub key: SigningKey,
    /// The same key, PKCS#8, for TLS.
    pub key_pkcs8: Vec<u8>,
    /// Its certificate (DER).
    pub cert_der: Vec<u8>,
    /// The answers it keeps while its data is unchanged, as a node does.
    pub answers: Answers,
}

/// The enrolled members, shared with their tasks.
pub type Members = Vec<Arc<Member>>;

/// Enrolls nodes `banc-00000` … up to `n` in the stopped hub folder `root`
/// through the CA's real issuance, approves each as a provider of
/// [`DATASET`], and keeps keys and certificates in `root/swarm/`, so a
/// second run reuses them. Returns the members and the trusted CAs.
///
/// # Errors
/// When the hub folder, the CA or an issuance fails.
pub fn enroll(root: &Path, n: usize) -> anyhow::Result<(Members, Vec<Vec<u8>>)> {
    let hub = ops::Hub::open(root)?;
    let ca = ops::load_ca(&hub)?;
    let dir = root.join("swarm");
    std::fs::create_dir_all(&dir)?;
    let at = now();
    let mut members = Vec::with_capacity(n);
    for i in 0..n {
        let id = NodeId::new(format!("banc-{i:05}"))?;
        let (key_path, cert_path) = (dir.join(format!("{id}.key")), dir.join(format!("{id}.der")));
        if !(key_path.exists() && cert_path.exists()) {
            let token = ops::issue_token(&hub, &id, &format!("Banc d'essai {i}"), at)?;
            let token = Token::parse(&token).map_err(|e| anyhow::anyhow!("{e}"))?;
            let request = passerelle_certs::ca::node_request(id.as_str())?;
            let issued = ops::redeem(
                &hub,
                &ca,
                &EnrollRequest {
                    version: PROTOCOL_VERSION,
                    secret: token.secret,
                    csr_der: request.csr_der.clone(),
                },
                at,
            );
            let EnrollResponse::Issued { cert_der, .. } = issued else {
                anyhow::bail!("{id}: enrollment refused: {issued:?}");
            };
            providers::decide(&hub.store, &id, DATASET, providers::Decision::Allowed, at)?;
            std::fs::write(&key_path, &request.key_pkcs8)?;
            std::fs::write(&cert_path, &cert_der)?;
        }
        let key_pkcs8 = std::fs::read(&key_path)?;
        let cert_der = std::fs::read(&cert_path)?;
        members.push(Arc::new(Member {
            identity: NodeIdentity::from_der(&cert_der)?,
            key: SigningKey::from_pkcs8(&key_pkcs8).map_err(|e| anyhow::anyhow!("{e}"))?,
            key_pkcs8,
            cert_der,
            answers: Answers::default(),
        }));
    }
    hub.store.flush()?;
    Ok((members, hub.trusted_cas.clone()))
}

/// The small cube every member answers from, and the policy it shares
/// under: `personnes_recues` by sex, every level (the tests' dataset).
pub struct Data {
    datasets: Vec<DatasetConfig>,
    policy: PolicyConfig,
    cubes: Vec<Cube>,
}

impl Data {
    /// Two quarters of synthetic records, aggregated by the node's import.
    ///
    /// # Errors
    /// When the records do not import.
    pub fn new() -> anyhow::Result<Self> {
        let (datasets, policy) = crate::recues_config(false);
        let csv = crate::rows_csv(&crate::rows(7, &["2025-T1", "2025-T2"]));
        let imported =
            passerelle_node::data::import::read_csv(csv.as_bytes(), &datasets[0], &mut |_| {})
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Self {
            datasets,
            policy,
            cubes: vec![imported.cube],
        })
    }
}

/// One member's view of the shared cube: answers kept per member, keyed by
/// the query alone (the cube never changes).
struct MemberData<'a> {
    data: &'a Data,
    answers: &'a Answers,
}

impl DataSource for MemberData<'_> {
    fn aggregate(&self, q: &AggregateQuery) -> Result<AggregateAnswer, Refusal> {
        let d = self.data;
        self.answers.answer(q, b"", || {
            passerelle_node::data::aggregate::answer(q, &d.datasets, &d.policy, &d.cubes, None)
        })
    }
}

/// Where members connect and what they answer with.
pub struct Target {
    /// The hub's QUIC address.
    pub hub: SocketAddr,
    /// Trusted CA certificates.
    pub cas: Vec<Vec<u8>>,
    /// The cube.
    pub data: Data,
}

/// Running members.
pub struct Swarm {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Members whose hub has spoken on their current connection.
    pub linked: Arc<AtomicUsize>,
}

/// Members sharing one loopback address: each address stays well under the
/// hub's per-address connection and handshake limits, as distinct
/// institutions would.
const PER_ADDRESS: usize = 8;

/// The keep-alive interval of a node (`link.keep_alive`'s default).
pub const KEEP_ALIVE: Duration = Duration::from_secs(1);

impl Swarm {
    /// Starts every member against `target`.
    pub fn start(members: &[Arc<Member>], target: Arc<Target>) -> Self {
        Self::start_spread(members, target, Duration::ZERO)
    }

    /// [`Swarm::start`], the members' first attempts spread evenly over
    /// `spread`, as nodes that were not all started at the same instant.
    pub fn start_spread(members: &[Arc<Member>], target: Arc<Target>, spread: Duration) -> Self {
        let (stop, rx) = watch::channel(false);
        let n = members.len().max(1) as u32;
        let linked = Arc::new(AtomicUsize::new(0));
        let tasks = members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let g = i / PER_ADDRESS;
                let ip = Ipv4Addr::new(127, 1, (g / 250) as u8, (g % 250 + 1) as u8);
                let delay = spread * (i as u32) / n;
                let (m, target, rx, linked) =
                    (m.clone(), target.clone(), rx.clone(), linked.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    run(m, target, SocketAddr::from((ip, 0)), rx, linked).await;
                })
            })
            .collect();
        Self {
            stop,
            tasks,
            linked,
        }
    }

    /// Members linked now.
    pub fn linked(&self) -> usize {
        self.linked.load(Ordering::SeqCst)
    }

    /// Closes every connection and waits for the members to end.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Counts a member as linked while it lives.
struct Linked(Arc<AtomicUsize>);

impl Drop for Linked {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn run(
    m: Arc<Member>,
    t: Arc<Target>,
    bind: SocketAddr,
    mut stop: watch::Receiver<bool>,
    linked: Arc<AtomicUsize>,
) {
    let liveness = Liveness {
        keep_alive: KEEP_ALIVE,
        idle_timeout: Duration::from_secs(30),
    };
    let client =
        tls::node_client_config_watched(&t.cas, std::slice::from_ref(&m.cert_der), &m.key_pkcs8)
            .map_err(anyhow::Error::from)
            .and_then(|(c, _)| Ok(endpoint::client_config(c, liveness)?));
    let (client, ep) = match (client, quinn::Endpoint::client(bind)) {
        (Ok(c), Ok(ep)) => (c, ep),
        (c, ep) => {
            tracing::error!(node = %m.identity.node_id, client = ?c.err(), endpoint = ?ep.err(), "member cannot start");
            return;
        }
    };
    let seen = Arc::new(Mutex::new(NonceCache::new(4096)));
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    loop {
        tokio::select! {
            _ = serve(&m, &t, &ep, &client, &seen, &linked, &mut backoff) => {}
            _ = stop.changed() => break,
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff.next_delay(unit_random())) => {}
            _ = stop.changed() => break,
        }
    }
    ep.close(0u32.into(), b"node stopping");
    let _ = tokio::time::timeout(Duration::from_secs(2), ep.wait_idle()).await;
}

/// One connection, served until it ends or the hub goes silent.
async fn serve(
    m: &Arc<Member>,
    t: &Arc<Target>,
    ep: &quinn::Endpoint,
    client: &quinn::ClientConfig,
    seen: &Arc<Mutex<NonceCache>>,
    linked: &Arc<AtomicUsize>,
    backoff: &mut Backoff,
) -> anyhow::Result<()> {
    // As a node does (`link.handshake_timeout`, 10 s by default).
    let conn = match endpoint::handshake(
        ep.connect_with(client.clone(), t.hub, "127.0.0.1")?,
        endpoint::HANDSHAKE_TIMEOUT,
    )
    .await
    {
        Ok(c) => c,
        Err(endpoint::Connect::Failed(e)) => return Err(e.into()),
        Err(endpoint::Connect::TimedOut(after)) => anyhow::bail!("no handshake within {after:?}"),
    };
    let hub = HubIdentity::from_der(&endpoint::peer_cert(&conn).context("no hub certificate")?)?;
    let mut counted = None;
    let accept = async {
        loop {
            let (send, recv) = match conn.accept_bi().await {
                Ok(s) => s,
                Err(e) => return Err::<(), anyhow::Error>(e.into()),
            };
            if counted.is_none() {
                linked.fetch_add(1, Ordering::SeqCst);
                counted = Some(Linked(linked.clone()));
                backoff.reset();
            }
            tokio::spawn(answer_stream(
                m.clone(),
                t.clone(),
                hub.public_key,
                seen.clone(),
                send,
                recv,
            ));
        }
    };
    let watch = liveness::Watch::keep_alive(KEEP_ALIVE);
    tokio::select! {
        r = accept => r,
        Some(_) = liveness::silent(&conn, watch) => {
            conn.close(0u32.into(), b"nothing heard from the hub");
            Ok(())
        }
    }
}

/// Reads one query, answers it through the node's answer path, signs and
/// sends the reply.
async fn answer_stream(
    m: Arc<Member>,
    t: Arc<Target>,
    hub_key: PublicKey,
    seen: Arc<Mutex<NonceCache>>,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) {
    let read = tokio::time::timeout(
        stream::READ_DEADLINE,
        stream::read_frame(&mut recv, MAX_CONTROL_FRAME),
    );
    let Ok(Ok(payload)) = read.await else {
        let _ = recv.stop(1u32.into());
        return;
    };
    let reply = {
        let check = QueryCheck {
            hub_key: &hub_key,
            me: &m.identity.node_id,
            window_secs: passerelle_protocol::envelope::DEFAULT_WINDOW_SECS,
        };
        let me = describe(&m);
        let mut seen = seen.lock().expect("nonce cache lock");
        let data = MemberData {
            data: &t.data,
            answers: &m.answers,
        };
        answer::handle_payload(&payload, &check, &me, &data, now(), &mut seen).0
    };
    if let Ok(signed) = SignedReply::sign(&reply, &m.key) {
        let _ = stream::write_message(&mut send, &signed, MAX_CONTROL_FRAME).await;
    }
}

fn describe(m: &Member) -> SelfDescription {
    SelfDescription {
        institution: m.identity.institution.clone(),
        datasets: vec![DATASET.into()],
        cert_not_after: m.identity.not_after,
        directory: None,
    }
}

/// CPU time (user and system, every thread) a process has used so far,
/// from the scheduler's nanosecond counters in `/proc/PID/task/*/schedstat`.
pub fn cpu(pid: u32) -> Duration {
    let mut total = 0u64;
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            let stat = std::fs::read_to_string(task.path().join("schedstat")).unwrap_or_default();
            total += stat
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Duration::from_nanos(total)
}

/// CPU time (user and system) from `getrusage`: `libc::RUSAGE_SELF` for
/// this process, `libc::RUSAGE_CHILDREN` for its finished, waited-for
/// children.
pub fn rusage(who: libc::c_int) -> Duration {
    // SAFETY: getrusage fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut u) };
    let t = |v: libc::timeval| Duration::new(v.tv_sec as u64, v.tv_usec as u32 * 1000);
    t(u.ru_utime) + t(u.ru_stime)
}

/// Resident memory of a process, in bytes, from `/proc/PID/status`.
pub fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}
