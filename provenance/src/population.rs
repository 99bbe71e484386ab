//! Reference populations a composition divides by. Pure: the hub works out
//! the denominators from the operator's population file (or uses the
//! built-in 2017 figures) and records them in the result and in its
//! signed statement, so `passerelle-verify` recomputes with the very same
//! denominators, and a reader sees which population year each rate used.

use std::collections::BTreeSet;

use passerelle_protocol::geo::Level;
use serde::{Deserialize, Serialize};

/// Ages from `from` to `to` included (`to` absent: `from` and over).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeBand {
    /// Youngest age counted.
    pub from: u8,
    /// Oldest age counted, if any.
    pub to: Option<u8>,
}

/// The oldest age of population files (100 means 100 and over).
pub const MAX_AGE: u8 = 100;

impl AgeBand {
    /// Reads `60+` or `0-17`.
    ///
    /// # Errors
    /// The reason, when the text is neither.
    pub fn parse(s: &str) -> Result<Self, String> {
        let age = |x: &str| {
            x.parse::<u8>()
                .ok()
                .filter(|a| *a <= MAX_AGE && !x.starts_with('+'))
        };
        let band = match s.strip_suffix('+') {
            Some(from) => age(from).map(|from| AgeBand { from, to: None }),
            None => s.split_once('-').and_then(|(a, b)| {
                let (from, to) = (age(a)?, age(b)?);
                (from <= to).then_some(AgeBand { from, to: Some(to) })
            }),
        };
        band.ok_or_else(|| {
            format!("{s:?} is not an age band: write 60+ (60 and over) or 0-17 (0 to 17), ages 0 to {MAX_AGE}")
        })
    }

    /// Whether an age is in the band.
    pub fn contains(&self, age: u8) -> bool {
        age >= self.from && self.to.is_none_or(|t| age <= t)
    }
}

impl std::fmt::Display for AgeBand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to {
            None => write!(f, "{}+", self.from),
            Some(t) => write!(f, "{}-{t}", self.from),
        }
    }
}

/// One denominator: the population of a unit, in an age band (or all
/// ages), used for the periods of one year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Denominator {
    /// The year of the periods it is used for.
    pub year: u16,
    /// The age band, or all ages.
    pub ages: Option<AgeBand>,
    /// Level.
    pub level: Level,
    /// Unit code.
    pub code: String,
    /// The year of the population figures used.
    pub source_year: u16,
    /// The population.
    pub value: u64,
}

/// The denominators a composition used. Empty: the built-in 2017 figures
/// (all ages only), as before population files existed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Denominators(pub Vec<Denominator>);

impl Denominators {
    /// Whether none is recorded (the built-in 2017 figures apply).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The population for the periods of `year`, if recorded.
    pub fn value(&self, year: u16, ages: Option<AgeBand>, level: Level, code: &str) -> Option<u64> {
        self.0
            .iter()
            .find(|d| d.year == year && d.ages == ages && d.level == level && d.code == code)
            .map(|d| d.value)
    }

    /// Years the figures come from, oldest first.
    pub fn source_years(&self) -> Vec<u16> {
        let set: BTreeSet<u16> = self.0.iter().map(|d| d.source_year).collect();
        set.into_iter().collect()
    }

    /// Years of periods they are recorded for, oldest first.
    pub fn years(&self) -> Vec<u16> {
        let set: BTreeSet<u16> = self.0.iter().map(|d| d.year).collect();
        set.into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_bands_read_and_write_back() {
        let b = AgeBand::parse("60+").unwrap();
        assert_eq!(b, AgeBand { from: 60, to: None });
        assert!(b.contains(60) && b.contains(100) && !b.contains(59));
        let b = AgeBand::parse("0-17").unwrap();
        assert!(b.contains(0) && b.contains(17) && !b.contains(18));
        assert_eq!(b.to_string(), "0-17");
        for bad in ["", "60", "+60+", "18-3", "0-101", "a-b", "-1+"] {
            assert!(AgeBand::parse(bad).is_err(), "{bad}");
        }
    }
}
