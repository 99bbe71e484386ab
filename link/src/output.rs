//! Listings for the command line: an aligned table for people, CSV and JSON
//! for scripts. Machine output goes to stdout; callers print it.

use std::{fmt, str::FromStr};

/// Output format of a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Aligned columns.
    #[default]
    Table,
    /// RFC 4180 CSV with a header line.
    Csv,
    /// A JSON array of objects.
    Json,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "table" => Ok(Self::Table),
            "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            other => Err(format!("unknown format {other:?}: use table, csv or json")),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Table => "table",
            Self::Csv => "csv",
            Self::Json => "json",
        })
    }
}

/// A listing: column names and rows of cells.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Column names (also the JSON keys).
    pub columns: Vec<&'static str>,
    /// Rows; each has one cell per column.
    pub rows: Vec<Vec<String>>,
}

impl Listing {
    /// An empty listing with these columns.
    pub fn new(columns: Vec<&'static str>) -> Self {
        Self {
            columns,
            rows: Vec::new(),
        }
    }

    /// Renders the listing.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Table => self.table(),
            Format::Csv => self.csv(),
            Format::Json => self.json(),
        }
    }

    fn table(&self) -> String {
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: Vec<&str>| {
            let mut out = String::new();
            for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
                if i + 1 == cells.len() {
                    out.push_str(cell);
                } else {
                    out.push_str(&format!("{cell:<w$}  "));
                }
            }
            out.trim_end().to_string() + "\n"
        };
        let mut out = line(self.columns.clone());
        for row in &self.rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
        }
        out
    }

    fn csv(&self) -> String {
        let quote = |s: &str| {
            if s.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_string()
            }
        };
        let mut out = self
            .columns
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(",")
            + "\n";
        for row in &self.rows {
            out.push_str(&(row.iter().map(|c| quote(c)).collect::<Vec<_>>().join(",") + "\n"));
        }
        out
    }

    fn json(&self) -> String {
        let rows: Vec<serde_json::Map<String, serde_json::Value>> = self
            .rows
            .iter()
            .map(|row| {
                self.columns
                    .iter()
                    .zip(row)
                    .map(|(c, v)| (c.to_string(), serde_json::Value::String(v.clone())))
                    .collect()
            })
            .collect();
        serde_json::to_string_pretty(&rows).expect("strings serialize") + "\n"
    }
}

/// A Unix time as `YYYY-MM-DD HH:MM:SS UTC`, or `never` for `None`.
pub fn time(t: Option<u64>) -> String {
    let Some(t) = t else { return "never".into() };
    let days = (t / 86400) as i64;
    let secs = t % 86400;
    // Civil-from-days (H. Hinnant), proleptic Gregorian, UTC.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_each_format() {
        let mut l = Listing::new(vec!["id", "name"]);
        l.rows
            .push(vec!["caf-976".into(), "CAF, Mayotte \"976\"".into()]);
        assert_eq!(
            l.render(Format::Table),
            "id       name\ncaf-976  CAF, Mayotte \"976\"\n"
        );
        assert_eq!(
            l.render(Format::Csv),
            "id,name\ncaf-976,\"CAF, Mayotte \"\"976\"\"\"\n"
        );
        let json: serde_json::Value = serde_json::from_str(&l.render(Format::Json)).unwrap();
        assert_eq!(json[0]["name"], "CAF, Mayotte \"976\"");
        assert_eq!("csv".parse::<Format>(), Ok(Format::Csv));
        assert!("xml".parse::<Format>().is_err());
    }

    #[test]
    fn formats_times() {
        assert_eq!(time(None), "never");
        assert_eq!(time(Some(0)), "1970-01-01 00:00:00 UTC");
        assert_eq!(time(Some(1_795_392_000)), "2026-11-23 00:00:00 UTC");
        assert_eq!(time(Some(951_782_400 + 3661)), "2000-02-29 01:01:01 UTC");
    }
}
