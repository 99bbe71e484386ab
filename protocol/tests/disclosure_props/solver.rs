//! The property tests' own solver, written without the library: the
//! additive relations of a table from its parent arrays, and elimination
//! over the prime field `2^61 - 1` to a reduced row echelon form.
//!
//! A combination of withheld cells (a single cell, or a group of cells
//! added together) can be derived from the released cells exactly when its
//! vector lies in the row space of `A_S`, the relation matrix restricted to
//! the withheld cells. Over a prime this large a rank can only drop below
//! the rational rank if the prime divides every maximal minor of a 0/±1
//! matrix of a few hundred rows, which does not happen here.

pub const P: u64 = (1 << 61) - 1;

fn mul(a: u64, b: u64) -> u64 {
    ((u128::from(a) * u128::from(b)) % u128::from(P)) as u64
}

fn sub(a: u64, b: u64) -> u64 {
    (a + P - b) % P
}

fn inverse(a: u64) -> u64 {
    let (mut base, mut exp, mut acc) = (a, P - 2, 1);
    while exp > 0 {
        if exp & 1 == 1 {
            acc = mul(acc, base);
        }
        base = mul(base, base);
        exp >>= 1;
    }
    acc
}

/// The additive relations of a table, from the parent arrays: each is a
/// list of `(cell, coefficient)`, the total first with `1`, then each part
/// with `P - 1` (that is, -1).
pub fn relations(rows: &[Option<usize>], cols: &[Option<usize>]) -> Vec<Vec<(usize, u64)>> {
    let nc = cols.len();
    let kids = |parent: &[Option<usize>], u: usize| -> Vec<usize> {
        (0..parent.len())
            .filter(|&k| parent[k] == Some(u))
            .collect()
    };
    let mut out = Vec::new();
    for r in 0..rows.len() {
        for c in 0..nc {
            let below = kids(rows, r);
            if !below.is_empty() {
                let mut rel = vec![(r * nc + c, 1)];
                rel.extend(below.iter().map(|&k| (k * nc + c, P - 1)));
                out.push(rel);
            }
            let beside = kids(cols, c);
            if !beside.is_empty() {
                let mut rel = vec![(r * nc + c, 1)];
                rel.extend(beside.iter().map(|&k| (r * nc + k, P - 1)));
                out.push(rel);
            }
        }
    }
    out
}

/// The additive relations of a linked table, written from its definition:
/// the rows' parent array crossed with a total column (0) and, after it,
/// `breakdowns[b]` categories per breakdown, each breakdown's categories
/// adding up to the total on their own.
#[allow(dead_code)]
pub fn linked_relations(rows: &[Option<usize>], breakdowns: &[usize]) -> Vec<Vec<(usize, u64)>> {
    let nc = 1 + breakdowns.iter().sum::<usize>();
    let mut out = Vec::new();
    for r in 0..rows.len() {
        let below: Vec<usize> = (0..rows.len()).filter(|&k| rows[k] == Some(r)).collect();
        if !below.is_empty() {
            for c in 0..nc {
                let mut rel = vec![(r * nc + c, 1)];
                rel.extend(below.iter().map(|&k| (k * nc + c, P - 1)));
                out.push(rel);
            }
        }
        let mut first = 1;
        for &k in breakdowns {
            if k > 0 {
                let mut rel = vec![(r * nc, 1)];
                rel.extend((first..first + k).map(|c| (r * nc + c, P - 1)));
                out.push(rel);
            }
            first += k;
        }
    }
    out
}

/// What the released cells of one table give away about its withheld ones.
pub struct Solver {
    /// Column of each withheld cell in the restricted matrix.
    column: Vec<Option<usize>>,
    /// Number of withheld cells.
    width: usize,
    /// Reduced row echelon basis of the row space: each row with its
    /// leading column, leading entry 1, zero on every other leading column.
    rows: Vec<(usize, Vec<u64>)>,
}

impl Solver {
    /// The row space of the relations restricted to the withheld cells.
    pub fn new(rows: &[Option<usize>], cols: &[Option<usize>], withheld: &[bool]) -> Self {
        Self::over(relations(rows, cols), withheld)
    }

    /// The row space of any relations restricted to the withheld cells.
    pub fn over(relations: Vec<Vec<(usize, u64)>>, withheld: &[bool]) -> Self {
        let mut column = vec![None; withheld.len()];
        let mut width = 0;
        for (cell, _) in withheld.iter().enumerate().filter(|(_, w)| **w) {
            column[cell] = Some(width);
            width += 1;
        }
        let mut solver = Self {
            column,
            width,
            rows: Vec::new(),
        };
        for rel in relations {
            let mut v = vec![0; width];
            for (cell, k) in rel {
                if let Some(j) = solver.column[cell] {
                    v[j] = k;
                }
            }
            solver.push(v);
        }
        solver
    }

    /// Subtracts from `v` its part on the basis; `v` ends at zero exactly
    /// when it was in the row space.
    fn reduce(&self, v: &mut [u64]) {
        for (lead, row) in &self.rows {
            let f = v[*lead];
            if f != 0 {
                for (x, y) in v.iter_mut().zip(row) {
                    *x = sub(*x, mul(f, *y));
                }
            }
        }
    }

    fn push(&mut self, mut v: Vec<u64>) {
        self.reduce(&mut v);
        let Some(lead) = v.iter().position(|&x| x != 0) else {
            return;
        };
        let inv = inverse(v[lead]);
        for x in v.iter_mut() {
            *x = mul(*x, inv);
        }
        for (_, row) in self.rows.iter_mut() {
            let f = row[lead];
            if f != 0 {
                for (x, y) in row.iter_mut().zip(&v) {
                    *x = sub(*x, mul(f, *y));
                }
            }
        }
        self.rows.push((lead, v));
    }

    /// Whether the sum of these withheld cells follows from the relations
    /// and the released cells.
    ///
    /// # Panics
    /// If a cell is not withheld (a released cell is known anyway).
    pub fn derivable(&self, cells: &[usize]) -> bool {
        let mut v = vec![0; self.width];
        for &cell in cells {
            let j = self.column[cell].expect("only withheld cells are asked about");
            v[j] = 1;
        }
        self.reduce(&mut v);
        v.iter().all(|&x| x == 0)
    }

    /// The withheld cells whose value follows, in increasing order.
    pub fn determined(&self) -> Vec<usize> {
        (0..self.column.len())
            .filter(|&cell| self.column[cell].is_some() && self.derivable(&[cell]))
            .collect()
    }
}

/// Withheld cells that the relations and the released cells determine.
pub fn determined(rows: &[Option<usize>], cols: &[Option<usize>], withheld: &[bool]) -> Vec<usize> {
    Solver::new(rows, cols, withheld).determined()
}
