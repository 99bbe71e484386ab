//! Interval protection: no primary cell may be narrowed, by the released
//! cells, the additive relations and non-negativity, to a range that pins
//! it or shows it under the threshold.
//!
//! Not being determined is not enough: with `p + q = 8` released and both
//! withheld, `p` is not determined, but it is known to lie in `[0, 8]`, so
//! under a threshold of 11. For every primary cell `p` (withheld on its own
//! account and describing somebody) this pass computes its feasible range
//! `[lo, hi]`: the smallest and largest value `x_p` can take over the real
//! points `x >= 0` that give every released cell its value and satisfy every
//! additive relation. Counts are integers, so an attacker can only narrow
//! the cell to the integers in that range: the rule asks
//!
//! ```text
//! floor(hi) - ceil(lo) >= min_count
//! ```
//!
//! Why this width: the range always holds the true value `x_p >= 0`, so
//! `hi >= min_count` and the cell can never be shown to be under the
//! threshold (it may be 0 or `min_count` or more for all anyone knows), and
//! no released combination pins it more closely than the threshold itself,
//! which is the precision the rule already grants to any released figure.
//! Separate upper and lower protection levels around the true value (as in
//! the p % rule of τ-ARGUS) would make the requirement depend on the value
//! it protects; one width, the same unit as the threshold, keeps the rule
//! a single number operators already set.
//!
//! Ranges come from a linear program per connected group of withheld cells
//! (cells sharing a relation, transitively), solved in floating point by
//! `microlp`; the bounds are rounded inward to integers after a tolerance of
//! [`EPS`], so a bound within `EPS` of an integer counts as that integer and
//! every other fractional bound loses its fraction: the decision is never
//! wider than the real range. Everything is monotone: withholding one more
//! cell only removes an equation, so a range only widens. A cell once shown
//! wide enough is never solved again, and every feasible point the solver
//! returns is kept as a witness that widens the known range of every cell
//! it touches, which often shows a cell wide enough with no program of its
//! own.
//!
//! While some primary cell is too narrow, released cells around its group
//! are withheld: among the nearest ones (in relations, through withheld
//! cells), best by non-zero count, fewest contributors, leaf, index, the
//! first that makes it wide enough; if none alone does, the one that raises
//! its upper bound most, and the search goes on from there (a few cells per
//! round at most); then the other passes run again. This ends: each round withholds a cell, and
//! a group all of whose relations are withheld leaves every cell unbounded
//! above (the true values scaled up stay feasible when the table adds up).
//!
//! Which cells: every primary cell with at least one contributor, whatever
//! its reason (a small count, a dominated sum, a level the policy does not
//! share); a zero describes nobody. Widths are in contributors, the unit of
//! the threshold: for a count table that is the released figure itself;
//! for a sum table, whose values this module never sees, the suppression
//! pattern is the one that protects its counts.

use microlp::{ComparisonOp, Error as LpError, OptimizationDirection, Problem};

use super::{protect::Space, shape::Relations, CellInput, CellStatus, Rule};

/// Tolerance on a bound from the floating-point solver before it is rounded
/// inward to an integer. Bounds are vertices of systems with coefficients
/// 0 and ±1, rationals with small denominators, so a true bound is never
/// within `EPS` of an integer without being it.
pub(super) const EPS: f64 = 1e-6;

/// Released cells tried as the complement of one narrow cell, best first.
pub const MAX_CANDIDATES: usize = 6;

/// Released cells withheld for one narrow cell in one round, when none
/// alone is enough (the other passes then run before the next round).
pub const MAX_STEPS: usize = 4;

/// What is known of the primary cells' ranges across rounds.
pub(super) struct Widths {
    /// Primary cells describing somebody whose range is not yet shown wide
    /// enough.
    pending: Vec<bool>,
    /// Smallest and largest value of each cell over the feasible points
    /// found so far (the true values first): a range inside the true one.
    seen: Vec<(f64, f64)>,
}

impl Widths {
    /// Every primary cell with at least one contributor is pending; a zero
    /// describes nobody.
    pub(super) fn new(cells: &[CellInput], status: &[CellStatus]) -> Self {
        let pending = status
            .iter()
            .zip(cells)
            .map(|(s, c)| matches!(s, CellStatus::Primary(_)) && c.count > 0)
            .collect();
        let seen = cells
            .iter()
            .map(|c| (c.count as f64, c.count as f64))
            .collect();
        Self { pending, seen }
    }

    fn wide(&self, cell: usize, min_count: u64) -> bool {
        let (lo, hi) = self.seen[cell];
        wide_enough(lo, hi, min_count)
    }

    /// Widens the known ranges with the two ends of the segment through the
    /// true values along `direction` (a move that keeps every released
    /// cell) that stays non-negative.
    fn slide(&mut self, direction: &[(usize, f64)], cells: &[CellInput]) {
        let at = |c: usize| cells[c].count as f64;
        let (mut up, mut down) = (f64::INFINITY, f64::INFINITY);
        for &(c, d) in direction {
            if d < 0.0 {
                up = up.min(at(c) / -d);
            } else if d > 0.0 {
                down = down.min(at(c) / d);
            }
        }
        for &(c, d) in direction {
            let (lo, hi) = &mut self.seen[c];
            for t in [up, -down] {
                if t.is_finite() {
                    let v = at(c) + t * d;
                    *lo = lo.min(v);
                    *hi = hi.max(v);
                } else if t > 0.0 && d > 0.0 {
                    // No coordinate decreases: this one grows without bound.
                    *hi = f64::INFINITY;
                }
            }
        }
    }

    /// Widens the known ranges with a feasible point of `set`.
    fn witness(&mut self, set: &[usize], point: &[f64]) {
        for (&cell, &v) in set.iter().zip(point) {
            let (lo, hi) = &mut self.seen[cell];
            *lo = lo.min(v);
            *hi = hi.max(v);
        }
    }
}

/// The rule on one range: `floor(hi) - ceil(lo) >= min_count`, each bound
/// rounded inward after the tolerance [`EPS`].
pub(super) fn wide_enough(lo: f64, hi: f64, min_count: u64) -> bool {
    if hi == f64::INFINITY {
        return true;
    }
    let lo = (lo - EPS).ceil().max(0.0);
    let hi = (hi + EPS).floor();
    hi - lo >= min_count as f64
}

/// One round: checks every pending primary cell; for each group of withheld
/// cells holding a narrow one, withholds one more released cell. Returns
/// whether any cell was withheld.
pub(super) fn pass(
    table: &Relations,
    cells: &[CellInput],
    rule: &Rule,
    status: &mut [CellStatus],
    widths: &mut Widths,
) -> bool {
    if !widths.pending.iter().any(|&p| p) {
        return false;
    }
    // Cheap witnesses first: the segments through the true values along a
    // basis of the moves that keep every released cell.
    let suppressed: Vec<bool> = status.iter().map(|s| s.is_suppressed()).collect();
    if let Ok(space) = Space::new(table, &suppressed) {
        for direction in space.free_directions() {
            widths.slide(&direction, cells);
        }
    }
    let groups = Groups::new(table, status);
    // The narrow cells, at most one per group, in cell order.
    let mut narrow: Vec<usize> = Vec::new();
    let mut group_narrow = vec![false; table.cells];
    let mut group_seen = vec![false; table.cells];
    for p in 0..table.cells {
        if !widths.pending[p] {
            continue;
        }
        if widths.wide(p, rule.min_count) {
            widths.pending[p] = false;
            continue;
        }
        let root = groups.root(p);
        if group_narrow[root] {
            // Checked again once its group has been widened.
            continue;
        }
        let whole = groups.members(root);
        let program = Program::new(table, cells, whole);
        if !group_seen[root] {
            group_seen[root] = true;
            spread(&program, whole, widths, rule.min_count);
            if widths.wide(p, rule.min_count) {
                widths.pending[p] = false;
                continue;
            }
        }
        if !program.widen(p, widths, rule.min_count) {
            narrow.push(p);
            group_narrow[root] = true;
        }
    }
    let mut changed = false;
    let mut fresh: Vec<usize> = Vec::new();
    for p in narrow {
        let set = groups.members(groups.root(p));
        // A cell withheld earlier in this round next to this group may
        // have widened it: the next round checks it again.
        if set
            .iter()
            .any(|&c| table.neighbours(c).any(|n| fresh.contains(&n)))
        {
            continue;
        }
        let withheld = complement(table, cells, rule, status, &groups, p, widths);
        if withheld.is_empty() {
            // No released cell shares a relation with the group: no
            // released figure says anything about it.
            widths.pending[p] = false;
        }
        changed |= !withheld.is_empty();
        fresh.extend(withheld);
    }
    changed
}

/// Programs over a whole group that widen many pending cells at once:
/// every pending cell as low as it goes together, then, as long as it
/// settles some, each as high as `min_count` above its lowest known value
/// (a cell that gets there is wide enough). Only for groups with two or
/// more cells left to show.
fn spread(program: &Program, whole: &[usize], widths: &mut Widths, min_count: u64) {
    let open = |widths: &Widths| -> Vec<usize> {
        whole
            .iter()
            .copied()
            .filter(|&c| widths.pending[c] && !widths.wide(c, min_count))
            .collect()
    };
    let left = open(widths);
    if left.len() < 2 {
        return;
    }
    let down: Vec<(usize, f64)> = left.iter().map(|&c| (c, 1.0)).collect();
    if let Ok(point) = program.optimise(OptimizationDirection::Minimize, &down, &[]) {
        widths.witness(whole, &point);
    }
    let left = open(widths);
    if left.len() < 2 {
        return;
    }
    // Each round of the second program settles the cells that reach their
    // mark; the others may reach it once those no longer pull.
    let mut left = left;
    while left.len() >= 2 {
        let caps: Vec<(usize, f64)> = left
            .iter()
            .map(|&c| {
                (
                    c,
                    (widths.seen[c].0 - EPS).ceil().max(0.0) + min_count as f64,
                )
            })
            .collect();
        let Ok(point) = program.optimise(OptimizationDirection::Maximize, &[], &caps) else {
            return;
        };
        widths.witness(whole, &point);
        let still = open(widths);
        if still.len() == left.len() {
            return;
        }
        left = still;
    }
}

/// The released cells sharing a relation with the group of `p`, each with
/// its distance from `p` in relations (through withheld cells).
fn released_around(table: &Relations, status: &[CellStatus], p: usize) -> Vec<(usize, usize)> {
    let mut seen = vec![false; table.cells];
    seen[p] = true;
    let mut released = Vec::new();
    let mut frontier = vec![p];
    let mut d = 0;
    while !frontier.is_empty() {
        d += 1;
        let mut next = Vec::new();
        for &c in &frontier {
            for n in table.neighbours(c) {
                if seen[n] {
                    continue;
                }
                seen[n] = true;
                if status[n].is_suppressed() {
                    next.push(n);
                } else {
                    released.push((n, d));
                }
            }
        }
        frontier = next;
    }
    released
}

/// Withholds released cells for the narrow cell `p` and returns them.
/// Candidates: the released cells around its group, nearest to `p` first
/// (in relations, through withheld cells), then by non-zero count, fewest
/// contributors, leaf, index; at most [`MAX_CANDIDATES`] of them, each
/// tried on the group `p` would then belong to. The first that makes `p`
/// wide enough is withheld and ends it; if none does, the one that raises
/// its upper bound most is withheld and the search goes on from there, at
/// most [`MAX_STEPS`] cells in one round. Empty when no released cell
/// shares a relation with the group.
fn complement(
    table: &Relations,
    cells: &[CellInput],
    rule: &Rule,
    status: &mut [CellStatus],
    groups: &Groups,
    p: usize,
    widths: &mut Widths,
) -> Vec<usize> {
    let mut group: Vec<usize> = groups.members(groups.root(p)).to_vec();
    let mut withheld = Vec::new();
    for _ in 0..MAX_STEPS {
        let mut candidates = released_around(table, status, p);
        candidates.sort_unstable_by_key(|&(c, d)| {
            (d, cells[c].count == 0, cells[c].count, table.is_total[c], c)
        });
        candidates.truncate(MAX_CANDIDATES);
        // (upper bound, cell, the group with it); the first wins ties.
        let mut best: Option<(f64, usize, Vec<usize>)> = None;
        for (c, _) in candidates {
            // The group of `p` with `c` withheld: its own, `c`, and every
            // group `c` shares a relation with. Cells withheld earlier in
            // this round for another group are in no group of `groups`:
            // the program holds their own neighbours at their values, a
            // range inside the true one, so the choice errs on the safe
            // side.
            let mut merged = group.clone();
            merged.push(c);
            for n in table.neighbours(c) {
                if status[n].is_suppressed() {
                    merged.push(n);
                    merged.extend_from_slice(groups.members(groups.root(n)));
                }
            }
            merged.sort_unstable();
            merged.dedup();
            let program = Program::new(table, cells, &merged);
            // Small cells are bounded above: the upper bound decides, the
            // lower one known so far stands.
            let lo = widths.seen[p].0;
            let hi = match program.extreme(p, OptimizationDirection::Maximize) {
                Extreme::Point(v) => v,
                Extreme::Unbounded => f64::INFINITY,
                Extreme::Failed => widths.seen[p].1,
            };
            if wide_enough(lo, hi, rule.min_count) {
                // Attained with `c` withheld, so still feasible once it is.
                widths.seen[p].1 = widths.seen[p].1.max(hi);
                widths.pending[p] = false;
                status[c] = CellStatus::Secondary;
                withheld.push(c);
                return withheld;
            }
            if best.as_ref().is_none_or(|b| hi > b.0) {
                best = Some((hi, c, merged));
            }
        }
        let Some((hi, c, merged)) = best else {
            break;
        };
        widths.seen[p].1 = widths.seen[p].1.max(hi);
        status[c] = CellStatus::Secondary;
        withheld.push(c);
        group = merged;
    }
    withheld
}

/// The outcome of optimising one cell over a group.
enum Extreme {
    /// The optimum of the cell.
    Point(f64),
    /// The cell grows without bound.
    Unbounded,
    /// The solver gave no answer; the caller keeps what it knew.
    Failed,
}

/// The linear program of a set of withheld cells closed under the
/// relations (every withheld cell of a relation touching the set is in it):
/// one variable `x >= 0` per cell, and per relation touching the set, the
/// sum of its withheld cells with their coefficients equal to what the
/// released ones make it.
struct Program<'a> {
    set: &'a [usize],
    /// `(variable, coefficient)` rows and their right-hand sides.
    rows: Vec<(Vec<(usize, f64)>, f64)>,
}

impl<'a> Program<'a> {
    /// The right-hand side is taken as the withheld cells' own weighted sum,
    /// which equals the released cells' when the table adds up (as at a
    /// node); for a table that does not, it keeps the true values feasible,
    /// which is what the attacker's view would be had the figures added up.
    fn new(table: &Relations, cells: &[CellInput], set: &'a [usize]) -> Self {
        let mut rels: Vec<usize> = set
            .iter()
            .flat_map(|&c| table.member_of[c].iter().copied())
            .collect();
        rels.sort_unstable();
        rels.dedup();
        let var = |cell: usize| set.binary_search(&cell).ok();
        let rows = rels
            .into_iter()
            .map(|r| {
                let mut rhs = 0.0;
                let row: Vec<(usize, f64)> = table.relations[r]
                    .iter()
                    .filter_map(|&(cell, k)| {
                        var(cell).map(|j| {
                            rhs += k as f64 * cells[cell].count as f64;
                            (j, k as f64)
                        })
                    })
                    .collect();
                (row, rhs)
            })
            .collect();
        Self { set, rows }
    }

    /// Optimises cell `p` (in the set) in one direction and returns the
    /// optimal point's values, in set order.
    fn solve(&self, p: usize, direction: OptimizationDirection) -> Result<Vec<f64>, LpError> {
        self.optimise(direction, &[(p, 1.0)], &[])
    }

    /// Optimises `objective` (cells of the set and their weights) plus, for
    /// each `(cell, cap)` of `caps`, `min(x_cell, cap)`; returns the
    /// optimal point's values, in set order.
    fn optimise(
        &self,
        direction: OptimizationDirection,
        objective: &[(usize, f64)],
        caps: &[(usize, f64)],
    ) -> Result<Vec<f64>, LpError> {
        let mut weight = vec![0.0; self.set.len()];
        for &(cell, w) in objective {
            weight[self.index(cell)] = w;
        }
        let mut problem = Problem::new(direction);
        let vars: Vec<_> = weight
            .iter()
            .map(|&w| problem.add_var(w, (0.0, f64::INFINITY)))
            .collect();
        for (row, rhs) in &self.rows {
            let expr: Vec<_> = row.iter().map(|&(j, k)| (vars[j], k)).collect();
            problem.add_constraint(expr.as_slice(), ComparisonOp::Eq, *rhs);
        }
        for &(cell, cap) in caps {
            let t = problem.add_var(1.0, (0.0, cap));
            problem.add_constraint(
                [(t, 1.0), (vars[self.index(cell)], -1.0)].as_slice(),
                ComparisonOp::Le,
                0.0,
            );
        }
        // Presolve pays off on large models; these are small, and the
        // plain simplex takes half the time.
        let mut options = microlp::SolveOptions::default();
        options.presolve = false;
        problem
            .solve_with(options)
            // No time or node limit is set, so a solve is never interrupted.
            .and_then(|outcome| outcome.into_solution().map_err(|_| LpError::Infeasible))
            .map(|solution| vars.iter().map(|&v| solution.var_value(v)).collect())
    }

    /// The position of cell `p`, which callers know to be in the set.
    fn index(&self, p: usize) -> usize {
        self.set.partition_point(|&c| c < p)
    }

    fn extreme(&self, p: usize, direction: OptimizationDirection) -> Extreme {
        match self.solve(p, direction) {
            Ok(point) => Extreme::Point(point[self.index(p)]),
            Err(LpError::Unbounded) => Extreme::Unbounded,
            Err(_) => Extreme::Failed,
        }
    }

    /// Seeks the range of `p` until it is shown wide enough, keeping every
    /// point found as a witness. Returns whether it is wide enough.
    fn widen(&self, p: usize, widths: &mut Widths, min_count: u64) -> bool {
        for direction in [
            OptimizationDirection::Maximize,
            OptimizationDirection::Minimize,
        ] {
            match self.solve(p, direction) {
                Ok(point) => widths.witness(self.set, &point),
                Err(LpError::Unbounded) => widths.seen[p].1 = f64::INFINITY,
                // No answer: what is known stays, so the cell counts as
                // narrow unless witnesses already showed otherwise.
                Err(_) => {}
            }
            if widths.wide(p, min_count) {
                widths.pending[p] = false;
                return true;
            }
        }
        false
    }
}

/// The groups of withheld cells: cells sharing a relation, transitively.
struct Groups {
    /// Union-find parent; a root is the lowest cell of its group.
    parent: Vec<usize>,
    /// The cells of each root's group, in increasing order.
    members: Vec<Vec<usize>>,
}

impl Groups {
    fn new(table: &Relations, status: &[CellStatus]) -> Self {
        let mut parent: Vec<usize> = (0..table.cells).collect();
        fn find(parent: &mut [usize], mut x: usize) -> usize {
            while parent[x] != x {
                parent[x] = parent[parent[x]];
                x = parent[x];
            }
            x
        }
        for rel in &table.relations {
            let mut first: Option<usize> = None;
            for &(c, _) in rel {
                if status[c].is_released() {
                    continue;
                }
                match first {
                    None => first = Some(c),
                    Some(f) => {
                        let (a, b) = (find(&mut parent, f), find(&mut parent, c));
                        let (lo, hi) = (a.min(b), a.max(b));
                        parent[hi] = lo;
                    }
                }
            }
        }
        let mut members = vec![Vec::new(); table.cells];
        for c in 0..table.cells {
            let r = find(&mut parent, c);
            parent[c] = r;
            if status[c].is_suppressed() {
                members[r].push(c);
            }
        }
        Self { parent, members }
    }

    fn root(&self, cell: usize) -> usize {
        self.parent[cell]
    }

    fn members(&self, root: usize) -> &[usize] {
        &self.members[root]
    }
}

/// The feasible range `[lo, hi]` of withheld cell `p` under `status` (an
/// unbounded `hi` is infinite; a failed solve gives the true value).
#[cfg(test)]
pub(super) fn range(
    table: &Relations,
    cells: &[CellInput],
    status: &[CellStatus],
    p: usize,
) -> (f64, f64) {
    let groups = Groups::new(table, status);
    let program = Program::new(table, cells, groups.members(groups.root(p)));
    let at = cells[p].count as f64;
    let lo = match program.extreme(p, OptimizationDirection::Minimize) {
        Extreme::Point(v) => v,
        _ => at,
    };
    let hi = match program.extreme(p, OptimizationDirection::Maximize) {
        Extreme::Point(v) => v,
        Extreme::Unbounded => f64::INFINITY,
        Extreme::Failed => at,
    };
    (lo, hi)
}
