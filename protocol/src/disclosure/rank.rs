//! Exact Gauss-Jordan elimination over the rationals, on sparse integer
//! rows.
//!
//! A rational row is represented by a primitive integer row (entries divided
//! by their gcd, leading entry positive), so combining two rows needs no
//! fractions and numbers stay as small as the matrix allows. Every operation
//! is checked: on overflow the caller gets [`Overflow`], never a wrong answer.

/// A sparse row: `(column, coefficient)` sorted by column, no zero entry.
pub(super) type Row = Vec<(usize, i128)>;

/// An intermediate value did not fit in an `i128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Overflow;

/// The row space of a set of rows, in reduced row echelon form.
pub(super) struct Reduced {
    /// One row per pivot; each leads with its pivot column (positive) and
    /// holds no other pivot column.
    pivots: Vec<Row>,
    /// For each column, the index in `pivots` of the row it leads.
    pivot_of: Vec<Option<usize>>,
}

impl Reduced {
    /// The columns `j` whose unit vector `e_j` lies in the row space, in
    /// increasing order.
    ///
    /// `e_j` is in the row space exactly when some reduced row is (a
    /// multiple of) `e_j`: its coefficient on each pivot column can only
    /// come from that pivot's row.
    pub(super) fn determined(&self) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .pivots
            .iter()
            .filter(|r| r.len() == 1)
            .map(|r| r[0].0)
            .collect();
        out.sort_unstable();
        out
    }

    /// Whether the sum of `columns` (distinct, any order) lies in the row
    /// space: it does exactly when reducing it by the pivot rows of its
    /// pivot columns leaves nothing.
    pub(super) fn spans_sum(&self, columns: &[usize]) -> Result<bool, Overflow> {
        let mut v: Row = columns.iter().map(|&c| (c, 1)).collect();
        v.sort_unstable();
        // Pivot rows hold no other pivot column, so eliminating one never
        // brings another back: one pass over the pivots found first is
        // enough.
        let leads: Vec<usize> = v
            .iter()
            .filter_map(|&(c, _)| self.pivot_of.get(c).copied().flatten())
            .collect();
        for p in leads {
            let pivot = &self.pivots[p];
            v = eliminate(&v, pivot, pivot[0].0)?;
        }
        Ok(v.is_empty())
    }
}

impl Reduced {
    /// A basis of the null space of the rows over `columns` columns: for
    /// each column `f` that leads no row, the vector with 1 at `f`, 0 at
    /// every other such column, and `-b / a` at the column leading each row
    /// that holds `b` at `f` (its leading coefficient `a`). In floating
    /// point: callers use the vectors as directions to move along, not to
    /// decide anything exactly.
    pub(super) fn null_basis(&self, columns: usize) -> Vec<Vec<(usize, f64)>> {
        let mut slot: Vec<Option<usize>> = vec![None; columns];
        let mut basis: Vec<Vec<(usize, f64)>> = Vec::new();
        for (f, s) in slot.iter_mut().enumerate() {
            if self.pivot_of.get(f).copied().flatten().is_none() {
                *s = Some(basis.len());
                basis.push(vec![(f, 1.0)]);
            }
        }
        for row in &self.pivots {
            let (lead, a) = row[0];
            for &(f, b) in &row[1..] {
                if let Some(k) = slot[f] {
                    basis[k].push((lead, -(b as f64) / a as f64));
                }
            }
        }
        basis
    }
}

/// The columns `j` whose unit vector `e_j` lies in the row space of `rows`,
/// in increasing order.
#[cfg(test)]
fn determined(rows: Vec<Row>, columns: usize) -> Result<Vec<usize>, Overflow> {
    reduce(rows, columns).map(|r| r.determined())
}

/// Reduces `rows` (over `columns` columns) to reduced row echelon form.
pub(super) fn reduce(rows: Vec<Row>, columns: usize) -> Result<Reduced, Overflow> {
    let mut pending = Vec::with_capacity(rows.len());
    for mut row in rows {
        if !row.is_empty() {
            normalise(&mut row)?;
            pending.push(row);
        }
    }
    let mut pivots: Vec<Row> = Vec::new();
    for col in 0..columns {
        if pending.is_empty() {
            break;
        }
        // Pending rows have no entry left before `col`, so those holding
        // `col` lead with it. Take the smallest coefficient, then the
        // shortest row, to keep numbers and fill-in small.
        let choice = pending
            .iter()
            .enumerate()
            .filter(|(_, r)| leads_with(r, col))
            .min_by_key(|(i, r)| (r[0].1.unsigned_abs(), r.len(), *i))
            .map(|(i, _)| i);
        let Some(p) = choice else { continue };
        let pivot = pending.remove(p);
        for row in pending.iter_mut().filter(|r| leads_with(r, col)) {
            *row = eliminate(row, &pivot, col)?;
        }
        pending.retain(|r| !r.is_empty());
        for row in pivots.iter_mut() {
            if row.binary_search_by_key(&col, |e| e.0).is_ok() {
                *row = eliminate(row, &pivot, col)?;
            }
        }
        pivots.push(pivot);
    }
    let mut pivot_of = vec![None; columns];
    for (k, row) in pivots.iter().enumerate() {
        pivot_of[row[0].0] = Some(k);
    }
    Ok(Reduced { pivots, pivot_of })
}

fn leads_with(row: &Row, col: usize) -> bool {
    row.first().is_some_and(|e| e.0 == col)
}

/// `row * b/g - pivot * a/g`, where `a` and `b` are the coefficients of
/// `col` in `row` and `pivot` and `g` their gcd, so `col` cancels.
fn eliminate(row: &Row, pivot: &Row, col: usize) -> Result<Row, Overflow> {
    let a = coefficient(row, col);
    let b = coefficient(pivot, col);
    let g = to_i128(gcd(a.unsigned_abs(), b.unsigned_abs()))?;
    if g == 0 {
        return Ok(row.clone());
    }
    let (ka, kb) = (a / g, b / g);
    let mut out = Vec::with_capacity(row.len() + pivot.len());
    let (mut i, mut j) = (0, 0);
    while i < row.len() || j < pivot.len() {
        let (c, x, y) = match (row.get(i), pivot.get(j)) {
            (Some(&(ci, x)), Some(&(cj, _))) if ci < cj => {
                i += 1;
                (ci, x, 0)
            }
            (Some(&(ci, _)), Some(&(cj, y))) if cj < ci => {
                j += 1;
                (cj, 0, y)
            }
            (Some(&(ci, x)), Some(&(_, y))) => {
                i += 1;
                j += 1;
                (ci, x, y)
            }
            (Some(&(ci, x)), None) => {
                i += 1;
                (ci, x, 0)
            }
            (None, Some(&(cj, y))) => {
                j += 1;
                (cj, 0, y)
            }
            (None, None) => break,
        };
        let v = x
            .checked_mul(kb)
            .zip(y.checked_mul(ka))
            .and_then(|(p, q)| p.checked_sub(q))
            .ok_or(Overflow)?;
        if v != 0 {
            out.push((c, v));
        }
    }
    normalise(&mut out)?;
    Ok(out)
}

fn coefficient(row: &Row, col: usize) -> i128 {
    row.binary_search_by_key(&col, |e| e.0)
        .map_or(0, |k| row[k].1)
}

/// Divides a row by the gcd of its entries and makes its leading entry
/// positive.
fn normalise(row: &mut Row) -> Result<(), Overflow> {
    let Some(first) = row.first() else {
        return Ok(());
    };
    let negative = first.1 < 0;
    // Coefficients are mostly ±1: stop as soon as the gcd is 1.
    let mut g = 0u128;
    for e in row.iter() {
        g = gcd(g, e.1.unsigned_abs());
        if g == 1 {
            break;
        }
    }
    let g = to_i128(g)?;
    let g = if negative {
        g.checked_neg().ok_or(Overflow)?
    } else {
        g
    };
    if g == 1 {
        return Ok(());
    }
    for e in row.iter_mut() {
        e.1 /= g;
    }
    Ok(())
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn to_i128(v: u128) -> Result<i128, Overflow> {
    i128::try_from(v).map_err(|_| Overflow)
}

#[cfg(test)]
mod tests {
    use super::{determined, reduce, Row};

    fn row(entries: &[(usize, i128)]) -> Row {
        entries.to_vec()
    }

    #[test]
    fn a_lone_variable_is_determined() {
        // x0 + x1 = k and x1 = k'  =>  both determined.
        let rows = vec![row(&[(0, 1), (1, -1)]), row(&[(1, 1)])];
        assert_eq!(determined(rows, 2), Ok(vec![0, 1]));
    }

    #[test]
    fn a_sum_alone_determines_nothing() {
        let rows = vec![row(&[(0, 1), (1, -1), (2, -1)])];
        assert_eq!(determined(rows, 3), Ok(vec![]));
    }

    #[test]
    fn a_two_by_two_table_with_all_margins_determines_nothing() {
        // Interior a b / c d, all four suppressed; only margins known.
        let rows = vec![
            row(&[(0, 1), (1, 1)]),
            row(&[(2, 1), (3, 1)]),
            row(&[(0, 1), (2, 1)]),
            row(&[(1, 1), (3, 1)]),
        ];
        assert_eq!(determined(rows, 4), Ok(vec![]));
    }

    #[test]
    fn differences_of_rows_are_found() {
        // x0 + x1 + x2, x1 + x2 => x0; and 2*x3 + 2*x4, x3 + x4 - x5... none more.
        let rows = vec![
            row(&[(0, 1), (1, 1), (2, 1)]),
            row(&[(1, 1), (2, 1)]),
            row(&[(3, 2), (4, 2)]),
            row(&[(3, 1), (4, 1), (5, -1)]),
        ];
        assert_eq!(determined(rows, 6), Ok(vec![0, 5]));
    }

    #[test]
    fn sums_of_columns_are_found_in_the_row_space() {
        // x0 + x1 + x2 = k and x2 + x3 = k': x0 + x1 - x3 follows, but no
        // sum of two of them does; x0 + x1 + x2 itself does.
        let rows = vec![row(&[(0, 1), (1, 1), (2, 1)]), row(&[(2, 1), (3, 1)])];
        let space = reduce(rows, 4).unwrap();
        assert_eq!(space.spans_sum(&[0, 1, 2]), Ok(true));
        assert_eq!(space.spans_sum(&[2, 3]), Ok(true));
        assert_eq!(space.spans_sum(&[0, 1]), Ok(false));
        assert_eq!(space.spans_sum(&[1, 0, 2, 3]), Ok(false));
        assert_eq!(space.spans_sum(&[3]), Ok(false));
    }

    #[test]
    fn overflow_is_reported_not_wrapped() {
        let big = i128::MAX / 2 + 1;
        let rows = vec![row(&[(0, big), (1, 1)]), row(&[(0, big - 1), (1, 3)])];
        assert_eq!(determined(rows, 2), Err(super::Overflow));
    }
}
