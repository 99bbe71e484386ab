//! Property tests of a node's aggregate answer on random cubes of
//! Mayotte's communes by sex: the levels the policy does not share never
//! appear, released counts are rounded as declared, and rounding happens
//! after disclosure control, so it changes no decision.
//!
//! Expected values are computed here from the generated counts, not by the
//! node's code: each unit's count is the sum over its communes (EPCI and
//! department membership from `geo`), rounded half up to the base.

use std::collections::HashMap;

use passerelle_config::dataset::{
    DatasetConfig, DatasetKind, DimensionConfig, DimensionKind, MeasureConfig, PolicyConfig,
    ShareConfig,
};
use passerelle_node::data::{
    aggregate::answer,
    cube::{CellAgg, CellKey, Cube},
};
use passerelle_protocol::{
    aggregate::{AggregateAnswer, AggregateQuery, CellValue, Measure},
    geo::{self, Level},
    period::Period,
};
use proptest::prelude::*;

const SEXES: [&str; 2] = ["F", "M"];
const PERIODS: [Period; 2] = [Period::Year(2024), Period::Year(2025)];

fn dataset() -> DatasetConfig {
    DatasetConfig {
        name: "rsa".into(),
        title: None,
        kind: DatasetKind::Records,
        commune: "c".into(),
        period: "p".into(),
        count_column: None,
        dimensions: vec![DimensionConfig {
            column: "sexe".into(),
            kind: DimensionKind::Sex,
            values: vec![],
        }],
        measures: vec![MeasureConfig {
            name: "montant".into(),
            column: "m".into(),
        }],
        require_validation: false,
        drop_folder: None,
    }
}

fn policy(levels: Vec<Level>, rounding: u64) -> PolicyConfig {
    PolicyConfig {
        min_cell: 11,
        dominance: Some(0.85),
        rounding,
        share: vec![ShareConfig {
            dataset: "rsa".into(),
            by: vec!["sexe".into()],
            measures: vec!["montant".into()],
            levels,
        }],
    }
}

/// `counts[period][commune][sex]`: people, each receiving 100.
type Counts = Vec<Vec<[u64; 2]>>;

fn cube(counts: &Counts) -> Cube {
    let mut map = HashMap::new();
    for (p, communes) in counts.iter().enumerate() {
        for (commune, by_sex) in communes.iter().enumerate() {
            for (sex, &n) in by_sex.iter().enumerate() {
                if n > 0 {
                    let key = CellKey {
                        commune: commune as u8,
                        period: PERIODS[p],
                        dims: vec![sex as u16],
                    };
                    let agg = CellAgg {
                        count: n,
                        sums: vec![100.0 * n as f64],
                        maxes: vec![100.0],
                    };
                    map.insert(key, agg);
                }
            }
        }
    }
    Cube::from_map(vec!["sexe".into()], vec!["montant".into()], map)
}

/// People of a unit, a period and a sex (`None`: both), from the counts.
fn truth(counts: &Counts, level: Level, code: &str, p: usize, sex: Option<usize>) -> u64 {
    (0..geo::COMMUNES.len())
        .filter(|&c| geo::parent_code(c, level) == code)
        .flat_map(|c| {
            (0..2)
                .filter(move |s| sex.is_none_or(|x| x == *s))
                .map(move |s| counts[p][c][s])
        })
        .sum()
}

/// `n` rounded to the nearest multiple of `base`, halves up.
fn rounded(n: u64, base: u64) -> u64 {
    if base <= 1 {
        return n;
    }
    let below = n - n % base;
    if 2 * (n % base) >= base {
        below + base
    } else {
        below
    }
}

fn ask(counts: &Counts, measure: Measure, levels: &[Level], rounding: u64) -> AggregateAnswer {
    let query = AggregateQuery {
        dataset: "rsa".into(),
        measure,
        periods: vec![],
        by: Some("sexe".into()),
    };
    let p = policy(levels.to_vec(), rounding);
    answer(&query, &[dataset()], &p, &[cube(counts)], None).expect("an answer")
}

/// Many zeros and small counts, some comfortable ones.
fn counts() -> impl Strategy<Value = Counts> {
    let n = prop_oneof![3 => Just(0u64), 4 => 1u64..=10, 3 => 11u64..=200];
    prop::collection::vec(
        prop::collection::vec([n.clone(), n], geo::COMMUNES.len()),
        PERIODS.len(),
    )
}

fn levels() -> impl Strategy<Value = Vec<Level>> {
    prop::sample::subsequence(Level::ALL.to_vec(), 1..=3)
}

fn rounding() -> impl Strategy<Value = u64> {
    prop::sample::select(vec![0u64, 1, 2, 3, 5, 10])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn answers_hold_shared_levels_only_with_counts_rounded_after_protection(
        counts in counts(), levels in levels(), base in rounding()
    ) {
        let a = ask(&counts, Measure::Count, &levels, base);
        prop_assert_eq!(a.rule.rounding, (base > 1).then_some(base));
        // Every unit of a shared level, for each period, total and sex,
        // once; nothing of a withheld level.
        let expected: usize = levels.iter().map(|&l| geo::codes(l).len()).sum::<usize>()
            * PERIODS.len()
            * (1 + SEXES.len());
        prop_assert_eq!(a.cells.len(), expected);
        prop_assert!(a.cells.iter().all(|c| levels.contains(&c.level)));
        let unrounded = ask(&counts, Measure::Count, &levels, 0);
        prop_assert_eq!(unrounded.cells.len(), a.cells.len());
        for (cell, plain) in a.cells.iter().zip(&unrounded.cells) {
            prop_assert_eq!(
                (cell.level, &cell.code, cell.period, &cell.category),
                (plain.level, &plain.code, plain.period, &plain.category)
            );
            let p = PERIODS.iter().position(|x| *x == cell.period).expect("a period asked");
            let sex = cell.category.as_ref().map(|c| {
                SEXES.iter().position(|s| s == c).expect("a declared sex")
            });
            let n = truth(&counts, cell.level, &cell.code, p, sex);
            match (cell.value, plain.value) {
                (CellValue::Released(v), CellValue::Released(w)) => {
                    prop_assert_eq!(w, n as f64, "{:?}", cell);
                    prop_assert_eq!(v, rounded(n, base) as f64, "{:?}", cell);
                }
                // Rounding decides nothing: the same cells are withheld,
                // for the same reason.
                (CellValue::Suppressed(r), CellValue::Suppressed(s)) => {
                    prop_assert_eq!(r, s, "{:?}", cell);
                }
                (v, w) => prop_assert!(false, "{:?} rounded, {:?} not", v, w),
            }
        }
    }

    #[test]
    fn sums_are_released_exactly_whatever_the_rounding_of_counts(
        counts in counts(), levels in levels(), base in rounding()
    ) {
        let a = ask(&counts, Measure::Sum("montant".into()), &levels, base);
        for cell in &a.cells {
            if let CellValue::Released(v) = cell.value {
                let p = PERIODS.iter().position(|x| *x == cell.period).expect("a period asked");
                let sex = cell.category.as_ref().map(|c| {
                    SEXES.iter().position(|s| s == c).expect("a declared sex")
                });
                let n = truth(&counts, cell.level, &cell.code, p, sex);
                prop_assert_eq!(v, 100.0 * n as f64, "{:?}", cell);
            }
        }
    }
}
