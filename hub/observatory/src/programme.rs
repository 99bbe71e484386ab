//! Social-action programmes and their targets: which activity indicators a
//! programme reports, what it aims at per period, how many staff it has,
//! and the written part of its quarterly report.
//!
//! Programmes are declared by the operator, beside the indicators, in the
//! catalog folder (`catalog_dir` in `hub.toml`), as `[[programme]]` tables:
//!
//! ```toml
//! [[programme]]
//! id = "mediation-mobile"
//! title = "Médiation numérique mobile"
//! institution = "mediation-numerique-976"   # node id of who runs it
//! description = "Accueil itinérant pour l'accès aux droits."
//! indicators = ["personnes-recues", "rendez-vous-tenus"]
//! interventions = "rendez-vous-tenus"        # optional: what a staff member does
//! staff = { "2025-T1" = 4, "2025-T2" = 5 }   # optional: staff per period
//!
//! [[programme.target]]
//! indicator = "personnes-recues"
//! period = "2025-T2"
//! value = 2000
//! ```
//!
//! Targets are the operator's (agreed with the partner in the programme's
//! agreement); the written part is the partner's, entered on the portal by
//! an account of the institution that runs the programme, and kept in the
//! hub's store ([`ObservatorySpace::ProgrammeNotes`]). A programme's
//! figures are the published indicators', with their disclosure control:
//! this module adds no figure of its own beyond interventions per staff
//! member, computed from a published value.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use passerelle_hub_core::store::{Keyspace, ObservatorySpace, Store, StoreError};
use passerelle_protocol::{ids::NodeId, period::Period};
use serde::{Deserialize, Serialize};

use crate::catalog::{CatalogError, Indicator};

/// Most programmes a catalog may declare.
pub const MAX_PROGRAMMES: usize = 200;
/// Most targets (and staff periods) one programme may declare.
pub const MAX_TARGETS: usize = 400;
/// Longest written part, in characters.
pub const NOTE_MAX_CHARS: usize = 6_000;
/// Longest title or description, in characters.
const TEXT_MAX_CHARS: usize = 2_000;

/// A programme as declared.
#[derive(Debug, Clone, PartialEq)]
pub struct Programme {
    /// Identifier (lower-case, digits, `-`).
    pub id: String,
    /// French title.
    pub title: String,
    /// The institution that runs it (its node id): its partner accounts
    /// write the report's written part.
    pub institution: NodeId,
    /// What it does, in plain French.
    pub description: String,
    /// The indicators it reports, in display order.
    pub indicators: Vec<String>,
    /// The indicator counting its interventions, if any: divided by the
    /// staff count of a period where one is declared.
    pub interventions: Option<String>,
    /// Staff count per period.
    pub staff: BTreeMap<Period, u32>,
    /// Targets, per indicator and period.
    pub targets: Vec<Target>,
}

/// A figure a programme aims at for an indicator in a period.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Indicator id.
    pub indicator: String,
    /// Period.
    pub period: Period,
    /// Value aimed at, in the indicator's unit.
    pub value: f64,
}

impl Programme {
    /// The target for an indicator in a period, if declared.
    pub fn target(&self, indicator: &str, period: Period) -> Option<f64> {
        self.targets
            .iter()
            .find(|t| t.indicator == indicator && t.period == period)
            .map(|t| t.value)
    }

    /// The periods that have a target or a staff count, in order.
    pub fn periods(&self) -> Vec<Period> {
        let mut p: Vec<Period> = self
            .targets
            .iter()
            .map(|t| t.period)
            .chain(self.staff.keys().copied())
            .collect();
        p.sort();
        p.dedup();
        p
    }
}

/// Interventions per staff member: `interventions` over `staff`, or
/// `None` without a staff count (or with zero staff).
pub fn per_staff(interventions: f64, staff: Option<u32>) -> Option<f64> {
    staff
        .filter(|s| *s > 0)
        .map(|s| interventions / f64::from(s))
}

#[derive(Debug, Deserialize)]
struct File {
    #[serde(default)]
    programme: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    id: String,
    title: String,
    institution: String,
    #[serde(default)]
    description: String,
    indicators: Vec<String>,
    #[serde(default)]
    interventions: Option<String>,
    #[serde(default)]
    staff: BTreeMap<String, u32>,
    #[serde(default)]
    target: Vec<TargetEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetEntry {
    indicator: String,
    period: String,
    value: f64,
}

/// Parses the `[[programme]]` tables of one catalog file, checked against
/// the catalog's indicators (other tables are the catalog's business).
///
/// # Errors
/// The first bad programme, or unreadable TOML.
pub fn parse(
    file: &str,
    text: &str,
    catalog: &[Indicator],
) -> Result<Vec<Programme>, CatalogError> {
    let parsed: File = toml::from_str(text).map_err(|e| CatalogError {
        file: file.into(),
        entry: "file".into(),
        why: e.message().to_string(),
    })?;
    parsed
        .programme
        .into_iter()
        .map(|e| {
            let id = e.id.clone();
            checked(e, catalog).map_err(|why| CatalogError {
                file: file.into(),
                entry: format!("programme {id:?}"),
                why,
            })
        })
        .collect()
}

fn checked(e: Entry, catalog: &[Indicator]) -> Result<Programme, String> {
    let id_ok = !e.id.is_empty()
        && e.id.len() <= 64
        && e.id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !id_ok {
        return Err("id: lower-case letters, digits and '-' only (at most 64)".into());
    }
    if e.title.trim().is_empty() || e.title.chars().count() > TEXT_MAX_CHARS {
        return Err("title: required, at most 2000 characters".into());
    }
    if e.description.chars().count() > TEXT_MAX_CHARS {
        return Err("description: at most 2000 characters".into());
    }
    let institution = NodeId::new(&e.institution)
        .map_err(|_| format!("institution: not a node id: {:?}", e.institution))?;
    let known = |i: &str| catalog.iter().any(|c| c.id == i);
    if e.indicators.is_empty() {
        return Err("indicators: at least one".into());
    }
    if let Some(i) = e.indicators.iter().find(|i| !known(i)) {
        return Err(format!("indicators: unknown indicator {i:?}"));
    }
    if let Some(i) = e.interventions.as_deref().filter(|i| !known(i)) {
        return Err(format!("interventions: unknown indicator {i:?}"));
    }
    if e.target.len() > MAX_TARGETS || e.staff.len() > MAX_TARGETS {
        return Err(format!("at most {MAX_TARGETS} targets and staff periods"));
    }
    let mut staff = BTreeMap::new();
    for (p, n) in e.staff {
        let period: Period = p
            .parse()
            .map_err(|_| format!("staff: not a period: {p:?} (e.g. 2025-T2)"))?;
        staff.insert(period, n);
    }
    let mut targets: Vec<Target> = Vec::with_capacity(e.target.len());
    for t in e.target {
        if !e.indicators.contains(&t.indicator) {
            return Err(format!(
                "target: indicator {:?} is not in the programme's indicators",
                t.indicator
            ));
        }
        let period: Period = t
            .period
            .parse()
            .map_err(|_| format!("target: not a period: {:?} (e.g. 2025-T2)", t.period))?;
        if !t.value.is_finite() || t.value < 0.0 {
            return Err(format!(
                "target: value must be a number >= 0, not {}",
                t.value
            ));
        }
        if targets
            .iter()
            .any(|o| o.indicator == t.indicator && o.period == period)
        {
            return Err(format!("target: {} in {period} twice", t.indicator));
        }
        targets.push(Target {
            indicator: t.indicator,
            period,
            value: t.value,
        });
    }
    Ok(Programme {
        id: e.id,
        title: e.title,
        institution,
        description: e.description,
        indicators: e.indicators,
        interventions: e.interventions,
        staff,
        targets,
    })
}

/// The programmes declared in the catalog folder `dir` (by file name
/// order), checked against the catalog in force; none without a folder.
///
/// # Errors
/// The first unreadable file or bad programme, a duplicate id, or too
/// many programmes.
pub fn load(dir: Option<&Path>, catalog: &[Indicator]) -> Result<Vec<Programme>, CatalogError> {
    let Some(dir) = dir else {
        return Ok(Vec::new());
    };
    let err = |file: &str, why: String| CatalogError {
        file: file.into(),
        entry: "folder".into(),
        why,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| err(&dir.display().to_string(), e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    let mut all: Vec<Programme> = Vec::new();
    for f in files {
        let name = f.display().to_string();
        let text = std::fs::read_to_string(&f).map_err(|e| err(&name, e.to_string()))?;
        for p in parse(&name, &text, catalog)? {
            if all.iter().any(|o| o.id == p.id) {
                return Err(CatalogError {
                    file: name,
                    entry: format!("programme {:?}", p.id),
                    why: "declared twice".into(),
                });
            }
            all.push(p);
        }
        if all.len() > MAX_PROGRAMMES {
            return Err(err(&name, format!("more than {MAX_PROGRAMMES} programmes")));
        }
    }
    Ok(all)
}

/// The written part of a programme's report for one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    /// The text as the partner wrote it (at most [`NOTE_MAX_CHARS`]).
    pub text: String,
    /// The partner account that saved it last.
    pub author: String,
    /// When (seconds since 1970, UTC).
    pub at: u64,
}

fn note_key(programme: &str, period: Period) -> Vec<u8> {
    format!("{programme}\0{period}").into_bytes()
}

/// The written part of a programme's report for a period, if any.
///
/// # Errors
/// When the store cannot be read.
pub fn note(store: &Store, programme: &str, period: Period) -> Result<Option<Note>, StoreError> {
    let space: Keyspace<Note> = store.keyspace(ObservatorySpace::ProgrammeNotes);
    space.get(&note_key(programme, period))
}

/// Saves the written part of a programme's report for a period; an empty
/// text removes it. The caller checks who may write and the length.
///
/// # Errors
/// When the store cannot be written.
pub fn save_note(
    store: &Store,
    programme: &str,
    period: Period,
    note: &Note,
) -> Result<(), StoreError> {
    let space: Keyspace<Note> = store.keyspace(ObservatorySpace::ProgrammeNotes);
    let key = note_key(programme, period);
    if note.text.trim().is_empty() {
        space.remove(&key).map(|_| ())
    } else {
        space.insert(&key, note)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Vec<Indicator> {
        crate::catalog::load(None).expect("shipped catalog")
    }

    const OK: &str = r#"
[[programme]]
id = "mediation-mobile"
title = "Médiation numérique mobile"
institution = "mediation-numerique-976"
indicators = ["personnes-recues", "rendez-vous-tenus"]
interventions = "rendez-vous-tenus"
staff = { "2025-T2" = 4 }

[[programme.target]]
indicator = "personnes-recues"
period = "2025-T2"
value = 200
"#;

    #[test]
    fn a_programme_reads_with_its_targets_and_staff() {
        let p = parse("t.toml", OK, &catalog()).expect("parses");
        assert_eq!(p.len(), 1);
        let q: Period = "2025-T2".parse().expect("period");
        assert_eq!(p[0].target("personnes-recues", q), Some(200.0));
        assert_eq!(p[0].target("rendez-vous-tenus", q), None);
        assert_eq!(p[0].staff.get(&q), Some(&4));
        assert_eq!(p[0].periods(), vec![q]);
    }

    #[test]
    fn bad_programmes_are_refused_with_the_reason() {
        let cases = [
            (
                OK.replace("\"personnes-recues\", ", "\"inconnu\", "),
                "unknown indicator",
            ),
            (OK.replace("value = 200", "value = -1"), ">= 0"),
            (
                OK.replace("period = \"2025-T2\"", "period = \"hier\""),
                "not a period",
            ),
            (OK.replace("\"2025-T2\" = 4", "\"T2\" = 4"), "staff"),
            (
                OK.replace("id = \"mediation-mobile\"", "id = \"A B\""),
                "id",
            ),
            (
                OK.replace("value = 200", "value = 200\nextra = 1"),
                "unknown field",
            ),
        ];
        for (text, why) in cases {
            let e = parse("t.toml", &text, &catalog()).expect_err(why);
            assert!(e.to_string().contains(why), "{e} should say {why}");
        }
    }

    #[test]
    fn interventions_per_staff_member_need_a_staff_count() {
        assert_eq!(per_staff(120.0, Some(4)), Some(30.0));
        assert_eq!(per_staff(120.0, None), None);
        assert_eq!(per_staff(120.0, Some(0)), None);
    }

    #[test]
    fn notes_are_kept_per_programme_and_period() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("store")).expect("store");
        let q: Period = "2025-T2".parse().expect("period");
        let n = Note {
            text: "Bilan <écrit>".into(),
            author: "a@b.fr".into(),
            at: 1,
        };
        save_note(&store, "p", q, &n).expect("saved");
        assert_eq!(note(&store, "p", q).expect("read"), Some(n));
        assert_eq!(note(&store, "q", q).expect("read"), None);
        let empty = Note {
            text: "  ".into(),
            author: "a@b.fr".into(),
            at: 2,
        };
        save_note(&store, "p", q, &empty).expect("removed");
        assert_eq!(note(&store, "p", q).expect("read"), None);
    }
}
