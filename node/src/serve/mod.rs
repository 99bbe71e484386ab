//! The running node: it dials the hub, keeps the link, and answers each
//! stream the hub opens. The node opens no port; the hub reaches it over
//! the connection the node made.

use std::{
    path::Path,
    sync::{Arc, Mutex},
};

use passerelle_certs::{tls, watch::HubCertWatch, HubIdentity};
use passerelle_config::NodeConfig;
use passerelle_link::{
    admin,
    backoff::{unit_random, Backoff},
    endpoint::{self, Connect, Liveness},
    liveness, now, stream,
};
use passerelle_protocol::{
    codec,
    envelope::{Outcome, QueryCheck, ReplyBody, SignedReply},
    frame::{self, FrameError, MAX_CONTROL_FRAME},
    hex,
    message::{Answer, Refusal},
    replay::NonceCache,
    sign::PublicKey,
};
use serde::{Deserialize, Serialize};
use tokio::{sync::watch, task::JoinHandle};
use tracing::{info, info_span, warn, Instrument};

use crate::{
    answer::{self, SelfDescription},
    enroll::resolve,
    handshake::Handshake,
    identity::Credentials,
    paths::NodeDir,
    store::{QueryRecord, Store},
    NodeError,
};

mod renewal;
mod source;
mod stream_query;

pub use renewal::renewal_due;
use renewal::renewal_watch;
use stream_query::handle_stream;

/// Live nonces remembered for replay refusal.
const NONCE_CAPACITY: usize = 100_000;

/// The state of the link, as `status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkState {
    /// A connection to the hub is up.
    pub connected: bool,
    /// When the current state began.
    pub since: Option<u64>,
    /// Why the last connection ended or failed.
    pub last_error: Option<String>,
    /// Connection attempts since start.
    pub attempts: u64,
}

/// What the running node shares between its tasks.
pub struct Shared {
    pub(crate) config: NodeConfig,
    /// The current key, certificate and trusted CAs; replaced on renewal.
    creds: std::sync::RwLock<Arc<Credentials>>,
    /// The node folder.
    pub(crate) root: std::path::PathBuf,
    /// Wakes the renewal watcher (the hub announced a new issuing CA).
    renew_now: tokio::sync::Notify,
    pub(crate) store: Store,
    pub(crate) files: crate::vault::DocFiles,
    seen: Mutex<NonceCache>,
    link: Mutex<LinkState>,
    /// The live connection of each link (one per hub instance), for
    /// requests the node makes.
    conns: Mutex<Vec<Option<quinn::Connection>>>,
    /// Debris of interrupted deposits removed since start.
    pub(crate) debris: passerelle_link::debris::Tally,
    /// Recent aggregate answers, for as long as their data is in force.
    pub(crate) answers: crate::data::answers::Answers,
}

impl Shared {
    /// A copy of the link state.
    pub fn link(&self) -> LinkState {
        self.link.lock().expect("link state lock").clone()
    }

    /// Notes link `index` up or down: the node is connected while any
    /// link is.
    fn set_link(&self, index: usize, connected: bool, error: Option<String>) {
        let connected = {
            let mut conns = self.conns.lock().expect("connection lock");
            if !connected {
                if let Some(c) = conns.get_mut(index) {
                    *c = None;
                }
            }
            connected || conns.iter().any(Option::is_some)
        };
        let mut l = self.link.lock().expect("link state lock");
        if l.connected != connected || l.since.is_none() {
            l.since = Some(now());
        }
        l.connected = connected;
        if error.is_some() {
            l.last_error = error;
        }
    }

    /// The current credentials.
    pub fn creds(&self) -> Arc<Credentials> {
        self.creds
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn set_creds(&self, c: Credentials) {
        *self
            .creds
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(c);
    }

    /// The live connection to the hub, if any.
    pub fn connection(&self) -> Option<quinn::Connection> {
        self.conns
            .lock()
            .expect("connection lock")
            .iter()
            .flatten()
            .next()
            .cloned()
    }

    /// The store, for admin requests.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Aggregate answers kept while their data is in force.
    pub fn answers(&self) -> &crate::data::answers::Answers {
        &self.answers
    }

    /// The configuration in force.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    fn describe(&self) -> SelfDescription {
        let creds = self.creds();
        SelfDescription {
            institution: creds.identity.institution.clone(),
            datasets: self.store.datasets().unwrap_or_default(),
            cert_not_after: creds.identity.not_after,
            directory: self.config.directory.clone(),
        }
    }
}

/// A node running in this process.
pub struct NodeHandle {
    shared: Arc<Shared>,
    metrics_task: Option<JoinHandle<()>>,
    /// Where `/metrics` and `/healthz` are served, when configured.
    metrics_addr: Option<std::net::SocketAddr>,
    /// The console, when `console_listen` is set.
    console_task: Option<JoinHandle<()>>,
    /// Where the console is served.
    console_addr: Option<std::net::SocketAddr>,
    /// The integration API (`api_listen`), when configured.
    api_task: Option<JoinHandle<()>>,
    api_addr: Option<std::net::SocketAddr>,
    /// Probes the store, and brings it back after a failure.
    health_task: JoinHandle<()>,
    stop: watch::Sender<bool>,
    link_task: JoinHandle<()>,
    admin_task: JoinHandle<()>,
    root: std::path::PathBuf,
}

impl NodeHandle {
    /// The link state now.
    pub fn link(&self) -> LinkState {
        self.shared.link()
    }

    /// Where `/metrics` and `/healthz` are served (`metrics_listen`).
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics_addr
    }

    /// Where the console is served (`console_listen`).
    pub fn console_addr(&self) -> Option<std::net::SocketAddr> {
        self.console_addr
    }

    /// Where the integration API is served (`api_listen`).
    pub fn api_addr(&self) -> Option<std::net::SocketAddr> {
        self.api_addr
    }

    /// The node's shared state (for the admin requests).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stops the node: closes the link and the admin socket, and returns
    /// once the store is released.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.link_task.await;
        let _ = self.health_task.await;
        self.admin_task.abort();
        let _ = self.admin_task.await;
        for t in [self.metrics_task, self.console_task, self.api_task]
            .into_iter()
            .flatten()
        {
            // They stop on the same signal, once their requests are answered.
            let _ = t.await;
        }
        let _ = std::fs::remove_file(self.root.join(admin::SOCKET));
        let _ = self.shared.store.flush();
        let released = async {
            while Arc::strong_count(&self.shared) > 1 {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        };
        if tokio::time::timeout(std::time::Duration::from_secs(5), released)
            .await
            .is_err()
        {
            warn!("node state still held after stop");
        }
    }

    /// Waits until the node stops by itself (it does not, unless stopped).
    pub async fn wait(&mut self) {
        let _ = (&mut self.link_task).await;
    }
}

/// Starts the node of folder `root`: loads its files, opens the store,
/// binds the admin socket and starts the link loop.
///
/// # Errors
/// When the folder, configuration, credentials or store are unusable, or
/// another process already serves this folder.
pub async fn start(root: &Path) -> Result<NodeHandle, NodeError> {
    let dir = NodeDir::existing(root)?;
    let config = NodeConfig::load(&dir.config())?;
    let creds = Credentials::load(&dir)?;
    if creds.identity.node_id != config.node_id {
        return Err(NodeError::Dir {
            path: dir.config(),
            why: format!(
                "node_id is {} but the certificate names {}",
                config.node_id, creds.identity.node_id
            ),
        });
    }
    let listener = admin::bind(root).await?;
    let metrics_listener = match config.metrics_listen {
        None => None,
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| NodeError::Io {
                    path: format!("metrics_listen address {addr} (is another node running? else change metrics_listen in node.toml)").into(),
                    source,
                })?,
        ),
    };
    let console_listener = match config.console_listen {
        None => None,
        Some(addr) => Some((
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| NodeError::Io {
                    path: format!("console_listen address {addr} (is another node running? else change console_listen in node.toml)").into(),
                    source,
                })?,
            crate::console::acceptor(&config)?,
        )),
    };
    let api_listener = crate::api::bind(&config).await?;
    let store = open_store_patiently(&dir.store()).await?;
    // One link to the hub, or one to each of its instances.
    let links = config.link.instances.len().max(1);
    let shared = Arc::new(Shared {
        config,
        creds: std::sync::RwLock::new(Arc::new(creds)),
        root: root.to_path_buf(),
        renew_now: tokio::sync::Notify::new(),
        store,
        files: crate::vault::DocFiles::new(root),
        seen: Mutex::new(NonceCache::new(NONCE_CAPACITY)),
        link: Mutex::new(LinkState::default()),
        conns: Mutex::new(vec![None; links]),
        debris: Default::default(),
        answers: Default::default(),
    });
    // Nothing is being written yet: every partial or orphan file is debris.
    if let Err(error) = crate::debris::collect(
        &shared.files,
        &shared.store,
        std::time::Duration::ZERO,
        &shared.debris,
    ) {
        warn!(%error, "debris not collected at start");
    }
    let (stop, stop_rx) = watch::channel(false);
    let metrics_addr = metrics_listener.as_ref().and_then(|l| l.local_addr().ok());
    let probed = shared.clone();
    let health_task = tokio::spawn(passerelle_link::health::watch(
        shared.store.health().clone(),
        move || probed.store.probe(),
        passerelle_link::health::Probing::default(),
        stop_rx.clone(),
    ));
    let metrics_task = metrics_listener
        .map(|l| tokio::spawn(crate::metrics::serve(l, shared.clone(), stop_rx.clone())));
    let console_addr = console_listener
        .as_ref()
        .and_then(|(l, _)| l.local_addr().ok());
    let console_task = console_listener.map(|(listener, tls)| {
        crate::console::upload::clear(root);
        let addr = console_addr.unwrap_or_else(|| ([127, 0, 0, 1], 0).into());
        let console = Arc::new(crate::console::Console::new(shared.clone(), addr));
        info!(%addr, https = tls.is_some(), "console serving");
        tokio::spawn(crate::console::serve(
            console,
            listener,
            tls,
            stop_rx.clone(),
        ))
    });
    tokio::spawn(crate::debris::sweep_every(shared.clone(), stop_rx.clone()));
    tokio::spawn(crate::drop::watch(shared.clone(), stop_rx.clone()));
    let api_addr = api_listener.as_ref().and_then(|l| l.local_addr().ok());
    let api_task = api_listener.map(|l| {
        let state = crate::api::ApiState::new(root, shared.config.clone(), shared.store.clone());
        tokio::spawn(crate::api::serve(l, state, stop_rx.clone()))
    });
    let link_shared = shared.clone();
    let link_task = tokio::spawn(async move {
        let mut all = tokio::task::JoinSet::new();
        for index in 0..links {
            all.spawn(run_link(link_shared.clone(), stop_rx.clone(), index));
        }
        while all.join_next().await.is_some() {}
    });
    let admin_shared = shared.clone();
    let admin_task = tokio::spawn(admin::serve(listener, move |req| {
        let shared = admin_shared.clone();
        async move { crate::admin::handle(&shared, req).await }
    }));
    Ok(NodeHandle {
        shared,
        metrics_task,
        metrics_addr,
        console_task,
        console_addr,
        api_task,
        api_addr,
        health_task,
        stop,
        link_task,
        admin_task,
        root: root.to_path_buf(),
    })
}

/// How long `serve` waits for a store another process holds.
const STORE_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// Opens the store, waiting (at most [`STORE_PATIENCE`]) while another
/// process holds it: a command such as `status` or `doctor` run while the
/// node starts reads the store itself until the admin socket answers, and
/// must not make the service fail to start.
async fn open_store_patiently(path: &std::path::Path) -> Result<Store, NodeError> {
    let deadline = tokio::time::Instant::now() + STORE_PATIENCE;
    loop {
        match Store::open(path) {
            Err(crate::store::StoreError::Locked { .. })
                if tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            other => return Ok(other?),
        }
    }
}

/// Keeps link `index`: to the hub's instance of that rank in
/// `link.instances`, or to `hub` when none is listed. The first link
/// renews the certificate; the others reconnect once it is renewed.
async fn run_link(shared: Arc<Shared>, mut stop: watch::Receiver<bool>, index: usize) {
    let node = shared.creds().identity.node_id.clone();
    let hub = shared.config.hub.clone();
    let instance = shared.config.link.instances.get(index).copied();
    let span = match instance {
        None => info_span!("link", node = %node, hub = %hub),
        Some(at) => info_span!("link", node = %node, hub = %hub, instance = %at),
    };
    async move {
        let l = &shared.config.link;
        let mut backoff = Backoff::new(l.reconnect_min, l.reconnect_max);
        let liveness = Liveness { keep_alive: l.keep_alive, idle_timeout: l.idle_timeout };
        let client_for = |creds: &Credentials| {
            tls::node_client_config_watched(&creds.cas, std::slice::from_ref(&creds.cert_der), &creds.key_pkcs8)
                .map_err(|e| e.to_string())
                .and_then(|(tls, cert_watch)| {
                    endpoint::client_config(tls, liveness)
                        .map(|c| (c, cert_watch))
                        .map_err(|e| e.to_string())
                })
        };
        loop {
            shared.link.lock().expect("link state lock").attempts += 1;
            let creds = shared.creds();
            let (client, cert_watch) = match client_for(&creds) {
                Ok(c) => c,
                Err(e) => {
                    warn!(error = %e, "cannot build the link configuration; the node will not connect");
                    shared.set_link(index, false, Some(e));
                    let _ = stop.changed().await;
                    return;
                }
            };
            let target = match instance {
                Some(at) => Ok(at),
                None => resolve(&hub).await,
            };
            let reason = match target {
                Err(e) => e.to_string(),
                Ok(remote) => match endpoint::client(remote) {
                    Err(e) => e.to_string(),
                    Ok(ep) => {
                        let reason = tokio::select! {
                            r = connect_and_serve(&shared, index, creds.clone(), &ep, (&client, &cert_watch), remote, &mut backoff) => Some(r),
                            _ = stop.changed() => None,
                        };
                        ep.close(0u32.into(), b"node stopping");
                        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), ep.wait_idle()).await;
                        match reason {
                            Some(r) => r,
                            None => break,
                        }
                    }
                },
            };
            if reason == RENEWED {
                // Reconnect at once with the new certificate.
                info!("reconnecting with the renewed certificate");
                continue;
            }
            warn!(reason = %reason, "link down");
            shared.set_link(index, false, Some(reason));
            let delay = backoff.next_delay(unit_random());
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = stop.changed() => break,
            }
        }
        shared.set_link(index, false, Some("node stopped".into()));
        info!("link closed");
    }
    .instrument(span)
    .await
}

/// Why a connection ended when the node closed it to use a renewed
/// certificate.
const RENEWED: &str = "certificate renewed";

/// Connects and serves until the connection ends; returns why it ended.
async fn connect_and_serve(
    shared: &Arc<Shared>,
    index: usize,
    creds: Arc<Credentials>,
    ep: &quinn::Endpoint,
    (client, cert_watch): (&quinn::ClientConfig, &HubCertWatch),
    remote: std::net::SocketAddr,
    backoff: &mut Backoff,
) -> String {
    let host = &shared.config.hub.host;
    let explain = |e: &quinn::ConnectionError| {
        Handshake::from_connection(e, cert_watch, &creds.identity, passerelle_link::now())
            .to_string()
    };
    let within = shared.config.link.handshake_timeout;
    let conn = match ep.connect_with(client.clone(), remote, host) {
        Err(e) => return format!("cannot connect: {e}"),
        Ok(connecting) => match endpoint::handshake(connecting, within).await {
            Err(Connect::Failed(e)) => return explain(&e),
            Err(Connect::TimedOut(after)) => {
                return format!(
                    "the hub did not complete the handshake within {} s (busy or unreachable); trying again",
                    after.as_secs_f32()
                )
            }
            Ok(c) => c,
        },
    };
    let hub = match endpoint::peer_cert(&conn).map(|der| HubIdentity::from_der(&der)) {
        Some(Ok(hub)) => hub,
        Some(Err(e)) => {
            conn.close(1u32.into(), b"not a hub certificate");
            return format!("refused the hub: {e}");
        }
        None => {
            conn.close(1u32.into(), b"no certificate");
            return "refused the hub: no certificate".into();
        }
    };
    if let Some(slot) = shared.conns.lock().expect("connection lock").get_mut(index) {
        *slot = Some(conn.clone());
    }
    shared.set_link(index, true, None);
    info!(remote = %remote, "connected to the hub");
    let mut first = true;
    let serve = async {
        loop {
            match conn.accept_bi().await {
                Ok((send, recv)) => {
                    if first {
                        // The handshake only truly succeeded once the hub talks:
                        // under TLS 1.3 a refused client certificate shows here.
                        backoff.reset();
                        first = false;
                    }
                    let shared = shared.clone();
                    tokio::spawn(handle_stream(
                        shared,
                        creds.clone(),
                        hub.public_key,
                        send,
                        recv,
                    ));
                }
                Err(e) => return explain(&e),
            }
        }
    };
    // The node's keep-alives make a live hub answer at least once per
    // interval; three intervals of silence and the hub is taken for gone.
    let watch = liveness::Watch::keep_alive(shared.config.link.keep_alive);
    let reason = tokio::select! {
        r = serve => r,
        () = renewal_or_renewed(shared, index, &creds, &conn) => {
            conn.close(0u32.into(), b"certificate renewed");
            RENEWED.to_string()
        }
        Some(silent) = liveness::silent(&conn, watch) => {
            conn.close(0u32.into(), b"nothing heard from the hub");
            format!("the hub stopped answering (nothing heard for {:.1} s); reconnecting", silent.as_secs_f32())
        }
    };
    if let Some(slot) = shared.conns.lock().expect("connection lock").get_mut(index) {
        *slot = None;
    }
    reason
}

/// The first link renews the certificate when due; the links to other
/// hub instances end once it has been renewed, to reconnect with it.
async fn renewal_or_renewed(
    shared: &Shared,
    index: usize,
    creds: &Arc<Credentials>,
    conn: &quinn::Connection,
) {
    if index == 0 {
        return renewal_watch(shared, conn).await;
    }
    while Arc::ptr_eq(&shared.creds(), creds) {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}
