//! QUIC endpoints and the transport settings of the link.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};

use crate::LinkError;

/// Keep-alive and idle timeout of a link.
#[derive(Debug, Clone, Copy)]
pub struct Liveness {
    /// Interval of keep-alive packets.
    pub keep_alive: Duration,
    /// Silence after which the connection is dropped.
    pub idle_timeout: Duration,
}

impl Default for Liveness {
    fn default() -> Self {
        Self {
            keep_alive: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(30),
        }
    }
}

/// Bidirectional streams a node may have open at once towards the hub on
/// its link (its own requests: link codes, renewal).
pub const LINK_STREAMS: u32 = 8;

/// Connection-wide receive window of a link: room for a few documents
/// streaming at once, never unbounded.
pub const LINK_RECEIVE_WINDOW: u32 = 16 << 20;

/// Connection-wide receive window of a short exchange (enrollment, probe)
/// and of any connection before its protocol is known.
pub const EXCHANGE_RECEIVE_WINDOW: u32 = 64 << 10;

/// Per-stream receive window. Documents stream over the link: a window of
/// a few MiB keeps a fast path full without letting one stream hold much
/// memory.
const STREAM_RECEIVE_WINDOW: u32 = 4 << 20;

fn transport(l: Liveness) -> quinn::TransportConfig {
    let mut t = quinn::TransportConfig::default();
    t.keep_alive_interval(Some(l.keep_alive));
    t.max_idle_timeout(quinn::IdleTimeout::try_from(l.idle_timeout).ok());
    t.stream_receive_window(STREAM_RECEIVE_WINDOW.into());
    t.send_window(16 << 20);
    // Nobody on the link opens unidirectional streams.
    t.max_concurrent_uni_streams(0u32.into());
    t
}

/// The client side (a node): the hub opens the streams, a few hundred at
/// most at once; the connection's receive window is bounded (queries and
/// replies are control frames).
fn client_transport(l: Liveness) -> Arc<quinn::TransportConfig> {
    let mut t = transport(l);
    t.max_concurrent_bidi_streams(256u32.into());
    t.receive_window(LINK_RECEIVE_WINDOW.into());
    Arc::new(t)
}

/// The server side (the hub), before the protocol is known: one stream and
/// a small window. The protocol's own room is given once the handshake
/// names it ([`open_link`], [`one_exchange`]): nothing sent before then
/// can use more.
fn server_transport(l: Liveness) -> Arc<quinn::TransportConfig> {
    let mut t = transport(l);
    t.max_concurrent_bidi_streams(1u32.into());
    t.receive_window(EXCHANGE_RECEIVE_WINDOW.into());
    Arc::new(t)
}

/// Gives an authenticated link its room: [`LINK_STREAMS`] concurrent
/// requests and [`LINK_RECEIVE_WINDOW`].
pub fn open_link(conn: &quinn::Connection) {
    conn.set_max_concurrent_bi_streams(LINK_STREAMS.into());
    conn.set_receive_window(LINK_RECEIVE_WINDOW.into());
}

/// Limits a connection to the one bidirectional stream it was granted at
/// the handshake (enrollment, probe): no credit for a second one is ever
/// sent, whatever happens to the first.
pub fn one_exchange(conn: &quinn::Connection) {
    conn.set_max_concurrent_bi_streams(0u32.into());
}

/// What a server endpoint buffers for connection attempts the hub has not
/// decided on yet.
#[derive(Debug, Clone, Copy)]
pub struct Intake {
    /// Undecided attempts held at most; beyond, new ones are dropped
    /// before any cryptography.
    pub max_incoming: usize,
}

impl Default for Intake {
    fn default() -> Self {
        Self { max_incoming: 1024 }
    }
}

/// A server endpoint bound to `addr` (port 0 picks a free port).
///
/// `reset_secret` seeds the key of QUIC stateless resets. Derive it from a
/// secret that survives restarts (the hub's key): a restarted server can
/// then reset the connections its previous process left open, and clients
/// notice at their next packet instead of waiting for the idle timeout.
/// `intake` bounds the attempts held before the hub decides on them.
///
/// # Errors
/// When the TLS config is not usable for QUIC or the socket cannot be bound.
pub fn server(
    addr: SocketAddr,
    tls: rustls::ServerConfig,
    l: Liveness,
    reset_secret: &[u8],
    intake: Intake,
) -> Result<quinn::Endpoint, LinkError> {
    let crypto = QuicServerConfig::try_from(tls).map_err(|e| LinkError::Tls(e.to_string()))?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(server_transport(l));
    // A client's first flight is a few datagrams; nothing else (no 0-RTT:
    // the hub issues no session tickets) is worth buffering before the
    // hub decides on the attempt.
    config.max_incoming(intake.max_incoming.max(1));
    config.incoming_buffer_size(16 << 10);
    config.incoming_buffer_size_total(
        (intake.max_incoming as u64)
            .saturating_mul(4 << 10)
            .max(1 << 20),
    );
    let mut seed = b"passerelle stateless reset v1".to_vec();
    seed.extend_from_slice(reset_secret);
    let digest = passerelle_protocol::sign::sha256(&seed);
    let reset_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &digest);
    let mut endpoint_config = quinn::EndpointConfig::new(Arc::new(reset_key));
    // The connection ids are checked against a keyed hash before a reset is
    // considered; the key must survive restarts too.
    let cid_key = u64::from_le_bytes(
        passerelle_protocol::sign::sha256(&digest)[..8]
            .try_into()
            .expect("8 bytes"),
    );
    endpoint_config.cid_generator(move || {
        Box::new(quinn_proto::HashedConnectionIdGenerator::from_key(cid_key))
    });
    // After a hub restart every node's next packet asks for a stateless
    // reset, the quickest way for it to learn the old connection is gone.
    // quinn's default (one reset per 20 ms, 50 a second) kept a thousand
    // nodes waiting up to their idle timeout. Resets are only sent for
    // connection ids that pass the keyed check above and are always smaller
    // than the packet that caused them, so a higher rate amplifies nothing.
    endpoint_config.min_reset_interval(std::time::Duration::from_millis(1));
    let socket = udp_socket(addr)?;
    let runtime =
        quinn::default_runtime().ok_or_else(|| LinkError::Tls("no async runtime".into()))?;
    Ok(quinn::Endpoint::new(
        endpoint_config,
        Some(config),
        socket,
        runtime,
    )?)
}

/// A client configuration for [`quinn::Endpoint::connect_with`].
///
/// # Errors
/// When the TLS config is not usable for QUIC.
pub fn client_config(
    tls: rustls::ClientConfig,
    l: Liveness,
) -> Result<quinn::ClientConfig, LinkError> {
    let crypto = QuicClientConfig::try_from(tls).map_err(|e| LinkError::Tls(e.to_string()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    config.transport_config(client_transport(l));
    Ok(config)
}

/// How long a connecting node waits for its handshake before it starts
/// afresh. A first packet the hub dropped while busy (a restart with
/// thousands of nodes coming back) is only resent on QUIC's growing probe
/// timeouts (about 1, 2, 4, 8, 16 s), so without this bound an unlucky node
/// waits for its whole idle timeout before trying again. Ten seconds is
/// several round trips of the slowest mobile link.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a connection attempt did not give a connection.
#[derive(Debug)]
pub enum Connect {
    /// QUIC or TLS said why.
    Failed(quinn::ConnectionError),
    /// No answer to the handshake within the bound.
    TimedOut(Duration),
}

/// Waits for a handshake at most `within`. On the bound, the attempt is
/// dropped (quinn forgets it) and the caller tries again after its
/// backoff.
///
/// # Errors
/// [`Connect::Failed`] with QUIC's reason, [`Connect::TimedOut`] on the
/// bound.
pub async fn handshake(
    connecting: quinn::Connecting,
    within: Duration,
) -> Result<quinn::Connection, Connect> {
    match tokio::time::timeout(within, connecting).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(Connect::Failed(e)),
        Err(_) => Err(Connect::TimedOut(within)),
    }
}

/// A client endpoint on an ephemeral port of the right address family.
///
/// # Errors
/// When the socket cannot be bound.
pub fn client(remote: SocketAddr) -> Result<quinn::Endpoint, LinkError> {
    let bind: SocketAddr = if remote.is_ipv6() {
        "[::]:0".parse().expect("addr")
    } else {
        "0.0.0.0:0".parse().expect("addr")
    };
    let runtime =
        quinn::default_runtime().ok_or_else(|| LinkError::Tls("no async runtime".into()))?;
    Ok(quinn::Endpoint::new(
        quinn::EndpointConfig::default(),
        None,
        udp_socket(bind)?,
        runtime,
    )?)
}

/// Socket buffer asked for on each side of the link (the kernel caps it at
/// `net.core.rmem_max` / `wmem_max`).
pub const SOCKET_BUFFER: usize = 4 << 20;

/// A UDP socket with room for bursts: with the kernel's default buffer
/// (about 208 KiB) a document streaming at full speed overflows it, the
/// lost datagrams read as congestion, and the link slows down.
fn udp_socket(addr: SocketAddr) -> Result<std::net::UdpSocket, LinkError> {
    let socket = socket2::Socket::new(
        socket2::Domain::for_address(addr),
        socket2::Type::DGRAM,
        Some(socket2::Protocol::UDP),
    )?;
    if addr.is_ipv6() {
        // Accept IPv4 too on a wildcard IPv6 address, like std does.
        let _ = socket.set_only_v6(false);
    }
    // Best effort: a smaller buffer works, only slower.
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// The DER certificate the peer presented, if any.
pub fn peer_cert(conn: &quinn::Connection) -> Option<Vec<u8>> {
    let identity = conn.peer_identity()?;
    let chain = identity
        .downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>()
        .ok()?;
    chain.first().map(|c| c.to_vec())
}

/// The ALPN protocol the connection agreed on.
pub fn alpn(conn: &quinn::Connection) -> Option<Vec<u8>> {
    let data = conn.handshake_data()?;
    data.downcast::<quinn::crypto::rustls::HandshakeData>()
        .ok()?
        .protocol
}
