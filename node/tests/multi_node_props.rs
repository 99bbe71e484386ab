//! Property tests of one dataset provided by two institutions: each node
//! answers the total, by sex and by age band under its own linked
//! protection, the hub composes the sums with the production composition
//! (`passerelle_provenance::compose`), and the strongest insider, one
//! institution that knows every one of its own cells, reads the published
//! sums.
//!
//! Checked, with the independent solver of
//! `protocol/tests/disclosure_props/solver.rs` over the other institution's
//! linked table (its relations written from the definition):
//!
//! - every released sum has each institution's part at 0 or at least the
//!   threshold, so "the sum minus my part" never exposes a small cell (the
//!   two-institution dominance case);
//! - what the insider learns of the other institution (the sum minus its
//!   own part, at every released place of every level) determines none of
//!   the other institution's withheld cells, nor the sum of a small group
//!   of them, and leaves every small cell of the other a feasible range
//!   (non-negative reals, exact, the test's own simplex) at least the
//!   threshold wide;
//! - the answers of each node to the three breakdowns agree on the total.

#[allow(dead_code)]
#[path = "../../protocol/tests/disclosure_props/solver.rs"]
mod solver;

#[allow(dead_code)]
#[path = "../../protocol/tests/disclosure_props/ranges.rs"]
mod ranges;

use std::collections::{BTreeMap, HashMap};

use passerelle_config::dataset::{
    DatasetConfig, DatasetKind, DimensionConfig, DimensionKind, PolicyConfig, ShareConfig,
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
use passerelle_provenance::{
    compose::{compose, Status},
    formula::{Formula, Term},
};
use proptest::prelude::*;
use solver::{linked_relations, Solver, P};

const MIN: u64 = 11;
const BANDS: usize = 3;
const PERIOD: Period = Period::Year(2025);

fn dataset() -> DatasetConfig {
    DatasetConfig {
        name: "accompagnement".into(),
        title: None,
        kind: DatasetKind::Records,
        commune: "c".into(),
        period: "p".into(),
        count_column: None,
        dimensions: vec![
            DimensionConfig {
                column: "sexe".into(),
                kind: DimensionKind::Sex,
                values: vec![],
            },
            DimensionConfig {
                column: "tranche_age".into(),
                kind: DimensionKind::AgeBand,
                values: vec!["0-24".into(), "25-59".into(), "60+".into()],
            },
        ],
        measures: vec![],
        require_validation: false,
        drop_folder: None,
    }
}

fn policy() -> PolicyConfig {
    PolicyConfig {
        min_cell: MIN,
        dominance: None,
        rounding: 0,
        share: vec![ShareConfig {
            dataset: "accompagnement".into(),
            by: vec!["sexe".into(), "tranche_age".into()],
            measures: vec![],
            levels: Level::ALL.to_vec(),
        }],
    }
}

/// `joint[commune][sex * BANDS + band]`: people of one institution.
type Joint = Vec<Vec<u64>>;

fn cube(joint: &Joint) -> Cube {
    let mut map = HashMap::new();
    for (commune, combos) in joint.iter().enumerate() {
        for (k, &n) in combos.iter().enumerate() {
            if n > 0 {
                let key = CellKey {
                    commune: commune as u8,
                    period: PERIOD,
                    dims: vec![(k / BANDS) as u16, (k % BANDS) as u16],
                };
                map.insert(
                    key,
                    CellAgg {
                        count: n,
                        sums: vec![],
                        maxes: vec![],
                    },
                );
            }
        }
    }
    Cube::from_map(vec!["sexe".into(), "tranche_age".into()], vec![], map)
}

/// Row of a unit in the node's order: department, EPCI, communes.
fn row_of(level: Level, code: &str) -> usize {
    match level {
        Level::Department => 0,
        Level::Epci => 1 + geo::EPCIS.iter().position(|e| e.siren == code).unwrap(),
        Level::Commune => {
            1 + geo::EPCIS.len() + geo::COMMUNES.iter().position(|c| c.code == code).unwrap()
        }
    }
}

fn rows() -> Vec<Option<usize>> {
    let mut parent = vec![None];
    parent.extend(geo::EPCIS.iter().map(|_| Some(0)));
    parent.extend(geo::COMMUNES.iter().map(|c| Some(1 + c.epci)));
    parent
}

/// The linked table's true counts (total, F, M, three bands), computed
/// here from the joint data.
fn margins(joint: &Joint) -> Vec<u64> {
    let parent = rows();
    let nc = 1 + 2 + BANDS;
    let mut out = vec![0u64; parent.len() * nc];
    for (commune, combos) in joint.iter().enumerate() {
        let mut row = Some(1 + geo::EPCIS.len() + commune);
        while let Some(r) = row {
            for (k, &n) in combos.iter().enumerate() {
                out[r * nc] += n;
                out[r * nc + 1 + k / BANDS] += n;
                out[r * nc + 3 + k % BANDS] += n;
            }
            row = parent[r];
        }
    }
    out
}

fn ask(joint: &Joint, by: Option<&str>) -> AggregateAnswer {
    let q = AggregateQuery {
        dataset: "accompagnement".into(),
        measure: Measure::Count,
        periods: vec![PERIOD],
        by: by.map(String::from),
    };
    answer(&q, &[dataset()], &policy(), &[cube(joint)], None).unwrap()
}

fn count() -> impl Strategy<Value = u64> {
    prop_oneof![5 => Just(0u64), 3 => 1u64..=6, 2 => 7u64..=60]
}

fn joint() -> impl Strategy<Value = Joint> {
    prop::collection::vec(
        prop::collection::vec(count(), 2 * BANDS),
        geo::COMMUNES.len(),
    )
}

/// Whether a released total of `a` agrees across its three answers.
fn totals(a: &AggregateAnswer) -> Vec<(String, CellValue)> {
    a.cells
        .iter()
        .filter(|c| c.category.is_none())
        .map(|c| (c.code.clone(), c.value))
        .collect()
}

fn check(a: &Joint, b: &Joint) -> Result<(), TestCaseError> {
    let answers_a = [
        ask(a, None),
        ask(a, Some("sexe")),
        ask(a, Some("tranche_age")),
    ];
    let answers_b = [
        ask(b, None),
        ask(b, Some("sexe")),
        ask(b, Some("tranche_age")),
    ];
    for answers in [&answers_a, &answers_b] {
        prop_assert_eq!(totals(&answers[0]), totals(&answers[1]));
        prop_assert_eq!(totals(&answers[0]), totals(&answers[2]));
    }
    // The hub composes the total from both institutions' answers.
    let mut gathered = BTreeMap::new();
    gathered.insert(
        ("accompagnement".to_string(), Measure::Count),
        vec![answers_a[0].clone(), answers_b[0].clone()],
    );
    let published = compose(
        &Formula::Sum(vec![Term::Count("accompagnement".into())]),
        0,
        &gathered,
    );
    let (ma, mb) = (margins(a), margins(b));
    let nc = 1 + 2 + BANDS;
    // The withheld cells of B's linked table: B released none of them to
    // anyone but the hub; what the insider A knows of B is the published
    // sum minus its own part at each released place.
    let mut known_b = vec![false; mb.len()];
    for cell in published.iter().filter(|c| c.status == Status::Released) {
        let i = row_of(cell.level, &cell.code) * nc;
        let value = cell.value.unwrap_or(f64::NAN);
        prop_assert_eq!(value, (ma[i] + mb[i]) as f64, "a published sum is exact");
        for (who, part) in [("A", ma[i]), ("B", mb[i])] {
            prop_assert!(
                part == 0 || part >= MIN,
                "{} has {} people in released sum {:?}",
                who,
                part,
                cell
            );
        }
        known_b[i] = true;
    }
    let withheld: Vec<bool> = known_b.iter().map(|k| !k).collect();
    let relations = linked_relations(&rows(), &[2, BANDS]);
    let solver = Solver::over(relations.clone(), &withheld);
    let small = |c: usize| (1..MIN).contains(&mb[c]);
    let exposed: Vec<usize> = solver
        .determined()
        .into_iter()
        .filter(|&c| small(c))
        .collect();
    prop_assert!(
        exposed.is_empty(),
        "A recovers B's small cells {:?}",
        exposed
    );
    // What the insider can narrow B's small cells to, from B's figures it
    // can work out (which add up with B's true table).
    let targets: Vec<usize> = (0..mb.len()).filter(|&c| small(c)).collect();
    let found = ranges::ranges(&relations, &withheld, &mb, &targets, MIN, false);
    for &c in &targets {
        prop_assert!(
            found.wide(c, MIN),
            "A narrows B's small cell {} ({} people) to [{:?}, {:?}]",
            c,
            mb[c],
            found.lo[c],
            found.hi[c]
        );
    }
    for rel in &relations {
        let parts: Vec<usize> = rel
            .iter()
            .filter(|&&(c, k)| k == P - 1 && withheld[c] && mb[c] > 0 && mb[c] < MIN)
            .map(|&(c, _)| c)
            .collect();
        for x in 0..parts.len() {
            for y in x + 1..parts.len() {
                let pair = [parts[x], parts[y]];
                let people = mb[pair[0]] + mb[pair[1]];
                prop_assert!(
                    !((1..MIN).contains(&people) && solver.derivable(&pair)),
                    "A derives B's small pair {:?}",
                    pair
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    #[test]
    fn two_institutions_summed_expose_no_small_cell_of_either((a, b) in (joint(), joint())) {
        check(&a, &b)?;
        check(&b, &a)?;
    }
}

/// The case the brief names: a sum of two where one is the reader's. A
/// commune where A has 40 people and B 4 is never published, though the
/// sum (44) is above the threshold: B's 4 never leaves B.
#[test]
fn a_sum_with_one_small_part_is_not_published() {
    let mut a: Joint = vec![vec![0; 2 * BANDS]; geo::COMMUNES.len()];
    let mut b = a.clone();
    for commune in 0..geo::COMMUNES.len() {
        a[commune][1] = 40;
        b[commune][4] = 30;
    }
    b[10][4] = 4;
    let mut gathered = BTreeMap::new();
    gathered.insert(
        ("accompagnement".to_string(), Measure::Count),
        vec![ask(&a, None), ask(&b, None)],
    );
    let published = compose(
        &Formula::Sum(vec![Term::Count("accompagnement".into())]),
        0,
        &gathered,
    );
    let mamoudzou = published
        .iter()
        .find(|c| c.level == Level::Commune && c.code == geo::COMMUNES[10].code)
        .unwrap();
    assert_eq!(mamoudzou.status, Status::Suppressed);
    check(&a, &b).unwrap();
    check(&b, &a).unwrap();
}
