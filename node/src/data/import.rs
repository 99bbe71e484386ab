//! Reading a CSV file into a cube. The whole file is validated; every bad
//! row is reported with its line, column and reason; nothing is produced
//! unless every row is good. Pure over a reader: the caller opens files and
//! commits the result.
//!
//! Files exported by spreadsheet software are welcome: a UTF-8 byte-order
//! mark is skipped, `;` is detected as the delimiter when the header uses
//! it, and decimal commas are read in measures.

use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Read},
};

use passerelle_config::dataset::{DatasetConfig, DatasetKind};
use passerelle_protocol::{geo, period::Period};

use super::cube::{CellAgg, CellKey, Cube};

/// Bad rows reported in full; beyond that only the count is given.
pub const MAX_REPORTED: usize = 200;

/// One problem in the file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Issue {
    /// Line in the file (1 is the header).
    pub line: u64,
    /// Column name, when the problem is in one column.
    pub column: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "line {}, column {c}: {}", self.line, self.reason),
            None => write!(f, "line {}: {}", self.line, self.reason),
        }
    }
}

/// Why a file was refused. Nothing was imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum ImportError {
    /// The header lacks columns or is unreadable.
    #[error("header: {0}")]
    Header(String),
    /// Rows are bad; the first [`MAX_REPORTED`] are listed.
    #[error("{total} bad row(s), nothing imported:\n{}", render(.issues, *.total))]
    Rows {
        /// The problems reported.
        issues: Vec<Issue>,
        /// How many problems in all.
        total: usize,
    },
    /// The file has a header and no data.
    #[error("the file has no data rows")]
    Empty,
    /// Reading failed.
    #[error("cannot read the file: {0}")]
    Io(String),
}

fn render(issues: &[Issue], total: usize) -> String {
    let mut out: Vec<String> = issues.iter().map(|i| format!("  {i}")).collect();
    if total > issues.len() {
        out.push(format!("  … and {} more", total - issues.len()));
    }
    out.join("\n")
}

/// A validated file.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The cube.
    pub cube: Cube,
    /// Data rows read.
    pub rows: u64,
}

struct Columns {
    commune: usize,
    period: usize,
    count: Option<usize>,
    dims: Vec<(usize, HashMap<Vec<u8>, u16>, String)>,
    measures: Vec<(usize, String)>,
}

fn columns(header: &csv::ByteRecord, d: &DatasetConfig) -> Result<Columns, ImportError> {
    let names: Vec<String> = header
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_string())
        .collect();
    let mut missing = Vec::new();
    let mut find = |name: &str| {
        let at = names.iter().position(|n| n == name);
        if at.is_none() {
            missing.push(name.to_string());
        }
        at.unwrap_or(0)
    };
    let commune = find(&d.commune);
    let period = find(&d.period);
    let count = d.count_column.as_deref().map(&mut find);
    let dims = d
        .dimensions
        .iter()
        .map(|dim| {
            let values = dim
                .allowed()
                .iter()
                .enumerate()
                .map(|(i, v)| (v.as_bytes().to_vec(), i as u16))
                .collect();
            (find(&dim.column), values, dim.column.clone())
        })
        .collect();
    let measures = d
        .measures
        .iter()
        .map(|m| (find(&m.column), m.column.clone()))
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::Header(format!(
            "missing column(s) {}; the file's header has: {} (check the dataset's columns in node.toml)",
            missing.join(", "),
            names.join(", ")
        )));
    }
    Ok(Columns {
        commune,
        period,
        count,
        dims,
        measures,
    })
}

fn text<'a>(field: &'a [u8], column: &str, line: u64) -> Result<&'a str, Issue> {
    std::str::from_utf8(field)
        .map(str::trim)
        .map_err(|_| Issue {
            line,
            column: Some(column.to_string()),
            reason: "not valid UTF-8 (save the file as UTF-8)".into(),
        })
}

fn number(s: &str) -> Option<f64> {
    let v: f64 = s.replace(',', ".").parse().ok()?;
    (v.is_finite() && v >= 0.0).then_some(v)
}

/// Validates a CSV file for a dataset and aggregates it. `progress` is
/// called now and then with the bytes read so far.
///
/// # Errors
/// The header problem, or every bad row (up to [`MAX_REPORTED`]).
pub fn read_csv(
    reader: impl Read,
    d: &DatasetConfig,
    progress: &mut dyn FnMut(u64),
) -> Result<Imported, ImportError> {
    let mut buf = BufReader::with_capacity(1 << 20, reader);
    let head = buf.fill_buf().map_err(|e| ImportError::Io(e.to_string()))?;
    let bom = head.starts_with(b"\xEF\xBB\xBF");
    let first_line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = if first_line.contains(&b';') && !first_line.contains(&b',') {
        b';'
    } else {
        b','
    };
    if bom {
        buf.consume(3);
    }
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(buf);
    let header = csv
        .byte_headers()
        .map_err(|e| ImportError::Header(e.to_string()))?
        .clone();
    let cols = columns(&header, d)?;
    let width = header.len();

    let mut cells: HashMap<(u8, Period, u64), CellAgg> = HashMap::new();
    let mut issues = Vec::new();
    let mut total = 0usize;
    let mut rows = 0u64;
    let mut record = csv::ByteRecord::new();
    let mut sums = vec![0.0; cols.measures.len()];
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                total += 1;
                if issues.len() < MAX_REPORTED {
                    issues.push(Issue {
                        line,
                        column: None,
                        reason: format!("unreadable row: {e}"),
                    });
                }
                continue;
            }
        }
        rows += 1;
        let line = record.position().map(|p| p.line()).unwrap_or(rows + 1);
        if rows.is_multiple_of(65_536) {
            progress(record.position().map(|p| p.byte()).unwrap_or(0));
        }
        if record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty()) {
            rows -= 1; // a blank line
            continue;
        }
        let row = (|| -> Result<((u8, Period, u64), u64), Issue> {
            if record.len() != width {
                return Err(Issue {
                    line,
                    column: None,
                    reason: format!("expected {width} columns, found {}", record.len()),
                });
            }
            let commune_text = text(&record[cols.commune], &d.commune, line)?;
            let commune = geo::commune_index(commune_text).ok_or_else(|| Issue {
                line,
                column: Some(d.commune.clone()),
                reason: format!("unknown commune code {commune_text:?} (Mayotte's INSEE codes are 97601 to 97617)"),
            })?;
            let period: Period = text(&record[cols.period], &d.period, line)?
                .parse()
                .map_err(|e: passerelle_protocol::period::PeriodError| Issue {
                    line,
                    column: Some(d.period.clone()),
                    reason: e.to_string(),
                })?;
            let mut code = 0u64;
            for (at, values, name) in &cols.dims {
                let raw = &record[*at];
                let v = std::str::from_utf8(raw).map(str::trim).map_err(|_| Issue {
                    line,
                    column: Some(name.clone()),
                    reason: "not valid UTF-8 (save the file as UTF-8)".into(),
                })?;
                let idx = values.get(v.as_bytes()).ok_or_else(|| {
                    let mut allowed: Vec<(&Vec<u8>, &u16)> = values.iter().collect();
                    allowed.sort_by_key(|(_, i)| **i);
                    let list: Vec<String> = allowed
                        .iter()
                        .map(|(b, _)| String::from_utf8_lossy(b).into_owned())
                        .collect();
                    Issue {
                        line,
                        column: Some(name.clone()),
                        reason: format!(
                            "value {v:?} is not allowed (allowed: {})",
                            list.join(", ")
                        ),
                    }
                })?;
                code = code * (values.len() as u64 + 1) + u64::from(*idx);
            }
            for (i, (at, name)) in cols.measures.iter().enumerate() {
                let t = text(&record[*at], name, line)?;
                sums[i] = number(t).ok_or_else(|| Issue {
                    line,
                    column: Some(name.clone()),
                    reason: format!("{t:?} is not a non-negative number"),
                })?;
            }
            let count = match (d.kind, cols.count) {
                (DatasetKind::Cells, Some(at)) => {
                    let name = d.count_column.as_deref().unwrap_or_default();
                    let t = text(&record[at], name, line)?;
                    t.parse::<u64>().map_err(|_| Issue {
                        line,
                        column: Some(name.to_string()),
                        reason: format!("{t:?} is not a whole number of people"),
                    })?
                }
                _ => 1,
            };
            Ok(((commune as u8, period, code), count))
        })();
        match row {
            Ok((key, count)) if total == 0 => {
                let maxes: &[f64] = if d.kind == DatasetKind::Records {
                    &sums
                } else {
                    &[]
                };
                cells.entry(key).or_default().absorb(count, &sums, maxes);
            }
            Ok(_) => {}
            Err(issue) => {
                total += 1;
                if issues.len() < MAX_REPORTED {
                    issues.push(issue);
                }
            }
        }
    }
    if total > 0 {
        return Err(ImportError::Rows { issues, total });
    }
    if rows == 0 {
        return Err(ImportError::Empty);
    }
    let radices: Vec<u64> = cols
        .dims
        .iter()
        .map(|(_, v, _)| v.len() as u64 + 1)
        .collect();
    let map = cells
        .into_iter()
        .map(|((commune, period, mut code), agg)| {
            let mut dims = vec![0u16; radices.len()];
            for (i, r) in radices.iter().enumerate().rev() {
                dims[i] = (code % r) as u16;
                code /= r;
            }
            (
                CellKey {
                    commune,
                    period,
                    dims,
                },
                agg,
            )
        })
        .collect();
    let dims = d.dimensions.iter().map(|x| x.column.clone()).collect();
    let measures = d.measures.iter().map(|m| m.name.clone()).collect();
    Ok(Imported {
        cube: Cube::from_map(dims, measures, map),
        rows,
    })
}

#[cfg(test)]
#[path = "import_tests.rs"]
mod tests;
