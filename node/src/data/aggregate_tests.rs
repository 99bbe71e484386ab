use std::collections::HashMap;

use passerelle_config::dataset::{
    DatasetKind, DimensionConfig, DimensionKind, MeasureConfig, ShareConfig,
};

use super::*;
use crate::data::cube::{CellAgg, CellKey};

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

/// Per commune index: (women, men) counts, each contributing 100.
fn cube(counts: &[(usize, u64, u64)]) -> Cube {
    let mut map = HashMap::new();
    for &(commune, f, m) in counts {
        for (dim, n) in [(0u16, f), (1, m)] {
            if n > 0 {
                let key = CellKey {
                    commune: commune as u8,
                    period: Period::Year(2024),
                    dims: vec![dim],
                };
                map.insert(
                    key,
                    CellAgg {
                        count: n,
                        sums: vec![100.0 * n as f64],
                        maxes: vec![100.0],
                    },
                );
            }
        }
    }
    Cube::from_map(vec!["sexe".into()], vec!["montant".into()], map)
}

fn q(measure: Measure, by: Option<&str>) -> AggregateQuery {
    AggregateQuery {
        dataset: "rsa".into(),
        measure,
        periods: vec![],
        by: by.map(String::from),
    }
}

#[test]
fn queries_outside_policy_are_refused_with_a_reason() {
    let ds = [dataset()];
    let p = policy(Level::ALL.to_vec(), 0);
    let c = [cube(&[(10, 50, 50)])];
    let mut other = q(Measure::Count, None);
    other.dataset = "aah".into();
    for (query, why) in [
        (other, "dataset \"aah\" is not shared"),
        (
            q(Measure::Sum("autre".into()), None),
            "measure \"autre\" of rsa is not shared",
        ),
        (
            q(Measure::Count, Some("age")),
            "breakdown of rsa by \"age\" is not shared",
        ),
    ] {
        match answer(&query, &ds, &p, &c, None) {
            Err(Refusal::OutOfPolicy(r)) => assert!(r.contains(why), "{r}"),
            other => panic!("{other:?}"),
        }
    }
    let mut unshared = p.clone();
    unshared.share.clear();
    assert!(matches!(
        answer(&q(Measure::Count, None), &ds, &unshared, &c, None),
        Err(Refusal::OutOfPolicy(_))
    ));
}

#[test]
fn small_cells_never_carry_a_value_and_protection_holds() {
    let ds = [dataset()];
    // Acoua (0) has 3 women; Bandraboua (1) 40/40; Mamoudzou (10) 100/90.
    let c = [cube(&[(0, 3, 20), (1, 40, 40), (10, 100, 90)])];
    let a = answer(
        &q(Measure::Count, Some("sexe")),
        &ds,
        &policy(Level::ALL.to_vec(), 0),
        &c,
        None,
    )
    .unwrap();
    for cell in &a.cells {
        if let CellValue::Released(v) = cell.value {
            assert!(v == 0.0 || v >= 11.0, "released small cell {cell:?}");
        }
    }
    let acoua_f = a
        .cells
        .iter()
        .find(|c| c.code == "97601" && c.category.as_deref() == Some("F"))
        .unwrap();
    assert_eq!(acoua_f.value, CellValue::Suppressed(Suppression::Threshold));
    // Its complement in the same relation must be hidden too.
    let acoua_m = a
        .cells
        .iter()
        .find(|c| c.code == "97601" && c.category.as_deref() == Some("M"))
        .unwrap();
    let acoua_t = a
        .cells
        .iter()
        .find(|c| c.code == "97601" && c.category.is_none())
        .unwrap();
    assert!(
        matches!(acoua_m.value, CellValue::Suppressed(_))
            || matches!(acoua_t.value, CellValue::Suppressed(_)),
        "{acoua_m:?} {acoua_t:?}"
    );
    let mam = a
        .cells
        .iter()
        .find(|c| c.code == "97611" && c.category.is_none())
        .unwrap();
    assert_eq!(mam.value, CellValue::Released(190.0));
    assert_eq!(a.cells.len(), 23 * 3);
}

#[test]
fn withheld_levels_are_absent_and_rounding_applies() {
    let ds = [dataset()];
    let c = [cube(&[(1, 42, 40), (10, 103, 90)])];
    let a = answer(
        &q(Measure::Count, None),
        &ds,
        &policy(vec![Level::Epci, Level::Department], 5),
        &c,
        None,
    )
    .unwrap();
    assert!(a.cells.iter().all(|c| c.level != Level::Commune));
    assert_eq!(a.cells.len(), 6);
    let dept = a
        .cells
        .iter()
        .find(|c| c.level == Level::Department)
        .unwrap();
    assert_eq!(dept.value, CellValue::Released(275.0)); // 275 rounds to 275
    let nord = a.cells.iter().find(|c| c.code == "200060465").unwrap();
    assert_eq!(nord.value, CellValue::Released(80.0)); // 82 rounds to 80
    assert_eq!(a.rule.rounding, Some(5));
}

#[test]
fn sums_follow_the_dominance_rule() {
    let ds = [dataset()];
    let mut map = HashMap::new();
    let key = CellKey {
        commune: 10,
        period: Period::Year(2024),
        dims: vec![0],
    };
    // 20 contributors but one holds 90 % of the amount.
    map.insert(
        key,
        CellAgg {
            count: 20,
            sums: vec![1000.0],
            maxes: vec![900.0],
        },
    );
    let c = [Cube::from_map(
        vec!["sexe".into()],
        vec!["montant".into()],
        map,
    )];
    let a = answer(
        &q(Measure::Sum("montant".into()), None),
        &ds,
        &policy(Level::ALL.to_vec(), 0),
        &c,
        None,
    )
    .unwrap();
    let mam = a.cells.iter().find(|c| c.code == "97611").unwrap();
    assert_eq!(mam.value, CellValue::Suppressed(Suppression::Dominance));
}

/// The dataset with a second breakdown, age bands, both shared.
fn two_breakdowns() -> (DatasetConfig, PolicyConfig) {
    let mut d = dataset();
    d.dimensions.push(DimensionConfig {
        column: "tranche_age".into(),
        kind: DimensionKind::AgeBand,
        values: vec!["0-24".into(), "25-59".into(), "60+".into()],
    });
    let mut p = policy(Level::ALL.to_vec(), 0);
    p.share[0].by.push("tranche_age".into());
    (d, p)
}

/// `(commune, sex, age band, count)` cells.
fn cube2(cells: &[(u8, u16, u16, u64)]) -> Cube {
    let mut map = HashMap::new();
    for &(commune, sex, age, n) in cells {
        map.insert(
            CellKey {
                commune,
                period: Period::Year(2024),
                dims: vec![sex, age],
            },
            CellAgg {
                count: n,
                sums: vec![100.0 * n as f64],
                maxes: vec![100.0],
            },
        );
    }
    Cube::from_map(
        vec!["sexe".into(), "tranche_age".into()],
        vec!["montant".into()],
        map,
    )
}

#[test]
fn the_total_and_every_breakdown_carry_one_joint_decision() {
    let (d, p) = two_breakdowns();
    let ds = [d];
    // Acoua (0): 4 women aged 60+ among 30 people; Bandraboua (1) and
    // Mamoudzou (10) comfortable, with a small band in Mamoudzou.
    let c = [cube2(&[
        (0, 0, 2, 4),
        (0, 1, 1, 26),
        (1, 0, 1, 40),
        (1, 1, 0, 35),
        (10, 0, 0, 60),
        (10, 1, 1, 80),
        (10, 1, 2, 5),
    ])];
    let ask = |by: Option<&str>| answer(&q(Measure::Count, by), &ds, &p, &c, None).unwrap();
    let (total, sex, age) = (ask(None), ask(Some("sexe")), ask(Some("tranche_age")));
    assert_eq!(total.cells.len(), 23);
    assert_eq!(sex.cells.len(), 23 * 3);
    assert_eq!(age.cells.len(), 23 * 4);
    assert_eq!(age.categories, vec!["0-24", "25-59", "60+"]);
    // The total column is the same decision in all three answers.
    let totals = |a: &AggregateAnswer| -> Vec<AnswerCell> {
        a.cells
            .iter()
            .filter(|c| c.category.is_none())
            .cloned()
            .collect()
    };
    assert_eq!(totals(&total), totals(&sex));
    assert_eq!(totals(&total), totals(&age));
    // Acoua's 60+ band is small; neither it nor Acoua's women may be
    // released, and released values are never small.
    let acoua = |a: &AggregateAnswer, cat: &str| {
        a.cells
            .iter()
            .find(|c| c.code == "97601" && c.category.as_deref() == Some(cat))
            .unwrap()
            .value
    };
    assert_eq!(
        acoua(&age, "60+"),
        CellValue::Suppressed(Suppression::Threshold)
    );
    assert_eq!(
        acoua(&sex, "F"),
        CellValue::Suppressed(Suppression::Threshold)
    );
    for a in [&total, &sex, &age] {
        for cell in &a.cells {
            if let CellValue::Released(v) = cell.value {
                assert!(v == 0.0 || v >= 11.0, "released small cell {cell:?}");
            }
        }
    }
    // Joint check over everything released in the three answers: the
    // linked table's withheld cells (released in none) are not recoverable.
    let shape = LinkedShape::new(geography(), vec![2, 3]);
    let nc = shape.column_count();
    let column = |cat: &Option<String>| match cat.as_deref() {
        None => 0,
        Some("F") => 1,
        Some("M") => 2,
        Some("0-24") => 3,
        Some("25-59") => 4,
        Some(_) => 5,
    };
    let mut withheld = vec![true; shape.cell_count()];
    for a in [&total, &sex, &age] {
        for cell in &a.cells {
            let row = (0..23).find(|&r| row_unit(r).1 == cell.code).unwrap();
            if matches!(cell.value, CellValue::Released(_)) {
                withheld[row * nc + column(&cell.category)] = false;
            }
        }
    }
    assert!(withheld.iter().any(|w| *w));
    assert_eq!(
        disclosure::recoverable_linked(&shape, &withheld).unwrap(),
        Vec::<usize>::new()
    );
}
