//! The notice task: every `[messages] interval`, it asks each connected
//! node that linked persons which of them got documents since it last
//! asked (`Query::DepositsSince`, one question per node and round),
//! records those deposits in the persons' journals, queues the notices
//! persons asked for (deposits, views under consent, consents ending
//! soon) and sends what waits. The work is in `passerelle_vault::notices`;
//! this module only schedules it and talks to the nodes.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use passerelle_hub_core::federation;
use passerelle_protocol::{ids::NodeId, message::Refusal};
use passerelle_vault::notices;
use tokio::{sync::watch, task::JoinHandle};
use tracing::{debug, warn};

use crate::server::Ctx;

/// How long a node that does not know the deposits query is left alone.
const UNSUPPORTED_PAUSE: Duration = Duration::from_secs(3600);

/// Starts the notice task; it ends when `stop` changes.
pub fn spawn(ctx: &Arc<Ctx>, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    let ctx = ctx.clone();
    let every = ctx.hub.config.messages.interval;
    if let Err(error) = notices::begin(&ctx.vault().store, passerelle_link::now()) {
        warn!(%error, "start of notices not recorded");
    }
    tokio::spawn(async move {
        let mut unsupported: HashMap<NodeId, Instant> = HashMap::new();
        loop {
            tokio::select! {
                () = tokio::time::sleep(every) => {}
                _ = stop.changed() => return,
            }
            // Several instances on one database: the one holding the
            // lease sends (so each notice goes out once).
            let lease = every.as_secs().saturating_mul(3).max(60);
            match ctx.hub.store.hold_lease(
                "notices",
                &ctx.hub.instance,
                passerelle_link::now(),
                lease,
            ) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(error) => {
                    warn!(%error, "notices lease unreadable; no notices this round");
                    continue;
                }
            }
            let round = async {
                poll_deposits(&ctx, &mut unsupported).await;
                round(&ctx).await;
            };
            tokio::select! {
                () = round => {}
                _ = stop.changed() => return,
            }
        }
    })
}

/// Queues and sends the notices of one round.
async fn round(ctx: &Ctx) {
    let store = &ctx.vault().store;
    let now = passerelle_link::now();
    let fed = ctx.fed.clone();
    let name_of = move |id: &str| {
        NodeId::new(id.to_string()).map_or_else(|_| id.to_string(), |n| fed.node_name(&n))
    };
    if let Err(error) = notices::collect_from_chain(store, &name_of, now) {
        warn!(%error, "notices not collected from the journal");
    }
    let warning = ctx.hub.config.messages.consent_warning.as_secs();
    if let Err(error) = notices::collect_consents_ending(store, warning, now) {
        warn!(%error, "notices of consents ending not collected");
    }
    let words = ctx.portal.words();
    if let Err(error) = notices::deliver(store, &ctx.portal.senders, &words, now).await {
        warn!(%error, "notices not delivered");
    }
}

/// Asks each connected node with linked persons for the deposits since
/// its cursor, and records them.
async fn poll_deposits(ctx: &Ctx, unsupported: &mut HashMap<NodeId, Instant>) {
    let store = &ctx.vault().store;
    unsupported.retain(|_, since| since.elapsed() < UNSUPPORTED_PAUSE);
    let linked = match store.linked_nodes() {
        Ok(l) => l,
        Err(error) => {
            warn!(%error, "linked institutions not read");
            return;
        }
    };
    for node in ctx.registry.connected() {
        let Some(first_link) = linked.get(&node).copied() else {
            continue;
        };
        if unsupported.contains_key(&node) {
            continue;
        }
        let Some(live) = ctx.registry.get(&node) else {
            continue;
        };
        let cursor = format!("deposits\0{node}");
        let after = match store.notice_cursor(&cursor) {
            Ok(Some(c)) => c,
            // First time: the deposits since the node's first link, or
            // since notices began here if later (by the hub's clock,
            // which the query window keeps close to the node's).
            Ok(None) => match notices::first_deposit_question(store, first_link) {
                Ok(after) => after,
                Err(error) => {
                    warn!(%error, "deposit cursor not read");
                    return;
                }
            },
            Err(error) => {
                warn!(%error, "deposit cursor not read");
                return;
            }
        };
        match federation::deposits_since(&live, &ctx.hub.key, after, ctx.hub.config.query_timeout)
            .await
        {
            Ok(Ok((deposits, until))) => {
                let name = ctx.fed.node_name(&node);
                let now = passerelle_link::now();
                if let Err(error) = notices::record_deposits(store, &node, &name, &deposits, now)
                    .map_err(|e| e.to_string())
                    .and_then(|_| {
                        store
                            .put_notice_cursor(&cursor, until)
                            .map_err(|e| e.to_string())
                    })
                {
                    warn!(%error, node = %node, "deposits not recorded");
                }
            }
            Ok(Err(Refusal::Malformed(_))) => {
                debug!(node = %node, "node does not answer deposit questions yet");
                unsupported.insert(node, Instant::now());
            }
            Ok(Err(refusal)) => debug!(node = %node, %refusal, "deposits refused"),
            Err(error) => debug!(node = %node, %error, "deposits not asked"),
        }
    }
}
