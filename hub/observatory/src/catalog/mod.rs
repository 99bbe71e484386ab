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
//!
//! ## Themes, audience and reference
//!
//! Themes are declared in `[[theme]]` tables (see [`theme`]); an entry's
//! `theme` must name one, shipped or declared in any file.
//!
//! `audience = "partners"` reserves an indicator to signed-in partners: the
//! public view of the observatory ([`crate::Reader::Public`]) never returns
//! it, so no public page, download, API answer or bundle shows it. The
//! default is `audience = "public"`.
//!
//! `reference = { value = 36.1, label = "France", source = "DREES 2022" }`
//! is a comparison value the operator supplies (a national or overseas
//! average); the territory portrait shows it beside the indicator, marked
//! as supplied by the operator, with its source. Passerelle does not check
//! it.
//!
//! ## Breakdowns
//!
//! `by = ["sexe", "tranche_age"]` asks, besides the total, the same figures
//! broken down by each listed dimension (at most [`MAX_BREAKDOWNS`], named
//! as the nodes' sharing policies name them). Each breakdown is composed
//! like the total, category by category: a cell any node withheld stays
//! withheld. The nodes protect the total and every breakdown they share as
//! one linked table, so publishing them together gives nothing away that
//! one of them hides. Breakdowns apply to formulas over datasets only (not
//! `territories`, not a population term).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod entry;
mod shipped;
pub mod theme;

use entry::{entry, Entry};
pub use theme::Theme;

/// The themes shipped with the hub, in display order: id and French
/// label. Catalog files may add others (see [`theme`]).
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
        Term::Population => "population municipale (INSEE)".to_string(),
        Term::PopulationAged(b) => match b.to {
            None => format!("population de {} ans ou plus (INSEE)", b.from),
            Some(t) => format!("population de {} à {t} ans (INSEE)", b.from),
        },
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

/// The most breakdowns one entry may declare.
pub const MAX_BREAKDOWNS: usize = 4;

/// Who may read an indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Audience {
    /// Everyone (the default).
    #[default]
    Public,
    /// Signed-in partners only: never in public pages, downloads or API.
    Partners,
}

/// A comparison value supplied by the operator (e.g. the national or
/// overseas average), shown with its source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// The value, in the indicator's unit.
    pub value: f64,
    /// What it is, in French (e.g. « France hors Mayotte »).
    pub label: String,
    /// Where it comes from, in French.
    pub source: String,
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
    /// Who may read it.
    #[serde(default)]
    pub audience: Audience,
    /// A comparison value supplied by the operator, if any.
    #[serde(default)]
    pub reference: Option<Reference>,
    /// The dimensions it is also broken down by (see the module's
    /// "Breakdowns"), in display order.
    #[serde(default)]
    pub by: Vec<String>,
}

/// The catalog in force: themes in display order, and indicators.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalog {
    /// Themes, by `order`.
    pub themes: Vec<Theme>,
    /// Indicators.
    pub indicators: Vec<Indicator>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    indicator: Vec<Entry>,
    #[serde(default)]
    theme: Vec<theme::ThemeEntry>,
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

/// Parses one catalog file's text; its entries' themes must be shipped
/// or declared in the same file.
///
/// # Errors
/// The first bad entry, or unreadable TOML.
pub fn parse(file: &str, text: &str) -> Result<Vec<Indicator>, CatalogError> {
    let parsed = parse_file(file, text)?;
    let mut known = theme::shipped();
    theme::merge(&mut known, parsed.themes, file)?;
    parsed
        .entries
        .into_iter()
        .map(|e| entry(file, e, &known))
        .collect()
}

/// One file's themes, checked, and its entries as written (checked once
/// every file's themes are known).
struct Parsed {
    themes: Vec<Theme>,
    entries: Vec<Entry>,
}

fn parse_file(file: &str, text: &str) -> Result<Parsed, CatalogError> {
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
    let themes = parsed
        .theme
        .into_iter()
        .map(|t| theme::theme(file, t))
        .collect::<Result<_, _>>()?;
    Ok(Parsed {
        themes,
        entries: parsed.indicator,
    })
}

/// The indicators in force (see [`load_catalog`]).
///
/// # Errors
/// As [`load_catalog`].
pub fn load(dir: Option<&Path>) -> Result<Vec<Indicator>, CatalogError> {
    load_catalog(dir).map(|c| c.indicators)
}

/// The catalog in force: shipped themes and entries, then those of `dir`
/// (by file name order), a later theme or entry replacing an earlier one
/// with the same id. Every entry's theme is checked once all files are
/// read, so a theme may be declared in its own file (`themes.toml`).
///
/// # Errors
/// The first bad file, theme or entry, duplicate ids within one file, or
/// an entry whose theme nobody declares.
pub fn load_catalog(dir: Option<&Path>) -> Result<Catalog, CatalogError> {
    let mut files: Vec<(String, String)> = shipped::FILES
        .iter()
        .map(|(name, text)| (format!("built-in {name}"), (*text).to_string()))
        .collect();
    if let Some(dir) = dir {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| CatalogError {
                file: dir.display().to_string(),
                entry: "folder".into(),
                why: e.to_string(),
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for f in paths {
            let name = f.display().to_string();
            let text = std::fs::read_to_string(&f).map_err(|e| CatalogError {
                file: name.clone(),
                entry: "file".into(),
                why: e.to_string(),
            })?;
            files.push((name, text));
        }
    }
    let mut themes = theme::shipped();
    let mut parsed = Vec::with_capacity(files.len());
    for (name, text) in &files {
        let p = parse_file(name, text)?;
        theme::merge(&mut themes, p.themes, name)?;
        parsed.push((name, p.entries));
    }
    let mut all = Vec::new();
    for (name, entries) in parsed {
        let inds = entries
            .into_iter()
            .map(|e| entry(name, e, &themes))
            .collect::<Result<Vec<_>, _>>()?;
        merge(&mut all, inds, name)?;
    }
    Ok(Catalog {
        themes,
        indicators: all,
    })
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
#[cfg(test)]
mod themes_tests;
