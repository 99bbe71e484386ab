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
