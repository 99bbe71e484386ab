//! Aggregate queries and answers: what the observatory asks a node, and
//! what a node releases. A suppressed cell carries the reason, never the
//! value: there is no field that could leak it.

use serde::{Deserialize, Serialize};

use crate::{geo::Level, period::Period};

/// What to aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Measure {
    /// Number of records (people, events) or the count column of a cells
    /// dataset.
    Count,
    /// Sum of a declared numeric measure.
    Sum(String),
}

impl std::fmt::Display for Measure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Measure::Count => f.write_str("count"),
            Measure::Sum(m) => write!(f, "sum({m})"),
        }
    }
}

/// An aggregate question about one dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregateQuery {
    /// Dataset name.
    pub dataset: String,
    /// Measure.
    pub measure: Measure,
    /// Periods wanted; empty means every period the node holds.
    pub periods: Vec<Period>,
    /// One categorical dimension to break down by, if any.
    pub by: Option<String>,
}

/// Why a cell was withheld.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Suppression {
    /// Fewer contributors than the threshold.
    Threshold,
    /// One contributor dominates the sum.
    Dominance,
    /// Hidden so that a suppressed cell cannot be recovered by subtraction.
    Secondary,
}

/// A cell's value as released.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum CellValue {
    /// The value.
    Released(f64),
    /// Withheld, with the reason.
    Suppressed(Suppression),
}

/// One cell of an answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerCell {
    /// Level of the unit.
    pub level: Level,
    /// Code of the unit (INSEE code, EPCI SIREN, department code).
    pub code: String,
    /// Period.
    pub period: Period,
    /// Category of the `by` dimension; `None` for the total.
    pub category: Option<String>,
    /// Value or suppression.
    pub value: CellValue,
}

/// The disclosure rule a node applied, published with its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppliedRule {
    /// Minimum number of contributors of a released cell.
    pub min_count: u64,
    /// Dominance share for sums, if applied.
    pub dominance: Option<f64>,
    /// Base released counts are rounded to, if any.
    pub rounding: Option<u64>,
}

/// A node's answer to an [`AggregateQuery`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregateAnswer {
    /// The question answered.
    pub query: AggregateQuery,
    /// Categories of the `by` dimension, in order.
    pub categories: Vec<String>,
    /// The rule applied.
    pub rule: AppliedRule,
    /// Import time of the newest batch used.
    pub data_as_of: Option<crate::UnixTime>,
    /// Cells at every shared level.
    pub cells: Vec<AnswerCell>,
}

/// A hub's answer to an [`AggregateQuery`] from its own published result
/// (a regional hub enrolled as a node of a national hub): the published
/// cells, already disclosure-controlled, and what they were composed from,
/// so the national bundle chains back to the regional one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComposedAnswer {
    /// The cells, as an aggregate answer. A cell the regional hub withholds
    /// is [`Suppression::Secondary`] whatever its reason (the reason is not
    /// published); a cell it has no figure for is left out.
    pub answer: AggregateAnswer,
    /// The regional result the cells are taken from.
    pub from: ComposedFrom,
}

/// Which published result a [`ComposedAnswer`] was taken from: what the
/// statement of that result's provenance bundle names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComposedFrom {
    /// The answering hub's indicator id.
    pub indicator: String,
    /// When that result was composed (its bundle's `computed_at`).
    pub computed_at: crate::UnixTime,
    /// SHA-256 of each signed answer the result was composed from, in the
    /// order of its bundle's contributions.
    pub answers: Vec<[u8; 32]>,
}

/// Signed answers at most a [`ComposedFrom`] lists.
pub const MAX_COMPOSED_FROM: usize = 10_000;
