//! What is known of each cell, the rule applied to it, and the primary pass.

use serde::{Deserialize, Serialize};

use super::DisclosureError;

/// What disclosure control knows of one cell. It never sees the value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CellInput {
    /// Number of contributors (records, people) behind the cell.
    pub count: u64,
    /// For a sum: largest single contribution divided by the cell's sum, in
    /// 0..=1. `None` for a count.
    pub max_share: Option<f64>,
    /// Not published whatever its count (a level the policy does not
    /// share): hidden from the start, with its true count, so that released
    /// cells neither reveal it nor are withheld for it needlessly.
    #[serde(default)]
    pub withheld: bool,
}

impl CellInput {
    /// A cell of a count table.
    pub fn counted(count: u64) -> Self {
        Self {
            count,
            max_share: None,
            withheld: false,
        }
    }

    /// A cell of a sum table, with the share of its largest contributor.
    pub fn summed(count: u64, max_share: f64) -> Self {
        Self {
            count,
            max_share: Some(max_share),
            withheld: false,
        }
    }
}

/// The disclosure rule of a table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Cells with 1 to `min_count - 1` contributors are withheld.
    pub min_count: u64,
    /// A sum cell whose largest contributor holds more than this share is
    /// withheld; `None` disables the dominance rule.
    pub dominance: Option<f64>,
}

impl Default for Rule {
    /// At least 11 contributors, and no contributor above 85 % of a sum.
    fn default() -> Self {
        Self {
            min_count: 11,
            dominance: Some(0.85),
        }
    }
}

/// Why a cell is withheld on its own account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PrimaryReason {
    /// Fewer contributors than the rule's `min_count` (but at least one).
    Threshold,
    /// One contributor holds more than the rule's dominance share.
    Dominance,
    /// Not published by policy (see [`CellInput::withheld`]).
    Withheld,
}

/// The decision for one cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CellStatus {
    /// The cell may be published.
    Released,
    /// The cell is withheld because of its own contributors.
    Primary(PrimaryReason),
    /// The cell is withheld so that no withheld cell can be recomputed, nor
    /// a group of fewer than `min_count` contributors derived from a total.
    Secondary,
}

impl CellStatus {
    /// Whether the cell may be published.
    pub fn is_released(self) -> bool {
        self == CellStatus::Released
    }

    /// Whether the cell is withheld, for either reason.
    pub fn is_suppressed(self) -> bool {
        !self.is_released()
    }
}

impl Rule {
    /// Checks the dominance share.
    ///
    /// # Errors
    /// [`DisclosureError::InvalidDominance`] when it is not in 0..=1.
    pub fn validate(&self) -> Result<(), DisclosureError> {
        match self.dominance {
            Some(d) if !(0.0..=1.0).contains(&d) => Err(DisclosureError::InvalidDominance(d)),
            _ => Ok(()),
        }
    }

    /// The primary decision for cell number `index`.
    pub(super) fn primary(
        &self,
        index: usize,
        cell: &CellInput,
    ) -> Result<CellStatus, DisclosureError> {
        if let Some(share) = cell.max_share {
            if !(0.0..=1.0).contains(&share) {
                return Err(DisclosureError::InvalidShare { cell: index, share });
            }
        }
        if cell.withheld {
            return Ok(CellStatus::Primary(PrimaryReason::Withheld));
        }
        if cell.count == 0 {
            return Ok(CellStatus::Released);
        }
        if cell.count < self.min_count {
            return Ok(CellStatus::Primary(PrimaryReason::Threshold));
        }
        match (cell.max_share, self.dominance) {
            (Some(share), Some(limit)) if share > limit => {
                Ok(CellStatus::Primary(PrimaryReason::Dominance))
            }
            _ => Ok(CellStatus::Released),
        }
    }
}
