//! The passes: primary suppression, then secondary suppression, the group
//! rule and interval protection, alternated until no withheld cell can be
//! recomputed from the released ones, no released total gives away a small
//! withheld group and no primary cell's feasible range is narrower than the
//! threshold.

use super::{
    group,
    interval::{self, Widths},
    rank::{self, Row},
    shape::Relations,
    CellInput, CellStatus, DisclosureError, LinkedShape, Rule, TableShape,
};

/// Decides, for every cell of a table, whether it may be released.
///
/// Primary pass: a cell with 1 to `min_count - 1` contributors, or a sum
/// whose largest contributor exceeds the dominance share, is withheld; zero
/// cells are released. Secondary pass, repeated until nothing changes: find
/// the withheld cells that the additive relations and the released cells
/// determine; for each, in index order, withhold the released cell with the
/// fewest contributors, a non-zero one first (then a leaf before a total,
/// then the lowest index), among the cells sharing a relation with it. A
/// cell is skipped in a round when a cell withheld earlier in the same round
/// already shares a relation with it, or when no released cell is left
/// connected to it; the next round checks it again. If every cell sharing a
/// relation with it is withheld, the search widens through withheld cells to
/// the nearest released ones.
///
/// Group rule, once no cell is determined: in every relation whose total is
/// released, the withheld parts add up to `g` contributors, which anyone can
/// compute as the total minus the released parts. If `0 < g < min_count`,
/// one more cell of that relation is withheld: the released part with the
/// fewest contributors that brings `g` to `min_count`, else the released
/// part with the most, else (no released part has any) the total; the lower
/// index on ties. Otherwise, two or more withheld parts of the relation
/// holding `0 < g < min_count` together may still have a sum that follows
/// from other relations (the rows and columns crossing them); the first
/// such group found gets the nearest released cell withheld, as for a
/// determined cell. Groups are sought among the
/// [`MAX_GROUP_PARTS`](super::MAX_GROUP_PARTS) withheld parts with the
/// fewest contributors. The relations are visited in order, each seeing the
/// cells withheld before it. Then the secondary pass runs again, and the
/// two alternate until neither withholds a cell.
///
/// Interval protection, once neither does: every primary cell with at least
/// one contributor must keep a feasible range `[lo, hi]` (over the real
/// tables `x >= 0` consistent with the released cells and the relations)
/// with `floor(hi) - ceil(lo) >= min_count`. For each group of withheld
/// cells (sharing relations, transitively) holding a narrower one, the
/// lowest such cell gets a released cell around its group withheld: the
/// nearest first, then by non-zero count, fewest contributors, leaf, index,
/// among at most [`MAX_CANDIDATES`](super::MAX_CANDIDATES), the first that
/// makes it wide enough; if none does, the one that raises its upper bound
/// most, and the search goes on from there, at most
/// [`MAX_STEPS`](super::MAX_STEPS) cells in a round. Then the
/// secondary pass and the group rule run again, and so on until interval
/// protection withholds nothing either.
///
/// Every round withholds at least one more cell, so this ends, and the same
/// input always gives the same output.
///
/// # Errors
/// An invalid shape (see [`TableShape::validate`]), a cell count that does
/// not match it, a share or dominance threshold outside 0..=1, or
/// [`DisclosureError::Overflow`] on a pathological shape.
pub fn protect(
    shape: &TableShape,
    cells: &[CellInput],
    rule: &Rule,
) -> Result<Vec<CellStatus>, DisclosureError> {
    rule.validate()?;
    run(&Relations::new(shape)?, cells, rule, true)
}

/// Decides, for every cell of a linked table (one dataset's total and all
/// its breakdowns, see [`LinkedShape`]), whether it may be released: the
/// same passes as [`protect`], over every relation of every breakdown at
/// once, so no combination of the tables cut from it gives a withheld
/// cell (or a small group of them) away.
///
/// # Errors
/// As [`protect`]; also [`DisclosureError::TooManyBreakdowns`].
pub fn protect_linked(
    shape: &LinkedShape,
    cells: &[CellInput],
    rule: &Rule,
) -> Result<Vec<CellStatus>, DisclosureError> {
    rule.validate()?;
    run(&Relations::linked(shape)?, cells, rule, true)
}

/// [`protect`] without interval protection, as it was before it: for
/// tests that show what the interval pass changes.
#[cfg(test)]
pub(super) fn protect_without_interval(
    shape: &TableShape,
    cells: &[CellInput],
    rule: &Rule,
) -> Result<Vec<CellStatus>, DisclosureError> {
    run(&Relations::new(shape)?, cells, rule, false)
}

/// The feasible range of withheld cell `p` (see `interval`), for tests.
#[cfg(test)]
pub(super) fn feasible_range(
    shape: &TableShape,
    cells: &[CellInput],
    status: &[CellStatus],
    p: usize,
) -> Result<(f64, f64), DisclosureError> {
    Ok(interval::range(&Relations::new(shape)?, cells, status, p))
}

fn run(
    table: &Relations,
    cells: &[CellInput],
    rule: &Rule,
    intervals: bool,
) -> Result<Vec<CellStatus>, DisclosureError> {
    check_len(table, cells.len())?;
    let mut status = cells
        .iter()
        .enumerate()
        .map(|(i, cell)| rule.primary(i, cell))
        .collect::<Result<Vec<_>, _>>()?;
    let mut widths = Widths::new(cells, &status);
    loop {
        secondary(table, cells, &mut status)?;
        if group::pass(table, cells, rule, &mut status)? {
            continue;
        }
        if !intervals || !interval::pass(table, cells, rule, &mut status, &mut widths) {
            return Ok(status);
        }
    }
}

/// Withholds complements until no withheld cell is determined. Every round
/// withholds at least one more cell.
fn secondary(
    table: &Relations,
    cells: &[CellInput],
    status: &mut [CellStatus],
) -> Result<(), DisclosureError> {
    loop {
        let suppressed: Vec<bool> = status.iter().map(|s| s.is_suppressed()).collect();
        let exposed = exposed(table, &suppressed)?;
        if exposed.is_empty() {
            return Ok(());
        }
        let mut fresh = vec![false; table.cells];
        for (k, &cell) in exposed.iter().enumerate() {
            if k > 0 && table.neighbours(cell).any(|c| fresh[c]) {
                continue;
            }
            match complement(table, &[cell], status, cells) {
                Some(partner) => {
                    status[partner] = CellStatus::Secondary;
                    fresh[partner] = true;
                }
                // Cells withheld earlier in this round closed it off; the
                // next round checks it again.
                None if k > 0 => {}
                None => return Err(DisclosureError::Unprotectable { cell }),
            }
        }
    }
}

/// The withheld cells (`suppressed[i]` true) whose value is determined by
/// the additive relations of the table and the values of the released
/// cells, in increasing order.
///
/// Exact: cell `i` is determined when the unit vector `e_i` lies in the row
/// space of the relation matrix restricted to the withheld cells, decided by
/// elimination over the rationals.
///
/// # Errors
/// An invalid shape, a mask whose length does not match it, or
/// [`DisclosureError::Overflow`] on a pathological shape.
pub fn recoverable(shape: &TableShape, suppressed: &[bool]) -> Result<Vec<usize>, DisclosureError> {
    let table = Relations::new(shape)?;
    check_len(&table, suppressed.len())?;
    exposed(&table, suppressed)
}

/// [`recoverable`] for a linked table.
///
/// # Errors
/// As [`recoverable`].
pub fn recoverable_linked(
    shape: &LinkedShape,
    suppressed: &[bool],
) -> Result<Vec<usize>, DisclosureError> {
    let table = Relations::linked(shape)?;
    check_len(&table, suppressed.len())?;
    exposed(&table, suppressed)
}

fn check_len(table: &Relations, found: usize) -> Result<(), DisclosureError> {
    if found == table.cells {
        Ok(())
    } else {
        Err(DisclosureError::CellCount {
            expected: table.cells,
            found,
        })
    }
}

fn exposed(table: &Relations, suppressed: &[bool]) -> Result<Vec<usize>, DisclosureError> {
    Ok(Space::new(table, suppressed)?.determined())
}

/// What the released cells of a table give away: the row space of the
/// relations restricted to the withheld cells, exactly.
pub(super) struct Space {
    /// Column of each withheld cell.
    column: Vec<Option<usize>>,
    /// The cell of each column.
    cell_of: Vec<usize>,
    reduced: rank::Reduced,
}

impl Space {
    pub(super) fn new(table: &Relations, suppressed: &[bool]) -> Result<Self, DisclosureError> {
        // Withheld cells become the columns 0..m, in cell order, so rows
        // built from relations sorted by cell stay sorted by column.
        let mut column = vec![None; table.cells];
        let mut cell_of = Vec::new();
        for (cell, _) in suppressed.iter().enumerate().filter(|(_, s)| **s) {
            column[cell] = Some(cell_of.len());
            cell_of.push(cell);
        }
        let rows: Vec<Row> = table
            .relations
            .iter()
            .map(|rel| {
                rel.iter()
                    .filter_map(|&(c, k)| column[c].map(|j| (j, k)))
                    .collect()
            })
            .filter(|row: &Row| !row.is_empty())
            .collect();
        let reduced = rank::reduce(rows, cell_of.len()).map_err(|_| DisclosureError::Overflow)?;
        Ok(Self {
            column,
            cell_of,
            reduced,
        })
    }

    /// The withheld cells whose value follows, in increasing order.
    fn determined(&self) -> Vec<usize> {
        self.reduced
            .determined()
            .into_iter()
            .map(|j| self.cell_of[j])
            .collect()
    }

    /// Directions along which the withheld cells can move without changing
    /// any released cell: a basis of the null space of the relations
    /// restricted to them, by cell.
    pub(super) fn free_directions(&self) -> Vec<Vec<(usize, f64)>> {
        self.reduced
            .null_basis(self.cell_of.len())
            .into_iter()
            .map(|v| v.into_iter().map(|(j, d)| (self.cell_of[j], d)).collect())
            .collect()
    }

    /// Whether the sum of these withheld cells follows from the relations
    /// and the released cells. A released cell in `group` makes it `false`
    /// (callers pass withheld cells only).
    pub(super) fn derivable(&self, group: &[usize]) -> Result<bool, DisclosureError> {
        let Some(columns) = group
            .iter()
            .map(|&c| self.column[c])
            .collect::<Option<Vec<_>>>()
        else {
            return Ok(false);
        };
        self.reduced
            .spans_sum(&columns)
            .map_err(|_| DisclosureError::Overflow)
    }
}

/// The released cell to withhold so that the cells `from` are protected:
/// the nearest released cells through the relations (first those sharing a
/// relation with one of them, then through withheld cells), best by
/// non-zero count, leaf, index.
pub(super) fn complement(
    table: &Relations,
    from: &[usize],
    status: &[CellStatus],
    cells: &[CellInput],
) -> Option<usize> {
    let mut seen = vec![false; table.cells];
    for &cell in from {
        seen[cell] = true;
    }
    let mut frontier = from.to_vec();
    while !frontier.is_empty() {
        let mut best: Option<(bool, u64, bool, usize)> = None;
        let mut next = Vec::new();
        for &s in &frontier {
            for c in table.neighbours(s) {
                if status[c].is_released() {
                    // A zero adds nothing to the withheld group: last resort.
                    let count = cells[c].count;
                    let key = (count == 0, count, table.is_total[c], c);
                    best = Some(best.map_or(key, |b| b.min(key)));
                } else if !seen[c] {
                    seen[c] = true;
                    next.push(c);
                }
            }
        }
        if let Some((_, _, _, c)) = best {
            return Some(c);
        }
        frontier = next;
    }
    None
}
