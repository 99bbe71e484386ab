//! Breakdowns of an indicator (`by = ["sexe"]` in its catalog entry): the
//! same figures, category by category, composed from the nodes' answers
//! to the same query with `by` set.
//!
//! Each category is composed exactly like the total (the same pure
//! composition, on the answers' cells of that category), so a cell any
//! node withheld stays withheld and a cell no node answered is missing.
//! The nodes protect the total and every breakdown they share as one
//! linked table, so the hub publishing them side by side reveals nothing
//! one of them hides. A breakdown is published only when every provider
//! of the total answered it: a breakdown missing one institution would
//! not add up to the total beside it. Otherwise it is kept without cells,
//! with the reasons.

use passerelle_protocol::{
    aggregate::AggregateAnswer,
    codec,
    envelope::{Outcome, ReplyBody, SignedReply},
};
use serde::{Deserialize, Serialize};

use crate::{
    catalog::Indicator,
    compose::{self, Answers, ResultCell},
    population::Denominators,
    publish::{Absence, Gap},
    refresh::{Ask, Coverage, Failed, Provenance},
};

/// The most categories one breakdown may have (a node's answer with more
/// is refused as unexpected).
pub const MAX_CATEGORIES: usize = 64;

/// One composed cell of a breakdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakdownCell {
    /// The category (e.g. `F`).
    pub category: String,
    /// The value for that category, unit and period.
    pub cell: ResultCell,
}

/// One breakdown of a result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    /// The dimension (e.g. `sexe`).
    pub by: String,
    /// Its categories, in the nodes' order.
    pub categories: Vec<String>,
    /// Values per category, unit and period; empty when not every
    /// provider answered (see `failed`).
    pub cells: Vec<BreakdownCell>,
    /// Contributions missing, and why (empty when published).
    pub failed: Vec<Failed>,
    /// The signed answers it was composed from.
    pub provenance: Vec<Provenance>,
}

impl Breakdown {
    /// Whether its cells are published.
    pub fn published(&self) -> bool {
        self.failed.is_empty() && !self.cells.is_empty()
    }
}

/// Whether `a` is the answer to the breakdown of `dataset` by `by`, within
/// bounds.
pub fn answers_breakdown(a: &AggregateAnswer, by: &str) -> bool {
    a.query.by.as_deref() == Some(by)
        && a.categories.len() <= MAX_CATEGORIES
        && a.cells.iter().all(|c| {
            c.category
                .as_ref()
                .is_none_or(|k| a.categories.iter().any(|x| x == k))
        })
}

/// The categories of the answers, in the order first met.
pub fn categories(answers: &Answers) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in answers.values().flatten() {
        for c in &a.categories {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
    }
    out
}

/// Composes every category of a breakdown (pure): per category, the
/// answers' cells of that category composed as a total.
pub fn compose(ind: &Indicator, answers: &Answers) -> (Vec<String>, Vec<BreakdownCell>) {
    let cats = categories(answers);
    let mut out = Vec::new();
    for cat in &cats {
        let one: Answers = answers
            .iter()
            .map(|(k, list)| {
                let list = list
                    .iter()
                    .map(|a| {
                        let mut a = a.clone();
                        a.cells.retain(|c| c.category.as_deref() == Some(cat));
                        for c in &mut a.cells {
                            c.category = None;
                        }
                        a
                    })
                    .collect();
                (k.clone(), list)
            })
            .collect();
        for cell in compose::compose_with(ind, &one, &Denominators::default()) {
            out.push(BreakdownCell {
                category: cat.clone(),
                cell,
            });
        }
    }
    (cats, out)
}

/// The breakdown replies of one refresh, gathered per dimension (the
/// impure fan-out hands them over; this stays pure).
pub(crate) struct ByReplies {
    dims: Vec<Gathered>,
}

struct Gathered {
    by: String,
    answers: Answers,
    failed: Vec<Failed>,
    provenance: Vec<Provenance>,
}

impl ByReplies {
    /// One empty gathering per declared breakdown; the contributions the
    /// plan already knows to be missing are missing from each.
    pub(crate) fn new(ind: &Indicator, planned_gaps: &[Gap]) -> Self {
        let dims = ind
            .by
            .iter()
            .map(|by| Gathered {
                by: by.clone(),
                answers: Answers::new(),
                failed: planned_gaps.iter().map(Failed::from).collect(),
                provenance: Vec::new(),
            })
            .collect();
        Self { dims }
    }

    /// Takes one breakdown reply.
    pub(crate) fn add(
        &mut self,
        ask: Ask,
        outcome: Result<(Vec<u8>, ReplyBody, SignedReply), Absence>,
    ) {
        let Some(by) = ask.by.clone() else { return };
        let Some(g) = self.dims.iter_mut().find(|g| g.by == by) else {
            return;
        };
        let why = match outcome {
            Err(why) => why,
            Ok((cert_der, body, signed)) => match body.outcome {
                Outcome::Answered(answer) => match answer.into_aggregate() {
                    Some(a)
                        if a.query.dataset == ask.dataset
                            && a.query.measure == ask.measure
                            && answers_breakdown(&a, &by) =>
                    {
                        g.answers
                            .entry((ask.dataset.clone(), ask.measure.clone()))
                            .or_default()
                            .push(a);
                        g.provenance.push(Provenance {
                            cert_der,
                            dataset: ask.dataset,
                            measure: ask.measure,
                            signed,
                        });
                        return;
                    }
                    _ => Absence::UnexpectedAnswer,
                },
                Outcome::Refused(r) => Absence::Refused(r),
            },
        };
        g.failed.push(Failed::from(&ask.gap(why)));
    }

    /// The breakdowns: composed when every provider answered each of them
    /// and the total is complete, otherwise without cells.
    pub(crate) fn finish(self, ind: &Indicator, total: &Coverage) -> Vec<Breakdown> {
        self.dims
            .into_iter()
            .map(|mut g| {
                g.failed
                    .sort_by(|a, b| (&a.dataset, &a.node_id).cmp(&(&b.dataset, &b.node_id)));
                g.provenance
                    .sort_by(|a, b| (&a.dataset, &a.cert_der).cmp(&(&b.dataset, &b.cert_der)));
                let (categories, cells) = if g.failed.is_empty() && total.complete() {
                    compose(ind, &g.answers)
                } else {
                    (categories(&g.answers), Vec::new())
                };
                Breakdown {
                    by: g.by,
                    categories,
                    cells,
                    failed: g.failed,
                    provenance: g.provenance,
                }
            })
            .collect()
    }
}

/// Re-checks every signature of a stored breakdown and recomputes its
/// cells from the signed answers (empty when it was not published).
pub(crate) fn verify(cas: &[Vec<u8>], ind: &Indicator, b: &Breakdown) -> Result<(), String> {
    let mut answers = Answers::new();
    for (i, p) in b.provenance.iter().enumerate() {
        let body0 = codec::decode::<ReplyBody>(&p.signed.body)
            .map_err(|e| format!("contribution {i}: {e}"))?;
        let identity = passerelle_certs::tls::verify_node_cert(cas, &p.cert_der, body0.issued_at)
            .map_err(|e| format!("contribution {i}: certificate: {e}"))?;
        let body = p
            .signed
            .verify(&identity.public_key, &identity.node_id, None)
            .map_err(|e| format!("contribution {i} from {}: {e}", identity.node_id))?;
        let a = match body.outcome {
            Outcome::Answered(answer) => answer.into_aggregate(),
            Outcome::Refused(_) => None,
        };
        match a {
            Some(a)
                if a.query.dataset == p.dataset
                    && a.query.measure == p.measure
                    && answers_breakdown(&a, &b.by) =>
            {
                answers
                    .entry((p.dataset.clone(), p.measure.clone()))
                    .or_default()
                    .push(a);
            }
            _ => {
                return Err(format!(
                    "contribution {i} from {} is not the answer it claims",
                    identity.node_id
                ))
            }
        }
    }
    let recomputed = if b.cells.is_empty() {
        Vec::new()
    } else {
        compose(ind, &answers).1
    };
    if recomputed.len() != b.cells.len() {
        return Err(format!(
            "{} cells recomputed, {} published",
            recomputed.len(),
            b.cells.len()
        ));
    }
    for (r, c) in recomputed.iter().zip(&b.cells) {
        if r != c {
            return Err(format!(
                "{} {} {} {}: published {:?}, recomputed {:?}",
                c.category, c.cell.level, c.cell.code, c.cell.period, c.cell.value, r.cell.value
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "breakdown_tests.rs"]
mod tests;
