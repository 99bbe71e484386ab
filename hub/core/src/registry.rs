//! Live node connections, the liveness watch that drops a dead one within
//! seconds, and the gate that admits a node at the TLS handshake only if
//! its certificate was issued by this hub, for the key it presents, and is
//! not revoked. Connections fighting over one node id raise an alert and
//! are slowed down (see [`crate::contest`]).

use std::{
    collections::{BTreeSet, HashMap},
    sync::{atomic::AtomicU16, Arc, Mutex, OnceLock},
    time::Duration,
};

use passerelle_certs::{tls::PeerGate, NodeIdentity};
use passerelle_link::liveness::{self, Watch};
use passerelle_protocol::{ids::NodeId, UnixTime};
use tracing::{info, warn};

use crate::{
    contest::{Contest, Replacement},
    store::Store,
};

/// A connected node.
#[derive(Debug, Clone)]
pub struct Live {
    /// The connection the node made.
    pub conn: quinn::Connection,
    /// Who its certificate says it is.
    pub identity: NodeIdentity,
    /// That certificate (DER), kept with the answers it signs.
    pub cert_der: Vec<u8>,
    /// When it connected.
    pub since: UnixTime,
    /// The protocol version it speaks: the oldest supported until its
    /// status says otherwise.
    pub protocol: Arc<AtomicU16>,
    /// Set when the liveness watch found the link silent (how long), just
    /// before closing it: exchanges cut by that close say the node is
    /// not connected rather than reporting a local close.
    pub dead: Arc<OnceLock<Duration>>,
}

impl Live {
    /// A connection just admitted, assumed to speak the oldest supported
    /// protocol until its status says otherwise.
    pub fn new(
        conn: quinn::Connection,
        identity: NodeIdentity,
        cert_der: Vec<u8>,
        since: UnixTime,
    ) -> Self {
        Self {
            conn,
            identity,
            cert_der,
            since,
            protocol: Arc::new(AtomicU16::new(passerelle_protocol::MIN_PROTOCOL_VERSION)),
            dead: Arc::new(OnceLock::new()),
        }
    }

    /// How long the link was silent when the liveness watch closed it.
    pub fn found_dead(&self) -> Option<Duration> {
        self.dead.get().copied()
    }

    /// The protocol version to speak with this node.
    pub fn protocol(&self) -> u16 {
        self.protocol.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The nodes connected now.
#[derive(Debug, Default)]
pub struct Registry {
    live: Mutex<HashMap<NodeId, Live>>,
    contests: Mutex<HashMap<NodeId, Contest>>,
}

/// QUIC close code: the hub replaced this connection by a newer one.
pub const CLOSE_REPLACED: u32 = 2;
/// QUIC close code: the node's certificate was revoked.
pub const CLOSE_REVOKED: u32 = 3;
/// QUIC close code: no client certificate on the link ALPN.
pub const CLOSE_NO_CERT: u32 = 4;
/// QUIC close code: the hub is shutting down.
pub const CLOSE_SHUTDOWN: u32 = 5;
/// QUIC close code: nothing heard from the node for too long.
pub const CLOSE_SILENT: u32 = 6;
/// QUIC close code: connections fight over this node id; the link in
/// place keeps serving for a while.
pub const CLOSE_CONTESTED: u32 = 7;

/// A replacing connection refused: connections fought over the node id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldOff {
    /// How long replacing connections are still refused.
    pub left: Duration,
}

impl Registry {
    /// Registers a connection, closing any older one of the same node,
    /// unless connections have been fighting over the node id: then the
    /// replacing connection is refused for a while (a connection with a
    /// newer certificate of the node always wins). Fights and older
    /// certificates cut off while in use are alerts: logged at WARN,
    /// counted in the metrics, shown on `/sante`.
    ///
    /// # Errors
    /// [`HeldOff`] when the connection must not replace the one in place.
    pub fn admit(&self, live: Live) -> Result<(), HeldOff> {
        let now = std::time::Instant::now();
        let wall = passerelle_link::now();
        let node = live.identity.node_id.clone();
        let mut map = self.live.lock().expect("registry lock");
        if let Some(old) = map.get(&node).filter(|o| o.conn.close_reason().is_none()) {
            let newer = old.identity.serial != live.identity.serial
                && live.identity.not_before >= old.identity.not_before;
            let mut contests = self.contests.lock().expect("contest lock");
            let contest = contests.entry(node.clone()).or_default();
            if !newer {
                if let Some(left) = contest.held(now) {
                    contest.handle_held_off();
                    crate::metrics::global().replacement_held_off();
                    warn!(%node, left_s = left.as_secs(), "replacing connection refused: connections fight over this node id");
                    return Err(HeldOff { left });
                }
            }
            let age = Duration::from_secs(wall.saturating_sub(old.since));
            match contest.handle_replacement(now, wall, age, newer) {
                Replacement::Quiet => {}
                Replacement::OlderCertificateCut => {
                    crate::metrics::global().older_certificate_cut();
                    warn!(%node, old_serial = %old.identity.serial, new_serial = %live.identity.serial, "an older certificate of the node was cut off while in use: is its old key in other hands?");
                }
                Replacement::Fight { fights, hold } => {
                    crate::metrics::global().link_contest();
                    warn!(%node, fights, hold_s = hold.map(|h| h.as_secs()), "two connections fight over one node id: a stolen key or two nodes with one identity?");
                }
            }
        }
        if let Some(old) = map.insert(node, live) {
            old.conn
                .close(CLOSE_REPLACED.into(), b"replaced by a newer connection");
        }
        Ok(())
    }

    /// What a node's links went through since the hub started.
    pub fn contest(&self, node: &NodeId) -> Option<Contest> {
        self.contests
            .lock()
            .expect("contest lock")
            .get(node)
            .cloned()
    }

    /// Forgets a connection if it is still the registered one.
    pub fn remove(&self, node: &NodeId, conn: &quinn::Connection) {
        let mut live = self.live.lock().expect("registry lock");
        if live
            .get(node)
            .is_some_and(|l| l.conn.stable_id() == conn.stable_id())
        {
            live.remove(node);
        }
    }

    /// The live connection of a node.
    pub fn get(&self, node: &NodeId) -> Option<Live> {
        self.live.lock().expect("registry lock").get(node).cloned()
    }

    /// Ids of connected nodes, as a set: listings of every enrolled node
    /// ask it of each one, which must not cost a scan of thousands.
    pub fn connected(&self) -> BTreeSet<NodeId> {
        self.live
            .lock()
            .expect("registry lock")
            .keys()
            .cloned()
            .collect()
    }

    /// How many nodes are connected.
    pub fn count(&self) -> usize {
        self.live.lock().expect("registry lock").len()
    }

    /// Watches a registered connection until it closes or falls silent
    /// for `watch.silence` (see [`passerelle_link::liveness`]). A silent
    /// one is marked dead, closed (which fails its exchanges in flight at
    /// once) and removed, so queries skip the node without waiting.
    /// Returns how long it was silent, or `None` when it closed first.
    pub async fn watch(&self, live: &Live, watch: Watch) -> Option<Duration> {
        let silent = liveness::silent(&live.conn, watch).await?;
        let _ = live.dead.set(silent);
        live.conn
            .close(CLOSE_SILENT.into(), b"nothing heard from the node");
        self.remove(&live.identity.node_id, &live.conn);
        info!(node = %live.identity.node_id, silent_ms = silent.as_millis() as u64, "node found dead: its link fell silent; disconnected");
        crate::metrics::global().found_dead();
        Some(silent)
    }

    /// Closes a node's connection at once. Returns whether it was connected.
    pub fn disconnect(&self, node: &NodeId, code: u32, reason: &[u8]) -> bool {
        match self.live.lock().expect("registry lock").remove(node) {
            Some(l) => {
                l.conn.close(code.into(), reason);
                true
            }
            None => false,
        }
    }
}

/// The handshake gate backed by the store.
#[derive(Debug)]
pub struct StoreGate {
    /// The hub's store.
    pub store: Store,
}

impl PeerGate for StoreGate {
    fn admit(&self, node: &NodeIdentity) -> Result<(), String> {
        match self.store.serial(&node.serial) {
            Err(e) => Err(format!("store unavailable: {e}")),
            Ok(None) => Err("certificate not issued by this hub's registry".into()),
            Ok(Some(rec)) if rec.node_id != node.node_id => {
                Err("certificate serial names another node".into())
            }
            Ok(Some(rec)) if rec.revoked_at.is_some() => Err("certificate revoked".into()),
            Ok(Some(_)) => match crate::renewal::certified_key(&self.store, &node.serial) {
                Err(e) => Err(format!("store unavailable: {e}")),
                Ok(Some(key)) if key != node.public_key.0 => {
                    Err("certificate key is not the key certified under its serial".into())
                }
                Ok(_) => Ok(()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_checks_the_key_as_well_as_the_serial_and_the_node() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("store")).unwrap();
        let mut id = NodeIdentity {
            node_id: NodeId::new("caf-976").unwrap(),
            institution: "CAF".into(),
            serial: "0a0b".into(),
            not_before: 0,
            not_after: 10,
            public_key: passerelle_protocol::sign::PublicKey([7; 32]),
        };
        crate::renewal::record_issued(&store, &id, &[0; 32], 1).unwrap();
        let gate = StoreGate {
            store: store.clone(),
        };
        assert_eq!(gate.admit(&id), Ok(()));
        id.public_key = passerelle_protocol::sign::PublicKey([8; 32]);
        assert!(gate.admit(&id).unwrap_err().contains("key"));
        id.node_id = NodeId::new("autre").unwrap();
        assert!(gate.admit(&id).unwrap_err().contains("another node"));
        id.serial = "ffff".into();
        assert!(gate.admit(&id).unwrap_err().contains("not issued"));
    }
}
