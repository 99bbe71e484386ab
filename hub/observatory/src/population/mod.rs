//! Reference populations supplied by the operator: population by commune,
//! year and age, read from an INSEE file ([`insee`]), so that each rate
//! divides by the population of its own year and age-specific rates
//! (`ref:population:60+`) become possible. Without a file, the built-in
//! INSEE 2017 figures (all ages) stay the denominators.
//!
//! For a period of year `Y`, the figures used are those of the latest year
//! of the file not after `Y`; a period earlier than every year of the file
//! uses the built-in 2017 figures (all ages), and has no value for an age
//! band. The denominators used are recorded in each result and in its
//! provenance bundle ([`passerelle_provenance::population`]).

pub mod insee;

use std::collections::BTreeMap;

use passerelle_protocol::geo::{self, Level};
pub use passerelle_provenance::population::{AgeBand, Denominator, Denominators, MAX_AGE};
use passerelle_provenance::{
    compose::{periods, year},
    formula::Formula,
};

use crate::compose::Answers;

pub use insee::PopulationError;

/// People of one commune and year, by age (0 to 100, 100 meaning 100 and
/// over).
pub type Ages = Vec<f64>;

/// Population by year, commune (index in [`geo::COMMUNES`]) and age.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Populations {
    years: BTreeMap<u16, BTreeMap<usize, Ages>>,
}

impl Populations {
    /// Whether there is no figure (the built-in 2017 ones apply).
    pub fn is_empty(&self) -> bool {
        self.years.is_empty()
    }

    /// The years held, oldest first.
    pub fn years(&self) -> Vec<u16> {
        self.years.keys().copied().collect()
    }

    /// Adds the years of `other`, replacing those held already.
    pub fn merge(&mut self, other: Populations) {
        self.years.extend(other.years);
    }

    /// The population of a unit in a year, in an age band (or all ages),
    /// rounded to a whole number.
    pub fn value(&self, year: u16, ages: Option<AgeBand>, level: Level, code: &str) -> Option<u64> {
        let communes = self.years.get(&year)?;
        let mut total = 0.0;
        for (i, c) in communes {
            if geo::parent_code(*i, level) != code {
                continue;
            }
            total += c
                .iter()
                .zip(0..=MAX_AGE)
                .filter(|(_, age)| ages.is_none_or(|b| b.contains(*age)))
                .map(|(n, _)| n)
                .sum::<f64>();
        }
        Some(total.round() as u64)
    }

    /// The latest year held not after `year`.
    fn source_year(&self, year: u16) -> Option<u16> {
        self.years.range(..=year).next_back().map(|(y, _)| *y)
    }

    /// The denominators a formula divides by for the periods of these
    /// answers (every year held, for a formula of populations only).
    pub fn denominators(&self, formula: &Formula, answers: &Answers) -> Denominators {
        let bands = formula.populations();
        if bands.is_empty() || self.is_empty() {
            return Denominators::default();
        }
        let mut years: Vec<u16> = if formula.datasets().is_empty() {
            self.years()
        } else {
            periods(formula, answers).iter().map(year).collect()
        };
        years.sort_unstable();
        years.dedup();
        let mut out = Vec::new();
        for y in years {
            let Some(source_year) = self.source_year(y) else {
                continue;
            };
            for ages in &bands {
                for level in Level::ALL {
                    for code in geo::codes(level) {
                        if let Some(value) = self.value(source_year, *ages, level, code) {
                            out.push(Denominator {
                                year: y,
                                ages: *ages,
                                level,
                                code: code.to_string(),
                                source_year,
                                value,
                            });
                        }
                    }
                }
            }
        }
        Denominators(out)
    }
}

#[cfg(test)]
mod tests;
