//! The node's optional Prometheus metrics (`metrics_listen` in
//! `node.toml`): link state, storage health, queries by kind and outcome,
//! certificate life left, datasets, documents and pending batches, written by
//! `prometheus-client`. Served at `/metrics` on a local address by the
//! same HTTP server as the hub's portal ([`passerelle_link::http`]), with
//! its timeouts; beside it only `/healthz` (503 while storage is degraded).

use std::sync::{Arc, OnceLock};

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
    routing::get,
    Router,
};
use prometheus_client::{
    encoding::{prometheus_text, EncodeLabelSet},
    metrics::{
        counter::{ConstCounter, Counter},
        family::Family,
        gauge::ConstGauge,
        info::Info,
    },
    registry::Registry,
};
use tokio::{net::TcpListener, sync::watch};

use crate::serve::Shared;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueryLabels {
    kind: String,
    outcome: String,
}

fn queries() -> &'static Family<QueryLabels, Counter> {
    static Q: OnceLock<Family<QueryLabels, Counter>> = OnceLock::new();
    Q.get_or_init(Family::default)
}

/// Counts a query the node handled: its kind and outcome.
pub fn query(kind: &str, outcome: &str) {
    queries()
        .get_or_create(&QueryLabels {
            kind: kind.to_string(),
            outcome: outcome.to_string(),
        })
        .inc();
}

/// The exposition text (Prometheus text format 0.0.4).
pub fn render(shared: &Shared) -> String {
    let mut r = Registry::default();
    register_build(&mut r);
    register_link(&mut r, shared);
    r.register(
        "passerelle_node_queries",
        "Queries from the hub, by kind and outcome.",
        queries().clone(),
    );
    register_debris(&mut r, shared);
    register_holdings(&mut r, shared);
    register_answers(&mut r, shared);
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_text::encode(&mut out, &r);
    out
}

/// The node's version and protocol version.
fn register_build(r: &mut Registry) {
    r.register(
        "passerelle_node_build",
        "Node version.",
        Info::new(vec![
            ("version", crate::VERSION.to_string()),
            (
                "protocol",
                passerelle_protocol::PROTOCOL_VERSION.to_string(),
            ),
        ]),
    );
}

/// The link to the hub and the certificate it rests on.
fn register_link(r: &mut Registry, shared: &Shared) {
    let link = shared.link();
    let creds = shared.creds();
    r.register(
        "passerelle_node_link_up",
        "Whether the link to the hub is up.",
        ConstGauge::new(u64::from(link.connected)),
    );
    r.register(
        "passerelle_node_link_attempts",
        "Connection attempts since start.",
        ConstCounter::new(link.attempts),
    );
    r.register(
        "passerelle_node_certificate_seconds_left",
        "Life left of the node certificate.",
        ConstGauge::new(
            creds
                .identity
                .not_after
                .saturating_sub(passerelle_link::now()),
        ),
    );
}

/// Aggregate answers given again from those kept while their data is in
/// force, and answers computed.
fn register_answers(r: &mut Registry, shared: &Shared) {
    let tally = shared.answers.tally();
    r.register(
        "passerelle_node_answers_reused",
        "Aggregate answers given again, unchanged data, since start.",
        ConstCounter::new(tally.hits),
    );
    r.register(
        "passerelle_node_answers_computed",
        "Aggregate answers computed (disclosure control run) since start.",
        ConstCounter::new(tally.misses),
    );
    r.register(
        "passerelle_node_answers_kept",
        "Aggregate answers kept now.",
        ConstGauge::new(u64::try_from(tally.kept).unwrap_or(u64::MAX)),
    );
}

/// Partial and orphan document files: removed since start, present now.
fn register_debris(r: &mut Registry, shared: &Shared) {
    let debris = crate::debris::scan(&shared.files, shared.store(), std::time::Duration::ZERO)
        .unwrap_or_default();
    r.register(
        "passerelle_node_debris_removed",
        "Partial and orphan document files of interrupted deposits removed since start.",
        ConstCounter::new(shared.debris.files()),
    );
    r.register(
        "passerelle_node_debris_removed_bytes",
        "Bytes of debris removed since start.",
        ConstCounter::new(shared.debris.bytes()),
    );
    r.register(
        "passerelle_node_debris_bytes",
        "Bytes of partial and orphan document files present now.",
        ConstGauge::new(debris.bytes()),
    );
    r.register(
        "passerelle_node_debris_files",
        "Partial and orphan document files of interrupted deposits present now.",
        ConstGauge::new(debris.count()),
    );
}

/// What the node holds: datasets, batches waiting, documents.
fn register_holdings(r: &mut Registry, shared: &Shared) {
    let store = shared.store();
    let datasets = store.datasets().map(|d| d.len()).unwrap_or(0);
    let pending = store
        .batches()
        .map(|b| {
            b.iter()
                .filter(|b| b.status == crate::store::BatchStatus::Pending)
                .count()
        })
        .unwrap_or(0);
    let documents = store.all_documents().map(|d| d.len()).unwrap_or(0);
    r.register(
        "passerelle_storage_degraded",
        "Whether storage is degraded: writes fail (a full or failing disk) until a probe write succeeds.",
        ConstGauge::new(u64::from(store.health().degraded().is_some())),
    );
    for (name, help, n) in [
        (
            "passerelle_node_datasets",
            "Datasets with data in force.",
            datasets,
        ),
        (
            "passerelle_node_pending_batches",
            "Imported batches waiting for validation.",
            pending,
        ),
        (
            "passerelle_node_documents",
            "Documents held for the vault.",
            documents,
        ),
    ] {
        r.register(name, help, ConstGauge::new(n as u64));
    }
}

/// `/healthz`: 200 `ok` while storage works, 503 `degraded: REASON`
/// while writes fail.
async fn healthz(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    match shared.store().health().degraded() {
        None => (StatusCode::OK, "ok\n".to_string()),
        Some(d) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("degraded: {}\n", d.reason),
        ),
    }
}

/// The metrics router: `/metrics`, `/healthz`, and 404 for anything else.
fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route(
            "/metrics",
            get(|State(shared): State<Arc<Shared>>| async move {
                (
                    [(header::CONTENT_TYPE, prometheus_text::CONTENT_TYPE)],
                    render(&shared),
                )
            }),
        )
        .fallback(|| async { (StatusCode::NOT_FOUND, "not found\n").into_response() })
        .with_state(shared)
}

/// Serves `/metrics` on `listener` until `stop` changes.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let stop = async move {
        let _ = stop.changed().await;
    };
    passerelle_link::http::serve(
        listener,
        router(shared),
        None,
        passerelle_link::http::Timeouts::default(),
        passerelle_link::http::Caps::default(),
        stop,
    )
    .await;
}
