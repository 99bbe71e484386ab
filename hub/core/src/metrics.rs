//! Prometheus metrics of the hub (text exposition format 0.0.4, written by
//! `prometheus-client`), served at
//! `/metrics` to the hub machine itself and the addresses in
//! `metrics_allow`, with the network health page.
//!
//! Counters live in one process-wide registry, so every part of the hub
//! records without carrying a handle; gauges are read from the running
//! hub when the page is rendered. Labels are bounded: query kinds and
//! outcomes, indicator ids, portal areas and status classes; never a node
//! or a person.

use std::sync::{atomic::AtomicU64, OnceLock};

use passerelle_protocol::UnixTime;
use prometheus_client::{
    encoding::{prometheus_text, EncodeLabelSet},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::{ConstGauge, Gauge},
        histogram::Histogram,
        info::Info,
    },
    registry::Registry as Exposition,
};

use crate::{registry::Registry, store::Store};

/// One indicator's coverage at its last refresh, for the gauges.
#[derive(Debug, Clone)]
pub struct Coverage {
    /// Indicator id.
    pub indicator: String,
    /// Share of expected contributions received.
    pub ratio: f64,
    /// When it was composed.
    pub computed_at: UnixTime,
}

/// The `Content-Type` of [`render`]'s text (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// Latency buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueryLabels {
    kind: String,
    result: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PortalLabels {
    area: &'static str,
    status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IndicatorLabel {
    indicator: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabel {
    action: &'static str,
}

fn latency_histogram() -> Histogram {
    Histogram::new(BUCKETS)
}

/// The process-wide counters.
#[derive(Debug)]
pub struct Metrics {
    queries: Family<QueryLabels, Counter>,
    latency: Family<KindLabel, Histogram, fn() -> Histogram>,
    portal: Family<PortalLabels, Counter>,
    document_bytes: Counter,
    found_dead: Counter,
    debris_removed: Counter,
    debris_present: prometheus_client::metrics::gauge::Gauge,
    handshakes_refused: Family<ReasonLabel, Counter>,
    attempts_shed: Family<ActionLabel, Counter>,
    handshakes_pending: Gauge,
    quic_connections: Gauge,
    log_suppressed: Counter,
    trust: TrustCounters,
}

/// Alerts about node identities: stolen or misused keys.
#[derive(Debug, Default)]
struct TrustCounters {
    contests: Counter,
    certs_cut: Counter,
    held_off: Counter,
    renewals_refused: Counter,
    renewals_repeated: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            queries: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            portal: Family::default(),
            document_bytes: Counter::default(),
            found_dead: Counter::default(),
            debris_removed: Counter::default(),
            debris_present: Default::default(),
            handshakes_refused: Family::default(),
            attempts_shed: Family::default(),
            handshakes_pending: Gauge::default(),
            quic_connections: Gauge::default(),
            log_suppressed: Counter::default(),
            trust: TrustCounters::default(),
        }
    }
}

/// The registry.
pub fn global() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(Metrics::default)
}

impl Metrics {
    /// A query to a node: its kind, `answered`, `refused` or `failed`, and
    /// how long it took.
    pub fn query(&self, kind: &str, result: &str, secs: f64) {
        self.queries
            .get_or_create(&QueryLabels {
                kind: kind.to_string(),
                result: result.to_string(),
            })
            .inc();
        self.latency
            .get_or_create(&KindLabel {
                kind: kind.to_string(),
            })
            .observe(secs);
    }

    /// A portal response.
    pub fn portal(&self, path: &str, status: u16) {
        self.portal
            .get_or_create(&PortalLabels {
                area: area(path),
                status: format!("{}xx", status / 100),
            })
            .inc();
    }

    /// Document bytes streamed from nodes to the vault.
    pub fn document_bytes(&self, n: u64) {
        self.document_bytes.inc_by(n);
    }

    /// A node found dead by the liveness watch (and disconnected).
    pub fn found_dead(&self) {
        self.found_dead.inc();
    }

    /// Temporary or orphan upload files removed.
    pub fn debris_removed(&self, files: u64) {
        self.debris_removed.inc_by(files);
    }

    /// Temporary or orphan upload files present now.
    pub fn debris_present(&self, files: u64) {
        self.debris_present
            .set(i64::try_from(files).unwrap_or(i64::MAX));
    }

    /// A peer refused at the QUIC handshake or right after it, by reason
    /// (`foreign_ca`, `revoked`, `wrong_alpn`, `no_certificate`, …).
    pub fn handshake_refused(&self, reason: &'static str) {
        self.handshakes_refused
            .get_or_create(&ReasonLabel { reason })
            .inc();
    }

    /// A connection attempt the admission control did not take on:
    /// `retry` (asked to prove its address), `refused` or `dropped`.
    pub fn attempt_shed(&self, action: &'static str) {
        self.attempts_shed
            .get_or_create(&ActionLabel { action })
            .inc();
    }

    /// QUIC handshakes in progress went up or down by `delta` (the gauge
    /// sums every hub in the process: one in production).
    pub fn quic_handshakes_changed(&self, delta: i64) {
        self.handshakes_pending.inc_by(delta);
    }

    /// QUIC connections established went up or down by `delta`.
    pub fn quic_connections_changed(&self, delta: i64) {
        self.quic_connections.inc_by(delta);
    }

    /// QUIC handshakes in progress (at the last change).
    pub fn handshakes_pending(&self) -> i64 {
        self.handshakes_pending.get()
    }

    /// Log events left out by the per-peer log limiter.
    pub fn log_suppressed(&self, n: u64) {
        self.log_suppressed.inc_by(n);
    }

    /// Two connections fought over one node id.
    pub fn link_contest(&self) {
        self.trust.contests.inc();
    }

    /// A link using an older certificate of a node was cut off.
    pub fn older_certificate_cut(&self) {
        self.trust.certs_cut.inc();
    }

    /// A replacing connection refused during a hold-off.
    pub fn replacement_held_off(&self) {
        self.trust.held_off.inc();
    }

    /// A renewal refused (outside its window, or renewed already).
    pub fn renewal_refused(&self) {
        self.trust.renewals_refused.inc();
    }

    /// A renewal again from a certificate renewed already (the earlier
    /// renewal unused).
    pub fn renewal_repeated(&self) {
        self.trust.renewals_repeated.inc();
    }

    /// Adds the counters, which the registry shares, to `r`.
    fn register(&self, r: &mut Exposition) {
        self.trust.register(r);
        r.register(
            "passerelle_queries",
            "Signed queries sent to nodes, by kind and result.",
            self.queries.clone(),
        );
        r.register(
            "passerelle_query_duration_seconds",
            "Time from signing a query to a verified reply.",
            self.latency.clone(),
        );
        r.register(
            "passerelle_portal_requests",
            "Portal responses by area and status class.",
            self.portal.clone(),
        );
        r.register(
            "passerelle_vault_document_bytes",
            "Document bytes streamed from nodes through the hub.",
            self.document_bytes.clone(),
        );
        r.register(
            "passerelle_nodes_found_dead",
            "Node links closed because they fell silent.",
            self.found_dead.clone(),
        );
        r.register(
            "passerelle_vault_debris_removed",
            "Temporary and orphan upload files of interrupted uploads removed.",
            self.debris_removed.clone(),
        );
        r.register(
            "passerelle_vault_debris_files",
            "Temporary and orphan upload files present (at the last look).",
            self.debris_present.clone(),
        );
        r.register(
            "passerelle_quic_handshakes_refused",
            "Peers refused at the QUIC handshake or right after it, by reason.",
            self.handshakes_refused.clone(),
        );
        r.register(
            "passerelle_quic_attempts_shed",
            "Connection attempts not taken on by admission control, by action.",
            self.attempts_shed.clone(),
        );
        r.register(
            "passerelle_quic_handshakes_pending",
            "QUIC handshakes in progress.",
            self.handshakes_pending.clone(),
        );
        r.register(
            "passerelle_quic_connections",
            "QUIC connections established (nodes, enrollments, probes).",
            self.quic_connections.clone(),
        );
        r.register(
            "passerelle_log_events_suppressed",
            "Repeated log events from one peer left out by the log limiter.",
            self.log_suppressed.clone(),
        );
    }
}

impl TrustCounters {
    fn register(&self, r: &mut Exposition) {
        r.register(
            "passerelle_link_contests",
            "Replacements of a young node link by another connection with the same certificate: two holders of one node key?",
            self.contests.clone(),
        );
        r.register(
            "passerelle_link_older_certificates_cut",
            "Node links cut off while they used an older certificate of the node.",
            self.certs_cut.clone(),
        );
        r.register(
            "passerelle_link_replacements_held_off",
            "Replacing connections refused while connections fight over a node id.",
            self.held_off.clone(),
        );
        r.register(
            "passerelle_renewals_refused",
            "Certificate renewals refused (outside the window, or renewed already).",
            self.renewals_refused.clone(),
        );
        r.register(
            "passerelle_renewals_repeated",
            "Renewals again from a certificate whose earlier renewal was never used.",
            self.renewals_repeated.clone(),
        );
    }
}

/// The portal area of a path, for a bounded label.
fn area(path: &str) -> &'static str {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match first {
        "" | "themes" | "theme" | "indicateur" | "annuaire" | "ressources" | "static" => "public",
        "donnees" => "open_data",
        "api" => "api",
        "partenaires" => "partners",
        "coffre" => "vault",
        "verifier" => "verify",
        "metrics" | "sante" | "healthz" => "operations",
        _ => "other",
    }
}

/// The exposition text: the gauges read now from the store, the registry
/// and `coverage`, then the process-wide counters.
pub fn render(store: &Store, registry: &Registry, coverage: &[Coverage]) -> String {
    let mut r = Exposition::default();
    r.register(
        "passerelle_build",
        "Hub version.",
        Info::new(vec![
            ("version", crate::VERSION.to_string()),
            (
                "protocol",
                passerelle_protocol::PROTOCOL_VERSION.to_string(),
            ),
        ]),
    );
    r.register(
        "passerelle_storage_degraded",
        "Whether storage is degraded: writes fail (a full or failing disk) until a probe write succeeds.",
        ConstGauge::new(u64::from(store.health().degraded().is_some())),
    );
    let nodes = store.nodes().unwrap_or_default();
    let enrolled: Vec<_> = nodes.iter().filter(|n| n.revoked_at.is_none()).collect();
    r.register(
        "passerelle_nodes_enrolled",
        "Nodes enrolled and not revoked.",
        ConstGauge::new(enrolled.len() as u64),
    );
    r.register(
        "passerelle_nodes_connected",
        "Nodes with a live link.",
        ConstGauge::new(registry.count() as u64),
    );
    let now = passerelle_link::now();
    let soonest = enrolled
        .iter()
        .map(|n| n.cert_not_after.saturating_sub(now))
        .min()
        .unwrap_or(0);
    r.register(
        "passerelle_node_certificate_min_seconds_left",
        "Shortest certificate life left among enrolled nodes.",
        ConstGauge::new(soonest),
    );
    let broken = enrolled
        .iter()
        .filter(|n| {
            store
                .audit_anchor(&n.node_id)
                .ok()
                .flatten()
                .is_some_and(|a| a.broken.is_some())
        })
        .count();
    r.register(
        "passerelle_node_audit_chains_broken",
        "Nodes whose audit chain was found truncated or rewritten.",
        ConstGauge::new(broken as u64),
    );
    let ratio = Family::<IndicatorLabel, Gauge<f64, AtomicU64>>::default();
    let refreshed = Family::<IndicatorLabel, Gauge>::default();
    for c in coverage {
        let label = IndicatorLabel {
            indicator: c.indicator.clone(),
        };
        ratio.get_or_create(&label).set(c.ratio);
        refreshed
            .get_or_create(&label)
            .set(i64::try_from(c.computed_at).unwrap_or(i64::MAX));
    }
    r.register(
        "passerelle_indicator_coverage_ratio",
        "Share of expected contributions received at the last refresh.",
        ratio,
    );
    r.register(
        "passerelle_indicator_last_refresh_timestamp_seconds",
        "When each indicator was last composed.",
        refreshed,
    );
    global().register(&mut r);
    encode(&r)
}

/// The registry in the Prometheus text format.
fn encode(r: &Exposition) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_text::encode(&mut out, r);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_are_cumulative_and_areas_bounded() {
        let m = Metrics::default();
        m.query("status", "answered", 0.003);
        m.query("status", "answered", 0.2);
        m.query("status", "failed", 30.0);
        let mut r = Exposition::default();
        m.register(&mut r);
        let text = encode(&r);
        for line in [
            "passerelle_query_duration_seconds_bucket{kind=\"status\",le=\"0.005\"} 1\n",
            "passerelle_query_duration_seconds_bucket{kind=\"status\",le=\"0.25\"} 2\n",
            "passerelle_query_duration_seconds_bucket{kind=\"status\",le=\"10\"} 2\n",
            "passerelle_query_duration_seconds_bucket{kind=\"status\",le=\"+Inf\"} 3\n",
            "passerelle_query_duration_seconds_count{kind=\"status\"} 3\n",
            "passerelle_queries_total{kind=\"status\",result=\"answered\"} 2\n",
            "# TYPE passerelle_queries_total counter\n",
        ] {
            assert!(text.contains(line), "{line} missing:\n{text}");
        }
        assert_eq!(area("/coffre/depots/x"), "vault");
        assert_eq!(area("/indicateur/x"), "public");
        assert_eq!(area("/wp-admin"), "other");
    }
}
