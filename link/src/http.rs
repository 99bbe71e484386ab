//! HTTP serving for both binaries: the hub's portal (plain HTTP behind a
//! reverse proxy, or HTTPS with its own certificate files) and the node's
//! metrics endpoint. One accept loop and one connection driver for both
//! modes, so the timeouts, the connection caps, the peer address handed
//! to handlers and the stop are the same whether TLS is on or off.
//!
//! It serves an axum [`Router`] and knows nothing of what the router does
//! (request body sizes are the router's business, with axum's
//! `DefaultBodyLimit`).
//!
//! - [`admission`]: the connection caps, in all and per address.
//! - [`body`]: the body timeout.

pub mod admission;
pub mod body;

use std::{future::Future, net::SocketAddr, time::Duration};

use axum::{extract::ConnectInfo, Router};
use hyper::{body::Incoming, Request};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    service::TowerToHyperService,
};
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::{TcpListener, TcpStream},
    sync::watch,
    task::JoinSet,
};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

pub use admission::Caps;
use admission::{Admission, Slot};
use body::TimedBody;

/// How long a client may take at each step of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// To finish the TLS handshake (HTTPS only).
    pub handshake: Duration,
    /// To send a request's headers, counted from the start of the
    /// connection or the end of the previous response. It is therefore
    /// also how long an idle keep-alive connection stays open.
    pub header_read: Duration,
    /// Longest pause while a request body arrives: a handler reading the
    /// body gets an error once the client has sent nothing for this long.
    pub body: Duration,
    /// After the stop signal, how long requests in flight may run before
    /// their connections are cut.
    pub grace: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            handshake: Duration::from_secs(10),
            header_read: Duration::from_secs(10),
            body: Duration::from_secs(30),
            grace: Duration::from_secs(5),
        }
    }
}

/// Serves `app` on `listener` until `stop` completes: over TLS when `tls`
/// is given, plain HTTP/1.1 otherwise. Handlers can extract
/// `ConnectInfo<SocketAddr>` in both modes.
///
/// A connection over one of the `caps` is closed as soon as it is
/// accepted, before any TLS work.
///
/// At the stop, no new connection is accepted, idle connections close,
/// requests in flight get [`Timeouts::grace`] to finish, and whatever is
/// left is cut; the function returns when every connection task is gone.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    timeouts: Timeouts,
    caps: Caps,
    stop: impl Future<Output = ()>,
) {
    let admission = Admission::new(caps);
    let (closing, closed) = watch::channel(());
    let mut connections = JoinSet::new();
    tokio::pin!(stop);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut stop => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors, say: back off instead of spinning.
                    tracing::warn!(%error, "HTTP accept failed");
                    tokio::select! {
                        () = &mut stop => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            },
        };
        let slot = match admission.admit(peer.ip()) {
            Ok(slot) => slot,
            Err(refusal) => {
                tracing::debug!(%peer, ?refusal, "HTTP connection over its cap closed");
                drop(tcp);
                continue;
            }
        };
        connections.spawn(connection(
            slot,
            tcp,
            peer,
            app.clone(),
            tls.clone(),
            timeouts,
            closed.clone(),
        ));
    }
    drop(listener);
    let _ = closing.send(());
    let drained = tokio::time::timeout(timeouts.grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::debug!(left = connections.len(), "HTTP connections cut at stop");
        connections.shutdown().await;
    }
}

/// One accepted connection, holding its `slot` to the end: the TLS
/// handshake when there is one, then HTTP.
async fn connection(
    slot: Slot,
    tcp: TcpStream,
    peer: SocketAddr,
    app: Router,
    tls: Option<TlsAcceptor>,
    timeouts: Timeouts,
    closing: watch::Receiver<()>,
) {
    let Some(acceptor) = tls else {
        return drive(tcp, peer, app, timeouts, closing).await;
    };
    match tokio::time::timeout(timeouts.handshake, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => drive(stream, peer, app, timeouts, closing).await,
        Ok(Err(error)) => tracing::debug!(%error, %peer, "TLS handshake failed"),
        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
    }
    drop(slot);
}

/// Serves HTTP/1.1 requests on `io` until the client leaves, a timeout
/// closes it, or `closing` asks for a graceful end.
async fn drive<Io>(
    io: Io,
    peer: SocketAddr,
    app: Router,
    timeouts: Timeouts,
    mut closing: watch::Receiver<()>,
) where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = app.map_request(move |req: Request<Incoming>| {
        let mut req = req.map(|b| TimedBody::new(b, timeouts.body));
        req.extensions_mut().insert(ConnectInfo(peer));
        req
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    let conn = builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(service));
    tokio::pin!(conn);
    let ended = tokio::select! {
        ended = conn.as_mut() => ended,
        _ = closing.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(error) = ended {
        tracing::debug!(%error, %peer, "HTTP connection ended");
    }
}
