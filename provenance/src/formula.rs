//! Indicator formulas: the terms an operand adds and how operands combine,
//! and the rounding of every published value. Pure: shared by the hub,
//! which composes indicators, and `passerelle-verify`, which recomputes
//! them from a provenance bundle.

use serde::{Deserialize, Serialize};

use crate::population::AgeBand;

/// One term of an operand.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Term {
    /// The count of a dataset.
    Count(String),
    /// The sum of a dataset's measure.
    Sum(String, String),
    /// The population of all ages: the operator's figures for the
    /// period's year (see [`crate::population`]), INSEE 2017 by default.
    Population,
    /// The population in an age band, from the operator's figures.
    PopulationAged(AgeBand),
}

impl Term {
    /// Reads `dataset`, `dataset.measure`, `ref:population` or
    /// `ref:population:BAND` (`60+`, `0-17`).
    ///
    /// # Errors
    /// The reason, when the text is none of these.
    pub fn parse(s: &str) -> Result<Self, String> {
        let plain = |x: &str| {
            !x.is_empty()
                && x.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        };
        if let Some(r) = s.strip_prefix("ref:") {
            return match r {
                "population" => Ok(Term::Population),
                other => match other.strip_prefix("population:") {
                    Some(band) => AgeBand::parse(band).map(Term::PopulationAged),
                    None => Err(format!(
                        "unknown reference {other:?} (known: ref:population, ref:population:60+)"
                    )),
                },
            };
        }
        match s.split_once('.') {
            None if plain(s) => Ok(Term::Count(s.into())),
            Some((d, m)) if plain(d) && plain(m) => Ok(Term::Sum(d.into(), m.into())),
            _ => Err(format!(
                "{s:?} is not a term: use dataset, dataset.measure or ref:population"
            )),
        }
    }

    /// The dataset it reads, if any.
    pub fn dataset(&self) -> Option<&str> {
        match self {
            Term::Count(d) | Term::Sum(d, _) => Some(d),
            Term::Population | Term::PopulationAged(_) => None,
        }
    }
}

impl std::fmt::Display for Term {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Term::Count(d) => f.write_str(d),
            Term::Sum(d, m) => write!(f, "{d}.{m}"),
            Term::Population => f.write_str("ref:population"),
            Term::PopulationAged(b) => write!(f, "ref:population:{b}"),
        }
    }
}

/// How an indicator is computed from its operands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Formula {
    /// a
    Sum(Vec<Term>),
    /// a − b
    Difference(Vec<Term>, Vec<Term>),
    /// a ÷ b
    Ratio(Vec<Term>, Vec<Term>),
    /// a ÷ b × per
    Rate(Vec<Term>, Vec<Term>, f64),
    /// Number of communes where a is above zero (territories served).
    Territories(Vec<Term>),
}

impl Formula {
    /// Every term, numerator first.
    pub fn terms(&self) -> Vec<&Term> {
        match self {
            Formula::Sum(a) | Formula::Territories(a) => a.iter().collect(),
            Formula::Difference(a, b) | Formula::Ratio(a, b) | Formula::Rate(a, b, _) => {
                a.iter().chain(b).collect()
            }
        }
    }

    /// The population terms (`None`: all ages), without repeats.
    pub fn populations(&self) -> Vec<Option<AgeBand>> {
        let mut p: Vec<Option<AgeBand>> = self
            .terms()
            .iter()
            .filter_map(|t| match t {
                Term::Population => Some(None),
                Term::PopulationAged(b) => Some(Some(*b)),
                Term::Count(_) | Term::Sum(..) => None,
            })
            .collect();
        p.sort();
        p.dedup();
        p
    }

    /// Datasets read, without repeats.
    pub fn datasets(&self) -> Vec<String> {
        let mut d: Vec<String> = self
            .terms()
            .iter()
            .filter_map(|t| t.dataset().map(String::from))
            .collect();
        d.sort();
        d.dedup();
        d
    }

    /// The formula in words, for indicator sheets.
    pub fn describe(&self) -> String {
        let list = |t: &[Term]| {
            t.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" + ")
        };
        match self {
            Formula::Sum(a) => list(a),
            Formula::Territories(a) => format!("communes où {} > 0", list(a)),
            Formula::Difference(a, b) => format!("({}) − ({})", list(a), list(b)),
            Formula::Ratio(a, b) => format!("({}) ÷ ({})", list(a), list(b)),
            Formula::Rate(a, b, per) => format!("({}) ÷ ({}) × {per}", list(a), list(b)),
        }
    }
}

impl Formula {
    /// Whether the formula divides or subtracts one operand by another: a
    /// partial side would make the result wrong, not just incomplete.
    pub fn two_sided(&self) -> bool {
        matches!(
            self,
            Formula::Difference(..) | Formula::Ratio(..) | Formula::Rate(..)
        )
    }
}

/// The most decimals an indicator may declare.
pub const MAX_DECIMALS: u8 = 4;

/// `v` rounded to `decimals` decimals (half away from zero), the value
/// every output of an indicator carries: the full-precision quotient of a
/// ratio would let a reader rebuild its numerator and denominator.
pub fn round(v: f64, decimals: u8) -> f64 {
    let scale = 10f64.powi(i32::from(decimals.min(MAX_DECIMALS)));
    let r = (v * scale).round() / scale;
    // No "-0" in any output.
    if r == 0.0 {
        0.0
    } else {
        r
    }
}
