//! The one CSV writer of the portal's downloads, in two dialects:
//!
//! - **standard** (`?format=csv`, the default): `,` between fields, `.`
//!   as decimal point, UTF-8 without BOM, for programs;
//! - **French spreadsheet** (`?format=csv-fr`): `;` between fields, `,`
//!   as decimal comma, UTF-8 with a byte-order mark, so a spreadsheet set
//!   up in French opens it with accents and numbers right.
//!
//! Both end lines with `\n` and quote a field holding the separator, a
//! quote or a line break; text that a spreadsheet would run as a formula
//! gets a leading `'` ([`csv_text_with`]). Periods are written as the
//! catalog names them (`2025-T2`) and any date as ISO 8601 in both
//! dialects: they are identifiers, the same for people and programs.

use passerelle_link::output::csv_text_with;

/// Which CSV a download is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// `,`, decimal point, no BOM.
    Standard,
    /// `;`, decimal comma, UTF-8 BOM.
    French,
}

/// The byte-order mark the French dialect starts with.
pub const BOM: char = '\u{feff}';

impl Dialect {
    /// The dialect a `format` query asks for (`csv` or none: standard,
    /// `csv-fr`: French); `None` for anything else.
    pub fn from_query(format: Option<&str>) -> Option<Self> {
        match format {
            None | Some("csv") => Some(Self::Standard),
            Some("csv-fr") => Some(Self::French),
            Some(_) => None,
        }
    }

    /// The field separator.
    pub fn separator(self) -> char {
        match self {
            Self::Standard => ',',
            Self::French => ';',
        }
    }

    /// What goes before the extension of the file name (`-fr` or none).
    pub fn file_suffix(self) -> &'static str {
        match self {
            Self::Standard => "",
            Self::French => "-fr",
        }
    }

    /// The `format` query value that asks for it.
    pub fn query(self) -> &'static str {
        match self {
            Self::Standard => "csv",
            Self::French => "csv-fr",
        }
    }
}

/// One field of a row.
#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    /// Text from anywhere, neutralized and quoted when needed.
    Text(&'a str),
    /// Text always quoted (a name, as the standard file always had it).
    Quoted(&'a str),
    /// A number with exactly these decimals; empty when `None`.
    Number(Option<f64>, u8),
}

/// A CSV file being written.
#[derive(Debug)]
pub struct Csv {
    dialect: Dialect,
    out: String,
}

impl Csv {
    /// A file in `dialect` starting with its header row.
    pub fn new(dialect: Dialect, header: &[&str]) -> Self {
        let mut out = String::new();
        if dialect == Dialect::French {
            out.push(BOM);
        }
        let mut csv = Self { dialect, out };
        let fields: Vec<Field<'_>> = header.iter().map(|h| Field::Text(h)).collect();
        csv.row(&fields);
        csv
    }

    /// Appends one row.
    pub fn row(&mut self, fields: &[Field<'_>]) {
        let sep = self.dialect.separator();
        for (k, f) in fields.iter().enumerate() {
            if k > 0 {
                self.out.push(sep);
            }
            match *f {
                Field::Text(t) => self.out.push_str(&csv_text_with(t, sep)),
                Field::Quoted(t) => {
                    let t = csv_text_with(t, sep);
                    if t.starts_with('"') {
                        self.out.push_str(&t);
                    } else {
                        self.out.push('"');
                        self.out.push_str(&t);
                        self.out.push('"');
                    }
                }
                Field::Number(Some(v), decimals) => {
                    let digits = usize::from(decimals);
                    let text = format!("{v:.digits$}");
                    match self.dialect {
                        Dialect::Standard => self.out.push_str(&text),
                        Dialect::French => self.out.push_str(&text.replace('.', ",")),
                    }
                }
                Field::Number(None, _) => {}
            }
        }
        self.out.push('\n');
    }

    /// The file's text.
    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(d: Dialect) -> String {
        let mut c = Csv::new(d, &["nom", "valeur"]);
        c.row(&[
            Field::Quoted("Kani-Kéli; \"sud\""),
            Field::Number(Some(1234.5), 2),
        ]);
        c.row(&[Field::Text("=1+1"), Field::Number(None, 1)]);
        c.row(&[Field::Text("a,b"), Field::Number(Some(-0.3), 1)]);
        c.finish()
    }

    #[test]
    fn the_standard_dialect_is_comma_and_point_without_bom() {
        assert_eq!(
            file(Dialect::Standard),
            "nom,valeur\n\"Kani-Kéli; \"\"sud\"\"\",1234.50\n'=1+1,\n\"a,b\",-0.3\n"
        );
    }

    #[test]
    fn the_french_dialect_is_semicolon_and_comma_with_bom() {
        assert_eq!(
            file(Dialect::French),
            "\u{feff}nom;valeur\n\"Kani-Kéli; \"\"sud\"\"\";1234,50\n'=1+1;\na,b;-0,3\n"
        );
    }

    #[test]
    fn the_query_names_the_dialect() {
        assert_eq!(Dialect::from_query(None), Some(Dialect::Standard));
        assert_eq!(Dialect::from_query(Some("csv-fr")), Some(Dialect::French));
        assert_eq!(Dialect::from_query(Some("xls")), None);
    }
}
