//! Why a table cannot be protected as given.

use std::fmt;

/// One of the two dimensions of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// The row hierarchy (usually geography).
    Rows,
    /// The column hierarchy (usually categories and their total).
    Cols,
}

impl fmt::Display for Axis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Axis::Rows => "row",
            Axis::Cols => "column",
        })
    }
}

/// A table shape, cell list or rule that disclosure control refuses, or a
/// table it cannot check.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DisclosureError {
    /// A hierarchy has no unit at all.
    #[error("the {axis} hierarchy has no unit")]
    EmptyHierarchy {
        /// The hierarchy concerned.
        axis: Axis,
    },
    /// A unit names a parent that does not exist.
    #[error("{axis} unit {unit} names parent {parent}, but the hierarchy has {len} units")]
    ParentOutOfRange {
        /// The hierarchy concerned.
        axis: Axis,
        /// The unit whose parent is wrong.
        unit: usize,
        /// The parent it names.
        parent: usize,
        /// Number of units in the hierarchy.
        len: usize,
    },
    /// Following parents from a unit comes back to it.
    #[error("{axis} unit {unit} is its own ancestor: the parents form a cycle")]
    Cycle {
        /// The hierarchy concerned.
        axis: Axis,
        /// A unit on the cycle.
        unit: usize,
    },
    /// The table has more cells than this check accepts.
    #[error("the table has {cells} cells, more than the {max} disclosure control accepts")]
    TooLarge {
        /// Cells in the table.
        cells: usize,
        /// The limit, [`super::MAX_CELLS`].
        max: usize,
    },
    /// A linked table has more breakdowns than this check accepts.
    #[error(
        "the linked table has {found} breakdowns, more than the {max} disclosure control accepts"
    )]
    TooManyBreakdowns {
        /// Breakdowns given.
        found: usize,
        /// The limit, [`super::MAX_BREAKDOWNS`].
        max: usize,
    },
    /// The number of cells given does not match the shape.
    #[error("{found} cells given for a table of {expected} cells")]
    CellCount {
        /// Rows times columns of the shape.
        expected: usize,
        /// Length of the slice given.
        found: usize,
    },
    /// A cell's largest-contributor share is not a number in 0..=1.
    #[error("cell {cell} has a largest-contributor share of {share}, outside 0..=1")]
    InvalidShare {
        /// Index of the cell.
        cell: usize,
        /// The share given.
        share: f64,
    },
    /// The dominance threshold is not a number in 0..=1.
    #[error("dominance threshold {0} is outside 0..=1")]
    InvalidDominance(f64),
    /// Exact elimination needed integers beyond 128 bits. Tables built from
    /// hierarchies keep coefficients tiny, so this means a pathological shape.
    #[error("exact arithmetic exceeded 128-bit integers while checking the table")]
    Overflow,
    /// A withheld cell stays recoverable and no released cell is connected
    /// to it. The relations of a valid shape never allow this; it is
    /// reported rather than looped on.
    #[error("withheld cell {cell} stays recoverable and no released cell can protect it")]
    Unprotectable {
        /// Index of the cell.
        cell: usize,
    },
}
