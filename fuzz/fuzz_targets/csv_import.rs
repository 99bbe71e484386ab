//! The node's CSV importer on any bytes, for a dataset of records and one of
//! pre-aggregated cells (the first byte picks): a cube or a list of bad
//! rows, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use passerelle_config::dataset::{
    DatasetConfig, DatasetKind, DimensionConfig, DimensionKind, MeasureConfig,
};
use passerelle_node::data::import::{read_csv, ImportError, MAX_REPORTED};

/// The dataset the seeds are written for: the shape of the tests' `rsa`.
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

fuzz_target!(|data: &[u8]| {
    let Some((&kind, text)) = data.split_first() else {
        return;
    };
    let kind = if kind % 2 == 0 {
        DatasetKind::Records
    } else {
        DatasetKind::Cells
    };
    match read_csv(text, &dataset(kind), &mut |_| {}) {
        Ok(imported) => {
            let _ = (imported.cube.periods(), imported.cube.records());
        }
        Err(ImportError::Rows { issues, total }) => {
            assert!(issues.len() <= MAX_REPORTED && issues.len() <= total);
        }
        Err(e) => drop(e.to_string()),
    }
});
