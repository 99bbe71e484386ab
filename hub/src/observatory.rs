//! Refreshing indicators from the network, keeping their history, and
//! checking their provenance offline.
//!
//! A refresh asks every node that provides each dataset, in parallel, with
//! a timeout. Every result says which nodes answered, which did not and
//! why, and how many cells are suppressed or missing: a node down gives a
//! partial result that says so. The signed replies a result was composed
//! from are stored with it, so `verify-indicator` can re-check every
//! signature and recompute every value without the network.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use passerelle_link::now;
use passerelle_protocol::{
    aggregate::{AggregateQuery, Measure},
    envelope::{Outcome, SignedReply},
    message::{Answer, Query},
    UnixTime,
};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::{
    catalog::Indicator,
    compose::{self, Answers, ResultCell, Status},
    server::Ctx,
    HubError,
};

/// A node that contributed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answered {
    /// Node id.
    pub node_id: String,
    /// Institution.
    pub name: String,
    /// Dataset asked.
    pub dataset: String,
    /// Import time of the node's newest data used.
    pub data_as_of: Option<UnixTime>,
}

/// A node that did not contribute, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failed {
    /// Node id (`-` when no node provides the dataset).
    pub node_id: String,
    /// Institution.
    pub name: String,
    /// Dataset asked.
    pub dataset: String,
    /// Why.
    pub reason: String,
}

/// What a result covers.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Coverage {
    /// Contributions received.
    pub answered: Vec<Answered>,
    /// Contributions missing.
    pub failed: Vec<Failed>,
    /// Cells withheld by disclosure control.
    pub suppressed: usize,
    /// Cells without data.
    pub missing: usize,
}

impl Coverage {
    /// Every expected node answered.
    pub fn complete(&self) -> bool {
        self.failed.is_empty()
    }
}

/// One signed contribution, kept as provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The node's certificate (DER) at the time.
    pub cert_der: Vec<u8>,
    /// Dataset and measure asked.
    pub dataset: String,
    /// Measure asked.
    pub measure: Measure,
    /// The reply exactly as the node signed it.
    pub signed: SignedReply,
}

/// A composed indicator, as kept in history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorResult {
    /// Indicator id.
    pub indicator: String,
    /// When it was composed.
    pub computed_at: UnixTime,
    /// Values.
    pub cells: Vec<ResultCell>,
    /// Coverage.
    pub coverage: Coverage,
    /// Signed contributions.
    pub provenance: Vec<Provenance>,
}

/// Refreshes one indicator from the connected nodes and stores the result.
///
/// # Errors
/// Only on a store failure: unreachable nodes make a partial result.
pub async fn refresh(ctx: &Arc<Ctx>, ind: &Indicator) -> Result<IndicatorResult, HubError> {
    let nodes = ctx.hub.store.nodes()?;
    let mut wanted: Vec<(String, Measure)> = ind
        .formula
        .terms()
        .into_iter()
        .filter_map(compose::measure)
        .collect();
    wanted.sort_by(|a, b| (&a.0, a.1.to_string()).cmp(&(&b.0, b.1.to_string())));
    wanted.dedup();

    let mut coverage = Coverage::default();
    let mut tasks = tokio::task::JoinSet::new();
    for (dataset, measure) in &wanted {
        let providers: Vec<_> = nodes
            .iter()
            .filter(|n| n.revoked_at.is_none() && n.datasets.contains(dataset))
            .collect();
        if providers.is_empty() {
            coverage.failed.push(Failed {
                node_id: "-".into(),
                name: "-".into(),
                dataset: dataset.clone(),
                reason: "no connected node has reported this dataset".into(),
            });
        }
        for n in providers {
            let Some(live) = ctx.registry.get(&n.node_id) else {
                coverage.failed.push(Failed {
                    node_id: n.node_id.to_string(),
                    name: n.name.clone(),
                    dataset: dataset.clone(),
                    reason: "not connected".into(),
                });
                continue;
            };
            let query = Query::Aggregate(AggregateQuery {
                dataset: dataset.clone(),
                measure: measure.clone(),
                periods: vec![],
                by: None,
            });
            let (ctx, dataset, measure, name) = (
                ctx.clone(),
                dataset.clone(),
                measure.clone(),
                n.name.clone(),
            );
            tasks.spawn(async move {
                let r = crate::federation::ask(
                    &live,
                    &ctx.hub.key,
                    query,
                    ctx.hub.config.query_timeout,
                )
                .await;
                (live, name, dataset, measure, r)
            });
        }
    }
    let mut answers = Answers::new();
    let mut provenance = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let Ok((live, name, dataset, measure, r)) = joined else {
            continue;
        };
        let node_id = live.identity.node_id.to_string();
        let fail = |reason: String| Failed {
            node_id: node_id.clone(),
            name: name.clone(),
            dataset: dataset.clone(),
            reason,
        };
        match r {
            Err(e) => coverage.failed.push(fail(e.to_string())),
            Ok(asked) => match asked.body.outcome {
                Outcome::Answered(Answer::Aggregate(a)) => {
                    coverage.answered.push(Answered {
                        node_id: node_id.clone(),
                        name: name.clone(),
                        dataset: dataset.clone(),
                        data_as_of: a.data_as_of,
                    });
                    answers
                        .entry((dataset.clone(), measure.clone()))
                        .or_default()
                        .push(a);
                    provenance.push(Provenance {
                        cert_der: live.cert_der.clone(),
                        dataset,
                        measure,
                        signed: asked.signed,
                    });
                }
                Outcome::Answered(_) => coverage.failed.push(fail("unexpected answer".into())),
                Outcome::Refused(r) => coverage.failed.push(fail(format!("refused: {r}"))),
            },
        }
    }
    coverage
        .answered
        .sort_by(|a, b| (&a.dataset, &a.node_id).cmp(&(&b.dataset, &b.node_id)));
    coverage
        .failed
        .sort_by(|a, b| (&a.dataset, &a.node_id).cmp(&(&b.dataset, &b.node_id)));
    let cells = compose::compose(ind, &answers);
    coverage.suppressed = cells
        .iter()
        .filter(|c| c.status == Status::Suppressed)
        .count();
    coverage.missing = cells.iter().filter(|c| c.status == Status::Missing).count();
    let result = IndicatorResult {
        indicator: ind.id.clone(),
        computed_at: now(),
        cells,
        coverage,
        provenance,
    };
    ctx.hub.store.put_result(&result)?;
    ctx.remember(&result);
    if result.coverage.complete() {
        info!(indicator = %ind.id, contributions = result.provenance.len(), "indicator refreshed");
    } else {
        warn!(indicator = %ind.id, missing = result.coverage.failed.len(), "indicator refreshed with partial coverage");
    }
    Ok(result)
}

/// Refreshes every indicator of the catalog.
pub async fn refresh_all(ctx: &Arc<Ctx>) {
    for ind in &ctx.catalog {
        if let Err(error) = refresh(ctx, ind).await {
            warn!(%error, indicator = %ind.id, "refresh failed");
        }
    }
}

/// Refreshes on a schedule until the hub stops.
pub async fn schedule(ctx: Arc<Ctx>, first: Duration, every: Duration) {
    tokio::time::sleep(first).await;
    loop {
        refresh_all(&ctx).await;
        tokio::time::sleep(every).await;
    }
}

/// What `verify-indicator` found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    /// Indicator id.
    pub indicator: String,
    /// When the checked result was composed.
    pub computed_at: UnixTime,
    /// Signed contributions checked.
    pub contributions: usize,
    /// Cells recomputed and compared.
    pub cells: usize,
}

/// Re-checks every signature of a stored result against the CA and the
/// node certificates, and recomputes every value from the signed answers.
///
/// # Errors
/// [`HubError::Refused`] naming the first contribution or cell that fails.
pub fn verify(
    cas: &[Vec<u8>],
    ind: &Indicator,
    result: &IndicatorResult,
) -> Result<Verification, HubError> {
    let bad = |why: String| HubError::Refused(format!("verification failed for {}: {why}", ind.id));
    let mut answers = Answers::new();
    for (i, p) in result.provenance.iter().enumerate() {
        let body0 = passerelle_protocol::codec::decode::<passerelle_protocol::envelope::ReplyBody>(
            &p.signed.body,
        )
        .map_err(|e| bad(format!("contribution {i}: {e}")))?;
        let identity = passerelle_certs::tls::verify_node_cert(cas, &p.cert_der, body0.issued_at)
            .map_err(|e| bad(format!("contribution {i}: certificate: {e}")))?;
        let body = p
            .signed
            .verify(&identity.public_key, &identity.node_id, None)
            .map_err(|e| bad(format!("contribution {i} from {}: {e}", identity.node_id)))?;
        match body.outcome {
            Outcome::Answered(Answer::Aggregate(a))
                if a.query.dataset == p.dataset && a.query.measure == p.measure =>
            {
                answers
                    .entry((p.dataset.clone(), p.measure.clone()))
                    .or_default()
                    .push(a);
            }
            _ => {
                return Err(bad(format!(
                    "contribution {i} from {} is not the answer it claims",
                    identity.node_id
                )))
            }
        }
    }
    let recomputed = compose::compose(ind, &answers);
    if recomputed.len() != result.cells.len() {
        return Err(bad(format!(
            "{} cells recomputed, {} published",
            recomputed.len(),
            result.cells.len()
        )));
    }
    for (r, c) in recomputed.iter().zip(&result.cells) {
        if r != c {
            return Err(bad(format!(
                "{} {} {}: published {:?}, recomputed {:?}",
                c.level, c.code, c.period, c.value, r.value
            )));
        }
    }
    Ok(Verification {
        indicator: ind.id.clone(),
        computed_at: result.computed_at,
        contributions: result.provenance.len(),
        cells: recomputed.len(),
    })
}

/// Latest result per indicator id, for listings.
pub type Latest = BTreeMap<String, IndicatorResult>;
