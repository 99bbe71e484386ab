//! Property tests of disclosure control on random tables.
//!
//! After [`protect`], an independent checker written here (its own relations
//! from the parent arrays, its own elimination over the prime field
//! `2^61 - 1`, a rank comparison rather than the library's reduced rows)
//! proves that no withheld cell is determined by the additive relations and
//! the released cells: `rank([A_S; e_i]) > rank(A_S)` for every withheld
//! cell `i`, where `A_S` is the relation matrix restricted to withheld cells.
//! Over a prime this large a rank can only drop below the rational rank if
//! the prime divides every maximal minor of a 0/±1 matrix of a few hundred
//! rows, which does not happen here.
//!
//! It also checks the group rule: in every relation whose total is
//! released, the withheld parts hold no contributor or at least `min_count`.

use passerelle_protocol::disclosure::{
    protect, recoverable, CellInput, CellStatus, Hierarchy, PrimaryReason, Rule, TableShape,
};
use proptest::prelude::*;

const P: u64 = (1 << 61) - 1;

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
/// list of `(cell, coefficient)` with `1` for the total and `P - 1` (that
/// is, -1) for each part.
fn relations(rows: &[Option<usize>], cols: &[Option<usize>]) -> Vec<Vec<(usize, u64)>> {
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

/// A row-echelon basis over GF(P), grown one row at a time.
struct Echelon {
    width: usize,
    /// Rows with their leading column; leading entry 1.
    rows: Vec<(usize, Vec<u64>)>,
}

impl Echelon {
    fn new(width: usize) -> Self {
        Self {
            width,
            rows: Vec::new(),
        }
    }

    fn rank(&self) -> usize {
        self.rows.len()
    }

    /// Adds a row; the rank grows by one unless it was already spanned.
    fn push(&mut self, mut v: Vec<u64>) {
        let mut order: Vec<usize> = (0..self.rows.len()).collect();
        order.sort_by_key(|&k| self.rows[k].0);
        for k in order {
            let (lead, row) = &self.rows[k];
            let f = v[*lead];
            if f != 0 {
                for (x, y) in v.iter_mut().zip(row) {
                    *x = sub(*x, mul(f, *y));
                }
            }
        }
        if let Some(lead) = v.iter().position(|&x| x != 0) {
            let inv = inverse(v[lead]);
            for x in v.iter_mut() {
                *x = mul(*x, inv);
            }
            self.rows.push((lead, v));
        }
    }
}

/// Withheld cells that the relations and the released cells determine,
/// found independently of the library.
fn determined(rows: &[Option<usize>], cols: &[Option<usize>], withheld: &[bool]) -> Vec<usize> {
    let column: Vec<Option<usize>> = withheld
        .iter()
        .scan(0, |next, &w| {
            Some(w.then(|| {
                *next += 1;
                *next - 1
            }))
        })
        .collect();
    let m = withheld.iter().filter(|&&w| w).count();
    let mut basis = Echelon::new(m);
    for rel in relations(rows, cols) {
        let mut v = vec![0; m];
        for (cell, k) in rel {
            if let Some(j) = column[cell] {
                v[j] = k;
            }
        }
        basis.push(v);
    }
    let rank = basis.rank();
    (0..withheld.len())
        .filter(|&cell| {
            let Some(j) = column[cell] else { return false };
            let mut with = Echelon {
                width: basis.width,
                rows: basis.rows.clone(),
            };
            let mut e = vec![0; with.width];
            e[j] = 1;
            with.push(e);
            with.rank() == rank
        })
        .collect()
}

/// Relations whose total is released and whose withheld parts hold 1 to
/// `min_count - 1` contributors: a group anyone derives as the total minus
/// the released parts (for a table that adds up). The group rule allows
/// none.
fn small_groups(
    shape: &TableShape,
    cells: &[CellInput],
    withheld: &[bool],
    min_count: u64,
) -> Vec<Vec<(usize, u64)>> {
    relations(&shape.rows.parent, &shape.cols.parent)
        .into_iter()
        .filter(|rel| {
            let (total, parts) = rel.split_first().expect("a relation has a total");
            let group: u64 = parts
                .iter()
                .filter(|(c, _)| withheld[*c])
                .map(|(c, _)| cells[*c].count)
                .sum();
            !withheld[total.0] && group > 0 && group < min_count
        })
        .collect()
}

/// Checks everything `protect` promises about one table.
fn check(shape: &TableShape, cells: &[CellInput], rule: &Rule) -> Result<(), TestCaseError> {
    let status = protect(shape, cells, rule).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(status.len(), cells.len());
    for (i, (s, c)) in status.iter().zip(cells).enumerate() {
        let small = (1..rule.min_count).contains(&c.count);
        let dominated =
            c.count >= 1 && matches!((c.max_share, rule.dominance), (Some(s), Some(d)) if s > d);
        let expected = if small {
            Some(CellStatus::Primary(PrimaryReason::Threshold))
        } else if dominated {
            Some(CellStatus::Primary(PrimaryReason::Dominance))
        } else {
            None
        };
        match expected {
            Some(e) => prop_assert_eq!(*s, e, "cell {}", i),
            None => prop_assert!(matches!(s, CellStatus::Released | CellStatus::Secondary)),
        }
    }
    let withheld: Vec<bool> = status.iter().map(|s| s.is_suppressed()).collect();
    for rel in relations(&shape.rows.parent, &shape.cols.parent) {
        let n = rel.iter().filter(|(c, _)| withheld[*c]).count();
        prop_assert!(
            n != 1,
            "a relation exposes its one withheld cell: {:?}",
            rel
        );
    }
    let small = small_groups(shape, cells, &withheld, rule.min_count);
    prop_assert!(
        small.is_empty(),
        "withheld parts of {:?} hold 1 to min_count - 1 contributors: {:?}",
        small,
        status
    );
    let exposed = determined(&shape.rows.parent, &shape.cols.parent, &withheld);
    prop_assert!(
        exposed.is_empty(),
        "recoverable cells {:?} in {:?}",
        exposed,
        status
    );
    if !status.iter().any(|s| matches!(s, CellStatus::Primary(_))) {
        prop_assert!(status.iter().all(|s| s.is_released()));
    }
    Ok(())
}

/// A random tree of 1 to `depth` levels under one root, each unit with 1 to
/// 6 children, at most `cap` units, numbered in a random order.
fn tree(depth: usize, cap: usize) -> impl Strategy<Value = Hierarchy> {
    (
        1..=depth,
        prop::collection::vec(1usize..=6, 64),
        prop::collection::vec(any::<u32>(), cap),
    )
        .prop_map(move |(depth, fanouts, keys)| {
            let mut parent = vec![None];
            let mut level = vec![0];
            let mut fan = fanouts.into_iter().cycle();
            for _ in 0..depth {
                let mut next = Vec::new();
                for &u in &level {
                    for _ in 0..fan.next().unwrap_or(1) {
                        if parent.len() < cap {
                            next.push(parent.len());
                            parent.push(Some(u));
                        }
                    }
                }
                level = next;
            }
            // Renumber: unit u becomes place[u].
            let mut order: Vec<usize> = (0..parent.len()).collect();
            order.sort_by_key(|&u| (keys[u], u));
            let mut place = vec![0; parent.len()];
            for (new, &old) in order.iter().enumerate() {
                place[old] = new;
            }
            let mut renumbered = vec![None; parent.len()];
            for (old, p) in parent.iter().enumerate() {
                renumbered[place[old]] = p.map(|p| place[p]);
            }
            Hierarchy::new(renumbered)
        })
}

/// Many zeros and small counts, some comfortable ones.
fn count() -> impl Strategy<Value = u64> {
    prop_oneof![3 => Just(0u64), 4 => 1u64..=10, 3 => 11u64..=500]
}

fn share() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![2 => Just(None), 1 => (0.0f64..=1.0).prop_map(Some)]
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        prop_oneof![4 => Just(11u64), 1 => 0u64..=15],
        prop_oneof![Just(None), Just(Some(0.85)), (0.0f64..=1.0).prop_map(Some)],
    )
        .prop_map(|(min_count, dominance)| Rule {
            min_count,
            dominance,
        })
}

/// Cells for a shape: random counts, or random leaves with totals summed
/// from them (as a real table would be).
fn cells(shape: &TableShape) -> impl Strategy<Value = Vec<CellInput>> {
    let n = shape.cell_count();
    let shape = shape.clone();
    (
        any::<bool>(),
        prop::collection::vec(count(), n),
        prop::collection::vec(share(), n),
    )
        .prop_map(move |(additive, mut counts, shares)| {
            if additive {
                counts = summed(&shape, &counts);
            }
            counts
                .into_iter()
                .zip(shares)
                .map(|(count, max_share)| CellInput {
                    count,
                    max_share,
                    withheld: false,
                })
                .collect()
        })
}

/// Replaces every total by the sum of the leaf cells under it.
fn summed(shape: &TableShape, counts: &[u64]) -> Vec<u64> {
    fn leaves(parent: &[Option<usize>], u: usize) -> Vec<usize> {
        let kids: Vec<usize> = (0..parent.len())
            .filter(|&k| parent[k] == Some(u))
            .collect();
        if kids.is_empty() {
            vec![u]
        } else {
            kids.into_iter().flat_map(|k| leaves(parent, k)).collect()
        }
    }
    let nc = shape.cols.len();
    (0..counts.len())
        .map(|i| {
            let (rows, cols) = (
                leaves(&shape.rows.parent, i / nc),
                leaves(&shape.cols.parent, i % nc),
            );
            rows.iter()
                .flat_map(|r| cols.iter().map(move |c| r * nc + c))
                .map(|cell| counts[cell])
                .sum()
        })
        .collect()
}

fn table(
    rows: impl Strategy<Value = Hierarchy>,
    cols: impl Strategy<Value = Hierarchy>,
) -> impl Strategy<Value = (TableShape, Vec<CellInput>, Rule)> {
    (rows, cols)
        .prop_map(|(r, c)| TableShape::new(r, c))
        .prop_flat_map(|shape| {
            let cells = cells(&shape);
            (Just(shape), cells, rule())
        })
}

/// Department → 5 EPCI → 17 communes (INSEE 97601..=97617, in code order).
fn mayotte() -> Hierarchy {
    let epci: [&[u32]; 5] = [
        &[97601, 97602, 97610, 97612],        // CA du Grand Nord
        &[97603, 97604, 97606, 97609],        // CC du Sud
        &[97605, 97613, 97614, 97616, 97617], // CC du Centre-Ouest
        &[97607, 97611],                      // CA de Dembéni-Mamoudzou
        &[97608, 97615],                      // CC de Petite-Terre
    ];
    let mut parent = vec![None; 23];
    for (e, communes) in epci.iter().enumerate() {
        parent[1 + e] = Some(0);
        for code in communes.iter() {
            parent[6 + (code - 97601) as usize] = Some(1 + e);
        }
    }
    Hierarchy::new(parent)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn random_tables_leave_no_cell_recoverable(
        (shape, cells, rule) in table(tree(3, 40), (0usize..=6).prop_map(Hierarchy::flat))
    ) {
        check(&shape, &cells, &rule)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn tables_hierarchical_on_both_axes_leave_no_cell_recoverable(
        (shape, cells, rule) in table(tree(2, 12), tree(2, 10))
    ) {
        check(&shape, &cells, &rule)?;
    }

    #[test]
    fn mayotte_communes_by_three_categories_leave_no_cell_recoverable(
        (shape, cells, rule) in table(Just(mayotte()), Just(Hierarchy::flat(3)))
    ) {
        prop_assert_eq!(shape.cell_count(), 23 * 4);
        check(&shape, &cells, &rule)?;
    }

    #[test]
    fn recoverable_agrees_with_the_independent_solver(
        (shape, mask) in (tree(3, 30), (0usize..=5).prop_map(Hierarchy::flat))
            .prop_map(|(r, c)| TableShape::new(r, c))
            .prop_flat_map(|shape| {
                let n = shape.cell_count();
                (Just(shape), prop::collection::vec(prop::bool::weighted(0.4), n))
            })
    ) {
        let ours = recoverable(&shape, &mask).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let theirs = determined(&shape.rows.parent, &shape.cols.parent, &mask);
        prop_assert_eq!(ours, theirs);
    }
}

#[test]
fn mayotte_shape_has_the_right_epci() {
    let parent = mayotte().parent;
    let under = |e: usize| (6..23).filter(|&u| parent[u] == Some(e)).count();
    assert_eq!(
        [under(1), under(2), under(3), under(4), under(5)],
        [4, 4, 5, 2, 2]
    );
    assert!((1..=5).all(|e| parent[e] == Some(0)) && parent[0].is_none());
}

/// The 23-row × 11-column table (ten categories and their total) must
/// protect quickly: under 10 ms in release. Timings are printed; run with
/// `--release -- --nocapture` to see them.
#[test]
fn mayotte_by_ten_categories_protects_quickly() {
    let shape = TableShape::new(mayotte(), Hierarchy::flat(10));
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut worst = std::time::Duration::ZERO;
    let mut total = std::time::Duration::ZERO;
    let runs = 200;
    for _ in 0..runs {
        let leaves: Vec<u64> = (0..shape.cell_count())
            .map(|_| match next() % 10 {
                0..=2 => 0,
                3..=6 => 1 + next() % 10,
                _ => 11 + next() % 490,
            })
            .collect();
        let counts = if next() % 2 == 0 {
            summed(&shape, &leaves)
        } else {
            leaves
        };
        let cells: Vec<CellInput> = counts.into_iter().map(CellInput::counted).collect();
        let start = std::time::Instant::now();
        let status = protect(&shape, &cells, &Rule::default()).unwrap();
        let took = start.elapsed();
        worst = worst.max(took);
        total += took;
        let withheld: Vec<bool> = status.iter().map(|s| s.is_suppressed()).collect();
        assert!(determined(&shape.rows.parent, &shape.cols.parent, &withheld).is_empty());
        assert!(small_groups(&shape, &cells, &withheld, 11).is_empty());
    }
    println!(
        "23x11 protect: mean {:?}, worst {:?} over {runs} tables",
        total / runs,
        worst
    );
    if !cfg!(debug_assertions) {
        assert!(
            worst < std::time::Duration::from_millis(10),
            "worst {worst:?}"
        );
    }
}
