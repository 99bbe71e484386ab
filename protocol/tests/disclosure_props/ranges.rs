//! The property tests' own feasible ranges, written without the library: an
//! exact simplex over the rationals (`i128` fractions, every operation
//! checked: an overflow panics rather than answers wrong), on the dense
//! tableau of one group of withheld cells, with Bland's rule.
//!
//! The range of a withheld cell `p` is `[min x_p, max x_p]` over the real
//! points `x >= 0` that satisfy every relation given the released cells.
//! Cells in different groups (withheld cells sharing no relation,
//! transitively) share no equation, so each group is solved on its own.
//! Every optimal vertex is an exact feasible point: it widens the known
//! range of every cell of its group, so most cells need no program of
//! their own. What this proves is the library's rule, checked exactly:
//! `floor(hi) - ceil(lo) >= min_count`.

use std::cmp::Ordering;

use super::solver::P;

/// An exact rational, `n / d` with `d > 0` and no common factor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Q {
    n: i128,
    d: i128,
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    a = a.abs();
    b = b.abs();
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl Q {
    pub const ZERO: Q = Q { n: 0, d: 1 };

    pub fn int(n: i128) -> Q {
        Q { n, d: 1 }
    }

    fn new(n: i128, d: i128) -> Q {
        assert!(d != 0, "division by zero");
        let g = gcd(n, d).max(1);
        let s = if d < 0 { -1 } else { 1 };
        Q {
            n: s * n / g,
            d: s * d / g,
        }
    }

    fn is_zero(self) -> bool {
        self.n == 0
    }

    fn sign(self) -> i128 {
        self.n.signum()
    }

    fn add(self, o: Q) -> Q {
        if self.d == 1 && o.d == 1 {
            return Q::int(self.n.checked_add(o.n).expect("overflow"));
        }
        let n = self
            .n
            .checked_mul(o.d)
            .and_then(|a| o.n.checked_mul(self.d).and_then(|b| a.checked_add(b)))
            .expect("overflow");
        Q::new(n, self.d.checked_mul(o.d).expect("overflow"))
    }

    fn neg(self) -> Q {
        Q {
            n: -self.n,
            d: self.d,
        }
    }

    fn sub(self, o: Q) -> Q {
        self.add(o.neg())
    }

    fn mul(self, o: Q) -> Q {
        if self.is_zero() || o.is_zero() {
            return Q::ZERO;
        }
        if self.d == 1 && o.d == 1 {
            return Q::int(self.n.checked_mul(o.n).expect("overflow"));
        }
        Q::new(
            self.n.checked_mul(o.n).expect("overflow"),
            self.d.checked_mul(o.d).expect("overflow"),
        )
    }

    fn div(self, o: Q) -> Q {
        Q::new(
            self.n.checked_mul(o.d).expect("overflow"),
            self.d.checked_mul(o.n).expect("overflow"),
        )
    }

    pub fn floor(self) -> i128 {
        self.n.div_euclid(self.d)
    }

    pub fn ceil(self) -> i128 {
        -(-self.n).div_euclid(self.d)
    }
}

impl PartialOrd for Q {
    fn partial_cmp(&self, o: &Q) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl Ord for Q {
    fn cmp(&self, o: &Q) -> Ordering {
        (self.n.checked_mul(o.d).expect("overflow"))
            .cmp(&o.n.checked_mul(self.d).expect("overflow"))
    }
}

/// A tableau in canonical form for `{x >= 0 : A x = b}`: one row per
/// independent equation, `basis[i]` the variable row `i` solves for.
#[derive(Clone)]
struct Tableau {
    /// Each row: coefficients of the `n` variables, then the right-hand side.
    rows: Vec<Vec<Q>>,
    basis: Vec<usize>,
    n: usize,
}

impl Tableau {
    fn pivot(&mut self, r: usize, c: usize, cost: &mut [Q]) {
        let k = self.rows[r][c];
        for x in self.rows[r].iter_mut() {
            *x = x.div(k);
        }
        let pivot = self.rows[r].clone();
        for (i, row) in self.rows.iter_mut().enumerate() {
            let f = row[c];
            if i != r && !f.is_zero() {
                for (x, y) in row.iter_mut().zip(&pivot) {
                    if !y.is_zero() {
                        *x = x.sub(f.mul(*y));
                    }
                }
            }
        }
        let f = cost[c];
        if !f.is_zero() {
            for (x, y) in cost.iter_mut().zip(&pivot) {
                if !y.is_zero() {
                    *x = x.sub(f.mul(*y));
                }
            }
        }
        self.basis[r] = c;
    }

    /// Minimises `cost` (reduced, with the objective's negated value in
    /// the last slot) over columns `< limit` with Bland's rule. Returns
    /// false when unbounded.
    fn minimise(&mut self, cost: &mut [Q], limit: usize) -> bool {
        loop {
            let Some(c) = (0..limit).find(|&j| cost[j].sign() < 0) else {
                return true;
            };
            let rhs = self.n;
            let mut best: Option<(Q, usize, usize)> = None;
            for (i, row) in self.rows.iter().enumerate() {
                if row[c].sign() > 0 {
                    let ratio = row[rhs].div(row[c]);
                    let key = (ratio, self.basis[i], i);
                    if best.is_none_or(|b| (key.0, key.1) < (b.0, b.1)) {
                        best = Some(key);
                    }
                }
            }
            let Some((_, _, r)) = best else {
                return false;
            };
            self.pivot(r, c, cost);
        }
    }

    fn point(&self, vars: usize) -> Vec<Q> {
        let mut x = vec![Q::ZERO; vars];
        for (i, &b) in self.basis.iter().enumerate() {
            if b < vars {
                x[b] = self.rows[i][self.n];
            }
        }
        x
    }
}

/// `{x >= 0 : A x = b}` over `vars` variables, in canonical form, or `None`
/// when it is empty. Phase one of the simplex, with one artificial
/// variable per row; rows it proves redundant are dropped.
fn feasible(a: &[Vec<(usize, i128)>], b: &[i128], vars: usize) -> Option<Tableau> {
    let m = a.len();
    let n = vars + m;
    let mut rows = Vec::with_capacity(m);
    for (i, (eq, &rhs)) in a.iter().zip(b).enumerate() {
        let s = if rhs < 0 { -1 } else { 1 };
        let mut row = vec![Q::ZERO; n + 1];
        for &(j, k) in eq {
            row[j] = row[j].add(Q::int(s * k));
        }
        row[vars + i] = Q::int(1);
        row[n] = Q::int(s * rhs);
        rows.push(row);
    }
    let mut t = Tableau {
        rows,
        basis: (vars..n).collect(),
        n,
    };
    // Minimise the sum of the artificials, reduced: minus the column sums.
    let mut cost = vec![Q::ZERO; n + 1];
    for row in &t.rows {
        for j in 0..vars {
            cost[j] = cost[j].sub(row[j]);
        }
        cost[n] = cost[n].sub(row[n]);
    }
    t.minimise(&mut cost, vars);
    if cost[n] != Q::ZERO {
        return None;
    }
    // Drive the artificials left in the basis (at zero) out, or drop
    // their row when no real variable can replace them.
    let mut i = 0;
    while i < t.rows.len() {
        if t.basis[i] >= vars {
            match (0..vars).find(|&j| !t.rows[i][j].is_zero()) {
                Some(j) => {
                    let mut none = vec![Q::ZERO; n + 1];
                    t.pivot(i, j, &mut none);
                }
                None => {
                    t.rows.remove(i);
                    t.basis.remove(i);
                    continue;
                }
            }
        }
        i += 1;
    }
    // Forget the artificial columns: keep the variables and the rhs.
    for row in t.rows.iter_mut() {
        let rhs = row[n];
        row.truncate(vars);
        row.push(rhs);
    }
    t.n = vars;
    Some(t)
}

/// The extreme value of variable `j` (maximum when `max`), with an optimal
/// point, or `None` when it is unbounded.
fn extreme(start: &Tableau, j: usize, max: bool) -> Option<(Q, Vec<Q>)> {
    let mut t = start.clone();
    let n = t.n;
    // Cost: -x_j to maximise, x_j to minimise; reduced by the basis.
    let mut cost = vec![Q::ZERO; n + 1];
    cost[j] = Q::int(if max { -1 } else { 1 });
    for i in 0..t.rows.len() {
        let b = t.basis[i];
        let f = cost[b];
        if !f.is_zero() {
            let row = t.rows[i].clone();
            for (x, y) in cost.iter_mut().zip(&row) {
                *x = x.sub(f.mul(*y));
            }
        }
    }
    if !t.minimise(&mut cost, n) {
        return None;
    }
    let x = t.point(n);
    Some((x[j], x))
}

/// The feasible ranges of the `targets` among `withheld` cells, given the
/// relations (`(cell, coefficient)` with coefficients `1` and `P - 1`, as
/// in `solver.rs`) and the value of every cell (`value[c]` for released
/// cells is what is published; withheld cells' values are only used as
/// the starting witness, the true point). `None` stands for an unbounded
/// maximum.
pub struct Ranges {
    pub lo: Vec<Q>,
    pub hi: Vec<Option<Q>>,
}

impl Ranges {
    /// Whether cell `p`'s range holds at least `min_count + 1` integers'
    /// worth of width: `floor(hi) - ceil(lo) >= min_count`.
    pub fn wide(&self, p: usize, min_count: u64) -> bool {
        wide(self.lo[p], self.hi[p], min_count)
    }
}

fn wide(lo: Q, hi: Option<Q>, min_count: u64) -> bool {
    match hi {
        None => true,
        Some(h) => h.floor() - lo.ceil().max(0) >= min_count as i128,
    }
}

/// Computes, for each target, a range inside its feasible range that is
/// its exact feasible range unless already `min_count` wide (after
/// rounding inward); `rhs_from_withheld` takes each relation's right-hand
/// side from the withheld cells' own values (a table that may not add up)
/// rather than from the released ones.
pub fn ranges(
    relations: &[Vec<(usize, u64)>],
    withheld: &[bool],
    value: &[u64],
    targets: &[usize],
    min_count: u64,
    rhs_from_withheld: bool,
) -> Ranges {
    let cells = withheld.len();
    let coef = |k: u64| -> i128 {
        if k == 1 {
            1
        } else {
            assert_eq!(k, P - 1);
            -1
        }
    };
    // Groups: breadth-first through relations, over withheld cells.
    let mut member_of = vec![Vec::new(); cells];
    for (r, rel) in relations.iter().enumerate() {
        for &(c, _) in rel {
            member_of[c].push(r);
        }
    }
    let mut group = vec![usize::MAX; cells];
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for start in 0..cells {
        if !withheld[start] || group[start] != usize::MAX {
            continue;
        }
        let id = groups.len();
        let mut queue = vec![start];
        group[start] = id;
        let mut k = 0;
        while k < queue.len() {
            let c = queue[k];
            k += 1;
            for &r in &member_of[c] {
                for &(d, _) in &relations[r] {
                    if withheld[d] && group[d] == usize::MAX {
                        group[d] = id;
                        queue.push(d);
                    }
                }
            }
        }
        queue.sort_unstable();
        groups.push(queue);
    }
    let mut lo: Vec<Q> = value.iter().map(|&v| Q::int(v as i128)).collect();
    let mut hi: Vec<Option<Q>> = lo.iter().map(|&v| Some(v)).collect();
    let wide = |lo: Q, hi: Option<Q>| wide(lo, hi, min_count);
    let mut solved: Vec<Option<Tableau>> = vec![None; groups.len()];
    for &p in targets {
        assert!(withheld[p]);
        if wide(lo[p], hi[p]) {
            continue;
        }
        let g = group[p];
        let members = &groups[g];
        let var = |c: usize| members.binary_search(&c).ok();
        if solved[g].is_none() {
            let mut rels: Vec<usize> = members.iter().flat_map(|&c| member_of[c].clone()).collect();
            rels.sort_unstable();
            rels.dedup();
            let mut a = Vec::new();
            let mut b = Vec::new();
            for r in rels {
                let mut eq = Vec::new();
                let mut rhs: i128 = 0;
                for &(c, k) in &relations[r] {
                    match var(c) {
                        Some(j) => {
                            eq.push((j, coef(k)));
                            if rhs_from_withheld {
                                rhs += coef(k) * value[c] as i128;
                            }
                        }
                        None if !rhs_from_withheld => rhs -= coef(k) * value[c] as i128,
                        None => {}
                    }
                }
                a.push(eq);
                b.push(rhs);
            }
            solved[g] = Some(
                feasible(&a, &b, members.len()).expect("the released figures admit the true table"),
            );
        }
        let start = solved[g].as_ref().expect("solved above");
        let j = var(p).expect("p is in its group");
        for max in [true, false] {
            match extreme(start, j, max) {
                Some((_, x)) => {
                    for (k, &c) in members.iter().enumerate() {
                        lo[c] = lo[c].min(x[k]);
                        hi[c] = hi[c].map(|h| h.max(x[k]));
                    }
                }
                None => hi[p] = None,
            }
            if wide(lo[p], hi[p]) {
                break;
            }
        }
    }
    Ranges { lo, hi }
}

/// Whether withheld cell `p` takes, over the non-negative integer tables
/// (each cell at most `cap`) that give every released cell its value
/// (`value[c]`) and satisfy every relation, values at least `min_count`
/// apart; if not, its integer range, for the message. What an attacker who
/// knows counts are integers really gets; it lies inside the real range.
///
/// By exhaustive search (each relation with one unknown left solving for
/// it), so for small tables only: the lowest value `lo` (counting up from
/// 0), then whether `lo + min_count` is taken. Counting on the values
/// taken to form an interval (they do for these tables' totally
/// unimodular relations, and it holds the true value) only ever makes the
/// check stricter.
pub fn integer_wide(
    relations: &[Vec<(usize, u64)>],
    withheld: &[bool],
    value: &[u64],
    p: usize,
    min_count: u64,
    cap: i64,
) -> Result<(), (i64, i64)> {
    let coef = |k: u64| -> i64 {
        if k == 1 {
            1
        } else {
            -1
        }
    };
    let rels: Vec<Vec<(usize, i64)>> = relations
        .iter()
        .map(|r| r.iter().map(|&(c, k)| (c, coef(k))).collect())
        .collect();
    let start: Vec<Option<i64>> = (0..withheld.len())
        .map(|c| (!withheld[c]).then_some(value[c] as i64))
        .collect();
    let exists = |v: i64| {
        let mut x = start.clone();
        x[p] = Some(v);
        complete(&rels, &mut x, cap)
    };
    let at = value[p] as i64;
    let lo = (0..=at).find(|&v| exists(v)).expect("the true table");
    let m = min_count as i64;
    if lo + m <= at || (lo + m <= cap && exists(lo + m)) {
        return Ok(());
    }
    let hi = (at..lo + m).rev().find(|&v| exists(v)).unwrap_or(at);
    Err((lo, hi))
}

/// Whether the partial table `x` extends to a full one.
fn complete(rels: &[Vec<(usize, i64)>], x: &mut Vec<Option<i64>>, cap: i64) -> bool {
    // Solve every relation left with one unknown, until none is.
    loop {
        let mut progress = false;
        for rel in rels {
            let mut sum = 0;
            let mut unknown = None;
            let mut count = 0;
            for &(c, k) in rel {
                match x[c] {
                    Some(v) => sum += k * v,
                    None => {
                        count += 1;
                        unknown = Some((c, k));
                    }
                }
            }
            match (count, unknown) {
                (0, _) if sum != 0 => return false,
                (1, Some((c, k))) => {
                    // k * v + sum = 0 with k = ±1.
                    let v = -sum * k;
                    if !(0..=cap).contains(&v) {
                        return false;
                    }
                    x[c] = Some(v);
                    progress = true;
                }
                _ => {}
            }
        }
        if !progress {
            break;
        }
    }
    let Some(next) = x.iter().position(Option::is_none) else {
        return true;
    };
    for v in 0..=cap {
        let mut y = x.clone();
        y[next] = Some(v);
        if complete(rels, &mut y, cap) {
            *x = y;
            return true;
        }
    }
    false
}
