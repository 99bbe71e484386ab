//! The link to the national hub: dial it with the upstream identity, keep
//! the connection (reconnecting with backoff), and answer each stream it
//! opens. Each query is checked as a node checks it (the national hub's
//! signature, addressed to this hub, clock window, nonce never seen), then
//! answered from published results and signed with the upstream key.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use passerelle_certs::{tls, HubIdentity};
use passerelle_config::UpstreamConfig;
use passerelle_link::{
    backoff::{unit_random, Backoff},
    endpoint::{self, Liveness},
    now, stream,
};
use passerelle_protocol::{
    codec,
    envelope::{Outcome, QueryCheck, ReplyBody, SignedQuery, SignedReply},
    frame::MAX_CONTROL_FRAME,
    message::{Answer, NodeStatus, Query, Refusal},
    replay::NonceCache,
    sign::PublicKey,
    PROTOCOL_VERSION,
};
use tokio::{sync::watch, task::JoinHandle};
use tracing::{info, info_span, warn, Instrument};

use super::{answer, Identity};
use crate::server::Ctx;

/// Nonces remembered for replay refusal.
const NONCE_CAPACITY: usize = 100_000;

/// Keep-alive interval on the link to the national hub.
const KEEP_ALIVE: Duration = Duration::from_secs(1);

/// Starts the link to the national hub when `hub.toml` has `[upstream]`;
/// `None` when it has not, or when the identity cannot be read (logged).
pub fn spawn(ctx: &Arc<Ctx>, stop: watch::Receiver<bool>) -> Option<JoinHandle<()>> {
    let config = ctx.hub.config.upstream.clone()?;
    let identity = match Identity::load(ctx.hub.dir.root()) {
        Ok(i) => i,
        Err(error) => {
            warn!(%error, "[upstream] is set but the upstream identity is unusable; no link to the national hub");
            return None;
        }
    };
    Some(tokio::spawn(run(
        ctx.clone(),
        config,
        Arc::new(identity),
        stop,
    )))
}

async fn run(
    ctx: Arc<Ctx>,
    config: UpstreamConfig,
    me: Arc<Identity>,
    mut stop: watch::Receiver<bool>,
) {
    let span = info_span!("upstream", node = %me.identity.node_id, hub = %config.hub);
    async move {
        let mut backoff = Backoff::new(config.reconnect_min, config.reconnect_max);
        let seen = Arc::new(Mutex::new(NonceCache::new(NONCE_CAPACITY)));
        loop {
            let reason = tokio::select! {
                r = connect_and_serve(&ctx, &config, &me, &seen, &mut backoff) => r,
                _ = stop.changed() => break,
            };
            warn!(%reason, "link to the national hub down");
            tokio::select! {
                _ = tokio::time::sleep(backoff.next_delay(unit_random())) => {}
                _ = stop.changed() => break,
            }
        }
        info!("link to the national hub closed");
    }
    .instrument(span)
    .await
}

/// Connects and serves until the connection ends; returns why it ended.
async fn connect_and_serve(
    ctx: &Arc<Ctx>,
    config: &UpstreamConfig,
    me: &Arc<Identity>,
    seen: &Arc<Mutex<NonceCache>>,
    backoff: &mut Backoff,
) -> String {
    let liveness = Liveness {
        keep_alive: KEEP_ALIVE,
        idle_timeout: Duration::from_secs(30),
    };
    let client =
        match tls::node_client_config(&me.cas, std::slice::from_ref(&me.cert_der), &me.key_pkcs8)
            .map_err(|e| e.to_string())
            .and_then(|c| endpoint::client_config(c, liveness).map_err(|e| e.to_string()))
        {
            Ok(c) => c,
            Err(e) => return e,
        };
    let hub = &config.hub;
    let remote = match tokio::net::lookup_host((hub.host.as_str(), hub.port)).await {
        Ok(mut a) => match a.next() {
            Some(r) => r,
            None => return format!("{hub} has no address"),
        },
        Err(e) => return format!("cannot resolve {hub}: {e}"),
    };
    let ep = match endpoint::client(remote) {
        Ok(ep) => ep,
        Err(e) => return e.to_string(),
    };
    let conn = match ep.connect_with(client, remote, &hub.host) {
        Err(e) => return format!("cannot connect: {e}"),
        Ok(c) => match endpoint::handshake(c, endpoint::HANDSHAKE_TIMEOUT).await {
            Err(endpoint::Connect::Failed(e)) => return format!("cannot connect: {e}"),
            Err(endpoint::Connect::TimedOut(after)) => {
                return format!(
                    "the national hub did not complete the handshake within {} s; trying again",
                    after.as_secs_f32()
                )
            }
            Ok(c) => c,
        },
    };
    // The national hub's key, from the certificate its CA certified.
    let national = match endpoint::peer_cert(&conn).map(|der| HubIdentity::from_der(&der)) {
        Some(Ok(h)) => h.public_key,
        _ => {
            conn.close(1u32.into(), b"not a hub certificate");
            return "refused the national hub: no hub certificate".into();
        }
    };
    info!(%remote, "connected to the national hub");
    let mut first = true;
    let reason = loop {
        match conn.accept_bi().await {
            Ok((send, recv)) => {
                if first {
                    backoff.reset();
                    first = false;
                }
                tokio::spawn(handle_stream(
                    ctx.clone(),
                    config.clone(),
                    me.clone(),
                    seen.clone(),
                    national,
                    send,
                    recv,
                ));
            }
            Err(e) => break e.to_string(),
        }
    };
    ep.close(0u32.into(), b"link closed");
    reason
}

/// One query of the national hub: read within the deadline, answer, sign,
/// write.
async fn handle_stream(
    ctx: Arc<Ctx>,
    config: UpstreamConfig,
    me: Arc<Identity>,
    seen: Arc<Mutex<NonceCache>>,
    national: PublicKey,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) {
    let payload = match tokio::time::timeout(
        stream::READ_DEADLINE,
        stream::read_frame(&mut recv, MAX_CONTROL_FRAME),
    )
    .await
    {
        Ok(Ok(p)) => p,
        _ => {
            let _ = recv.stop(1u32.into());
            return;
        }
    };
    let node_id = me.identity.node_id.clone();
    let check = QueryCheck {
        hub_key: &national,
        me: &node_id,
        window_secs: config.clock_window.as_secs(),
    };
    let at = now();
    let checked = match codec::decode::<SignedQuery>(&payload) {
        Err(e) => Err((None, Refusal::Malformed(e.to_string()))),
        Ok(signed) => {
            let id = signed.unverified_id();
            let mut seen = seen
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            check
                .handle_query(&signed, at, &mut seen)
                .map_err(|r| (id, r))
        }
    };
    let (query_id, outcome, kind) = match checked {
        Err((id, refusal)) => (id, Outcome::Refused(refusal), "-"),
        Ok(body) => {
            let kind = body.query.kind();
            let outcome = match reply(&ctx, &config, &me, &body.query, at).await {
                Ok(a) => Outcome::Answered(a),
                Err(r) => Outcome::Refused(r),
            };
            (Some(body.query_id), outcome, kind)
        }
    };
    match &outcome {
        Outcome::Answered(_) => info!(kind, "national hub's query answered"),
        Outcome::Refused(r) => {
            warn!(kind, refusal = r.kind(), reason = %r, "national hub's query refused")
        }
    }
    let body = ReplyBody {
        query_id,
        node_id,
        issued_at: at,
        outcome,
    };
    match SignedReply::sign(&body, &me.key) {
        Ok(signed) => {
            if let Err(error) = stream::write_message(&mut send, &signed, MAX_CONTROL_FRAME).await {
                warn!(%error, "reply to the national hub not delivered");
            }
        }
        Err(error) => warn!(%error, "cannot sign the reply to the national hub"),
    }
}

/// The answer to an accepted query: status, ping and aggregate queries;
/// everything else (documents, audit anchors, trust lists) is refused, a
/// regional hub holds no documents for the national hub.
async fn reply(
    ctx: &Arc<Ctx>,
    config: &UpstreamConfig,
    me: &Identity,
    query: &Query,
    at: passerelle_protocol::UnixTime,
) -> Result<Answer, Refusal> {
    let catalog = &ctx.observatory.catalog;
    Ok(match query {
        Query::Ping => Answer::Pong,
        Query::Status => Answer::Status(NodeStatus {
            version: crate::VERSION.into(),
            protocol: PROTOCOL_VERSION,
            node_id: me.identity.node_id.clone(),
            institution: me.identity.institution.clone(),
            datasets: answer::datasets(catalog),
            cert_not_after: me.identity.not_after,
            now: at,
        }),
        Query::Directory => Answer::Directory(None),
        Query::Aggregate(q) => {
            let ind = answer::indicator(catalog, &q.dataset).cloned();
            // The published result with its signed answers, from the store
            // (the memory cache keeps no provenance); off the runtime.
            let hub = ctx.hub.clone();
            let result = match &ind {
                None => None,
                Some(i) => {
                    let id = i.id.clone();
                    tokio::task::spawn_blocking(move || {
                        passerelle_observatory::provenance::latest_with_provenance(&hub, &id)
                    })
                    .await
                    .map_err(|e| Refusal::Unavailable(e.to_string()))?
                    .map_err(|e| Refusal::Unavailable(e.to_string()))?
                }
            };
            Answer::Composed(Box::new(answer::answer(
                q,
                ind.as_ref(),
                result.as_ref(),
                &config.levels,
            )?))
        }
        other => {
            return Err(Refusal::Unavailable(format!(
                "a regional hub answers status and aggregate queries only, not {}",
                other.kind()
            )))
        }
    })
}
