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
    pub problem: Problem,
}

/// What is wrong with a row, typed: the command line says it in English
/// ([`std::fmt::Display`]), the console in French.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Problem {
    /// A field is not UTF-8.
    NotUtf8,
    /// The CSV reader could not read the row.
    Unreadable(String),
    /// The row has another number of fields than the header.
    Width {
        /// Fields in the header.
        expected: usize,
        /// Fields in the row.
        found: usize,
    },
    /// Not one of Mayotte's commune codes.
    UnknownCommune(String),
    /// Not a period.
    BadPeriod {
        /// The value.
        value: String,
        /// Why, in English.
        why: String,
    },
    /// A dimension's value outside its list.
    NotAllowed {
        /// The value.
        value: String,
        /// The values allowed, in order.
        allowed: Vec<String>,
    },
    /// Not a whole number of people.
    NotCount(String),
    /// Not a non-negative number.
    NotNumber(String),
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotUtf8 => f.write_str("not valid UTF-8 (save the file as UTF-8)"),
            Self::Unreadable(e) => write!(f, "unreadable row: {e}"),
            Self::Width { expected, found } => {
                write!(f, "expected {expected} columns, found {found}")
            }
            Self::UnknownCommune(v) => write!(
                f,
                "unknown commune code {v:?} (Mayotte's INSEE codes are 97601 to 97617)"
            ),
            Self::BadPeriod { why, .. } => f.write_str(why),
            Self::NotAllowed { value, allowed } => write!(
                f,
                "value {value:?} is not allowed (allowed: {})",
                allowed.join(", ")
            ),
            Self::NotCount(v) => write!(f, "{v:?} is not a whole number of people"),
            Self::NotNumber(v) => write!(f, "{v:?} is not a non-negative number"),
        }
    }
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "line {}, column {c}: {}", self.line, self.problem),
            None => write!(f, "line {}: {}", self.line, self.problem),
        }
    }
}

/// Why a file was refused. Nothing was imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum ImportError {
    /// The header is unreadable.
    #[error("header: {0}")]
    Header(String),
    /// The header lacks columns the dataset declares.
    #[error("header: missing column(s) {}; the file's header has: {} (check the dataset's columns in node.toml)", .missing.join(", "), .found.join(", "))]
    MissingColumns {
        /// The columns missing.
        missing: Vec<String>,
        /// The columns the header has.
        found: Vec<String>,
    },
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
        return Err(ImportError::MissingColumns {
            missing,
            found: names,
        });
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
            problem: Problem::NotUtf8,
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
    let mut csv = open(reader)?;
    let header = csv
        .byte_headers()
        .map_err(|e| ImportError::Header(e.to_string()))?
        .clone();
    let cols = columns(&header, d)?;
    let mut tally = Tally::new(d, cols, header.len());
    tally.read_rows(&mut csv, progress);
    tally.finish()
}

/// A CSV reader past the byte-order mark, with `;` as the delimiter when the
/// header uses it and no comma.
fn open<R: Read>(reader: R) -> Result<csv::Reader<BufReader<R>>, ImportError> {
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
    Ok(csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(buf))
}

/// A cell while reading: commune index, period and the dimension values
/// packed into one number (see [`Tally::dims_code`]).
type PackedKey = (u8, Period, u64);

/// The rows read so far: the cells while every row is good, the problems
/// once one is not.
struct Tally<'a> {
    d: &'a DatasetConfig,
    cols: Columns,
    /// Columns in the header; every row must have as many.
    width: usize,
    cells: HashMap<PackedKey, CellAgg>,
    issues: Vec<Issue>,
    total: usize,
    rows: u64,
    /// The measures of the row being read.
    sums: Vec<f64>,
}

impl<'a> Tally<'a> {
    fn new(d: &'a DatasetConfig, cols: Columns, width: usize) -> Self {
        let sums = vec![0.0; cols.measures.len()];
        Self {
            d,
            cols,
            width,
            cells: HashMap::new(),
            issues: Vec::new(),
            total: 0,
            rows: 0,
            sums,
        }
    }

    /// Reads every record; an unreadable one is reported and skipped.
    fn read_rows<R: Read>(&mut self, csv: &mut csv::Reader<R>, progress: &mut dyn FnMut(u64)) {
        let mut record = csv::ByteRecord::new();
        loop {
            match csv.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => self.row(&record, progress),
                Err(e) => self.report(Issue {
                    line: e.position().map(|p| p.line()).unwrap_or(0),
                    column: None,
                    problem: Problem::Unreadable(e.to_string()),
                }),
            }
        }
    }

    /// One record: skipped when blank, else checked and, while no row has
    /// failed, added to its cell.
    fn row(&mut self, record: &csv::ByteRecord, progress: &mut dyn FnMut(u64)) {
        self.rows += 1;
        let line = record.position().map(|p| p.line()).unwrap_or(self.rows + 1);
        if self.rows.is_multiple_of(65_536) {
            progress(record.position().map(|p| p.byte()).unwrap_or(0));
        }
        if record.len() == 1 && record.get(0).is_some_and(|f| f.is_empty()) {
            self.rows -= 1; // a blank line
            return;
        }
        match self.parse(record, line) {
            Ok((key, count)) if self.total == 0 => {
                let maxes: &[f64] = if self.d.kind == DatasetKind::Records {
                    &self.sums
                } else {
                    &[]
                };
                self.cells
                    .entry(key)
                    .or_default()
                    .absorb(count, &self.sums, maxes);
            }
            Ok(_) => {}
            Err(issue) => self.report(issue),
        }
    }

    /// Counts a problem; the first [`MAX_REPORTED`] are kept.
    fn report(&mut self, issue: Issue) {
        self.total += 1;
        if self.issues.len() < MAX_REPORTED {
            self.issues.push(issue);
        }
    }

    /// The cell and the count of one row; its measures go to `self.sums`.
    fn parse(&mut self, record: &csv::ByteRecord, line: u64) -> Result<(PackedKey, u64), Issue> {
        if record.len() != self.width {
            return Err(Issue {
                line,
                column: None,
                problem: Problem::Width {
                    expected: self.width,
                    found: record.len(),
                },
            });
        }
        let commune = self.commune(record, line)?;
        let period = self.period(record, line)?;
        let code = self.dims_code(record, line)?;
        measures(record, &self.cols.measures, line, &mut self.sums)?;
        let count = self.count(record, line)?;
        Ok(((commune, period, code), count))
    }

    fn commune(&self, record: &csv::ByteRecord, line: u64) -> Result<u8, Issue> {
        let name = &self.d.commune;
        let commune_text = text(&record[self.cols.commune], name, line)?;
        let commune = geo::commune_index(commune_text).ok_or_else(|| Issue {
            line,
            column: Some(name.clone()),
            problem: Problem::UnknownCommune(commune_text.to_string()),
        })?;
        Ok(commune as u8)
    }

    fn period(&self, record: &csv::ByteRecord, line: u64) -> Result<Period, Issue> {
        let value = text(&record[self.cols.period], &self.d.period, line)?;
        value
            .parse()
            .map_err(|e: passerelle_protocol::period::PeriodError| Issue {
                line,
                column: Some(self.d.period.clone()),
                problem: Problem::BadPeriod {
                    value: value.to_string(),
                    why: e.to_string(),
                },
            })
    }

    /// The dimension values as one number, each value's index in base (its
    /// number of allowed values + 1); [`unpack`] reverses it.
    fn dims_code(&self, record: &csv::ByteRecord, line: u64) -> Result<u64, Issue> {
        let mut code = 0u64;
        for (at, values, name) in &self.cols.dims {
            let v = text(&record[*at], name, line)?;
            let idx = values
                .get(v.as_bytes())
                .ok_or_else(|| not_allowed(v, values, name, line))?;
            code = code * (values.len() as u64 + 1) + u64::from(*idx);
        }
        Ok(code)
    }

    /// The people a row counts: its count column in a cells dataset, else 1.
    fn count(&self, record: &csv::ByteRecord, line: u64) -> Result<u64, Issue> {
        let count = match (self.d.kind, self.cols.count) {
            (DatasetKind::Cells, Some(at)) => {
                let name = self.d.count_column.as_deref().unwrap_or_default();
                let t = text(&record[at], name, line)?;
                t.parse::<u64>().map_err(|_| Issue {
                    line,
                    column: Some(name.to_string()),
                    problem: Problem::NotCount(t.to_string()),
                })?
            }
            _ => 1,
        };
        Ok(count)
    }

    /// The refusal when a row failed, else the cube.
    fn finish(self) -> Result<Imported, ImportError> {
        if self.total > 0 {
            return Err(ImportError::Rows {
                issues: self.issues,
                total: self.total,
            });
        }
        if self.rows == 0 {
            return Err(ImportError::Empty);
        }
        let map = unpack(self.cells, &self.cols);
        let dims = self.d.dimensions.iter().map(|x| x.column.clone()).collect();
        let measures = self.d.measures.iter().map(|m| m.name.clone()).collect();
        Ok(Imported {
            cube: Cube::from_map(dims, measures, map),
            rows: self.rows,
        })
    }
}

/// Reads a row's measures into `sums`.
fn measures(
    record: &csv::ByteRecord,
    columns: &[(usize, String)],
    line: u64,
    sums: &mut [f64],
) -> Result<(), Issue> {
    for (i, (at, name)) in columns.iter().enumerate() {
        let t = text(&record[*at], name, line)?;
        sums[i] = number(t).ok_or_else(|| Issue {
            line,
            column: Some(name.clone()),
            problem: Problem::NotNumber(t.to_string()),
        })?;
    }
    Ok(())
}

/// A dimension value outside its list, with the allowed values in order.
fn not_allowed(v: &str, values: &HashMap<Vec<u8>, u16>, name: &str, line: u64) -> Issue {
    let mut allowed: Vec<(&Vec<u8>, &u16)> = values.iter().collect();
    allowed.sort_by_key(|(_, i)| **i);
    let list: Vec<String> = allowed
        .iter()
        .map(|(b, _)| String::from_utf8_lossy(b).into_owned())
        .collect();
    Issue {
        line,
        column: Some(name.to_string()),
        problem: Problem::NotAllowed {
            value: v.to_string(),
            allowed: list,
        },
    }
}

/// The cells with their dimension values unpacked from
/// [`Tally::dims_code`].
fn unpack(cells: HashMap<PackedKey, CellAgg>, cols: &Columns) -> HashMap<CellKey, CellAgg> {
    let radices: Vec<u64> = cols
        .dims
        .iter()
        .map(|(_, v, _)| v.len() as u64 + 1)
        .collect();
    cells
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
        .collect()
}

#[cfg(test)]
#[path = "import_tests.rs"]
mod tests;
