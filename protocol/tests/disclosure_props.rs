//! Property tests of disclosure control on random tables.
//!
//! After [`protect`], an independent solver written here (its own relations
//! from the parent arrays, its own elimination over a prime field, see
//! `disclosure_props/solver.rs`) proves that:
//!
//! - no withheld cell is determined by the additive relations and the
//!   released cells;
//! - no group of withheld sibling cells (parts of the same total: communes
//!   of an EPCI, categories of a row) holding 1 to `min_count - 1`
//!   contributors has a sum that can be derived from the released cells;
//! - every cell withheld by policy stays withheld, with that reason;
//! - every primary cell describing somebody keeps a feasible range (over
//!   the reals, given the released cells, the relations and
//!   non-negativity) with `floor(hi) - ceil(lo) >= min_count`, computed
//!   exactly by the tests' own rational simplex
//!   (`disclosure_props/ranges.rs`), and on small tables an integer range
//!   (exhaustive search over the integer tables, what an attacker who
//!   knows counts are integers gets) at least as wide.
//!
//! Tables come from random hierarchies and from Mayotte's real geography
//! (kept here as an independent copy, checked against `geo`), crossed with
//! random categories or the real sex breakdown (two categories). Some cells
//! or whole levels are withheld by policy, as a node withholds the levels it
//! does not share. Rounding of released counts happens at the node, after
//! this decision: `node/tests/answer_props.rs` covers it.

#[path = "disclosure_props/solver.rs"]
mod solver;

#[allow(dead_code)]
#[path = "disclosure_props/ranges.rs"]
mod ranges;

use passerelle_protocol::{
    disclosure::{
        protect, recoverable, CellInput, CellStatus, Hierarchy, PrimaryReason, Rule, TableShape,
    },
    geo,
};
use proptest::prelude::*;
use solver::{determined, relations, Solver};

/// Withheld sibling groups of at most this many cells are all checked.
const MAX_GROUP_PARTS: usize = 12;

/// Checks everything `protect` promises about one table.
fn check(shape: &TableShape, cells: &[CellInput], rule: &Rule) -> Result<(), TestCaseError> {
    let status = protect(shape, cells, rule).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(status.len(), cells.len());
    for (i, (s, c)) in status.iter().zip(cells).enumerate() {
        let small = (1..rule.min_count).contains(&c.count);
        let dominated =
            c.count >= 1 && matches!((c.max_share, rule.dominance), (Some(s), Some(d)) if s > d);
        let expected = if c.withheld {
            // Whatever its count, even zero: it never leaves.
            Some(CellStatus::Primary(PrimaryReason::Withheld))
        } else if small {
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
    let rels = relations(&shape.rows.parent, &shape.cols.parent);
    for rel in &rels {
        let n = rel.iter().filter(|(c, _)| withheld[*c]).count();
        prop_assert!(
            n != 1,
            "a relation exposes its one withheld cell: {:?}",
            rel
        );
    }
    let solver = Solver::new(&shape.rows.parent, &shape.cols.parent, &withheld);
    let exposed = solver.determined();
    prop_assert!(
        exposed.is_empty(),
        "recoverable cells {:?} in {:?}",
        exposed,
        status
    );
    for rel in &rels {
        let parts: Vec<usize> = rel[1..]
            .iter()
            .map(|&(c, _)| c)
            .filter(|&c| withheld[c])
            .collect();
        if let Some(group) = small_derivable_group(&solver, &parts, cells, rule.min_count) {
            return Err(TestCaseError::fail(format!(
                "withheld cells {group:?} add up to 1 to {} contributors and their sum \
                 can be derived: {status:?}",
                rule.min_count - 1
            )));
        }
    }
    if !status.iter().any(|s| matches!(s, CellStatus::Primary(_))) {
        prop_assert!(status.iter().all(|s| s.is_released()));
    }
    check_widths(&rels, &status, cells, rule)
}

/// Every primary cell describing somebody keeps a feasible range of
/// `floor(hi) - ceil(lo) >= min_count`, computed exactly by the test's own
/// rational simplex (`disclosure_props/ranges.rs`) from the released
/// figures. A table whose figures do not add up has no true point
/// consistent with them; its relations then take their right-hand side
/// from the withheld cells' own values, as the library does.
fn check_widths(
    rels: &[Vec<(usize, u64)>],
    status: &[CellStatus],
    cells: &[CellInput],
    rule: &Rule,
) -> Result<(), TestCaseError> {
    let withheld: Vec<bool> = status.iter().map(|s| s.is_suppressed()).collect();
    let values: Vec<u64> = cells.iter().map(|c| c.count).collect();
    let targets: Vec<usize> = (0..cells.len())
        .filter(|&i| matches!(status[i], CellStatus::Primary(_)) && cells[i].count > 0)
        .collect();
    let adds_up = rels.iter().all(|rel| {
        let total = values[rel[0].0];
        let parts: u64 = rel[1..].iter().map(|&(c, _)| values[c]).sum();
        total == parts
    });
    let found = ranges::ranges(rels, &withheld, &values, &targets, rule.min_count, !adds_up);
    for &p in &targets {
        prop_assert!(
            found.wide(p, rule.min_count),
            "primary cell {} ({} contributors) ranges over [{:?}, {:?}], narrower than {}: {:?}",
            p,
            cells[p].count,
            found.lo[p],
            found.hi[p],
            rule.min_count,
            status
        );
    }
    Ok(())
}

/// A subset of two or more of `parts` (withheld siblings, so their
/// contributors are distinct people) holding 1 to `min_count - 1`
/// contributors whose sum the solver can derive; single cells are the
/// solver's `determined`.
fn small_derivable_group(
    solver: &Solver,
    parts: &[usize],
    cells: &[CellInput],
    min_count: u64,
) -> Option<Vec<usize>> {
    assert!(parts.len() <= MAX_GROUP_PARTS, "{} parts", parts.len());
    (1u32..1 << parts.len())
        .filter(|mask| mask.count_ones() >= 2)
        .map(|mask| {
            (0..parts.len())
                .filter(|k| mask & (1 << k) != 0)
                .map(|k| parts[k])
                .collect::<Vec<usize>>()
        })
        .find(|group| {
            let people: u64 = group.iter().map(|&c| cells[c].count).sum();
            (1..min_count).contains(&people) && solver.derivable(group)
        })
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

/// Depth of each unit: 0 for a root.
fn depths(h: &Hierarchy) -> Vec<usize> {
    (0..h.len())
        .map(|mut u| {
            let mut d = 0;
            while let Some(p) = h.parent[u] {
                u = p;
                d += 1;
            }
            d
        })
        .collect()
}

/// Cells withheld by policy: none, scattered cells, or whole row levels
/// (as a node withholds a geography level it does not share).
fn policy(shape: &TableShape) -> impl Strategy<Value = Vec<bool>> {
    let n = shape.cell_count();
    let nc = shape.cols.len();
    let depth = depths(&shape.rows);
    prop_oneof![
        3 => Just(vec![false; n]),
        1 => prop::collection::vec(prop::bool::weighted(0.15), n),
        2 => prop::collection::vec(prop::bool::weighted(0.35), 4).prop_map(move |levels| {
            (0..n).map(|i| levels[depth[i / nc].min(3)]).collect()
        }),
    ]
}

/// Cells for a shape: random counts, or random leaves with totals summed
/// from them (as a real table would be), some withheld by policy.
fn cells(shape: &TableShape) -> impl Strategy<Value = Vec<CellInput>> {
    let n = shape.cell_count();
    let summing = shape.clone();
    (
        any::<bool>(),
        prop::collection::vec(count(), n),
        prop::collection::vec(share(), n),
        policy(shape),
    )
        .prop_map(move |(additive, mut counts, shares, withheld)| {
            if additive {
                counts = summed(&summing, &counts);
            }
            counts
                .into_iter()
                .zip(shares)
                .zip(withheld)
                .map(|((count, max_share), withheld)| CellInput {
                    count,
                    max_share,
                    withheld,
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

/// Mayotte's five EPCI and their communes (INSEE codes 97601..=97617), typed
/// from the official geographic code independently of `geo`.
const MAYOTTE: [(&str, &[u32]); 5] = [
    ("CA du Grand Nord de Mayotte", &[97601, 97602, 97610, 97612]),
    ("CC du Sud", &[97603, 97604, 97606, 97609]),
    ("CC du Centre-Ouest", &[97605, 97613, 97614, 97616, 97617]),
    ("CA de Dembéni-Mamoudzou", &[97607, 97611]),
    ("CC de Petite-Terre", &[97608, 97615]),
];

/// Department (row 0) → 5 EPCI (rows 1..=5) → 17 communes (rows 6..=22, in
/// code order), from [`MAYOTTE`].
fn mayotte() -> Hierarchy {
    let mut parent = vec![None; 23];
    for (e, (_, communes)) in MAYOTTE.iter().enumerate() {
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

    /// The real breakdown by sex: a total and two categories, so one small
    /// category always gives the other away through the row's total.
    #[test]
    fn mayotte_communes_by_sex_leave_no_cell_recoverable(
        (shape, cells, rule) in table(Just(mayotte()), Just(Hierarchy::flat(2)))
    ) {
        prop_assert_eq!(shape.cell_count(), 23 * 3);
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

/// Small tables: an EPCI and two or three communes, by a total and two
/// categories, leaves of 0 to 14 people (a third of them 1 to 4) and
/// totals summed from them.
fn small_table() -> impl Strategy<Value = (TableShape, Vec<CellInput>, Rule)> {
    (2usize..=3)
        .prop_map(|communes| {
            let mut parent = vec![None];
            parent.extend(std::iter::repeat_n(Some(0), communes));
            TableShape::new(Hierarchy::new(parent), Hierarchy::flat(2))
        })
        .prop_flat_map(|shape| {
            let n = shape.cell_count();
            (
                Just(shape),
                prop::collection::vec(prop_oneof![Just(0u64), 1u64..=4, 6u64..=14], n),
                prop_oneof![Just(11u64), 3u64..=10],
            )
        })
        .prop_map(|(shape, leaves, min_count)| {
            let cells = summed(&shape, &leaves)
                .into_iter()
                .map(CellInput::counted)
                .collect();
            let rule = Rule {
                min_count,
                dominance: None,
            };
            (shape, cells, rule)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// What an attacker who knows counts are integers gets: every primary
    /// cell's range over the integer tables consistent with the released
    /// figures, found by exhaustive search (`ranges::integer_range`, no
    /// linear programming), still spans `min_count`. The real range
    /// checked above contains it; here the two coincide (these tables'
    /// relations are totally unimodular), and the search proves it.
    #[test]
    fn small_tables_keep_every_primary_cells_integer_range_wide(
        (shape, cells, rule) in small_table()
    ) {
        check(&shape, &cells, &rule)?;
        let status = protect(&shape, &cells, &rule)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let withheld: Vec<bool> = status.iter().map(|s| s.is_suppressed()).collect();
        let values: Vec<u64> = cells.iter().map(|c| c.count).collect();
        let rels = relations(&shape.rows.parent, &shape.cols.parent);
        // No cell of a non-negative table exceeds its grand total.
        let cap = (values[0] + rule.min_count) as i64;
        for p in (0..cells.len()).filter(|&p| {
            matches!(status[p], CellStatus::Primary(_)) && cells[p].count > 0
        }) {
            let found = ranges::integer_wide(&rels, &withheld, &values, p, rule.min_count, cap);
            prop_assert!(
                found.is_ok(),
                "cell {} ({} contributors) takes only the integers {:?}: {:?}",
                p, values[p], found, status
            );
        }
    }
}

#[test]
fn mayotte_copy_agrees_with_the_production_geography() {
    let parent = mayotte().parent;
    let under = |e: usize| (6..23).filter(|&u| parent[u] == Some(e)).count();
    assert_eq!(
        [under(1), under(2), under(3), under(4), under(5)],
        [4, 4, 5, 2, 2]
    );
    assert!((1..=5).all(|e| parent[e] == Some(0)) && parent[0].is_none());
    // The production geography, in the node's row order: the department,
    // the EPCI in `geo::EPCIS` order, the communes in `geo::COMMUNES` order.
    let mut production = vec![None];
    production.extend(geo::EPCIS.iter().map(|_| Some(0)));
    production.extend(geo::COMMUNES.iter().map(|c| Some(1 + c.epci)));
    assert_eq!(Hierarchy::new(production), mayotte());
    for (e, (name, _)) in MAYOTTE.iter().enumerate() {
        assert_eq!(geo::EPCIS[e].name, *name);
    }
    for (i, commune) in geo::COMMUNES.iter().enumerate() {
        assert_eq!(commune.code, (97601 + i).to_string());
    }
}

/// The 23-row × 11-column table (ten categories and their total), on 200
/// tables from a fixed seed. Its speed is measured by
/// `cargo bench -p passerelle-protocol --bench protect` (BENCHMARKS.md).
#[test]
fn mayotte_by_ten_categories_leaves_no_cell_recoverable() {
    let shape = TableShape::new(mayotte(), Hierarchy::flat(10));
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..200 {
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
        check(&shape, &cells, &Rule::default()).unwrap();
    }
}
