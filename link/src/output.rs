//! Listings for the command line: an aligned table for people, CSV and JSON
//! for scripts. Each cell keeps its type, so JSON has booleans, numbers,
//! RFC 3339 times and `null`, while tables and CSV read as text. Machine
//! output goes to stdout; callers print it.

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

/// One cell of a listing: the text people read in a table or a CSV file,
/// and the typed value scripts read in JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    text: String,
    json: serde_json::Value,
    /// Written by the program (a number, a flag, a time, a dash), not
    /// taken from any input: CSV writes it as is. Any other cell may hold
    /// what a partner or a node typed, and CSV neutralizes it
    /// ([`csv_text`]).
    typed: bool,
}

impl Cell {
    /// Text, the same in every format.
    pub fn text(text: impl Into<String>) -> Self {
        let text = text.into();
        Self {
            json: serde_json::Value::String(text.clone()),
            text,
            typed: false,
        }
    }

    /// A whole number.
    pub fn number(n: u64) -> Self {
        Self {
            text: n.to_string(),
            json: n.into(),
            typed: true,
        }
    }

    /// A decimal number rounded to `decimals` digits in every format
    /// (written with exactly that many in tables and CSV); empty in tables
    /// and `null` in JSON when missing.
    pub fn decimal(v: Option<f64>, decimals: u8) -> Self {
        match v {
            Some(v) => {
                let text = format!("{v:.prec$}", prec = usize::from(decimals));
                // JSON carries the number written, never more digits.
                let json = text
                    .parse::<f64>()
                    .ok()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(serde_json::Value::Null, Into::into);
                Self {
                    text,
                    json,
                    typed: true,
                }
            }
            None => Self {
                text: String::new(),
                json: serde_json::Value::Null,
                typed: true,
            },
        }
    }

    /// A yes/no answer: `yes` or `no` in tables, a boolean in JSON.
    pub fn flag(b: bool) -> Self {
        Self {
            text: if b { "yes" } else { "no" }.into(),
            json: b.into(),
            typed: true,
        }
    }

    /// A Unix time: see [`time`] for tables, RFC 3339 in UTC (or `null`)
    /// in JSON.
    pub fn time(t: Option<u64>) -> Self {
        Self {
            text: time(t),
            json: t.map_or(serde_json::Value::Null, |t| rfc3339(t).into()),
            typed: true,
        }
    }

    /// No value: `-` in tables, `null` in JSON.
    pub fn missing() -> Self {
        Self {
            text: "-".into(),
            json: serde_json::Value::Null,
            typed: true,
        }
    }

    /// Text that may be missing: `-` in tables, `null` in JSON.
    pub fn optional(text: Option<impl Into<String>>) -> Self {
        text.map_or_else(Self::missing, Self::text)
    }

    /// A list: its items joined by `sep` in tables, an array in JSON.
    pub fn list(items: &[String], sep: &str) -> Self {
        Self {
            text: items.join(sep),
            json: items.to_vec().into(),
            typed: false,
        }
    }

    /// A value whose table text and JSON value differ: a state written
    /// for people in tables and as a stable code in JSON, say.
    pub fn coded(text: impl Into<String>, code: &str) -> Self {
        Self {
            text: text.into(),
            json: code.into(),
            typed: false,
        }
    }

    /// What tables and CSV show.
    pub fn as_text(&self) -> &str {
        &self.text
    }
}

/// A listing: column names and rows of cells.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// Column names (also the JSON keys).
    pub columns: Vec<&'static str>,
    /// Rows; each has one cell per column.
    pub rows: Vec<Vec<Cell>>,
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
            Format::Json => {
                serde_json::to_string_pretty(&JsonRows(self)).expect("JSON values serialize") + "\n"
            }
        }
    }

    /// The rows as a JSON array of objects keyed by column, with typed
    /// values.
    pub fn to_json(&self) -> serde_json::Value {
        self.rows
            .iter()
            .map(|row| {
                self.json_row(row)
                    .map(|(c, v)| (c.to_string(), v.clone()))
                    .collect::<serde_json::Map<_, _>>()
                    .into()
            })
            .collect::<Vec<serde_json::Value>>()
            .into()
    }

    /// One row's JSON object, keys in column order.
    fn json_row<'a>(
        &'a self,
        row: &'a [Cell],
    ) -> impl Iterator<Item = (&'a str, &'a serde_json::Value)> {
        self.columns
            .iter()
            .copied()
            .zip(row.iter().map(|c| &c.json))
    }

    fn table(&self) -> String {
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.text.chars().count());
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
            out.push_str(&line(row.iter().map(Cell::as_text).collect()));
        }
        out
    }

    fn csv(&self) -> String {
        let mut out = self
            .columns
            .iter()
            .map(|c| csv_quote(c))
            .collect::<Vec<_>>()
            .join(",")
            + "\n";
        for row in &self.rows {
            out.push_str(
                &(row
                    .iter()
                    .map(|c| {
                        if c.typed {
                            csv_quote(&c.text)
                        } else {
                            csv_text(&c.text)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(",")
                    + "\n"),
            );
        }
        out
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
pub fn csv_quote(s: &str) -> String {
    csv_quote_with(s, ',')
}

/// A CSV field for a file whose fields are separated by `sep` (`,`, or
/// `;` in the French spreadsheet dialect), quoted when it holds `sep`, a
/// quote or a line break.
pub fn csv_quote_with(s: &str, sep: char) -> String {
    if s.contains([sep, '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// A CSV field of text from anywhere (a name, a label, an identifier a
/// node chose): a spreadsheet would run text starting with `=`, `+`, `-`,
/// `@`, a tab or a carriage return as a formula, so such text gets a
/// leading `'`, which spreadsheets read as "this is text". Then quoted as
/// [`csv_quote`]. Numbers are written by the program and never go
/// through here, so a negative number stays a number.
pub fn csv_text(s: &str) -> String {
    csv_text_with(s, ',')
}

/// [`csv_text`] for a file whose fields are separated by `sep`.
pub fn csv_text_with(s: &str, sep: char) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        csv_quote_with(&format!("'{s}"), sep)
    } else {
        csv_quote_with(s, sep)
    }
}

/// The rows of a listing as JSON, each object's keys in column order.
struct JsonRows<'a>(&'a Listing);

impl serde::Serialize for JsonRows<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.rows.iter().map(|row| JsonRow(self.0, row)))
    }
}

struct JsonRow<'a>(&'a Listing, &'a [Cell]);

impl serde::Serialize for JsonRow<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.json_row(self.1))
    }
}

/// A Unix time as a UTC timestamp, before the year 10000.
fn timestamp(t: u64) -> jiff::Timestamp {
    i64::try_from(t)
        .ok()
        .and_then(|t| jiff::Timestamp::from_second(t).ok())
        .unwrap_or(jiff::Timestamp::MAX)
}

/// A Unix time as `YYYY-MM-DD HH:MM:SS UTC`, or `never` for `None`.
pub fn time(t: Option<u64>) -> String {
    match t {
        Some(t) => timestamp(t).strftime("%Y-%m-%d %H:%M:%S UTC").to_string(),
        None => "never".into(),
    }
}

/// A Unix time in RFC 3339, UTC: `2026-11-23T00:00:00Z`.
pub fn rfc3339(t: u64) -> String {
    timestamp(t).to_string()
}

/// An error and its causes as one message for people, each part once.
///
/// Error types that show their cause in their own text (`"store: {0}"`
/// with a `#[from]` source, or a field named `source`) would otherwise
/// print that cause twice when the chain is joined; a cause whose text is
/// already in the message is left out.
pub fn error_message<'a>(
    chain: impl IntoIterator<Item = &'a (dyn std::error::Error + 'static)>,
) -> String {
    let mut out = String::new();
    for e in chain {
        let text = e.to_string();
        let text = text.trim();
        if text.is_empty() || out.contains(text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Outer(std::io::Error, bool);

    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            if self.1 {
                write!(f, "/data/lot.csv: {}", self.0)
            } else {
                f.write_str("import refused")
            }
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn error_message_says_each_cause_once() {
        let io = || std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let shown = Outer(io(), true);
        let chain =
            std::iter::successors(Some(&shown as &(dyn std::error::Error + 'static)), |e| {
                e.source()
            });
        assert_eq!(error_message(chain), "/data/lot.csv: no such file");
        let hidden = Outer(io(), false);
        let chain =
            std::iter::successors(Some(&hidden as &(dyn std::error::Error + 'static)), |e| {
                e.source()
            });
        assert_eq!(error_message(chain), "import refused: no such file");
    }

    #[test]
    fn renders_each_format() {
        let mut l = Listing::new(vec!["id", "name"]);
        l.rows.push(vec![
            Cell::text("caf-976"),
            Cell::text("CAF, Mayotte \"976\""),
        ]);
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
    fn json_keeps_the_types() {
        let mut l = Listing::new(vec!["up", "rows", "seen", "by", "value", "periods"]);
        l.rows.push(vec![
            Cell::flag(true),
            Cell::number(12),
            Cell::time(Some(1_795_392_000)),
            Cell::missing(),
            Cell::decimal(Some(2.5), 1),
            Cell::list(&["2025-T1".into(), "2025-T2".into()], " "),
        ]);
        l.rows.push(vec![
            Cell::flag(false),
            Cell::number(0),
            Cell::time(None),
            Cell::optional(Some("agent")),
            Cell::decimal(None, 1),
            Cell::list(&[], " "),
        ]);
        let json: serde_json::Value = serde_json::from_str(&l.render(Format::Json)).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"up": true, "rows": 12, "seen": "2026-11-23T00:00:00Z", "by": null,
                 "value": 2.5, "periods": ["2025-T1", "2025-T2"]},
                {"up": false, "rows": 0, "seen": null, "by": "agent",
                 "value": null, "periods": []},
            ])
        );
        let text = l.render(Format::Json);
        assert!(
            text.find("\"up\"") < text.find("\"rows\"")
                && text.find("\"rows\"") < text.find("\"seen\""),
            "keys in column order: {text}"
        );
        assert_eq!(l.to_json(), json);
        assert_eq!(
            l.render(Format::Csv),
            "up,rows,seen,by,value,periods\n\
             yes,12,2026-11-23 00:00:00 UTC,-,2.5,2025-T1 2025-T2\n\
             no,0,never,agent,,\n"
        );
    }

    #[test]
    fn formats_times() {
        assert_eq!(time(None), "never");
        assert_eq!(time(Some(0)), "1970-01-01 00:00:00 UTC");
        assert_eq!(time(Some(1_795_392_000)), "2026-11-23 00:00:00 UTC");
        assert_eq!(time(Some(951_782_400 + 3661)), "2000-02-29 01:01:01 UTC");
        assert_eq!(rfc3339(951_782_400 + 3661), "2000-02-29T01:01:01Z");
    }

    #[test]
    fn csv_neutralizes_every_formula_prefix_in_text_cells_only() {
        let mut l = Listing::new(vec!["text", "value"]);
        for bad in [
            "=1+2",
            "+33 6",
            "-2+3",
            "@SUM(A1)",
            "\t=cmd",
            "\r=cmd",
            "=HYPERLINK(\"http://x\",\"y\")",
        ] {
            l.rows
                .push(vec![Cell::text(bad), Cell::decimal(Some(-2.5), 1)]);
        }
        l.rows.push(vec![
            Cell::coded("=label", "code"),
            Cell::list(&["@a".into(), "b".into()], " "),
        ]);
        let csv = l.render(Format::Csv);
        let lines: Vec<&str> = csv.split('\n').collect();
        assert_eq!(lines[1], "'=1+2,-2.5");
        assert_eq!(lines[2], "'+33 6,-2.5");
        assert_eq!(lines[3], "'-2+3,-2.5");
        assert_eq!(lines[4], "'@SUM(A1),-2.5");
        assert_eq!(lines[5], "'\t=cmd,-2.5");
        assert_eq!(lines[6], "\"'\r=cmd\",-2.5");
        assert_eq!(lines[7], "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\",-2.5");
        assert_eq!(lines[8], "'=label,'@a b");
        // No field of any line starts with a formula character unquoted.
        for line in csv.lines().skip(1) {
            let first = line.trim_start_matches('"');
            assert!(first.starts_with('\''), "{line}");
        }
        // JSON and tables keep the text as it is.
        let json = l.to_json();
        assert_eq!(json[0]["text"], "=1+2");
        assert_eq!(json[0]["value"], -2.5);
        // A real negative number stays a number, missing stays a dash.
        let mut n = Listing::new(vec!["v", "m"]);
        n.rows
            .push(vec![Cell::decimal(Some(-0.25), 2), Cell::missing()]);
        assert_eq!(n.render(Format::Csv), "v,m\n-0.25,-\n");
        assert_eq!(csv_text("plain"), "plain");
        assert_eq!(csv_text("a,b"), "\"a,b\"");
    }

    #[test]
    fn decimals_are_rounded_in_json_too() {
        let mut l = Listing::new(vec!["v"]);
        l.rows.push(vec![Cell::decimal(Some(2.0 / 3.0), 2)]);
        l.rows.push(vec![Cell::decimal(Some(1000.0 / 7.0), 0)]);
        assert_eq!(l.to_json(), serde_json::json!([{"v": 0.67}, {"v": 143.0}]));
        assert_eq!(l.render(Format::Csv), "v\n0.67\n143\n");
    }
}
