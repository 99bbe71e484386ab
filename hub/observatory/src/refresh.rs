//! Refreshing indicators from the network, keeping their history, and
//! checking their provenance offline.
//!
//! A refresh is a pure [`plan`] (which node to ask for what), a thin
//! fan-out that asks in parallel, a pure [`fold`] of the replies into a
//! composition, and the pure publishing rules ([`crate::publish::decide`]);
//! the pure parts are tested without sockets.
//!
//! A refresh asks every node that provides each dataset, in parallel, with
//! a timeout. A provider is a node the operator approved for the dataset
//! (see [`passerelle_hub_core::providers`]) that claims it in its status:
//! a claim alone is never asked, so an enrolled node cannot add its
//! figures to another institution's indicator. Every result says which nodes answered, which did not and
//! why, and how many cells are suppressed or missing. A node down makes
//! the composition partial: it is kept as a draft (unless its catalog
//! entry allows partial publication) and the last complete result stays
//! published. The signed replies a result was composed from are stored
//! with it, so `verify-indicator` can re-check every signature and
//! recompute every value without the network.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use passerelle_hub_core::{
    federation::{Federation, Question},
    providers::Approvals,
    store::NodeRecord,
    HubError, Refusal,
};
use passerelle_link::now;
use passerelle_protocol::{
    aggregate::{AggregateQuery, Measure},
    envelope::{Outcome, ReplyBody, SignedReply},
    ids::NodeId,
    message::{Answer, Query},
    UnixTime,
};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::{
    breakdown::{self, Breakdown},
    catalog::Indicator,
    compose::{self, Answers, ResultCell, Status},
    population::{Denominators, Populations},
    publish::{self, Absence, Composition, Decision, Gap},
    Observatory,
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

/// A composed indicator, as kept in history. Reads records written before
/// `denominators` existed (see [`crate::stored`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    /// The population figures divided by, when not the built-in 2017
    /// ones (see [`crate::population`]). Always written; a record written
    /// before this field existed reads as empty (the 2017 figures it used).
    #[serde(default)]
    pub denominators: Denominators,
    /// The breakdowns its catalog entry declares (see [`crate::breakdown`]).
    /// Written last; a record written before this field existed reads as
    /// having none.
    #[serde(default, serialize_with = "crate::stored::write_breakdowns")]
    pub breakdowns: Vec<Breakdown>,
}

/// One question the refresh will ask: a dataset's measure, of one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    /// The node.
    pub node_id: NodeId,
    /// Its institution.
    pub name: String,
    /// Dataset asked.
    pub dataset: String,
    /// Measure asked.
    pub measure: Measure,
    /// The dimension asked to break down by (`None`: the total).
    pub by: Option<String>,
}

impl Ask {
    /// The signed query this ask becomes.
    pub fn query(&self) -> Query {
        Query::Aggregate(AggregateQuery {
            dataset: self.dataset.clone(),
            measure: self.measure.clone(),
            periods: vec![],
            by: self.by.clone(),
        })
    }

    pub(crate) fn gap(&self, why: Absence) -> Gap {
        Gap {
            node_id: self.node_id.to_string(),
            name: self.name.clone(),
            dataset: self.dataset.clone(),
            why,
        }
    }
}

impl From<&Gap> for Failed {
    fn from(g: &Gap) -> Self {
        Self {
            node_id: g.node_id.clone(),
            name: g.name.clone(),
            dataset: g.dataset.clone(),
            reason: g.why.to_string(),
        }
    }
}

/// What a refresh of one indicator will do, decided before any IO: the
/// questions to ask, and the contributions already known to be missing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    /// Questions to connected providers.
    pub asks: Vec<Ask>,
    /// Contributions that cannot be had (no provider, not connected).
    pub failed: Vec<Gap>,
}

/// Plans the refresh of `ind` (pure): every dataset measure its formula
/// needs, asked of every enrolled, unrevoked node the operator approved
/// for the dataset, that claims it and is connected now. Claims without
/// an approval are neither asked nor expected.
pub fn plan(
    ind: &Indicator,
    nodes: &[NodeRecord],
    approvals: &Approvals,
    connected: &dyn Fn(&NodeId) -> bool,
) -> Plan {
    let mut wanted: Vec<(String, Measure)> = ind
        .formula
        .terms()
        .into_iter()
        .filter_map(compose::measure)
        .collect();
    wanted.sort_by(|a, b| (&a.0, a.1.to_string()).cmp(&(&b.0, b.1.to_string())));
    wanted.dedup();
    let mut plan = Plan::default();
    for (dataset, measure) in wanted {
        let providers: Vec<_> = nodes
            .iter()
            .filter(|n| {
                n.revoked_at.is_none()
                    && n.datasets.contains(&dataset)
                    && approvals.allows(&n.node_id, &dataset)
            })
            .collect();
        if providers.is_empty() {
            plan.failed.push(Gap {
                node_id: "-".into(),
                name: "-".into(),
                dataset: dataset.clone(),
                why: Absence::NoProvider,
            });
        }
        for n in providers {
            let ask = Ask {
                node_id: n.node_id.clone(),
                name: n.name.clone(),
                dataset: dataset.clone(),
                measure: measure.clone(),
                by: None,
            };
            if connected(&n.node_id) {
                // The same question once per breakdown, then the total.
                for by in &ind.by {
                    plan.asks.push(Ask {
                        by: Some(by.clone()),
                        ..ask.clone()
                    });
                }
                plan.asks.push(ask);
            } else {
                plan.failed.push(ask.gap(Absence::NotConnected));
            }
        }
    }
    plan
}

/// What one question brought back: the verified reply with the node's
/// certificate, or why there is none.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The question.
    pub ask: Ask,
    /// The node's certificate (DER) and its verified, signed reply.
    pub outcome: Result<(Vec<u8>, ReplyBody, SignedReply), Absence>,
}

/// Composes the result of a refresh from its plan and the replies (pure);
/// [`publish::decide`] then says whether it is published.
pub fn fold(
    ind: &Indicator,
    plan: Plan,
    replies: Vec<Reply>,
    computed_at: UnixTime,
) -> Composition {
    fold_with(ind, plan, replies, computed_at, &Populations::default())
}

/// [`fold`] with the operator's reference populations.
pub fn fold_with(
    ind: &Indicator,
    plan: Plan,
    replies: Vec<Reply>,
    computed_at: UnixTime,
    populations: &Populations,
) -> Composition {
    let mut coverage = Coverage::default();
    let mut gaps = plan.failed;
    let mut answers = Answers::new();
    let mut provenance = Vec::new();
    let mut by = breakdown::ByReplies::new(ind, &gaps);
    for Reply { ask, outcome } in replies {
        if ask.by.is_some() {
            by.add(ask, outcome);
            continue;
        }
        match outcome {
            Err(why) => gaps.push(ask.gap(why)),
            Ok((cert_der, body, signed)) => match body.outcome {
                // A regional hub answers with its published cells
                // (`Answer::Composed`); they compose like a node's.
                Outcome::Answered(answer @ (Answer::Aggregate(_) | Answer::Composed(_))) => {
                    let Some(a) = answer.into_aggregate() else {
                        continue;
                    };
                    coverage.answered.push(Answered {
                        node_id: ask.node_id.to_string(),
                        name: ask.name.clone(),
                        dataset: ask.dataset.clone(),
                        data_as_of: a.data_as_of,
                    });
                    answers
                        .entry((ask.dataset.clone(), ask.measure.clone()))
                        .or_default()
                        .push(a);
                    provenance.push(Provenance {
                        cert_der,
                        dataset: ask.dataset,
                        measure: ask.measure,
                        signed,
                    });
                }
                Outcome::Answered(_) => gaps.push(ask.gap(Absence::UnexpectedAnswer)),
                Outcome::Refused(r) => gaps.push(ask.gap(Absence::Refused(r))),
            },
        }
    }
    coverage
        .answered
        .sort_by(|a, b| (&a.dataset, &a.node_id).cmp(&(&b.dataset, &b.node_id)));
    gaps.sort_by(|a, b| (&a.dataset, &a.node_id).cmp(&(&b.dataset, &b.node_id)));
    coverage.failed = gaps.iter().map(Failed::from).collect();
    // Provenance in a stable order too, whatever order replies came in.
    provenance.sort_by(|a, b| (&a.dataset, &a.cert_der).cmp(&(&b.dataset, &b.cert_der)));
    let denominators = populations.denominators(&ind.formula, &answers);
    let cells = compose::compose_with(ind, &answers, &denominators);
    coverage.suppressed = cells
        .iter()
        .filter(|c| c.status == Status::Suppressed)
        .count();
    coverage.missing = cells.iter().filter(|c| c.status == Status::Missing).count();
    let breakdowns = by.finish(ind, &coverage);
    Composition {
        result: IndicatorResult {
            indicator: ind.id.clone(),
            computed_at,
            cells,
            coverage,
            provenance,
            denominators,
            breakdowns,
        },
        gaps,
    }
}

/// Asks every question of a plan in parallel (the only IO of a refresh):
/// one signed body per distinct question for the nodes that speak version
/// 3, the replies' signatures checked in one batch
/// ([`Federation::ask_all`]).
async fn fan_out(fed: &Federation, asks: &[Ask]) -> Vec<Reply> {
    let mut replies = Vec::with_capacity(asks.len());
    let mut questions = Vec::with_capacity(asks.len());
    let mut sent = Vec::with_capacity(asks.len());
    for ask in asks {
        match fed.live(&ask.node_id) {
            None => replies.push(Reply {
                ask: ask.clone(),
                outcome: Err(Absence::NotConnected),
            }),
            Some(live) => {
                sent.push((ask.clone(), live.cert_der.clone()));
                questions.push(Question {
                    live,
                    query: ask.query(),
                });
            }
        }
    }
    let results = fed.ask_all(questions).await;
    for ((ask, cert_der), result) in sent.into_iter().zip(results) {
        replies.push(Reply {
            ask,
            outcome: result
                .map(|a| (cert_der, a.body, a.signed))
                .map_err(|e| Absence::of(&e)),
        });
    }
    replies
}

/// Refreshes one indicator from the connected nodes. A result complete
/// for what it claims (or partial where its entry allows) is stored as
/// published and becomes the latest; otherwise it is stored as a draft and
/// the published result stays.
///
/// # Errors
/// Only on a store failure: unreachable nodes make a draft.
pub async fn refresh(
    obs: &Observatory,
    fed: &Federation,
    ind: &Indicator,
) -> Result<Decision, HubError> {
    let nodes = fed.hub.store.nodes()?;
    let approvals = passerelle_hub_core::providers::approvals(&fed.hub.store)?;
    let plan = plan(ind, &nodes, &approvals, &|n| fed.live(n).is_some());
    let replies = fan_out(fed, &plan.asks).await;
    let decision = publish::decide(ind, fold_with(ind, plan, replies, now(), obs.populations()));
    match &decision {
        Decision::Publish(result) => {
            fed.hub
                .store
                .put_result(&result.indicator, result.computed_at, result)?;
            obs.remember(result);
            if result.coverage.complete() {
                info!(indicator = %ind.id, contributions = result.provenance.len(), "indicator refreshed");
            } else {
                warn!(indicator = %ind.id, missing = result.coverage.failed.len(), "indicator published with partial coverage, as its catalog entry allows");
            }
        }
        Decision::Draft(draft) => {
            fed.hub
                .store
                .put_draft(&ind.id, draft.result.computed_at, draft)?;
            obs.remember_draft(draft);
            warn!(indicator = %ind.id, missing = draft.gaps.len(), held_back = ?draft.held_back, "indicator refresh incomplete: kept as a draft, the last published result stays");
        }
    }
    Ok(decision)
}

/// Refreshes every indicator of the catalog.
pub async fn refresh_all(obs: &Observatory, fed: &Federation) {
    for ind in &obs.catalog {
        if let Err(error) = refresh(obs, fed, ind).await {
            warn!(%error, indicator = %ind.id, "refresh failed");
        }
    }
}

/// Refreshes on a schedule until the hub stops.
pub async fn schedule(obs: Arc<Observatory>, fed: Federation, first: Duration, every: Duration) {
    tokio::time::sleep(first).await;
    loop {
        // Several instances on one database: the one holding the lease
        // refreshes (held for two intervals, so another takes over when
        // it stops).
        let lease = every.as_secs().saturating_mul(2).max(60);
        let held =
            fed.hub
                .store
                .hold_lease("refresh", &fed.hub.instance, passerelle_link::now(), lease);
        match held {
            Ok(true) => {
                refresh_all(&obs, &fed).await;
                // Keep the history within its configured bound.
                let (hub, catalog) = (fed.hub.clone(), obs.catalog.clone());
                let _ = tokio::task::spawn_blocking(move || {
                    crate::retention::apply_configured(&hub, &catalog)
                })
                .await;
            }
            Ok(false) => tracing::debug!("another hub instance refreshes the indicators"),
            Err(error) => tracing::warn!(%error, "refresh lease unreadable; not refreshing"),
        }
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
/// [`Refusal::Verification`] naming the first contribution or cell that fails.
pub fn verify(
    cas: &[Vec<u8>],
    ind: &Indicator,
    result: &IndicatorResult,
) -> Result<Verification, HubError> {
    let bad = |why: String| {
        HubError::from(Refusal::Verification {
            indicator: ind.id.clone(),
            why,
        })
    };
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
        match body.outcome.clone() {
            Outcome::Answered(answer)
                if answer.aggregate().is_some_and(|a| {
                    a.query.dataset == p.dataset
                        && a.query.measure == p.measure
                        && a.query.by.is_none()
                }) =>
            {
                let Some(a) = answer.into_aggregate() else {
                    continue;
                };
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
    let recomputed = compose::compose_with(ind, &answers, &result.denominators);
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
    for b in &result.breakdowns {
        breakdown::verify(cas, ind, b)
            .map_err(|why| bad(format!("breakdown by {}: {why}", b.by)))?;
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

#[cfg(test)]
#[path = "refresh_tests.rs"]
mod tests;
