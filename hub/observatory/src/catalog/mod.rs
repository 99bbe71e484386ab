//! The indicator catalog: what the observatory publishes and how each
//! figure is composed from node datasets.
//!
//! Entries are TOML (`[[indicator]]` tables). The catalog shipped with the
//! hub is built in; `catalog_dir` in `hub.toml` adds files that may also
//! replace shipped entries by id. A bad entry is refused at start with the
//! file, the entry and why.
//!
//! A formula combines operands; each operand is a list of terms that are
//! added: `dataset` (its count), `dataset.measure` (a sum), or
//! `ref:population` (INSEE population 2017, built in).
//!
//! ## Partial publication
//!
//! A result is published only when every node that provides a dataset of
//! the formula answered; otherwise it is kept as a draft (shown to
//! partners with its coverage) and the last complete result stays
//! published. An entry may opt in to publishing partial results:
//!
//! ```toml
//! partial = { allowed = true, min_coverage = 0.75 }
//! ```
//!
//! `min_coverage` (required when `allowed = true`, between 0 and 1) is the
//! share of expected contributions (one per providing node and dataset)
//! that must have answered; below it the result stays a draft. A published
//! partial result states its coverage. Only one-sided formulas (`sum`,
//! `territories`) may allow it: a `difference`, `ratio` or `rate` with a
//! partial side (a numerator missing a provider over a complete
//! denominator, or the reverse) is wrong, not just incomplete, so it is
//! always a draft and such an entry is refused. Without `partial`, partial
//! results are never published.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod entry;
mod shipped;

use entry::{entry, Entry};

/// The themes of the observatory, in display order: id and French label.
pub const THEMES: &[(&str, &str)] = &[
    ("demographie", "Démographie"),
    ("logement-hebergement", "Logement et hébergement"),
    ("handicap-autonomie", "Handicap et perte d'autonomie"),
    ("personnes-agees", "Personnes âgées"),
    ("emploi", "Emploi"),
    (
        "insertion-formation",
        "Insertion et formation professionnelle",
    ),
    ("activite", "Activité des dispositifs d'accompagnement"),
];

/// The French label of a theme id ("Autre" for an unknown one).
pub fn theme_label(id: &str) -> &'static str {
    THEMES
        .iter()
        .find(|(t, _)| *t == id)
        .map(|(_, l)| *l)
        .unwrap_or("Autre")
}

pub use passerelle_provenance::formula::{round, Formula, Term, MAX_DECIMALS};

/// A formula in plain French, for the public.
pub fn describe_fr(formula: &Formula) -> String {
    let term = |t: &Term| match t {
        Term::Count(d) => format!("effectif « {d} »"),
        Term::Sum(d, m) => format!("total de « {m} » ({d})"),
        Term::Population => "population municipale 2017 (INSEE)".to_string(),
    };
    let list = |t: &[Term]| t.iter().map(term).collect::<Vec<_>>().join(" + ");
    match formula {
        Formula::Sum(a) => list(a),
        Formula::Territories(a) => {
            format!("nombre de communes où {} est supérieur à zéro", list(a))
        }
        Formula::Difference(a, b) => format!("{} moins {}", list(a), list(b)),
        Formula::Ratio(a, b) => format!("{} divisé par {}", list(a), list(b)),
        Formula::Rate(a, b, per) => format!(
            "{} pour {} de {}",
            list(a),
            passerelle_hub_core::french::number(*per, 0),
            list(b)
        ),
    }
}

/// Whether an entry's result may be published while some providers did
/// not answer (see the module's "Partial publication").
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub enum PartialPolicy {
    /// Partial results stay drafts (the default).
    #[default]
    NotAllowed,
    /// Partial results are published when at least this share (0 to 1) of
    /// the expected contributions answered.
    Allowed {
        /// The least share of expected contributions.
        min_coverage: f64,
    },
}

/// An indicator as published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Indicator {
    /// Identifier (lower-case, digits, `-`).
    pub id: String,
    /// French title.
    pub title: String,
    /// Theme id (see [`THEMES`]).
    pub theme: String,
    /// Unit, in French.
    pub unit: String,
    /// Definition, in plain French.
    pub definition: String,
    /// Source institutions.
    pub sources: Vec<String>,
    /// Update frequency, in French.
    pub frequency: String,
    /// The computation.
    pub formula: Formula,
    /// Decimals of every published value: results are rounded to them
    /// when composed, and every output writes them.
    pub decimals: u8,
    /// Whether partial results may be published.
    pub partial: PartialPolicy,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    indicator: Vec<Entry>,
    /// Programmes, read by [`crate::programme`].
    #[serde(default, rename = "programme")]
    _programme: Vec<toml::Value>,
}

/// A catalog that could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("indicator catalog {file}: {entry}: {why}")]
pub struct CatalogError {
    /// File (or `built-in`).
    pub file: String,
    /// Entry id or position.
    pub entry: String,
    /// What is wrong.
    pub why: String,
}

/// Parses one catalog file's text.
///
/// # Errors
/// The first bad entry, or unreadable TOML.
pub fn parse(file: &str, text: &str) -> Result<Vec<Indicator>, CatalogError> {
    let parsed: File = toml::from_str(text).map_err(|e| CatalogError {
        file: file.into(),
        entry: e
            .span()
            .map(|s| {
                format!(
                    "line {}",
                    text[..s.start.min(text.len())].matches('\n').count() + 1
                )
            })
            .unwrap_or_else(|| "file".into()),
        why: e.message().to_string(),
    })?;
    parsed
        .indicator
        .into_iter()
        .map(|e| entry(file, e))
        .collect()
}

/// The catalog in force: shipped entries, then those of `dir` (by file
/// name order), a later entry replacing an earlier one with the same id.
///
/// # Errors
/// The first bad file or entry, or duplicate ids within one file.
pub fn load(dir: Option<&Path>) -> Result<Vec<Indicator>, CatalogError> {
    let mut all = Vec::new();
    for (name, text) in shipped::FILES {
        merge(&mut all, parse(&format!("built-in {name}"), text)?, name)?;
    }
    if let Some(dir) = dir {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| CatalogError {
                file: dir.display().to_string(),
                entry: "folder".into(),
                why: e.to_string(),
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        for f in files {
            let name = f.display().to_string();
            let text = std::fs::read_to_string(&f).map_err(|e| CatalogError {
                file: name.clone(),
                entry: "file".into(),
                why: e.to_string(),
            })?;
            merge(&mut all, parse(&name, &text)?, &name)?;
        }
    }
    Ok(all)
}

fn merge(all: &mut Vec<Indicator>, new: Vec<Indicator>, file: &str) -> Result<(), CatalogError> {
    let mut seen = std::collections::HashSet::new();
    for ind in new {
        if !seen.insert(ind.id.clone()) {
            return Err(CatalogError {
                file: file.into(),
                entry: format!("indicator {:?}", ind.id),
                why: "id used twice in this file".into(),
            });
        }
        match all.iter_mut().find(|i| i.id == ind.id) {
            Some(existing) => *existing = ind,
            None => all.push(ind),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
