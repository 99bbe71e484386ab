//! Property tests of joint disclosure control over linked tables: one
//! dataset published in total and by several breakdowns (sex, age band…),
//! at every level of a geography, for several periods.
//!
//! The data are drawn as a full cross (finest unit × one category of every
//! breakdown), and every published cell is a margin of it, as at a node.
//! After [`protect_linked`], the independent solver of
//! `disclosure_props/solver.rs` (its own relations, written here from the
//! definition of a linked table, and its own elimination over a prime
//! field) proves, over everything released for every period together:
//!
//! - no withheld cell is determined by the released cells of all the
//!   tables cut from the linked one (the total alone, each breakdown with
//!   its total, at every level);
//! - no group of withheld parts of the same total (communes of an EPCI,
//!   categories of one breakdown) holding 1 to `min_count - 1`
//!   contributors has a sum that can be derived;
//! - every primary cell describing somebody keeps a feasible range (over
//!   the reals, given every released figure of every table, every
//!   relation and non-negativity) of `floor(hi) - ceil(lo) >= min_count`,
//!   computed exactly by the test's own rational simplex
//!   (`disclosure_props/ranges.rs`): it can be neither pinned nor shown to
//!   be under the threshold.
//!
//! A last test shows the solver has teeth: protecting the same tables one
//! by one (as the node did before linked tables) leaves cells recoverable
//! once they are combined.

#[allow(dead_code)]
#[path = "disclosure_props/solver.rs"]
mod solver;

#[allow(dead_code)]
#[path = "disclosure_props/ranges.rs"]
mod ranges;

use passerelle_protocol::disclosure::{
    protect, protect_linked, recoverable_linked, CellInput, CellStatus, Hierarchy, LinkedShape,
    PrimaryReason, Rule, TableShape,
};
use proptest::prelude::*;
use solver::{linked_relations, Solver, P};

/// Withheld sibling groups of at most this many cells are all checked.
const MAX_GROUP_PARTS: usize = 12;

/// Department (row 0) → 5 EPCI (rows 1..=5) → 17 communes (rows 6..=22),
/// as in `disclosure_props.rs` (which checks it against `geo`).
fn mayotte() -> Hierarchy {
    const EPCI_OF_COMMUNE: [usize; 17] = [0, 0, 1, 1, 2, 1, 3, 4, 1, 0, 3, 0, 2, 2, 4, 2, 2];
    let mut parent = vec![None; 23];
    for e in 0..5 {
        parent[1 + e] = Some(0);
    }
    for (c, e) in EPCI_OF_COMMUNE.iter().enumerate() {
        parent[6 + c] = Some(1 + e);
    }
    Hierarchy::new(parent)
}

/// Leaf rows under row `r` (itself when it is a leaf).
fn leaves(parent: &[Option<usize>], r: usize) -> Vec<usize> {
    let kids: Vec<usize> = (0..parent.len())
        .filter(|&k| parent[k] == Some(r))
        .collect();
    if kids.is_empty() {
        vec![r]
    } else {
        kids.into_iter().flat_map(|k| leaves(parent, k)).collect()
    }
}

/// The linked table's counts from the full cross: `joint[leaf][combo]`,
/// where a combo picks one category of every breakdown (mixed radix).
fn margins(shape: &LinkedShape, joint: &[Vec<u64>]) -> Vec<u64> {
    let nc = shape.column_count();
    let rows = shape.rows.len();
    let combos = joint.first().map_or(0, Vec::len);
    // Category of breakdown b in combo k.
    let pick = |k: usize, b: usize| -> usize {
        let inner: usize = shape.breakdowns[b + 1..].iter().product();
        (k / inner.max(1)) % shape.breakdowns[b]
    };
    let mut out = vec![0u64; rows * nc];
    for r in 0..rows {
        for leaf in leaves(&shape.rows.parent, r) {
            for k in 0..combos {
                let n = joint[leaf][k];
                out[r * nc] += n;
                let mut first = 1;
                for b in 0..shape.breakdowns.len() {
                    out[r * nc + first + pick(k, b)] += n;
                    first += shape.breakdowns[b];
                }
            }
        }
    }
    out
}

/// Many zeros and small counts, some comfortable ones.
fn count() -> impl Strategy<Value = u64> {
    prop_oneof![4 => Just(0u64), 4 => 1u64..=6, 2 => 7u64..=120]
}

fn rule() -> impl Strategy<Value = Rule> {
    prop_oneof![4 => Just(11u64), 1 => 2u64..=15].prop_map(|min_count| Rule {
        min_count,
        dominance: None,
    })
}

/// Shares of the largest contributor for some cells, so dominance plays.
fn shares(n: usize) -> impl Strategy<Value = Vec<Option<f64>>> {
    prop::collection::vec(
        prop_oneof![5 => Just(None), 1 => (0.0f64..=1.0).prop_map(Some)],
        n,
    )
}

/// A linked table for `periods` periods: the shape, each period's cells and
/// the rule. Breakdowns: 1 to 3, of 2 to 5 categories (the first is often
/// sex's two).
fn linked(periods: usize) -> impl Strategy<Value = (LinkedShape, Vec<Vec<CellInput>>, Rule)> {
    prop::collection::vec(2usize..=5, 1..=3)
        .prop_map(|mut b| {
            if b.len() > 1 {
                b[0] = 2;
            }
            LinkedShape::new(mayotte(), b)
        })
        .prop_flat_map(move |shape| {
            let combos: usize = shape.breakdowns.iter().product();
            let joint = prop::collection::vec(prop::collection::vec(count(), combos), 23);
            let period = (joint, shares(shape.cell_count()));
            (
                Just(shape),
                prop::collection::vec(period, periods),
                rule(),
                any::<bool>(),
            )
        })
        .prop_map(|(shape, periods, mut rule, dominance)| {
            if dominance {
                rule.dominance = Some(0.85);
            }
            let cells = periods
                .into_iter()
                .map(|(joint, shares)| {
                    margins(&shape, &joint)
                        .into_iter()
                        .zip(shares)
                        .map(|(count, max_share)| CellInput {
                            count,
                            max_share,
                            withheld: false,
                        })
                        .collect()
                })
                .collect();
            (shape, cells, rule)
        })
}

/// Checks the joint guarantee over every period's linked table at once.
fn check(
    shape: &LinkedShape,
    periods: &[Vec<CellInput>],
    rule: &Rule,
) -> Result<(), TestCaseError> {
    let n = shape.cell_count();
    let mut withheld = Vec::new();
    let mut relations = Vec::new();
    let mut inputs = Vec::new();
    let mut primary = Vec::new();
    let one = linked_relations(&shape.rows.parent, &shape.breakdowns);
    for (p, cells) in periods.iter().enumerate() {
        let status =
            protect_linked(shape, cells, rule).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(status.len(), n);
        for (i, (s, c)) in status.iter().zip(cells).enumerate() {
            if (1..rule.min_count).contains(&c.count) {
                prop_assert_eq!(
                    *s,
                    CellStatus::Primary(PrimaryReason::Threshold),
                    "cell {}",
                    i
                );
            }
        }
        withheld.extend(status.iter().map(|s| s.is_suppressed()));
        primary.extend(
            status
                .iter()
                .zip(cells)
                .map(|(s, c)| matches!(s, CellStatus::Primary(_)) && c.count > 0),
        );
        inputs.extend(cells.iter().copied());
        // Period p's cells sit at p * n.. in the joint system.
        relations.extend(
            one.iter()
                .map(|rel| rel.iter().map(|&(c, k)| (p * n + c, k)).collect::<Vec<_>>()),
        );
    }
    let solver = Solver::over(relations.clone(), &withheld);
    let exposed = solver.determined();
    prop_assert!(exposed.is_empty(), "recoverable cells {:?}", exposed);
    for rel in &relations {
        let parts: Vec<usize> = rel
            .iter()
            .filter(|&&(_, k)| k == P - 1)
            .map(|&(c, _)| c)
            .filter(|&c| withheld[c])
            .collect();
        prop_assert!(parts.len() <= MAX_GROUP_PARTS);
        let small = (1u32..1 << parts.len())
            .filter(|mask| mask.count_ones() >= 2)
            .map(|mask| {
                (0..parts.len())
                    .filter(|k| mask & (1 << k) != 0)
                    .map(|k| parts[k])
                    .collect::<Vec<usize>>()
            })
            .find(|group| {
                let people: u64 = group.iter().map(|&c| inputs[c].count).sum();
                (1..rule.min_count).contains(&people) && solver.derivable(group)
            });
        prop_assert!(
            small.is_none(),
            "withheld cells {:?} hold 1 to {} contributors and their sum can be derived",
            small,
            rule.min_count - 1
        );
    }
    // The attacker's view: the released figures themselves (the margins
    // add up, so the true table is one of the points).
    let values: Vec<u64> = inputs.iter().map(|c| c.count).collect();
    let targets: Vec<usize> = (0..values.len()).filter(|&i| primary[i]).collect();
    let found = ranges::ranges(
        &relations,
        &withheld,
        &values,
        &targets,
        rule.min_count,
        false,
    );
    for &p in &targets {
        prop_assert!(
            found.wide(p, rule.min_count),
            "primary cell {} (period {}, {} contributors) ranges over [{:?}, {:?}], narrower than {}",
            p % n,
            p / n,
            values[p],
            found.lo[p],
            found.hi[p],
            rule.min_count
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    /// The total, two or three breakdowns, three levels, three periods.
    #[test]
    fn linked_tables_over_three_levels_and_periods_leave_no_cell_recoverable(
        (shape, periods, rule) in linked(3)
    ) {
        check(&shape, &periods, &rule)?;
    }

    #[test]
    fn recoverable_linked_agrees_with_the_independent_solver(
        (shape, mask) in prop::collection::vec(1usize..=4, 0..=3)
            .prop_map(|b| LinkedShape::new(mayotte(), b))
            .prop_flat_map(|shape| {
                let n = shape.cell_count();
                (Just(shape), prop::collection::vec(prop::bool::weighted(0.4), n))
            })
    ) {
        let ours = recoverable_linked(&shape, &mask)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let theirs = Solver::over(linked_relations(&shape.rows.parent, &shape.breakdowns), &mask)
            .determined();
        prop_assert_eq!(ours, theirs);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Small linked tables (an EPCI and two communes, by total, sex and a
    /// two-way breakdown), where the integer tables consistent with the
    /// released figures can be searched exhaustively
    /// (`ranges::integer_wide`, no linear programming): every primary
    /// cell still takes values `min_count` apart. Linked relations need
    /// not be totally unimodular, so this is what the real ranges checked
    /// above cannot show by themselves.
    #[test]
    fn small_linked_tables_keep_every_primary_cells_integer_range_wide(
        (joint, min_count) in (
            prop::collection::vec(
                prop::collection::vec(prop_oneof![Just(0u64), 1u64..=3, 5u64..=10], 4),
                2,
            ),
            prop_oneof![Just(11u64), 3u64..=10],
        )
    ) {
        let shape = LinkedShape::new(Hierarchy::new(vec![None, Some(0), Some(0)]), vec![2, 2]);
        let mut full = vec![vec![0u64; 4]];
        full.extend(joint);
        let values = margins(&shape, &full);
        let cells: Vec<CellInput> = values.iter().map(|&n| CellInput::counted(n)).collect();
        let rule = Rule { min_count, dominance: None };
        check(&shape, std::slice::from_ref(&cells), &rule)?;
        let status = protect_linked(&shape, &cells, &rule)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let withheld: Vec<bool> = status.iter().map(|s| s.is_suppressed()).collect();
        let relations = linked_relations(&shape.rows.parent, &shape.breakdowns);
        // No cell of a non-negative table exceeds its grand total.
        let cap = (values[0] + min_count) as i64;
        for p in (0..cells.len()).filter(|&p| {
            matches!(status[p], CellStatus::Primary(_)) && values[p] > 0
        }) {
            let found = ranges::integer_wide(&relations, &withheld, &values, p, min_count, cap);
            prop_assert!(
                found.is_ok(),
                "cell {} ({} contributors) takes only the integers {:?}: {:?}",
                p, values[p], found, status
            );
        }
    }
}

/// A linked table with no breakdown is the plain table of its total: the
/// same decision as [`protect`].
#[test]
fn a_linked_table_without_breakdown_is_the_plain_table() {
    let shape = LinkedShape::new(mayotte(), vec![]);
    let plain = TableShape::new(mayotte(), Hierarchy::flat(0));
    let counts = [
        300, 80, 60, 70, 50, 40, 3, 20, 57, 30, 15, 15, 30, 9, 21, 30, 20, 10, 0, 4, 36, 20, 10,
    ];
    let cells: Vec<CellInput> = counts.iter().map(|&n| CellInput::counted(n)).collect();
    let rule = Rule::default();
    assert_eq!(
        protect_linked(&shape, &cells, &rule).unwrap(),
        protect(&plain, &cells, &rule).unwrap()
    );
}

/// Protecting the total, the table by sex and the table by age band one by
/// one, as separate tables, lets the solver recover cells by combining
/// them; the linked decision on the same data never does. Fixed seed.
#[test]
fn tables_protected_one_by_one_leak_where_linked_ones_do_not() {
    let shape = LinkedShape::new(mayotte(), vec![2, 3]);
    let nc = shape.column_count();
    let one = linked_relations(&shape.rows.parent, &shape.breakdowns);
    let rule = Rule::default();
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut leaks = 0;
    for _ in 0..200 {
        let joint: Vec<Vec<u64>> = (0..23)
            .map(|_| {
                (0..6)
                    .map(|_| match next() % 10 {
                        0..=3 => 0,
                        4..=7 => 1 + next() % 6,
                        _ => 7 + next() % 60,
                    })
                    .collect()
            })
            .collect();
        let counts = margins(&shape, &joint);
        let cells: Vec<CellInput> = counts.iter().map(|&n| CellInput::counted(n)).collect();
        let joint_mask: Vec<bool> = protect_linked(&shape, &cells, &rule)
            .unwrap()
            .iter()
            .map(|s| s.is_suppressed())
            .collect();
        assert!(Solver::over(one.clone(), &joint_mask)
            .determined()
            .is_empty());
        // One by one: the total alone, total + sex, total + age band. A
        // cell is released if any of the three tables releases it.
        let mut separate = vec![true; counts.len()];
        for cols in [vec![0], vec![0, 1, 2], vec![0, 3, 4, 5]] {
            let cut = TableShape::new(mayotte(), Hierarchy::flat(cols.len() - 1));
            let cut_cells: Vec<CellInput> = (0..23)
                .flat_map(|r| cols.iter().map(move |&c| r * nc + c))
                .map(|i| cells[i])
                .collect();
            let status = protect(&cut, &cut_cells, &rule).unwrap();
            for r in 0..23 {
                for (k, &c) in cols.iter().enumerate() {
                    if status[r * cols.len() + k].is_released() {
                        separate[r * nc + c] = false;
                    }
                }
            }
        }
        if !Solver::over(one.clone(), &separate).determined().is_empty() {
            leaks += 1;
        }
    }
    assert!(
        leaks > 0,
        "separate protection never leaked: the test has no teeth"
    );
}
