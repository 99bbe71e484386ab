//! Datasets a node holds and the policy under which it shares them, as
//! declared in `node.toml`.
//!
//! ```toml
//! [[datasets]]
//! name = "rsa"
//! kind = "records"            # one row per person or event; or "cells"
//! commune = "code_commune"    # column with the INSEE code
//! period = "periode"          # column with 2024, 2024-T3 or 2024-09
//! require_validation = true   # a second person validates each batch
//! [[datasets.dimensions]]
//! column = "sexe"
//! kind = "sex"                # values F and M
//! [[datasets.dimensions]]
//! column = "tranche_age"
//! kind = "category"
//! values = ["moins de 25 ans", "25-49 ans", "50 ans et plus"]
//! [[datasets.measures]]
//! name = "montant"
//! column = "montant_verse"
//!
//! [policy]
//! min_cell = 11
//! [[policy.share]]
//! dataset = "rsa"
//! by = ["sexe"]
//! measures = ["montant"]
//! ```

use std::collections::HashSet;

use passerelle_protocol::geo::Level;
use serde::{Deserialize, Serialize};

use crate::error::{Problem, Problems};

/// A declared dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    /// Name used in queries: lower-case letters, digits and `_`.
    pub name: String,
    /// A short description for people.
    #[serde(default)]
    pub title: Option<String>,
    /// One row per person or event, or one row per pre-aggregated cell.
    pub kind: DatasetKind,
    /// Column holding the commune's INSEE code.
    pub commune: String,
    /// Column holding the period.
    pub period: String,
    /// For `cells` datasets: the column holding each cell's count.
    #[serde(default)]
    pub count_column: Option<String>,
    /// Categorical dimensions.
    #[serde(default)]
    pub dimensions: Vec<DimensionConfig>,
    /// Numeric measures (sums).
    #[serde(default)]
    pub measures: Vec<MeasureConfig>,
    /// Batches wait for a second person's validation before use.
    #[serde(default)]
    pub require_validation: bool,
    /// A watched folder: a CSV file dropped there is imported as a batch,
    /// then moved to `done/` or `rejected/` (with its error report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_folder: Option<std::path::PathBuf>,
}

/// Row model of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatasetKind {
    /// One row per person or event.
    Records,
    /// One row per pre-aggregated cell, with a count column.
    Cells,
}

/// A categorical dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DimensionConfig {
    /// Column name in the CSV file, and the dimension's name in queries.
    pub column: String,
    /// What the values are.
    pub kind: DimensionKind,
    /// Allowed values (for `age_band` and `category`).
    #[serde(default)]
    pub values: Vec<String>,
}

/// Kinds of categorical dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DimensionKind {
    /// `F` or `M`.
    Sex,
    /// Age bands, as listed in `values`.
    AgeBand,
    /// Any closed list of values.
    Category,
}

/// The values `sex` dimensions accept.
pub const SEX_VALUES: [&str; 2] = ["F", "M"];

impl DimensionConfig {
    /// The values this dimension accepts, in order.
    pub fn allowed(&self) -> Vec<String> {
        match self.kind {
            DimensionKind::Sex => SEX_VALUES.iter().map(|s| s.to_string()).collect(),
            _ => self.values.clone(),
        }
    }
}

/// A numeric measure: the sum of a column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureConfig {
    /// Name in queries.
    pub name: String,
    /// Column in the CSV file.
    pub column: String,
}

/// What the node shares, and the disclosure rule it applies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// Minimum number of contributors of a released cell.
    pub min_cell: u64,
    /// For sums: withhold a cell where one contributor exceeds this share.
    pub dominance: Option<f64>,
    /// Round released counts to a multiple of this (0: no rounding).
    pub rounding: u64,
    /// Datasets shared, and how. Nothing is shared unless listed here.
    pub share: Vec<ShareConfig>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        Self {
            min_cell: 11,
            dominance: Some(0.85),
            rounding: 0,
            share: Vec::new(),
        }
    }
}

/// How one dataset is shared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareConfig {
    /// Dataset name.
    pub dataset: String,
    /// Dimensions a query may break the dataset down by (one at a time).
    #[serde(default)]
    pub by: Vec<String>,
    /// Sum measures shared (the count is always shared).
    #[serde(default)]
    pub measures: Vec<String>,
    /// Geography levels answered.
    #[serde(default = "all_levels")]
    pub levels: Vec<Level>,
}

fn all_levels() -> Vec<Level> {
    Level::ALL.to_vec()
}

fn plain_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Cross-key rules of datasets and policy, all reported.
pub fn problems(datasets: &[DatasetConfig], policy: &PolicyConfig) -> Vec<Problem> {
    let mut out = Problems::default();
    let mut names = HashSet::new();
    for (i, d) in datasets.iter().enumerate() {
        let key = |k: &str| format!("datasets[{i}].{k}");
        dataset_name(&mut out, &key, d, &mut names);
        count_column(&mut out, &key, d);
        if d.drop_folder.as_ref().is_some_and(|f| !f.is_absolute()) {
            out.bad(
                key("drop_folder"),
                "is not an absolute path",
                "give the folder's full path, e.g. \"/srv/depot/rsa\"",
            );
        }
        let mut columns = HashSet::from([d.commune.as_str(), d.period.as_str()]);
        if columns.len() < 2 {
            out.bad(
                key("period"),
                "is the same column as commune",
                "name two different columns",
            );
        }
        for (j, dim) in d.dimensions.iter().enumerate() {
            dimension(
                &mut out,
                &|k| key(&format!("dimensions[{j}].{k}")),
                dim,
                &mut columns,
            );
        }
        for (j, m) in d.measures.iter().enumerate() {
            measure(
                &mut out,
                &|k| key(&format!("measures[{j}].{k}")),
                m,
                &mut columns,
            );
        }
    }
    disclosure_rule(&mut out, policy);
    for (i, s) in policy.share.iter().enumerate() {
        share(&mut out, &|k| format!("policy.share[{i}].{k}"), s, datasets);
    }
    out.into_vec()
}

/// The full key of a field of the entry being checked.
type Key<'k> = dyn Fn(&str) -> String + 'k;

/// A dataset's name: plain, and not taken by an earlier dataset.
fn dataset_name(out: &mut Problems, key: &Key, d: &DatasetConfig, names: &mut HashSet<String>) {
    if !plain_name(&d.name) {
        out.bad(
            key("name"),
            format!("{:?} is not a plain name", d.name),
            "use lower-case letters, digits and _, e.g. rsa_foyers",
        );
    }
    if !names.insert(d.name.clone()) {
        out.bad(
            key("name"),
            format!("dataset {:?} is declared twice", d.name),
            "give each dataset its own name",
        );
    }
}

/// A count column exactly when the dataset is made of cells.
fn count_column(out: &mut Problems, key: &Key, d: &DatasetConfig) {
    match (d.kind, &d.count_column) {
        (DatasetKind::Cells, None) => out.bad(
            key("count_column"),
            "is missing for a cells dataset",
            "name the column holding each cell's count",
        ),
        (DatasetKind::Records, Some(_)) => out.bad(
            key("count_column"),
            "is only for cells datasets",
            "remove it, or set kind = \"cells\"",
        ),
        _ => {}
    }
}

/// A dimension: its own column, and values that fit its kind, each once.
fn dimension<'a>(
    out: &mut Problems,
    key: &Key,
    dim: &'a DimensionConfig,
    columns: &mut HashSet<&'a str>,
) {
    if !columns.insert(dim.column.as_str()) {
        out.bad(
            key("column"),
            format!("column {:?} is used twice", dim.column),
            "each column plays one role",
        );
    }
    match dim.kind {
        DimensionKind::Sex if !dim.values.is_empty() => out.bad(
            key("values"),
            "sex dimensions take F and M; values are not configurable",
            "remove values",
        ),
        DimensionKind::AgeBand | DimensionKind::Category if dim.values.len() < 2 => out.bad(
            key("values"),
            "needs at least two values",
            "list the allowed values",
        ),
        _ => {}
    }
    let distinct: HashSet<&String> = dim.values.iter().collect();
    if distinct.len() != dim.values.len() {
        out.bad(key("values"), "lists a value twice", "remove the duplicate");
    }
}

/// A measure: a plain name and its own column.
fn measure<'a>(
    out: &mut Problems,
    key: &Key,
    m: &'a MeasureConfig,
    columns: &mut HashSet<&'a str>,
) {
    if !plain_name(&m.name) {
        out.bad(
            key("name"),
            format!("{:?} is not a plain name", m.name),
            "use lower-case letters, digits and _",
        );
    }
    if !columns.insert(m.column.as_str()) {
        out.bad(
            key("column"),
            format!("column {:?} is used twice", m.column),
            "each column plays one role",
        );
    }
}

/// The policy's threshold and dominance share within their safe bounds.
fn disclosure_rule(out: &mut Problems, policy: &PolicyConfig) {
    if policy.min_cell < 2 {
        out.bad(
            "policy.min_cell",
            format!("is {}: every person would be visible", policy.min_cell),
            "use 11, the default",
        );
    }
    if let Some(share) = policy.dominance {
        if !(0.5..1.0).contains(&share) {
            out.bad(
                "policy.dominance",
                format!("is {share}; it must be between 0.5 and 1"),
                "use 0.85 (INSEE's rule)",
            );
        }
    }
}

/// A share entry: a declared dataset, its own dimensions and measures, and
/// at least one level.
fn share(out: &mut Problems, key: &Key, s: &ShareConfig, datasets: &[DatasetConfig]) {
    let Some(d) = datasets.iter().find(|d| d.name == s.dataset) else {
        out.bad(
            key("dataset"),
            format!("no dataset named {:?} is declared", s.dataset),
            "declare it under [[datasets]] or fix the name",
        );
        return;
    };
    for by in &s.by {
        if !d.dimensions.iter().any(|dim| &dim.column == by) {
            out.bad(
                key("by"),
                format!("dataset {} has no dimension {by:?}", d.name),
                "list dimensions declared for the dataset",
            );
        }
    }
    for m in &s.measures {
        if !d.measures.iter().any(|dm| &dm.name == m) {
            out.bad(
                key("measures"),
                format!("dataset {} has no measure {m:?}", d.name),
                "list measures declared for the dataset",
            );
        }
    }
    if s.levels.is_empty() {
        out.bad(
            key("levels"),
            "is empty: nothing would be answered",
            "list commune, epci and/or department",
        );
    }
}
