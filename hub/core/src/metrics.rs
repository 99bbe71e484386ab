//! Prometheus metrics of the hub (text exposition format 0.0.4), served at
//! `/metrics` to the hub machine itself and the addresses in
//! `metrics_allow`, with the network health page.
//!
//! Counters live in one process-wide registry, so every part of the hub
//! records without carrying a handle; gauges are read from the running
//! hub when the page is rendered. Labels are bounded: query kinds and
//! outcomes, indicator ids, portal areas and status classes; never a node
//! or a person.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{
        atomic::{AtomicU64, Ordering},
        Mutex, OnceLock,
    },
};

use passerelle_protocol::UnixTime;

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

/// Latency buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The process-wide registry.
#[derive(Debug, Default)]
pub struct Metrics {
    queries: Mutex<BTreeMap<(String, String), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    portal: Mutex<BTreeMap<(&'static str, String), u64>>,
    document_bytes: AtomicU64,
    found_dead: AtomicU64,
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
        *self
            .queries
            .lock()
            .expect("metrics lock")
            .entry((kind.to_string(), result.to_string()))
            .or_default() += 1;
        let mut l = self.latency.lock().expect("metrics lock");
        let h = l.entry(kind.to_string()).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// A portal response.
    pub fn portal(&self, path: &str, status: u16) {
        let area = area(path);
        *self
            .portal
            .lock()
            .expect("metrics lock")
            .entry((area, format!("{}xx", status / 100)))
            .or_default() += 1;
    }

    /// Document bytes streamed from nodes to the vault.
    pub fn document_bytes(&self, n: u64) {
        self.document_bytes.fetch_add(n, Ordering::Relaxed);
    }

    /// A node found dead by the liveness watch (and disconnected).
    pub fn found_dead(&self) {
        self.found_dead.fetch_add(1, Ordering::Relaxed);
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

fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The exposition text.
pub fn render(store: &Store, registry: &Registry, coverage: &[Coverage]) -> String {
    let m = global();
    let mut out = String::new();
    let nodes = store.nodes().unwrap_or_default();
    let enrolled = nodes.iter().filter(|n| n.revoked_at.is_none()).count();
    let _ = writeln!(out, "# HELP passerelle_build_info Hub version.\n# TYPE passerelle_build_info gauge\npasserelle_build_info{{version=\"{}\",protocol=\"{}\"}} 1", crate::VERSION, passerelle_protocol::PROTOCOL_VERSION);
    let _ = writeln!(out, "# HELP passerelle_nodes_enrolled Nodes enrolled and not revoked.\n# TYPE passerelle_nodes_enrolled gauge\npasserelle_nodes_enrolled {enrolled}");
    let _ = writeln!(out, "# HELP passerelle_nodes_connected Nodes with a live link.\n# TYPE passerelle_nodes_connected gauge\npasserelle_nodes_connected {}", registry.connected().len());
    let now = passerelle_link::now();
    let soonest = nodes
        .iter()
        .filter(|n| n.revoked_at.is_none())
        .map(|n| n.cert_not_after.saturating_sub(now))
        .min()
        .unwrap_or(0);
    let _ = writeln!(out, "# HELP passerelle_node_certificate_min_seconds_left Shortest certificate life left among enrolled nodes.\n# TYPE passerelle_node_certificate_min_seconds_left gauge\npasserelle_node_certificate_min_seconds_left {soonest}");

    let broken = nodes
        .iter()
        .filter(|n| n.revoked_at.is_none())
        .filter(|n| {
            store
                .audit_anchor(&n.node_id)
                .ok()
                .flatten()
                .is_some_and(|a| a.broken.is_some())
        })
        .count();
    let _ = writeln!(out, "# HELP passerelle_node_audit_chains_broken Nodes whose audit chain was found truncated or rewritten.\n# TYPE passerelle_node_audit_chains_broken gauge\npasserelle_node_audit_chains_broken {broken}");
    let _ = writeln!(out, "# HELP passerelle_queries_total Signed queries sent to nodes, by kind and result.\n# TYPE passerelle_queries_total counter");
    for ((kind, result), n) in m.queries.lock().expect("metrics lock").iter() {
        let _ = writeln!(
            out,
            "passerelle_queries_total{{kind=\"{}\",result=\"{}\"}} {n}",
            esc(kind),
            esc(result)
        );
    }
    let _ = writeln!(out, "# HELP passerelle_query_duration_seconds Time from signing a query to a verified reply.\n# TYPE passerelle_query_duration_seconds histogram");
    for (kind, h) in m.latency.lock().expect("metrics lock").iter() {
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "passerelle_query_duration_seconds_bucket{{kind=\"{}\",le=\"{b}\"}} {}",
                esc(kind),
                h.counts[i]
            );
        }
        let _ = writeln!(
            out,
            "passerelle_query_duration_seconds_bucket{{kind=\"{}\",le=\"+Inf\"}} {}",
            esc(kind),
            h.count
        );
        let _ = writeln!(
            out,
            "passerelle_query_duration_seconds_sum{{kind=\"{}\"}} {}",
            esc(kind),
            h.sum
        );
        let _ = writeln!(
            out,
            "passerelle_query_duration_seconds_count{{kind=\"{}\"}} {}",
            esc(kind),
            h.count
        );
    }

    let _ = writeln!(out, "# HELP passerelle_indicator_coverage_ratio Share of expected contributions received at the last refresh.\n# TYPE passerelle_indicator_coverage_ratio gauge");
    for c in coverage {
        let _ = writeln!(
            out,
            "passerelle_indicator_coverage_ratio{{indicator=\"{}\"}} {}",
            esc(&c.indicator),
            c.ratio
        );
    }
    let _ = writeln!(out, "# HELP passerelle_indicator_last_refresh_timestamp_seconds When each indicator was last composed.\n# TYPE passerelle_indicator_last_refresh_timestamp_seconds gauge");
    for c in coverage {
        let (id, at) = (&c.indicator, c.computed_at);
        let _ = writeln!(
            out,
            "passerelle_indicator_last_refresh_timestamp_seconds{{indicator=\"{}\"}} {at}",
            esc(id)
        );
    }
    let _ = writeln!(out, "# HELP passerelle_portal_requests_total Portal responses by area and status class.\n# TYPE passerelle_portal_requests_total counter");
    for ((area, class), n) in m.portal.lock().expect("metrics lock").iter() {
        let _ = writeln!(
            out,
            "passerelle_portal_requests_total{{area=\"{area}\",status=\"{class}\"}} {n}"
        );
    }
    let _ = writeln!(out, "# HELP passerelle_vault_document_bytes_total Document bytes streamed from nodes through the hub.\n# TYPE passerelle_vault_document_bytes_total counter\npasserelle_vault_document_bytes_total {}", m.document_bytes.load(Ordering::Relaxed));
    let _ = writeln!(out, "# HELP passerelle_nodes_found_dead_total Node links closed because they fell silent.\n# TYPE passerelle_nodes_found_dead_total counter\npasserelle_nodes_found_dead_total {}", m.found_dead.load(Ordering::Relaxed));
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
        let l = m.latency.lock().unwrap();
        let h = &l["status"];
        assert_eq!(
            (h.counts[0], h.counts[5], h.counts[10], h.count),
            (1, 2, 2, 3)
        );
        assert_eq!(area("/coffre/depots/x"), "vault");
        assert_eq!(area("/indicateur/x"), "public");
        assert_eq!(area("/wp-admin"), "other");
    }
}
