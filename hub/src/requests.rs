//! Requests a node makes on its own link: redeeming a person's link code
//! and reading the consents a linked person gave its institution (the
//! vault), and renewing its certificate (the CA). The hub knows the
//! node by the link's certificate; nothing in a request names it.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use passerelle_hub_core::registry::Live;
use passerelle_link::{now, stream};
use passerelle_protocol::{
    frame::MAX_CONTROL_FRAME,
    message::{ConsentGiven, NodeRequest, NodeResponse},
};
use tracing::{info, warn, Instrument};

use crate::server::Ctx;

/// Answers the requests a node makes on its link, until the connection
/// closes. Each stream is answered by a task of its own, so a request that
/// is slow or never finished holds only its stream (the link allows
/// [`passerelle_link::endpoint::LINK_STREAMS`] at once) and is dropped at
/// the read deadline. Link codes are tried one at a time per link, and a
/// refused one costs the node a pause, so that guessing codes from an
/// enrolled node stays slow.
pub async fn serve(ctx: Arc<Ctx>, live: Live) {
    let codes = Arc::new(tokio::sync::Mutex::new(()));
    while let Ok((send, recv)) = live.conn.accept_bi().await {
        let task = answer(ctx.clone(), live.clone(), codes.clone(), send, recv);
        tokio::spawn(task.in_current_span());
    }
}

/// Reads one request within the deadline and answers it.
async fn answer(
    ctx: Arc<Ctx>,
    live: Live,
    codes: Arc<tokio::sync::Mutex<()>>,
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
) {
    let vault = &ctx.vault().store;
    let node = live.identity.node_id.clone();
    let name = live.identity.institution.clone();
    let remote = live.conn.remote_address();
    let read = stream::read_message_within(&mut recv, MAX_CONTROL_FRAME, stream::READ_DEADLINE);
    let req: NodeRequest = match read.await {
        Ok(r) => r,
        Err(error) => {
            if let Some(left_out) = ctx.admission.log.handle_event(remote.ip(), Instant::now()) {
                warn!(%node, %error, left_out, "unreadable request from node");
            }
            let _ = recv.stop(1u32.into());
            return;
        }
    };
    // A link code's turn, held from the check to the end of the pause.
    let mut turn = None;
    {
        let mut refused = false;
        let resp = match req {
            NodeRequest::RedeemLink { code } => {
                turn = Some(codes.lock().await);
                match passerelle_vault::links::redeem(vault, &node, &name, &code, now()) {
                    Ok(p) => {
                        info!(%node, "person linked");
                        NodeResponse::Linked(p)
                    }
                    Err(e) => {
                        if let Some(left_out) =
                            ctx.admission.log.handle_event(remote.ip(), Instant::now())
                        {
                            warn!(%node, reason = %e, left_out, "link code refused");
                        }
                        refused = true;
                        NodeResponse::Refused(e.to_string())
                    }
                }
            }
            NodeRequest::Consents { person } => {
                match passerelle_vault::consent::given_to_node(vault, &node, &person, now()) {
                    Ok(records) => NodeResponse::Consents(
                        records
                            .into_iter()
                            .map(|c| ConsentGiven {
                                holder_name: ctx
                                    .hub
                                    .store
                                    .node(&c.consent.holder)
                                    .ok()
                                    .flatten()
                                    .map_or_else(|| c.consent.holder.to_string(), |n| n.name),
                                holder: c.consent.holder,
                                grantee: c.consent.grantee,
                                scope_label: c.scope_label,
                                procedure: c.consent.procedure,
                                not_before: c.consent.not_before,
                                not_after: c.consent.not_after,
                            })
                            .collect(),
                    ),
                    Err(e) => {
                        warn!(%node, error = %e, "consents not read");
                        NodeResponse::Refused("the hub cannot read consents now".into())
                    }
                }
            }
            NodeRequest::Renew { csr_der } => {
                match passerelle_hub_core::renewal::renew(
                    &ctx.hub,
                    &ctx.ca,
                    &live.identity,
                    &live.cert_der,
                    &csr_der,
                    now(),
                ) {
                    Ok((cert_der, cas)) => NodeResponse::Renewed { cert_der, cas },
                    Err(e) => {
                        warn!(%node, reason = %e, "renewal refused");
                        refused = true;
                        NodeResponse::Refused(e.to_string())
                    }
                }
            }
        };
        if let Err(error) = stream::write_message(&mut send, &resp, MAX_CONTROL_FRAME).await {
            warn!(%node, %error, "reply to node not delivered");
        }
        if refused {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    drop(turn);
}
