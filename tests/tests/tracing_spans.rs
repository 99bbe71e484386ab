//! Every query runs inside a `query` span that names the query id and the
//! node, at the hub and at the node.

use std::sync::{Arc, Mutex};

use passerelle_protocol::{ids::NodeId, message::Query};
use passerelle_tests::Net;
use tracing::{
    field::{Field, Visit},
    span::{Attributes, Id},
    Subscriber,
};
use tracing_subscriber::{layer::Context, prelude::*, Layer};

/// A span's `target::name` and its fields as text.
type Seen = (String, Vec<(String, String)>);

#[derive(Clone, Default)]
struct Spans(Arc<Mutex<Vec<Seen>>>);

struct Fields(Vec<(String, String)>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .push((field.name().to_string(), format!("{value:?}")));
    }
}

impl<S: Subscriber> Layer<S> for Spans {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        let mut f = Fields(Vec::new());
        attrs.record(&mut f);
        self.0.lock().unwrap().push((
            attrs.metadata().target().to_string() + "::" + attrs.metadata().name(),
            f.0,
        ));
    }
}

#[tokio::test]
async fn each_query_has_a_span_with_query_id_and_node_on_both_sides() {
    let spans = Spans::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
    let net = Net::new();
    let hub = net.start_hub(None).await;
    let node = net.node(&hub, "caf-976").await;
    let live = hub.live(&NodeId::new("caf-976").unwrap()).unwrap();
    let asked = passerelle_hub_core::federation::ask(
        &live,
        &hub.ctx().hub.key,
        Query::Ping,
        std::time::Duration::from_secs(5),
    )
    .await
    .unwrap();
    let id = passerelle_protocol::hex::encode(&asked.body.query_id.unwrap());

    let seen = spans.0.lock().unwrap().clone();
    let with_id: Vec<&Seen> = seen
        .iter()
        .filter(|(_, f)| f.iter().any(|(k, v)| k == "query_id" && *v == id))
        .collect();
    for side in [
        "passerelle_hub_core::federation::query",
        "passerelle_node::serve::stream_query::query",
    ] {
        let span = with_id
            .iter()
            .find(|(name, _)| name == side)
            .unwrap_or_else(|| panic!("no {side} span for {id}: {seen:?}"));
        assert!(
            span.1.iter().any(|(k, v)| k == "node" && v == "caf-976"),
            "{side}: {:?}",
            span.1
        );
    }
    node.stop().await;
    hub.stop().await;
}
