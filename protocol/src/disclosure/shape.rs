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

/// Largest number of breakdowns of one linked table.
pub const MAX_BREAKDOWNS: usize = 8;

/// One dataset's tables linked together: the rows (usually geography)
/// crossed with a total column and, beside it, the categories of every
/// breakdown, each breakdown adding up to the total on its own.
///
/// Columns: `0` is the total, then the categories of breakdown 0 (for
/// example sex), then those of breakdown 1 (age bands), and so on; cells
/// are row-major: cell `row * column_count() + col`. Protecting this one
/// table protects every table cut from it (the total alone, by sex, by
/// age band) jointly: a figure released in one never lets a cell withheld
/// in another be derived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkedShape {
    /// The row hierarchy.
    pub rows: Hierarchy,
    /// Number of categories of each breakdown, in column order.
    pub breakdowns: Vec<usize>,
}

impl LinkedShape {
    /// Rows with a total and these breakdowns.
    pub fn new(rows: Hierarchy, breakdowns: Vec<usize>) -> Self {
        Self { rows, breakdowns }
    }

    /// Total column plus every category.
    pub fn column_count(&self) -> usize {
        self.breakdowns
            .iter()
            .fold(1usize, |n, &k| n.saturating_add(k))
    }

    /// Number of cells, rows times columns.
    pub fn cell_count(&self) -> usize {
        self.rows.len().saturating_mul(self.column_count())
    }

    /// The first column of breakdown `b` (its first category), if any.
    pub fn first_column(&self, b: usize) -> Option<usize> {
        (b < self.breakdowns.len()).then(|| 1 + self.breakdowns[..b].iter().sum::<usize>())
    }

    /// Index of the cell at `row`, `col`.
    pub fn cell(&self, row: usize, col: usize) -> usize {
        row * self.column_count() + col
    }

    /// Each breakdown's relation on the column axis: the total (column 0)
    /// and the breakdown's columns.
    fn groups(&self) -> Result<Vec<(usize, Vec<usize>)>, DisclosureError> {
        if self.breakdowns.len() > MAX_BREAKDOWNS {
            return Err(DisclosureError::TooManyBreakdowns {
                found: self.breakdowns.len(),
                max: MAX_BREAKDOWNS,
            });
        }
        let mut next = 1;
        let mut groups = Vec::new();
        for &k in &self.breakdowns {
            if k > MAX_CELLS {
                return Err(DisclosureError::TooLarge {
                    cells: k,
                    max: MAX_CELLS,
                });
            }
            if k > 0 {
                groups.push((0, (next..next + k).collect()));
            }
            next += k;
        }
        Ok(groups)
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
        let col_children = shape.cols.children(Axis::Cols)?;
        let groups = col_children
            .into_iter()
            .enumerate()
            .filter(|(_, k)| !k.is_empty())
            .collect();
        Self::build(&shape.rows, shape.cols.len(), groups)
    }

    /// The relations of a linked table: every breakdown adds up to the
    /// total column on its own.
    pub(super) fn linked(shape: &LinkedShape) -> Result<Self, DisclosureError> {
        let groups = shape.groups()?;
        Self::build(&shape.rows, shape.column_count(), groups)
    }

    /// Rows crossed with `nc` columns, `groups` saying which columns add
    /// up to which (one entry per relation on the column axis).
    fn build(
        rows: &Hierarchy,
        nc: usize,
        groups: Vec<(usize, Vec<usize>)>,
    ) -> Result<Self, DisclosureError> {
        let row_children = rows.children(Axis::Rows)?;
        let nr = rows.len();
        let cells = nr.saturating_mul(nc);
        if cells > MAX_CELLS {
            return Err(DisclosureError::TooLarge {
                cells,
                max: MAX_CELLS,
            });
        }
        let at = |r: usize, c: usize| r * nc + c;
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
                add(at(r, c), &mut kids.iter().map(|&k| at(k, c)));
            }
        }
        for r in 0..nr {
            for (c, kids) in &groups {
                add(at(r, *c), &mut kids.iter().map(|&k| at(r, k)));
            }
        }
        let mut member_of = vec![Vec::new(); cells];
        for (id, rel) in relations.iter().enumerate() {
            for &(cell, _) in rel {
                member_of[cell].push(id);
            }
        }
        let mut col_total = vec![false; nc];
        for (c, _) in &groups {
            col_total[*c] = true;
        }
        let is_total = (0..cells)
            .map(|i| !row_children[i / nc].is_empty() || col_total[i % nc])
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
