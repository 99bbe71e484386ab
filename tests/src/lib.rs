//! # passerelle-tests
//!
//! Shared harness for end-to-end tests: a real hub and real nodes on
//! loopback, each in a temporary folder, on ports the OS picks. Tests live
//! in `tests/`; this library only sets them up.

use std::{future::Future, path::PathBuf, time::Duration};

use passerelle_config::{HubAddr, NodeConfig};
use passerelle_hub::{
    ops,
    paths::HubDir,
    server::{self, HubHandle, Listen},
};
use passerelle_node::{paths::NodeDir, serve::NodeHandle};
use passerelle_protocol::ids::NodeId;

/// Installs the crypto provider and a test log subscriber.
pub fn setup() {
    passerelle_certs::install_crypto_provider();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PASSERELLE_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}

/// Waits until `check` holds, polling, for at most `patience`.
///
/// # Panics
/// When the condition never holds: the test fails with `what`.
pub async fn eventually<F, Fut>(what: &str, patience: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {patience:?} waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A test network: one hub folder and any number of node folders.
pub struct Net {
    /// Keeps the folders alive.
    pub tmp: tempfile::TempDir,
}

impl Net {
    /// A new network with an initialised hub folder.
    pub fn new() -> Self {
        setup();
        let tmp = tempfile::tempdir().expect("tempdir");
        let net = Self { tmp };
        passerelle_hub::init::init(
            &HubDir::create(&net.hub_dir()).unwrap(),
            Some("DEETS test".into()),
            Vec::new(),
        )
        .expect("hub init");
        net
    }

    /// The hub folder.
    pub fn hub_dir(&self) -> PathBuf {
        self.tmp.path().join("hub")
    }

    /// A node folder.
    pub fn node_dir(&self, id: &str) -> PathBuf {
        self.tmp.path().join("nodes").join(id)
    }

    /// Starts the hub on free loopback ports (or the given QUIC address).
    pub async fn start_hub(&self, quic: Option<std::net::SocketAddr>) -> HubHandle {
        let listen = Listen {
            quic: Some(quic.unwrap_or_else(|| "127.0.0.1:0".parse().unwrap())),
            http: Some("127.0.0.1:0".parse().unwrap()),
        };
        server::start(&self.hub_dir(), listen, false)
            .await
            .expect("hub starts")
    }

    /// Issues a token on the running hub.
    pub fn token(&self, hub: &HubHandle, id: &str) -> String {
        ops::issue_token(
            &hub.ctx().hub,
            &NodeId::new(id).unwrap(),
            &format!("Institution {id}"),
            passerelle_link::now(),
        )
        .expect("token")
    }

    /// Enrolls a node through the real token flow and tunes its link for
    /// quick reconnection in tests.
    pub async fn enroll(&self, hub: &HubHandle, id: &str) -> PathBuf {
        let token = self.token(hub, id);
        let root = self.node_dir(id);
        self.init_node(hub, &root, &token)
            .await
            .expect("enrollment");
        let path = root.join("node.toml");
        let mut config = NodeConfig::load(&path).unwrap();
        config.link.reconnect_min = Duration::from_millis(50);
        config.link.reconnect_max = Duration::from_millis(300);
        std::fs::write(&path, config.template()).unwrap();
        root
    }

    /// Runs `node init` in `root` against the running hub.
    pub async fn init_node(
        &self,
        hub: &HubHandle,
        root: &std::path::Path,
        token: &str,
    ) -> Result<passerelle_node::enroll::Enrolled, passerelle_node::NodeError> {
        let dir = NodeDir::create(root)?;
        passerelle_node::enroll::init(&dir, hub_addr(hub), token).await
    }

    /// Enrolls and starts a node, and waits until the hub lists it connected.
    pub async fn node(&self, hub: &HubHandle, id: &str) -> NodeHandle {
        let root = self.enroll(hub, id).await;
        let node = passerelle_node::serve::start(&root)
            .await
            .expect("node starts");
        wait_connected(hub, id).await;
        node
    }
}

impl Default for Net {
    fn default() -> Self {
        Self::new()
    }
}

/// The hub's address as nodes write it.
pub fn hub_addr(hub: &HubHandle) -> HubAddr {
    format!("127.0.0.1:{}", hub.quic_addr.port())
        .parse()
        .unwrap()
}

/// Waits until the hub has a live connection from `id`.
pub async fn wait_connected(hub: &HubHandle, id: &str) {
    let id = NodeId::new(id).unwrap();
    eventually(&format!("{id} connected"), Duration::from_secs(10), || {
        let ok = hub.live(&id).is_some();
        async move { ok }
    })
    .await;
}
