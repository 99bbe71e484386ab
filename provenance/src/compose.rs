//! Composing an indicator from node answers. Pure: the caller gathers the
//! verified answers; this adds them cell by cell and applies the formula.
//!
//! A composed cell is released only when every contribution to it is
//! released. A cell any node suppressed stays suppressed (the hub never
//! guesses it), and a cell no node answered is missing. The EPCI and
//! department values come from the nodes' own EPCI and department cells,
//! not from adding communes, so a suppressed commune does not hide its EPCI.

use std::collections::{BTreeMap, BTreeSet};

use passerelle_protocol::{
    aggregate::{AggregateAnswer, CellValue, Measure, Suppression},
    geo::{self, Level},
    period::Period,
};
use serde::{Deserialize, Serialize};

use crate::{
    formula::{round, Formula, Term},
    population::Denominators,
};

/// Where a composed value stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Published.
    Released,
    /// Withheld by a node's disclosure control.
    Suppressed,
    /// No data (no node answered, or a zero denominator).
    Missing,
}

/// One published cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultCell {
    /// Level.
    pub level: Level,
    /// Unit code.
    pub code: String,
    /// Period.
    pub period: Period,
    /// Value, when released.
    pub value: Option<f64>,
    /// Status.
    pub status: Status,
}

/// The measure a term asks of its dataset.
pub fn measure(term: &Term) -> Option<(String, Measure)> {
    match term {
        Term::Count(d) => Some((d.clone(), Measure::Count)),
        Term::Sum(d, m) => Some((d.clone(), Measure::Sum(m.clone()))),
        Term::Population | Term::PopulationAged(_) => None,
    }
}

/// Answers gathered for one (dataset, measure).
pub type Answers = BTreeMap<(String, Measure), Vec<AggregateAnswer>>;

#[derive(Clone, Copy)]
enum V {
    Val(f64),
    Suppressed,
    Missing,
}

fn combine(a: V, b: V, f: impl Fn(f64, f64) -> Option<f64>) -> V {
    match (a, b) {
        (V::Missing, _) | (_, V::Missing) => V::Missing,
        (V::Suppressed, _) | (_, V::Suppressed) => V::Suppressed,
        (V::Val(x), V::Val(y)) => f(x, y).map(V::Val).unwrap_or(V::Missing),
    }
}

/// The year of a period.
pub fn year(period: &Period) -> u16 {
    match *period {
        Period::Year(y) | Period::Quarter(y, _) | Period::Month(y, _) => y,
    }
}

/// A population term's value: the recorded denominator for the period's
/// year, or with none recorded, the built-in 2017 figure (all ages only).
fn population(term: &Term, den: &Denominators, level: Level, code: &str, period: &Period) -> V {
    let ages = match term {
        Term::PopulationAged(b) => Some(*b),
        _ => None,
    };
    let recorded = den.value(year(period), ages, level, code);
    let v = match (recorded, ages) {
        (Some(v), _) => Some(v),
        (None, None) => geo::population_2017(level, code),
        (None, Some(_)) => None,
    };
    v.map(|p| V::Val(p as f64)).unwrap_or(V::Missing)
}

fn term_value(
    term: &Term,
    answers: &Answers,
    den: &Denominators,
    (level, code, period): (Level, &str, &Period),
) -> V {
    let Some(key) = measure(term) else {
        return population(term, den, level, code, period);
    };
    let Some(list) = answers.get(&key) else {
        return V::Missing;
    };
    let mut out = V::Missing;
    for a in list {
        let cell = a.cells.iter().find(|c| {
            c.level == level && c.code == code && &c.period == period && c.category.is_none()
        });
        let v = match cell.map(|c| c.value) {
            Some(CellValue::Released(x)) => V::Val(x),
            Some(CellValue::Suppressed(_)) => V::Suppressed,
            None => continue,
        };
        out = match out {
            V::Missing => v,
            prev => combine(prev, v, |x, y| Some(x + y)),
        };
    }
    out
}

fn operand(
    terms: &[Term],
    answers: &Answers,
    den: &Denominators,
    (level, code, period): (Level, &str, &Period),
) -> V {
    terms
        .iter()
        .map(|t| term_value(t, answers, den, (level, code, period)))
        .reduce(|a, b| combine(a, b, |x, y| Some(x + y)))
        .unwrap_or(V::Missing)
}

/// The periods covered by the answers; the reference year alone when the
/// indicator reads only the built-in population.
pub fn periods(formula: &Formula, answers: &Answers) -> Vec<Period> {
    periods_with(formula, answers, &Denominators::default())
}

/// The periods covered by the answers; for an indicator that reads only
/// populations, the years of its recorded denominators, or 2017 (the
/// built-in figures).
pub fn periods_with(formula: &Formula, answers: &Answers, den: &Denominators) -> Vec<Period> {
    let set: BTreeSet<Period> = answers
        .values()
        .flatten()
        .flat_map(|a| a.cells.iter().map(|c| c.period))
        .collect();
    if set.is_empty() && formula.datasets().is_empty() {
        let years = den.years();
        if years.is_empty() {
            return vec![Period::Year(2017)];
        }
        return years.into_iter().map(Period::Year).collect();
    }
    set.into_iter().collect()
}

/// Whether people were counted in a commune: `Some(true)` when a node
/// released a positive count or withheld it for being small or dominated
/// (so at least one contributor), `Some(false)` when every source says
/// zero or has no row, `None` when a secondary suppression might hide a
/// zero.
fn served(terms: &[Term], answers: &Answers, commune: &str, period: &Period) -> Option<bool> {
    let mut unknown = false;
    for term in terms {
        let Some(list) = measure(term).and_then(|k| answers.get(&k)) else {
            continue;
        };
        for a in list {
            let cell = a.cells.iter().find(|c| {
                c.level == Level::Commune
                    && c.code == commune
                    && &c.period == period
                    && c.category.is_none()
            });
            match cell.map(|c| c.value) {
                Some(CellValue::Released(x)) if x > 0.0 => return Some(true),
                Some(CellValue::Suppressed(Suppression::Threshold | Suppression::Dominance)) => {
                    return Some(true)
                }
                Some(CellValue::Suppressed(Suppression::Secondary)) => unknown = true,
                _ => {}
            }
        }
    }
    (!unknown).then_some(false)
}

fn masked(terms: &[Term], answers: &Answers, commune: &str, period: &Period) -> bool {
    terms
        .iter()
        .filter_map(|t| measure(t).and_then(|k| answers.get(&k)))
        .flatten()
        .any(|a| {
            a.cells.iter().any(|c| {
                c.level == Level::Commune
                    && c.code == commune
                    && &c.period == period
                    && c.category.is_none()
                    && matches!(c.value, CellValue::Suppressed(_))
            })
        })
}

fn territories(terms: &[Term], answers: &Answers, level: Level, code: &str, period: &Period) -> V {
    // At the commune level a 1 for a small masked cell would tell which
    // cell of a masked pair is the small one: any masking masks the answer.
    if level == Level::Commune && masked(terms, answers, code, period) {
        return V::Suppressed;
    }
    let mut n = 0.0;
    for (i, c) in geo::COMMUNES.iter().enumerate() {
        if geo::parent_code(i, level) != code {
            continue;
        }
        match served(terms, answers, c.code, period) {
            Some(true) => n += 1.0,
            Some(false) => {}
            None => return V::Suppressed,
        }
    }
    V::Val(n)
}

/// Composes an indicator (its formula, rounded to `decimals`) for every
/// unit of every level and every period, with the built-in 2017
/// population.
pub fn compose(formula: &Formula, decimals: u8, answers: &Answers) -> Vec<ResultCell> {
    compose_with(formula, decimals, answers, &Denominators::default())
}

/// [`compose`] with recorded denominators (see [`crate::population`]).
pub fn compose_with(
    formula: &Formula,
    decimals: u8,
    answers: &Answers,
    den: &Denominators,
) -> Vec<ResultCell> {
    let mut out = Vec::new();
    for period in periods_with(formula, answers, den) {
        for level in Level::ALL {
            for code in geo::codes(level) {
                let at = (level, code, &period);
                let v = match formula {
                    Formula::Territories(a) => territories(a, answers, level, code, &period),
                    Formula::Sum(a) => operand(a, answers, den, at),
                    Formula::Difference(a, b) => combine(
                        operand(a, answers, den, at),
                        operand(b, answers, den, at),
                        |x, y| Some(x - y),
                    ),
                    Formula::Ratio(a, b) => combine(
                        operand(a, answers, den, at),
                        operand(b, answers, den, at),
                        |x, y| (y != 0.0).then(|| x / y),
                    ),
                    Formula::Rate(a, b, per) => combine(
                        operand(a, answers, den, at),
                        operand(b, answers, den, at),
                        |x, y| (y != 0.0).then(|| x / y * per),
                    ),
                };
                let (value, status) = match v {
                    V::Val(x) => (Some(round(x, decimals)), Status::Released),
                    V::Suppressed => (None, Status::Suppressed),
                    V::Missing => (None, Status::Missing),
                };
                out.push(ResultCell {
                    level,
                    code: code.to_string(),
                    period,
                    value,
                    status,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use passerelle_protocol::aggregate::{AggregateQuery, AnswerCell, AppliedRule};

    fn answer(dataset: &str, cells: Vec<(Level, &str, CellValue)>) -> AggregateAnswer {
        AggregateAnswer {
            query: AggregateQuery {
                dataset: dataset.into(),
                measure: Measure::Count,
                periods: vec![],
                by: None,
            },
            categories: vec![],
            rule: AppliedRule {
                min_count: 11,
                dominance: None,
                rounding: None,
            },
            data_as_of: None,
            cells: cells
                .into_iter()
                .map(|(level, code, value)| AnswerCell {
                    level,
                    code: code.into(),
                    period: Period::Year(2024),
                    category: None,
                    value,
                })
                .collect(),
        }
    }

    fn cell<'a>(cells: &'a [ResultCell], level: Level, code: &str) -> &'a ResultCell {
        cells
            .iter()
            .find(|c| c.level == level && c.code == code)
            .unwrap()
    }

    #[test]
    fn sums_nodes_and_keeps_suppression() {
        let mut answers = Answers::new();
        answers.insert(
            ("recus".into(), Measure::Count),
            vec![
                answer(
                    "recus",
                    vec![
                        (Level::Commune, "97611", CellValue::Released(40.0)),
                        (Level::Commune, "97607", CellValue::Released(12.0)),
                    ],
                ),
                answer(
                    "recus",
                    vec![
                        (Level::Commune, "97611", CellValue::Released(15.0)),
                        (
                            Level::Commune,
                            "97607",
                            CellValue::Suppressed(Suppression::Threshold),
                        ),
                    ],
                ),
            ],
        );
        let cells = compose(
            &Formula::Sum(vec![Term::Count("recus".into())]),
            0,
            &answers,
        );
        assert_eq!(cell(&cells, Level::Commune, "97611").value, Some(55.0));
        assert_eq!(
            cell(&cells, Level::Commune, "97607").status,
            Status::Suppressed
        );
        assert_eq!(
            cell(&cells, Level::Commune, "97601").status,
            Status::Missing
        );
    }

    #[test]
    fn rates_use_the_population_reference() {
        let mut answers = Answers::new();
        answers.insert(
            ("rsa".into(), Measure::Count),
            vec![answer(
                "rsa",
                vec![(Level::Department, "976", CellValue::Released(25_651.8))],
            )],
        );
        let f = Formula::Rate(
            vec![Term::Count("rsa".into())],
            vec![Term::Population],
            1000.0,
        );
        let cells = compose(&f, 0, &answers);
        let v = cell(&cells, Level::Department, "976").value.unwrap();
        assert!((v - 100.0).abs() < 1e-9, "{v}");
        let pop = compose(&Formula::Sum(vec![Term::Population]), 0, &Answers::new());
        assert_eq!(cell(&pop, Level::Department, "976").value, Some(256_518.0));
        assert_eq!(pop[0].period, Period::Year(2017));
    }

    #[test]
    fn territories_count_communes_with_people_and_never_guess() {
        let mut answers = Answers::new();
        answers.insert(
            ("recus".into(), Measure::Count),
            vec![answer(
                "recus",
                vec![
                    // Grand Nord: Acoua 30, Bandraboua small, Koungou 0, Mtsamboro none.
                    (Level::Commune, "97601", CellValue::Released(30.0)),
                    (
                        Level::Commune,
                        "97602",
                        CellValue::Suppressed(Suppression::Threshold),
                    ),
                    (Level::Commune, "97610", CellValue::Released(0.0)),
                    // Petite-Terre: Dzaoudzi 12, Pamandzi hidden by secondary suppression.
                    (Level::Commune, "97608", CellValue::Released(12.0)),
                    (
                        Level::Commune,
                        "97615",
                        CellValue::Suppressed(Suppression::Secondary),
                    ),
                ],
            )],
        );
        let cells = compose(
            &Formula::Territories(vec![Term::Count("recus".into())]),
            0,
            &answers,
        );
        assert_eq!(cell(&cells, Level::Epci, "200060465").value, Some(2.0));
        assert_eq!(
            cell(&cells, Level::Epci, "200050532").status,
            Status::Suppressed
        );
        assert_eq!(cell(&cells, Level::Commune, "97601").value, Some(1.0));
        // A small masked commune is not shown as served: that would tell
        // which cell of a masked pair is the small one.
        assert_eq!(
            cell(&cells, Level::Commune, "97602").status,
            Status::Suppressed
        );
        assert_eq!(
            cell(&cells, Level::Department, "976").status,
            Status::Suppressed
        );
    }
}
