//! Unit tests of the group rule: small tables whose answer is worked out
//! by hand in the comments.

use super::super::{
    protect, recoverable, CellInput, CellStatus, Hierarchy, PrimaryReason, Rule, TableShape,
};
use super::super::{protect::Space, shape::Relations};

const THRESHOLD: CellStatus = CellStatus::Primary(PrimaryReason::Threshold);

fn counts(values: &[u64]) -> Vec<CellInput> {
    values.iter().map(|&n| CellInput::counted(n)).collect()
}

fn suppressed(status: &[CellStatus]) -> Vec<bool> {
    status.iter().map(|s| s.is_suppressed()).collect()
}

/// Contributors behind the withheld parts of the relation `total = parts`,
/// which anyone computes as the total minus the released parts; `None` when
/// the total itself is withheld.
fn derived_group(
    status: &[CellStatus],
    cells: &[CellInput],
    total: usize,
    parts: &[usize],
) -> Option<u64> {
    status[total].is_released().then(|| {
        parts
            .iter()
            .filter(|&&p| status[p].is_suppressed())
            .map(|&p| cells[p].count)
            .sum()
    })
}

#[test]
fn a_zero_is_not_taken_as_complement_when_it_would_leave_a_small_group() {
    // EPCI 0 (34) with communes 4 (small), 0 and 30. Withholding the zero
    // would protect each commune but give away 4 + 0 = 34 - 30 = 4.
    let shape = TableShape::new(
        Hierarchy::new(vec![None, Some(0), Some(0), Some(0)]),
        Hierarchy::flat(0),
    );
    let cells = counts(&[34, 4, 0, 30]);
    let rule = Rule::default();
    let status = protect(&shape, &cells, &rule).unwrap();
    assert_eq!(status[1], THRESHOLD);
    assert!(status[2].is_released(), "{status:?}");
    assert_eq!(status[3], CellStatus::Secondary, "{status:?}");
    if let Some(g) = derived_group(&status, &cells, 0, &[1, 2, 3]) {
        assert!(g == 0 || g >= rule.min_count, "group {g}: {status:?}");
    }
    assert!(recoverable(&shape, &suppressed(&status))
        .unwrap()
        .is_empty());
}

#[test]
fn two_small_cells_that_hide_each_other_take_a_third() {
    // Communes 4 and 5 are both small: neither is recoverable, but together
    // they are 40 - 31 = 9 people. The group rule withholds commune 31.
    let shape = TableShape::new(
        Hierarchy::new(vec![None, Some(0), Some(0), Some(0)]),
        Hierarchy::flat(0),
    );
    let cells = counts(&[40, 4, 5, 31]);
    let status = protect(&shape, &cells, &Rule::default()).unwrap();
    assert_eq!(
        status,
        vec![
            CellStatus::Released,
            THRESHOLD,
            THRESHOLD,
            CellStatus::Secondary
        ]
    );
    // The derived group is now every commune: 4 + 5 + 31.
    assert_eq!(
        derived_group(&status, &cells, 0, &[1, 2, 3]),
        Some(4 + 5 + 31)
    );
}

#[test]
fn the_group_rule_takes_the_smallest_part_that_is_enough() {
    // Communes 3 and 4 are small (7 together); 0 is no help; of 40, 12 and
    // 12, the first 12 is the smallest that brings the group to 11.
    let shape = TableShape::new(
        Hierarchy::new(vec![
            None,
            Some(0),
            Some(0),
            Some(0),
            Some(0),
            Some(0),
            Some(0),
        ]),
        Hierarchy::flat(0),
    );
    let cells = counts(&[71, 3, 4, 0, 40, 12, 12]);
    let status = protect(&shape, &cells, &Rule::default()).unwrap();
    let withheld: Vec<usize> = (0..7).filter(|&i| status[i].is_suppressed()).collect();
    assert_eq!(withheld, vec![1, 2, 5], "{status:?}");
}

#[test]
fn the_group_rule_withholds_the_total_when_no_part_can_help() {
    // Counts that do not add up (as from separate sources): the released
    // parts are all zero, so only the total can hide the group of 4 + 5.
    let shape = TableShape::new(Hierarchy::flat(0), Hierarchy::flat(3));
    let cells = counts(&[20, 4, 5, 0]);
    let status = protect(&shape, &cells, &Rule::default()).unwrap();
    assert_eq!(
        status,
        vec![
            CellStatus::Secondary,
            THRESHOLD,
            THRESHOLD,
            CellStatus::Released
        ]
    );
}

#[test]
fn the_group_rule_applies_along_both_axes() {
    // An EPCI and three communes, crossed with a total and three categories.
    // Four small cells form a block that hides each of them (every relation
    // holds two), but each row and each column of the block gives its pair
    // away: 4 + 5, 3 + 2, 4 + 3, 5 + 2. Each pair takes one more cell.
    let shape = TableShape::new(
        Hierarchy::new(vec![None, Some(0), Some(0), Some(0)]),
        Hierarchy::flat(3),
    );
    #[rustfmt::skip]
    let values = [
        135, 27, 27, 81,
         40,  4,  5, 31,
         35,  3,  2, 30,
         60, 20, 20, 20,
    ];
    let cells = counts(&values);
    let rule = Rule::default();
    let status = protect(&shape, &cells, &rule).unwrap();
    // The four small cells, and for each pair one released part of its
    // line: the smallest that brings the pair to 11 is the last cell of
    // rows 1 and 2 (31, 30: nothing smaller is there) and the last row of
    // columns 1 and 2 (20 each). The withheld cells of column 3 and row 3
    // then hold 61 and 40: no small group is left.
    let withheld: Vec<(usize, usize)> = (0..16)
        .filter(|&i| status[i].is_suppressed())
        .map(|i| (i / 4, i % 4))
        .collect();
    assert_eq!(
        withheld,
        vec![
            (1, 1),
            (1, 2),
            (1, 3),
            (2, 1),
            (2, 2),
            (2, 3),
            (3, 1),
            (3, 2)
        ],
        "{status:?}"
    );
    assert!(recoverable(&shape, &suppressed(&status))
        .unwrap()
        .is_empty());
    for k in 0..4 {
        let row = |c| shape.cell(k, c);
        let col = |r| shape.cell(r, k);
        for (total, parts) in [
            (row(0), [row(1), row(2), row(3)]),
            (col(0), [col(1), col(2), col(3)]),
        ] {
            if let Some(g) = derived_group(&status, &cells, total, &parts) {
                assert!(g == 0 || g >= rule.min_count, "line {k}: {status:?}");
            }
        }
    }
}

#[test]
fn a_group_given_away_by_crossing_relations_takes_another_cell() {
    // Found by the property test. An EPCI (row 0) and two communes, by a
    // total and six categories; the table adds up. Commune 2 has 1 person
    // in each of categories 1 and 2, both withheld, and its total row is
    // withheld too, so no single relation gives the pair away. But
    // category 1 of the EPCI minus commune 1 (a released 0) and category 2
    // of the EPCI minus commune 1 (a released 11) leave commune 2's pair,
    // and the EPCI row gives categories 1 + 2 (94 - 53 - 14 - 0 - 14 = 13):
    // so the pair is 13 - 0 - 11 = 2 people.
    let shape = TableShape::new(
        Hierarchy::new(vec![None, Some(0), Some(0)]),
        Hierarchy::flat(6),
    );
    #[rustfmt::skip]
    let values = [
        94, 1, 12, 53, 14, 0, 14,
        82, 0, 11, 46, 11, 0, 14,
        12, 1,  1,  7,  3, 0,  0,
    ];
    let cells = counts(&values);
    let status = protect(&shape, &cells, &Rule::default()).unwrap();
    assert!(recoverable(&shape, &suppressed(&status))
        .unwrap()
        .is_empty());
    let pair = [shape.cell(2, 1), shape.cell(2, 2)];
    assert!(pair.iter().all(|&c| status[c] == THRESHOLD), "{status:?}");
    let table = Relations::new(&shape).unwrap();
    let known = Space::new(&table, &suppressed(&status)).unwrap();
    assert_eq!(known.derivable(&pair), Ok(false), "{status:?}");
    // Commune 1's category 2 (11 people) is the nearest released cell with
    // anyone in it: it goes, and category 2 no longer gives the pair away.
    assert_eq!(
        status[shape.cell(1, 2)],
        CellStatus::Secondary,
        "{status:?}"
    );
}
