//! What this hub answers the national hub: pure, so it is tested without
//! sockets. Only published results are read, so only cells that passed
//! disclosure control (a withheld cell stays withheld, without its
//! reason); only additive indicators (a plain sum of counts) are offered,
//! since only those add up across regions.

use passerelle_observatory::{catalog::Indicator, IndicatorResult};
use passerelle_protocol::{
    aggregate::{
        AggregateAnswer, AggregateQuery, AnswerCell, AppliedRule, CellValue, ComposedAnswer,
        ComposedFrom, Measure, Suppression, MAX_COMPOSED_FROM,
    },
    codec,
    envelope::ReplyBody,
    geo::Level,
    message::Refusal,
    sign::sha256,
};
use passerelle_provenance::{
    compose::Status,
    formula::{Formula, Term},
};

/// Whether an indicator may be offered upstream: a sum of counts or sums,
/// which adds up across regions (a ratio or a count of territories does
/// not).
pub fn offered(ind: &Indicator) -> bool {
    match &ind.formula {
        Formula::Sum(terms) => terms.iter().all(|t| !matches!(t, Term::Population)),
        _ => false,
    }
}

/// The dataset name under which an indicator is offered upstream: its id
/// with `_` for `-` (dataset names take no `-`, indicator ids no `_`, so
/// each name is one indicator's). The national catalog reads it as any
/// dataset: this hub's `personnes-recues` is the dataset
/// `personnes_recues` the national `personnes-recues` adds up.
pub fn dataset_name(ind: &Indicator) -> String {
    ind.id.replace('-', "_")
}

/// The indicator offered upstream under dataset name `dataset`.
pub fn indicator<'a>(catalog: &'a [Indicator], dataset: &str) -> Option<&'a Indicator> {
    catalog
        .iter()
        .find(|i| offered(i) && dataset_name(i) == dataset)
}

/// The datasets this hub offers upstream: what it reports in its status.
pub fn datasets(catalog: &[Indicator]) -> Vec<String> {
    catalog
        .iter()
        .filter(|i| offered(i))
        .map(dataset_name)
        .collect()
}

/// The answer to the national hub's aggregate query `q`, whose dataset is
/// one of this hub's indicators: its latest published result `result`, at
/// `levels`, for the periods asked.
///
/// # Errors
/// The refusal to send back: an indicator not offered, a measure or
/// breakdown other than the published total, no published result yet.
pub fn answer(
    q: &AggregateQuery,
    ind: Option<&Indicator>,
    result: Option<&IndicatorResult>,
    levels: &[Level],
) -> Result<ComposedAnswer, Refusal> {
    let ind = ind.filter(|i| offered(i)).ok_or_else(|| {
        Refusal::OutOfPolicy(format!(
            "{} is not an indicator this hub publishes as a sum",
            q.dataset
        ))
    })?;
    if q.measure != Measure::Count || q.by.is_some() {
        return Err(Refusal::OutOfPolicy(
            "a regional hub answers the published total only (measure count, no breakdown)".into(),
        ));
    }
    let result = result
        .ok_or_else(|| Refusal::Unavailable(format!("no published result of {} yet", ind.id)))?;
    if result.provenance.len() > MAX_COMPOSED_FROM {
        return Err(Refusal::Unavailable(
            "the published result has too many sources to name".into(),
        ));
    }
    let cells = result
        .cells
        .iter()
        .filter(|c| levels.contains(&c.level))
        .filter(|c| q.periods.is_empty() || q.periods.contains(&c.period))
        .filter_map(|c| {
            let value = match (c.status, c.value) {
                (Status::Released, Some(v)) => CellValue::Released(v),
                // Withheld here: withheld above, and why is not published.
                (Status::Suppressed, _) => CellValue::Suppressed(Suppression::Secondary),
                _ => return None,
            };
            Some(AnswerCell {
                level: c.level,
                code: c.code.clone(),
                period: c.period,
                category: None,
                value,
            })
        })
        .collect();
    // The weakest threshold among the answers the result was composed
    // from is the one that holds for it.
    let sources: Vec<AggregateAnswer> = result
        .provenance
        .iter()
        .filter_map(|p| codec::decode::<ReplyBody>(&p.signed.body).ok())
        .filter_map(|b| passerelle_provenance::bundle::answer(&b).cloned())
        .collect();
    let rule = AppliedRule {
        min_count: sources.iter().map(|a| a.rule.min_count).min().unwrap_or(0),
        dominance: None,
        rounding: None,
    };
    Ok(ComposedAnswer {
        answer: AggregateAnswer {
            query: q.clone(),
            categories: Vec::new(),
            rule,
            data_as_of: sources.iter().filter_map(|a| a.data_as_of).max(),
            cells,
        },
        from: ComposedFrom {
            indicator: ind.id.clone(),
            computed_at: result.computed_at,
            answers: result
                .provenance
                .iter()
                .map(|p| sha256(&p.signed.body))
                .collect(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use passerelle_observatory::{catalog, refresh::Coverage};
    use passerelle_protocol::period::Period;
    use passerelle_provenance::compose::ResultCell;

    fn cell(
        level: Level,
        code: &str,
        period: Period,
        value: Option<f64>,
        status: Status,
    ) -> ResultCell {
        ResultCell {
            level,
            code: code.into(),
            period,
            value,
            status,
        }
    }

    fn published() -> IndicatorResult {
        let (y24, y25) = (Period::Year(2024), Period::Year(2025));
        IndicatorResult {
            indicator: "personnes-recues".into(),
            computed_at: 1_700_000_000,
            cells: vec![
                cell(Level::Commune, "97611", y24, Some(40.0), Status::Released),
                cell(Level::Commune, "97607", y24, None, Status::Suppressed),
                cell(Level::Commune, "97601", y24, None, Status::Missing),
                cell(Level::Department, "976", y24, Some(52.0), Status::Released),
                cell(Level::Department, "976", y25, Some(60.0), Status::Released),
            ],
            coverage: Coverage::default(),
            provenance: Vec::new(),
            denominators: Default::default(),
            breakdowns: Vec::new(),
        }
    }

    fn query(dataset: &str) -> AggregateQuery {
        AggregateQuery {
            dataset: dataset.into(),
            measure: Measure::Count,
            periods: vec![],
            by: None,
        }
    }

    #[test]
    fn only_additive_indicators_are_offered_under_their_dataset_name() {
        let cat = catalog::load(None).unwrap();
        let offered = datasets(&cat);
        assert!(offered.contains(&"personnes_recues".to_string()));
        // A reference population and every ratio or rate stay home.
        assert!(!offered.contains(&"population".to_string()));
        for i in &cat {
            if !matches!(i.formula, Formula::Sum(_)) {
                assert!(!offered.contains(&dataset_name(i)), "{}", i.id);
            }
        }
        assert_eq!(
            indicator(&cat, "personnes_recues").map(|i| i.id.as_str()),
            Some("personnes-recues")
        );
        assert!(indicator(&cat, "personnes-recues").is_none());
    }

    #[test]
    fn published_cells_go_up_as_published_and_withheld_ones_stay_withheld() {
        let cat = catalog::load(None).unwrap();
        let ind = indicator(&cat, "personnes_recues");
        let r = published();
        let a = answer(&query("personnes_recues"), ind, Some(&r), &Level::ALL).unwrap();
        let values: Vec<(Level, &str, CellValue)> = a
            .answer
            .cells
            .iter()
            .filter(|c| c.period == Period::Year(2024))
            .map(|c| (c.level, c.code.as_str(), c.value))
            .collect();
        assert_eq!(
            values,
            vec![
                (Level::Commune, "97611", CellValue::Released(40.0)),
                (
                    Level::Commune,
                    "97607",
                    CellValue::Suppressed(Suppression::Secondary)
                ),
                (Level::Department, "976", CellValue::Released(52.0)),
            ]
        );
        assert_eq!(
            (a.from.indicator.as_str(), a.from.computed_at),
            ("personnes-recues", 1_700_000_000)
        );

        // Levels and periods asked.
        let mut q = query("personnes_recues");
        q.periods = vec![Period::Year(2025)];
        let a = answer(&q, ind, Some(&r), &[Level::Department]).unwrap();
        assert_eq!(a.answer.cells.len(), 1);
        assert_eq!(a.answer.cells[0].value, CellValue::Released(60.0));
    }

    #[test]
    fn anything_but_a_published_total_is_refused() {
        let cat = catalog::load(None).unwrap();
        let ind = indicator(&cat, "personnes_recues");
        let r = published();
        fn refused(
            q: &AggregateQuery,
            ind: Option<&Indicator>,
            r: Option<&IndicatorResult>,
        ) -> Refusal {
            answer(q, ind, r, &Level::ALL).unwrap_err()
        }
        let mut by = query("personnes_recues");
        by.by = Some("sexe".into());
        assert!(matches!(
            refused(&by, ind, Some(&r)),
            Refusal::OutOfPolicy(_)
        ));
        let mut sum = query("personnes_recues");
        sum.measure = Measure::Sum("montant".into());
        assert!(matches!(
            refused(&sum, ind, Some(&r)),
            Refusal::OutOfPolicy(_)
        ));
        assert!(matches!(
            refused(&query("personnes_recues"), ind, None),
            Refusal::Unavailable(_)
        ));
        assert!(matches!(
            refused(
                &query("population"),
                indicator(&cat, "population"),
                Some(&r)
            ),
            Refusal::OutOfPolicy(_)
        ));
    }
}
