//! Requests a node makes on its own link: redeeming a person's link code
//! (the vault) and renewing its certificate (the CA). The hub knows the
//! node by the link's certificate; nothing in a request names it.

use std::{sync::Arc, time::Duration};

use passerelle_hub_core::registry::Live;
use passerelle_link::{now, stream};
use passerelle_protocol::{
    frame::MAX_CONTROL_FRAME,
    message::{NodeRequest, NodeResponse},
};
use tracing::{info, warn};

use crate::server::Ctx;

/// Answers the requests a node makes on its link (one stream each, one at
/// a time), until the connection closes. A refused link code costs the
/// node a pause, so that guessing codes from an enrolled node is slow.
pub async fn serve(ctx: Arc<Ctx>, live: Live) {
    let vault = &ctx.vault().store;
    let node = live.identity.node_id.clone();
    let name = live.identity.institution.clone();
    loop {
        let Ok((mut send, mut recv)) = live.conn.accept_bi().await else {
            return;
        };
        let req: NodeRequest = match stream::read_message(&mut recv, MAX_CONTROL_FRAME).await {
            Ok(r) => r,
            Err(error) => {
                warn!(%node, %error, "unreadable request from node");
                continue;
            }
        };
        let mut refused = false;
        let resp = match req {
            NodeRequest::RedeemLink { code } => {
                match passerelle_vault::links::redeem(vault, &node, &name, &code, now()) {
                    Ok(p) => {
                        info!(%node, "person linked");
                        NodeResponse::Linked(p)
                    }
                    Err(e) => {
                        warn!(%node, reason = %e, "link code refused");
                        refused = true;
                        NodeResponse::Refused(e.to_string())
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
}
