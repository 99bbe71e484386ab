use passerelle_config::dataset::{
    DatasetConfig, DatasetKind, DimensionConfig, DimensionKind, MeasureConfig,
};

use super::*;

fn dataset(kind: DatasetKind) -> DatasetConfig {
    DatasetConfig {
        name: "rsa".into(),
        title: None,
        kind,
        commune: "commune".into(),
        period: "periode".into(),
        count_column: (kind == DatasetKind::Cells).then(|| "nombre".into()),
        dimensions: vec![
            DimensionConfig {
                column: "sexe".into(),
                kind: DimensionKind::Sex,
                values: vec![],
            },
            DimensionConfig {
                column: "age".into(),
                kind: DimensionKind::AgeBand,
                values: vec!["jeune".into(), "adulte".into()],
            },
        ],
        measures: vec![MeasureConfig {
            name: "montant".into(),
            column: "montant".into(),
        }],
        require_validation: false,
        drop_folder: None,
    }
}

fn read(text: &[u8], kind: DatasetKind) -> Result<Imported, ImportError> {
    read_csv(text, &dataset(kind), &mut |_| {})
}

#[test]
fn aggregates_records_into_cells() {
    let csv = b"commune,periode,sexe,age,montant,nom_ignore\n\
97611,2024-T1,F,jeune,100,x\n\
97611,2024-T1,F,jeune,300,y\n\
97611,2024-T1,M,adulte,50,z\n\
97601,2024-T2,F,adulte,10.5,w\n";
    let got = read(csv, DatasetKind::Records).unwrap();
    assert_eq!(got.rows, 4);
    assert_eq!(got.cube.records(), 4);
    assert_eq!(got.cube.cells.len(), 3);
    let mam = got
        .cube
        .cells
        .iter()
        .find(|(k, _)| k.commune == 10 && k.dims == vec![0, 0])
        .unwrap();
    assert_eq!(
        (mam.1.count, mam.1.sums[0], mam.1.maxes[0]),
        (2, 400.0, 300.0)
    );
    assert_eq!(got.cube.periods().len(), 2);
}

#[test]
fn every_bad_row_is_reported_with_line_column_and_reason() {
    let csv = b"commune,periode,sexe,age,montant\n\
97611,2024-T1,F,jeune,100\n\
97699,2024-T1,F,jeune,100\n\
97611,2024-T5,F,jeune,100\n\
97611,2024-T1,X,jeune,100\n\
97611,2024-T1,F,vieux,100\n\
97611,2024-T1,F,jeune,cent\n\
97611,2024-T1,F\n\
97611,2024-T1,F,jeune,\xff\xfe\n";
    let Err(ImportError::Rows { issues, total }) = read(csv, DatasetKind::Records) else {
        panic!("accepted")
    };
    assert_eq!(total, 7);
    let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
    let expect = [
        "line 3, column commune: unknown commune code \"97699\"",
        "line 4, column periode: invalid period \"2024-T5\"",
        "line 5, column sexe: value \"X\" is not allowed (allowed: F, M)",
        "line 6, column age: value \"vieux\" is not allowed (allowed: jeune, adulte)",
        "line 7, column montant: \"cent\" is not a non-negative number",
        "line 8: expected 5 columns, found 3",
        "line 9, column montant: not valid UTF-8",
    ];
    for (got, want) in text.iter().zip(expect) {
        assert!(got.starts_with(want), "{got:?} should start with {want:?}");
    }
}

#[test]
fn header_problems_and_empty_files_are_refused() {
    let err = read(
        b"commune,periode,sexe\n97611,2024,F\n",
        DatasetKind::Records,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("missing column(s) age, montant") && err.contains("commune, periode, sexe"),
        "{err}"
    );
    assert_eq!(
        read(b"commune,periode,sexe,age,montant\n", DatasetKind::Records).unwrap_err(),
        ImportError::Empty
    );
}

#[test]
fn spreadsheet_exports_are_read() {
    // UTF-8 BOM, semicolons, decimal comma, CRLF line ends.
    let csv = "\u{feff}commune;periode;sexe;age;montant;nombre\r\n97611;2024-09;F;jeune;12,5;4\r\n97611;2024-09;M;jeune;2;7\r\n";
    let got = read(csv.as_bytes(), DatasetKind::Cells).unwrap();
    assert_eq!(got.cube.records(), 11);
    assert_eq!(
        got.cube.cells.iter().map(|(_, c)| c.sums[0]).sum::<f64>(),
        14.5
    );
    let err = read(
        b"commune,periode,sexe,age,montant,nombre\n97611,2024,F,jeune,1,-3\n",
        DatasetKind::Cells,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("column nombre: \"-3\" is not a whole number"),
        "{err}"
    );
}
