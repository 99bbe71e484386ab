//! The running hub: the QUIC listener nodes dial, the web portal, and the
//! admin socket. One task per connection; every task ends when the hub
//! stops, and [`HubHandle::stop`] waits for them so the store is released.

use std::{
    net::SocketAddr,
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use passerelle_certs::{tls, NodeIdentity};
use passerelle_link::{admin, endpoint, liveness, now, stream};
use passerelle_protocol::{
    enroll::{EnrollRequest, EnrollResponse},
    frame::MAX_CONTROL_FRAME,
    ids::NodeId,
    ALPN_ENROLL, ALPN_LINK,
};
use tokio::{
    net::TcpListener,
    sync::{mpsc, watch},
    task::JoinHandle,
};
use tracing::{debug, info, info_span, warn, Instrument};

use passerelle_certs::Ca;
use passerelle_hub_core::{
    federation::Federation,
    ops::{self, Hub},
    ratelimit::RateLimiter,
    registry::{
        Live, Registry, StoreGate, CLOSE_CONTESTED, CLOSE_NO_CERT, CLOSE_REVOKED, CLOSE_SHUTDOWN,
    },
    store::StoreError,
    HubError, Refusal,
};
use passerelle_observatory::Observatory;

/// Addresses that override `hub.toml`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Listen {
    /// QUIC listener.
    pub quic: Option<SocketAddr>,
    /// Web portal.
    pub http: Option<SocketAddr>,
}

/// What the hub's tasks share. The CA lives here, for the QUIC side
/// (enrollment and renewal); the portal gets [`Ctx::portal`], which holds
/// no CA.
pub struct Ctx {
    /// The loaded hub (no CA key).
    pub hub: Arc<Hub>,
    /// The CA that issues node certificates.
    pub ca: Ca,
    /// Connected nodes.
    pub registry: Arc<Registry>,
    /// Signed queries to nodes.
    pub fed: Federation,
    /// Indicators and their latest results.
    pub observatory: Arc<Observatory>,
    /// The web layer's state (it holds the vault service).
    pub portal: Arc<passerelle_portal::Ctx>,
    /// Enrollment attempts per address.
    pub limiter: RateLimiter,
    /// Diagnostic probes per address, counted apart from enrollments so a
    /// doctor run never uses up a node's enrollment attempts.
    pub probe_limiter: RateLimiter,
    /// Handshakes and connections of the QUIC listener.
    pub admission: Arc<crate::admission::Admission>,
}

impl Ctx {
    /// The vault service.
    pub fn vault(&self) -> &passerelle_vault::Vault {
        &self.portal.vault
    }
}

/// A hub running in this process.
pub struct HubHandle {
    /// Where the QUIC listener is bound.
    pub quic_addr: SocketAddr,
    /// Where the portal is bound.
    pub http_addr: SocketAddr,
    ctx: Arc<Ctx>,
    endpoint: quinn::Endpoint,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    done: (mpsc::Sender<()>, mpsc::Receiver<()>),
    root: std::path::PathBuf,
}

impl HubHandle {
    /// The shared state (registry, store, keys).
    pub fn ctx(&self) -> &Arc<Ctx> {
        &self.ctx
    }

    /// The live connection of a node, if connected.
    pub fn live(&self, node: &NodeId) -> Option<Live> {
        self.ctx.registry.get(node)
    }

    /// Stops the hub: nodes are told, tasks end, and it returns once the
    /// UDP port and the store are released (so the same folder and address
    /// can be served again at once).
    pub async fn stop(self) {
        let HubHandle {
            quic_addr,
            ctx,
            endpoint,
            stop,
            tasks,
            done: (done_tx, mut done_rx),
            root,
            ..
        } = self;
        let _ = stop.send(true);
        // Dropping the server config drops the handshake gate and its store.
        endpoint.set_server_config(None);
        endpoint.close(CLOSE_SHUTDOWN.into(), b"hub shutting down");
        let _ = tokio::time::timeout(Duration::from_secs(3), endpoint.wait_idle()).await;
        for mut t in tasks {
            if tokio::time::timeout(Duration::from_secs(3), &mut t)
                .await
                .is_err()
            {
                t.abort();
                let _ = t.await;
            }
        }
        drop(endpoint);
        drop(done_tx);
        let _ = tokio::time::timeout(Duration::from_secs(5), done_rx.recv()).await;
        let released = async {
            while std::net::UdpSocket::bind(quic_addr).is_err() || Arc::strong_count(&ctx) > 1 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(5), released)
            .await
            .is_err()
        {
            warn!("hub resources still held after stop");
        }
        let _ = ctx.hub.store.flush();
        let _ = std::fs::remove_file(root.join(admin::SOCKET));
        drop(ctx);
    }
}

/// The map's shapes: the built-in schematic map, or the boundary file
/// `hub.toml` names.
fn geometry(
    config: &passerelle_config::HubConfig,
) -> Result<passerelle_portal::map::Geometry, HubError> {
    use passerelle_portal::map::Geometry;
    let Some(path) = &config.boundaries else {
        return Ok(Geometry::schematic());
    };
    let text = std::fs::read_to_string(path).map_err(|source| HubError::Io {
        path: path.clone(),
        source,
    })?;
    Geometry::from_geojson(&text, &config.boundaries_code_property).map_err(|why| {
        HubError::from(Refusal::BadFile {
            what: format!("{} (boundaries in hub.toml)", path.display()),
            why,
        })
    })
}

/// Starts the hub of folder `root`.
///
/// # Errors
/// When another process serves the folder, a file is unusable, or an
/// address cannot be bound.
pub async fn start(root: &Path, listen: Listen, demo: bool) -> Result<HubHandle, HubError> {
    passerelle_hub_core::paths::HubDir::existing(root)?;
    let admin_listener = admin::bind(root).await?;
    let hub = open_hub(root).await?;
    let bound = bind(&hub, listen).await?;
    let tls = match (&hub.config.https_cert, &hub.config.https_key) {
        (Some(cert), Some(key)) => Some(passerelle_portal::https::acceptor(cert, key)?),
        _ => None,
    };
    let ctx = wire(hub, demo)?;
    // Debris of interrupted uploads, before any upload can start.
    if let Err(error) =
        passerelle_vault::debris::collect(&ctx.hub.dir.vault(), &ctx.vault().store, Duration::ZERO)
    {
        warn!(%error, "debris not collected at start");
    }
    let (stop, stop_rx) = watch::channel(false);
    let (done_tx, done_rx) = mpsc::channel(1);
    let upstream = crate::upstream::spawn(&ctx, stop_rx.clone());
    let mut tasks = vec![
        tokio::spawn(accept_loop(
            ctx.clone(),
            bound.endpoint.clone(),
            stop_rx.clone(),
            done_tx.clone(),
        )),
        tokio::spawn(passerelle_portal::serve(
            ctx.portal.clone(),
            bound.http,
            stop_rx.clone(),
            tls,
        )),
        serve_admin(ctx.clone(), admin_listener, stop_rx.clone()),
        sweep_debris(&ctx, stop_rx.clone()),
        watch_storage(&ctx, stop_rx.clone()),
        crate::notices::spawn(&ctx, stop_rx.clone()),
        schedule_refresh(&ctx, stop_rx),
    ];
    // Hub of hubs: the link to the national hub, when enrolled with one.
    tasks.extend(upstream);
    info!(quic = %bound.quic_addr, http = %bound.http_addr, "hub started");
    Ok(HubHandle {
        quic_addr: bound.quic_addr,
        http_addr: bound.http_addr,
        ctx,
        endpoint: bound.endpoint,
        stop,
        tasks,
        done: (done_tx, done_rx),
        root: root.to_path_buf(),
    })
}

/// Removes the debris of interrupted uploads every sweep interval, leaving
/// files younger than the minimum age, and the expired link and reset
/// codes, until `stop`.
fn sweep_debris(ctx: &Arc<Ctx>, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    use passerelle_vault::debris::{collect, MIN_AGE, SWEEP_INTERVAL};
    let (vault, store) = (ctx.hub.dir.vault(), ctx.vault().store.clone());
    let retention = passerelle_vault::rights::Retention::of(&ctx.hub.config.vault);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(SWEEP_INTERVAL) => {}
                _ = stop.changed() => return,
            }
            if let Err(error) = collect(&vault, &store, MIN_AGE) {
                warn!(%error, "debris sweep failed");
            }
            // Expired link and reset codes go with the debris.
            if let Err(error) =
                passerelle_vault::links::purge_expired(&store, passerelle_link::now())
            {
                warn!(%error, "expired codes not purged");
            }
            if let Err(error) = store.purge_verifications(passerelle_link::now()) {
                warn!(%error, "expired verifications not purged");
            }
            // Ended shares' keys, journals past their time, inactive accounts.
            match passerelle_vault::rights::sweep(
                &vault,
                &store,
                &retention,
                passerelle_link::now(),
            ) {
                Ok(s) if !s.warned.is_empty() || !s.deleted.is_empty() => {
                    if let Err(error) = passerelle_vault::notices::queue_inactivity_warnings(
                        &store,
                        &s.warned,
                        passerelle_link::now(),
                    ) {
                        warn!(%error, "inactivity warnings not queued");
                    }
                    info!(
                        warned = s.warned.len(),
                        deleted = s.deleted.len(),
                        "inactive vault accounts"
                    );
                }
                Ok(_) => {}
                Err(error) => warn!(%error, "vault rights sweep failed"),
            }
        }
    })
}

/// Opens the hub folder. A command that found no server a moment ago may
/// hold the store for a few milliseconds: wait for it rather than fail.
async fn open_hub(root: &Path) -> Result<Hub, HubError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match Hub::open(root) {
            Err(HubError::Store(StoreError::Locked { .. }))
                if tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
}

/// The QUIC endpoint and the portal's listener, bound.
struct Bound {
    endpoint: quinn::Endpoint,
    http: TcpListener,
    quic_addr: SocketAddr,
    http_addr: SocketAddr,
}

/// Binds the QUIC listener (mutual TLS: every current CA trusted, the hub
/// certificate and its issuer presented) and the portal's TCP listener.
async fn bind(hub: &Hub, listen: Listen) -> Result<Bound, HubError> {
    let quic = listen.quic.unwrap_or(hub.config.quic_listen);
    let http = listen.http.unwrap_or(hub.config.http_listen);
    let gate = Arc::new(StoreGate {
        store: hub.store.clone(),
    });
    let chain = [hub.hub_cert_der.clone(), hub.hub_issuer_der.clone()];
    let tls = tls::hub_server_config(&hub.trusted_cas, &chain, &hub.hub_key_pkcs8, gate)?;
    // Keep-alives at the liveness pace: a quiet link still carries a PING
    // each interval, which a live node acknowledges.
    let pace = endpoint::Liveness {
        keep_alive: hub.config.liveness_interval,
        ..Default::default()
    };
    let intake = endpoint::Intake::default();
    let endpoint = endpoint::server(quic, tls, pace, &hub.hub_key_pkcs8, intake).map_err(|e| match e {
        passerelle_link::LinkError::Io(source) => HubError::Io {
            path: format!("QUIC listen address {quic} (is another hub running? else change quic_listen in hub.toml)").into(),
            source,
        },
        other => other.into(),
    })?;
    let http_listener = TcpListener::bind(http)
        .await
        .map_err(|source| HubError::Io {
            path: format!("HTTP listen address {http} (is another hub running? else change http_listen in hub.toml)").into(),
            source,
        })?;
    let quic_addr = endpoint.local_addr().map_err(|source| HubError::Io {
        path: "QUIC socket".into(),
        source,
    })?;
    let http_addr = http_listener.local_addr().map_err(|source| HubError::Io {
        path: "HTTP socket".into(),
        source,
    })?;
    Ok(Bound {
        endpoint,
        http: http_listener,
        quic_addr,
        http_addr,
    })
}

/// Builds the areas over the loaded hub: the CA for the QUIC side, the
/// federation, the observatory, and the portal's state (without the CA).
fn wire(hub: Hub, demo: bool) -> Result<Arc<Ctx>, HubError> {
    let limiter = RateLimiter::new(hub.config.enroll_per_minute.get());
    let probe_limiter = RateLimiter::new(hub.config.probe_per_minute.get());
    let admission = crate::admission::Admission::new(hub.config.quic());
    let catalog = passerelle_observatory::catalog::load_catalog(hub.config.catalog_dir.as_deref())
        .map_err(|e| Refusal::BadFile {
            what: "catalog".into(),
            why: e.to_string(),
        })?;
    let geometry = geometry(&hub.config)?;
    let ca = ops::load_ca(&hub)?;
    let hub = Arc::new(hub);
    let registry = Arc::new(Registry::default());
    let fed = Federation {
        hub: hub.clone(),
        registry: registry.clone(),
    };
    let programmes = passerelle_observatory::programme::load(
        hub.config.catalog_dir.as_deref(),
        &catalog.indicators,
    )
    .map_err(|e| Refusal::BadFile {
        what: "catalog".into(),
        why: e.to_string(),
    })?;
    let mut observatory = Observatory::with_catalog(catalog, hub.store.clone())
        .with_populations(crate::population::load(hub.dir.root())?);
    observatory.programmes = programmes;
    let observatory = Arc::new(observatory);
    let senders =
        passerelle_vault::notify::Senders::from_config(&hub.config, demo).map_err(|e| {
            Refusal::BadFile {
                what: "[mail] or [sms] in hub.toml".into(),
                why: e.to_string(),
            }
        })?;
    match senders.describe() {
        (None, None) if senders.show => {
            warn!(
                "no mail nor sms sender: codes are shown on screen and logged (demonstration only)"
            );
        }
        (None, None) => {
            warn!("no mail nor sms sender in hub.toml: vault accounts can be created at the counter only");
        }
        (mail, sms) => info!(mail = ?mail, sms = ?sms, "codes and notices senders"),
    }
    let portal = Arc::new(
        passerelle_portal::Ctx::new(fed.clone(), observatory.clone(), geometry, demo)
            .with_senders(senders),
    );
    Ok(Arc::new(Ctx {
        hub,
        ca,
        registry,
        fed,
        observatory,
        portal,
        limiter,
        probe_limiter,
        admission,
    }))
}

/// Answers other commands on the admin socket until the hub stops.
fn serve_admin(
    ctx: Arc<Ctx>,
    listener: tokio::net::UnixListener,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let serve = admin::serve(listener, move |req| {
            let ctx = ctx.clone();
            async move { crate::admin::dispatch_live(&ctx, req).await }
        });
        tokio::select! {
            _ = serve => {}
            _ = stop.changed() => {}
        }
    })
}

/// Refreshes the indicators on the configured schedule until the hub stops.
/// Probes the store now and then, and brings it back after a write
/// failure once the disk has room (see `passerelle_link::health`).
fn watch_storage(ctx: &Ctx, stop: watch::Receiver<bool>) -> JoinHandle<()> {
    let store = ctx.hub.store.clone();
    tokio::spawn(passerelle_link::health::watch(
        store.health().clone(),
        move || store.probe(),
        passerelle_link::health::Probing::default(),
        stop,
    ))
}

fn schedule_refresh(ctx: &Ctx, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    let every = ctx.hub.config.refresh_interval;
    let first = ctx.hub.config.refresh_after_start.min(every);
    let (observatory, fed) = (ctx.observatory.clone(), ctx.fed.clone());
    tokio::spawn(async move {
        tokio::select! {
            _ = passerelle_observatory::refresh::schedule(observatory, fed, first, every) => {}
            _ = stop.changed() => {}
        }
    })
}

async fn accept_loop(
    ctx: Arc<Ctx>,
    endpoint: quinn::Endpoint,
    mut stop: watch::Receiver<bool>,
    done: mpsc::Sender<()>,
) {
    loop {
        let incoming = tokio::select! {
            i = endpoint.accept() => i,
            _ = stop.changed() => return,
        };
        let Some(incoming) = incoming else { return };
        let ctx = ctx.clone();
        let done = done.clone();
        tokio::spawn(async move {
            handle_incoming(ctx, incoming).await;
            drop(done);
        });
    }
}

/// Admission first (see [`crate::admission`]), then the handshake within
/// its own deadline, then the protocol's room and handler. The tickets
/// hold the attempt's place, then the connection's, until this returns.
async fn handle_incoming(ctx: Arc<Ctx>, incoming: quinn::Incoming) {
    use crate::admission::HandshakeRefusal;
    let remote = incoming.remote_address();
    let Some((connecting, ticket)) = ctx.admission.handle_incoming(incoming) else {
        return;
    };
    let deadline = ctx.admission.limits().handshake_timeout;
    let conn = match tokio::time::timeout(deadline, connecting).await {
        Ok(Ok(c)) => c,
        Ok(Err(error)) => {
            match HandshakeRefusal::from_handshake(&error) {
                Some(refusal) => refusal.record(&ctx.admission, remote, &error.to_string()),
                None => debug!(%remote, %error, "handshake failed"),
            }
            return;
        }
        // Dropping the handshake closes it.
        Err(_) => {
            HandshakeRefusal::Timeout.record(&ctx.admission, remote, "handshake deadline");
            return;
        }
    };
    let _place = ticket.established();
    match endpoint::alpn(&conn).as_deref() {
        Some(ALPN_LINK) => handle_link(ctx, conn, remote).await,
        Some(ALPN_ENROLL) => {
            endpoint::one_exchange(&conn);
            handle_enroll(ctx, conn, remote).await
        }
        Some(passerelle_protocol::ALPN_PROBE) => {
            endpoint::one_exchange(&conn);
            handle_probe(ctx, conn, remote).await
        }
        _ => {
            HandshakeRefusal::WrongAlpn.record(&ctx.admission, remote, "no protocol agreed");
            conn.close(1u32.into(), b"unknown protocol");
        }
    }
}

async fn handle_link(ctx: Arc<Ctx>, conn: quinn::Connection, remote: SocketAddr) {
    // Certificates are optional at the TLS layer only because enrollment
    // shares the port; the link refuses a peer without one before anything.
    let Some((identity, cert_der)) = endpoint::peer_cert(&conn)
        .and_then(|der| NodeIdentity::from_der(&der).ok().map(|id| (id, der)))
    else {
        crate::admission::HandshakeRefusal::NoCertificate.record(
            &ctx.admission,
            remote,
            "link without a node certificate",
        );
        conn.close(CLOSE_NO_CERT.into(), b"client certificate required");
        return;
    };
    // The handshake gate already ran; check again here so that no TLS path
    // (resumption, a future config change) can bypass revocation.
    if let Err(reason) = passerelle_certs::tls::PeerGate::admit(
        &StoreGate {
            store: ctx.hub.store.clone(),
        },
        &identity,
    ) {
        let detail = format!("{}: {reason}", identity.node_id);
        crate::admission::HandshakeRefusal::Revoked.record(&ctx.admission, remote, &detail);
        conn.close(CLOSE_REVOKED.into(), reason.as_bytes());
        return;
    }
    let node = identity.node_id.clone();
    // Connected with its newest certificate: older ones of the node stop
    // working, and the node's certificate facts come from this one.
    if let Err(error) =
        passerelle_hub_core::renewal::connected_with(&ctx.hub.store, &identity, now())
    {
        warn!(%error, node = %node, "older certificates not revoked");
    }
    endpoint::open_link(&conn);
    let span = info_span!("connection", node = %node, %remote);
    async {
        let gate = gate_again(ctx.hub.store.clone(), identity.clone(), conn.clone(), ctx.hub.config.status_interval);
        let live = Live::new(conn.clone(), identity, cert_der, now());
        if let Err(held) = ctx.registry.admit(live.clone()) {
            let why = format!("connections fight over this node id; retry in {} s", held.left.as_secs().max(1));
            conn.close(CLOSE_CONTESTED.into(), why.as_bytes());
            return;
        }
        info!("node connected");
        tokio::spawn(crate::requests::serve(ctx.clone(), live.clone()).in_current_span());
        let config = &ctx.hub.config;
        let vault = ctx.vault().store.clone();
        let revoked = move |node: &NodeId, at| passerelle_vault::consent::revoked_for(&vault, node, at);
        // The status poll ends when the connection closes; the watch closes
        // it when the node falls silent.
        let watch = liveness::Watch { every: config.liveness_interval, silence: config.dead_after };
        tokio::select! {
            () = passerelle_hub_core::federation::poll_status(ctx.hub.store.clone(), &ctx.hub.key, live.clone(), config.status_interval, config.query_timeout, &ctx.hub.trusted_cas, &revoked) => {}
            _ = ctx.registry.watch(&live, watch) => {}
            // Persons who left the vault or unlinked this institution.
            () = passerelle_vault::rights::tell_node_while_connected(ctx.vault().store.clone(), &ctx.hub.key, live.clone(), config.status_interval, config.query_timeout) => {}
            // Revoked or superseded through another instance.
            () = gate => {}
        }
        ctx.registry.remove(&node, &conn);
        info!(reason = %conn.close_reason().map(|r| r.to_string()).unwrap_or_default(), "node disconnected");
    }
    .instrument(span)
    .await
}

/// With a store other hub instances share, runs the handshake gate again
/// every `every`: a node revoked, or whose certificate a renewal
/// superseded, through another instance loses its link to this one too.
/// Never ends on a store of its own, where this instance made the change
/// and closed the link itself.
async fn gate_again(
    store: passerelle_hub_core::store::Store,
    identity: NodeIdentity,
    conn: quinn::Connection,
    every: Duration,
) {
    if !store.is_shared() {
        return std::future::pending().await;
    }
    let gate = StoreGate { store };
    loop {
        tokio::time::sleep(every).await;
        if let Err(reason) = passerelle_certs::tls::PeerGate::admit(&gate, &identity) {
            warn!(node = %identity.node_id, %reason, "link closed: refused by the store since it opened");
            conn.close(CLOSE_REVOKED.into(), reason.as_bytes());
            return;
        }
    }
}

async fn handle_enroll(ctx: Arc<Ctx>, conn: quinn::Connection, remote: SocketAddr) {
    if !ctx.limiter.handle_attempt(remote.ip(), now()) {
        if let Some(left_out) = ctx.admission.log.handle_event(remote.ip(), Instant::now()) {
            warn!(%remote, left_out, "enrollment refused: rate limit");
        }
        conn.close(
            1u32.into(),
            b"too many enrollment attempts from this address; wait a minute",
        );
        return;
    }
    let exchange = async {
        let (mut send, mut recv) = conn.accept_bi().await?;
        let req: EnrollRequest = stream::read_message(&mut recv, MAX_CONTROL_FRAME).await?;
        let resp = ops::redeem(&ctx.hub, &ctx.ca, &req, now());
        if let EnrollResponse::Refused(reason) = &resp {
            if let Some(left_out) = ctx.admission.log.handle_event(remote.ip(), Instant::now()) {
                warn!(%remote, %reason, left_out, "enrollment refused");
            }
        }
        stream::write_message(&mut send, &resp, MAX_CONTROL_FRAME).await?;
        Ok::<_, passerelle_link::LinkError>(())
    };
    match tokio::time::timeout(Duration::from_secs(15), exchange).await {
        Ok(Ok(())) => {
            let _ = tokio::time::timeout(Duration::from_secs(5), conn.closed()).await;
        }
        Ok(Err(error)) => debug!(%remote, %error, "enrollment exchange failed"),
        Err(_) => conn.close(1u32.into(), b"enrollment timed out"),
    }
}

/// A node's doctor asks: the hub's clock and version, and whether the
/// certificate it presented is admitted (the handshake gate already ran).
/// Nothing is registered; the serving link of the same node is untouched.
async fn handle_probe(ctx: Arc<Ctx>, conn: quinn::Connection, remote: SocketAddr) {
    if !ctx.probe_limiter.handle_attempt(remote.ip(), now()) {
        conn.close(
            1u32.into(),
            b"too many diagnostic probes from this address; wait a minute",
        );
        return;
    }
    let admitted = endpoint::peer_cert(&conn)
        .and_then(|der| NodeIdentity::from_der(&der).ok())
        .filter(|id| {
            passerelle_certs::tls::PeerGate::admit(
                &StoreGate {
                    store: ctx.hub.store.clone(),
                },
                id,
            )
            .is_ok()
        })
        .map(|id| id.node_id);
    let exchange = async {
        let (mut send, mut recv) = conn.accept_bi().await?;
        let _node_protocol: u16 = stream::read_message(&mut recv, MAX_CONTROL_FRAME).await?;
        let reply = passerelle_protocol::message::ProbeReply {
            hub_time: now(),
            protocol: passerelle_protocol::PROTOCOL_VERSION,
            version: crate::VERSION.to_string(),
            admitted,
        };
        stream::write_message(&mut send, &reply, MAX_CONTROL_FRAME).await?;
        Ok::<_, passerelle_link::LinkError>(())
    };
    match tokio::time::timeout(Duration::from_secs(10), exchange).await {
        Ok(Ok(())) => {
            let _ = tokio::time::timeout(Duration::from_secs(5), conn.closed()).await;
        }
        Ok(Err(error)) => debug!(%remote, %error, "probe exchange failed"),
        Err(_) => conn.close(1u32.into(), b"probe timed out"),
    }
}
