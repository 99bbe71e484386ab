//! # passerelle-link
//!
//! What the node and the hub share, below both: the thin IO glue (QUIC
//! endpoints with the transport settings of the link, framed messages on
//! QUIC streams, the peer certificate of a connection, the jittered backoff
//! of reconnection, the local admin socket), the listings both command lines
//! print, the backup archive format, store locks and the shutdown signal.
//! Protocol decisions live in `passerelle-protocol`; this crate knows no
//! storage engine (stores implement its backup traits) and never depends on
//! `passerelle-node` or a hub crate.
//!
//! ## Layout
//! - [`endpoint`]: server and client endpoints, transport settings.
//! - [`stream`]: one framed message in, one out, with size limits.
//! - [`liveness`]: a dead peer noticed in seconds, from QUIC's own counters.
//! - [`backoff`]: reconnection delays.
//! - [`output`]: listings as table, CSV or JSON, for both command lines.
//! - [`listings`]: the listings both command lines print (audit records).
//! - [`http`]: serving an axum router over plain HTTP or HTTPS with the
//!   same timeouts and stop (the hub's portal, the node's metrics).
//! - [`admin`]: the owner-only Unix socket that CLI commands use to reach a
//!   running `serve`.
//! - [`backup`]: the backup archive (MANIFEST, store dump, files) over a
//!   store interface.
//! - [`lock`]: advisory file locks that say "held by another process".
//! - [`debris`]: temporary and orphan files left by interrupted writes.
//! - [`disk`]: free space checked before large writes.
//! - [`health`]: storage health (degraded while writes fail), the probe
//!   loop that brings it back, and engine panics contained.
//! - [`shutdown`]: Ctrl-C or SIGTERM.

pub mod admin;
pub mod backoff;
pub mod backup;
pub mod debris;
pub mod disk;
pub mod endpoint;
pub mod health;
pub mod http;
pub mod listings;
pub mod liveness;
pub mod lock;
pub mod output;
pub mod shutdown;
pub mod stream;

/// Errors moving bytes over the link or the admin socket.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// A frame broke the size rules.
    #[error(transparent)]
    Frame(#[from] passerelle_protocol::frame::FrameError),
    /// A message could not be encoded or decoded.
    #[error(transparent)]
    Codec(#[from] passerelle_protocol::codec::CodecError),
    /// The QUIC connection failed or was closed.
    #[error("connection: {0}")]
    Connection(#[from] quinn::ConnectionError),
    /// The connection could not be started.
    #[error("connect: {0}")]
    Connect(#[from] quinn::ConnectError),
    /// Reading a stream failed.
    #[error("read: {0}")]
    Read(String),
    /// Writing a stream failed.
    #[error("write: {0}")]
    Write(String),
    /// The peer took too long.
    #[error("timed out after {0:?}")]
    Timeout(std::time::Duration),
    /// Local IO (socket, file).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// TLS configuration could not be turned into QUIC configuration.
    #[error("TLS configuration unusable for QUIC: {0}")]
    Tls(String),
}

/// Creates a state folder readable by its owner only, or tightens an
/// existing one to owner-only.
///
/// # Errors
/// When it cannot be created, or the path exists and is not a folder.
pub fn create_private_dir(root: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if !root.exists() {
        return std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root);
    }
    if !root.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "exists but is not a folder",
        ));
    }
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700))
}

/// The current time as seconds since the Unix epoch.
pub fn now() -> passerelle_protocol::UnixTime {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Sixteen random bytes, for query ids and nonces.
pub fn random16() -> [u8; 16] {
    let mut b = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .expect("the OS random source works");
    b
}

/// Starts logging to stderr: level from `PASSERELLE_LOG` (default `info`,
/// e.g. `debug` or `passerelle_node=debug`), one JSON object per line when
/// `PASSERELLE_LOG_FORMAT=json` (for journald or a log collector), plain
/// text otherwise.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PASSERELLE_LOG")
        .unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("PASSERELLE_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}
