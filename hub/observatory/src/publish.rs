//! Publishing rules: whether a composed result is published or kept as a
//! draft. Pure: [`decide`] reads the catalog entry and the composition.
//!
//! A result is published only when it is complete for what it claims:
//! every node providing a dataset of the formula answered. Otherwise it is
//! a [`Draft`], kept in its own history with its coverage (who is missing
//! and why, typed as an [`Absence`]), and the last complete result stays
//! published. An entry whose catalog `partial` allows it publishes a
//! partial result when enough of the expected contributions answered; a
//! formula with two sides (difference, ratio, rate) never does, whatever
//! the entry says: a partial numerator over a complete denominator (or
//! the reverse) is a wrong figure, not an incomplete one.

use std::time::Duration;

use passerelle_hub_core::HubError;
use passerelle_protocol::message::Refusal;
use serde::{Deserialize, Serialize};

use crate::{catalog::Indicator, catalog::PartialPolicy, refresh::IndicatorResult};

/// Why a contribution is missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Absence {
    /// No enrolled node provides the dataset.
    NoProvider,
    /// The node was not connected when the refresh started.
    NotConnected,
    /// The node's link fell silent during the refresh and was closed.
    Dead {
        /// How long its link had been silent.
        silent: Duration,
    },
    /// The node did not reply in time.
    TimedOut {
        /// How long the hub waited.
        after: Duration,
    },
    /// The node speaks a protocol older than the question needs.
    Outdated {
        /// Its protocol version.
        has: u16,
        /// The version needed.
        needs: u16,
    },
    /// The node refused the question.
    Refused(Refusal),
    /// The node answered something other than what was asked.
    UnexpectedAnswer,
    /// The exchange failed otherwise (a broken stream, a reply that does
    /// not verify).
    Failed {
        /// What happened.
        why: String,
    },
}

impl Absence {
    /// The absence a failed question amounts to.
    pub fn of(error: &HubError) -> Self {
        match error {
            HubError::Dead { silent, .. } => Self::Dead { silent: *silent },
            HubError::TimedOut { after, .. } => Self::TimedOut { after: *after },
            HubError::Outdated { has, needs, .. } => Self::Outdated {
                has: *has,
                needs: *needs,
            },
            other => Self::Failed {
                why: other.to_string(),
            },
        }
    }
}

impl std::fmt::Display for Absence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoProvider => f.write_str("no connected node has reported this dataset"),
            Self::NotConnected => f.write_str("not connected"),
            Self::Dead { silent } => write!(
                f,
                "not connected (nothing heard on its link for {:.1} s)",
                silent.as_secs_f32()
            ),
            Self::TimedOut { after } => write!(f, "no reply within {} s", after.as_secs_f32()),
            Self::Outdated { has, needs } => write!(
                f,
                "speaks protocol {has}; this needs {needs}: update passerelle-node there"
            ),
            Self::Refused(r) => write!(f, "refused: {r}"),
            Self::UnexpectedAnswer => f.write_str("unexpected answer"),
            Self::Failed { why } => f.write_str(why),
        }
    }
}

/// A missing contribution: which node, for which dataset, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    /// Node id (`-` when no node provides the dataset).
    pub node_id: String,
    /// Institution (`-` when no node provides the dataset).
    pub name: String,
    /// Dataset asked.
    pub dataset: String,
    /// Why it is missing.
    pub why: Absence,
}

/// A composition before the publishing rules: the result and, typed, the
/// contributions it misses (the same ones as its coverage names).
#[derive(Debug, Clone, PartialEq)]
pub struct Composition {
    /// The composed result.
    pub result: IndicatorResult,
    /// The missing contributions.
    pub gaps: Vec<Gap>,
}

/// How many of the expected contributions answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    /// Contributions received.
    pub answered: u32,
    /// Contributions expected (one per providing node and dataset, or one
    /// for a dataset nobody provides).
    pub expected: u32,
}

impl Share {
    /// The share of a result's coverage.
    pub fn of(result: &IndicatorResult) -> Self {
        let n = |len: usize| u32::try_from(len).unwrap_or(u32::MAX);
        let answered = n(result.coverage.answered.len());
        Self {
            answered,
            expected: answered.saturating_add(n(result.coverage.failed.len())),
        }
    }

    /// Answered over expected (1 when nothing is expected).
    pub fn fraction(self) -> f64 {
        if self.expected == 0 {
            1.0
        } else {
            f64::from(self.answered) / f64::from(self.expected)
        }
    }
}

/// Why a composition was not published.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum HeldBack {
    /// Contributions are missing and the entry does not allow partial
    /// publication.
    Incomplete,
    /// The entry allows partial publication, but fewer contributions
    /// answered than it requires.
    BelowMinimum {
        /// The share the entry requires.
        min_coverage: f64,
    },
    /// A side of a difference, ratio or rate is partial: never published.
    TwoSided,
}

/// A composition kept out of publication, with its coverage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    /// What was composed (values, coverage, provenance).
    pub result: IndicatorResult,
    /// The missing contributions, typed.
    pub gaps: Vec<Gap>,
    /// How many of the expected contributions answered.
    pub share: Share,
    /// Why it was not published.
    pub held_back: HeldBack,
}

/// What becomes of a composition.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Published: complete, or partial where the entry allows it (its
    /// coverage then says what is missing).
    Publish(IndicatorResult),
    /// Kept as a draft; the last published result stays.
    Draft(Draft),
}

impl Decision {
    /// What was composed, published or not.
    pub fn result(&self) -> &IndicatorResult {
        match self {
            Self::Publish(r) => r,
            Self::Draft(d) => &d.result,
        }
    }

    /// What was composed, published or not.
    pub fn into_result(self) -> IndicatorResult {
        match self {
            Self::Publish(r) => r,
            Self::Draft(d) => d.result,
        }
    }

    /// Whether it was published.
    pub fn published(&self) -> bool {
        matches!(self, Self::Publish(_))
    }
}

/// Applies the publishing rules to a composition of `ind` (pure).
pub fn decide(ind: &Indicator, c: Composition) -> Decision {
    let Composition { result, gaps } = c;
    if gaps.is_empty() && result.coverage.complete() {
        return Decision::Publish(result);
    }
    let share = Share::of(&result);
    let held_back = match ind.partial {
        PartialPolicy::NotAllowed => HeldBack::Incomplete,
        PartialPolicy::Allowed { .. } if ind.formula.two_sided() => HeldBack::TwoSided,
        PartialPolicy::Allowed { min_coverage }
            if share.answered == 0 || share.fraction() < min_coverage =>
        {
            HeldBack::BelowMinimum { min_coverage }
        }
        PartialPolicy::Allowed { .. } => return Decision::Publish(result),
    };
    Decision::Draft(Draft {
        result,
        gaps,
        share,
        held_back,
    })
}
