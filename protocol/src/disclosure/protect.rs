//! The two passes: primary suppression, then secondary suppression until no
//! withheld cell can be recomputed from the released ones.

use super::{
    rank::{self, Row},
    shape::Relations,
    CellInput, CellStatus, DisclosureError, Rule, TableShape,
};

/// Decides, for every cell of a table, whether it may be released.
///
/// Primary pass: a cell with 1 to `min_count - 1` contributors, or a sum
/// whose largest contributor exceeds the dominance share, is withheld; zero
/// cells are released. Secondary pass, repeated until nothing changes: find
/// the withheld cells that the additive relations and the released cells
/// determine; for each, in index order, withhold the released cell with the
/// fewest contributors (then a leaf before a total, then the lowest index)
/// among the cells sharing a relation with it. A cell is skipped in a round
/// when a cell withheld earlier in the same round already shares a relation
/// with it, or when no released cell is left connected to it; the next round
/// checks it again. If every cell sharing a relation with it is withheld,
/// the search widens through withheld cells to the nearest released ones.
/// Every round withholds at least one more cell, so the pass ends, and the
/// same input always gives the same output.
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
    let table = Relations::new(shape)?;
    check_len(&table, cells.len())?;
    let mut status = cells
        .iter()
        .enumerate()
        .map(|(i, cell)| rule.primary(i, cell))
        .collect::<Result<Vec<_>, _>>()?;
    loop {
        let suppressed: Vec<bool> = status.iter().map(|s| s.is_suppressed()).collect();
        let exposed = exposed(&table, &suppressed)?;
        if exposed.is_empty() {
            return Ok(status);
        }
        let mut fresh = vec![false; table.cells];
        for (k, &cell) in exposed.iter().enumerate() {
            if k > 0 && table.neighbours(cell).any(|c| fresh[c]) {
                continue;
            }
            match complement(&table, cell, &status, cells) {
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
    // Withheld cells become the columns 0..m, in cell order, so rows built
    // from relations sorted by cell stay sorted by column.
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
    let determined =
        rank::determined(rows, cell_of.len()).map_err(|_| DisclosureError::Overflow)?;
    Ok(determined.into_iter().map(|j| cell_of[j]).collect())
}

/// The released cell to withhold so that `cell` is protected: the nearest
/// released cells through the relations (first those sharing a relation with
/// `cell`, then through withheld cells), best by count, leaf, index.
fn complement(
    table: &Relations,
    cell: usize,
    status: &[CellStatus],
    cells: &[CellInput],
) -> Option<usize> {
    let mut seen = vec![false; table.cells];
    seen[cell] = true;
    let mut frontier = vec![cell];
    while !frontier.is_empty() {
        let mut best: Option<(u64, bool, usize)> = None;
        let mut next = Vec::new();
        for &s in &frontier {
            for c in table.neighbours(s) {
                if status[c].is_released() {
                    let key = (cells[c].count, table.is_total[c], c);
                    best = Some(best.map_or(key, |b| b.min(key)));
                } else if !seen[c] {
                    seen[c] = true;
                    next.push(c);
                }
            }
        }
        if let Some((_, _, c)) = best {
            return Some(c);
        }
        frontier = next;
    }
    None
}
