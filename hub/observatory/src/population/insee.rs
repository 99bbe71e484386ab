//! Reading the operator's population file: INSEE's detailed census table
//! « Population par sexe et âge » (POP1B, one row per geography, sex and
//! single year of age), semicolon-separated with a header row:
//!
//! ```text
//! NIVGEO;CODGEO;LIBGEO;SEXE;AGED100;NB
//! COM;97601;Acoua;1;0;61.2
//! ```
//!
//! Columns are found by name: `CODGEO` (commune code), `AGED100` (age, 0
//! to 100, 100 meaning 100 and over) and `NB` (people, possibly with
//! decimals: INSEE's weighted counts) are required; `ANNEE` (year) is
//! read when present, otherwise the year is given on the command line
//! (INSEE names the year in the file name); `SEXE` tells rows apart;
//! other columns (`NIVGEO`, `LIBGEO`) are ignored. Rows of communes
//! outside Mayotte are checked and skipped, so a national extract may be
//! given. Every year must cover the 17 communes of Mayotte, each with
//! every age from 0 to 100.
//!
//! A file is taken whole or not at all: the first problem refuses it,
//! naming the file, line and column.

use std::collections::BTreeMap;

use passerelle_protocol::geo;
use passerelle_provenance::population::MAX_AGE;

use super::Populations;

/// The largest file read (a Mayotte extract is a few hundred kilobytes).
pub const MAX_BYTES: usize = 64 * 1024 * 1024;

/// A population file refused, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("population file {file}{}: {why}", place(*.line, *.column))]
pub struct PopulationError {
    /// The file.
    pub file: String,
    /// Line, from 1 (0: the file as a whole).
    pub line: usize,
    /// Column (character), from 1 (0: the line as a whole).
    pub column: usize,
    /// What is wrong.
    pub why: String,
}

fn place(line: usize, column: usize) -> String {
    match (line, column) {
        (0, _) => String::new(),
        (l, 0) => format!(", line {l}"),
        (l, c) => format!(", line {l}, column {c}"),
    }
}

/// The columns read, by position.
struct Columns {
    count: usize,
    code: usize,
    age: usize,
    people: usize,
    year: Option<usize>,
    sex: Option<usize>,
}

/// A line's fields with the column (character, from 1) each starts at.
fn fields(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut column = 1;
    for f in line.split(';') {
        out.push((column, f.trim().trim_matches('"')));
        column += f.chars().count() + 1;
    }
    out
}

fn header(file: &str, line: &str) -> Result<Columns, PopulationError> {
    let f = fields(line);
    let err = |column: usize, why: String| PopulationError {
        file: file.into(),
        line: 1,
        column,
        why,
    };
    let find = |name: &str| -> Result<Option<usize>, PopulationError> {
        let hits: Vec<usize> = (0..f.len())
            .filter(|i| f[*i].1.eq_ignore_ascii_case(name))
            .collect();
        match hits.as_slice() {
            [] => Ok(None),
            [i] => Ok(Some(*i)),
            [_, second, ..] => Err(err(f[*second].0, format!("column {name} appears twice"))),
        }
    };
    let need = |name: &str| -> Result<usize, PopulationError> {
        find(name)?.ok_or_else(|| {
            err(0, format!(
                "no {name} column: the header must name CODGEO, AGED100 and NB (INSEE table « Population par sexe et âge », separated by ';')"
            ))
        })
    };
    Ok(Columns {
        count: f.len(),
        code: need("CODGEO")?,
        age: need("AGED100")?,
        people: need("NB")?,
        year: find("ANNEE")?,
        sex: find("SEXE")?,
    })
}

/// Reads a population file's bytes; `year` is the year of every row when
/// the file has no `ANNEE` column.
///
/// # Errors
/// The first problem, with the file, line and column.
pub fn parse(file: &str, bytes: &[u8], year: Option<u16>) -> Result<Populations, PopulationError> {
    let whole = |why: String| PopulationError {
        file: file.into(),
        line: 0,
        column: 0,
        why,
    };
    if bytes.len() > MAX_BYTES {
        return Err(whole(format!(
            "{} bytes is more than {MAX_BYTES}: keep the rows of Mayotte (codes 976..)",
            bytes.len()
        )));
    }
    let text = std::str::from_utf8(bytes).map_err(|e| PopulationError {
        file: file.into(),
        line: bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            + 1,
        column: 0,
        why: "not UTF-8 text (save the file as UTF-8)".into(),
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.lines().enumerate();
    let Some((_, first)) = lines.next() else {
        return Err(whole("the file is empty".into()));
    };
    let cols = header(file, first)?;
    match (cols.year, year) {
        (None, None) => {
            return Err(PopulationError {
                file: file.into(),
                line: 1,
                column: 0,
                why: "no ANNEE column: give the year of the figures (--annee 2021)".into(),
            })
        }
        (Some(_), Some(_)) => {
            return Err(PopulationError {
                file: file.into(),
                line: 1,
                column: 0,
                why: "the file has an ANNEE column: do not give --annee as well".into(),
            })
        }
        _ => {}
    }
    // (year, commune, sex, age) -> line first seen
    let mut seen: BTreeMap<(u16, usize, String, u8), usize> = BTreeMap::new();
    let mut years: BTreeMap<u16, BTreeMap<usize, Vec<f64>>> = BTreeMap::new();
    for (i, line) in lines {
        let n = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        let f = fields(line);
        let at = |c: usize, why: String| PopulationError {
            file: file.into(),
            line: n,
            column: f.get(c).map_or(0, |x| x.0),
            why,
        };
        if f.len() != cols.count {
            return Err(PopulationError {
                file: file.into(),
                line: n,
                column: 0,
                why: format!("{} fields, the header has {}", f.len(), cols.count),
            });
        }
        let row_year = match cols.year {
            Some(c) => f[c]
                .1
                .parse::<u16>()
                .ok()
                .filter(|y| (1900..=2100).contains(y))
                .ok_or_else(|| at(c, format!("ANNEE {:?} is not a year", f[c].1)))?,
            None => year.unwrap_or_default(),
        };
        let age = f[cols.age]
            .1
            .parse::<u8>()
            .ok()
            .filter(|a| *a <= MAX_AGE)
            .ok_or_else(|| {
                at(
                    cols.age,
                    format!(
                        "AGED100 {:?} is not an age from 0 to {MAX_AGE}",
                        f[cols.age].1
                    ),
                )
            })?;
        let people = f[cols.people]
            .1
            .replace(',', ".")
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= 0.0 && *x <= 10_000_000.0)
            .ok_or_else(|| {
                at(
                    cols.people,
                    format!("NB {:?} is not a number of people", f[cols.people].1),
                )
            })?;
        let code = f[cols.code].1;
        if code.is_empty() {
            return Err(at(cols.code, "CODGEO is empty".into()));
        }
        let Some(commune) = geo::commune_index(code) else {
            continue; // Outside Mayotte (or not a commune): checked, skipped.
        };
        let sex = cols.sex.map(|c| f[c].1.to_string()).unwrap_or_default();
        if let Some(before) = seen.insert((row_year, commune, sex, age), n) {
            return Err(at(
                cols.code,
                format!("the same commune, year, sex and age as line {before}"),
            ));
        }
        let ages = years
            .entry(row_year)
            .or_default()
            .entry(commune)
            .or_insert_with(|| vec![0.0; usize::from(MAX_AGE) + 1]);
        ages[usize::from(age)] += people;
    }
    if years.is_empty() {
        return Err(whole(
            "no row for a commune of Mayotte (CODGEO 97601 to 97617)".into(),
        ));
    }
    for (y, communes) in &years {
        if let Some(c) = geo::COMMUNES
            .iter()
            .enumerate()
            .find(|(i, _)| !communes.contains_key(i))
        {
            return Err(whole(format!(
                "year {y}: no row for {} ({})",
                c.1.name, c.1.code
            )));
        }
        for c in communes.keys() {
            if let Some(age) = (0..=MAX_AGE).find(|a| {
                !seen
                    .range((*y, *c, String::new(), 0)..)
                    .take_while(|((yy, cc, _, _), _)| yy == y && cc == c)
                    .any(|((_, _, _, aa), _)| aa == a)
            }) {
                return Err(whole(format!(
                    "year {y}: no row for age {age} in {} ({})",
                    geo::COMMUNES[*c].name,
                    geo::COMMUNES[*c].code
                )));
            }
        }
    }
    Ok(Populations { years })
}

/// The figures in the layout [`parse`] reads (with `ANNEE`), one row per
/// year, commune and age, for the hub's own copy.
pub fn write(p: &Populations) -> String {
    let mut out = String::from("ANNEE;CODGEO;AGED100;NB\n");
    for (y, communes) in &p.years {
        for (c, ages) in communes {
            for (age, n) in ages.iter().enumerate() {
                out.push_str(&format!("{y};{};{age};{n}\n", geo::COMMUNES[*c].code));
            }
        }
    }
    out
}
