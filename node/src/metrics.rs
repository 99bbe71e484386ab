//! The node's optional Prometheus metrics (`metrics_listen` in
//! `node.toml`): link state, queries by kind and outcome, certificate
//! life left, datasets, documents and pending batches. A minimal HTTP
//! responder on a local address; nothing else is served there.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::{Arc, Mutex, OnceLock},
};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::serve::Shared;

fn queries() -> &'static Mutex<BTreeMap<(String, String), u64>> {
    static Q: OnceLock<Mutex<BTreeMap<(String, String), u64>>> = OnceLock::new();
    Q.get_or_init(Default::default)
}

/// Counts a query the node handled: its kind and outcome.
pub fn query(kind: &str, outcome: &str) {
    *queries()
        .lock()
        .expect("metrics lock")
        .entry((kind.to_string(), outcome.to_string()))
        .or_default() += 1;
}

/// The exposition text.
pub fn render(shared: &Shared) -> String {
    let mut out = String::new();
    let link = shared.link();
    let now = passerelle_link::now();
    let creds = shared.creds();
    let store = shared.store();
    let _ = writeln!(out, "# TYPE passerelle_node_build_info gauge\npasserelle_node_build_info{{version=\"{}\",protocol=\"{}\"}} 1", crate::VERSION, passerelle_protocol::PROTOCOL_VERSION);
    let _ = writeln!(out, "# HELP passerelle_node_link_up Whether the link to the hub is up.\n# TYPE passerelle_node_link_up gauge\npasserelle_node_link_up {}", u8::from(link.connected));
    let _ = writeln!(out, "# HELP passerelle_node_link_attempts_total Connection attempts since start.\n# TYPE passerelle_node_link_attempts_total counter\npasserelle_node_link_attempts_total {}", link.attempts);
    let _ = writeln!(out, "# HELP passerelle_node_certificate_seconds_left Life left of the node certificate.\n# TYPE passerelle_node_certificate_seconds_left gauge\npasserelle_node_certificate_seconds_left {}", creds.identity.not_after.saturating_sub(now));
    let _ = writeln!(out, "# HELP passerelle_node_queries_total Queries from the hub, by kind and outcome.\n# TYPE passerelle_node_queries_total counter");
    for ((kind, outcome), n) in queries().lock().expect("metrics lock").iter() {
        let _ = writeln!(
            out,
            "passerelle_node_queries_total{{kind=\"{kind}\",outcome=\"{outcome}\"}} {n}"
        );
    }
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
    let _ = writeln!(
        out,
        "# TYPE passerelle_node_datasets gauge\npasserelle_node_datasets {datasets}"
    );
    let _ = writeln!(
        out,
        "# TYPE passerelle_node_pending_batches gauge\npasserelle_node_pending_batches {pending}"
    );
    let _ = writeln!(
        out,
        "# TYPE passerelle_node_documents gauge\npasserelle_node_documents {documents}"
    );
    out
}

/// Serves `/metrics` on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((mut tcp, _)) = listener.accept().await else {
            return;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            let n =
                match tokio::time::timeout(std::time::Duration::from_secs(5), tcp.read(&mut buf))
                    .await
                {
                    Ok(Ok(n)) => n,
                    _ => return,
                };
            let head = String::from_utf8_lossy(&buf[..n]);
            let reply = if head.starts_with("GET /metrics ") {
                let body = render(&shared);
                format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
            } else {
                "HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\nConnection: close\r\n\r\nnot found\n".to_string()
            };
            let _ = tcp.write_all(reply.as_bytes()).await;
            let _ = tcp.shutdown().await;
        });
    }
}
