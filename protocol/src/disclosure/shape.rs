//! Table shapes: two hierarchies crossed, their validation, and the
//! additive relations between cells that they imply.

use serde::{Deserialize, Serialize};

use super::{Axis, DisclosureError};

/// Largest table, in cells, that disclosure control accepts (for example
/// 256 geographic units by 16 columns). Bigger tables are refused with
/// [`DisclosureError::TooLarge`] rather than eliminated slowly.
pub const MAX_CELLS: usize = 4096;

/// A hierarchy of units: `parent[i]` is the unit that sums unit `i`, `None`
/// for a root.
///
/// Geography: 0 = department, 1..=5 = EPCI (parent `Some(0)`), 6..=22 =
/// communes (parent `Some(epci)`). Categories: 0 = total, 1..=k = categories
/// (parent `Some(0)`); with no category dimension, just `[None]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hierarchy {
    /// Parent of each unit, `None` for a root.
    pub parent: Vec<Option<usize>>,
}

impl Hierarchy {
    /// Wraps a parent array; it is checked when a table is protected.
    pub fn new(parent: Vec<Option<usize>>) -> Self {
        Self { parent }
    }

    /// A total (unit 0) and `categories` categories under it; with zero
    /// categories, the total alone.
    pub fn flat(categories: usize) -> Self {
        let mut parent = vec![None];
        parent.extend(std::iter::repeat_n(Some(0), categories));
        Self { parent }
    }

    /// Number of units.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    /// Whether the hierarchy has no unit (never valid).
    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// Checks the parent array and returns the children of every unit.
    fn children(&self, axis: Axis) -> Result<Vec<Vec<usize>>, DisclosureError> {
        let len = self.len();
        if len == 0 {
            return Err(DisclosureError::EmptyHierarchy { axis });
        }
        let mut children = vec![Vec::new(); len];
        for (unit, parent) in self.parent.iter().enumerate() {
            if let Some(parent) = *parent {
                let slot = children
                    .get_mut(parent)
                    .ok_or(DisclosureError::ParentOutOfRange {
                        axis,
                        unit,
                        parent,
                        len,
                    })?;
                slot.push(unit);
            }
        }
        self.check_acyclic(axis)?;
        Ok(children)
    }

    /// Walks up from every unit; each unit is finished once, so this is
    /// linear. Parents are known to be in range.
    fn check_acyclic(&self, axis: Axis) -> Result<(), DisclosureError> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            OnPath,
            Done,
        }
        let mut mark = vec![Mark::New; self.len()];
        let mut path = Vec::new();
        for start in 0..self.len() {
            let mut unit = Some(start);
            while let Some(u) = unit {
                match mark.get(u).copied() {
                    Some(Mark::New) => {
                        mark[u] = Mark::OnPath;
                        path.push(u);
                        unit = self.parent.get(u).copied().flatten();
                    }
                    Some(Mark::OnPath) => return Err(DisclosureError::Cycle { axis, unit: u }),
                    Some(Mark::Done) | None => break,
                }
            }
            for u in path.drain(..) {
                mark[u] = Mark::Done;
            }
        }
        Ok(())
    }
}

/// The shape of a table: rows crossed with columns. Cells are row-major:
/// cell `row * cols.len() + col`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableShape {
    /// The row hierarchy (usually geography).
    pub rows: Hierarchy,
    /// The column hierarchy (usually categories and their total).
    pub cols: Hierarchy,
}

impl TableShape {
    /// Crosses two hierarchies.
    pub fn new(rows: Hierarchy, cols: Hierarchy) -> Self {
        Self { rows, cols }
    }

    /// Number of cells, rows times columns.
    pub fn cell_count(&self) -> usize {
        self.rows.len().saturating_mul(self.cols.len())
    }

    /// Index of the cell at `row`, `col`.
    pub fn cell(&self, row: usize, col: usize) -> usize {
        row * self.cols.len() + col
    }

    /// Checks both hierarchies and the size.
    ///
    /// # Errors
    /// An empty hierarchy, a parent out of range, a cycle, or more than
    /// [`MAX_CELLS`] cells.
    pub fn validate(&self) -> Result<(), DisclosureError> {
        Relations::new(self).map(|_| ())
    }
}

/// A validated shape and its additive relations, ready for the passes.
pub(super) struct Relations {
    /// Number of cells.
    pub(super) cells: usize,
    /// Each relation as `(cell, coefficient)` sorted by cell: `+1` for the
    /// total, `-1` for each part; the sum over the relation is zero.
    pub(super) relations: Vec<Vec<(usize, i128)>>,
    /// The relations each cell belongs to.
    pub(super) member_of: Vec<Vec<usize>>,
    /// Whether a cell is a total on either axis (not a leaf cell).
    pub(super) is_total: Vec<bool>,
}

impl Relations {
    pub(super) fn new(shape: &TableShape) -> Result<Self, DisclosureError> {
        let row_children = shape.rows.children(Axis::Rows)?;
        let col_children = shape.cols.children(Axis::Cols)?;
        let cells = shape.cell_count();
        if cells > MAX_CELLS {
            return Err(DisclosureError::TooLarge {
                cells,
                max: MAX_CELLS,
            });
        }
        let (nr, nc) = (shape.rows.len(), shape.cols.len());
        let mut relations = Vec::new();
        let mut add = |total: usize, parts: &mut dyn Iterator<Item = usize>| {
            let mut rel: Vec<(usize, i128)> = std::iter::once((total, 1))
                .chain(parts.map(|p| (p, -1)))
                .collect();
            rel.sort_unstable();
            relations.push(rel);
        };
        for (r, kids) in row_children
            .iter()
            .enumerate()
            .filter(|(_, k)| !k.is_empty())
        {
            for c in 0..nc {
                add(
                    shape.cell(r, c),
                    &mut kids.iter().map(|&k| shape.cell(k, c)),
                );
            }
        }
        for r in 0..nr {
            for (c, kids) in col_children
                .iter()
                .enumerate()
                .filter(|(_, k)| !k.is_empty())
            {
                add(
                    shape.cell(r, c),
                    &mut kids.iter().map(|&k| shape.cell(r, k)),
                );
            }
        }
        let mut member_of = vec![Vec::new(); cells];
        for (id, rel) in relations.iter().enumerate() {
            for &(cell, _) in rel {
                member_of[cell].push(id);
            }
        }
        let is_total = (0..cells)
            .map(|i| !row_children[i / nc].is_empty() || !col_children[i % nc].is_empty())
            .collect();
        Ok(Self {
            cells,
            relations,
            member_of,
            is_total,
        })
    }

    /// Cells sharing at least one relation with `cell` (itself included).
    pub(super) fn neighbours(&self, cell: usize) -> impl Iterator<Item = usize> + '_ {
        self.member_of[cell]
            .iter()
            .flat_map(|&rel| self.relations[rel].iter().map(|&(c, _)| c))
    }
}
