//! Territory portraits: `/territoire/{code}` for a commune (INSEE code), an
//! EPCI (SIREN) or the department (976): every public indicator for that
//! territory, by theme, beside the department's value and, where the
//! catalog gives one, the operator's reference value with its source.
//! `/territoires` lists them. Printable by the site's print stylesheet (no
//! script needed). Reads the public view only, like every public page.

use std::sync::Arc;

use axum::{
    extract::{Path, State},
    response::Response,
    routing::get,
    Router,
};
use maud::{html, Markup};
use passerelle_observatory::{catalog::Indicator, IndicatorResult};
use passerelle_protocol::{
    geo::{self, Level},
    period::Period,
};

use crate::{
    error::PortalError,
    layout::{column_heads, number, page, CellMark},
    state::Ctx,
};

/// The portrait routes.
pub fn router() -> Router<Arc<Ctx>> {
    Router::new()
        .route("/territoires", get(index))
        .route("/territoire/{code}", get(portrait))
}

/// The level and name of a territory code.
pub fn territory(code: &str) -> Option<(Level, &'static str)> {
    [Level::Department, Level::Epci, Level::Commune]
        .into_iter()
        .find_map(|l| geo::name(l, code).map(|n| (l, n)))
}

async fn index(State(ctx): State<Arc<Ctx>>) -> Response {
    crate::public::cached(&ctx, "territoires".into(), || Some(index_html(&ctx)))
}

async fn portrait(State(ctx): State<Arc<Ctx>>, Path(code): Path<String>) -> Response {
    if territory(&code).is_none() {
        return axum::response::IntoResponse::into_response(PortalError::NotFound);
    }
    crate::public::cached(&ctx, format!("territoire/{code}"), || {
        portrait_html(&ctx, &code)
    })
}

fn index_html(ctx: &Ctx) -> String {
    let body = html! {
        h1 { "Portraits de territoire" }
        p { "Pour chaque territoire, tous les indicateurs publics, comparés à la valeur de Mayotte." }
        ul {
            li { a href={ "/territoire/" (geo::DEPARTMENT_CODE) } { (geo::DEPARTMENT_NAME) " (département)" } }
            @for (e, epci) in geo::EPCIS.iter().enumerate() {
                li {
                    a href={ "/territoire/" (epci.siren) } { (epci.name) }
                    ul {
                        @for c in geo::COMMUNES.iter().filter(|c| c.epci == e) {
                            li { a href={ "/territoire/" (c.code) } { (c.name) } }
                        }
                    }
                }
            }
        }
    };
    page(ctx, "Portraits de territoire", body)
}

/// The latest period with a cell for this territory.
fn period_for(r: &IndicatorResult, level: Level, code: &str) -> Option<Period> {
    r.cells
        .iter()
        .filter(|c| c.level == level && c.code == code)
        .map(|c| c.period)
        .max()
}

/// A value cell, marked with the cell it shows (as every figure of the
/// portal is).
fn value(r: &IndicatorResult, ind: &Indicator, level: Level, code: &str, p: &Period) -> Markup {
    let cell = r
        .cells
        .iter()
        .find(|c| c.level == level && c.code == code && &c.period == p);
    let m = CellMark::of(&ind.id, level, code, p);
    html! {
        td.n data-indicator=(m.indicator) data-level=(m.level) data-code=(m.code) data-period=(m.period) {
            @match cell.and_then(|c| c.value.map(|v| (c, v))) {
                Some((_, v)) => { (number(v, ind.decimals)) " " (ind.unit) }
                None if cell.is_some_and(|c| c.status == passerelle_observatory::compose::Status::Suppressed) => {
                    span.secret { "secret statistique" }
                }
                None => "non disponible",
            }
        }
    }
}

/// The decimals a reference is written with: the indicator's, or as many
/// as the operator wrote (up to four).
fn shown_decimals(v: f64, at_least: u8) -> u8 {
    (at_least..=4)
        .find(|d| passerelle_observatory::catalog::round(v, *d) == v)
        .unwrap_or(4)
}

/// One indicator's row: title, period, here, Mayotte, reference.
fn row(ctx: &Ctx, ind: &Indicator, level: Level, code: &str) -> Markup {
    let r = ctx.latest(&ind.id);
    let at = r
        .as_ref()
        .and_then(|r| Some((r, period_for(r, level, code)?)));
    html! {
        tr {
            th scope="row" { a href={ "/indicateur/" (ind.id) } { (ind.title) } }
            @match at {
                Some((r, p)) => {
                    td { (p) }
                    (value(r, ind, level, code, &p))
                    @if level != Level::Department {
                        (value(r, ind, Level::Department, geo::DEPARTMENT_CODE, &p))
                    }
                }
                None => {
                    td { "—" }
                    td { "pas encore calculé" }
                    @if level != Level::Department { td { "—" } }
                }
            }
            td {
                @match &ind.reference {
                    Some(rf) => {
                        (number(rf.value, shown_decimals(rf.value, ind.decimals))) " " (ind.unit)
                        br;
                        span.note { (rf.label) " ; source : " (rf.source) " (valeur fournie par l'opérateur)" }
                    }
                    None => "—",
                }
            }
        }
    }
}

fn portrait_html(ctx: &Ctx, code: &str) -> Option<String> {
    let (level, name) = territory(code)?;
    let catalog = ctx.catalog();
    let mut heads = vec!["Indicateur", "Période", name];
    if level != Level::Department {
        heads.push("Mayotte");
    }
    heads.push("Référence");
    let within = match level {
        Level::Commune => geo::commune_index(code).map(|i| {
            let e = geo::parent_code(i, Level::Epci);
            html! {
                p { "Commune de l'intercommunalité "
                    a href={ "/territoire/" (e) } { (geo::name(Level::Epci, e).unwrap_or(e)) } "." }
            }
        }),
        Level::Epci => geo::epci_index(code).map(|e| {
            html! {
                p { "Communes : "
                    @for (n, c) in geo::COMMUNES.iter().filter(|c| c.epci == e).enumerate() {
                        @if n > 0 { ", " }
                        a href={ "/territoire/" (c.code) } { (c.name) }
                    }
                    "."
                }
            }
        }),
        Level::Department => None,
    };
    let body = html! {
        div.portrait {
            h1 { "Portrait de territoire : " (name) }
            p.note { (level.label_fr()) " · code " (code) }
            @if let Some(w) = within { (w) }
            p {
                "Dernière valeur publiée de chaque indicateur pour ce territoire"
                @if level != Level::Department { ", comparée à celle de Mayotte pour la même période" }
                ". Les références (moyenne nationale ou des outre-mer) sont fournies par l'opérateur de l'observatoire, avec leur source. "
                "Pour l'imprimer, utilisez la fonction d'impression de votre navigateur."
            }
            @for t in ctx.observatory.themes() {
                @let inds: Vec<&&Indicator> = catalog.iter().filter(|i| i.theme == t.id).collect();
                @if !inds.is_empty() {
                    h2 { (t.name) }
                    table {
                        caption { (t.name) " : " (name) }
                        (column_heads(&heads))
                        tbody { @for i in inds { (row(ctx, i, level, code)) } }
                    }
                }
            }
            p { a href="/territoires" { "Autres territoires" } }
        }
    };
    Some(page(ctx, &format!("Portrait : {name}"), body))
}
