//! An indicator's sheet: what it measures, where its figures come from,
//! its map, its evolution, its table at one level, and its downloads.
//! [`sheet`] gathers the data and lays out the named sections below.

use std::collections::BTreeMap;

use maud::{html, Markup};
use passerelle_protocol::{
    geo::{self, Level},
    period::Period,
};

use super::{cell, coverage, map_svg, value_text};
use crate::{
    chart::{self, Bar, Series},
    layout::{date, number, page, CellMark},
    state::Ctx,
};
use passerelle_observatory::{
    catalog::Indicator,
    compose::{ResultCell, Status},
    IndicatorResult,
};

/// What the sheet shows.
pub struct SheetQuery {
    /// Level of the map and table.
    pub level: Level,
    /// Period, or the latest.
    pub period: Option<Period>,
}

/// An indicator's sheet; `None` when there is no such indicator, or its
/// result has no period at all.
pub fn sheet(ctx: &Ctx, id: &str, q: &SheetQuery) -> Option<String> {
    let ind = ctx.indicator(id)?;
    let draft = ctx.pending_draft(id);
    let Some(r) = ctx.latest(id) else {
        let body = html! {
            (heading(ctx, ind))
            (facts(ind, None))
            p { "Cet indicateur n'a pas encore été calculé." }
            (coverage::public_note(None, draft.as_deref()))
        };
        return Some(page(ctx, &ind.title, body));
    };
    let periods: Vec<Period> = {
        let mut p: Vec<Period> = r.cells.iter().map(|c| c.period).collect();
        p.sort();
        p.dedup();
        p
    };
    let period = q
        .period
        .filter(|p| periods.contains(p))
        .or_else(|| periods.last().copied())?;
    let body = html! {
        (heading(ctx, ind))
        (facts(ind, Some(&r)))
        (coverage::public_note(Some(&r), draft.as_deref()))
        (why_masked())
        (switches(ind, q.level, &periods, &period))
        h2 { "Carte par " (q.level.label_fr()) " — " (period) }
        (map_svg(ctx, ind, &r, q.level, &period))
        @if periods.len() > 1 { (evolution(ind, &r, &periods)) }
        (level_table(ind, &r, q.level, &period))
        (super::breakdowns::section(ind, &r, &period))
        (downloads(ind, q.level))
        (crate::proof::sheet_section(ctx, ind, q.level, &period))
    };
    Some(page(ctx, &ind.title, body))
}

/// The theme it belongs to, its title and its definition.
fn heading(ctx: &Ctx, ind: &Indicator) -> Markup {
    let theme = ctx
        .observatory
        .themes()
        .iter()
        .find(|t| t.id == ind.theme)
        .map_or("Autre", |t| t.name.as_str());
    html! {
        p.note { a href={ "/theme/" (ind.theme) } { (theme) } }
        h1 { (ind.title) }
        p { (ind.definition) }
    }
}

/// The "Fiche" table: unit, sources, frequency, formula, and once
/// computed, when and from which partners.
fn facts(ind: &Indicator, r: Option<&IndicatorResult>) -> Markup {
    html! {
        table {
            caption { "Fiche" }
            tr { th scope="row" { "Unité" } td { (ind.unit) } }
            tr { th scope="row" { "Sources" } td { (ind.sources.join(", ")) } }
            tr { th scope="row" { "Mise à jour" } td { (ind.frequency) } }
            tr { th scope="row" { "Calcul" } td { (passerelle_observatory::catalog::describe_fr(&ind.formula)) } }
            @if !ind.formula.populations().is_empty() {
                tr { th scope="row" { "Population de référence" } td { (population_years(r)) } }
            }
            @if let Some(r) = r {
                @let partners = answered(r);
                tr { th scope="row" { "Dernier calcul publié" } td { (date(r.computed_at)) } }
                tr {
                    th scope="row" { "Partenaires ayant répondu" }
                    td {
                        @if partners.is_empty() { "aucun" } @else { (partners.join(", ")) }
                    }
                }
            }
        }
    }
}

/// Which population figures the rates divided by: the years of the
/// operator's INSEE file the result used, or the built-in 2017 ones.
fn population_years(r: Option<&IndicatorResult>) -> String {
    let years = r.map(|r| r.denominators.source_years()).unwrap_or_default();
    if years.is_empty() {
        return "INSEE, population municipale 2017 (référence intégrée)".into();
    }
    let years: Vec<String> = years.iter().map(u16::to_string).collect();
    format!(
        "INSEE, population de l'année {} (fournie par l'opérateur ; pour chaque période, l'année la plus récente qui ne la dépasse pas)",
        years.join(", ")
    )
}

/// The names of the partners that answered, sorted, once each.
fn answered(r: &IndicatorResult) -> Vec<String> {
    let mut n: Vec<String> = r.coverage.answered.iter().map(|a| a.name.clone()).collect();
    n.sort();
    n.dedup();
    n
}

/// Why some figures are masked (statistical secrecy), in plain words.
fn why_masked() -> Markup {
    html! {
        h2 { "Pourquoi certains chiffres sont masqués" }
        p {
            "Pour qu'on ne puisse reconnaître personne, un chiffre qui concerne "
            "moins de 11 personnes n'est jamais publié. D'autres chiffres sont aussi masqués quand on pourrait retrouver le chiffre caché "
            "par une soustraction (par exemple le total d'une intercommunalité moins ses autres communes). Ces cases sont hachurées sur la "
            "carte et marquées « secret statistique » dans le tableau."
        }
    }
}

/// The level and period switches: links, so they work without JavaScript.
fn switches(ind: &Indicator, level: Level, periods: &[Period], period: &Period) -> Markup {
    let link = |level: Level, p: &Period| {
        html! { "/indicateur/" (ind.id) "?niveau=" (level.as_str()) "&periode=" (p) }
    };
    let current = |yes: bool| yes.then_some("page");
    html! {
        nav.choix aria-label="Niveau géographique" {
            @for l in [Level::Commune, Level::Epci] {
                a href=(link(l, period)) aria-current=[current(l == level)] { "Par " (l.label_fr()) }
            }
        }
        nav.choix aria-label="Période" {
            @for p in periods {
                a href=(link(level, p)) aria-current=[current(p == period)] { (p) }
            }
        }
    }
}

/// The evolution of the department and of each EPCI over the periods: a
/// chart, and the same values as a table for screen readers and copying.
fn evolution(ind: &Indicator, r: &IndicatorResult, periods: &[Period]) -> Markup {
    let over = |name: &str, level: Level, code: &str| Series {
        name: name.into(),
        values: periods
            .iter()
            .map(|p| cell(r, level, code, p).and_then(|c| c.value))
            .collect(),
        marks: periods
            .iter()
            .map(|p| CellMark::of(&ind.id, level, code, p))
            .collect(),
    };
    let mut series = vec![over(
        geo::DEPARTMENT_NAME,
        Level::Department,
        geo::DEPARTMENT_CODE,
    )];
    series.extend(
        geo::EPCIS
            .iter()
            .map(|e| over(e.name, Level::Epci, e.siren)),
    );
    let labels: Vec<String> = periods.iter().map(ToString::to_string).collect();
    html! {
        h2 { "Évolution" }
        @let title = format!("Évolution : {}", ind.title);
        (chart::lines(&title, &labels, &series, &ind.unit, ind.decimals))
        table {
            caption { "Évolution : " (ind.title) " (" (ind.unit) ")" }
            thead {
                tr {
                    th scope="col" { "Territoire" }
                    @for l in &labels { th scope="col" class="n" { (l) } }
                }
            }
            tbody {
                @for ser in &series {
                    tr {
                        th scope="row" { (ser.name) }
                        @for (v, m) in ser.values.iter().zip(&ser.marks) {
                            td.n data-indicator=(m.indicator) data-level=(m.level) data-code=(m.code)
                                data-period=(m.period) {
                                @match v { Some(v) => (number(*v, ind.decimals)), None => "—" }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The bars and the table of every unit at the chosen level and period,
/// with the department's value last.
fn level_table(ind: &Indicator, r: &IndicatorResult, level: Level, period: &Period) -> Markup {
    let rows: BTreeMap<&str, &ResultCell> = r
        .cells
        .iter()
        .filter(|c| c.level == level && &c.period == period)
        .map(|c| (c.code.as_str(), c))
        .collect();
    let bars: Vec<Bar> = rows
        .iter()
        .map(|(code, c)| Bar {
            name: geo::name(level, code).unwrap_or(code).to_string(),
            value: c.value,
            absent: if c.status == Status::Suppressed {
                "secret statistique"
            } else {
                "non disponible"
            },
            mark: CellMark::of(&ind.id, level, code, period),
        })
        .collect();
    let dept = cell(r, Level::Department, geo::DEPARTMENT_CODE, period);
    html! {
        @let title = format!("{} par {}, {period}", ind.title, level.label_fr());
        (chart::bars(&title, &bars, &ind.unit, ind.decimals))
        table {
            caption { (ind.title) " par " (level.label_fr()) " — " (period) }
            thead {
                tr {
                    th scope="col" {
                        @if level == Level::Commune { "Commune" } @else { "Intercommunalité" }
                    }
                    th scope="col" { "Code" }
                    th scope="col" class="n" { "Valeur (" (ind.unit) ")" }
                }
            }
            tbody {
                @for (code, c) in &rows {
                    @let m = CellMark::of(&ind.id, level, code, period);
                    tr {
                        td { (geo::name(level, code).unwrap_or(code)) }
                        td { (code) }
                        td.n data-indicator=(m.indicator) data-level=(m.level) data-code=(m.code)
                            data-period=(m.period) { (value_text(Some(c), ind)) }
                    }
                }
                @let m = CellMark::of(&ind.id, Level::Department, geo::DEPARTMENT_CODE, period);
                tr {
                    th scope="row" { "Mayotte" }
                    td { "976" }
                    td.n data-indicator=(m.indicator) data-level=(m.level) data-code=(m.code)
                        data-period=(m.period) { (value_text(dept, ind)) }
                }
            }
        }
        @if level == Level::Epci && geo::EPCIS.iter().any(|e| !e.siren_confirmed) {
            p.note {
                "Codes SIREN de la CC du Centre-Ouest et de la CA de Dembéni-Mamoudzou : "
                "non encore vérifiés."
            }
        }
    }
}

/// Links to the CSV and JSON downloads.
fn downloads(ind: &Indicator, level: Level) -> Markup {
    let lvl = level.as_str();
    html! {
        h2 { "Télécharger" }
        p {
            a href={ "/donnees/" (ind.id) ".csv?niveau=" (lvl) } { "CSV (" (lvl) ")" }
            " · "
            a href={ "/donnees/" (ind.id) ".csv?niveau=" (lvl) "&format=csv-fr" } { "CSV pour tableur en français (" (lvl) ")" }
            " · "
            a href={ "/donnees/" (ind.id) ".json?niveau=" (lvl) } { "JSON (" (lvl) ")" }
            " · "
            a href={ "/donnees/" (ind.id) ".csv" } { "CSV (tous niveaux)" }
            " · "
            a href={ "/donnees/" (ind.id) ".csv?format=csv-fr" } { "CSV pour tableur en français (tous niveaux)" }
        }
        p.note {
            "Le CSV standard (virgule, point décimal) est fait pour les programmes ; "
            "le CSV pour tableur en français (point-virgule, virgule décimale, UTF-8 avec BOM) "
            "s'ouvre directement dans un tableur réglé en français."
        }
    }
}
