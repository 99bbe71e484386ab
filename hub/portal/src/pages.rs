//! The public pages: home, themes, a dashboard per theme, a sheet per
//! indicator ([`sheet`]). Values come from the stored results; no page load
//! waits on the network of nodes. Only released values are shown.

pub(crate) mod breakdowns;
pub mod coverage;
mod sheet;

use maud::{html, Markup};
use passerelle_protocol::{
    geo::{self, Level},
    period::Period,
};

pub use sheet::{sheet, SheetQuery};

use super::{
    layout::{number, page, CellMark},
    map::{self, MapValue},
};
use passerelle_observatory::{
    catalog::Indicator,
    compose::{ResultCell, Status},
    IndicatorResult,
};

use crate::state::Ctx;

fn latest_period(r: &IndicatorResult) -> Option<Period> {
    r.cells.iter().map(|c| c.period).max()
}

fn cell<'a>(
    r: &'a IndicatorResult,
    level: Level,
    code: &str,
    period: &Period,
) -> Option<&'a ResultCell> {
    r.cells
        .iter()
        .find(|c| c.level == level && c.code == code && &c.period == period)
}

/// A cell's value with its unit, or why there is none.
fn value_text(c: Option<&ResultCell>, ind: &Indicator) -> Markup {
    html! {
        @match c {
            Some(ResultCell { value: Some(v), .. }) => {
                (number(*v, ind.decimals)) " " (ind.unit)
            }
            Some(ResultCell { status: Status::Suppressed, .. }) => {
                span.secret { "secret statistique" }
            }
            _ => "non disponible",
        }
    }
}

/// The home page.
pub fn home(ctx: &Ctx) -> String {
    let connected = ctx.registry.count();
    let enrolled = ctx
        .hub
        .store
        .nodes()
        .map(|n| n.iter().filter(|n| n.revoked_at.is_none()).count())
        .unwrap_or(0);
    let body = html! {
        h1 { "Observatoire social et médico-social de Mayotte" }
        p {
            "Les partenaires de l'action sociale gardent leurs données chez eux. Passerelle rassemble leurs chiffres "
            "pour chaque commune, intercommunalité et pour le département, sans jamais publier d'information sur une personne."
        }
        h2 { "Thèmes" }
        ul.grille {
            @for t in ctx.observatory.themes() { (theme_card(ctx, &t.id, &t.name)) }
        }
        p { a href="/territoires" { "Portraits de territoire : chaque commune, intercommunalité et Mayotte" } }
        h2 { "Réseau des partenaires" }
        p { (connected) " partenaire(s) connecté(s) sur " (enrolled) " inscrit(s)." }
    };
    page(ctx, "Accueil", body)
}

/// A theme on the home page: its name, the department's latest value of
/// its first computed indicator, and how many indicators it has.
fn theme_card(ctx: &Ctx, id: &str, label: &str) -> Markup {
    let inds: Vec<&Indicator> = ctx
        .catalog()
        .into_iter()
        .filter(|i| i.theme == id)
        .collect();
    let headline = inds.iter().find_map(|i| {
        let r = ctx.latest(&i.id)?;
        let p = latest_period(&r)?;
        let c = cell(&r, Level::Department, geo::DEPARTMENT_CODE, &p)?;
        c.value.map(|_| {
            let m = CellMark::of(&i.id, Level::Department, geo::DEPARTMENT_CODE, &p);
            html! {
                p.note { (i.title) " (" (p) ") :" }
                p.chiffre data-indicator=(m.indicator) data-level=(m.level) data-code=(m.code)
                    data-period=(m.period) { (value_text(Some(c), i)) }
            }
        })
    });
    html! {
        li.carte {
            h3 { a href={ "/theme/" (id) } { (label) } }
            @if let Some(headline) = headline { (headline) }
            p.note { (inds.len()) " indicateur(s)" }
        }
    }
}

/// The list of themes and their indicators.
pub fn themes(ctx: &Ctx) -> String {
    let body = html! {
        h1 { "Thèmes et indicateurs" }
        @for t in ctx.observatory.themes() {
            h2 { a href={ "/theme/" (t.id) } { (t.name) } }
            @if !t.description.is_empty() { p { (t.description) } }
            ul {
                @for i in ctx.catalog().iter().filter(|i| i.theme == t.id) {
                    li { a href={ "/indicateur/" (i.id) } { (i.title) } }
                }
            }
        }
    };
    page(ctx, "Thèmes", body)
}

/// A theme's dashboard: every indicator's latest department value, and the
/// map of the first one.
pub fn theme(ctx: &Ctx, id: &str) -> Option<String> {
    let t = ctx.observatory.themes().iter().find(|t| t.id == id)?;
    let label = &t.name;
    let inds: Vec<&Indicator> = ctx
        .catalog()
        .into_iter()
        .filter(|i| i.theme == id)
        .collect();
    let mut first_map = None;
    let mut cards = Vec::new();
    for i in &inds {
        let r = ctx.latest(&i.id);
        let (text, when, m) = match r.as_ref().and_then(|r| Some((r, latest_period(r)?))) {
            Some((r, p)) => {
                if first_map.is_none() && i.formula.datasets().len() == 1 {
                    first_map = Some(((*i).clone(), r.clone(), p));
                }
                (
                    value_text(cell(r, Level::Department, geo::DEPARTMENT_CODE, &p), i),
                    format!("Mayotte, {p}"),
                    Some(CellMark::of(
                        &i.id,
                        Level::Department,
                        geo::DEPARTMENT_CODE,
                        &p,
                    )),
                )
            }
            None => (
                html! { "non disponible" },
                "pas encore calculé".into(),
                None,
            ),
        };
        cards.push(html! {
            li.carte {
                h2 { a href={ "/indicateur/" (i.id) } { (i.title) } }
                p.chiffre data-indicator=[m.as_ref().map(|m| &m.indicator)]
                    data-level=[m.as_ref().map(|m| m.level)] data-code=[m.as_ref().map(|m| &m.code)]
                    data-period=[m.as_ref().map(|m| &m.period)] { (text) }
                p.note { (when) }
            }
        });
    }
    let body = html! {
        h1 { (label) }
        @if !t.description.is_empty() { p { (t.description) } }
        ul.grille { @for card in cards { (card) } }
        @if let Some((ind, r, p)) = first_map {
            h2 { "Carte : " (ind.title) " (" (p) ")" }
            (map_svg(ctx, &ind, &r, Level::Commune, &p))
            p { a href={ "/indicateur/" (ind.id) } { "Voir la fiche, le tableau et l'évolution" } }
        }
    };
    Some(page(ctx, label, body))
}

/// The choropleth of an indicator at a level and period.
fn map_svg(ctx: &Ctx, ind: &Indicator, r: &IndicatorResult, level: Level, p: &Period) -> Markup {
    let values: Vec<MapValue> = r
        .cells
        .iter()
        .filter(|c| c.level == level && &c.period == p)
        .map(|c| MapValue {
            code: c.code.clone(),
            value: c.value,
            status: c.status,
            mark: CellMark::of(&ind.id, level, &c.code, p),
        })
        .collect();
    map::choropleth(
        &ctx.geometry,
        level,
        &values,
        &ind.unit,
        ind.decimals,
        &format!("{} par {}, {p}", ind.title, level.label_fr()),
    )
}

/// The open data page.
pub fn open_data(ctx: &Ctx) -> String {
    let body = html! {
        h1 { "Données ouvertes" }
        p {
            "Chaque indicateur se télécharge en CSV ou en JSON, pour chaque niveau. "
            "Une API JSON est décrite par son " a href="/api/openapi.json" { "document OpenAPI" }
            ". Les chiffres masqués y figurent sans valeur. "
            "Le CSV standard (virgule, point décimal) est fait pour les programmes ; "
            "le CSV pour tableur en français (point-virgule, virgule décimale, UTF-8 avec BOM) "
            "s'ouvre directement dans un tableur réglé en français."
        }
        p {
            "Ces données sont publiées sous " a href=(crate::dcat::LICENCE) { (crate::dcat::LICENCE_TITLE) } ". "
            "Leur catalogue au format DCAT-AP, moissonnable par le portail national des données ouvertes : "
            a href="/donnees/catalogue.jsonld" { "catalogue.jsonld" } "."
        }
        ul {
            @for i in ctx.catalog() {
                li {
                    (i.title) " : "
                    a href={ "/donnees/" (i.id) ".csv" } { "CSV" }
                    " · "
                    a href={ "/donnees/" (i.id) ".csv?format=csv-fr" } { "CSV pour tableur en français" }
                    " · "
                    a href={ "/donnees/" (i.id) ".json" } { "JSON" }
                }
            }
        }
    };
    page(ctx, "Données ouvertes", body)
}
