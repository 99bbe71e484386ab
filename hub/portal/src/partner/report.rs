//! The printable quarterly activity report of a territory: the activity
//! indicators a programme contributes to, this period and the one before.

use std::sync::Arc;

use axum::{
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::Response,
};
use maud::{html, Markup};
use passerelle_link::now;
use passerelle_protocol::{
    geo::{self, Level},
    period::Period,
};
use serde::Deserialize;

use super::{private, session, to_login};
use crate::{
    layout::{date, number, page, CellMark},
    state::Ctx,
};
use passerelle_observatory::{catalog::Indicator, compose::Status, IndicatorResult};

/// The report's query.
#[derive(Debug, Deserialize)]
pub struct ReportParams {
    territoire: Option<String>,
    periode: Option<String>,
    /// Node id of the programme's institution; `tous` for every programme.
    programme: Option<String>,
}

/// GET a printable quarterly activity report for a territory.
pub async fn report(
    State(ctx): State<Arc<Ctx>>,
    headers: HeaderMap,
    Query(q): Query<ReportParams>,
) -> Response {
    let Some((_, s)) = session(&ctx, &headers) else {
        return to_login();
    };
    let own = ctx
        .hub
        .store
        .account(&s.email)
        .ok()
        .flatten()
        .map(|a| a.institution.to_string())
        .unwrap_or_default();
    let programme = q.programme.unwrap_or(own);
    let code = q.territoire.unwrap_or_else(|| geo::DEPARTMENT_CODE.into());
    let Some(level) = territory_level(&code) else {
        let body = html! { h1 { "Territoire inconnu" } };
        return private(
            StatusCode::NOT_FOUND,
            page(&ctx, "Territoire inconnu", body),
        );
    };
    let rows = activity(&ctx, &programme);
    let mut periods: Vec<Period> = rows
        .iter()
        .filter_map(|(_, r)| r.as_ref())
        .flat_map(|r| r.cells.iter().map(|c| c.period))
        .collect();
    periods.sort();
    periods.dedup();
    let Some(period) = q
        .periode
        .and_then(|p| p.parse().ok())
        .filter(|p| periods.contains(p))
        .or_else(|| periods.last().copied())
    else {
        let body = html! {
            h1 { "Bilan d'activité" }
            p { "Aucun indicateur d'activité n'a encore été calculé." }
        };
        return private(StatusCode::OK, page(&ctx, "Bilan d'activité", body));
    };
    let report = Report {
        level,
        code: &code,
        programme: programme_name(&ctx, &programme),
        period,
        previous: periods.iter().rev().find(|p| **p < period).copied(),
        rows: &rows,
    };
    private(
        StatusCode::OK,
        page(&ctx, "Bilan d'activité", report.render()),
    )
}

/// The level of a territory code: the department, an EPCI or a commune.
fn territory_level(code: &str) -> Option<Level> {
    if code == geo::DEPARTMENT_CODE {
        Some(Level::Department)
    } else if geo::epci_index(code).is_some() {
        Some(Level::Epci)
    } else if geo::commune_index(code).is_some() {
        Some(Level::Commune)
    } else {
        None
    }
}

/// The programme's activity indicators (those its institution contributes
/// to, or all of them for `tous`) with their latest results.
fn activity<'a>(
    ctx: &'a Ctx,
    programme: &str,
) -> Vec<(&'a Indicator, Option<Arc<IndicatorResult>>)> {
    ctx.catalog()
        .into_iter()
        .filter(|i| i.theme == "activite")
        .map(|i| (i, ctx.latest(&i.id)))
        .filter(|(_, r)| {
            programme == "tous"
                || r.as_ref()
                    .is_some_and(|r| r.coverage.answered.iter().any(|a| a.node_id == programme))
        })
        .collect()
}

/// The name shown for a programme: its institution's, or "every programme".
fn programme_name(ctx: &Ctx, programme: &str) -> String {
    if programme == "tous" {
        return "tous les programmes".to_string();
    }
    ctx.hub
        .store
        .nodes()
        .unwrap_or_default()
        .into_iter()
        .find(|n| n.node_id.as_str() == programme)
        .map(|n| n.name)
        .unwrap_or_else(|| programme.to_string())
}

/// A quarterly activity report, ready to render.
struct Report<'a> {
    level: Level,
    code: &'a str,
    programme: String,
    period: Period,
    previous: Option<Period>,
    rows: &'a [(&'a Indicator, Option<Arc<IndicatorResult>>)],
}

impl Report<'_> {
    fn render(&self) -> Markup {
        let name = geo::name(self.level, self.code).unwrap_or_default();
        html! {
            h1 { "Bilan d'activité — " (name) " — " (self.period) }
            p {
                strong { "Programme :" } " " (self.programme)
                " — les indicateurs d'activité auxquels il contribue ; "
                "les chiffres sont les totaux de tous les partenaires qui y contribuent. "
                a href={ "/partenaires/rapport?territoire=" (self.code) "&programme=tous" } { "Voir tous les programmes" }
            }
            p.note {
                "Établi le " (date(now())) " à partir des indicateurs d'activité de l'observatoire. "
                "Chiffres agrégés ; les chiffres trop petits sont masqués (secret statistique)."
            }
            p { button type="button" #imprimer { "Imprimer ou enregistrer en PDF" } }
            table {
                thead {
                    tr {
                        th scope="col" { "Indicateur" }
                        th scope="col" class="n" { (self.period) }
                        th scope="col" class="n" {
                            @match self.previous { Some(p) => (p), None => "période précédente" }
                        }
                        th scope="col" { "Unité" }
                    }
                }
                tbody {
                    @for (ind, r) in self.rows {
                        tr {
                            td { (ind.title) }
                            (self.value_cell(ind, r.as_deref(), Some(self.period)))
                            (self.value_cell(ind, r.as_deref(), self.previous))
                            td { (ind.unit) }
                        }
                    }
                }
            }
            script src="/static/imprimer.js" {}
        }
    }

    /// The table cell of an indicator's value in a period, marked with
    /// the cell it shows.
    fn value_cell(
        &self,
        ind: &Indicator,
        r: Option<&IndicatorResult>,
        p: Option<Period>,
    ) -> Markup {
        let m = p.map(|p| CellMark::of(&ind.id, self.level, self.code, &p));
        html! {
            td.n data-indicator=[m.as_ref().map(|m| &m.indicator)] data-level=[m.as_ref().map(|m| m.level)]
                data-code=[m.as_ref().map(|m| &m.code)] data-period=[m.as_ref().map(|m| &m.period)] {
                (self.value(ind, r, p))
            }
        }
    }

    /// An indicator's value for the report's territory in a period.
    fn value(&self, ind: &Indicator, r: Option<&IndicatorResult>, p: Option<Period>) -> String {
        let c = p.and_then(|p| {
            r?.cells
                .iter()
                .find(|c| c.level == self.level && c.code == self.code && c.period == p)
        });
        match c {
            Some(c) if c.status == Status::Released => {
                c.value.map(|v| number(v, ind.decimals)).unwrap_or_default()
            }
            Some(c) if c.status == Status::Suppressed => "secret statistique".into(),
            _ => "—".into(),
        }
    }
}
