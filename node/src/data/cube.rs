//! Cubes: counts, sums and largest contributions per finest cell.

use std::collections::HashMap;

use passerelle_protocol::period::Period;
use serde::{Deserialize, Serialize};

/// Where a cell sits: commune index, period, and one value index per
/// categorical dimension.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct CellKey {
    /// Index in `geo::COMMUNES`.
    pub commune: u8,
    /// Period.
    pub period: Period,
    /// Index of the value of each dimension, in declaration order.
    pub dims: Vec<u16>,
}

/// What a cell holds.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CellAgg {
    /// Contributors (records, or the sum of the count column).
    pub count: u64,
    /// Sum of each measure.
    pub sums: Vec<f64>,
    /// Largest single contribution to each measure (records only; 0 for
    /// cells datasets, where contributors are unknown).
    pub maxes: Vec<f64>,
}

impl CellAgg {
    /// Adds another cell or row into this one.
    pub fn absorb(&mut self, count: u64, sums: &[f64], maxes: &[f64]) {
        self.count += count;
        if self.sums.len() < sums.len() {
            self.sums.resize(sums.len(), 0.0);
            self.maxes.resize(sums.len(), 0.0);
        }
        for (i, v) in sums.iter().enumerate() {
            self.sums[i] += v;
        }
        for (i, m) in maxes.iter().enumerate() {
            if *m > self.maxes[i] {
                self.maxes[i] = *m;
            }
        }
    }
}

/// A dataset batch aggregated to its finest cells.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Cube {
    /// Dimension columns, in declaration order.
    pub dimensions: Vec<String>,
    /// Measure names, in declaration order.
    pub measures: Vec<String>,
    /// Cells, sorted by key.
    pub cells: Vec<(CellKey, CellAgg)>,
}

impl Cube {
    /// Builds a cube from a map of cells.
    pub fn from_map(
        dimensions: Vec<String>,
        measures: Vec<String>,
        map: HashMap<CellKey, CellAgg>,
    ) -> Self {
        let mut cells: Vec<(CellKey, CellAgg)> = map.into_iter().collect();
        cells.sort_by(|a, b| a.0.cmp(&b.0));
        Self {
            dimensions,
            measures,
            cells,
        }
    }

    /// The periods the cube covers.
    pub fn periods(&self) -> Vec<Period> {
        let mut p: Vec<Period> = self.cells.iter().map(|(k, _)| k.period).collect();
        p.sort();
        p.dedup();
        p
    }

    /// Total contributors.
    pub fn records(&self) -> u64 {
        self.cells.iter().map(|(_, c)| c.count).sum()
    }
}
