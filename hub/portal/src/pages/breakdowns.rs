//! The breakdowns on an indicator's sheet: per breakdown its catalog entry
//! declares (`by`), a bar chart of the categories for Mayotte and a table
//! of every category for Mayotte and each intercommunality, at the period
//! shown, with links to its downloads. Every figure carries its cell's
//! marks and its category (`data-category="sexe=F"`); a withheld cell
//! says « secret statistique ».

use maud::{html, Markup};
use passerelle_observatory::{
    breakdown::{Breakdown, BreakdownCell},
    catalog::Indicator,
    compose::{ResultCell, Status},
    IndicatorResult,
};
use passerelle_protocol::{
    geo::{self, Level},
    period::Period,
};

use crate::{
    chart::{self, Bar},
    layout::{number, CellMark},
};

/// The mark of one breakdown figure.
pub fn mark(
    ind: &Indicator,
    by: &str,
    cat: &str,
    level: Level,
    code: &str,
    p: &Period,
) -> CellMark {
    CellMark {
        category: Some(format!("{by}={cat}")),
        ..CellMark::of(&ind.id, level, code, p)
    }
}

fn find<'a>(
    b: &'a Breakdown,
    cat: &str,
    level: Level,
    code: &str,
    period: &Period,
) -> Option<&'a BreakdownCell> {
    b.cells.iter().find(|c| {
        c.category == cat
            && c.cell.level == level
            && c.cell.code == code
            && &c.cell.period == period
    })
}

/// How a breakdown's dimension reads in a sentence ("par tranche d'âge").
pub fn dimension_label(by: &str) -> String {
    match by {
        "tranche_age" => "tranche d'âge".to_string(),
        "categorie" => "catégorie".to_string(),
        "type_aide" => "type d'aide".to_string(),
        other => other.replace('_', " "),
    }
}

/// How a category reads: the sexes in words, others as the node names
/// them.
pub fn category_label(by: &str, cat: &str) -> String {
    match (by, cat) {
        ("sexe", "F") => "Femmes".to_string(),
        ("sexe", "M") => "Hommes".to_string(),
        _ => cat.to_string(),
    }
}

/// Every breakdown of the result, at `period`.
pub fn section(ind: &Indicator, r: &IndicatorResult, period: &Period) -> Markup {
    html! {
        @for b in &r.breakdowns {
            (one(ind, b, period))
        }
    }
}

/// A breakdown figure without its unit (the caption gives it).
fn figure_text(c: Option<&ResultCell>, ind: &Indicator) -> Markup {
    html! {
        @match c {
            Some(ResultCell { value: Some(v), .. }) => (number(*v, ind.decimals)),
            Some(ResultCell { status: Status::Suppressed, .. }) => span.secret { "secret statistique" },
            _ => "non disponible",
        }
    }
}

fn one(ind: &Indicator, b: &Breakdown, period: &Period) -> Markup {
    let units: Vec<(Level, &str, &str)> =
        std::iter::once((Level::Department, geo::DEPARTMENT_CODE, "Mayotte"))
            .chain(geo::EPCIS.iter().map(|e| (Level::Epci, e.siren, e.name)))
            .collect();
    let bars: Vec<Bar> = b
        .categories
        .iter()
        .map(|cat| {
            let c = find(b, cat, Level::Department, geo::DEPARTMENT_CODE, period);
            Bar {
                name: category_label(&b.by, cat),
                value: c.and_then(|c| c.cell.value),
                absent: if c.is_some_and(|c| c.cell.status == Status::Suppressed) {
                    "secret statistique"
                } else {
                    "non disponible"
                },
                mark: mark(
                    ind,
                    &b.by,
                    cat,
                    Level::Department,
                    geo::DEPARTMENT_CODE,
                    period,
                ),
            }
        })
        .collect();
    let label = dimension_label(&b.by);
    html! {
        section.breakdown data-by=(b.by) {
            h2 { "Répartition par " (label) " — " (period) }
            @if !b.published() {
                p.note {
                    "Cette répartition n'est pas publiée pour ce calcul : "
                    "toutes les institutions qui fournissent le total ne l'ont pas transmise. "
                    "Une répartition incomplète ne correspondrait pas au total."
                }
            } @else {
                @let title = format!("{} par {label}, Mayotte, {period}", ind.title);
                (chart::bars(&title, &bars, &ind.unit, ind.decimals))
                // A row per territory and a column per category: narrow
                // enough for a phone with a handful of categories.
                table {
                    caption { (ind.title) " par " (label) " — " (period) " (" (ind.unit) ")" }
                    thead {
                        tr {
                            th scope="col" { "Territoire" }
                            @for cat in &b.categories { th scope="col" class="n" { (category_label(&b.by, cat)) } }
                        }
                    }
                    tbody {
                        @for (level, code, name) in &units {
                            tr {
                                th scope="row" { (name) }
                                @for cat in &b.categories {
                                    @let m = mark(ind, &b.by, cat, *level, code, period);
                                    @let c = find(b, cat, *level, code, period).map(|c| &c.cell);
                                    td.n data-indicator=(m.indicator) data-level=(m.level) data-code=(m.code)
                                        data-period=(m.period) data-category=[m.category.as_deref()] {
                                        (figure_text(c, ind))
                                    }
                                }
                            }
                        }
                    }
                }
                p {
                    a href={ "/donnees/" (ind.id) ".csv?par=" (b.by) } { "CSV de la répartition par " (label) }
                    " · "
                    a href={ "/donnees/" (ind.id) ".csv?par=" (b.by) "&format=csv-fr" } { "CSV pour tableur en français" }
                    " · "
                    a href={ "/api/indicators/" (ind.id) } { "JSON (champ breakdowns)" }
                }
            }
        }
    }
}
