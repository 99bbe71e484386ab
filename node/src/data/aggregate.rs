//! An aggregate answer from cubes, under the sharing policy, with
//! disclosure control. Pure: the caller loads cubes from the store.
//!
//! For each period the node builds one linked table: the geography
//! hierarchy (department → EPCI → communes) crossed with the total and the
//! categories of *every* breakdown the policy shares for the dataset (sex,
//! age band…), each breakdown adding up to the total on its own. Every cell
//! of that table is computed from the finest cells, disclosure control
//! (primary and secondary suppression, the group rule and interval
//! protection) runs on the whole linked table at once, and only then are the
//! levels the policy shares and the columns asked (the total, and the `by`
//! breakdown's categories if any) copied into the answer. So the answers to
//! the total alone, by sex and by age band all carry one joint decision: no
//! figure released in one lets a cell withheld in another be derived.
//! Levels the policy withholds are treated as suppressed during protection,
//! so a released cell never lets one be derived either.

use passerelle_config::dataset::{DatasetConfig, PolicyConfig};
use passerelle_protocol::{
    aggregate::{
        AggregateAnswer, AggregateQuery, AnswerCell, AppliedRule, CellValue, Measure, Suppression,
    },
    disclosure::{self, CellInput, CellStatus, Hierarchy, LinkedShape, PrimaryReason, Rule},
    geo::{self, Level},
    message::Refusal,
    period::Period,
    UnixTime,
};

use super::cube::Cube;

const EPCI_ROW: usize = 1;
const COMMUNE_ROW: usize = 1 + geo::EPCIS.len();

fn geography() -> Hierarchy {
    let mut parent = vec![None];
    parent.extend(geo::EPCIS.iter().map(|_| Some(0)));
    parent.extend(geo::COMMUNES.iter().map(|c| Some(EPCI_ROW + c.epci)));
    Hierarchy { parent }
}

fn row_unit(row: usize) -> (Level, &'static str) {
    match row {
        0 => (Level::Department, geo::DEPARTMENT_CODE),
        r if r < COMMUNE_ROW => (Level::Epci, geo::EPCIS[r - EPCI_ROW].siren),
        r => (Level::Commune, geo::COMMUNES[r - COMMUNE_ROW].code),
    }
}

/// Answers an aggregate query.
///
/// # Errors
/// [`Refusal::OutOfPolicy`] with the reason when the query asks for what
/// the policy does not share; [`Refusal::Unavailable`] when the dataset has
/// no data.
pub fn answer(
    q: &AggregateQuery,
    datasets: &[DatasetConfig],
    policy: &PolicyConfig,
    cubes: &[Cube],
    data_as_of: Option<UnixTime>,
) -> Result<AggregateAnswer, Refusal> {
    let asked = Asked::check(q, datasets, policy)?;
    if cubes.is_empty() {
        return Err(Refusal::Unavailable(format!(
            "no data in force for dataset {}",
            q.dataset
        )));
    }
    let table = Table::new(&asked, policy);
    let mut cells = Vec::new();
    for period in &periods(q, cubes) {
        let acc = table.accumulate(&asked, cubes, period);
        let status =
            disclosure::protect_linked(&table.shape, &table.inputs(&asked, &acc), &table.rule)
                .map_err(|e| Refusal::Unavailable(e.to_string()))?;
        cells.extend(table.released(&asked, &acc, &status, *period));
    }
    Ok(AggregateAnswer {
        query: q.clone(),
        categories: asked.categories,
        rule: AppliedRule {
            min_count: policy.min_cell,
            dominance: policy.dominance,
            rounding: table.rounding,
        },
        data_as_of,
        cells,
    })
}

/// What a query asks, checked against the policy: the shared levels, the
/// measure's column and the breakdown's dimension and categories.
struct Asked<'a> {
    share: &'a passerelle_config::dataset::ShareConfig,
    /// Index of the summed measure; `None` for a count.
    measure: Option<usize>,
    /// Position of the `by` dimension in `linked`.
    by: Option<usize>,
    categories: Vec<String>,
    /// Every breakdown the policy shares for the dataset (declared
    /// dimensions only): its dimension index and categories. The table is
    /// protected over all of them whatever the query asks.
    linked: Vec<(usize, Vec<String>)>,
}

impl<'a> Asked<'a> {
    /// Refuses, naming it, anything the policy does not share.
    fn check(
        q: &AggregateQuery,
        datasets: &[DatasetConfig],
        policy: &'a PolicyConfig,
    ) -> Result<Self, Refusal> {
        let out = |why: String| Refusal::OutOfPolicy(why);
        let share = policy
            .share
            .iter()
            .find(|s| s.dataset == q.dataset)
            .ok_or_else(|| {
                out(format!(
                    "dataset {:?} is not shared by this node",
                    q.dataset
                ))
            })?;
        let d = datasets
            .iter()
            .find(|d| d.name == q.dataset)
            .ok_or_else(|| out(format!("dataset {:?} is not declared", q.dataset)))?;
        let measure = match &q.measure {
            Measure::Count => None,
            Measure::Sum(m) if share.measures.contains(m) => Some(
                d.measures
                    .iter()
                    .position(|dm| &dm.name == m)
                    .ok_or_else(|| out(format!("measure {m:?} is not declared")))?,
            ),
            Measure::Sum(m) => {
                return Err(out(format!("measure {m:?} of {} is not shared", q.dataset)))
            }
        };
        let mut linked: Vec<(usize, Vec<String>)> = Vec::new();
        for name in &share.by {
            let Some(i) = d.dimensions.iter().position(|dim| &dim.column == name) else {
                continue;
            };
            if linked.iter().all(|(j, _)| *j != i) {
                linked.push((i, d.dimensions[i].allowed()));
            }
        }
        let (by, categories) = match &q.by {
            None => (None, Vec::new()),
            Some(by) if share.by.contains(by) => {
                let i = d
                    .dimensions
                    .iter()
                    .position(|dim| &dim.column == by)
                    .ok_or_else(|| out(format!("dimension {by:?} is not declared")))?;
                let slot = linked.iter().position(|(j, _)| *j == i);
                (slot, d.dimensions[i].allowed())
            }
            Some(by) => {
                return Err(out(format!(
                    "breakdown of {} by {by:?} is not shared",
                    q.dataset
                )))
            }
        };
        Ok(Self {
            share,
            measure,
            by,
            categories,
            linked,
        })
    }
}

/// The periods asked, or every period the cubes hold.
fn periods(q: &AggregateQuery, cubes: &[Cube]) -> Vec<Period> {
    let mut periods: Vec<Period> = if q.periods.is_empty() {
        let mut all: Vec<Period> = cubes.iter().flat_map(Cube::periods).collect();
        all.sort();
        all
    } else {
        q.periods.clone()
    };
    periods.dedup();
    periods
}

/// Count, sum and largest contribution of one table cell.
type Acc = (u64, f64, f64);

/// One period's linked table: geography rows crossed with the total and
/// every shared breakdown's categories, and the rule that protects it.
struct Table {
    shape: LinkedShape,
    n_cols: usize,
    /// First column of each linked breakdown.
    first: Vec<usize>,
    rule: Rule,
    rounding: Option<u64>,
}

impl Table {
    fn new(asked: &Asked, policy: &PolicyConfig) -> Self {
        let shape = LinkedShape::new(
            geography(),
            asked.linked.iter().map(|(_, cats)| cats.len()).collect(),
        );
        let n_cols = shape.column_count();
        let first = (0..asked.linked.len())
            .map(|b| shape.first_column(b).unwrap_or(n_cols))
            .collect();
        Self {
            shape,
            n_cols,
            first,
            rule: Rule {
                min_count: policy.min_cell,
                dominance: policy.dominance,
            },
            rounding: (policy.rounding > 1).then_some(policy.rounding),
        }
    }

    /// Every cell of the period's table from the finest cells: each
    /// commune adds to its EPCI and the department, each category of every
    /// breakdown to the total.
    fn accumulate(&self, asked: &Asked, cubes: &[Cube], period: &Period) -> Vec<Acc> {
        let mut acc = vec![(0u64, 0.0f64, 0.0f64); self.shape.rows.parent.len() * self.n_cols];
        for cube in cubes {
            for (key, agg) in cube.cells.iter().filter(|(k, _)| &k.period == period) {
                let commune = key.commune as usize;
                let row_chain = [
                    COMMUNE_ROW + commune,
                    EPCI_ROW + geo::COMMUNES[commune].epci,
                    0,
                ];
                let leaf_cols =
                    asked
                        .linked
                        .iter()
                        .zip(&self.first)
                        .filter_map(|((dim, cats), first)| {
                            let v = usize::from(*key.dims.get(*dim)?);
                            (v < cats.len()).then_some(first + v)
                        });
                let (sum, max) = asked
                    .measure
                    .map(|m| (agg.sums[m], agg.maxes[m]))
                    .unwrap_or((0.0, 0.0));
                let cols: Vec<usize> = std::iter::once(0).chain(leaf_cols).collect();
                for r in row_chain {
                    for &c in &cols {
                        let cell = &mut acc[r * self.n_cols + c];
                        cell.0 += agg.count;
                        cell.1 += sum;
                        cell.2 = cell.2.max(max);
                    }
                }
            }
        }
        acc
    }

    /// What disclosure control needs of each cell. A level the policy
    /// does not share is hidden from the start.
    fn inputs(&self, asked: &Asked, acc: &[Acc]) -> Vec<CellInput> {
        acc.iter()
            .enumerate()
            .map(|(i, (count, sum, max))| {
                let (level, _) = row_unit(i / self.n_cols);
                let max_share = match asked.measure {
                    Some(_) if *sum > 0.0 && *max > 0.0 => Some(max / sum),
                    _ => None,
                };
                CellInput {
                    count: *count,
                    max_share,
                    withheld: !asked.share.levels.contains(&level),
                }
            })
            .collect()
    }

    /// The answer's cells: released values, suppressed cells with their
    /// reason, for the total and the asked breakdown's columns only;
    /// withheld levels are left out.
    fn released(
        &self,
        asked: &Asked,
        acc: &[Acc],
        status: &[CellStatus],
        period: Period,
    ) -> Vec<AnswerCell> {
        let mut cells = Vec::new();
        for (i, st) in status.iter().enumerate() {
            let (level, code) = row_unit(i / self.n_cols);
            if !asked.share.levels.contains(&level) {
                continue;
            }
            let col = i % self.n_cols;
            let category = if col == 0 {
                None
            } else {
                let b = asked.by.filter(|&b| {
                    let first = self.first[b];
                    (first..first + asked.linked[b].1.len()).contains(&col)
                });
                match b {
                    Some(b) => Some(asked.linked[b].1[col - self.first[b]].clone()),
                    None => continue,
                }
            };
            let (count, sum, _) = acc[i];
            let value = match st {
                CellStatus::Released => CellValue::Released(match asked.measure {
                    Some(_) => sum,
                    None => round(count, self.rounding) as f64,
                }),
                CellStatus::Primary(PrimaryReason::Threshold) => {
                    CellValue::Suppressed(Suppression::Threshold)
                }
                CellStatus::Primary(PrimaryReason::Dominance) => {
                    CellValue::Suppressed(Suppression::Dominance)
                }
                // Not reached: withheld levels are skipped above.
                CellStatus::Primary(PrimaryReason::Withheld) => continue,
                CellStatus::Secondary => CellValue::Suppressed(Suppression::Secondary),
            };
            cells.push(AnswerCell {
                level,
                code: code.to_string(),
                period,
                category,
                value,
            });
        }
        cells
    }
}

fn round(count: u64, base: Option<u64>) -> u64 {
    match base {
        Some(b) => (count + b / 2) / b * b,
        None => count,
    }
}

#[cfg(test)]
#[path = "aggregate_tests.rs"]
mod tests;
